"""Lifecycle stages of trend records (models/trends/lifecycle.py), and that a scored episode
goes through them in order."""

from __future__ import annotations

import pytest

from tendencias.models.trends.baseline import BaselineParams, KeyHistory
from tendencias.models.trends.explain import trend_record
from tendencias.models.trends.scoring import SeverityParams, WindowInput, score_window
from tendencias.models.trends.stats import WindowStats, post_mark


@pytest.mark.parametrize(
    ("status", "severity", "growth", "in_episode", "stage"),
    [
        ("new", "alert", 3.0, True, "emerging"),
        ("ongoing", "watch", 0.5, True, "growing"),
        ("ongoing", "watch", 0.0, True, "peaking"),
        ("ongoing", "watch", -0.5, True, "declining"),
        ("ended", "info", -0.9, False, "ended"),
        (None, "watch", 0.6, False, "emerging"),
        (None, "watch", -0.6, False, "declining"),
        (None, "info", 2.0, False, "stable"),
    ],
)
def test_stages(status, severity, growth, in_episode, stage):
    from tendencias.models.trends.lifecycle import lifecycle_stage

    assert lifecycle_stage(status, severity, growth, in_episode) == stage


def test_an_episode_emerges_grows_declines_and_ends():
    period, t0 = 300_000, 1_767_225_600_000
    history, params = KeyHistory(), BaselineParams(period, 7 * 86_400_000, size_ms=period)
    severity = SeverityParams(warmup_ms=0, end_after=2)
    stages, previous = [], 0
    for step, n in enumerate([0] * 30 + [6, 12, 12, 4, 0, 0, 0]):
        end = t0 + (step + 1) * period
        stats = WindowStats()
        for i in range(n):
            stats.add(
                post_mark({"id": f"{step}-{i}", "author": f"a{i}", "tokens": [f"w{i}"], "text_clean": "x"})
            )
        w = WindowInput(end, stats, stats, ((end, 100.0),), 100.0, (100.0,) * 24, t0, previous)
        scored = score_window(history, w, params, severity)
        previous = n
        record = trend_record(
            "term", "chicha", scored, stats, horizon="5m", size_ms=period, tz="America/Lima"
        )
        if step >= 30:
            stages.append(record["stage"])
    assert stages[:4] == ["emerging", "growing", "peaking", "declining"], stages
    assert "ended" in stages
