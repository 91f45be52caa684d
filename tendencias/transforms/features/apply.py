"""ApplyFeatures: tokens for the trends and TF-Transform features that follow the market.

Every Post gets `tokens` and `hashtags` (text_normalise on `text_clean`: the keys the trends
count), `features` (from the newest analysed transform_fn) and `features_version`, and, when
the version has them, its `topics` and `segments` (the version's topic and segment models).

Hot swap: the DoFn reads DIR/LATEST at most every `refresh_seconds` (a tiny file read, through
Beam's FileSystems, so it works the same on DirectRunner, Prism, Flink and Dataflow) and, when
it names a new version, loads it once per worker process (a module-level cache shared by all
threads and DoFn instances) and applies it from the next batch on: no restart, no side input.
A version that fails to load is logged and counted, and the previous one stays in use (for a
fresh worker: the newest version on disk that loads).

Records are buffered per bundle and transformed in batches (TensorFlow is slow per element);
each keeps its own timestamp and window. Without a transform_dir, or before the first analysis,
records still get tokens and hashtags, with `features` and `features_version` None.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from tendencias.models.text.normalise import post_tokens
from tendencias.records import Post, dead_letter
from tendencias.transforms import coders  # noqa: F401  (registers PostCoder)

STAGE = "features"
KINDS = ("posts", "sales")
_LOG = logging.getLogger(__name__)

# One loaded version per transform_dir per worker process, shared by every DoFn instance and
# thread: loaded once, and kept as the last good one when a newer version fails to load.
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}
_FAILED: set[tuple[str, str]] = set()


def _load(transform_dir: str, version: str) -> Any:
    from tendencias.models.features.store import LoadedVersion

    with _LOCK:
        current = _LOADED.get(transform_dir)
        if current is None or current.version != version:
            current = LoadedVersion(transform_dir, version)
            if _LOADED.get(transform_dir) is None or _LOADED[transform_dir].version < version:
                _LOADED[transform_dir] = current
        return current


def _last_good(transform_dir: str, failed: str) -> Any:
    """The version this process last loaded, else the newest one on disk that loads."""
    from tendencias.models.features import store as transform_store

    with _LOCK:
        if transform_dir in _LOADED:
            return _LOADED[transform_dir]
    for version in reversed(transform_store.list_versions(transform_dir)):
        if version != failed:
            try:
                return _load(transform_dir, version)
            except Exception as err:
                _LOG.warning("cannot load features version %s either: %s", version, err)
    return None


class _MissingInput(ValueError):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _without_raw_text(record: Any) -> dict | str:
    """What a dead letter of this stage may hold: never the unredacted `text`."""
    if isinstance(record, Post):
        record = record.to_dict()
    if not isinstance(record, dict):
        return repr(record)[:1000]
    return {k: v for k, v in record.items() if k != "text"}


def _with(record: Post | dict, **changes: Any) -> Post | dict:
    """A Post (posts) or Sale dict (sales) with `changes`."""
    return record.replace(**changes) if isinstance(record, Post) else dict(record, **changes)


class ApplyFeaturesFn(beam.DoFn):
    DEAD_LETTER = "dead_letter"

    def __init__(self, transform_dir: str | None, refresh_seconds: float, batch_size: int, kind: str):
        self._dir = transform_dir or None
        self._refresh = refresh_seconds
        self._batch_size = batch_size
        self._kind = kind
        self._loaded: Any = None  # transform_store.LoadedVersion in use
        self._next_check = 0.0
        self._buffer: list[tuple[Post | dict, dict, WindowedValue]] = []
        self.applied = Metrics.counter(STAGE, f"{kind}_with_features")
        self.unversioned = Metrics.counter(STAGE, f"{kind}_without_transform_fn")
        self.failed = Metrics.counter(STAGE, "dead_letters")
        self.switches = Metrics.counter(STAGE, "version_switches")
        self.load_failures = Metrics.counter(STAGE, "version_load_failures")
        self.batch_sizes = Metrics.distribution(STAGE, "batch_size")

    def _instance(self, record: Post | dict) -> tuple[Post | dict, dict | None]:
        """The output record so far and its raw features (None without a transform_dir, so
        the tokens-only path never imports TensorFlow)."""
        if self._kind == "posts":
            text = record.get("text_clean")
            if not isinstance(text, str):
                raise _MissingInput(
                    "missing_text_clean", "post has no text_clean (CleanPosts must run first)"
                )
            record = Post.of(record).replace(**post_tokens(text))
        else:
            record = dict(record)
        if self._dir is None:
            return record, None
        from tendencias.models.features.preprocessing import post_instance, sale_instance

        return record, (sale_instance(record) if self._kind == "sales" else post_instance(record))

    def process(
        self,
        record: Post | dict,
        timestamp=beam.DoFn.TimestampParam,
        window=beam.DoFn.WindowParam,
        pane=beam.DoFn.PaneInfoParam,
    ) -> Iterable:
        try:
            out, instance = self._instance(record)
        except (ValueError, TypeError, AttributeError, KeyError) as err:  # RecordError, or not a record
            self.failed.inc()
            yield beam.pvalue.TaggedOutput(
                self.DEAD_LETTER,
                dead_letter(
                    _without_raw_text(record),
                    stage=STAGE,
                    reason=getattr(err, "reason", "bad_record"),
                    error=str(err),
                ),
            )
            return
        if self._dir is None:
            self.unversioned.inc()
            yield _with(out, features=None, features_version=None)
            return
        self._buffer.append((out, instance, WindowedValue(None, timestamp, (window,), pane)))
        if len(self._buffer) >= self._batch_size:
            yield from self._flush()

    def finish_bundle(self) -> Iterable:
        yield from self._flush()

    def teardown(self) -> None:
        self._loaded = None

    def _flush(self) -> Iterable:
        batch, self._buffer = self._buffer, []
        if not batch:
            return
        self._maybe_switch()
        self.batch_sizes.update(len(batch))
        loaded = self._loaded
        if loaded is None:
            self.unversioned.inc(len(batch))
            for out, _, where in batch:
                yield where.with_value(_with(out, features=None, features_version=None))
            return
        try:
            features = self._apply(loaded, [instance for _, instance, _ in batch])
        except Exception:  # one bad record must not fail its batch: apply one by one
            features = None
        meanings = self._meanings(loaded, [out for out, _, _ in batch])
        for index, (out, instance, where) in enumerate(batch):
            if features is not None:
                value = features[index]
            else:
                try:
                    value = self._apply(loaded, [instance])[0]
                except Exception as err:
                    self.failed.inc()
                    yield beam.pvalue.TaggedOutput(
                        self.DEAD_LETTER,
                        where.with_value(
                            dead_letter(
                                _without_raw_text(out),
                                stage=STAGE,
                                reason="transform_failed",
                                error=f"{type(err).__name__}: {err}",
                            )
                        ),
                    )
                    continue
            self.applied.inc()
            yield where.with_value(
                _with(out, features=value, features_version=loaded.version, **meanings[index])
            )

    def _meanings(self, loaded: Any, records: list) -> list[dict]:
        """Posts' topics and segments from the version's models (models/topics, models/segments)."""
        if self._kind != "posts":
            return [{} for _ in records]
        try:
            return loaded.meanings([record.tokens or [] for record in records])
        except Exception as err:  # a post without topics is still a post
            _LOG.warning("cannot assign topics with version %s: %s", loaded.version, err)
            return [{} for _ in records]

    def _apply(self, loaded: Any, instances: list[dict]) -> list:
        return loaded.apply_sales(instances) if self._kind == "sales" else loaded.apply_posts(instances)

    def _maybe_switch(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self._refresh
        from tendencias.models.features import store as transform_store

        try:
            version = transform_store.read_latest(self._dir)
        except OSError as err:
            _LOG.warning("cannot read the LATEST pointer in %s: %s", self._dir, err)
            return
        if version is None or (self._loaded is not None and self._loaded.version == version):
            return
        previous = self._loaded
        try:
            self._loaded = _load(self._dir, version)
        except Exception as err:  # a broken or deleted version: keep the one in use
            self.load_failures.inc()
            self._loaded = previous or _last_good(self._dir, version)
            if (self._dir, version) not in _FAILED:
                _FAILED.add((self._dir, version))
                _LOG.warning(
                    "cannot load features version %s from %s; using %s: %s",
                    version,
                    self._dir,
                    self._loaded.version if self._loaded else None,
                    err,
                )
            return
        if previous is not None:
            self.switches.inc()
            _LOG.info("features version %s -> %s", previous.version, version)


class ApplyFeatures(beam.PTransform):
    """Records -> (`posts` or `sales` with features and features_version; `dead_letter`).

    transform_dir: the `tendencias analyze` output folder (holds LATEST), or None for tokens only.
    refresh_seconds: at most how often the pointer is read; a new version is used within about
    this long (plus its load time) of being written.
    """

    DEAD_LETTER = ApplyFeaturesFn.DEAD_LETTER

    def __init__(
        self,
        transform_dir: str | None = None,
        refresh_seconds: float = 30.0,
        batch_size: int = 256,
        kind: str = "posts",
    ):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if refresh_seconds < 0 or batch_size < 1:
            raise ValueError("refresh_seconds must be >= 0 and batch_size >= 1")
        self.transform_dir = transform_dir or None
        self.refresh_seconds = refresh_seconds
        self.batch_size = batch_size
        self.kind = kind

    def expand(self, records):
        fn = ApplyFeaturesFn(self.transform_dir, self.refresh_seconds, self.batch_size, self.kind)
        typed = beam.ParDo(fn).with_output_types(Post if self.kind == "posts" else dict)
        return records | "ApplyFeatures" >> typed.with_outputs(self.DEAD_LETTER, main=self.kind)
