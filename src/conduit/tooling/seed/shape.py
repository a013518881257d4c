"""The arithmetic of a deterministic data set: hashes, time-ordered ids, timelines, allocations.

Everything here is a pure function of its inputs, so a row's id and timestamp can be recomputed
from its index wherever another table refers to it, instead of being kept in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
import uuid
from array import array
from collections.abc import Sequence

_M64 = (1 << 64) - 1
_RAND_B = (1 << 62) - 1
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# A prime above any row count: multiplying by it permutes 0..n-1 (mod n) for every n below it.
_PERMUTER = 2_147_483_647


def salt(seed: int, name: str) -> int:
    """A 64-bit value for ``name`` under ``seed``: independent streams per table."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng(seed: int, name: str) -> random.Random:
    return random.Random(salt(seed, name))  # noqa: S311 - demo data, not secrets


def mix(value: int) -> int:
    """splitmix64's finaliser: a bijection on 64 bits that scrambles neighbouring inputs."""
    value = (value + 0x9E3779B97F4A7C15) & _M64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _M64
    return value ^ (value >> 31)


def uuid7_at(millis: int, bits: int) -> uuid.UUID:
    """A version 7 UUID for ``millis`` whose 74 random bits come from the 64-bit ``bits``.

    ``bits`` enters whole (rand_a takes its top 12 bits, rand_b its low 62), so distinct
    ``bits`` give distinct ids even within one millisecond.
    """
    value = millis << 80 | 0x7 << 76 | (bits >> 52) << 64 | 0b10 << 62 | (bits & _RAND_B)
    # UUID(int=...) re-validates what is valid by construction and costs a few microseconds,
    # a noticeable share of a row; set the two slots it would set instead.
    made = _new(uuid.UUID)
    _set(made, "int", value)
    _set(made, "is_safe", uuid.SafeUUID.unknown)
    return made


_new = object.__new__
_set = object.__setattr__


def to_datetime(millis: int) -> dt.datetime:
    return _from_timestamp(millis / 1000, dt.UTC)


_from_timestamp = dt.datetime.fromtimestamp


def to_millis(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(milliseconds=1)


class Timeline:
    """``count`` increasing instants from ``start`` to ``end`` (Unix milliseconds).

    Row ``i`` sits at ``(i + jitter) / count`` of the way, raised to a power below one, so rows
    grow denser towards ``end`` like a site gaining users. Row 0 sits exactly at ``start``.
    """

    GROWTH = 0.7

    def __init__(self, *, count: int, start: int, end: int, salt: int) -> None:
        self.count = count
        self.start = start
        self.span = end - start
        self._salt = salt

    def at(self, index: int) -> int:
        if index == 0:
            return self.start
        jitter = mix(index ^ self._salt) / 2**64
        return self.start + int(self.span * ((index + jitter) / self.count) ** self.GROWTH)


class Permutation:
    """A cheap bijection of ``0..n-1``: spreads popularity ranks over rows of every age."""

    def __init__(self, n: int, offset: int) -> None:
        self.n = max(n, 1)
        self.offset = offset % self.n

    def __call__(self, rank: int) -> int:
        return (rank * _PERMUTER + self.offset) % self.n


def allocate(total: int, weights: Sequence[float], *, cap: int) -> array[int]:
    """Split ``total`` into one count per weight, proportional to it, each at most ``cap``.

    The counts sum to ``total`` exactly. Counts above ``cap`` are clipped and the surplus
    dealt out one at a time to the others in order.
    """
    n = len(weights)
    if total > n * cap:
        raise ValueError(f"cannot place {total} items in {n} slots of at most {cap}")
    counts: array[int] = array("q", bytes(8 * n))
    whole = math.fsum(weights)
    if total == 0 or n == 0:
        return counts
    running = 0.0
    placed = 0
    surplus = 0
    for i, weight in enumerate(weights):
        running += weight
        upto = total if i == n - 1 else min(total, round(total * running / whole))
        share = upto - placed
        placed = upto
        if share > cap:
            surplus += share - cap
            share = cap
        counts[i] = share
    while surplus:
        for i in range(n):
            if counts[i] < cap:
                counts[i] += 1
                surplus -= 1
                if not surplus:
                    break
    return counts


def skewed_weights(rand: random.Random, n: int, *, sigma: float) -> array[float]:
    """Log-normal weights: most rows modest, a few very popular (or very active)."""
    return array("d", (rand.lognormvariate(0.0, sigma) for _ in range(n)))


def zipf_cumulative(n: int, *, exponent: float = 1.0) -> list[float]:
    """Cumulative weights of ranks ``0..n-1`` under Zipf's law, for ``random.choices``."""
    total = 0.0
    cumulative: list[float] = []
    for rank in range(n):
        total += 1.0 / (rank + 1) ** exponent
        cumulative.append(total)
    return cumulative


def pick_distinct(
    rand: random.Random, count: int, population: int, *, power: float, exclude: int = -1
) -> list[int]:
    """``count`` distinct ranks of ``0..population-1`` (never ``exclude``), low ranks likelier.

    A rank is ``population * u ** power`` for uniform ``u``; when the request is dense, a
    plain uniform sample avoids endless rejections.
    """
    room = population - (1 if 0 <= exclude < population else 0)
    if count <= 0:
        return []
    if count * 3 > room:
        ranks = rand.sample(range(room), count)
        return [r + 1 if 0 <= exclude <= r else r for r in ranks]
    chosen: dict[int, None] = {}
    random_ = rand.random
    while len(chosen) < count:
        rank = int(population * random_() ** power)
        if rank != exclude:
            chosen[rank] = None
    return list(chosen)
