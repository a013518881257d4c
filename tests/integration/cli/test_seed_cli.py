"""`conduit db seed` through the real command line, on throwaway databases of both dialects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from conduit.db.engine import create_engine
from conduit.domain.schema import metadata
from tests.conftest import make_settings
from tests.integration.cli.support import conduit, one_error_line
from tests.scratch import Scratch

SMALL = ["--users", "12", "--articles", "30", "--comments", "40", "--tags", "8",
         "--tags-per-article", "2", "--favorites", "60", "--follows", "25",
         "--until", "2026-06-01"]  # fmt: skip
SMALL_COUNTS = {
    "users": 12,
    "profiles": 12,
    "tags": 8,
    "articles": 30,
    "article_tags": 60,
    "favorites": 60,
    "follows": 25,
    "comments": 40,
}


async def _read(url: str) -> tuple[dict[str, int], dict[str, list[tuple[Any, ...]]]]:
    engine = create_engine(make_settings(url).database)
    try:
        async with engine.connect() as conn:
            counts, rows = {}, {}
            for table in metadata.sorted_tables:
                query = select(func.count()).select_from(table)
                counts[table.name] = (await conn.execute(query)).scalar_one()
                ordered = select(table).order_by(*table.primary_key.columns)
                rows[table.name] = [tuple(row) for row in (await conn.execute(ordered)).all()]
            return counts, rows
    finally:
        await engine.dispose()


def counts(url: str) -> dict[str, int]:
    # The tests are synchronous (the command runs its own event loop), so read with one too.
    return asyncio.run(_read(url))[0]


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    return asyncio.run(_read(url))[1]


@pytest.fixture(params=["sqlite", "postgresql"])
async def unmigrated_url(
    request: pytest.FixtureRequest,
    scratch_databases: Scratch,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[str]:
    monkeypatch.chdir(tmp_path)
    async with scratch_databases.url(request.param, prefix="conduit_seed", migrated=False) as url:
        yield url.render_as_string(hide_password=False)


def test_seed_writes_the_requested_rows_and_prints_a_json_summary(head_url: str) -> None:
    result = conduit(head_url, "db", "seed", *SMALL, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["seeded"] is True
    assert summary["tables"] == SMALL_COUNTS
    assert summary["rows"] == sum(SMALL_COUNTS.values())
    assert summary["login"] == {"email": "demo@example.com", "password": "password"}
    assert counts(head_url) == {**SMALL_COUNTS, "credit_transfers": 0, "counters": 1}


def test_the_default_demo_set_names_the_demo_login(head_url: str) -> None:
    result = conduit(head_url, "db", "seed")
    assert result.exit_code == 0, result.output
    assert "demo@example.com" in result.stdout
    assert '"password"' in result.stdout
    seeded = counts(head_url)
    assert seeded["users"] == 25
    assert seeded["articles"] == 100


def test_the_make_run_command_seeds_an_empty_database_then_leaves_it_alone(head_url: str) -> None:
    # Only users and articles given: the rest scales down to what they can hold.
    first = conduit(head_url, "db", "seed", "--if-empty", "--users", "10", "--articles", "40")
    assert first.exit_code == 0, first.output
    seeded = counts(head_url)
    assert (seeded["users"], seeded["articles"], seeded["favorites"]) == (10, 40, 200)
    assert seeded["follows"] == 45  # 6 per user would be 60: capped at half of the 90 pairs
    again = conduit(head_url, "db", "seed", "--if-empty", "--users", "10", "--articles", "40")
    assert again.exit_code == 0, again.output
    assert counts(head_url) == seeded


def test_a_database_with_users_is_refused_with_exit_1_and_a_hint(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SMALL).exit_code == 0
    before = rows(head_url)

    result = conduit(head_url, "db", "seed", *SMALL)

    assert result.exit_code == 1
    line = one_error_line(result)
    assert "already has 12 users" in line
    assert "--reset" in line
    assert "--append" in line
    assert rows(head_url) == before


def test_if_empty_leaves_a_seeded_database_alone_and_exits_0(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SMALL, "--if-empty").exit_code == 0
    before = rows(head_url)

    result = conduit(head_url, "db", "seed", "--if-empty", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["seeded"] is False
    assert rows(head_url) == before
    human = conduit(head_url, "db", "seed", "--if-empty")
    assert human.exit_code == 0
    assert "nothing seeded" in human.stdout


def test_reset_with_the_same_seed_rebuilds_identical_rows(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SMALL, "--seed", "5").exit_code == 0
    first = rows(head_url)

    again = conduit(head_url, "db", "seed", *SMALL, "--seed", "5", "--reset")
    assert again.exit_code == 0, again.output
    assert rows(head_url) == first

    other = conduit(head_url, "db", "seed", *SMALL, "--seed", "6", "--reset")
    assert other.exit_code == 0, other.output
    changed = rows(head_url)
    assert changed["articles"] != first["articles"]
    assert changed["users"] != first["users"]


def test_append_adds_to_the_existing_data(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SMALL).exit_code == 0

    result = conduit(head_url, "db", "seed", *SMALL, "--append", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["login"]["email"] != "demo@example.com"
    assert summary["tables"]["tags"] == 0  # every tag name existed already and is reused
    expected = {name: 2 * rows for name, rows in SMALL_COUNTS.items()}
    assert counts(head_url) == {**expected, "tags": 8, "credit_transfers": 0, "counters": 1}


@pytest.mark.parametrize(
    "flags", [["--reset", "--append"], ["--append", "--if-empty"], ["--reset", "--if-empty"]]
)
def test_contradictory_modes_are_a_usage_error(tmp_path: Path, flags: list[str]) -> None:
    result = conduit(f"sqlite:///{tmp_path / 'x.db'}", "db", "seed", *flags)
    assert result.exit_code == 2
    assert "exclude each other" in one_error_line(result)


@pytest.mark.parametrize(
    "args",
    [
        ["--users", "3", "--favorites", "0", "--follows", "7"],
        ["--users", "2", "--articles", "2", "--favorites", "5"],
        ["--tags", "2", "--tags-per-article", "3"],
    ],
)
def test_impossible_sizes_are_a_usage_error(head_url: str, args: list[str]) -> None:
    result = conduit(head_url, "db", "seed", *args)
    assert result.exit_code == 2
    one_error_line(result)
    assert counts(head_url)["users"] == 0


def test_a_negative_size_is_rejected_by_the_option_parser(tmp_path: Path) -> None:
    result = conduit(f"sqlite:///{tmp_path / 'x.db'}", "db", "seed", "--users", "-1")
    assert result.exit_code == 2


def test_an_unmigrated_database_fails_with_the_upgrade_hint(unmigrated_url: str) -> None:
    result = conduit(unmigrated_url, "db", "seed")
    assert result.exit_code == 1
    assert "conduit migrate upgrade" in one_error_line(result)


async def _execute(url: str, *statements: str) -> None:
    engine = create_engine(make_settings(url).database)
    try:
        async with engine.begin() as conn:
            for sql in statements:
                await conn.execute(text(sql))
    finally:
        await engine.dispose()


def test_recount_makes_counts_left_behind_exact_again(head_url: str) -> None:
    assert conduit(head_url, "db", "seed", *SMALL).exit_code == 0
    seeded = rows(head_url)
    # Writes around the services: one article deleted and the counts scrambled, by hand.
    asyncio.run(
        _execute(
            head_url,
            "UPDATE articles SET deleted_at = created_at WHERE slug = "
            "(SELECT min(slug) FROM articles)",
            "UPDATE users SET articles_count = articles_count + 7",
            "UPDATE tags SET articles_count = 0",
            "UPDATE counters SET value = 1",
        )
    )

    result = conduit(head_url, "db", "recount")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"recounted: {SMALL_COUNTS['articles'] - 1} live articles"
    # The seed's counts again, but for the one article deleted by hand.
    after = rows(head_url)
    assert after["counters"] == [("live_articles", SMALL_COUNTS["articles"] - 1)]
    column = [c.name for c in metadata.tables["users"].columns].index("articles_count")
    drift = sum(b[column] - a[column] for a, b in zip(after["users"], seeded["users"], strict=True))
    assert drift == 1
