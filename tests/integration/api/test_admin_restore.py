"""POST /api/admin/articles/{slug}/restore: undo a soft delete, safely inside a savepoint."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from conduit.domain.admin.restore import restore_article
from conduit.domain.articles.models import Article
from conduit.domain.errors import NotFoundError, TakenError
from tests.factories import make_user
from tests.integration.api.admin_support import insert_article
from tests.integration.api.articles_support import post_article
from tests.statements import assert_max_statements, mysql_extra

TAKEN = {"errors": {"slug": ["has already been taken"]}}
NOT_FOUND = {"errors": {"article": ["not found"]}}
ALREADY_LIVE = {"errors": {"article": ["is already live"]}}


def days_ago(n: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=n)


async def restore(client, admin, slug):
    return await client.post(f"/api/admin/articles/{slug}/restore", headers=admin.auth)


async def live_titles(database, slug) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            select(Article.title).where(Article.slug == slug, Article.deleted_at.is_(None))
        )
        return list(rows.scalars())


async def test_restore_brings_a_deleted_article_back(app, client, dialect):
    admin = await make_user(app, role="admin")
    author = await make_user(app)
    created = await post_article(client, author, title="Lost and found", tagList=["x"])
    slug = created["slug"]
    assert (await client.delete(f"/api/articles/{slug}", headers=author.auth)).status_code == 204
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404

    # authentication, the UPDATE (in a savepoint), counting it back in (total; author and
    # fans: lock in order, update; tags: lock in order, update), the article read
    with assert_max_statements(8 + mysql_extra(dialect, 3)) as stats:
        response = await restore(client, admin, slug)
    assert stats.count == 8 + mysql_extra(dialect, 3)
    assert response.status_code == 200
    article = response.json()["article"]
    assert {k: article[k] for k in ("slug", "title", "tagList", "author")} == {
        k: created[k] for k in ("slug", "title", "tagList", "author")
    }
    assert (await client.get(f"/api/articles/{slug}")).json()["article"]["title"] == (
        "Lost and found"
    )


async def test_restoring_an_unknown_slug_is_404(app, client):
    admin = await make_user(app, role="admin")
    # authentication, the UPDATE that finds nothing to restore, the read that says why
    with assert_max_statements(3):
        response = await restore(client, admin, "no-such-article")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


async def test_restoring_a_live_article_is_409_and_changes_nothing(app, client):
    admin = await make_user(app, role="admin")
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    # authentication, the UPDATE that finds nothing to restore, the read that says why
    with assert_max_statements(3):
        response = await restore(client, admin, slug)
    assert response.status_code == 409
    assert response.json() == ALREADY_LIVE
    profile = await client.get(f"/api/articles?author={author.username}")
    assert profile.json()["articlesCount"] == 1


async def test_a_slug_taken_since_the_deletion_is_409_and_changes_nothing(
    app, client, database, dialect
):
    admin = await make_user(app, role="admin")
    author = await make_user(app)
    await insert_article(app, author, slug="taken", title="old", deleted_at=days_ago(2))
    await insert_article(app, author, slug="taken", title="new")
    # authentication, the UPDATE that the unique index refuses
    with assert_max_statements(2 + mysql_extra(dialect)):
        response = await restore(client, admin, "taken")
    assert response.status_code == 409
    assert response.json() == TAKEN
    assert await live_titles(database, "taken") == ["new"]
    # The request's unit of work was not poisoned: the next request works normally.
    assert (await client.get("/api/articles/taken")).json()["article"]["title"] == "new"


async def test_of_several_deleted_articles_the_most_recently_deleted_is_restored(
    app, client, database
):
    admin = await make_user(app, role="admin")
    author = await make_user(app)
    for title, deleted in (("first", 30), ("latest", 1), ("middle", 10)):
        await insert_article(app, author, slug="shared", title=title, deleted_at=days_ago(deleted))
    response = await restore(client, admin, "shared")
    assert response.status_code == 200
    assert response.json()["article"]["title"] == "latest"
    assert await live_titles(database, "shared") == ["latest"]
    # The others now conflict with the live one.
    assert (await restore(client, admin, "shared")).status_code == 409
    assert await live_titles(database, "shared") == ["latest"]


async def test_a_conflict_rolls_back_only_its_savepoint(app, database):
    """In one unit of work: a refused restore, then more work that commits."""
    author = await make_user(app)
    await insert_article(app, author, slug="taken", title="old", deleted_at=days_ago(2))
    await insert_article(app, author, slug="taken", title="new")
    await insert_article(app, author, slug="free", title="free", deleted_at=days_ago(2))
    async with database.unit_of_work() as session:
        with pytest.raises(TakenError):
            await restore_article(session, slug="taken")
        # On PostgreSQL a failed statement outside a savepoint would abort the transaction
        # here ("current transaction is aborted"); the savepoint keeps it usable.
        await restore_article(session, slug="free")
        with pytest.raises(NotFoundError):
            await restore_article(session, slug="missing")
    assert await live_titles(database, "free") == ["free"]
    assert await live_titles(database, "taken") == ["new"]
