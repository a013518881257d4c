"""Load from wrk: one run of one path against one server, measured by wrk's own Lua hooks.

Each run gets a generated Lua script that rotates over the target's URLs (one URL: the same
request every time), fills the create body's counter, and reports requests, duration, the
50th and 99th latency percentiles and the error counts as one JSON line from ``done()``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.common import say
from harness.targets import Target

LUA = """
local paths = {%(paths)s}
local method = %(method)s
local body = %(body)s
local headers = {%(headers)s}
local counter = 0

request = function()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  local payload = nil
  if body then payload = string.format(body, counter) end
  return wrk.format(method, path, headers, payload)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d,' ..
    '"status_errors":%%d,"socket_errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script(target: Target) -> str:
    return LUA % {
        "paths": ", ".join(lua_string(url) for url in target.urls),
        "method": lua_string(target.method),
        "body": lua_string(target.body) if target.body else "nil",
        "headers": ", ".join(
            f"[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items()
        ),
    }


@dataclass(frozen=True, slots=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int
    socket_errors: int
    # CPU milliseconds per request: the server's processes, and PostgreSQL's backends.
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """wrk's path; installed from Debian's package when missing (needs root, as on CI)."""
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is missing: installing the Debian package")
    sudo = [] if Path("/root").exists() and _is_root() else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk could not be installed (apt-get install wrk)")
    return found


def _is_root() -> bool:
    import os  # noqa: PLC0415 - only here

    return os.geteuid() == 0


def run(base: str, target: Target, *, seconds: float, connections: int, threads: int) -> Run:
    """Load ``base`` + the target's URLs for ``seconds`` with ``connections`` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script(target))
        lua = handle.name
    try:
        done = subprocess.run(  # noqa: S603
            [
                ensure_wrk(),
                f"--threads={min(threads, connections)}",
                f"--connections={connections}",
                f"--duration={max(round(seconds), 1)}s",
                "--timeout=30s",
                f"--script={lua}",
                base + target.urls[0],
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        Path(lua).unlink()
    line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
    data = json.loads(line)
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        status_errors=data["status_errors"],
        socket_errors=data["socket_errors"],
    )
