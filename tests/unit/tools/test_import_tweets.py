"""`tendencias import`: tweet exports (CSV) to posts JSONL, on small CSVs written here and on
the Costa Rica files of the shared data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tendencias.records import parse_post
from tendencias.tools.import_tweets import main, snowflake_time_ms

# A Snowflake id made for 2012-09-05T14:42:00.000Z: ((ms - epoch) << 22) plus a worker/sequence.
ONSET_MS = 1346856120000
ONSET_ID = str(((ONSET_MS - 1288834974657) << 22) + 12345)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str) -> tuple[int, list[dict]]:
    out = tmp_path / "posts.jsonl"
    code = main([*args, "--output", str(out)])
    posts = [json.loads(line) for line in out.open(encoding="utf-8")] if out.exists() else []
    return code, posts


def test_time_comes_from_the_tweet_id():
    assert snowflake_time_ms(ONSET_ID) == ONSET_MS
    assert snowflake_time_ms("12345") is None  # older than Snowflake: no time inside


def test_headers_with_spaces_and_case_and_time_from_the_id(tmp_path, capsys):
    csv_path = write(
        tmp_path / "t.csv",
        f'Tweet ID, Tweet Text, Informativeness\n"{ONSET_ID}","¡Fuerte sismo!, todos bien?",Related\n',
    )
    code, posts = run(tmp_path, "--input", str(csv_path), "--lang", "es")
    assert code == 0
    assert posts == [
        {
            "id": ONSET_ID,
            "text": "¡Fuerte sismo!, todos bien?",
            "created_at": "2012-09-05T14:42:00.000Z",
            "source": "twitter",
            "lang": "es",
        }
    ]
    assert "wrote 1 posts" in capsys.readouterr().out


def test_row_time_wins_then_ids_csv_then_id(tmp_path):
    export = write(
        tmp_path / "e.csv",
        "tweet_id,text,created_at\n"
        "1001,con hora propia,2024-03-01T10:00:00Z\n"
        "1002,hora del otro archivo,\n"
        f"{ONSET_ID},hora del id,\n"
        "1003,sin hora,\n",
    )
    ids = write(
        tmp_path / "ids.csv",
        'Timestamp, Tweet-ID, Included(Y/N)\n"Sun Sep 16 06:07:51 +0000 2012","1002",Y\n',
    )
    code, posts = run(tmp_path, "--input", str(export), "--ids-csv", str(ids))
    assert code == 0
    by_id = {p["id"]: p["created_at"] for p in posts}
    assert by_id == {
        "1001": "2024-03-01T10:00:00.000Z",
        "1002": "2012-09-16T06:07:51.000Z",
        ONSET_ID: "2012-09-05T14:42:00.000Z",
    }  # 1003: no time anywhere, skipped
    assert [p["id"] for p in posts] == [ONSET_ID, "1002", "1001"]  # time order


def test_duplicates_and_empty_texts_are_skipped_and_counted(tmp_path, capsys):
    export = write(
        tmp_path / "e.csv", f"id,text\n{ONSET_ID},hola\n{ONSET_ID},hola otra vez\n{int(ONSET_ID) + 1},   \n"
    )
    code, posts = run(tmp_path, "--input", str(export))
    assert [p["text"] for p in posts] == ["hola"]
    out = capsys.readouterr().out
    assert "skipped_duplicate: 1" in out and "skipped_missing_text: 1" in out


def test_every_line_is_a_valid_post(tmp_path):
    export = write(
        tmp_path / "e.csv",
        "ID,Text\n"
        + "".join(
            f'{int(ONSET_ID) + (i << 22)},"post número {i}, con ""comillas""\nen dos líneas"\n'
            for i in range(5)
        ),
    )
    code, posts = run(tmp_path, "--input", str(export), "--source", "other")
    assert code == 0 and len(posts) == 5
    for post in posts:
        parsed = parse_post(json.dumps(post).encode())
        assert parsed["source"] == "other" and "\n" in parsed["text"]


@pytest.mark.parametrize(
    "content,message",
    [
        ("tweet_id\n1001\n", "no text column"),
        ("text\nhola\n", "no id column"),
    ],
)
def test_missing_columns_are_clear_errors(tmp_path, capsys, content, message):
    code, _ = run(tmp_path, "--input", str(write(tmp_path / "bad.csv", content)))
    assert code == 2 and message in capsys.readouterr().err


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    code, _ = run(tmp_path, "--input", str(tmp_path / "nope.csv"))
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_costa_rica_export(shared_data, tmp_path):
    folder = shared_data / "trends" / "crisislex_costa_rica"
    labeled = next(folder.glob("*tweets_labeled.csv"))
    ids = next(folder.glob("*tweetids_entire_period.csv"))
    code, posts = run(tmp_path, "--input", str(labeled), "--ids-csv", str(ids))
    assert code == 0
    assert 1300 <= len(posts) <= 1412  # one per id with a text
    times = [p["created_at"] for p in posts]
    assert times == sorted(times) and times[0].startswith("2012-09") and times[-1].startswith("2012-09")
    onset_hour = [t for t in times if t.startswith("2012-09-05T14") or t.startswith("2012-09-05T15")]
    assert len(onset_hour) > 300  # the burst after the 14:42 UTC onset
    for post in posts[:50]:
        parse_post(json.dumps(post).encode())
