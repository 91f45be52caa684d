"""Posts per second per core: Tendencias against plain Python and Beam's own word count.

    .venv/bin/python benchmarks/bench_throughput.py [--posts 50000] [--tiers standard,fast]
        [--profile-posts 10000] [--skip-prism] [--skip-streaming]

One invocation, one set of generated posts (benchmarks/synthetic_stream.py: a day of invented
chatter, Zipf words, about 16 trend keys a post), written once as a JSONL file of Posts and
produced once into a fresh Kafka topic. Each row runs as its own process, timed whole (start-up
included), with the CPU and the peak resident memory of its process tree (the Prism runner and
its SDK workers included):

- `plain loop`: the floor: JSON in, the same keys (words, bigrams, hashtags, region), counted
  per key and per period of both horizons (3 min, 1 h) in dicts. Python, one core, no Beam.
- `the default models alone`: the floor of any run with the default flags: each post's
  sentence embedding and the standard sentiment head on it, in batches of 256, in this process
  (the weights loaded before it is timed).
- `beam wordcount`: Beam's windowed word count (3-minute fixed windows) over the same file on
  DirectRunner, one worker: Beam's per-element floor, the ratio columns' unit (posts per wall
  second, and posts per CPU second of the whole process tree: the steadier one on a shared
  machine).
- `tendencias backfill`: the command with its default flags (sentiment: the local model, no
  API key), once per local sentiment tier in --tiers (standard is the default; `lightest`:
  the fast tier and no story clusters, so no post is embedded).
- `tendencias run --bounded`: the streaming command's graph from Kafka on Prism with default
  flags, stopping at the end offsets seen at its start.
- `tendencias run` (streaming): the live job on Prism working through the same posts as a
  backlog, until the records of their last windows are out (a sentinel post one day later
  moves the watermark past them) and then as many records as the bounded run wrote, or none
  new for QUIET_S seconds. Given up after --streaming-timeout; then the share of the bounded
  run's records it had written says its rate.

Then a per-stage profile of `tendencias backfill` (cProfile over --profile-posts posts, one
process): inclusive seconds in each stage's DoFns; "Beam" is the rest (the runner's per-element
work between them). cProfile slows Python code down unevenly: read shares, not speeds.

Nothing is asserted; the machine is shared, so the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.process_tree import descendants, stop, usage  # noqa: E402
from benchmarks.synthetic_stream import DAY_MS, SyntheticStream  # noqa: E402

HORIZON_PERIODS_MS = (180_000, 3_600_000)
# The backfill rows' flags by name (any other name: that local sentiment tier). `lightest` embeds
# no post: the fast sentiment tier reads words, and story clusters are off.
BACKFILL_FLAGS = {"standard": [], "lightest": ["--sentiment_local_tier=fast", "--story_similarity=0"]}
QUIET_S = 20.0  # the live row: seconds without a new record that end it once the last windows are out  # the default horizons' periods: 15m/3m and 1d/1h


# --- the posts ---------------------------------------------------------------------------------


def contract_posts(n: int, seed: int) -> list[dict]:
    """About `n` Posts as the contract has them (one day of the synthetic stream), in time order."""
    stream = SyntheticStream(seed=seed, posts_per_day=n)
    posts = sorted(stream.background(1.0), key=lambda p: p["event_time_ms"])
    return [
        {
            "id": p["id"],
            "text": p["text_clean"],
            "created_at": p["event_time_ms"],
            "source": "twitter",
            "author": p["author"],
            "region": p["region"],
        }
        for p in posts
    ]


# --- measuring a process tree ------------------------------------------------------------------


@dataclass
class Run:
    """What one process tree used: wall seconds, CPU seconds per program, peak RSS (MiB)."""

    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    returncode: int = 0

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())


class Watch(threading.Thread):
    """Samples a process tree every 0.2 s until the process ends."""

    def __init__(self, process: subprocess.Popen):
        super().__init__(daemon=True)
        self.process, self.peak, self.cpu = process, 0.0, {}

    def run(self) -> None:
        while self.process.poll() is None:
            rss, cpu = usage(descendants(self.process.pid))
            self.peak = max(self.peak, rss)
            self.cpu.update(cpu)
            time.sleep(0.2)


def run_measured(command: list[str], log: Path, env: dict, until=None, timeout: float = 3600) -> Run:
    """Runs `command` to its end (or until `until()` is true, then stops it) and measures it."""
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        watch = Watch(process)
        watch.start()
        deadline = started + timeout
        while process.poll() is None:
            if (until is not None and until()) or time.perf_counter() > deadline:
                break
            time.sleep(0.5)
        wall = time.perf_counter() - started
        stop(process)
        watch.join()
    by_program: Counter = Counter()
    for name, seconds in watch.cpu.values():
        by_program["prism" if "prism" in name else "python"] += seconds
    return Run(wall, dict(by_program), watch.peak, process.returncode)


# --- the rows ----------------------------------------------------------------------------------


def keys_of(text: str, region: str | None) -> set[str]:
    words = text.casefold().split()
    keys = {w for w in words if w != "rt"}
    keys.update(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))
    if region:
        keys.add("region:" + region.casefold())
    return keys


def plain_loop(path: Path) -> tuple[int, int]:
    """The same windowed counts in dicts: (posts, key-period counts)."""
    counts: list[dict] = [{} for _ in HORIZON_PERIODS_MS]
    n = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            post = json.loads(line)
            n += 1
            t = int(post["created_at"])
            keys = keys_of(post["text"], post.get("region"))
            for period, table in zip(HORIZON_PERIODS_MS, counts, strict=True):
                end = (t // period + 1) * period
                for key in keys:
                    table[key, end] = table.get((key, end), 0) + 1
    return n, sum(map(len, counts))


def models_alone(path: Path, batch: int = 256) -> int:
    """The default flags' models and nothing else, in batches: each post's sentence embedding
    (models/stories/embedding.py, which the story clusters and the sentiment head both read) and
    the standard sentiment head on it. Any pipeline with the default flags does at least this."""
    from tendencias.models.sentiment.artifact import predictions
    from tendencias.models.sentiment.backend import load_local_model
    from tendencias.models.stories.embedding import embed_texts
    from tendencias.models.text.social import social_normalise

    model = load_local_model(None, "standard")
    with open(path, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    done = 0
    for i in range(0, len(texts), batch):
        chunk = texts[i : i + batch]
        vectors = embed_texts([social_normalise(text) for text in chunk])
        done += len(predictions(model.probabilities(chunk, model.features(chunk, vectors))))
    return done


def beam_wordcount(path: str, output: str) -> None:
    """Beam's windowed word count (apache_beam/examples/windowed_wordcount.py, on a file)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.transforms import window

    options = PipelineOptions(["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    with beam.Pipeline("DirectRunner", options=options) as p:
        (
            p
            | "Read" >> beam.io.ReadFromText(path)
            | "Parse" >> beam.Map(json.loads)
            | "Stamp" >> beam.Map(lambda post: window.TimestampedValue(post, int(post["created_at"]) / 1000))
            | "Words" >> beam.FlatMap(lambda post: post["text"].casefold().split())
            | "Window" >> beam.WindowInto(window.FixedWindows(180))
            | "One" >> beam.Map(lambda word: (word, 1))
            | "Count" >> beam.CombinePerKey(sum)
            | "Format" >> beam.Map(lambda kv: f"{kv[0]}\t{kv[1]}")
            | "Write" >> beam.io.WriteToText(output)
        )


def tendencias_env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), TENDENCIAS_PSEUDONYM_SALT="bench")
    env.pop("OPENAI_API_KEY", None)  # the local model answers, as on a machine without a key
    return env


def count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


# --- Kafka -------------------------------------------------------------------------------------


def produce(bootstrap: str, topic: str, posts: list[dict]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20, batch_size=256 * 1024)
    for post in posts:
        producer.send(topic, json.dumps(post, ensure_ascii=False).encode("utf-8"))
    producer.flush()
    producer.close()


class Listener(threading.Thread):
    """Every record of a topic as it comes, decoded."""

    def __init__(self, bootstrap: str, topic: str):
        from kafka import KafkaConsumer

        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
        )
        self.records: list[dict] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for batch in self.consumer.poll(timeout_ms=200).values():
                self.records += [json.loads(r.value) for r in batch]
        self.consumer.close()


def create_topics(bootstrap: str, names: list[str]) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, 1, 1) for name in names])
    admin.close()


def run_command(bootstrap: str, topics: dict[str, str], group: str, prism: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "tendencias.cli", "run",
        f"--kafka_bootstrap={bootstrap}", f"--posts_topic={topics['posts']}", "--sales_topic=",
        f"--scores_topic={topics['scores']}", f"--alerts_topic={topics['alerts']}",
        f"--briefs_topic={topics['briefs']}", f"--dead_letter_topic={topics['dead']}",
        f"--group_id={group}", f"--prism_location={prism}", *extra,
    ]  # fmt: skip


def last_window_ends(posts: list[dict]) -> dict[str, int]:
    """The window end of the last period with posts, per default horizon."""
    last = max(int(p["created_at"]) for p in posts)
    return {"15m": (last // 180_000 + 1) * 180_000, "1d": (last // 3_600_000 + 1) * 3_600_000}


# --- the profile -------------------------------------------------------------------------------

# Stage -> (file path part, function name) patterns whose inclusive time is the stage's.
STAGES = {
    "read + parse": [("transforms/file_io", "process"), ("transforms/parse", "process")],
    "clean + redact": [("transforms/text", "process")],
    "features (tokens)": [("transforms/features/apply", "process"), ("transforms/features/apply", "_flush")],
    "sentiment": [("transforms/sentiment", "")],
    "trends: keys + counts": [
        ("transforms/trends/score", "process"),
        ("transforms/trends/periods", ""),
        ("transforms/trends/batch", ""),
    ],
    "trends: volumes + join": [("transforms/trends/join", "")],
    "trends: scoring + grouping": [("transforms/trends/key_state", ""), ("transforms/trends/sales", "")],
    "sinks + encode": [("pipelines/trend_files", ""), ("transforms/sinks", "")],
}


def stage_profile(stats_path: Path) -> tuple[float, dict[str, float]]:
    """(total seconds, {stage: inclusive seconds}); functions nested in another of the same
    stage are not counted twice (only those no caller of the same stage reaches)."""
    stats = pstats.Stats(str(stats_path))
    raw = stats.stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    total = max(ct for _, _, _, ct, _ in raw.values())

    def stage_of(func) -> str | None:
        path, _, name = func
        for stage, patterns in STAGES.items():
            for part, fn in patterns:
                if f"tendencias/{part}" in path and (not fn or name == fn):
                    return stage
        return None

    out: dict[str, float] = {}
    for func, (_, _, _, ct, callers) in raw.items():
        stage = stage_of(func)
        if stage is None or any(stage_of(caller) == stage for caller in callers):
            continue
        out[stage] = out.get(stage, 0.0) + ct
    return total, out


# --- main --------------------------------------------------------------------------------------


def row(name: str, posts: int, run: Run, floor: tuple[float, float], note: str = "") -> str:
    """A table row; `floor`: Beam wordcount's (posts per wall second, posts per CPU second)."""
    rate = posts / run.wall if run.wall else 0.0
    cpu_rate = posts / run.cpu_total if run.cpu_total else 0.0
    cpu = " + ".join(f"{k} {v:.0f}" for k, v in sorted(run.cpu.items(), reverse=True)) or "-"
    return (
        f"| {name} | {run.wall:.1f} | {rate:,.0f} | {rate / floor[0]:.2f}x | {run.cpu_total:.0f} ({cpu}) | "
        f"{cpu_rate:,.0f} | {cpu_rate / floor[1]:.2f}x | {run.peak_rss_mb:,.0f} | {note} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=50_000, help="about this many posts (one day's)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--tiers",
        default="standard,fast",
        help="local sentiment tiers for the backfill rows; `lightest`: the fast tier, no story clusters",
    )
    parser.add_argument(
        "--profile-posts", type=int, default=10_000, help="posts of the profiled backfill; 0: none"
    )
    parser.add_argument("--skip-prism", action="store_true", help="no Kafka and Prism rows")
    parser.add_argument("--skip-streaming", action="store_true", help="no streaming (unbounded) Prism row")
    parser.add_argument("--streaming-timeout", type=float, default=900.0, help="seconds")
    parser.add_argument(
        "--bootstrap", default=os.environ.get("TENDENCIAS_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for files and logs (default: a temp dir)"
    )
    parser.add_argument("--wordcount", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.wordcount:
        beam_wordcount(*args.wordcount)
        return 0

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    posts = contract_posts(args.posts, args.seed)
    path = work / "posts.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in posts)
    n = len(posts)
    words = sum(len(p["text"].split()) for p in posts) / n
    env = tendencias_env()
    load_before = os.getloadavg()
    print(
        f"{n:,} posts, {words:.1f} words a post, one day of event time; files and logs in {work}; "
        f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} (2 cores)",
        flush=True,
    )
    lines: list[str] = []
    notes: list[str] = []

    started, cpu0 = time.perf_counter(), time.process_time()
    _, key_periods = plain_loop(path)
    plain = Run(time.perf_counter() - started, {"python": time.process_time() - cpu0})
    plain.peak_rss_mb = 0.0

    from tendencias.models.stories.embedding import encoder

    started, cpu0 = time.perf_counter(), time.process_time()
    encoder()  # loading the weights is start-up: the rows below pay it too, once
    load_s = time.perf_counter() - started
    started, cpu0 = time.perf_counter(), time.process_time()
    models_alone(path)
    models = Run(time.perf_counter() - started, {"python": time.process_time() - cpu0})
    models.peak_rss_mb = 0.0

    wordcount = run_measured(
        [sys.executable, __file__, "--wordcount", str(path), str(work / "wordcount" / "counts")],
        work / "wordcount.log",
        env,
    )
    floor = (n / wordcount.wall, n / max(wordcount.cpu_total, 1e-9))
    lines.append(row("plain loop (in this process)", n, plain, floor, f"{key_periods:,} key-periods"))
    lines.append(row("beam wordcount, DirectRunner", n, wordcount, floor))
    lines.append(
        row(
            "the default models alone (in this process)",
            n,
            models,
            floor,
            f"sentence encoder + sentiment head, weights loaded before ({load_s:.1f} s)",
        )
    )
    print("\n".join(lines[-3:]), flush=True)

    backfill_records = None
    for tier in [t.strip() for t in args.tiers.split(",") if t.strip()]:
        out = work / f"backfill-{tier}"
        extra = BACKFILL_FLAGS.get(tier, [f"--sentiment_local_tier={tier}"])
        command = [
            sys.executable,
            "-m",
            "tendencias.cli",
            "backfill",
            "--input",
            str(path),
            "--output",
            str(out),
        ]
        run = run_measured(command + extra, work / f"backfill-{tier}.log", env)
        records = count_lines(out / "trends.jsonl") if run.returncode == 0 else None
        if tier == "standard":
            backfill_records = records
        flags = "default flags" if not extra else " ".join(extra)
        note = f"{records:,} trend records" if records is not None else f"FAILED ({run.returncode}), see log"
        lines.append(row(f"tendencias backfill ({flags})", n, run, floor, note))
        print(lines[-1], flush=True)

    if not args.skip_prism:
        from tendencias.pipelines.runner import prism_binary

        prism = prism_binary()
        if prism is None:
            notes.append("Prism rows skipped: no Prism binary (scripts/prism.sh, or TENDENCIAS_PRISM)")
        else:
            bounded, streaming = prism_rows(args, posts, prism, env, work, floor, backfill_records)
            lines += bounded + streaming

    load_after = os.getloadavg()
    print()
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
        f"(1 min; 5 min {load_after[1]:.2f}); {n:,} posts, {words:.1f} words a post"
    )
    print(
        "| what | wall s | posts/s | vs Beam wordcount | CPU s (by program) | posts per CPU s "
        "| vs Beam wordcount (CPU) | peak RSS MiB | |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    for note in notes:
        print(note)

    if args.profile_posts:
        profile(args, posts, env, work)
    return 0


def prism_rows(args, posts, prism, env, work, floor, expected) -> tuple[list[str], list[str]]:
    n = len(posts)
    run_id = uuid.uuid4().hex[:8]
    names = ("posts", "scores", "alerts", "briefs", "dead")
    bounded_topics = {name: f"throughput-{run_id}.{name}" for name in names}
    streaming_topics = {name: f"throughput-{run_id}.live.{name}" for name in names}
    create_topics(args.bootstrap, [*bounded_topics.values(), *streaming_topics.values()])
    started = time.perf_counter()
    produce(args.bootstrap, bounded_topics["posts"], posts)
    print(f"produced {n:,} posts in {time.perf_counter() - started:.1f} s", flush=True)

    command = run_command(args.bootstrap, bounded_topics, f"throughput-{run_id}", prism, "--bounded")
    run = run_measured(command, work / "run-bounded.log", env)
    listener = Listener(args.bootstrap, bounded_topics["scores"])
    listener.start()
    time.sleep(5)
    listener.stop.set()
    listener.join()
    got = bounded_records = len(listener.records)
    same = "" if expected is None else (" (as backfill)" if got == expected else f" (backfill: {expected:,})")
    note = f"{got:,} trend records{same}" if run.returncode == 0 else f"FAILED ({run.returncode}), see log"
    bounded = [row("tendencias run --bounded, Prism", n, run, floor, note)]
    print(bounded[0], flush=True)
    if args.skip_streaming:
        return bounded, []

    # The backlog, then a sentinel a day later: its event time moves the watermark past the
    # last windows of the backlog, so they close without waiting for the wall clock.
    last = max(int(p["created_at"]) for p in posts)
    sentinel = dict(posts[-1], id="sentinel", created_at=last + DAY_MS)
    produce(args.bootstrap, streaming_topics["posts"], [*posts, sentinel])
    ends = last_window_ends(posts)
    listener = Listener(args.bootstrap, streaming_topics["scores"])
    listener.start()

    # Done when the last windows' records are out and then either the bounded run's count is
    # reached or nothing new came for QUIET_S: shards are scored apart, so the last windows'
    # records of one shard can come before earlier windows' records of another.
    quiet = {"count": -1, "since": time.perf_counter()}

    def done() -> bool:
        got = len(listener.records)
        if got != quiet["count"]:
            quiet["count"], quiet["since"] = got, time.perf_counter()
        seen = {r["horizon"] for r in listener.records if _end_ms(r) >= ends[r["horizon"]]}
        settled = got >= bounded_records or time.perf_counter() - quiet["since"] > QUIET_S
        return seen >= set(ends) and settled

    command = run_command(
        args.bootstrap, streaming_topics, f"throughput-{run_id}-live", prism, "--start_offset=earliest"
    )
    run = run_measured(command, work / "run-streaming.log", env, until=done, timeout=args.streaming_timeout)
    listener.stop.set()
    listener.join()
    got = len(listener.records)
    if done():
        streaming = [row("tendencias run (streaming), Prism", n, run, floor, f"{got:,} trend records")]
    else:  # the share of the bounded run's records out so far says how far it got
        share = min(1.0, got / max(1, bounded_records))
        scale = 1 / share if share else float("inf")
        run_rate = Run(run.wall * scale, {k: v * scale for k, v in run.cpu.items()}, run.peak_rss_mb)
        note = (
            f"did not finish: {got:,} of {bounded_records:,} records in {run.wall:.0f} s; "
            "rate extrapolated from that share"
        )
        streaming = [row("tendencias run (streaming), Prism", n, run_rate, floor, note)]
    print(streaming[0], flush=True)
    return bounded, streaming


def _end_ms(record: dict) -> int:
    from tendencias.records import window_end_ms

    return window_end_ms(record)


def profile(args, posts, env, work) -> None:
    subset = posts[: args.profile_posts]
    path = work / "profile-posts.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in subset)
    stats = work / "backfill.prof"
    command = [
        sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "tendencias.cli", "backfill",
        "--input", str(path), "--output", str(work / "backfill-profiled"),
    ]  # fmt: skip
    run = run_measured(command, work / "backfill-profiled.log", env)
    if run.returncode != 0:
        print(f"profiled backfill failed ({run.returncode}): see {work / 'backfill-profiled.log'}")
        return
    total, stages = stage_profile(stats)
    print()
    print(f"per-stage profile: tendencias backfill (default flags), {len(subset):,} posts, cProfile")
    print(f"({run.wall:.0f} s profiled; inclusive seconds in each stage's DoFns; Beam = the rest)")
    print("| stage | s | share |")
    print("|---|---|---|")
    for stage, seconds in sorted(stages.items(), key=lambda item: -item[1]):
        print(f"| {stage} | {seconds:.1f} | {seconds / total:.0%} |")
    rest = total - sum(stages.values())
    print(f"| Beam (runner, coders, start-up) | {rest:.1f} | {rest / total:.0%} |")
    top = pstats.Stats(str(stats))
    print("\ntop functions by own time:")
    entries = sorted(top.stats.items(), key=lambda item: -item[1][2])[:12]
    for (file, line, name), (_, calls, tt, _, _) in entries:
        short = re.sub(r".*site-packages/", "", file)
        short = re.sub(r".*/tendencias/", "tendencias/", short)
        print(f"  {tt:6.1f} s  {calls:>10,} calls  {short}:{line} {name}")


if __name__ == "__main__":
    sys.exit(main())
