"""CPU seconds spent by process trees and by the whole machine, read from ``/proc``.

A shared machine's wall-clock figures drift with what else runs; CPU time does not: the
benchmarks report, beside each rate, how much CPU the server, PostgreSQL and the load
generator took, and how busy the machine was in all (the rest is other people's work).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of ``root`` and its live descendants, with what their
    waited-for children used (``cutime``/``cstime``)."""
    total = 0
    for pid in descendants(root):
        fields = _stat(pid)
        if fields is not None:
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def postmaster_pid(url: str) -> int | None:
    """The embedded server's postmaster, from the socket directory in its URL."""
    if "host=/" not in url:
        return None
    pgdata = Path(url.split("host=", 1)[1].split("&", 1)[0].replace("%2F", "/"))
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return None


@dataclass
class Machine:
    busy: float  # CPU seconds spent on anything, all cores
    idle: float


def machine() -> Machine:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return Machine(busy=(sum(fields[:8]) - idle) / TICK, idle=idle / TICK)


def rss_mb(root: int) -> float:
    """Resident memory of ``root`` and its descendants, in MB."""
    total = 0
    for pid in descendants(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024
