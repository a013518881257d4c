"""Every state change happens once: identical requests fired at once, on PostgreSQL and MySQL.

Each test sends ``FIRED`` identical requests while a rival connection holds the row they all
write (see :func:`support.fire_held`), so every one of them has read the old state before
the first commits. It asserts the answers (exactly one winner where a change can happen only
once) and that every kept count equals a recount of the rows afterwards (:func:`recount.drift`,
the check behind ``conduit db recount --check``).
"""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import func, select

from conduit.db.session import Database
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.comments.models import Comment
from conduit.domain.credits.models import CreditTransfer
from conduit.domain.profiles.models import Follow
from conduit.domain.users.models import User
from tests.factories import MadeUser, make_user
from tests.integration.api.admin_support import backdate
from tests.integration.api.articles_support import post_article
from tests.integration.race.support import (
    FIRED,
    drift,
    fire_held,
    fire_same,
    statuses,
)

TAGS = ["race-a", "race-b"]
NOT_FOUND = {"errors": {"article": ["not found"]}}


def article_row(slug: str):
    return select(Article.id).where(Article.slug == slug).with_for_update()


def user_row(user: MadeUser):
    return select(User.id).where(User.id == user.user.id).with_for_update()


async def articles_count(client: httpx.AsyncClient, **filters: str) -> int:
    response = await client.get("/api/articles", params={**filters, "limit": 1})
    count: int = response.json()["articlesCount"]
    return count


async def test_publishing_at_once_counts_each_article_once(app, client, racing_database):
    author = await make_user(app)
    article = {"title": "Same", "description": "d", "body": "b", "tagList": ["race-publish"]}
    # Every publish adjusts its author's count: hold that row.
    responses = await fire_same(
        racing_database,
        user_row(author),
        lambda: client.post("/api/articles", json={"article": article}, headers=author.auth),
    )
    assert statuses(responses) == {201: FIRED}
    assert len({r.json()["article"]["slug"] for r in responses}) == FIRED
    assert await articles_count(client, author=author.username) == FIRED
    assert await articles_count(client, tag="race-publish") == FIRED
    assert await drift(racing_database) == []


async def test_deleting_at_once_deletes_once_and_the_rest_are_404(app, client, racing_database):
    author = await make_user(app)
    slug = (await post_article(client, author, tagList=TAGS))["slug"]
    before = await articles_count(client)
    responses = await fire_same(
        racing_database,
        article_row(slug),
        lambda: client.delete(f"/api/articles/{slug}", headers=author.auth),
    )
    assert statuses(responses) == {204: 1, 404: FIRED - 1}
    assert all(r.json() == NOT_FOUND for r in responses if r.status_code == 404)
    assert await articles_count(client, author=author.username) == 0
    assert await articles_count(client, tag="race-a") == 0
    assert await articles_count(client) == before - 1
    assert await drift(racing_database) == []


async def test_restoring_at_once_restores_once_and_the_rest_are_409(app, client, racing_database):
    admin = await make_user(app, role="admin")
    author = await make_user(app)
    slug = (await post_article(client, author, tagList=TAGS))["slug"]
    assert (await client.delete(f"/api/articles/{slug}", headers=author.auth)).status_code == 204
    responses = await fire_same(
        racing_database,
        article_row(slug),
        lambda: client.post(f"/api/admin/articles/{slug}/restore", headers=admin.auth),
    )
    assert statuses(responses) == {200: 1, 409: FIRED - 1}
    assert all(
        r.json() == {"errors": {"article": ["is already live"]}}
        for r in responses
        if r.status_code == 409
    )
    assert await articles_count(client, author=author.username) == 1
    assert await articles_count(client, tag="race-b") == 1
    assert await drift(racing_database) == []


async def test_the_same_retag_at_once_moves_the_tag_counts_once(app, client, racing_database):
    author = await make_user(app)
    slug = (await post_article(client, author, tagList=["retag-old", "retag-kept"]))["slug"]
    change = {"article": {"tagList": ["retag-kept", "retag-new"]}}
    responses = await fire_same(
        racing_database,
        article_row(slug),
        lambda: client.put(f"/api/articles/{slug}", json=change, headers=author.auth),
    )
    assert statuses(responses) == {200: FIRED}
    assert all(r.json()["article"]["tagList"] == ["retag-kept", "retag-new"] for r in responses)
    assert await articles_count(client, tag="retag-old") == 0
    assert await articles_count(client, tag="retag-kept") == 1
    assert await articles_count(client, tag="retag-new") == 1
    assert await drift(racing_database) == []


async def test_different_retags_at_once_leave_the_last_ones_tags_counted_once(
    app, client, racing_database
):
    author = await make_user(app)
    slug = (await post_article(client, author, tagList=["mix-0", "mix-1"]))["slug"]
    # Each request names another pair of six tags, so every retag both drops and adds some.
    pairs = [[f"mix-{i % 6}", f"mix-{(i + 1) % 6}"] for i in range(FIRED)]
    responses = await fire_held(
        racing_database,
        article_row(slug),
        [
            client.put(
                f"/api/articles/{slug}", json={"article": {"tagList": pair}}, headers=author.auth
            )
            for pair in pairs
        ],
    )
    assert statuses(responses) == {200: FIRED}
    final = (await client.get(f"/api/articles/{slug}")).json()["article"]["tagList"]
    assert final in [sorted(pair) for pair in pairs]
    for i in range(6):
        expected = 1 if f"mix-{i}" in final else 0
        assert await articles_count(client, tag=f"mix-{i}") == expected
    assert await drift(racing_database) == []


async def test_favoriting_at_once_answers_200_each_time_and_counts_once(
    app, client, racing_database
):
    author = await make_user(app)
    fan = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    # The favorite's foreign key check waits for the article row.
    responses = await fire_same(
        racing_database,
        article_row(slug),
        lambda: client.post(f"/api/articles/{slug}/favorite", headers=fan.auth),
    )
    assert statuses(responses) == {200: FIRED}
    assert all(r.json()["article"]["favorited"] is True for r in responses)
    assert {r.json()["article"]["favoritesCount"] for r in responses} == {1}
    assert await drift(racing_database) == []


async def test_unfavoriting_at_once_answers_200_each_time_and_counts_once(
    app, client, racing_database
):
    author = await make_user(app)
    fans = [await make_user(app) for _ in range(2)]
    slug = (await post_article(client, author))["slug"]
    for fan in fans:
        favorited = await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
        assert favorited.status_code == 200
    leaving = fans[0]
    held = select(Favorite.user_id).where(Favorite.user_id == leaving.user.id).with_for_update()
    responses = await fire_same(
        racing_database,
        held,
        lambda: client.delete(f"/api/articles/{slug}/favorite", headers=leaving.auth),
    )
    assert statuses(responses) == {200: FIRED}
    assert all(r.json()["article"]["favorited"] is False for r in responses)
    assert {r.json()["article"]["favoritesCount"] for r in responses} == {1}
    assert await drift(racing_database) == []


async def test_many_readers_favoriting_one_article_at_once_each_count_once(
    app, client, racing_database
):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    fans = [await make_user(app) for _ in range(FIRED)]
    # Each favorite, then each take-back, moves the article's count: they queue for its row,
    # none deadlocks, and each answers the count its own write made.
    for method, answered, left in (
        ("POST", range(1, FIRED + 1), FIRED),
        ("DELETE", range(FIRED), 0),
    ):
        responses = await fire_held(
            racing_database,
            article_row(slug),
            [
                client.request(method, f"/api/articles/{slug}/favorite", headers=fan.auth)
                for fan in fans
            ],
        )
        assert statuses(responses) == {200: FIRED}
        counts = sorted(r.json()["article"]["favoritesCount"] for r in responses)
        assert counts == list(answered)
        read = await client.get(f"/api/articles/{slug}")
        assert read.json()["article"]["favoritesCount"] == left
        assert await drift(racing_database) == []


async def test_favorites_given_and_taken_back_while_the_article_is_deleted_stay_counted(
    app, client, racing_database
):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    joining = [await make_user(app) for _ in range(FIRED // 2)]
    leaving = [await make_user(app) for _ in range(FIRED // 2 - 1)]
    for fan in leaving:
        assert (
            await client.post(f"/api/articles/{slug}/favorite", headers=fan.auth)
        ).status_code == 200
    # Each fan's kept count of live favorites moves with their favorite, or with the delete
    # (for every fan at that moment), never with both or neither, whatever order they run in.
    responses = await fire_held(
        racing_database,
        article_row(slug),
        [
            client.delete(f"/api/articles/{slug}", headers=author.auth),
            *(client.post(f"/api/articles/{slug}/favorite", headers=f.auth) for f in joining),
            *(client.delete(f"/api/articles/{slug}/favorite", headers=f.auth) for f in leaving),
        ],
    )
    # InnoDB may still pick one of these writes as a deadlock's victim: it answers 503 (busy,
    # with Retry-After) and changed nothing, and the client retries. The counts stay exact.
    busy = {503} if racing_database.engine.dialect.name == "mysql" else set()
    if responses[0].status_code in busy:
        responses[0] = await client.delete(f"/api/articles/{slug}", headers=author.auth)
    assert responses[0].status_code == 204
    assert set(statuses(responses[1:])) <= {200, 404} | busy
    for fan in (*joining, *leaving):
        assert await articles_count(client, favorited=fan.username) == 0
    assert await drift(racing_database) == []


async def follow_edges(database: Database, follower: MadeUser) -> int:
    async with database.reader() as session:
        found = await session.execute(
            select(func.count()).select_from(Follow).where(Follow.follower_id == follower.user.id)
        )
        return int(found.scalar_one())


async def test_following_at_once_answers_200_each_time_and_follows_once(
    app, client, racing_database
):
    follower = await make_user(app)
    followee = await make_user(app)
    # The new edge's foreign key check waits for the followee's row.
    responses = await fire_same(
        racing_database,
        user_row(followee),
        lambda: client.post(f"/api/profiles/{followee.username}/follow", headers=follower.auth),
    )
    assert statuses(responses) == {200: FIRED}
    assert all(r.json()["profile"]["following"] is True for r in responses)
    assert await follow_edges(racing_database, follower) == 1
    assert await drift(racing_database) == []


async def test_unfollowing_at_once_answers_200_each_time(app, client, racing_database):
    follower = await make_user(app)
    followee = await make_user(app)
    path = f"/api/profiles/{followee.username}/follow"
    assert (await client.post(path, headers=follower.auth)).status_code == 200
    held = (
        select(Follow.follower_id).where(Follow.follower_id == follower.user.id).with_for_update()
    )
    responses = await fire_same(
        racing_database,
        held,
        lambda: client.delete(path, headers=follower.auth),
    )
    assert statuses(responses) == {200: FIRED}
    assert all(r.json()["profile"]["following"] is False for r in responses)
    assert await follow_edges(racing_database, follower) == 0
    assert await drift(racing_database) == []


async def test_deleting_a_comment_at_once_deletes_once_and_the_rest_are_404(
    app, client, racing_database
):
    author = await make_user(app)
    slug = (await post_article(client, author))["slug"]
    added = await client.post(
        f"/api/articles/{slug}/comments",
        json={"comment": {"body": "once"}},
        headers=author.auth,
    )
    comment_id = added.json()["comment"]["id"]
    held = select(Comment.id).where(Comment.id == comment_id).with_for_update()
    path = f"/api/articles/{slug}/comments/{comment_id}"
    responses = await fire_same(
        racing_database,
        held,
        lambda: client.delete(path, headers=author.auth),
    )
    assert statuses(responses) == {204: 1, 404: FIRED - 1}
    assert all(
        r.json() == {"errors": {"comment": ["not found"]}}
        for r in responses
        if r.status_code == 404
    )
    listed = await client.get(f"/api/articles/{slug}/comments")
    assert listed.json()["comments"] == []
    assert await drift(racing_database) == []


async def test_deactivating_at_once_deactivates_each_account_once(app, client, racing_database):
    admin = await make_user(app, role="admin")
    idle = [await make_user(app) for _ in range(3)]
    # Signed up long ago: only these are older than the cut-off below.
    await backdate(app, *idle, to=dt.datetime(2001, 1, 1, tzinfo=dt.UTC))
    body = {"inactiveSince": "2002-01-01"}
    responses = await fire_same(
        racing_database,
        user_row(idle[0]),
        lambda: client.post("/api/admin/users/deactivate", json=body, headers=admin.auth),
    )
    assert statuses(responses) == {200: FIRED}
    reported = [name for r in responses for name in r.json()["deactivated"]["usernames"]]
    assert sorted(reported) == sorted(user.username for user in idle)
    assert sum(1 for r in responses if r.json()["deactivated"]["count"] > 0) == 1
    assert await drift(racing_database) == []


async def ledger_rows(database: Database, *, to: MadeUser) -> list[CreditTransfer]:
    async with database.reader() as session:
        found = await session.execute(
            select(CreditTransfer).where(CreditTransfer.to_user_id == to.user.id)
        )
        return list(found.scalars())


async def balance(database: Database, user: MadeUser) -> int:
    async with database.reader() as session:
        found = await session.execute(select(User.credits).where(User.id == user.user.id))
        return int(found.scalar_one())


async def test_transferring_at_once_moves_only_what_the_sender_has(app, client, racing_database):
    sender = await make_user(app, credits=100)
    recipient = await make_user(app, credits=100)
    body = {"transfer": {"to": recipient.username, "amount": 15}}
    responses = await fire_same(
        racing_database,
        user_row(sender),
        lambda: client.post("/api/credits/transfer", json=body, headers=sender.auth),
    )
    # 100 credits cover six transfers of 15; every other one is refused.
    assert statuses(responses) == {201: 6, 422: FIRED - 6}
    assert sorted(r.json()["balance"] for r in responses if r.status_code == 201) == [
        10,
        25,
        40,
        55,
        70,
        85,
    ]
    assert await balance(racing_database, sender) == 10
    assert await balance(racing_database, recipient) == 190
    assert len(await ledger_rows(racing_database, to=recipient)) == 6
    assert await drift(racing_database) == []


async def test_granting_at_once_credits_and_records_each_grant_once(app, client, racing_database):
    admin = await make_user(app, role="admin")
    recipients = [await make_user(app, credits=100) for _ in range(2)]
    body = {"grant": {"usernames": [r.username for r in recipients], "amount": 5}}
    responses = await fire_same(
        racing_database,
        user_row(recipients[0]),
        lambda: client.post("/api/admin/credits/grant", json=body, headers=admin.auth),
    )
    assert statuses(responses) == {200: FIRED}
    for recipient in recipients:
        assert await balance(racing_database, recipient) == 100 + 5 * FIRED
        rows = await ledger_rows(racing_database, to=recipient)
        assert len(rows) == FIRED
        assert all(row.from_user_id is None and row.amount == 5 for row in rows)
    # Each answer reports the balances its own grant left: all different.
    first = recipients[0].username
    reported = [
        next(x["balance"] for x in r.json()["grant"]["recipients"] if x["username"] == first)
        for r in responses
    ]
    assert sorted(reported) == [100 + 5 * n for n in range(1, FIRED + 1)]
    assert await drift(racing_database) == []
