"""The files of the backfill contract (DIR/trends.jsonl, dead_letters.txt, summary.json), from
the shards a job wrote under DIR/_work. Beam-free, so the Flink backfill writes the same files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tendencias.records import is_alert


def to_json(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def finish(output: Path) -> dict:
    """Merges the shards into the files of the contract, trends ordered by window end."""
    work = output / "_work"
    trends = [
        json.loads(line) for part in sorted(work.glob("trends*.part")) for line in part.open(encoding="utf-8")
    ]
    trends.sort(
        key=lambda t: (
            t.get("window_end", ""),
            -float(t.get("score") or 0),
            t.get("kind", ""),
            t.get("key", ""),
        )
    )
    with open(output / "trends.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(to_json(t) + "\n" for t in trends)
    dead = [line for part in sorted(work.glob("dead*.part")) for line in part.open(encoding="utf-8")]
    with open(output / "dead_letters.txt", "w", encoding="utf-8") as handle:
        handle.writelines(dead)
    shutil.rmtree(work)
    reasons: dict[str, int] = {}
    for line in dead:
        reason = json.loads(line).get("reason", "unknown")
        reasons[reason] = reasons.get(reason, 0) + 1
    summary = {
        "trends": len(trends),
        "alerts": sum(map(is_alert, trends)),
        "dead_letters": len(dead),
        "dead_letter_reasons": reasons,
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
