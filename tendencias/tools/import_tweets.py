"""`tendencias import`: turn a public tweet export (CSV) into posts JSONL, to replay real data.

    tendencias import --input tweets.csv --output posts.jsonl
    tendencias import --input labeled.csv --ids-csv ids_with_times.csv --output posts.jsonl --lang es

Columns are found by name, ignoring case, spaces, "_" and "-": the id ("Tweet ID", "tweet_id",
"id", ...), the text ("Tweet Text", "text", "full_text", ...) and, if present, the time
("Timestamp", "created_at", "date", ...). A post's time comes from its own row, else from
--ids-csv (ids with timestamps), else from the tweet id itself (ids since late 2010 carry their
creation time: ms = (id >> 22) + 1288834974657). Rows without an id, a text or a time are
skipped and counted by reason; each written line is a valid Post (records.parse_post), in time
order, one per id.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tendencias.errors import UsageError
from tendencias.records import POST_SOURCES, RecordError, parse_post, parse_time_ms

TWITTER_EPOCH_MS = 1288834974657
MIN_SNOWFLAKE_ID = 1 << 32  # smaller ids predate Snowflake and carry no time
ID_COLUMNS = ("tweetid", "id", "idstr", "statusid", "postid")
TEXT_COLUMNS = ("tweettext", "text", "fulltext", "content", "tweet", "message", "body")
TIME_COLUMNS = ("timestamp", "createdat", "time", "date", "datetime", "tweettime", "postedat")
_TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Sun Sep 16 06:07:51 +0000 2012"


def normalise_header(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lstrip("\ufeff").casefold())


def find_column(headers: list[str], candidates: tuple[str, ...]) -> int | None:
    normalised = [normalise_header(h) for h in headers]
    for candidate in candidates:
        if candidate in normalised:
            return normalised.index(candidate)
    return None


def snowflake_time_ms(tweet_id: str) -> int | None:
    """Creation time carried by a tweet id, or None for ids older than Snowflake."""
    if not tweet_id.isdigit() or int(tweet_id) < MIN_SNOWFLAKE_ID:
        return None
    return (int(tweet_id) >> 22) + TWITTER_EPOCH_MS


def parse_time(value: str) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return int(datetime.strptime(text, _TWITTER_TIME).timestamp() * 1000)
    except ValueError:
        pass
    try:
        return parse_time_ms(text, "time")
    except RecordError:
        return None


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise UsageError(f"{path} is empty")
    return rows[0], rows[1:]


def read_id_times(path: Path) -> dict[str, int]:
    headers, rows = _rows(path)
    id_col, time_col = find_column(headers, ID_COLUMNS), find_column(headers, TIME_COLUMNS)
    if id_col is None or time_col is None:
        raise UsageError(f"{path} needs an id and a time column; its columns are {headers}")
    times = {}
    for row in rows:
        if len(row) > max(id_col, time_col) and (ms := parse_time(row[time_col])) is not None:
            times[row[id_col].strip()] = ms
    return times


def import_tweets(
    input_path: Path, ids_path: Path | None, source: str, lang: str | None
) -> tuple[list[dict], Counter]:
    """The posts of the export, time-ordered, and counts of what happened to each row."""
    headers, rows = _rows(input_path)
    id_col, text_col = find_column(headers, ID_COLUMNS), find_column(headers, TEXT_COLUMNS)
    time_col = find_column(headers, TIME_COLUMNS)
    if id_col is None:
        raise UsageError(
            f"{input_path}: no id column (looked for {', '.join(ID_COLUMNS)}); columns: {headers}"
        )
    if text_col is None:
        raise UsageError(
            f"{input_path}: no text column (looked for {', '.join(TEXT_COLUMNS)}); columns: {headers}. "
            "A CSV of ids only cannot make posts: pass it as --ids-csv beside an export with texts"
        )
    id_times = read_id_times(ids_path) if ids_path else {}
    counts: Counter = Counter(rows=len(rows))
    posts: dict[str, dict] = {}
    for row in rows:
        tweet_id = row[id_col].strip() if len(row) > id_col else ""
        text = row[text_col] if len(row) > text_col else ""
        if not tweet_id:
            counts["skipped_no_id"] += 1
            continue
        if tweet_id in posts:
            counts["skipped_duplicate"] += 1
            continue
        ms = parse_time(row[time_col]) if time_col is not None and len(row) > time_col else None
        origin = "row"
        if ms is None and tweet_id in id_times:
            ms, origin = id_times[tweet_id], "ids_csv"
        if ms is None:
            ms, origin = snowflake_time_ms(tweet_id), "tweet_id"
        if ms is None:
            counts["skipped_no_time"] += 1
            continue
        post = {"id": tweet_id, "text": text, "created_at": _rfc3339(ms), "source": source}
        if lang:
            post["lang"] = lang
        try:
            parse_post(json.dumps(post, ensure_ascii=False).encode("utf-8"))
        except RecordError as err:
            counts[f"skipped_{err.reason}"] += 1
            continue
        posts[tweet_id] = post
        counts[f"time_from_{origin}"] += 1
    ordered = sorted(posts.values(), key=lambda p: (p["created_at"], p["id"]))
    counts["written"] = len(ordered)
    return ordered, counts


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tendencias import", description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True, help="CSV export with tweet ids and texts")
    parser.add_argument(
        "--ids-csv",
        type=Path,
        default=None,
        help="CSV of tweet ids with timestamps, for rows whose own time is missing",
    )
    parser.add_argument("--output", type=Path, required=True, help="posts JSONL to write (replaced)")
    parser.add_argument(
        "--source", type=str, default="twitter", choices=POST_SOURCES, help="source of every post"
    )
    parser.add_argument(
        "--lang",
        type=str,
        default=None,
        help="language of every post (es, en, ...); default: detected later by the pipeline",
    )
    args = parser.parse_args(argv)
    try:
        posts, counts = import_tweets(args.input, args.ids_csv, args.source, args.lang)
    except UsageError as err:
        print(f"tendencias import: {err}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in posts)
    span = f", {posts[0]['created_at']} .. {posts[-1]['created_at']}" if posts else ""
    print(f"read {counts['rows']} rows, wrote {counts['written']} posts to {args.output}{span}")
    for name, n in sorted(counts.items()):
        if name not in ("rows", "written"):
            print(f"  {name}: {n}")
    return 0 if posts else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
