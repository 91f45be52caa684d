package io.tendencias.flink;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A Kafka record as the PyFlink job's dead letters need it: the value's bytes untouched (a
 * record that is not UTF-8 or not JSON must still reach Python, not fail the source), with its
 * topic, partition, offset and timestamp. PyFlink only offers value-only deserializers.
 */
public class RawRecordDeserializer implements KafkaRecordDeserializationSchema<Row> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Row> out) {
        byte[] value = record.value() == null ? new byte[0] : record.value();
        out.collect(Row.of(value, record.topic(), record.partition(), record.offset(), record.timestamp()));
    }

    @Override
    public TypeInformation<Row> getProducedType() {
        return Types.ROW(
                Types.PRIMITIVE_ARRAY(Types.BYTE), Types.STRING, Types.INT, Types.LONG, Types.LONG);
    }
}
