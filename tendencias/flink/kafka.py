"""Flink's Kafka source and transactional sinks for the job.

The source reads raw bytes with their topic, partition and offset (a small Java deserializer,
infra/flink/src: PyFlink only offers value-only ones) and starts from the consumer group's
committed offsets (earliest where it has none); Flink commits offsets on each checkpoint and
restores them from the checkpoint itself. Each sink writes in Kafka transactions committed on
checkpoints (exactly once for read_committed consumers; the broker's
transaction.max.timeout.ms, 15 minutes by default, bounds transaction.timeout.ms).
"""

from __future__ import annotations

import json

from pyflink.common import Row, Types
from pyflink.common.serialization import RowFieldExtractorSchema
from pyflink.datastream.connectors.base import DeliveryGuarantee
from pyflink.datastream.connectors.kafka import (
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)
from pyflink.java_gateway import get_gateway

RAW_RECORD = Types.ROW(
    [Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.STRING(), Types.INT(), Types.LONG(), Types.LONG()]
)
KEYED_BYTES = Types.ROW([Types.PRIMITIVE_ARRAY(Types.BYTE()), Types.PRIMITIVE_ARRAY(Types.BYTE())])
TRANSACTION_TIMEOUT_MS = 600_000  # under the broker's transaction.max.timeout.ms (15 min default)


def posts_source(bootstrap: str, topic: str, group_id: str, bounded: bool = False) -> KafkaSource:
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap)
        .set_topics(topic)
        .set_group_id(group_id)
        .set_property("isolation.level", "read_committed")
        .set_property("partition.discovery.interval.ms", "10000")
    )
    if bounded:
        builder.set_bounded(KafkaOffsetsInitializer.latest())
    jvm = get_gateway().jvm
    # PyFlink's own helpers name the shaded classes of the SQL connector jar: the plain
    # connector's are called directly.
    initializer = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer
    earliest = jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    builder._j_builder.setStartingOffsets(initializer.committedOffsets(earliest))
    builder._j_builder.setDeserializer(jvm.io.tendencias.flink.RawRecordDeserializer())
    return builder.build()


def keyed_json(record: dict, key: str | None = None) -> Row:
    """Row(key bytes, JSON bytes): what the sinks write (the Beam job's encoding)."""
    value = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Row((key or "").encode("utf-8"), value)


def trend_key(record: dict) -> str:
    """Trend records are keyed kind:key, so a trend's updates stay in one partition, in order."""
    return f"{record['kind']}:{record['key']}"


def transactional_sink(
    bootstrap: str, topic: str, transactional_id_prefix: str, exactly_once: bool
) -> KafkaSink:
    serializer = (
        KafkaRecordSerializationSchema.builder()
        .set_topic(topic)
        .set_key_serialization_schema(RowFieldExtractorSchema(0))
        .set_value_serialization_schema(RowFieldExtractorSchema(1))
        .build()
    )
    builder = KafkaSink.builder().set_bootstrap_servers(bootstrap).set_record_serializer(serializer)
    if exactly_once:
        builder = (
            builder.set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
            .set_transactional_id_prefix(transactional_id_prefix)
            .set_property("transaction.timeout.ms", str(TRANSACTION_TIMEOUT_MS))
        )
    else:
        builder = builder.set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
    return builder.build()
