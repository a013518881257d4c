"""The paths the benchmark loads, and the data-set values they name (tag, author, reader ...).

The values are chosen from the data set by fixed rules, so every run of the same data set
requests the same URLs:

- the reader (whose token the token paths send): the user with the median number of follows;
- the tag: the one on the most live articles (the issue's "most popular tag");
- the author: the user with the most live articles; the fan: the user with the most favorites;
- the single-article and profile paths rotate over 1,000 articles and 1,000 users spread evenly
  over the data set, so they do not measure one hot row.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

import asyncpg
import jwt

ROTATION = 1_000


@dataclass(frozen=True, slots=True)
class Picks:
    reader_id: uuid.UUID
    reader: str
    reader_follows: int
    tag: str
    tag_articles: int
    rare_tag: str
    rare_tag_articles: int
    author: str
    author_articles: int
    fan: str
    fan_favorites: int
    slugs: list[str]
    usernames: list[str]


@dataclass(frozen=True, slots=True)
class Target:
    """One benchmarked path: what wrk sends, and the ratio to the baseline it should reach."""

    name: str
    title: str
    urls: list[str]
    target: float | None
    token: bool = False
    method: str = "GET"
    # A JSON body with one "%d" that wrk fills with a request counter (the create path).
    body: str | None = None
    write: bool = False
    notes: str = ""
    headers: dict[str, str] = field(default_factory=dict)


async def pick(url: str) -> Picks:
    conn = await asyncpg.connect(url)
    try:
        reader = await conn.fetchrow(
            """
            SELECT u.id, u.username, count(*) AS n
            FROM follows f JOIN users u ON u.id = f.follower_id
            GROUP BY u.id, u.username ORDER BY n, u.username
            OFFSET (SELECT count(DISTINCT follower_id) / 2 FROM follows) LIMIT 1
            """
        )
        tag = await conn.fetchrow(
            """
            SELECT t.name, count(*) AS n FROM article_tags at JOIN tags t ON t.id = at.tag_id
            JOIN articles a ON a.id = at.article_id WHERE a.deleted_at IS NULL
            GROUP BY t.name ORDER BY n DESC, t.name LIMIT 1
            """
        )
        # The tag whose live article count is nearest to 10: a filter that matches a handful.
        rare = await conn.fetchrow(
            """
            SELECT t.name, count(*) AS n FROM article_tags at JOIN tags t ON t.id = at.tag_id
            JOIN articles a ON a.id = at.article_id WHERE a.deleted_at IS NULL
            GROUP BY t.name ORDER BY abs(count(*) - 10), t.name LIMIT 1
            """
        )
        author = await conn.fetchrow(
            """
            SELECT u.username, count(*) AS n FROM articles a JOIN users u ON u.id = a.author_id
            WHERE a.deleted_at IS NULL GROUP BY u.username ORDER BY n DESC, u.username LIMIT 1
            """
        )
        fan = await conn.fetchrow(
            """
            SELECT u.username, count(*) AS n FROM favorites f JOIN users u ON u.id = f.user_id
            GROUP BY u.username ORDER BY n DESC, u.username LIMIT 1
            """
        )
        slugs = await conn.fetch(
            """
            SELECT slug FROM (SELECT slug, row_number() OVER (ORDER BY created_at, id) AS i,
                                     count(*) OVER () AS n
                              FROM articles WHERE deleted_at IS NULL) s
            WHERE i % greatest(n / $1, 1) = 0 ORDER BY i LIMIT $1
            """,
            ROTATION,
        )
        usernames = await conn.fetch(
            """
            SELECT username FROM (SELECT username, row_number() OVER (ORDER BY username) AS i,
                                         count(*) OVER () AS n FROM users) s
            WHERE i % greatest(n / $1, 1) = 0 ORDER BY i LIMIT $1
            """,
            ROTATION,
        )
    finally:
        await conn.close()
    return Picks(
        reader_id=reader["id"],
        reader=reader["username"],
        reader_follows=reader["n"],
        tag=tag["name"],
        tag_articles=tag["n"],
        rare_tag=rare["name"],
        rare_tag_articles=rare["n"],
        author=author["username"],
        author_articles=author["n"],
        fan=fan["username"],
        fan_favorites=fan["n"],
        slugs=[r["slug"] for r in slugs],
        usernames=[r["username"] for r in usernames],
    )


def token(user_id: uuid.UUID, secret: str) -> str:
    """A token as Conduit issues it (HS256; sub, iat, exp), valid for a day."""
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + dt.timedelta(days=1)}
    return jwt.encode(claims, secret, algorithm="HS256")


CREATE_BODY = (
    '{"article":{"title":"Benchmark article %d","description":"Written by the benchmark.",'
    '"body":"A short body, long enough to be an article body in a benchmark run.",'
    '"tagList":[%s]}}'
)


COMMENT_BODY = '{"comment":{"body":"Benchmark comment %d."}}'


def targets(picks: Picks, token_value: str) -> list[Target]:
    auth = {"Authorization": f"Token {token_value}"}
    q = quote
    # The tags a new article carries: the three most popular would do; any existing tags will.
    tags = ",".join(f'"{name}"' for name in (picks.tag, "benchmark", "writes"))
    return [
        Target("list", "list, anonymous", ["/api/articles"], 1.0),
        Target("list_token", "list, with a token", ["/api/articles"], 1.0, token=True,
               headers=auth),
        Target("list_tag", f"list, tag={picks.tag} ({picks.tag_articles:,} articles)",
               [f"/api/articles?tag={q(picks.tag)}"], 1.0),
        Target("list_rare_tag",
               f"list, tag={picks.rare_tag} ({picks.rare_tag_articles:,} articles)",
               [f"/api/articles?tag={q(picks.rare_tag)}"], 1.0),
        Target("list_author", f"list, author ({picks.author_articles:,} articles)",
               [f"/api/articles?author={q(picks.author)}"], 1.0),
        Target("list_favorited", f"list, favorited ({picks.fan_favorites:,} favorites)",
               [f"/api/articles?favorited={q(picks.fan)}"], 1.0),
        Target("feed", f"feed (reader follows {picks.reader_follows})", ["/api/articles/feed"],
               1.0, token=True, headers=auth),
        Target("article", f"single article ({len(picks.slugs):,} rotating)",
               [f"/api/articles/{q(s)}" for s in picks.slugs], 0.5),
        Target("profile", f"profile ({len(picks.usernames):,} rotating)",
               [f"/api/profiles/{q(u)}" for u in picks.usernames], 0.5),
        Target("tags", "tag list", ["/api/tags"], 0.5),
        Target("create", "create article with 3 tags", ["/api/articles"], 0.5, token=True,
               method="POST", body=CREATE_BODY.replace("%s", tags), write=True,
               headers={**auth, "Content-Type": "application/json"}),
        Target("comment", f"comment ({len(picks.slugs):,} rotating)",
               [f"/api/articles/{q(s)}/comments" for s in picks.slugs], 0.5, token=True,
               method="POST", body=COMMENT_BODY, write=True,
               headers={**auth, "Content-Type": "application/json"}),
        Target("favorite", f"favorite ({len(picks.slugs):,} rotating)",
               [f"/api/articles/{q(s)}/favorite" for s in picks.slugs], 0.5, token=True,
               method="POST", write=True, headers=auth),
    ]  # fmt: skip


NAMES = ("list", "list_token", "list_tag", "list_rare_tag", "list_author", "list_favorited",
         "feed", "article", "profile", "tags", "create", "favorite", "comment")  # fmt: skip
QUICK = ("list", "list_tag", "article", "tags")
