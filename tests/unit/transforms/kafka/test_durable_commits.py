"""The commit rule of runners without durable state (transforms/kafka/durable.py), without a
broker: a batch is committed once the watermark after the sinks is past its watermark (plus
the hold), a retried bundle takes back what it reads again, a stopped job never claims
windows past where its readers really were, and the commit carries that time."""

from __future__ import annotations

from types import SimpleNamespace

from tendencias.transforms.kafka.durable import END_MS, NOTHING_WRITTEN, DurableOffsets
from tendencias.transforms.kafka.offsets import mark_metadata, read_durable, read_mark

S = 1000  # ms


class FakeConsumer:
    def __init__(self, fail: bool = False):
        self.commits: list[dict] = []
        self.fail = fail

    def commit(self, offsets, timeout_ms=None):
        if self.fail:
            raise TimeoutError("broker down")
        self.commits.append(offsets)

    def close(self, autocommit=False):
        pass


def ledger(hold_ms: int = 0, consumer: FakeConsumer | None = None) -> tuple[DurableOffsets, FakeConsumer]:
    consumer = consumer or FakeConsumer()
    settings = SimpleNamespace(group_id="g", consumer=lambda: consumer)
    offsets = DurableOffsets()
    for partition in (0, 1):
        offsets.register("L", "posts", partition, settings, hold_ms)
    return offsets, consumer


def test_a_batch_is_committed_once_the_sinks_are_past_the_watermark_it_came_out_at():
    offsets, consumer = ledger()
    offsets.note_batch("L", "posts", 0, list(range(0, 10)), 10 * S)
    offsets.note_batch("L", "posts", 0, list(range(10, 20)), 20 * S)
    # partition 1's batch comes out when partition 0 is at 20 s already: Prism may have moved
    # the reader's watermark to 20 s meanwhile, so its records may be late: stamped 20 s
    offsets.note_batch("L", "posts", 1, list(range(0, 5)), 15 * S)
    assert offsets.durable("L", 10 * S) == {}  # not past 10 s yet
    assert offsets.durable("L", 10 * S + 1) == {("posts", 0): (10, NOTHING_WRITTEN)}
    offsets.note_written("L", 16 * S)  # the trend sinks are past 16 s
    assert offsets.commit("L", 16 * S) == 1  # partition 0 up to 10, partition 1 not yet
    assert offsets.commit("L", 20 * S + 1) == 2
    committed = {tp.partition: meta for tp, meta in consumer.commits[-1].items()}
    assert committed[0].offset == 20 and committed[1].offset == 5
    assert read_durable(committed[0].metadata) == 15 * S  # capped at where the readers were
    assert read_mark(committed[0].metadata) == 19  # the highest offset emitted, for re-read counts


def test_acknowledged_commits_stop_at_the_first_record_not_yet_written():
    offsets, consumer = ledger()
    for partition in (0, 1):
        offsets.register(
            "A", "posts", partition, SimpleNamespace(group_id="g", consumer=lambda: consumer), 0, acks=True
        )
    offsets.note_batch("A", "posts", 0, [0, 1, 2, 3], 5 * S)
    offsets.note_batch("A", "posts", 0, [5, 6], 6 * S)  # offset 4: a transaction marker, never a record
    assert offsets.ack("A", [("posts", 0, 1), ("posts", 0, 2), ("posts", 0, 5)]) == 0  # 0 not written yet
    assert offsets.ack("A", [("posts", 0, 0), ("posts", 0, 3)]) == 1
    assert offsets.commit_acknowledged("A") == 1
    assert next(iter(consumer.commits[-1].values())).offset == 4  # 5 and 6 not both written
    offsets.ack("A", [("posts", 0, 6), ("posts", 0, 7)])  # 7: written before its batch was noted
    offsets.note_batch("A", "posts", 0, [7], 7 * S)
    offsets.commit_acknowledged("A")
    assert next(iter(consumer.commits[-1].values())).offset == 8
    assert offsets.ack("A", [("other", 0, 1), ("posts", 1, 99)]) == 0  # not this run's, or not yet


def test_without_an_archive_a_batch_waits_for_its_windows_and_lateness():
    hold = 24 * 3600 * S + 600 * S  # 1d window + 10 min lateness
    offsets, _ = ledger(hold)
    offsets.note_batch("L", "posts", 0, list(range(0, 99 + 1)), 100 * S)
    for partition in (0, 1):
        offsets.note_frontier("L", "posts", partition, 10**9 * S)  # the stream went on
    assert offsets.durable("L", 100 * S + hold) == {}
    assert offsets.durable("L", 100 * S + hold + 1)[("posts", 0)][0] == 100


def test_a_retried_bundle_takes_back_what_it_reads_again():
    offsets, _ = ledger()
    offsets.note_batch("L", "posts", 0, list(range(0, 49 + 1)), 5 * S)
    offsets.note_batch("L", "posts", 0, list(range(50, 99 + 1)), 50 * S)
    offsets.note_batch("L", "posts", 0, list(range(30, 99 + 1)), 60 * S)  # offsets 30.. again, from a retry
    offsets.note_frontier("L", "posts", 1, 100 * S)
    assert offsets.durable("L", 40 * S)[("posts", 0)][0] == 30  # not 50: 30.. were read again


def test_a_drained_job_commits_all_but_claims_only_where_its_readers_were():
    offsets, consumer = ledger()
    offsets.note_batch("L", "posts", 0, list(range(0, 9 + 1)), 30 * S)
    offsets.note_batch("L", "posts", 1, list(range(0, 9 + 1)), 20 * S)
    for partition in (0, 1):
        offsets.finish("L", "posts", partition)
    assert offsets.finished("L")
    offsets.note_written("L", END_MS)  # the last firings, at the end of time
    offsets.commit("L", END_MS)
    committed = {tp.partition: meta for tp, meta in consumer.commits[-1].items()}
    assert {p: m.offset for p, m in committed.items()} == {0: 10, 1: 10}
    assert read_durable(committed[0].metadata) == 20 * S  # the least partition's watermark


def test_a_partition_that_read_nothing_does_not_hold_the_frontier_once_finished():
    offsets, _ = ledger()
    offsets.note_batch("L", "posts", 0, list(range(0, 9 + 1)), 30 * S)
    assert offsets.frontier("L") < 0  # partition 1 is still live and has seen nothing
    offsets.finish("L", "posts", 1)
    assert offsets.frontier("L") == 30 * S


def test_a_failed_commit_is_made_at_the_next_firing():
    failing = FakeConsumer(fail=True)
    offsets, _ = ledger(consumer=failing)
    offsets.note_batch("L", "posts", 0, list(range(0, 9 + 1)), 1 * S)
    offsets.note_frontier("L", "posts", 1, 100 * S)
    assert offsets.commit("L", 5 * S) == 0 and offsets.pending("L")
    failing.fail = False
    assert offsets.commit("L", 6 * S) == 1 and not offsets.pending("L")
    assert next(iter(failing.commits[-1].values())).offset == 10


def test_commits_may_run_ahead_of_the_trend_sinks_and_say_so():
    """With an archive the commits follow the archive; durable_ms follows the trend sinks."""
    offsets, consumer = ledger()
    offsets.note_batch("L", "posts", 0, list(range(0, 9 + 1)), 30 * S)
    offsets.note_frontier("L", "posts", 1, 100 * S)
    offsets.note_written("L", 12 * S)  # the 1d horizon's hourly periods hold the trend sinks back
    assert offsets.commit("L", 31 * S) == 1
    assert read_durable(next(iter(consumer.commits[-1].values())).metadata) == 12 * S


def test_metadata_round_trip_and_older_commits():
    assert read_durable(mark_metadata(41, 1234)) == 1234 and read_mark(mark_metadata(41, 1234)) == 41
    assert read_durable(mark_metadata(41)) is None and read_mark("emitted_through=7") == 7
    assert read_durable(None) is None and read_mark("") == -1


def test_the_commit_timer_follows_the_readers_and_stops_after_the_end_of_time():
    from tendencias.transforms.kafka.durable import CommitWhenDurableFn

    offsets, _ = ledger()
    offsets.note_frontier("L", "posts", 0, 50 * S)
    offsets.note_frontier("L", "posts", 1, 40 * S)
    import tendencias.transforms.kafka.durable as durable

    saved, durable.DURABLE = durable.DURABLE, offsets
    try:
        fn = CommitWhenDurableFn("L")
        assert fn._next(10 * S) == 40 * S  # the readers' watermark
        assert fn._next(40 * S) == 41 * S  # not ahead: a second on, fired once they move
        for partition in (0, 1):
            offsets.finish("L", "posts", partition)
        assert fn._next(41 * S) == END_MS  # drained: one last firing, at the end of time
        assert fn._next(END_MS) is None
        assert CommitWhenDurableFn("gone")._next(5 * S) == END_MS  # a ledger already forgotten
    finally:
        durable.DURABLE = saved


def test_a_quiet_partition_still_carries_how_far_windows_are_written():
    offsets, consumer = ledger()
    offsets.note_batch("L", "posts", 0, list(range(0, 9 + 1)), 1 * S)
    for partition in (0, 1):
        offsets.note_frontier("L", "posts", partition, 500 * S)
    offsets.note_written("L", 2 * S)
    assert offsets.commit("L", 2 * S) == 1
    offsets.note_written("L", 30 * S)
    assert offsets.commit("L", 30 * S) == 0  # nothing new, durable_ms not far enough on
    offsets.note_written("L", 90 * S)
    assert offsets.commit("L", 90 * S) == 1  # the same offset again, a minute later
    offsets.note_written("L", 100 * S)
    assert offsets.refresh("L") == 1  # the trend sinks' last firing
    assert read_durable(next(iter(consumer.commits[-1].values())).metadata) == 100 * S
