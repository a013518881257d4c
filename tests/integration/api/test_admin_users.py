"""POST /api/admin/users/deactivate: one UPDATE ... RETURNING over every inactive account."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from conduit.domain.users.models import User
from tests.factories import PASSWORD, make_user
from tests.integration.api.admin_support import backdate, insert_article, insert_comment
from tests.statements import assert_max_statements, mysql_extra

SINCE = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
BEFORE = SINCE - dt.timedelta(days=30)
AFTER = SINCE + dt.timedelta(days=1)
INVALID_CREDENTIALS = {"errors": {"credentials": ["invalid"]}}


async def deactivate(client, admin, since="2024-06-01"):
    return await client.post(
        "/api/admin/users/deactivate", json={"inactiveSince": since}, headers=admin.auth
    )


async def active_usernames(database) -> set[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(select(User.username).where(User.is_active.is_(True)))
        return set(rows.scalars())


async def test_deactivates_exactly_the_accounts_inactive_since_the_date(
    app, client, database, dialect
):
    admin = await make_user(app, username="root", role="admin")
    idle = await make_user(app, username="idle")
    idle_moderator = await make_user(app, username="idle-mod", role="moderator")
    old_writer = await make_user(app, username="old-writer")
    writer = await make_user(app, username="writer")
    commenter = await make_user(app, username="commenter")
    deleted_writer = await make_user(app, username="deleted-writer")
    already = await make_user(app, username="already", is_active=False)
    newcomer = await make_user(app, username="newcomer")
    await backdate(
        app, admin, idle, idle_moderator, old_writer, writer, commenter, deleted_writer, already
    )
    old = await insert_article(app, old_writer, created_at=BEFORE)
    await insert_comment(app, old_writer, old, created_at=BEFORE)
    await insert_article(app, writer, created_at=AFTER)
    await insert_comment(app, commenter, old, created_at=AFTER)
    # Writing is activity even if the article was deleted since.
    await insert_article(app, deleted_writer, created_at=AFTER, deleted_at=AFTER)

    # authentication, then the single UPDATE ... RETURNING
    with assert_max_statements(2 + mysql_extra(dialect)) as stats:
        response = await deactivate(client, admin)
    assert stats.count == 2 + mysql_extra(dialect)
    assert response.status_code == 200
    assert response.json() == {
        "deactivated": {"count": 3, "usernames": ["idle", "idle-mod", "old-writer"]}
    }
    # Admins are never deactivated; a newcomer signed up after the date has not been inactive
    # since then.
    assert await active_usernames(database) == {
        "root",
        "writer",
        "commenter",
        "deleted-writer",
        newcomer.username,
    }
    assert already.username not in await active_usernames(database)


async def test_deactivating_again_changes_nothing(app, client):
    admin = await make_user(app, role="admin")
    idle = await make_user(app)
    await backdate(app, admin, idle)
    assert (await deactivate(client, admin)).json()["deactivated"]["usernames"] == [idle.username]
    assert (await deactivate(client, admin)).json() == {
        "deactivated": {"count": 0, "usernames": []}
    }


async def test_deactivated_accounts_cannot_log_in_and_their_tokens_stop_working(app, client):
    admin = await make_user(app, role="admin")
    idle = await make_user(app)
    await backdate(app, admin, idle)
    login = {"user": {"email": idle.user.email, "password": PASSWORD}}
    assert (await client.post("/api/users/login", json=login)).status_code == 200
    assert (await client.get("/api/user", headers=idle.auth)).status_code == 200

    assert (await deactivate(client, admin)).json()["deactivated"]["count"] == 1

    response = await client.post("/api/users/login", json=login)
    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS
    response = await client.get("/api/user", headers=idle.auth)
    assert response.status_code == 401
    assert response.json() == {"errors": {"token": ["is invalid"]}}
    write = await client.post(
        "/api/articles",
        json={"article": {"title": "t", "description": "d", "body": "b"}},
        headers=idle.auth,
    )
    assert write.status_code == 401


@pytest.mark.parametrize(
    ("since", "deactivated"),
    [
        # The article was written at noon on June 1st (UTC).
        ("2024-06-01", []),
        ("2024-06-01T11:59:59Z", []),
        ("2024-06-01T12:00:01Z", ["writer"]),
        ("2024-06-02", ["writer"]),
        # 14:00 in UTC+02:00 is noon UTC: still "since".
        ("2024-06-01T14:00:00+02:00", []),
        ("2024-06-01T14:00:01+02:00", ["writer"]),
        # No offset: UTC.
        ("2024-06-01T12:00:01", ["writer"]),
    ],
)
async def test_inactive_since_takes_dates_and_date_times(app, client, since, deactivated):
    admin = await make_user(app, role="admin")
    writer = await make_user(app, username="writer")
    await backdate(app, admin, writer)
    await insert_article(app, writer, created_at=dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC))
    response = await deactivate(client, admin, since)
    assert response.status_code == 200, response.text
    assert response.json()["deactivated"]["usernames"] == deactivated


@pytest.mark.parametrize(
    "since", ["yesterday", "2024-13-01", "2024-02-30", "01/06/2024", "", "   ", 20240601, True]
)
async def test_a_malformed_date_is_422(app, client, since):
    admin = await make_user(app, role="admin")
    response = await deactivate(client, admin, since)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["inactiveSince"]


async def test_a_date_in_the_future_is_422_and_deactivates_nobody(app, client, database):
    admin = await make_user(app, role="admin")
    await make_user(app, username="someone")
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    response = await deactivate(client, admin, tomorrow)
    assert response.status_code == 422
    assert response.json() == {"errors": {"inactiveSince": ["can't be in the future"]}}
    assert "someone" in await active_usernames(database)


@pytest.mark.parametrize("body", [{}, {"inactiveSince": None}])
async def test_a_missing_date_is_422_blank(app, client, body):
    admin = await make_user(app, role="admin")
    response = await client.post("/api/admin/users/deactivate", json=body, headers=admin.auth)
    assert response.status_code == 422
    assert response.json() == {"errors": {"inactiveSince": ["can't be blank"]}}
