"""Chart.js configurations, built here and sent to the page as a JSON data block: the browser's
script (static/charts.js) only hands them to Chart.js, so no page needs inline script and the
Content-Security-Policy stays strict. Labels are post-derived text: Chart.js draws them on a
canvas (never as HTML), and the JSON block is escaped by Jinja's `tojson`."""

from __future__ import annotations

PALETTE = ("#c0392b", "#2471a3", "#229954", "#d68910", "#7d3c98", "#17a589", "#a04000", "#2e4053")


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _time_axis(title: str) -> dict:
    return {"title": {"display": True, "text": title}, "ticks": {"maxRotation": 0, "autoSkip": True}}


def volume_and_sentiment(points: list[dict]) -> dict:
    """One key's windows: posts against the usual, and sentiment on its own axis."""
    labels = [p["window_end"][:16].replace("T", " ") for p in points]
    return {
        "type": "line",
        "data": {
            "labels": labels,
            "datasets": [
                {
                    "label": "Publicaciones",
                    "data": [p["count"] for p in points],
                    "borderColor": _colour(0),
                    "yAxisID": "y",
                },
                {
                    "label": "Lo habitual",
                    "data": [p["baseline"] for p in points],
                    "borderColor": "#7f8c8d",
                    "borderDash": [4, 4],
                    "yAxisID": "y",
                },
                {
                    "label": "Sentimiento",
                    "data": [p["sentiment"] for p in points],
                    "borderColor": _colour(1),
                    "yAxisID": "s",
                },
            ],
        },
        "options": _options(
            {
                "x": _time_axis("fin de ventana (UTC)"),
                "y": {"beginAtZero": True, "title": {"display": True, "text": "publicaciones"}},
                "s": _sentiment_axis("right"),
            }
        ),
    }


def _sentiment_axis(position: str = "left") -> dict:
    return {
        "position": position,
        "min": -1,
        "max": 1,
        "grid": {"drawOnChartArea": position == "left"},
        "title": {"display": True, "text": "sentimiento (−1 a +1)"},
    }


def _options(scales: dict) -> dict:
    return {
        "animation": False,
        "maintainAspectRatio": False,
        "interaction": {"mode": "index", "intersect": False},
        "spanGaps": True,
        "scales": scales,
    }


def lines_per_key(
    rows: list[dict], value: str, x: str, axis: dict, x_title: str, top: int = 8, label_chars: int = 16
) -> dict:
    """One line per key (the `top` with most posts), `value` over `x`; gaps where a key is silent."""
    xs = sorted({r[x] for r in rows})
    weight: dict[str, float] = {}
    for r in rows:
        weight[r["key"]] = weight.get(r["key"], 0) + (r.get("posts") or r.get("count") or 0)
    keys = sorted(weight, key=lambda k: (-weight[k], k))[:top]
    by = {(r["key"], r[x]): r.get(value) for r in rows}
    return {
        "type": "line",
        "data": {
            "labels": [v[:label_chars].replace("T", " ") for v in xs],
            "datasets": [
                {
                    "label": k,
                    "data": [by.get((k, v)) for v in xs],
                    "borderColor": _colour(i),
                    "backgroundColor": _colour(i),
                }
                for i, k in enumerate(keys)
            ],
        },
        "options": _options({"x": _time_axis(x_title), "y": axis}),
    }


def sentiment_lines(rows: list[dict], bucket: str) -> dict:
    return lines_per_key(
        rows, "sentiment", "bucket", _sentiment_axis(), "día (UTC)" if bucket == "day" else "hora (UTC)"
    )


def posts_lines(rows: list[dict], bucket: str) -> dict:
    axis = {"beginAtZero": True, "title": {"display": True, "text": "publicaciones"}}
    return lines_per_key(rows, "posts", "bucket", axis, "día (UTC)" if bucket == "day" else "hora (UTC)")


def chatter_against_sales(days: list[dict]) -> dict:
    """Units sold (bars) and posts (line) per day, each on its own axis."""
    return {
        "type": "bar",
        "data": {
            "labels": [d["day"][:10] for d in days],
            "datasets": [
                {
                    "type": "bar",
                    "label": "Unidades vendidas",
                    "data": [d["units"] for d in days],
                    "backgroundColor": "#aed6f1",
                    "yAxisID": "u",
                },
                {
                    "type": "line",
                    "label": "Publicaciones",
                    "data": [d["posts"] for d in days],
                    "borderColor": _colour(0),
                    "backgroundColor": _colour(0),
                    "yAxisID": "p",
                },
            ],
        },
        "options": _options(
            {
                "x": _time_axis("día (UTC)"),
                "u": {
                    "position": "left",
                    "beginAtZero": True,
                    "title": {"display": True, "text": "unidades"},
                },
                "p": {
                    "position": "right",
                    "beginAtZero": True,
                    "grid": {"drawOnChartArea": False},
                    "title": {"display": True, "text": "publicaciones"},
                },
            }
        ),
    }


def topic_lines(rows: list[dict]) -> dict:
    axis = {"beginAtZero": True, "title": {"display": True, "text": "publicaciones"}}
    return lines_per_key(rows, "count", "window_end", axis, "fin de ventana (UTC)")
