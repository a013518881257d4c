"""What the numbers were measured on: CPU, memory, versions, and how busy the machine was."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import asyncpg

from harness.wrk import ensure_wrk


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def busy_processes(limit: int = 5) -> list[str]:
    """The processes using the most CPU right now, other than the benchmark's own."""
    done = subprocess.run(
        ["ps", "-eo", "pid,pcpu,rss,comm", "--sort=-pcpu", "--no-headers"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    mine = os.getpid()
    rows = []
    for line in done.stdout.splitlines():
        pid, cpu, rss, command = line.split(None, 3)
        if int(pid) != mine and float(cpu) >= 1.0:
            rows.append(f"{command} (pid {pid}, {cpu}% CPU, {int(rss) // 1024} MB)")
    return rows[:limit]


async def describe(database_url: str) -> dict[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        version = await conn.fetchval("SHOW server_version")
        settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("shared_buffers", "work_mem", "max_connections", "jit")
        }
    finally:
        await conn.close()
    wrk = subprocess.run(  # noqa: S603, ASYNC221 - instant, once per run
        [ensure_wrk(), "--version"], capture_output=True, text=True, check=False
    )
    return {
        "CPU": f"{cpu_model()}, {os.cpu_count()} cores",
        "Memory": f"{memory_gib():.0f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "PostgreSQL": f"{version} on the same machine ("
        + ", ".join(f"{k}={v}" for k, v in settings.items())
        + ")",
        "Python": platform.python_version(),
        "Load driver": (wrk.stdout or wrk.stderr).splitlines()[0].split(" Copyright")[0],
    }
