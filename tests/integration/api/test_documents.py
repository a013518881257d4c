"""PostgreSQL writes the hot reads' JSON: byte for byte what the response models write.

Each read is sent twice through the same app: once as it runs on PostgreSQL (the database builds
the body) and once with that switched off (the response models build it), and the bodies must
be the same bytes. The data carries what JSON escaping can get wrong: quotes, backslashes,
control characters, non-ASCII text, emoji, line and paragraph separators, nulls.
"""

from __future__ import annotations

import httpx
import pytest

from conduit.db import documents
from tests.factories import make_user
from tests.integration.api.articles_support import follow, post_article

TRICKY = 'Quote " backslash \\ tab \t newline \n bell \x07 del \x7f é ü 中文 😀 \u2028 \u2029 </>'


@pytest.fixture
def postgresql_only(dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("the database writes documents on PostgreSQL only")


async def both_ways(
    client: httpx.AsyncClient, monkeypatch, path: str, headers: dict[str, str]
) -> bytes:
    written = await client.get(path, headers=headers)
    with monkeypatch.context() as patched:
        patched.setattr(documents, "supported", lambda _session: False)
        modelled = await client.get(path, headers=headers)
    assert written.status_code == modelled.status_code == 200, (path, written.text)
    assert written.headers["content-type"] == modelled.headers["content-type"]
    assert written.content == modelled.content, path
    return written.content


@pytest.mark.usefixtures("postgresql_only")
async def test_documents_are_the_bytes_the_response_models_write(app, client, monkeypatch):
    author = await make_user(app, bio=TRICKY, image="https://img.example/ü.png")
    plain = await make_user(app)  # bio and image null
    reader = await make_user(app)
    first = await post_article(
        client,
        author,
        title=TRICKY,
        description=TRICKY,
        body=TRICKY,
        tagList=[TRICKY[:40], "b", "a"],
    )
    await post_article(client, plain, title="Plain", tagList=[])
    for n in range(3):
        await post_article(client, author, title=f"More {n}", tagList=["a"])
    await follow(app, reader, author)
    favorite = await client.post(f"/api/articles/{first['slug']}/favorite", headers=reader.auth)
    assert favorite.status_code == 200

    anonymous: dict[str, str] = {}
    paths = [
        f"/api/articles/{first['slug']}",
        f"/api/profiles/{author.username}",
        f"/api/profiles/{plain.username}",
        "/api/articles",
        "/api/articles?limit=2",
        "/api/articles?tag=a",
        f"/api/articles?author={author.username}",
        f"/api/articles?favorited={reader.username}",
        "/api/articles?tag=a&limit=1&offset=1",
        "/api/articles?offset=500",
        "/api/articles?q=quote",
    ]
    for headers in (anonymous, reader.auth):
        for path in paths:
            await both_ways(client, monkeypatch, path, headers)
    await both_ways(client, monkeypatch, "/api/articles/feed", reader.auth)

    # A cursor page (the cursor from either way is the same: it is part of the bytes).
    body = (await client.get("/api/articles?limit=2", headers=reader.auth)).json()
    cursor = body["nextCursor"]
    await both_ways(client, monkeypatch, f"/api/articles?limit=2&cursor={cursor}", reader.auth)
    feed = (await client.get("/api/articles/feed?limit=1", headers=reader.auth)).json()
    await both_ways(
        client, monkeypatch, f"/api/articles/feed?limit=1&cursor={feed['nextCursor']}", reader.auth
    )


@pytest.mark.usefixtures("postgresql_only")
async def test_reads_written_by_the_database_still_answer_404(app, client):
    reader = await make_user(app)
    for path in ("/api/articles/no-such-article", "/api/profiles/nobody-at-all"):
        for headers in ({}, reader.auth):
            response = await client.get(path, headers=headers)
            assert response.status_code == 404
            assert set(response.json()["errors"]) <= {"article", "profile"}
