"""Alerts where people work: a Slack-compatible message and a signed generic webhook.

One message per episode: the episode id of the Trend record is the dedupe key, remembered in
a small SQLite file, so a re-run, a restart or the same alert read twice sends nothing new.
A delivery is retried on 429, 5xx and connection errors with exponential backoff (honouring
Retry-After); an episode is marked sent only once every target took it.
Generic webhook: the JSON body is signed with HMAC-SHA256 over "<timestamp>.<body>" under
TENDENCIAS_WEBHOOK_SECRET, sent as `X-Tendencias-Signature: t=<timestamp>,v1=<hex>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

SIGNATURE_HEADER = "X-Tendencias-Signature"


def slack_message(trend: dict, dashboard_url: str = "") -> dict:
    """Slack's incoming-webhook JSON (text plus blocks). Post texts are not sent: only numbers."""
    title = (
        f":rotating_light: Sube «{trend['key']}» ({trend['kind']}, {trend.get('segment') or 'todo el país'})"
    )
    detail = (
        f"{trend.get('count')} publicaciones en {trend.get('horizon')} (lo habitual {trend.get('baseline')}), "
        f"puntaje {trend.get('score')}, sentimiento {trend.get('sentiment')}"
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{detail}"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": str(trend.get("explanation") or "")[:300]}],
        },
    ]
    if dashboard_url:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{dashboard_url}|Ver en Tendencias>"}}
        )
    return {"text": f"{title}: {detail}", "blocks": blocks}


def generic_message(trend: dict) -> dict:
    keep = ("kind", "key", "horizon", "segment", "window_start", "window_end", "count", "baseline", "score")
    return {
        "type": "tendencias.alert",
        "episode": trend.get("episode"),
        "trend": {k: trend.get(k) for k in keep},
    }


def sign(body: bytes, secret: str, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(body: bytes, header: str, secret: str, tolerance_s: int = 300, now: float | None = None) -> bool:
    """What a receiver runs: the signature matches and is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(body, secret, timestamp), header)


@dataclass
class Target:
    name: str  # "slack" or "webhook"
    url: str
    secret: str = ""


class SentEpisodes:
    """Episodes already delivered (SQLite, survives restarts)."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS sent (episode TEXT PRIMARY KEY, at REAL NOT NULL)")

    def __contains__(self, episode: str) -> bool:
        return self._db.execute("SELECT 1 FROM sent WHERE episode = ?", (episode,)).fetchone() is not None

    def add(self, episode: str) -> None:
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO sent VALUES (?, ?)", (episode, time.time()))


class DeliveryError(RuntimeError):
    pass


def post_with_retries(
    client: httpx.Client,
    target: Target,
    payload: dict,
    *,
    attempts: int = 5,
    base_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POSTs `payload` to `target`; returns the attempts used, raises DeliveryError at the end."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    last = ""
    for attempt in range(1, attempts + 1):
        headers = {"Content-Type": "application/json"}
        if target.secret:
            headers[SIGNATURE_HEADER] = sign(body, target.secret, int(time.time()))
        try:
            response = client.post(target.url, content=body, headers=headers)
        except httpx.HTTPError as err:
            last, wait = f"{type(err).__name__}", None
        else:
            if response.status_code < 300:
                return attempt
            last = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                raise DeliveryError(f"{target.name}: {last} (not retryable)")
            retry_after = response.headers.get("retry-after", "")
            wait = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
        if attempt < attempts:
            sleep(min(30.0, wait if wait is not None else base_s * 2 ** (attempt - 1)))
    raise DeliveryError(f"{target.name}: {last} after {attempts} attempts")


def deliver(
    alerts: list[dict], targets: list[Target], sent: SentEpisodes, dashboard_url: str = "", **retry
) -> dict:
    """Sends each new alert episode to every target once; returns counts."""
    out = {"sent": 0, "skipped": 0, "failed": 0, "attempts": 0}
    with httpx.Client(timeout=10) as client:
        for trend in alerts:
            episode = trend.get("episode") or f"{trend['kind']}:{trend['key']}@{trend['window_end']}"
            if trend.get("severity") != "alert" or episode in sent:
                out["skipped"] += 1
                continue
            try:
                for target in targets:
                    payload = (
                        slack_message(trend, dashboard_url)
                        if target.name == "slack"
                        else generic_message(trend)
                    )
                    out["attempts"] += post_with_retries(client, target, payload, **retry)
            except DeliveryError:
                out["failed"] += 1
                continue
            sent.add(episode)
            out["sent"] += 1
    return out
