"""Topics of the window of history: fitted by `tendencias analyze` beside the transform_fn, read
by the stream (each post gets its topic, a trend key of kind "topic").

Documents are the posts' tokens over the TF-Transform vocabulary of the same version (terms,
phrases, hashtags and emoji seen at least --min_frequency times), weighted by TF-IDF as
`tft.tfidf` weighs them: term frequency over the document's length times
1 + log((1 + N) / (1 + document frequency)). Three models of those vectors were compared by
benchmarks/bench_topics.py (coherence and stability, see README): NMF, LDA (on counts) and
k-means; the analysis fits the method and sizes that `select` picks by the same numbers.

- Coherence: mean NPMI of each topic's top words over pairs of them, from the documents that
  hold both (-1 never together, 0 independent, 1 always together).
- Stability: topics of two analyses matched one to one (Hungarian, on the Jaccard index of their
  top words); the mean index of the matched pairs.
- Identity: a new analysis's topics take the ids of the previous one's they match (Jaccard at
  least MATCH_JACCARD), so a topic's trend history (its baseline) carries over; the others get
  new ids.

A post's topic is the one whose (L2-normalised) top-word profile is closest to its TF-IDF
vector, when the cosine is at least `min_similarity`; a post about nothing the window talked
about gets none. Stored as plain data (topics.json, topics.npz), no pickle.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

METHODS = ("nmf", "lda", "kmeans")
TOP_WORDS = 10
MATCH_JACCARD = 0.2  # top-word overlap from which a new topic is the old one
MIN_SIMILARITY = 0.2  # cosine of a post to its topic's profile
TOPICS_JSON, TOPICS_NPZ = "topics.json", "topics.npz"
FORMAT = 1


def document_counts(docs: Sequence[Sequence[str]], vocabulary: Sequence[str]) -> sparse.csr_matrix:
    """Token counts of each document over `vocabulary` (tokens outside it are left out)."""
    index = {term: i for i, term in enumerate(vocabulary)}
    rows, cols = [], []
    for row, tokens in enumerate(docs):
        for token in tokens:
            col = index.get(token)
            if col is not None:
                rows.append(row)
                cols.append(col)
    data = np.ones(len(rows), dtype=np.float32)
    counts = sparse.csr_matrix((data, (rows, cols)), shape=(len(docs), len(vocabulary)), dtype=np.float32)
    counts.sum_duplicates()
    return counts


def idf_of(counts: sparse.csr_matrix) -> np.ndarray:
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    return (1.0 + np.log((1.0 + counts.shape[0]) / (1.0 + df))).astype(np.float32)


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """tft.tfidf's weights: count / document length x idf."""
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    scale = sparse.diags(1.0 / np.maximum(lengths, 1.0))
    return sparse.csr_matrix(scale @ counts @ sparse.diags(idf))


def _unit_rows(matrix) -> np.ndarray | sparse.csr_matrix:
    if sparse.issparse(matrix):
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        return sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def fit_components(
    counts: sparse.csr_matrix, idf: np.ndarray, method: str, k: int, seed: int = 0
) -> np.ndarray:
    """(k, vocabulary) non-negative topic profiles of `method`."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import NMF, LatentDirichletAllocation

    if method not in METHODS:
        raise ValueError(f"topic method must be one of {', '.join(METHODS)}, got {method!r}")
    k = max(1, min(k, counts.shape[0] - 1))
    if method == "lda":
        model = LatentDirichletAllocation(k, learning_method="batch", max_iter=30, random_state=seed)
        return model.fit(counts).components_.astype(np.float32)
    vectors = tfidf(counts, idf)
    if method == "nmf":
        return (
            NMF(k, init="nndsvd", max_iter=400, random_state=seed).fit(vectors).components_.astype(np.float32)
        )
    model = KMeans(k, n_init=3, random_state=seed).fit(_unit_rows(vectors))
    return np.maximum(model.cluster_centers_, 0).astype(np.float32)


def top_words(components: np.ndarray, vocabulary: Sequence[str], n: int = TOP_WORDS) -> list[list[str]]:
    out = []
    for row in components:
        order = np.argsort(-row, kind="stable")[:n]
        out.append([vocabulary[i] for i in order if row[i] > 0])
    return out


def label_of(words: Sequence[str], n: int = 3) -> str:
    """A topic's name from its top words: the first `n` that another shown word does not hold
    ("sin azucar" covers "azucar")."""
    shown: list[str] = []
    for word in words:
        if not any(word in w.split() or w in word.split() for w in shown):
            shown.append(word)
        if len(shown) == n:
            break
    return " · ".join(shown)


def npmi(topics: Iterable[Sequence[str]], docs: Sequence[Iterable[str]]) -> float:
    """Mean NPMI over the topics of their top words' pairs, from document co-occurrence."""
    sets = [set(d) for d in docs]
    n = len(sets)
    if not n:
        return 0.0
    frequency: dict[str, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    topics = [list(t) for t in topics]
    wanted = {w for t in topics for w in t}
    for tokens in sets:
        present = sorted(wanted & tokens)
        for w in present:
            frequency[w] = frequency.get(w, 0) + 1
        for i, a in enumerate(present):
            for b in present[i + 1 :]:
                pairs[(a, b)] = pairs.get((a, b), 0) + 1
    scores = []
    for words in topics:
        values = []
        for i, a in enumerate(words):
            for b in words[i + 1 :]:
                both = pairs.get((min(a, b), max(a, b)), 0)
                if not both:
                    values.append(-1.0)
                    continue
                p_ab, p_a, p_b = both / n, frequency[a] / n, frequency[b] / n
                values.append(1.0 if p_ab >= 1.0 else math.log(p_ab / (p_a * p_b)) / -math.log(p_ab))
        if values:
            scores.append(sum(values) / len(values))
    return float(np.mean(scores)) if scores else 0.0


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 0.0


def match_topics(new: Sequence[Sequence[str]], old: Sequence[Sequence[str]]) -> list[tuple[int, int, float]]:
    """One-to-one (new index, old index, Jaccard) pairs that maximise the total overlap."""
    from scipy.optimize import linear_sum_assignment

    if not new or not old:
        return []
    overlap = np.array([[jaccard(a, b) for b in old] for a in new])
    rows, cols = linear_sum_assignment(-overlap)
    return [(int(r), int(c), float(overlap[r, c])) for r, c in zip(rows, cols, strict=True)]


def stability(a: Sequence[Sequence[str]], b: Sequence[Sequence[str]]) -> float:
    """Mean Jaccard of the matched topics of two analyses (1: the same topics)."""
    pairs = match_topics(a, b)
    return float(np.mean([j for _, _, j in pairs])) if pairs else 0.0


@dataclass
class TopicModel:
    method: str
    vocabulary: list[str]
    idf: np.ndarray  # (V,)
    components: np.ndarray  # (k, V), non-negative
    ids: list[str]
    words: list[list[str]]  # top words per topic
    labels: list[str]
    min_similarity: float = MIN_SIMILARITY
    numbers: dict = field(default_factory=dict)  # coherence, stability, coverage, the candidates

    def __post_init__(self):
        self._index = {term: i for i, term in enumerate(self.vocabulary)}
        self._profiles = _unit_rows(np.asarray(self.components, dtype=np.float32))

    def label(self, topic_id: str) -> str | None:
        return dict(zip(self.ids, self.labels, strict=True)).get(topic_id)

    def similarities(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """(len(docs), k) cosines of each document's TF-IDF vector to each topic's profile."""
        counts = document_counts(docs, self.vocabulary)
        vectors = _unit_rows(tfidf(counts, self.idf))
        return np.asarray(vectors @ self._profiles.T)

    def assign(self, docs: Sequence[Sequence[str]]) -> list[list[str]]:
        """Each document's topic (a list of one id, or empty)."""
        if not docs or not self.ids:
            return [[] for _ in docs]
        sims = self.similarities(docs)
        best = sims.argmax(axis=1)
        return [[self.ids[b]] if sims[i, b] >= self.min_similarity else [] for i, b in enumerate(best)]

    def with_identity(self, previous: TopicModel | None) -> TopicModel:
        """This model with the ids of `previous`'s topics it matches, new ids for the rest."""
        if previous is None:
            return self
        ids = [""] * len(self.ids)
        matched = 0
        for new, old, overlap in match_topics(self.words, previous.words):
            if overlap >= MATCH_JACCARD:
                ids[new] = previous.ids[old]
                matched += 1
        taken = {*previous.ids, *ids}
        counter = max((int(i[1:]) for i in taken if i[1:].isdigit()), default=0)
        for i, current in enumerate(ids):
            if not current:
                counter += 1
                ids[i] = f"t{counter}"
        self.ids = ids
        self.numbers["matched_previous"] = matched
        self.numbers["stability_previous"] = round(stability(self.words, previous.words), 4)
        return self

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "method": self.method,
            "ids": self.ids,
            "labels": self.labels,
            "words": self.words,
            "min_similarity": self.min_similarity,
            "numbers": self.numbers,
            "vocabulary": self.vocabulary,
        }
        (folder / TOPICS_JSON).write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        np.savez_compressed(folder / TOPICS_NPZ, idf=self.idf, components=self.components)

    @classmethod
    def load(cls, folder: str | Path) -> TopicModel | None:
        """The model saved in `folder`, or None when the version has no topics."""
        folder = Path(folder)
        if not (folder / TOPICS_JSON).is_file():
            return None
        meta = json.loads((folder / TOPICS_JSON).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"unsupported topics format {meta.get('format')!r} in {folder}")
        with np.load(folder / TOPICS_NPZ, allow_pickle=False) as arrays:
            idf, components = arrays["idf"], arrays["components"]
        return cls(
            meta["method"],
            meta["vocabulary"],
            idf,
            components,
            meta["ids"],
            meta["words"],
            meta["labels"],
            meta["min_similarity"],
            meta.get("numbers", {}),
        )


def fit_topic_model(
    docs: Sequence[Sequence[str]], vocabulary: Sequence[str], method: str, k: int, seed: int = 0
) -> TopicModel:
    """A topic model of `docs` over `vocabulary`, with its coherence and coverage measured."""
    counts = document_counts(docs, vocabulary)
    idf = idf_of(counts)
    components = fit_components(counts, idf, method, k, seed)
    words = top_words(components, vocabulary)
    model = TopicModel(
        method,
        list(vocabulary),
        idf,
        components,
        [f"t{i + 1}" for i in range(len(words))],
        words,
        [label_of(w) for w in words],
    )
    covered = sum(1 for t in model.assign(docs) if t) / max(1, len(docs))
    model.numbers.update(k=len(words), npmi=round(npmi(words, docs), 4), coverage=round(covered, 4))
    return model
