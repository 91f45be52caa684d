"""The local sentiment tiers by name, and loading one.

- standard (the default): USE multilingual embeddings + lexicon features, one calibrated head
  trained on Spanish and English tweets (models/sentiment/standard.py; ~550 texts/s per core
  in batches);
- fast: TF-IDF word and character n-grams (models/sentiment/local.py; thousands of texts/s);
- accurate: e5 embeddings + the fast student (models/sentiment/accurate.py; ~25 texts/s).

Each tier module imports only what it needs (the fast one neither encoder), and none imports
this one, so there is no import cycle between them.
"""

from __future__ import annotations

TIERS = ("standard", "fast", "accurate")
DEFAULT_TIER = "standard"
# Tiers fast enough for the pipeline's first pass over every post (>= 500 texts/s per core).
FIRST_PASS_TIERS = ("standard", "fast")


def check_tier(tier: str, what: str = "local sentiment tier") -> str:
    if tier not in TIERS:
        raise ValueError(f"{what} must be one of {', '.join(TIERS)}, got {tier!r}")
    return tier


def load_tier(path: str | None = None, tier: str = DEFAULT_TIER):
    """The model of `tier` from the artifact folder `path` (default: the shipped one)."""
    check_tier(tier)
    if tier == "fast":
        from tendencias.models.sentiment.local import LocalSentimentModel

        return LocalSentimentModel.load(path)
    if tier == "standard":
        from tendencias.models.sentiment.standard import StandardSentimentModel

        return StandardSentimentModel.load(path)
    from tendencias.models.sentiment.accurate import AccurateSentimentModel

    return AccurateSentimentModel.load(path)
