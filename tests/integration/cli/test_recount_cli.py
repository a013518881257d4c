"""`conduit db recount [--check]` through the real command line, on both dialects."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from conduit.db.engine import create_engine
from conduit.domain.schema import metadata
from tests.conftest import make_settings
from tests.integration.cli.support import conduit, one_error_line
from tests.integration.cli.test_seed_cli import rows

SEED = ["--users", "6", "--articles", "24", "--tags", "5", "--comments", "0",
        "--favorites", "0", "--follows", "0"]  # fmt: skip
DRIFT_SQL = [
    # An author who wrote at least one article keeps 3 more than they have.
    "UPDATE users SET articles_count = articles_count + 3 WHERE username = :author",
    # A tag in use keeps 0.
    "UPDATE tags SET articles_count = 0 WHERE name = :tag",
]


async def _drift_by_hand(url: str) -> tuple[str, int, str, int]:
    """Make two kept counts wrong with raw SQL; the author and tag, with their true counts."""
    engine = create_engine(make_settings(url).database)
    try:
        async with engine.begin() as conn:
            author, authored = (
                await conn.execute(
                    text(
                        "SELECT username, articles_count FROM users WHERE articles_count > 0 "
                        "ORDER BY username LIMIT 1"
                    )
                )
            ).one()
            tag, tagged = (
                await conn.execute(
                    text(
                        "SELECT name, articles_count FROM tags WHERE articles_count > 0 "
                        "ORDER BY name LIMIT 1"
                    )
                )
            ).one()
            for sql in DRIFT_SQL:
                await conn.execute(text(sql), {"author": author, "tag": tag})
        return author, authored, tag, tagged
    finally:
        await engine.dispose()


def drift_by_hand(url: str) -> tuple[str, int, str, int]:
    return asyncio.run(_drift_by_hand(url))


def test_check_on_a_consistent_database_exits_0(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SEED).exit_code == 0

    result = conduit(head_url, "db", "recount", "--check")

    assert result.exit_code == 0, result.output
    assert "every kept count matches the rows" in result.stdout
    as_json = conduit(head_url, "db", "recount", "--check", "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout) == {"drift": []}


def test_check_names_each_drifted_row_exits_1_and_changes_nothing(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SEED).exit_code == 0
    author, authored, tag, tagged = drift_by_hand(head_url)
    before = rows(head_url)

    result = conduit(head_url, "db", "recount", "--check")

    assert result.exit_code == 1
    assert one_error_line(result) == (
        "error: 2 kept count(s) differ from the rows "
        "(hint: run `conduit db recount` to recompute them)"
    )
    lines = result.stdout.splitlines()
    # One table row each: table, key, kept, actual.
    assert any(line.split() == ["│", "users", "│", author, "│", str(authored + 3), "│",
                                str(authored), "│"] for line in lines), result.stdout  # fmt: skip
    assert any(line.split() == ["│", "tags", "│", tag, "│", "0", "│", str(tagged), "│"]
               for line in lines), result.stdout  # fmt: skip
    as_json = conduit(head_url, "db", "recount", "--check", "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {
        "drift": [
            {"table": "users", "key": author, "kept": authored + 3, "actual": authored},
            {"table": "tags", "key": tag, "kept": 0, "actual": tagged},
        ]
    }
    assert rows(head_url) == before

    fixed = conduit(head_url, "db", "recount")
    assert fixed.exit_code == 0, fixed.output
    assert conduit(head_url, "db", "recount", "--check").exit_code == 0


def test_a_wrong_total_is_named_by_its_counter(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SEED).exit_code == 0

    async def inflate() -> None:
        engine = create_engine(make_settings(head_url).database)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE counters SET value = value + 1"))
        finally:
            await engine.dispose()

    asyncio.run(inflate())
    result = conduit(head_url, "db", "recount", "--check", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "drift": [{"table": "counters", "key": "live_articles", "kept": 25, "actual": 24}]
    }


async def _scramble_favorites_counts(url: str) -> tuple[str, int, str]:
    """Make two articles' kept favorites counts wrong: one favorited article keeps 2 more than
    it has, one never favorited keeps 5. The first's slug and true count, the second's slug."""
    engine = create_engine(make_settings(url).database)
    try:
        async with engine.begin() as conn:
            favored, favorites = (
                await conn.execute(
                    text(
                        "SELECT slug, favorites_count FROM articles WHERE favorites_count > 0 "
                        "ORDER BY slug LIMIT 1"
                    )
                )
            ).one()
            unfavored = (
                await conn.execute(
                    text(
                        "SELECT slug FROM articles WHERE favorites_count = 0 ORDER BY slug LIMIT 1"
                    )
                )
            ).scalar_one()
            await conn.execute(
                text("UPDATE articles SET favorites_count = favorites_count + 2 WHERE slug = :s"),
                {"s": favored},
            )
            await conn.execute(
                text("UPDATE articles SET favorites_count = 5 WHERE slug = :s"), {"s": unfavored}
            )
        return favored, favorites, unfavored
    finally:
        await engine.dispose()


def test_check_reports_wrong_favorites_counts_of_articles_and_recount_repairs_them(
    head_url: str,
) -> None:
    seed = [*SEED[: SEED.index("--favorites")], "--favorites", "30", "--follows", "0"]
    assert conduit(head_url, "db", "seed", *seed).exit_code == 0
    assert conduit(head_url, "db", "recount", "--check").exit_code == 0
    favored, favorites, unfavored = asyncio.run(_scramble_favorites_counts(head_url))

    result = conduit(head_url, "db", "recount", "--check", "--json")

    assert result.exit_code == 1
    table = "articles.favorites_count"
    expected = [
        {"table": table, "key": favored, "kept": favorites + 2, "actual": favorites},
        {"table": table, "key": unfavored, "kept": 5, "actual": 0},
    ]
    assert json.loads(result.stdout) == {"drift": sorted(expected, key=lambda d: str(d["key"]))}

    fixed = conduit(head_url, "db", "recount")
    assert fixed.exit_code == 0, fixed.output
    assert conduit(head_url, "db", "recount", "--check").exit_code == 0
    repaired = rows(head_url)["articles"]
    column = [c.name for c in metadata.tables["articles"].columns].index("favorites_count")
    slug = [c.name for c in metadata.tables["articles"].columns].index("slug")
    by_slug = {row[slug]: row[column] for row in repaired}
    assert (by_slug[favored], by_slug[unfavored]) == (favorites, 0)
