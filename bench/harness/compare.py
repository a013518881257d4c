"""Fetch the same requests from Conduit and the baseline and diff what comes back.

A pair of answers is *identical* when status and body bytes match; *same JSON* when the bytes
differ but the documents parse to the same keys in the same order with the same values (only
formatting differs); otherwise *different*, with the first point of difference. Write answers
carry values nobody can predict (a new slug, the time it was written): those are masked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from harness.targets import Picks

IDENTICAL = "identical"
SAME_JSON = "same JSON"
DIFFERENT = "DIFFERENT"
# What differs between two writes of the same thing: the new row's slug or id, and its times.
_MASKED = ("slug", "id", "createdAt", "updatedAt")
# Conduit's lists end with a signed ``nextCursor`` (an extension the baseline does not have):
# it is cut from Conduit's bytes before they are compared, and the verdict says so.
_CURSOR = re.compile(rb',"nextCursor":(?:null|"[^"]*")}$')
CURSOR_NOTE = "apart from Conduit's nextCursor"


@dataclass(frozen=True, slots=True)
class Outcome:
    method: str
    url: str
    token: bool
    verdict: str
    detail: str = ""


def parse(body: bytes) -> Any:
    # Pairs keep the key order, which plain dicts would compare without.
    return json.loads(body, object_pairs_hook=lambda pairs: [("{}", k, v) for k, v in pairs])


def first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{where or '.'}: {a!r} != {b!r}"
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{where or '.'}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if isinstance(x, tuple) and isinstance(y, tuple) and x[0] == "{}":
                if x[1] != y[1]:
                    return f"{where}: key {i} is {x[1]!r} != {y[1]!r}"
                found = first_difference(x[2], y[2], f"{where}.{x[1]}")
            else:
                found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where or '.'}: {a!r} != {b!r}"


def masked(document: Any) -> Any:
    if isinstance(document, list):
        out = []
        for item in document:
            if isinstance(item, tuple) and item[0] == "{}" and item[1] in _MASKED:
                out.append(("{}", item[1], "<masked>"))
            elif isinstance(item, tuple) and item[0] == "{}":
                out.append(("{}", item[1], masked(item[2])))
            else:
                out.append(masked(item))
        return out
    return document


NEW_COMMENT = {"comment": {"body": "An equivalence check's comment."}}


def verdict(a: httpx.Response, b: httpx.Response, *, mask: bool = False) -> tuple[str, str]:
    if a.status_code != b.status_code:
        return DIFFERENT, f"status {a.status_code} != {b.status_code}"
    mine, note = a.content, ""
    if _CURSOR.search(mine) and not _CURSOR.search(b.content):
        mine, note = _CURSOR.sub(b"}", mine), CURSOR_NOTE
    if mine == b.content and not mask:
        return IDENTICAL, note
    try:
        left, right = parse(mine), parse(b.content)
    except ValueError as exc:
        return DIFFERENT, f"not JSON: {exc}"
    if mask:
        left, right = masked(left), masked(right)
    found = first_difference(left, right)
    if found:
        return DIFFERENT, found
    return (SAME_JSON, "masked: " + ", ".join(_MASKED)) if mask else (SAME_JSON, note)


def read_requests(picks: Picks, total: int) -> list[tuple[str, bool]]:
    """(URL, with the reader's token) pairs covering every read path and its edges."""
    q = quote
    urls: list[tuple[str, bool]] = []
    lists = [
        "/api/articles",
        "/api/articles?limit=1",
        "/api/articles?limit=100",
        "/api/articles?offset=20",
        f"/api/articles?limit=5&offset={total - 2}",
        f"/api/articles?offset={total + 10}",
        f"/api/articles?tag={q(picks.tag)}",
        f"/api/articles?tag={q(picks.tag)}&offset=40&limit=10",
        f"/api/articles?author={q(picks.author)}",
        f"/api/articles?favorited={q(picks.fan)}",
        f"/api/articles?favorited={q(picks.reader)}",
        "/api/articles?tag=no-such-tag",
        "/api/articles?author=no-such-user",
        "/api/articles?favorited=no-such-user",
    ]
    for url in lists:
        urls += [(url, False), (url, True)]
    urls += [("/api/articles/feed", True), ("/api/articles/feed?offset=10&limit=5", True)]
    for slug in [*picks.slugs[:10], picks.slugs[-1], "no-such-article"]:
        urls += [(f"/api/articles/{q(slug)}", False), (f"/api/articles/{q(slug)}", True)]
    for name in [*picks.usernames[:10], picks.author, picks.reader, "no-such-user"]:
        urls += [(f"/api/profiles/{q(name)}", False), (f"/api/profiles/{q(name)}", True)]
    urls.append(("/api/tags", False))
    return urls


async def compare_reads(
    conduit: str, baseline: str, picks: Picks, token: str, total: int
) -> list[Outcome]:
    auth = {"Authorization": f"Token {token}"}
    outcomes = []
    async with httpx.AsyncClient(timeout=60) as client:
        for url, with_token in read_requests(picks, total):
            headers = auth if with_token else {}
            a = await client.get(conduit + url, headers=headers)
            b = await client.get(baseline + url, headers=headers)
            outcomes.append(Outcome("GET", url, with_token, *verdict(a, b)))
    return outcomes


NEW_ARTICLE = {
    "article": {
        "title": "  An equivalence check  ",
        "description": "Checks the create path.",
        "body": "Body text.",
        "tagList": ["zeta-new-tag", " alpha-new-tag", "zeta-new-tag", "databases"],
    }
}


async def compare_writes(conduit: str, baseline: str, picks: Picks, token: str) -> list[Outcome]:
    """Create one article and one comment on each server, and favorite two articles on both,
    in both orders."""
    auth = {"Authorization": f"Token {token}"}
    outcomes = []
    async with httpx.AsyncClient(timeout=60, headers=auth) as client:
        a = await client.post(conduit + "/api/articles", json=NEW_ARTICLE)
        b = await client.post(baseline + "/api/articles", json=NEW_ARTICLE)
        outcomes.append(Outcome("POST", "/api/articles", True, *verdict(a, b, mask=True)))
        url = f"/api/articles/{quote(picks.slugs[0])}/comments"
        a = await client.post(conduit + url, json=NEW_COMMENT)
        b = await client.post(baseline + url, json=NEW_COMMENT)
        outcomes.append(Outcome("POST", url, True, *verdict(a, b, mask=True)))
        # The first server to favorite inserts; the second finds it done: same answer both ways.
        for first, second, slug in ((conduit, baseline, picks.slugs[1]),
                                    (baseline, conduit, picks.slugs[2])):  # fmt: skip
            url = f"/api/articles/{quote(slug)}/favorite"
            x = await client.post(first + url)
            y = await client.post(second + url)
            a, b = (x, y) if first == conduit else (y, x)
            outcomes.append(Outcome("POST", url, True, *verdict(a, b)))
    return outcomes
