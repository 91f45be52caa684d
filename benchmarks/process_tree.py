"""A process and its descendants, read from /proc: what a benchmark's child uses (a job, the
Prism runner it starts, its SDK workers), for benchmarks that measure a command whole."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def descendants(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def usage(pids: list[int]) -> tuple[float, dict[int, tuple[str, float]]]:
    """(resident memory of `pids` together in MiB, {pid: (program name, CPU seconds so far)})."""
    rss, cpu = 0.0, {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            cpu[pid] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
            rss += int(fields[21]) * PAGE_MIB
        except (OSError, ValueError, IndexError):
            continue
    return rss, cpu


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, MiB."""
    return usage(descendants(pid))[0]


def stop(process: subprocess.Popen, grace: float = 30) -> None:
    """Terminates `process`, killed if it is still there after `grace` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
