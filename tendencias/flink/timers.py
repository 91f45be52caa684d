"""When a keyed function's event-time timer fires, what is due."""

from __future__ import annotations


def due_by(timestamp: int, ctx) -> int:
    """The instant up to which a key's waiting state is due: the timer's, or the watermark when
    it is further on. A restored PyFlink job can lack timers its state had registered (those of
    the last bundle before the checkpoint), and passes the watermark on before those waiting
    posts come out later; taking everything behind the watermark at the first timer that fires
    keeps them on time downstream."""
    return max(timestamp, ctx.timer_service().current_watermark())
