"""`tendencias sentiment --input TEXTS.txt`: one JSON object per input line, in order.

Each output line starts with "label", "score" and "confidence" (then "source" and "model").
This is the contract used to judge the model on held-out data, so it stays stable: a blank
input line still gets an output line (neutral, confidence 0) so line numbers stay aligned.

Backends: local (the shipped model, in three tiers: standard, the default, USE multilingual
embeddings and lexicon features, one calibrated head, ~550 texts/s per core; fast, thousands of
texts/s; accurate, e5 embeddings, ~25 texts/s), openai (any OpenAI-compatible API: OPENAI_API_KEY
and optionally OPENAI_BASE_URL; cached, batched, retried; posts it cannot answer fall back to the
local model of the chosen tier), auto (openai when OPENAI_API_KEY is set, else local). Which lines
the API is asked about and which answer a line keeps is the pipeline's policy
(models/sentiment/policy.py), so both answer a text the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from tendencias.models.sentiment.backend import load_local_model, resolve_backend
from tendencias.models.sentiment.policy import ALONE, ASK, DONE, SentimentPolicy, local_answer
from tendencias.models.sentiment.tiers import DEFAULT_TIER, TIERS
from tendencias.models.text.normalise import detect_lang
from tendencias.models.text.redaction import redact

BLANK = {"label": "neutral", "score": 0.0, "confidence": 0.0, "source": "blank"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tendencias sentiment", description=__doc__.split("\n\n")[0])
    p.add_argument("--input", type=str, required=True, help="text file, one text per line ('-' for stdin)")
    p.add_argument("--output", type=str, default="-", help="where to write the JSON lines (default stdout)")
    p.add_argument(
        "--backend",
        type=str,
        default="auto",
        choices=["auto", "local", "openai"],
        help="auto: openai when OPENAI_API_KEY is set, else local (default %(default)s)",
    )
    p.add_argument(
        "--model", type=str, default="gpt-4o-mini", help="model name for the API (default %(default)s)"
    )
    p.add_argument(
        "--base-url",
        type=str,
        default=None,
        help="OpenAI-compatible endpoint; default $OPENAI_BASE_URL or OpenAI's",
    )
    p.add_argument(
        "--cache-url",
        type=str,
        default=None,
        help="answer cache: a SQLite path, redis://..., or none (default ~/.cache/tendencias)",
    )
    p.add_argument(
        "--local-model", type=str, default=None, help="local model artifact (default: the shipped one)"
    )
    p.add_argument(
        "--local-tier",
        type=str,
        default=DEFAULT_TIER,
        choices=list(TIERS),
        help="local model: standard (USE multilingual embeddings + lexicon features, calibrated; "
        "~550 texts/s per core), fast (TF-IDF only; thousands of texts/s) or accurate (e5 "
        "embeddings + the fast model; ~25 texts/s per core) (default %(default)s)",
    )
    p.add_argument(
        "--local-threshold",
        type=float,
        default=2.0,
        help="openai backend: local answers at least this confident skip the API (the pipeline's "
        "--sentiment_local_threshold, default 0.9 there); the default here, above 1, asks the API "
        "about every line (default %(default)s)",
    )
    p.add_argument(
        "--batch-size", type=int, default=1024, help="texts per local-model batch (default %(default)s)"
    )
    p.add_argument(
        "--api-batch",
        type=int,
        default=400,
        help="texts handed to the API handler at a time; it packs them into requests (default %(default)s)",
    )
    p.add_argument("--summary", action="store_true", help="print the API cost ledger to stderr at the end")
    return p


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line.rstrip("\r\n"))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _line(label: str, score: float, confidence: float, **extra) -> str:
    extra.pop("lang", None)  # the contract's fields, then source, model and aspects
    aspects = extra.pop("aspects", None)
    if aspects is not None:
        extra["aspects"] = aspects
    record = {
        "label": label,
        "score": round(float(score), 4),
        "confidence": round(float(confidence), 4),
        **extra,
    }
    return json.dumps(record, ensure_ascii=False)


class _Labeller:
    """The lines of one chunk of input, by the same policy as the pipeline (models/sentiment/policy.py)."""

    def __init__(self, args: argparse.Namespace, backend: str):
        self.args = args
        self.backend = backend
        threshold = None if backend == "local" else args.local_threshold
        self.policy = SentimentPolicy(args.local_tier, threshold)
        if backend == "openai":  # Beam and the openai client are imported only for this backend
            from tendencias.models.sentiment.openai_api import OpenAISentimentHandler

            common = dict(model=args.model, base_url=args.base_url, cache_url=args.cache_url)
            self.handler = OpenAISentimentHandler(**common)
            self.alone = OpenAISentimentHandler(**common, isolate=True)
            self.client = self.handler.create_client()
        # load now, so a missing artifact or encoder is a clear error before any output
        self.first = load_local_model(args.local_model, self.policy.first_pass_tier)
        self._final = None

    @property
    def final(self):
        if self._final is None:
            self._final = load_local_model(self.args.local_model, self.policy.final_tier)
        return self._final

    def label(self, texts: list[str]) -> list[str]:
        """One output line per text; blank texts never reach a model."""
        out = [_line(**BLANK)] * len(texts)
        idx = [i for i, t in enumerate(texts) if t.strip()]
        clean = [redact(texts[i]) for i in idx]
        for i, answer in zip(idx, self._answers(clean), strict=True):
            out[i] = _line(**answer)
        return out

    def _local(self, model, texts: list[str]) -> list[dict]:
        answers = []
        for start in range(0, len(texts), self.args.batch_size):
            batch = texts[start : start + self.args.batch_size]
            answers += [
                local_answer(p, t, detect_lang(t), model.version)
                for p, t in zip(model.predict(batch), batch, strict=True)
            ]
        return answers

    def _answers(self, texts: list[str]) -> list[dict]:
        local = self._local(self.first, texts)
        routes = [self.policy.route(t, a) for t, a in zip(texts, local, strict=True)]
        asked = [n for n, r in enumerate(routes) if r != DONE]
        if not asked:
            return local
        results = self._ask(texts, routes)
        need_final = [n for n in asked if results[n].get("answer") is None or routes[n] == ALONE]
        if self.policy.recompute_final and need_final:
            final = self._local(self.final, [texts[n] for n in need_final])
            for n, answer in zip(need_final, final, strict=True):
                local[n] = answer
        for n in asked:
            settled = self.policy.settle(
                local[n],
                results[n].get("answer"),
                routes[n] == ALONE,
                results[n].get("source", ""),
                self.args.model,
            )
            local[n] = settled.sentiment
        return local

    def _ask(self, texts: list[str], routes: list[str]) -> dict[int, dict]:
        results: dict[int, dict] = {}
        for handler, route in ((self.handler, ASK), (self.alone, ALONE)):
            batch = [{"id": str(n), "text_clean": t} for n, t in enumerate(texts) if routes[n] == route]
            if batch:
                for r in handler.request(batch, self.client):
                    results[int(r.example["id"])] = r.inference
        return results


class _Progress:
    """Lines done and the rate, to stderr every `every_s` seconds (the accurate tier is slow)."""

    def __init__(self, every_s: float = 5.0):
        self.every_s = every_s
        self.done = 0
        self.start = self.last = time.monotonic()

    def add(self, lines: int) -> None:
        self.done += lines
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            print(f"tendencias sentiment: {self.done:,} lines ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.last > self.start:  # only after at least one progress line
            elapsed = time.monotonic() - self.start
            print(f"tendencias sentiment: done, {self.done:,} lines in {elapsed:.0f}s", file=sys.stderr)


def _open_input(path: str) -> TextIO:
    """Lines end at "\n" only (a stray "\r" inside a text must not shift the line numbers)."""
    if path == "-":
        sys.stdin.reconfigure(newline="\n")
        return sys.stdin
    return open(path, encoding="utf-8", errors="replace", newline="\n")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.batch_size < 1 or args.api_batch < 1:
        print("tendencias sentiment: --batch-size and --api-batch must be at least 1", file=sys.stderr)
        return 2
    try:
        backend = resolve_backend(args.backend)
        source = _open_input(args.input)
    except ValueError as err:
        print(f"tendencias sentiment: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"tendencias sentiment: cannot read --input {args.input!r}: {err.strerror}", file=sys.stderr)
        return 2
    try:
        labeller = _Labeller(args, backend)
    except (RuntimeError, OSError, ValueError) as err:  # no key, cache, local artifact or encoder
        print(f"tendencias sentiment: {err}", file=sys.stderr)
        return 2
    if backend == "openai":
        size = args.api_batch
    else:  # the embedding tiers write and report progress every few seconds
        per_chunk = {"accurate": min(args.batch_size, 256), "standard": args.batch_size}
        size = per_chunk.get(args.local_tier, args.batch_size * 8)
    progress = _Progress()
    sink = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
    try:
        with source:
            for chunk in _chunks(source, size):
                sink.write("\n".join(labeller.label(chunk)) + "\n")
                sink.flush()
                progress.add(len(chunk))
        progress.finish()
    finally:
        if sink is not sys.stdout:
            sink.close()
    if args.summary and backend == "openai":
        from tendencias.models.sentiment.ledger import summarise

        totals = [labeller.handler.ledger.totals(), labeller.alone.ledger.totals()]
        print(json.dumps(summarise({k: sum(t[k] for t in totals) for k in totals[0]})), file=sys.stderr)
    return 0
