"""`tendencias finetune`: labelled posts as chat-format JSONL for OpenAI fine-tuning.

    tendencias finetune export --output FILE.jsonl (--data DIR | --corrections FILE) [--submit]
    tendencias finetune status JOB_ID

Each example is what the stage sends and what it expects back: the system prompt, the user
message with the posts as JSON data (redacted), and the assistant's answer in the response
schema. Sources: sentiment sets laid out as `<split>_text.txt` + `<split>_labels.txt` (labels
0/1/2 or names, `mapping.txt` honoured), or analysts' corrections, JSONL of
{"text", "label", optional "score", "confidence", "aspects", "lang"}. Every written line is
read back and checked. `--submit` uploads the file and starts a fine-tuning job on the
OpenAI-compatible API (OPENAI_API_KEY, OPENAI_BASE_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tendencias.models.sentiment.openai_api import API_KEY_ENV, BASE_URL_ENV, scrub
from tendencias.models.sentiment.prompt import SYSTEM_PROMPT, user_content
from tendencias.models.sentiment.schema import LABELS, LANGS, check_answer, guess_aspects, parse_response
from tendencias.models.text.redaction import find_pii, redact

DEFAULT_SCORE = {"negative": -0.8, "neutral": 0.0, "positive": 0.8}
MIN_EXAMPLES = 10  # OpenAI refuses smaller training files


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tendencias finetune", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write (and optionally submit) a fine-tuning JSONL file")
    ex.add_argument("--output", type=str, required=True, help="JSONL file to write")
    src = ex.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", type=str, default=None, help="folder of sentiment sets (searched recursively)")
    src.add_argument("--corrections", type=str, default=None, help="analysts' corrections, JSONL")
    ex.add_argument(
        "--split", type=str, default="train", help="which split of --data to use, or 'all' (default train)"
    )
    ex.add_argument(
        "--posts-per-example",
        type=int,
        default=1,
        help="posts per example, to match how the stage batches (default %(default)s)",
    )
    ex.add_argument("--limit", type=int, default=0, help="stop after this many posts; 0: all (default 0)")
    ex.add_argument("--submit", action="store_true", help="upload the file and start a fine-tuning job")
    ex.add_argument(
        "--base-model",
        type=str,
        default="gpt-4o-mini-2024-07-18",
        help="model to fine-tune (default %(default)s)",
    )
    ex.add_argument(
        "--suffix", type=str, default="tendencias-sentiment", help="suffix of the fine-tuned model name"
    )
    ex.add_argument(
        "--base-url", type=str, default=None, help="API endpoint; default $OPENAI_BASE_URL or OpenAI's"
    )
    st = sub.add_parser("status", help="show a fine-tuning job")
    st.add_argument("job_id", type=str, help="the id printed by --submit")
    st.add_argument(
        "--base-url", type=str, default=None, help="API endpoint; default $OPENAI_BASE_URL or OpenAI's"
    )
    return p


def _label_names(folder: Path) -> dict[str, str]:
    names = {"0": "negative", "1": "neutral", "2": "positive"} | {name: name for name in LABELS}
    mapping = folder / "mapping.txt"
    if mapping.is_file():
        for line in mapping.read_text(encoding="utf-8").splitlines():
            index, _, name = line.partition("\t")
            if name.strip() in LABELS:
                names[index.strip()] = name.strip()
    return names


def read_sets(root: Path, split: str) -> Iterator[dict]:
    """Labelled posts from every `<split>_text.txt` under `root` with its `<split>_labels.txt`."""
    found = sorted(root.rglob("*_text.txt"))
    if not found:
        raise ValueError(f"no *_text.txt files under {root}")
    for text_file in found:
        name = text_file.name[: -len("_text.txt")]
        if split != "all" and name != split:
            continue
        label_file = text_file.with_name(f"{name}_labels.txt")
        if not label_file.is_file():
            raise ValueError(f"{text_file} has no {label_file.name} beside it")
        names = _label_names(text_file.parent)
        lang = text_file.parent.name.rsplit("_", 1)[-1]
        texts = text_file.read_text(encoding="utf-8").splitlines()
        labels = label_file.read_text(encoding="utf-8").splitlines()
        if len(texts) != len(labels):
            raise ValueError(f"{text_file} has {len(texts)} lines but {label_file.name} has {len(labels)}")
        for n, (text, label) in enumerate(zip(texts, labels, strict=True), 1):
            yield {
                "text": text,
                "label": names.get(label.strip(), label.strip()),
                "lang": lang if lang in LANGS else "und",
                "where": f"{text_file}:{n}",
            }


def read_corrections(path: Path) -> Iterator[dict]:
    with open(path, encoding="utf-8") as lines:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                yield {"error": f"not JSON ({err.msg})", "where": f"{path}:{n}"}
                continue
            if not isinstance(record, dict):
                yield {"error": "not a JSON object", "where": f"{path}:{n}"}
                continue
            yield record | {"where": f"{path}:{n}"}


def to_answer(record: dict, post_id: str, text: str) -> dict:
    """The schema answer a labelled record stands for; raises ValueError saying what is wrong."""
    if record.get("error"):
        raise ValueError(record["error"])
    label = record.get("label")
    if label not in LABELS:
        raise ValueError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    answer = {
        "id": post_id,
        "label": label,
        "score": record.get("score", DEFAULT_SCORE[label]),
        "confidence": record.get("confidence", 0.95),
        "aspects": record.get("aspects", guess_aspects(text)),
        "lang": record.get("lang") or "und",
    }
    problems = check_answer(answer)
    if problems:
        raise ValueError("; ".join(problems))
    return answer


def example(posts: list[dict], answers: list[dict]) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user_content(posts)},
            {"role": "assistant", "content": json.dumps({"results": answers}, ensure_ascii=False)},
        ]
    }


def check_line(line: str) -> None:
    """Read one written line back: chat shape, posts as data without personal data, valid answer."""
    messages = json.loads(line)["messages"]
    if [m["role"] for m in messages] != ["system", "user", "assistant"]:
        raise ValueError("roles must be system, user, assistant")
    posts = json.loads(messages[1]["content"])
    for post in posts:
        if find_pii(post["text"]):
            raise ValueError(f"post {post['id']} still holds personal data")
    answers, problems = parse_response(messages[2]["content"], [p["id"] for p in posts])
    if problems:
        raise ValueError(f"assistant answer invalid: {problems}")


def export(args: argparse.Namespace) -> int:
    try:
        records = (
            read_sets(Path(args.data), args.split) if args.data else read_corrections(Path(args.corrections))
        )
        counts, skipped, written = Counter(), 0, 0
        group_posts: list[dict] = []
        group_answers: list[dict] = []
        with open(args.output, "w", encoding="utf-8") as out:

            def flush() -> None:
                nonlocal written
                if group_posts:
                    line = json.dumps(example(group_posts, group_answers), ensure_ascii=False)
                    check_line(line)
                    out.write(line + "\n")
                    written += 1
                    group_posts.clear()
                    group_answers.clear()

            for record in records:
                text = redact(str(record.get("text") or "")).strip()
                post_id = str(len(group_posts) + 1)
                try:
                    answer = to_answer(record, post_id, text)
                    if not text:
                        raise ValueError("empty text")
                except ValueError as err:
                    skipped += 1
                    print(f"skipped {record['where']}: {err}", file=sys.stderr)
                    continue
                group_posts.append({"id": post_id, "text": text})
                group_answers.append(answer)
                counts[answer["label"]] += 1
                if len(group_posts) >= args.posts_per_example:
                    flush()
                if args.limit and sum(counts.values()) >= args.limit:
                    break
            flush()
    except (OSError, ValueError) as err:
        print(f"tendencias finetune: {err}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "output": args.output,
                "examples": written,
                "posts": sum(counts.values()),
                "skipped": skipped,
                "labels": dict(sorted(counts.items())),
            }
        )
    )
    if written < MIN_EXAMPLES:
        print(
            f"warning: {written} examples; OpenAI fine-tuning needs at least {MIN_EXAMPLES}", file=sys.stderr
        )
    if written == 0:
        return 1
    return submit(args) if args.submit else 0


def _client(base_url: str | None):
    import openai

    key = os.environ.get(API_KEY_ENV)
    if not key:
        raise RuntimeError(f"{API_KEY_ENV} is not set: fine-tuning jobs need an API key in the environment")
    return openai.OpenAI(api_key=key, base_url=base_url or os.environ.get(BASE_URL_ENV) or None)


def _with_api(base_url: str | None, action: Callable[[Any], dict]) -> int:
    """Runs `action(client)` and prints what it returns; clear errors, never the key."""
    import openai

    try:
        printed = action(_client(base_url))
    except RuntimeError as err:
        print(f"tendencias finetune: {err}", file=sys.stderr)
        return 2
    except openai.OpenAIError as err:
        print(f"tendencias finetune: the API refused: {scrub(str(err))}", file=sys.stderr)
        return 1
    print(json.dumps(printed))
    return 0


def submit(args: argparse.Namespace) -> int:
    def start_job(client) -> dict:
        with open(args.output, "rb") as data:
            uploaded = client.files.create(file=(Path(args.output).name, data.read()), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(
            training_file=uploaded.id, model=args.base_model, suffix=args.suffix
        )
        return {"file": uploaded.id, "job": job.id, "status": job.status, "model": job.model}

    return _with_api(args.base_url, start_job)


def status(args: argparse.Namespace) -> int:
    def show(client) -> dict:
        job = client.fine_tuning.jobs.retrieve(args.job_id)
        return {"job": job.id, "status": job.status, "fine_tuned_model": job.fine_tuned_model}

    return _with_api(args.base_url, show)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "status":
        return status(args)
    if args.posts_per_example < 1 or args.limit < 0:
        print("tendencias finetune: --posts-per-example must be >= 1 and --limit >= 0", file=sys.stderr)
        return 2
    return export(args)
