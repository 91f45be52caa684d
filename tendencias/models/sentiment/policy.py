"""The sentiment policy: which posts the API is asked about, and which answer a post keeps.

One pure core used by the pipeline (transforms/sentiment.py EnrichSentiment) and by
`tendencias sentiment` (tools/sentiment_cli.py), so both give the same answers for the same texts:

1. The first pass labels every post locally with a tier fast enough for every post
   (`first_pass_tier`: the chosen tier when it is standard or fast, else fast).
2. `route`: a local answer at least `threshold` confident is kept ("done"); the rest go to the
   API, instruction-like posts (possible prompt injection) alone, one per request ("alone").
3. `settle`: an API answer is kept, unless the post went alone and the API's label disagrees
   with the local one (then the local answer is kept and an audit says why); a post the API could
   not answer keeps the final local answer (`final_tier`, the chosen tier) and is marked failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from tendencias.models.sentiment.aspects import find_aspects
from tendencias.models.sentiment.backend import local_model_name
from tendencias.models.sentiment.prompt import looks_like_injection
from tendencias.models.sentiment.schema import LANGS
from tendencias.models.sentiment.tiers import DEFAULT_TIER, FIRST_PASS_TIERS, check_tier

DONE, ASK, ALONE = "done", "ask", "alone"
INJECTION = "suspected_prompt_injection"


class Settled(NamedTuple):
    sentiment: dict
    failed: bool  # the API was asked and gave no usable answer
    audit: tuple[str, str] | None  # (reason, detail) for the dead-letter output


def local_answer(prediction: dict, text: str, lang: str | None, version: str) -> dict:
    """The sentiment record of a local prediction: label, score, confidence, aspects, lang,
    source and model."""
    return {
        "label": prediction["label"],
        "score": float(prediction["score"]),
        "confidence": float(prediction["confidence"]),
        "aspects": find_aspects(text),
        "lang": lang if lang in LANGS else "und",
        "source": "local",
        "model": local_model_name(version),
    }


@dataclass(frozen=True)
class SentimentPolicy:
    """`threshold` None keeps every post local (the local backend); above 1 asks about every post."""

    tier: str = DEFAULT_TIER
    threshold: float | None = 0.9

    def __post_init__(self) -> None:
        check_tier(self.tier, "local_tier")

    @property
    def first_pass_tier(self) -> str:
        if self.threshold is None or self.tier in FIRST_PASS_TIERS:
            return self.tier
        return "fast"

    @property
    def final_tier(self) -> str:
        return self.tier

    @property
    def recompute_final(self) -> bool:
        """Whether a post's final local answer needs another model than its first-pass answer."""
        return self.final_tier != self.first_pass_tier

    def route(self, text: str, local: dict) -> str:
        if self.threshold is None or local["confidence"] >= self.threshold:
            return DONE
        return ALONE if looks_like_injection(text) else ASK

    def settle(self, local: dict, answer: dict | None, alone: bool, source: str, model: str) -> Settled:
        """The answer a post keeps, given its final local answer and the API's (None: failed)."""
        if answer is None:
            return Settled(local, True, None)
        if alone and answer["label"] != local["label"]:
            detail = (
                f"post holds instruction-like text and the model said {answer['label']!r} where the "
                f"local model said {local['label']!r}; the local answer is used"
            )
            return Settled(local, False, (INJECTION, detail))
        return Settled({**answer, "source": source, "model": model}, False, None)
