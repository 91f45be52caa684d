"""Offset bookkeeping behind ReadFromKafka, without a broker: start policies, the restriction
tracker, the watermark estimator, commits and redelivery counting, security settings."""

from __future__ import annotations

import pytest
from apache_beam.io.restriction_trackers import OffsetRange
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Timestamp
from kafka import OffsetAndMetadata, TopicPartition
from kafka.structs import OffsetAndTimestamp

from tendencias.transforms.kafka import config as kafka_config
from tendencias.transforms.kafka.config import ClientPool
from tendencias.transforms.kafka.offsets import (
    UNBOUNDED_STOP,
    CommitLedger,
    EventTimeWatermarkEstimator,
    KafkaOffsetTracker,
    PartitionRead,
    PartitionRestrictionProvider,
    mark_metadata,
    parse_start,
    read_mark,
    resolve_start_offsets,
)
from tendencias.transforms.kafka.read import ReadFromKafka, WriteToKafka, kafka_security_config_from_env

P0, P1, P2 = (TopicPartition("posts", p) for p in range(3))


class FakeConsumer:
    """The four kafka-python lookups resolve_start_offsets uses, over a fixed log layout."""

    def __init__(self, begin, end, committed=None, by_time=None):
        self.begin, self.end = begin, end
        self.commits = committed or {}
        self.by_time = by_time or {}

    def beginning_offsets(self, partitions):
        return {tp: self.begin[tp] for tp in partitions}

    def end_offsets(self, partitions):
        return {tp: self.end[tp] for tp in partitions}

    def committed(self, tp, metadata=False):
        assert metadata, "the redelivery mark lives in the commit metadata"
        return self.commits.get(tp)

    def offsets_for_times(self, timestamps):
        return {tp: self.by_time.get((tp, ts)) for tp, ts in timestamps.items()}


LOG = FakeConsumer(begin={P0: 0, P1: 100, P2: 5}, end={P0: 50, P1: 300, P2: 5})


class TestStartPolicy:
    @pytest.mark.parametrize("text", ["committed", "EARLIEST", " latest "])
    def test_named_policies(self, text):
        assert parse_start(text) == text.strip().lower()

    @pytest.mark.parametrize(
        "value, expected",
        [
            ("2025-03-01T12:00:00Z", 1740830400000),
            (1740830400000, 1740830400000),
            ("1740830400", 1740830400000),
        ],
    )
    def test_times_become_epoch_ms(self, value, expected):
        assert parse_start(value) == expected

    @pytest.mark.parametrize("value", ["newest", "", "2025-02-30T00:00:00Z", None])
    def test_bad_start_says_what_is_allowed(self, value):
        with pytest.raises(ValueError, match="committed, earliest, latest"):
            parse_start(value)

    def test_earliest_and_latest(self):
        assert resolve_start_offsets(LOG, [P0, P1], "earliest") == {P0: (0, -1), P1: (100, -1)}
        assert resolve_start_offsets(LOG, [P0, P1], "latest") == {P0: (50, -1), P1: (300, -1)}

    def test_committed_with_fallback_and_clamping(self):
        consumer = FakeConsumer(
            LOG.begin,
            LOG.end,
            committed={
                P0: OffsetAndMetadata(20, mark_metadata(27), -1),  # resumes, 7 re-reads expected
                P1: OffsetAndMetadata(40, "", -1),  # below the retained log: clamped to 100
                P2: OffsetAndMetadata(9, "", -1),
            },  # past the end: clamped to 5
        )
        got = resolve_start_offsets(consumer, [P0, P1, P2], "committed")
        assert got == {P0: (20, 27), P1: (100, -1), P2: (5, -1)}
        fresh = FakeConsumer(LOG.begin, LOG.end)
        assert resolve_start_offsets(fresh, [P0, P1], "committed") == {P0: (0, -1), P1: (100, -1)}
        assert resolve_start_offsets(fresh, [P0, P1], "committed", fallback="latest") == {
            P0: (50, -1),
            P1: (300, -1),
        }

    def test_time_policy_uses_offsets_for_times_or_the_end(self):
        when = 1740830400000
        consumer = FakeConsumer(LOG.begin, LOG.end, by_time={(P0, when): OffsetAndTimestamp(17, when, -1)})
        assert resolve_start_offsets(consumer, [P0, P1], "2025-03-01T12:00:00Z") == {
            P0: (17, -1),
            P1: (300, -1),
        }

    def test_bad_fallback(self):
        with pytest.raises(ValueError, match="fallback"):
            resolve_start_offsets(LOG, [P0], "committed", fallback="committed")

    def test_mark_round_trip(self):
        assert read_mark(mark_metadata(12345)) == 12345
        assert read_mark("") == -1 and read_mark(None) == -1 and read_mark("emitted_through=x") == -1


class TestTracker:
    def test_refuses_dynamic_splits_but_checkpoints(self):
        tracker = KafkaOffsetTracker(OffsetRange(10, UNBOUNDED_STOP))
        assert tracker.try_claim(10) and tracker.try_claim(11)
        assert tracker.try_split(0.5) is None
        assert tracker.try_split(0.01) is None
        primary, residual = tracker.try_split(0)
        assert primary == OffsetRange(10, 12) and residual == OffsetRange(12, UNBOUNDED_STOP)
        tracker.check_done()

    def test_checkpoint_before_any_claim_keeps_the_whole_range(self):
        tracker = KafkaOffsetTracker(OffsetRange(7, UNBOUNDED_STOP))
        primary, residual = tracker.try_split(0)
        assert primary == OffsetRange(7, 7) and residual == OffsetRange(7, UNBOUNDED_STOP)

    def test_bounded_range_stops_at_its_end(self):
        tracker = KafkaOffsetTracker(OffsetRange(0, 3))
        assert tracker.is_bounded()
        assert [tracker.try_claim(o) for o in (0, 2, 3)] == [True, True, False]  # gaps allowed (compaction)
        tracker.check_done()

    def test_unfinished_bounded_range_is_not_done(self):
        tracker = KafkaOffsetTracker(OffsetRange(0, 3))
        tracker.try_claim(0)
        with pytest.raises(ValueError):
            tracker.check_done()

    def test_provider_bounded_and_unbounded(self):
        provider = PartitionRestrictionProvider()
        live = provider.initial_restriction(PartitionRead("posts", 0, 5, None))
        assert live == OffsetRange(5, UNBOUNDED_STOP)
        assert not provider.create_tracker(live).is_bounded()
        backfill = provider.initial_restriction(PartitionRead("posts", 0, 5, 9))
        assert backfill == OffsetRange(5, 9) and provider.restriction_size(None, backfill) == 4
        assert list(provider.split(None, backfill)) == [backfill]
        assert provider.initial_restriction(PartitionRead("posts", 0, 5, 3)) == OffsetRange(5, 5)


class TestWatermark:
    def test_follows_event_times_and_never_goes_back(self):
        estimator = EventTimeWatermarkEstimator()
        assert estimator.current_watermark() == MIN_TIMESTAMP
        estimator.observe_timestamp(Timestamp(100))
        estimator.observe_timestamp(Timestamp(90))  # late record: watermark stays
        assert estimator.current_watermark() == Timestamp(100)

    def test_idle_live_partition_follows_wall_clock(self):
        estimator = EventTimeWatermarkEstimator()
        estimator.advance_idle(2.0, now=1000.0)  # never saw a record
        assert estimator.current_watermark() == Timestamp(998)

    def test_idle_replay_extrapolates_from_latest_record(self):
        # latest event at t=100 seen at wall 5000; 3 s later and idle, event clock ~ 103, minus 2 s
        estimator = EventTimeWatermarkEstimator((Timestamp(100).micros, Timestamp(100).micros, 5000.0))
        estimator.advance_idle(2.0, now=5003.0)
        assert estimator.current_watermark() == Timestamp(101)
        estimator.advance_idle(2.0, now=5001.0)  # clock jitter never moves it back
        assert estimator.current_watermark() == Timestamp(101)

    def test_idle_never_passes_wall_clock_minus_delay(self):
        future = Timestamp(10_000).micros  # event times ahead of the wall clock (skew)
        estimator = EventTimeWatermarkEstimator((future - 1, future, 100.0))
        estimator.advance_idle(2.0, now=110.0)
        assert estimator.current_watermark() == Timestamp(micros=future - 1)

    def test_state_round_trip(self):
        estimator = EventTimeWatermarkEstimator()
        estimator.observe_timestamp(Timestamp(42))
        again = EventTimeWatermarkEstimator(estimator.get_estimator_state())
        assert again.current_watermark() == Timestamp(42)
        assert again.get_estimator_state() == estimator.get_estimator_state()


class TestCommitLedger:
    def test_commits_only_move_forward(self):
        ledger = CommitLedger()
        key = ("run", "posts", 0)
        assert ledger.claim_commit(key, 10)
        assert not ledger.claim_commit(key, 8)  # an older bundle finalized late
        assert not ledger.claim_commit(key, 10)
        assert ledger.claim_commit(key, 11)
        assert ledger.claim_commit(("run", "posts", 1), 3)

    def test_redelivery_within_a_run_and_after_a_restart(self):
        ledger = CommitLedger()
        key = ("run", "posts", 0)
        assert ledger.note_emitted(key, [0, 1, 2]) == 0
        assert ledger.note_emitted(key, [2, 3]) == 1  # a retried bundle re-emits offset 2
        assert ledger.emitted_through(key) == 3
        restarted = ("run2", "posts", 0)
        assert ledger.note_emitted(restarted, [5, 6, 7, 8], earlier_mark=6) == 2
        assert ledger.note_emitted(restarted, []) == 0


class TestSecurityConfig:
    def test_plaintext_by_default(self):
        assert kafka_security_config_from_env({}) == {}

    def test_sasl_ssl(self):
        env = {
            "TENDENCIAS_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "TENDENCIAS_KAFKA_SASL_MECHANISM": "scram-sha-512",
            "TENDENCIAS_KAFKA_SASL_USERNAME": "svc",
            "TENDENCIAS_KAFKA_SASL_PASSWORD": "s3cr3t",
            "TENDENCIAS_KAFKA_SSL_CAFILE": "/etc/ca.pem",
        }
        assert kafka_security_config_from_env(env) == {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "svc",
            "sasl_plain_password": "s3cr3t",
            "ssl_cafile": "/etc/ca.pem",
        }

    def test_ssl_only(self):
        env = {"TENDENCIAS_KAFKA_SECURITY_PROTOCOL": "SSL", "TENDENCIAS_KAFKA_SSL_CAFILE": "/ca.pem"}
        assert kafka_security_config_from_env(env) == {"security_protocol": "SSL", "ssl_cafile": "/ca.pem"}

    def test_missing_password_names_the_variable_not_the_values(self):
        env = {"TENDENCIAS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "TENDENCIAS_KAFKA_SASL_USERNAME": "svc-user"}
        with pytest.raises(ValueError, match="TENDENCIAS_KAFKA_SASL_PASSWORD") as caught:
            kafka_security_config_from_env(env)
        assert "svc-user" not in str(caught.value)

    @pytest.mark.parametrize(
        "env, match",
        [
            ({"TENDENCIAS_KAFKA_SECURITY_PROTOCOL": "TLS"}, "SECURITY_PROTOCOL"),
            (
                {
                    "TENDENCIAS_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                    "TENDENCIAS_KAFKA_SASL_MECHANISM": "GSSAPI",
                    "TENDENCIAS_KAFKA_SASL_USERNAME": "u",
                    "TENDENCIAS_KAFKA_SASL_PASSWORD": "p",
                },
                "SASL_MECHANISM",
            ),
            ({"TENDENCIAS_KAFKA_SASL_USERNAME": "u"}, "SECURITY_PROTOCOL is PLAINTEXT"),
        ],
    )
    def test_inconsistent_settings_fail_fast(self, env, match):
        with pytest.raises(ValueError, match=match):
            kafka_security_config_from_env(env)


class TestTransformArguments:
    def test_committed_needs_a_group(self):
        with pytest.raises(ValueError, match="group_id"):
            ReadFromKafka("b:9092", ["posts"], start="committed")

    def test_secrets_are_refused_in_config(self):
        with pytest.raises(ValueError, match="TENDENCIAS_KAFKA_SASL_PASSWORD"):
            ReadFromKafka("b:9092", ["posts"], group_id="g", consumer_config={"sasl_plain_password": "x"})
        with pytest.raises(ValueError, match="secrets"):
            WriteToKafka("b:9092", "out", producer_config={"ssl_password": "x"})

    def test_unknown_settings_and_weaker_acks_are_refused(self):
        with pytest.raises(ValueError, match="fetch_max_wait"):
            ReadFromKafka("b:9092", ["posts"], group_id="g", consumer_config={"fetch_max_wait": 1})
        with pytest.raises(ValueError, match="acks"):
            WriteToKafka("b:9092", "out", producer_config={"acks": 1})

    def test_bad_start_fails_at_construction(self):
        with pytest.raises(ValueError, match="start must be"):
            ReadFromKafka("b:9092", ["posts"], group_id="g", start="beginning")


class FakeClient:
    def __init__(self):
        self.closed = False

    def close(self, autocommit=True):
        self.closed = True


class TestClientPool:
    def test_lends_each_client_to_one_borrower_with_its_state(self):
        pool = ClientPool()
        client = FakeClient()
        assert pool.take(("run", "posts", 0)) is None
        pool.give(("run", "posts", 0), client, 42)
        assert pool.take(("run", "posts", 0)) == (client, 42)
        assert pool.take(("run", "posts", 0)) is None  # lent out: a second borrower opens its own

    def test_closes_idle_and_replaced_clients(self, monkeypatch):
        pool = ClientPool(max_idle_seconds=10)
        now = [1000.0]
        monkeypatch.setattr(kafka_config.time, "monotonic", lambda: now[0])
        old, replaced, fresh, newer = FakeClient(), FakeClient(), FakeClient(), FakeClient()
        pool.give("a", old)
        pool.give("b", replaced)
        now[0] += 5
        pool.give("b", fresh)  # two idle clients for one key: the older is closed
        assert replaced.closed and not old.closed
        now[0] += 6
        pool.give("c", newer)  # "a" idle for 11 s: closed
        assert old.closed and not fresh.closed and not newer.closed
        assert pool.take("a") is None and pool.take("b") == (fresh, None)

    def test_close_idle_keeps_lent_out_clients(self):
        pool = ClientPool()
        idle, lent = FakeClient(), FakeClient()
        pool.give("idle", idle)
        pool.give("lent", lent)
        assert pool.take("lent") == (lent, None)
        pool.close_idle()
        assert idle.closed and not lent.closed
        assert pool.take("idle") is None
