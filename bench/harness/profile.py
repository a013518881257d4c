"""Where Conduit's CPU time goes on a path: py-spy samples its workers under the same load.

py-spy (``pip install py-spy``) records every worker process while wrk loads one path, in
collapsed-stack form; the summary attributes each sample to the library of its innermost
Python frame (self time) and lists the functions with the most self and inclusive time.
Sampling costs the workers a little, so this runs apart from the measured rounds.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness import wrk
from harness.common import BIN, say
from harness.servers import Server
from harness.targets import Target

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# py-spy names a frame's file from its package down: "sqlalchemy/orm/session.py".
LIBRARIES = {"conduit", "sqlalchemy", "asyncpg", "pydantic", "pydantic_core", "fastapi",
             "starlette", "uvicorn", "prometheus_client", "jwt", "anyio", "asyncio", "json",
             "httptools", "uvloop"}  # fmt: skip
_PROCESS = re.compile(r'^process \d+:".*?";')


@dataclass(frozen=True, slots=True)
class Profile:
    target: str
    samples: int
    rps: float
    layers: list[tuple[str, float]]
    self_top: list[tuple[str, float]]
    inclusive_top: list[tuple[str, float]]


def py_spy() -> str | None:
    found = BIN / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def layer(frame: str) -> str:
    match = _FRAME.match(frame)
    path = match.group("file") if match else frame
    top = path.split("/", 1)[0].removesuffix(".py")
    if top in LIBRARIES:
        return top
    return "threading (thread hand-offs)" if top == "threading" else "other (stdlib, glue)"


def short(frame: str) -> str:
    match = _FRAME.match(frame)
    return f"{match.group('function')} ({match.group('file')})" if match else frame


def summarise(raw: str, target: str, rps: float) -> Profile:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        stack = _PROCESS.sub("", stack)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[short(frames[-1])] += count
        layers[layer(frames[-1])] += count
        for frame in set(frames):
            inclusive[short(frame)] += count
    share = (lambda n: 100 * n / total) if total else (lambda n: 0.0)
    conduit_frames = [(f, share(n)) for f, n in inclusive.most_common() if "conduit/" in f]
    return Profile(
        target=target,
        samples=total,
        rps=rps,
        layers=[(name, share(n)) for name, n in layers.most_common()],
        self_top=[(f, share(n)) for f, n in own.most_common(15)],
        inclusive_top=conduit_frames[:15],
    )


def record(server: Server, target: Target, *, seconds: float, connections: int) -> Profile | None:
    """Load ``target`` on ``server`` for ``seconds`` while py-spy samples its workers."""
    spy = py_spy()
    if spy is None or server.process is None:
        say("py-spy is not installed (pip install py-spy): no profile")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "profile.txt"
        command = [spy, "record", "--pid", str(server.process.pid), "--subprocesses",
                   "--format", "raw", "--rate", "200", "--nonblocking", "--gil",
                   "--duration", str(round(seconds)), "--output", str(out)]  # fmt: skip
        runs: list[wrk.Run] = []
        load = threading.Thread(
            target=lambda: runs.append(
                wrk.run(
                    server.base, target, seconds=seconds + 1, connections=connections, threads=2
                )
            )
        )
        load.start()
        spied = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        load.join()
        if not out.exists():
            say(f"py-spy failed: {spied.stderr.strip()[-300:]}")
            return None
        return summarise(out.read_text(), target.name, runs[0].rps if runs else 0.0)
