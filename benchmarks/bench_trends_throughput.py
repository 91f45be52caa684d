"""Throughput of the trend scoring stage per core, and its state size per million keys.

    .venv/bin/python benchmarks/bench_trends_throughput.py [--days 1 --posts-per-day 20000]

One synthetic stream (benchmarks/synthetic_stream.py), scored side by side:
- the scoring code alone (KeyScorer via the in-memory replay): posts/s and key-period updates/s
  on one core, the upper bound of what any runner can do with this Python code;
- the batch path's scoring alone (`tendencias backfill` counts posts into each shard's cells,
  transforms/trends/batch.py, then scores a shard's keys): the cells counted once without a
  runner, then scored key by key with KeyScorer (as before models/trends/shard_scorer.py) and
  with numpy across keys (score_shard, the backfill's now); posts/s of CPU time, and whether
  both gave the same records;
- ScoreTrends on DirectRunner, one worker (the streaming graph's trend stage): posts/s.
State: the bytes the keys the stream left keep between windows (KeyHistory and the recent
periods), scaled to one million keys: as the streaming scorer's durable log holds them
(transforms/trends/shard_state.py: each key's models/trends/state_codec.py bytes, its key and
latest end, a snapshot per shard deflated as a whole; the changes logged since a snapshot add
up to a quarter more before it is rewritten); beside it each key's codec bytes and key one by
one (what the per-key Beam state held before), and pickled as objects (before the codec); and
the CPU time of writing and reading a key's state each way. Numbers vary with the machine and
its load: compare rows of one run.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apache_beam.coders import StrUtf8Coder, TupleCoder  # noqa: E402

from benchmarks.bench_trends_synthetic import parse_overrides, run_engine  # noqa: E402
from benchmarks.synthetic_stream import SyntheticStream  # noqa: E402
from tendencias.models.trends.config import TrendScoringConfig  # noqa: E402
from tendencias.models.trends.key_scorer import KeyState  # noqa: E402
from tendencias.models.trends.keys import trend_keys  # noqa: E402
from tendencias.models.trends.replay import replay  # noqa: E402
from tendencias.models.trends.shard_scorer import score_shard, score_shard_key_by_key  # noqa: E402
from tendencias.models.trends.state_codec import decode_key_state, encode_key_state  # noqa: E402
from tendencias.transforms.trends.batch import ScoreShardFn, count_in_memory  # noqa: E402
from tendencias.transforms.trends.join import SHARDS, shard_of  # noqa: E402
from tendencias.transforms.trends.shard_state import LOGGED_SHARE, CachedShard  # noqa: E402


def beam_posts_per_second(posts: list[dict], config: TrendScoringConfig) -> tuple[float, int]:
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(["--direct_num_workers=1", "--direct_running_mode=in_memory"])
    started = time.perf_counter()
    records = run_engine("beam", posts, config, options)
    return len(posts) / (time.perf_counter() - started), len(records)


def per_key(states: dict) -> dict[tuple[str, str], KeyState]:
    """The replay's (horizon, kind, key) states as the streaming scorer keeps them: a KeyState per key."""
    out: dict[tuple[str, str], KeyState] = {}
    for (horizon, kind, key), (history, kept) in states.items():
        out.setdefault((kind, key), KeyState()).horizons[horizon] = (history, kept)
    return out


def state_bytes(keys: dict[tuple[str, str], KeyState], entry=encode_key_state) -> list[int]:
    """Bytes per key one by one: the key as Beam codes it, and its state as `entry` writes it."""
    key_coder = TupleCoder([StrUtf8Coder(), StrUtf8Coder()])
    return [len(key_coder.encode(pair)) + len(entry(state)) for pair, state in keys.items()]


class _Log(list):
    add, read = list.append, list.__iter__


def snapshot_bytes(keys: dict[tuple[str, str], KeyState]) -> tuple[int, int]:
    """The bytes of the streaming scorer's snapshots of these keys, shard by shard, and of the
    worker's copies of the shards (Python objects: each key's codec bytes, key and end)."""
    snapshots, copies = 0, []
    tracemalloc.start()
    for shard in range(SHARDS):
        cached, log = CachedShard(), _Log()
        for pair, state in keys.items():
            if shard_of(pair) == shard:
                cached.get(pair).horizons.update(state.horizons)
        cached.snapshot(log, forget_before=0)
        snapshots += sum(map(len, log))
        log.clear()
        copies.append(cached)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return snapshots, held


def shard_scoring(posts: list[dict], config: TrendScoringConfig) -> None:
    """The backfill's shard scoring, key by key and numpy across keys, on the same cells."""
    marks, cells, volumes = count_in_memory(posts, config)
    horizons = sorted(config.horizons(), key=lambda h: h.size_ms)
    names = [h.name for h in horizons]
    fn = ScoreShardFn(horizons, config, config.horizon_scorers())
    outputs = []
    for name, score in (("key by key", score_shard_key_by_key), ("numpy across keys", score_shard)):
        at: dict = {}  # as ScoreShardFn: each period's volumes made once, for all shards

        def volumes_at(rank: int, end: int, at=at):
            if (end, rank) not in at:
                at[end, rank] = fn.volumes_at(volumes, rank, end)
            return at[end, rank]

        records, key_periods = [], 0
        started = time.process_time()
        for shard in cells:
            got, scored = score(config.horizon_scorers(), names, config.examples, marks, shard, volumes_at)
            records += got
            key_periods += scored
        seconds = time.process_time() - started
        outputs.append(records)
        print(
            f"backfill's shard scoring, {name} (1 core, CPU time): {len(posts) / seconds:,.0f} posts/s, "
            f"{key_periods / seconds:,.0f} key-periods/s ({key_periods:,} key-periods, {len(records):,} records)"
        )
    print(f"  same records both ways: {'yes' if outputs[0] == outputs[1] else 'NO'}")


def _unpickled(entry: tuple) -> KeyState:
    state = KeyState.__new__(KeyState)
    state.__setstate__(entry[1])  # the reader KeyState keeps for state pickled before the codec
    return state


def pickled_entry(state: KeyState) -> bytes:
    """The entry before models/trends/state_codec.py: histories packed, the rest pickled as objects."""
    horizons = {h: (history.encode(), kept) for h, (history, kept) in state.horizons.items()}
    return pickle.dumps((0, horizons), pickle.HIGHEST_PROTOCOL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=float, default=1.0, help="days of synthetic stream")
    parser.add_argument("--posts-per-day", type=float, default=20000.0, help="stream volume")
    parser.add_argument("--skip-beam", action="store_true", help="only the scoring code, not DirectRunner")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="config override")
    args = parser.parse_args(argv)
    config = TrendScoringConfig(**parse_overrides(args.set))
    stream = SyntheticStream(seed=3, posts_per_day=args.posts_per_day)
    posts = sorted(stream.background(args.days), key=lambda p: p["event_time_ms"])
    keys = sum(len(trend_keys(p, config.kinds)) for p in posts)
    print(
        f"stream: {len(posts)} posts over {args.days:g} days, {keys / len(posts):.1f} keys per post; "
        f"horizons {[h.name for h in config.horizons()]}"
    )

    states: dict = {}
    started = time.perf_counter()
    records = replay(posts, config, states=states)
    seconds = time.perf_counter() - started
    updates = sum(1 for _ in states)  # keys; key-period updates counted below
    periods = sum(len({(p["event_time_ms"] // h.period_ms) for p in posts}) for h in config.horizons())
    key_periods = 0
    for h in config.horizons():
        key_periods += len(
            {(pair, p["event_time_ms"] // h.period_ms) for p in posts for pair in trend_keys(p)}
        )
    print(
        f"scoring code alone (1 core): {len(posts) / seconds:,.0f} posts/s, {key_periods / seconds:,.0f} "
        f"key-period updates/s ({key_periods:,} updates, {updates:,} keys, {periods:,} periods, "
        f"{len(records):,} records)"
    )
    shard_scoring(posts, config)
    if not args.skip_beam:
        rate, emitted = beam_posts_per_second(posts, config)
        print(f"ScoreTrends on DirectRunner (1 worker): {rate:,.0f} posts/s ({emitted:,} records)")
    key_states = per_key(states)
    snapshots, copies = snapshot_bytes(key_states)
    mean = snapshots / len(key_states)
    print(
        f"state, the streaming scorer's snapshots: {mean:,.0f} bytes per key on average -> "
        f"{mean * 1e6 / 2**20:,.0f} MiB per million keys, at most "
        f"{(1 + LOGGED_SHARE) * mean * 1e6 / 2**20:,.0f} with the changes logged since (end of the stream, all horizons); "
        f"the worker's copies: {copies / len(key_states):,.0f} bytes per key"
    )
    for label, entry in (
        ("state key by key (the per-key Beam state before)", encode_key_state),
        ("state pickled as objects (before the codec)", pickled_entry),
    ):
        sizes = state_bytes(key_states, entry)
        mean = statistics.fmean(sizes)
        print(
            f"{label}: {mean:,.0f} bytes per key on average (median {statistics.median(sizes):,.0f}, "
            f"max {max(sizes):,}) -> {mean * 1e6 / 2**20:,.0f} MiB per million keys (end of the stream, all horizons)"
        )
    for label, round_trip in (
        ("state codec", lambda state: decode_key_state(encode_key_state(state))),
        ("pickled as objects (before)", lambda state: _unpickled(pickle.loads(pickled_entry(state)))),
    ):
        started = time.process_time()
        for state in key_states.values():
            round_trip(state)
        seconds = time.process_time() - started
        print(f"{label}: {seconds / len(key_states) * 1e6:,.1f} CPU us per key written and read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
