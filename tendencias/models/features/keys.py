"""Feature keys in one place (TFX style): raw names, transformed names, vocabularies, limits.

`preprocessing.py` builds the TF-Transform graph from these; the stream reads the transformed
outputs by the same names, so a rename happens here once.
"""

from __future__ import annotations

# --- posts ------------------------------------------------------------------------------------
TOKENS = "tokens"  # unigrams + bigrams from text_normalise.post_tokens, as a string list
CATEGORICAL_POST_KEYS = ("brand", "product", "category", "region", "source")
RATING = "rating"  # 1..5, missing fed as 0

TOKENS_TOP_K = 20_000  # vocabulary size cap for terms, phrases, hashtags and emoji
TOKENS_FREQUENCY_THRESHOLD = 3  # a token seen fewer times in the window is out of vocabulary
CATEGORICAL_TOP_K = 5_000
# Rating buckets: 0 = no rating, 1 = low (1-2), 2 = middle (3), 3 = high (4-5).
RATING_BOUNDARIES = (0.5, 2.5, 3.5)
TOP_TERMS = 5  # TF-IDF terms kept per post in `features.top_terms`
MISSING_ID = -1  # id of a missing or unseen categorical value

# --- sales ------------------------------------------------------------------------------------
CATEGORICAL_SALE_KEYS = ("product", "category", "region")
SALE_KEY = "product"  # z-scores are per product
SALE_VALUES = ("units", "revenue")


def vocab_name(key: str) -> str:
    """File name of the vocabulary of `key` inside a transform_fn's assets."""
    return f"vocab_{key}"


def id_name(key: str) -> str:
    return f"{key}_id"


def z_name(key: str) -> str:
    return f"{key}_z"


TOKEN_IDS = id_name(TOKENS)
TFIDF_INDEX = "tfidf_index"
TFIDF_WEIGHT = "tfidf_weight"
RATING_BUCKET = "rating_bucket"

# Layout of one analysed version: DIR/<version>/{posts,sales}/ (transform_fn) and metadata.json;
# DIR/LATEST holds the newest version's name.
POSTS_DIR = "posts"
SALES_DIR = "sales"
METADATA_FILE = "metadata.json"
LATEST_FILE = "LATEST"
