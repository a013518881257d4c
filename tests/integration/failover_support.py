"""A steady write load against a live Conduit while its primary fails, and what it saw.

Writers create articles one after another (each sleeps 50 ms after a failure, as a client
honouring a short back-off would) and record every answer; :func:`crash` kills a PostgreSQL
server the way a crashed machine would; :class:`Outcome` holds the counts the tests assert.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

WRITERS = 4


@dataclass(frozen=True)
class Write:
    status: int
    slug: str | None
    retry_after: str | None
    started: float
    finished: float


@dataclass(frozen=True)
class Outcome:
    writes: list[Write]
    failed_at: float  # when the primary was killed
    recovered_from: float  # when writes could succeed again (the promotion, or the kill)

    @property
    def acknowledged(self) -> set[str]:
        return {w.slug for w in self.writes if w.slug is not None}

    @property
    def gap(self) -> list[Write]:
        return [w for w in self.writes if w.status != 201]

    @property
    def first_success_s(self) -> float | None:
        """Seconds from ``recovered_from`` to the first 201 of a write started after the kill."""
        after = [w.finished for w in self.writes if w.status == 201 and w.started > self.failed_at]
        return min(after) - self.recovered_from if after else None

    def summary(self, found: set[str]) -> str:
        statuses = dict(collections.Counter(w.status for w in self.writes))
        first = self.first_success_s
        return (
            f"{len(self.writes)} writes {statuses}; acknowledged {len(self.acknowledged)}, found "
            f"after failover {len(self.acknowledged & found)}; 503 in the gap {len(self.gap)}; "
            f"first success {'never' if first is None else f'{first:.2f} s'} after recovery began"
        )


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def crash(*pids: int) -> None:
    """SIGKILL each of ``pids`` and its children at once (a postmaster and its backends)."""
    victims = [victim for pid in pids for victim in (pid, *_children(pid))]
    for victim in victims:
        os.kill(victim, signal.SIGKILL)


async def _writer(
    client: httpx.AsyncClient, token: str, name: str, stop: asyncio.Event, writes: list[Write]
) -> None:
    count = 0
    while not stop.is_set():
        count += 1
        body = {"article": {"title": f"{name} {count}", "description": "d", "body": "b"}}
        started = time.monotonic()
        response = await client.post(
            "/api/articles", json=body, headers={"Authorization": f"Token {token}"}
        )
        created = response.status_code == 201
        writes.append(
            Write(
                response.status_code,
                response.json()["article"]["slug"] if created else None,
                response.headers.get("Retry-After"),
                started,
                time.monotonic(),
            )
        )
        if not created:
            await asyncio.sleep(0.05)


async def register(client: httpx.AsyncClient, name: str) -> str:
    user = {"username": name, "email": f"{name}@example.com", "password": "pw123456"}
    registered = await client.post("/api/users", json={"user": user})
    assert registered.status_code == 201, registered.text
    token: str = registered.json()["user"]["token"]
    return token


async def write_through_failover(
    base_url: str,
    name: str,
    *,
    load_before_s: float,
    fail: Callable[[], None],
    recover: Callable[[], Awaitable[float]],
    deadline_s: float,
) -> Outcome:
    """Writers titled ``name w<i> <n>``; after ``load_before_s``, ``fail()``, then ``recover()``.

    ``recover`` returns when writes may succeed again (monotonic time). The load stops one
    second after the first success that follows, or ``deadline_s`` after ``recover`` returned.
    """
    writes: list[Write] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        token = await register(client, name)
        stop = asyncio.Event()
        load = [
            asyncio.create_task(_writer(client, token, f"{name} w{i}", stop, writes))
            for i in range(WRITERS)
        ]
        await asyncio.sleep(load_before_s)
        await asyncio.to_thread(fail)
        failed_at = time.monotonic()
        recovered_from = await recover()
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            done = [w.finished for w in writes if w.status == 201 and w.started > recovered_from]
            if done and time.monotonic() - min(done) > 1:
                break
        stop.set()
        await asyncio.gather(*load)
    return Outcome(writes, failed_at, recovered_from)
