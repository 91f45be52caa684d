"""The labelled redaction set: its labels point at what was planted, and redaction scores well on it."""

from __future__ import annotations

from tendencias.models.text.pii_samples import KINDS, evaluate, generate
from tendencias.models.text.redaction import PATTERNS, find_pii, redact


def test_labels_point_at_planted_items_and_the_set_is_mixed():
    samples = generate(600, seed=3)
    kinds = {kind for s in samples for kind, _, _ in s.spans}
    assert kinds == set(KINDS)
    assert sum(not s.spans for s in samples) > 50  # posts with negatives only
    for s in samples:
        for kind, start, end in s.spans:
            value = s.text[start:end]
            assert value == value.strip() and value
            if kind == "email":
                assert "@" in value
    assert generate(50, seed=3) == samples[:50]  # the same seed, the same set


def test_a_partial_cover_is_a_miss_and_a_stray_span_a_false_positive():
    [sample] = [s for s in generate(200, seed=5) if len(s.spans) == 1 and s.spans[0][0] == "address"][:1]
    kind, start, end = sample.spans[0]
    half = evaluate([sample], lambda text: [(kind, (start, (start + end) // 2))])
    assert (half[kind].planted, half[kind].found, half[kind].false_positives) == (1, 0, 0)
    stray = evaluate([sample], lambda text: [(kind, (start, end)), ("dni", (0, 1))])
    assert stray[kind].found == 1 and stray["dni"].false_positives == 1
    assert stray["dni"].precision == 0.0


def test_redaction_on_the_generated_set():
    counts = evaluate(generate(3000, seed=101), find_pii)
    for kind, c in counts.items():
        assert c.recall >= 0.97, (kind, c.recall, c.examples["missed"])
        assert c.precision >= 0.98, (kind, c.precision, c.examples["false"])


def test_without_the_address_pattern_addresses_leak():
    # The measure can fail: the same set without the address pattern loses every address.
    samples = generate(500, seed=9)
    without = [p for p in PATTERNS if p[0] != "address"]
    counts = evaluate(samples, lambda text: find_pii(text, patterns=without))
    assert counts["address"].recall < 0.1
    leaked = [s for s in samples if any(k == "address" for k, _, _ in s.spans)]
    assert all("<address>" in redact(s.text) for s in leaked)
