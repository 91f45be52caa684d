"""Where a trend is in its life, on every Trend record (`stage`), from what the score already knows.

- emerging: its alert just opened an episode, or, outside one, it is notably above its usual
  (severity watch) and rising;
- growing: in an episode and rising;
- peaking: in an episode (or notably above its usual) and level;
- declining: in an episode (or notably above its usual) and falling;
- ended: the episode just ended;
- stable: none of these, at about its usual level (brands, regions and the like get a record
  every window they occur).

Rising and falling compare the window with the one a period earlier (`growth`): more than
LEVEL up or down.
"""

from __future__ import annotations

STAGES = ("emerging", "growing", "peaking", "declining", "ended", "stable")
LEVEL = 0.2  # growth within +-20% is level


def lifecycle_stage(status: str | None, severity: str, growth: float, in_episode: bool) -> str:
    if status == "ended":
        return "ended"
    if status == "new":
        return "emerging"
    if not in_episode and severity == "info":
        return "stable"
    if growth > LEVEL:
        return "growing" if in_episode else "emerging"
    if growth < -LEVEL:
        return "declining"
    return "peaking"
