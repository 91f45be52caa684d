"""The data contracts: every reason code of parse_post / parse_sale, times, dead letters."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest

from tendencias.records import (
    MAX_RECORD_BYTES,
    MAX_TEXT_CHARS,
    RawRecord,
    RecordError,
    dead_letter,
    iso_utc,
    parse_post,
    parse_sale,
    parse_time_ms,
)

# 2025-03-01T12:00:00Z
T_MS = 1740830400000


def post(**fields) -> bytes:
    base = {
        "id": "p1",
        "text": "Probé la nueva chicha morada sin azúcar",
        "created_at": "2025-03-01T12:00:00Z",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}, ensure_ascii=False).encode("utf-8")


def sale(**fields) -> bytes:
    base = {
        "sku": "CM-500",
        "product": "chicha morada 500ml",
        "category": "bebidas",
        "region": "Lima",
        "units": 12,
        "revenue": 54.0,
        "ts": T_MS,
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}).encode("utf-8")


def reason_of(parse, raw: bytes) -> str:
    with pytest.raises(RecordError) as caught:
        parse(raw)
    assert str(caught.value), "a RecordError must say what is wrong"
    return caught.value.reason


class TestParseTime:
    @pytest.mark.parametrize(
        "value, expected",
        [
            ("2025-03-01T12:00:00Z", T_MS),
            ("2025-03-01T12:00:00z", T_MS),
            ("2025-03-01T07:00:00-05:00", T_MS),  # Lima time
            ("2025-03-01T12:00:00.250Z", T_MS + 250),
            ("2025-03-01T12:00:00", T_MS),  # no zone: UTC
            (T_MS, T_MS),
            (str(T_MS), T_MS),
            (T_MS // 1000, T_MS),  # epoch seconds
            (T_MS / 1000 + 0.5, T_MS + 500),
            (f" {T_MS // 1000} ", T_MS),
        ],
    )
    def test_accepted_forms(self, value, expected):
        assert parse_time_ms(value, "created_at") == expected

    @pytest.mark.parametrize(
        "value",
        ["yesterday", "2025-13-01T00:00:00Z", "", True, 0, -5, float("nan"), float("inf"), [T_MS], {"t": 1}],
    )
    def test_rejected_forms(self, value):
        with pytest.raises(RecordError) as caught:
            parse_time_ms(value, "created_at")
        assert caught.value.reason == "bad_time"
        assert "created_at" in str(caught.value)

    def test_missing(self):
        with pytest.raises(RecordError) as caught:
            parse_time_ms(None, "ts")
        assert caught.value.reason == "missing_time"

    def test_iso_utc_round_trip(self):
        assert iso_utc(T_MS) == "2025-03-01T12:00:00Z"
        assert parse_time_ms(iso_utc(T_MS + 999), "t") == T_MS  # seconds precision


class TestParsePost:
    def test_valid_post_is_normalised(self):
        parsed = parse_post(
            post(
                source="Instagram", lang="es", author="@ana", rating="4", region=" Cusco ", brand=7, url=None
            )
        )
        assert parsed["id"] == "p1"
        assert parsed["event_time_ms"] == T_MS
        assert parsed["source"] == "instagram"
        assert parsed["rating"] == 4.0
        assert parsed["region"] == "Cusco"
        assert parsed["brand"] == "7"
        assert parsed["url"] is None and parsed["product"] is None
        assert parsed["text"].startswith("Probé")

    def test_numeric_id_and_epoch_time(self):
        parsed = parse_post(post(id=123, created_at=T_MS // 1000))
        assert parsed["id"] == "123" and parsed["event_time_ms"] == T_MS

    def test_unknown_or_missing_source_is_other(self):
        assert parse_post(post(source="myspace"))["source"] == "other"
        assert parse_post(post())["source"] == "other"

    def test_english_and_mixed_text_accepted(self):
        assert parse_post(post(text="Loving the new maracuyá flavor, bien rico"))["text"]

    @pytest.mark.parametrize(
        "raw, reason",
        [
            (b"\xff\xfe not utf-8", "not_utf8"),
            (b"{not json", "not_json"),
            (b"", "not_json"),
            (b"[1, 2]", "not_object"),
            (b'"a string"', "not_object"),
            (post(id=...), "missing_id"),
            (post(id=""), "missing_id"),
            (post(id=None), "missing_id"),
            (post(id=["a"]), "wrong_type"),
            (post(id=True), "wrong_type"),
            (post(text=...), "missing_text"),
            (post(text="   "), "missing_text"),
            (post(text=42), "wrong_type"),
            (post(text="x" * (MAX_TEXT_CHARS + 1)), "oversize"),
            (post(created_at=...), "missing_time"),
            (post(created_at="last tuesday"), "bad_time"),
            (post(created_at=False), "bad_time"),
            (post(rating=6), "out_of_range"),
            (post(rating=0.5), "out_of_range"),
            (post(rating="great"), "wrong_type"),
            (post(rating=True), "wrong_type"),
            (post(lang=["es"]), "wrong_type"),
            (post(author={"name": "x"}), "wrong_type"),
        ],
    )
    def test_reason_codes(self, raw, reason):
        assert reason_of(parse_post, raw) == reason

    def test_oversize_record_bytes(self):
        raw = post(text="a" * 100, url="u" * (MAX_RECORD_BYTES + 1))
        assert reason_of(parse_post, raw) == "oversize"


class TestParseSale:
    def test_valid_sale_defaults_currency(self):
        parsed = parse_sale(sale(channel="bodega"))
        assert parsed["currency"] == "PEN"
        assert parsed["units"] == 12 and parsed["revenue"] == 54.0
        assert parsed["event_time_ms"] == T_MS
        assert parsed["channel"] == "bodega" and parsed["brand"] is None

    def test_currency_upper_cased_and_numeric_text(self):
        parsed = parse_sale(sale(currency="usd", units="3", ts="2025-03-01T12:00:00Z"))
        assert parsed["currency"] == "USD" and parsed["units"] == 3.0 and parsed["event_time_ms"] == T_MS

    @pytest.mark.parametrize(
        "raw, reason",
        [
            (sale(sku=...), "missing_sku"),
            (sale(product=""), "missing_product"),
            (sale(category=None), "missing_category"),
            (sale(region="  "), "missing_region"),
            (sale(units=...), "missing_units"),
            (sale(revenue=...), "missing_revenue"),
            (sale(units=-1), "out_of_range"),
            (sale(units="many"), "wrong_type"),
            (sale(revenue=False), "wrong_type"),
            (sale(currency="soles"), "wrong_type"),
            (sale(currency="P3N"), "wrong_type"),
            (sale(ts=...), "missing_time"),
            (sale(ts="soon"), "bad_time"),
            (sale(sku=["a"]), "wrong_type"),
            (b"\x80", "not_utf8"),
            (b"units=3", "not_json"),
        ],
    )
    def test_reason_codes(self, raw, reason):
        assert reason_of(parse_sale, raw) == reason

    def test_revenue_may_be_negative_for_returns(self):
        assert parse_sale(sale(revenue=-10))["revenue"] == -10


class TestDeadLetter:
    def test_keeps_raw_bytes_reason_and_source(self):
        raw = b"\xff\x00 broken"
        source = RawRecord(raw, "consumer.posts", 2, 41, T_MS, b"k")
        letter = dead_letter(raw, stage="parse", reason="not_utf8", error="bad byte", source=source)
        assert base64.b64decode(letter["raw_b64"]) == raw
        assert (letter["reason"], letter["stage"], letter["error"]) == ("not_utf8", "parse", "bad byte")
        assert (letter["topic"], letter["partition"], letter["offset"]) == ("consumer.posts", 2, 41)
        assert datetime.fromisoformat(letter["time"]).tzinfo is not None
        json.dumps(letter)  # must be writable as JSON to the dead-letter topic

    def test_text_and_dict_inputs_without_source(self):
        letter = dead_letter({"b": 1, "a": "ñ"}, stage="sentiment", reason="schema", error="bad")
        assert json.loads(base64.b64decode(letter["raw_b64"]).decode("utf-8")) == {"a": "ñ", "b": 1}
        assert letter["topic"] is None and letter["offset"] is None
        assert base64.b64decode(dead_letter("hola", stage="s", reason="r", error="e")["raw_b64"]) == b"hola"


def test_a_post_replaced_is_a_copy_with_the_changes_only():
    original = parse_post(post(author="ana", region="Lima"))
    changed = original.replace(text_clean="probé la nueva chicha", tokens=["chicha"])
    assert changed is not original
    assert (changed.text_clean, changed.tokens) == ("probé la nueva chicha", ["chicha"])
    assert original.text_clean is None and original.tokens is None
    assert {k: changed[k] for k in changed if k not in ("text_clean", "tokens")} == {
        k: original[k] for k in original if k not in ("text_clean", "tokens")
    }
    with pytest.raises(TypeError, match="colour"):
        original.replace(colour="red")
