"""The raw baseline: Conduit's read endpoints (and two writes) as plain Starlette + asyncpg.

It is the yardstick the benchmark measures Conduit against, so it is written the plain way a
hand-tuned service would be: one SQL statement per request, PostgreSQL building the whole JSON
body (``row_to_json``/``array_to_json``, which write it compactly, exactly as Conduit does), no
explicit transaction, no reset round trip when a connection goes back to the pool, and the exact
``count(*)`` over the matching rows on every list. Tokens are read with PyJWT and their subject
is trusted (no account lookup). Not a second implementation of the API: no validation beyond
what the benchmark sends, and only the paths it requests.

    BASELINE_DATABASE_URL=postgresql://... SECRET_KEY=... BASELINE_POOL_SIZE=10 \\
        uvicorn --app-dir bench/baseline app:app --workers 2
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = os.environ.get("SECRET_KEY", "")
DSN = os.environ.get("BASELINE_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POOL_SIZE = int(os.environ.get("BASELINE_POOL_SIZE", "10"))

# Conduit's striped live-article count: one of this many rows per publish.
STRIPES = 16

STAMP = """'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'"""

# One article as Conduit shows it; $1 is the viewer's id (NULL: anonymous) and ``a`` the article.
ARTICLE_FIELDS = f"""
    a.slug, a.title, a.description, {{body}}
    coalesce((SELECT array_to_json(array_agg(t.name ORDER BY t.name))
              FROM article_tags at JOIN tags t ON t.id = at.tag_id
              WHERE at.article_id = a.id), '[]') AS "tagList",
    to_char(a.created_at AT TIME ZONE 'UTC', {STAMP}) AS "createdAt",
    to_char(a.updated_at AT TIME ZONE 'UTC', {STAMP}) AS "updatedAt",
    EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id AND f.user_id = $1::uuid)
        {{favorited}} AS favorited,
    a.favorites_count {{count}} AS "favoritesCount",
    (SELECT row_to_json(p) FROM (
        SELECT u.username, pr.bio, pr.image,
               EXISTS (SELECT 1 FROM follows fo
                       WHERE fo.follower_id = $1::uuid AND fo.followee_id = u.id) AS following
        FROM users u LEFT JOIN profiles pr ON pr.user_id = u.id
        WHERE u.id = a.author_id) p) AS author
"""  # noqa: S608 - fixed fragments
LIST_FIELDS = ARTICLE_FIELDS.format(body="", favorited="", count="")
SINGLE_FIELDS = ARTICLE_FIELDS.format(body="a.body,", favorited="", count="")

# The list filters; $2 is the filter's value. The feed's value is the viewer ($1).
FILTERS = {
    "tag": "a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id"
    " WHERE t.name = $2)",
    "author": "a.author_id = (SELECT id FROM users WHERE username = $2)",
    "favorited": "a.id IN (SELECT f.article_id FROM favorites f"
    " WHERE f.user_id = (SELECT id FROM users WHERE username = $2))",
    "feed": "a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = $1::uuid)",
}


def list_sql(filter_name: str | None) -> str:
    """The page is cut first, so the per-article subqueries run for its rows only (PostgreSQL
    would evaluate them for every row an OFFSET skips)."""
    where = "a.deleted_at IS NULL"
    if filter_name is not None:
        where += " AND " + FILTERS[filter_name]
    limit, offset = ("$2", "$3") if filter_name in (None, "feed") else ("$3", "$4")
    return f"""
    SELECT row_to_json(body) FROM (SELECT
        coalesce((SELECT array_to_json(array_agg(item)) FROM (
            SELECT {LIST_FIELDS} FROM (
                SELECT a.id, a.slug, a.title, a.description, a.created_at, a.updated_at,
                       a.author_id, a.favorites_count
                FROM articles a WHERE {where}
                ORDER BY a.created_at DESC, a.id DESC LIMIT {limit} OFFSET {offset}) a
            ORDER BY a.created_at DESC, a.id DESC) item), '[]') AS articles,
        (SELECT count(*) FROM articles a WHERE {where}) AS "articlesCount") body
    """  # noqa: S608 - fixed fragments only; values are parameters


LIST_SQL = {name: list_sql(name) for name in (None, *FILTERS)}

ARTICLE_SQL = f"""
    SELECT row_to_json(body) FROM (SELECT row_to_json(item) AS article FROM (
        SELECT {SINGLE_FIELDS} FROM articles a WHERE a.slug = $2 AND a.deleted_at IS NULL
    ) item) body
"""  # noqa: S608

PROFILE_SQL = """
    SELECT row_to_json(body) FROM (SELECT row_to_json(p) AS profile FROM (
        SELECT u.username, pr.bio, pr.image,
               EXISTS (SELECT 1 FROM follows fo
                       WHERE fo.follower_id = $1::uuid AND fo.followee_id = u.id) AS following
        FROM users u LEFT JOIN profiles pr ON pr.user_id = u.id WHERE u.username = $2) p) body
"""

TAGS_SQL = """
    SELECT row_to_json(body) FROM (SELECT coalesce(array_to_json(array_agg(t.name ORDER BY t.name)),
        '[]') AS tags FROM tags t WHERE EXISTS (
            SELECT 1 FROM article_tags at JOIN articles a ON a.id = at.article_id
            WHERE at.tag_id = t.id AND a.deleted_at IS NULL)) body
"""

# Favoriting: the insert's own row and the count's update are invisible to the rest of the
# statement, so ``favorited`` and ``favoritesCount`` add what it inserted.
FAVORITE_SQL = f"""
    WITH added AS (
        INSERT INTO favorites (user_id, article_id, article_created_at)
        SELECT $1::uuid, id, created_at FROM articles WHERE slug = $2 AND deleted_at IS NULL
        ON CONFLICT DO NOTHING RETURNING article_id),
    counted AS (
        UPDATE users SET favorites_count = favorites_count + 1
        WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM added) RETURNING id),
    bumped AS (
        UPDATE articles SET favorites_count = favorites_count + 1
        WHERE id IN (SELECT article_id FROM added) RETURNING id)
    SELECT row_to_json(body) FROM (SELECT row_to_json(item) AS article FROM (
        SELECT {
    ARTICLE_FIELDS.format(
        body="a.body,",
        favorited="OR EXISTS (SELECT 1 FROM added)",
        count="+ (SELECT count(*) FROM added)",
    )
}
        FROM articles a WHERE a.slug = $2 AND a.deleted_at IS NULL) item) body
"""  # noqa: S608

# Publishing: the article, missing tags and the links in one statement. Tags that exist are
# read; new ones come from the upsert's RETURNING (its rows are invisible to the read). A
# data-modifying WITH runs to completion whether or not the final SELECT reads it. The counts
# Conduit keeps are kept here too, in the same statement: the live-article total through one
# of its stripes ($8), the author's and each tag's articles (a new tag is inserted counted).
# Favoriting keeps the fan's and the article's favorites counts the same way.
CREATE_SQL = f"""
    WITH author AS (
        SELECT u.id, u.username, pr.bio, pr.image FROM users u
        LEFT JOIN profiles pr ON pr.user_id = u.id WHERE u.id = $1::uuid AND u.is_active),
    article AS (
        INSERT INTO articles (id, slug, title, description, body, author_id)
        SELECT $2, $3, $4, $5, $6, author.id FROM author
        RETURNING id, slug, title, description, body, created_at, updated_at),
    new_tags AS (
        INSERT INTO tags (name, articles_count) SELECT unnest($7::text[]), 1
        ON CONFLICT (name) DO NOTHING RETURNING id),
    old_tags AS (
        UPDATE tags SET articles_count = articles_count + 1
        WHERE name = ANY($7::text[]) AND EXISTS (SELECT 1 FROM article) RETURNING id),
    linked AS (
        INSERT INTO article_tags (article_id, tag_id, article_created_at)
        SELECT article.id, tag.id, article.created_at FROM article, (
            SELECT id FROM old_tags UNION SELECT id FROM new_tags) tag
        RETURNING tag_id),
    authored AS (
        UPDATE users SET articles_count = articles_count + 1
        WHERE id IN (SELECT author.id FROM author, article) RETURNING id),
    striped AS (
        INSERT INTO counters (name, value) SELECT 'live_articles+' || $8::int, 1 FROM article
        ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING name)
    SELECT row_to_json(body) FROM (SELECT row_to_json(item) AS article FROM (
        SELECT a.slug, a.title, a.description, a.body, to_json($7::text[]) AS "tagList",
               to_char(a.created_at AT TIME ZONE 'UTC', {STAMP}) AS "createdAt",
               to_char(a.updated_at AT TIME ZONE 'UTC', {STAMP}) AS "updatedAt",
               false AS favorited, 0 AS "favoritesCount",
               (SELECT row_to_json(p) FROM (SELECT author.username, author.bio, author.image,
                                                   false AS following) p) AS author
        FROM article a, author) item) body
"""  # noqa: S608


# $1 the author, $2 the article's slug, $3 the body.
COMMENT_SQL = f"""
    WITH author AS (
        SELECT u.id, u.username, pr.bio, pr.image FROM users u
        LEFT JOIN profiles pr ON pr.user_id = u.id WHERE u.id = $1::uuid AND u.is_active),
    added AS (
        INSERT INTO comments (body, article_id, author_id)
        SELECT $3, a.id, author.id FROM articles a, author
        WHERE a.slug = $2 AND a.deleted_at IS NULL
        RETURNING id, body, created_at, updated_at)
    SELECT row_to_json(body) FROM (SELECT row_to_json(item) AS comment FROM (
        SELECT c.id, to_char(c.created_at AT TIME ZONE 'UTC', {STAMP}) AS "createdAt",
               to_char(c.updated_at AT TIME ZONE 'UTC', {STAMP}) AS "updatedAt", c.body,
               (SELECT row_to_json(p) FROM (SELECT author.username, author.bio, author.image,
                                                   false AS following) p) AS author
        FROM added c, author) item) body
"""  # noqa: S608 - fixed fragments


def error(status: int, subject: str, message: str) -> Response:
    body = f'{{"errors":{{"{subject}":["{message}"]}}}}'
    return Response(body, status_code=status, media_type="application/json")


def viewer(request: Request) -> uuid.UUID | None:
    """The token's subject, or None without a token. An invalid token raises PermissionError."""
    header = request.headers.get("authorization")
    if not header:
        return None
    token = header.partition(" ")[2].strip()
    try:
        claims = jwt.decode(
            token, SECRET, algorithms=["HS256"], options={"require": ["sub", "iat", "exp"]}
        )
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        raise PermissionError from None


Handler = Callable[[Request, uuid.UUID | None], Awaitable[Response]]


def signed(*, required: bool) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """The route gets the token's subject (None without a token); a bad token is 401, and so
    is none where one is ``required``."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                who = viewer(request)
            except PermissionError:
                return error(401, "token", "is invalid")
            if required and who is None:
                return error(401, "token", "is missing")
            return await handler(request, who)

        return endpoint

    return wrap


async def fetch(request: Request, sql: str, *args: Any) -> str | None:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        result: str | None = await conn.fetchval(sql, *args)
        return result


def json(body: str | None, subject: str, status: int = 200) -> Response:
    if body is None:
        return error(404, subject, "not found")
    return Response(body, status_code=status, media_type="application/json")


def page(request: Request) -> tuple[int, int]:
    return int(request.query_params.get("limit", 20)), int(request.query_params.get("offset", 0))


@signed(required=False)
async def list_articles(request: Request, who: uuid.UUID | None) -> Response:
    limit, offset = page(request)
    params = request.query_params
    for name in ("tag", "author", "favorited"):
        if name in params:
            return json(await fetch(request, LIST_SQL[name], who, params[name], limit, offset), "")
    return json(await fetch(request, LIST_SQL[None], who, limit, offset), "")


@signed(required=True)
async def feed(request: Request, who: uuid.UUID | None) -> Response:
    limit, offset = page(request)
    return json(await fetch(request, LIST_SQL["feed"], who, limit, offset), "")


@signed(required=False)
async def article(request: Request, who: uuid.UUID | None) -> Response:
    return json(await fetch(request, ARTICLE_SQL, who, request.path_params["slug"]), "article")


@signed(required=False)
async def profile(request: Request, who: uuid.UUID | None) -> Response:
    username = request.path_params["username"]
    return json(await fetch(request, PROFILE_SQL, who, username), "profile")


async def tags(request: Request) -> Response:
    return json(await fetch(request, TAGS_SQL), "")


@signed(required=True)
async def favorite(request: Request, who: uuid.UUID | None) -> Response:
    slug = request.path_params["slug"]
    return json(await fetch(request, FAVORITE_SQL, who, slug), "article")


@signed(required=True)
async def comment(request: Request, who: uuid.UUID | None) -> Response:
    body = (await request.json())["comment"]["body"]
    found = await fetch(request, COMMENT_SQL, who, request.path_params["slug"], body)
    return json(found, "article", status=201)


@signed(required=True)
async def create_article(request: Request, who: uuid.UUID | None) -> Response:
    data = (await request.json())["article"]
    names = sorted({name.strip() for name in data.get("tagList") or ()})
    args = (who, uuid7(), slug(data["title"]), data["title"].strip(), data["description"].strip())
    stripe = random.randrange(STRIPES)  # noqa: S311 - spreading writers, not security
    body = await fetch(request, CREATE_SQL, *args, data["body"], names, stripe)
    return json(body, "token", status=201) if body else error(401, "token", "is invalid")


def slug(title: str) -> str:
    base = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
    return f"{base[:200] or 'article'}-{uuid.uuid4().hex[:8]}"


def uuid7() -> uuid.UUID:
    """Time-ordered ids, as Conduit's, so inserts land at the right edge of the index."""
    millis = time.time_ns() // 1_000_000
    bits = int.from_bytes(os.urandom(10), "big")
    value = millis << 80 | 0x7 << 76 | (bits >> 68) << 64 | 0b10 << 62 | (bits & ((1 << 62) - 1))
    return uuid.UUID(int=value)


async def no_reset(_conn: asyncpg.Connection) -> None:
    """Nothing to reset: no statement leaves session state behind, so skip the round trip."""


def pooled(name: str) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that keeps an asyncpg pool of ``POOL_SIZE`` in ``app.state.pool``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            DSN,
            min_size=POOL_SIZE,
            max_size=POOL_SIZE,
            reset=no_reset,
            server_settings={"jit": "off", "application_name": name},
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return lifespan


app = Starlette(
    routes=[
        Route("/api/articles", list_articles),
        Route("/api/articles", create_article, methods=["POST"]),
        Route("/api/articles/feed", feed),
        Route("/api/articles/{slug}", article),
        Route("/api/articles/{slug}/favorite", favorite, methods=["POST"]),
        Route("/api/articles/{slug}/comments", comment, methods=["POST"]),
        Route("/api/profiles/{username}", profile),
        Route("/api/tags", tags),
    ],
    lifespan=pooled("conduit-bench-baseline"),
)
