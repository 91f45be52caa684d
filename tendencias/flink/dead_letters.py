"""The dead-letter side output every stage writes to (README "Dead letter": the original bytes
in base64, the reason, the error, the stage, topic, partition, offset and time)."""

from __future__ import annotations

from pyflink.common import Types
from pyflink.datastream import OutputTag

DEAD_LETTERS = OutputTag("dead_letters", Types.PICKLED_BYTE_ARRAY())
