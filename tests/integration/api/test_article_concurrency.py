"""Favorites and tag upserts under real concurrency, on PostgreSQL (and MySQL with TEST_MYSQL_URL).

The shared fixtures run every request on one connection inside one rolled-back transaction,
which cannot race; these tests build an application of their own on a fresh, migrated database
whose units of work really commit, and fire the requests at once with ``asyncio.gather`` so
they run on separate pooled connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from conduit.domain.articles.models import Favorite
from conduit.domain.tags.models import Tag
from tests.conftest import asgi_client, patient_app
from tests.factories import make_user
from tests.integration.api.articles_support import post_article
from tests.pool import peak_connections

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def racing_app(racing_database) -> FastAPI:
    return patient_app(racing_database)


@pytest.fixture
async def racing_client(racing_app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(racing_app) as client:
        yield client


async def test_fifty_users_favoriting_one_article_at_once_count_fifty(
    racing_app, racing_client, racing_database
):
    author = await make_user(racing_app)
    fans = [await make_user(racing_app) for _ in range(50)]
    slug = (await post_article(racing_client, author))["slug"]

    with peak_connections(racing_database) as peak:
        responses = await asyncio.gather(
            *(
                racing_client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
                for fan in fans
            )
        )

    assert peak[0] > 5
    assert [r.status_code for r in responses] == [200] * 50
    assert all(r.json()["article"]["favorited"] is True for r in responses)
    article = (await racing_client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 50
    async with racing_database.unit_of_work() as session:
        rows = (await session.execute(select(func.count()).select_from(Favorite))).scalar_one()
    assert rows >= 50


async def test_one_user_favoriting_many_times_at_once_counts_once(
    racing_app, racing_client, racing_database
):
    author = await make_user(racing_app)
    fan = await make_user(racing_app)
    slug = (await post_article(racing_client, author))["slug"]

    with peak_connections(racing_database) as peak:
        responses = await asyncio.gather(
            *(
                racing_client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
                for _ in range(20)
            )
        )

    assert peak[0] > 5
    assert [r.status_code for r in responses] == [200] * 20
    article = (await racing_client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 1


async def test_concurrent_articles_with_the_same_new_tags_share_one_row_per_tag(
    racing_app, racing_client: httpx.AsyncClient, racing_database
):
    authors = [await make_user(racing_app) for _ in range(20)]
    new_tags = ["race-zeta", "race-alpha", "race-mu"]

    async def create(index: int, author) -> httpx.Response:
        # Each request lists the tags in a different order; the server sorts before locking.
        tags = new_tags[index % 3 :] + new_tags[: index % 3]
        article = {"title": f"race {index}", "description": "d", "body": "b", "tagList": tags}
        return await racing_client.post(
            "/api/articles", json={"article": article}, headers=author.auth
        )

    with peak_connections(racing_database) as peak:
        responses = await asyncio.gather(*(create(i, a) for i, a in enumerate(authors)))

    assert peak[0] > 5
    assert [r.status_code for r in responses] == [201] * 20
    expected = sorted(new_tags)
    for response in responses:
        assert response.json()["article"]["tagList"] == expected
        slug = response.json()["article"]["slug"]
        fetched = (await racing_client.get(f"/api/articles/{slug}")).json()["article"]
        assert fetched["tagList"] == expected
    async with racing_database.unit_of_work() as session:
        names = (
            (await session.execute(select(Tag.name).where(Tag.name.in_(new_tags)))).scalars().all()
        )
    assert sorted(names) == expected
    listed = (await racing_client.get("/api/articles?tag=race-mu&limit=100")).json()
    assert listed["articlesCount"] == 20
