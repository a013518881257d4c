"""CPU time spent by a server's processes and by PostgreSQL's backends for one database.

Read from /proc before and after a run, it splits each request's cost between the application
(all its processes: the supervisor and the workers) and the database (every backend connected
to the data set's database, whichever server opened it; the idle server's cost nothing).
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` (processes that have gone count as nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to ``database`` (from their process titles)."""
    marker = f" {database} "
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and marker in title:
            pids.append(int(entry.name))
    return pids


def mysql_server(_database: str) -> list[int]:
    """The MySQL/MariaDB server process: all of it (its connections are threads, not processes),
    so it counts whatever else the server serves at the time."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if name in {"mariadbd", "mysqld"}:
            pids.append(int(entry.name))
    return pids
