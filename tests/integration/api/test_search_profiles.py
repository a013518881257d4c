"""GET /api/profiles?q=: username search, order, paging, escaping, errors and statement counts."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.integration.api.articles_support import PROFILE_KEYS
from tests.statements import assert_max_statements


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [profile["username"] for profile in response.json()["profiles"]]


async def test_matches_anywhere_in_the_username_prefix_first_then_alphabetical(client, app):
    for username in ("zed_drake", "drake", "Drakon", "mandrake", "adrake", "duck", "Drake2"):
        await make_user(app, username=username)
    response = await client.get("/api/profiles?q=drak")
    # Starting with "drak" (any case), alphabetically; then containing it, alphabetically.
    assert names(response) == ["drake", "Drake2", "Drakon", "adrake", "mandrake", "zed_drake"]
    assert response.json()["profilesCount"] == 6


async def test_the_search_is_case_insensitive(client, app):
    await make_user(app, username="CamelCase")
    for q in ("camel", "CAMEL", "eLc"):
        assert names(await client.get(f"/api/profiles?q={q}")) == ["CamelCase"]


async def test_email_addresses_are_never_searched(client, app):
    await make_user(app, username="plain", email="secretword@example.com")
    response = await client.get("/api/profiles?q=secretword")
    assert response.json() == {"profiles": [], "profilesCount": 0}


async def test_like_wildcards_in_q_are_literal(client, app):
    for username in ("a_b", "axb", "a.b", "ab"):
        await make_user(app, username=username)
    assert names(await client.get("/api/profiles?q=a_b")) == ["a_b"]
    assert names(await client.get("/api/profiles", params={"q": "%"})) == []
    assert names(await client.get("/api/profiles", params={"q": "a%b"})) == []
    assert names(await client.get("/api/profiles", params={"q": "\\"})) == []


async def test_items_are_profiles_with_the_viewers_following_flag(client, app):
    viewer = await make_user(app, username="viewer")
    await make_user(app, username="searchable1", bio="hello", image="https://i.example/1.png")
    await make_user(app, username="searchable2")
    await client.post("/api/profiles/searchable1/follow", headers=viewer.auth)

    body = (await client.get("/api/profiles?q=searchable", headers=viewer.auth)).json()
    assert body["profilesCount"] == 2
    first, second = body["profiles"]
    assert set(first) == PROFILE_KEYS
    assert first == {
        "username": "searchable1",
        "bio": "hello",
        "image": "https://i.example/1.png",
        "following": True,
    }
    assert second["following"] is False
    anonymous = (await client.get("/api/profiles?q=searchable")).json()["profiles"]
    assert [p["following"] for p in anonymous] == [False, False]


async def test_limit_and_offset_page_and_the_count_is_the_total(client, app):
    for i in range(5):
        await make_user(app, username=f"pager{i}")
    pages = []
    for offset in (0, 2, 4):
        response = await client.get(f"/api/profiles?q=pager&limit=2&offset={offset}")
        assert response.json()["profilesCount"] == 5
        pages.append(names(response))
    assert pages == [["pager0", "pager1"], ["pager2", "pager3"], ["pager4"]]
    past = await client.get("/api/profiles?q=pager&offset=10")
    assert past.json() == {"profiles": [], "profilesCount": 5}


async def test_limit_defaults_to_twenty(client, app):
    for i in range(21):
        await make_user(app, username=f"many{i:02d}")
    body = (await client.get("/api/profiles?q=many")).json()
    assert len(body["profiles"]) == 20
    assert body["profilesCount"] == 21


@pytest.mark.parametrize("query", ["", "q=", "q=%20%20", "q=%09"])
async def test_a_missing_or_blank_q_is_422(client, query):
    response = await client.get(f"/api/profiles?{query}")
    assert response.status_code == 422
    assert response.json() == {"errors": {"q": ["can't be blank"]}}


@pytest.mark.parametrize(
    "query", ["q=x&limit=0", "q=x&limit=101", "q=x&offset=-1", "q=x&limit=abc", "q=" + "x" * 65]
)
async def test_out_of_range_values_are_422(client, query):
    response = await client.get(f"/api/profiles?{query}")
    assert response.status_code == 422
    subject = query.rsplit("&", 1)[-1].split("=")[0]
    assert list(response.json()["errors"]) == [subject]


async def test_statement_count_is_flat_in_page_size_and_data(client, app):
    viewer = await make_user(app, username="viewer")
    for i in range(30):
        await make_user(app, username=f"crowd{i:02d}")
    for i in range(0, 30, 3):
        await client.post(f"/api/profiles/crowd{i:02d}/follow", headers=viewer.auth)
    for headers, expected in (({}, 1), (viewer.auth, 2)):
        counts = []
        for limit in (1, 100):
            # authentication (1, with a token) + the page with its count (1)
            with assert_max_statements(3) as stats:
                response = await client.get(f"/api/profiles?q=crowd&limit={limit}", headers=headers)
            assert response.json()["profilesCount"] == 30
            counts.append(stats.count)
        assert counts == [expected, expected]


async def test_an_empty_page_past_the_end_costs_one_count_more(client, app):
    viewer = await make_user(app, username="viewer")
    await make_user(app, username="lonely")
    # authentication, the empty page, the count it needs
    with assert_max_statements(3) as stats:
        response = await client.get("/api/profiles?q=lonely&offset=5", headers=viewer.auth)
    assert response.json() == {"profiles": [], "profilesCount": 1}
    assert stats.count == 3


async def test_a_profile_read_by_username_is_unchanged_by_the_search_route(client, app):
    await make_user(app, username="profiles")
    response = await client.get("/api/profiles/profiles")
    assert response.status_code == 200
    assert response.json()["profile"]["username"] == "profiles"
