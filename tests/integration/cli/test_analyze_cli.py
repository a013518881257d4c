"""`conduit db analyze` through the real command line, on live scratch databases."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from typer.testing import Result

from tests.integration.cli.support import conduit
from tests.integration.test_analyze import Shop, make_invalid_index, require_hypopg
from tests.scratch import Scratch


def report_of(result: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def by_check(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for s in report["sections"] for f in s["findings"] if f["check"] == check]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env


@pytest.fixture(scope="module")
async def head_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url("postgresql", prefix="conduit_analyze_cli") as url:
        yield url


@pytest.fixture
async def invalid_index_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url(
        "postgresql", prefix="conduit_analyze_cli", migrated=False
    ) as url:
        await make_invalid_index(url)
        yield url


@pytest.fixture(scope="module")
async def shop_with_hypopg(shop: Shop) -> Shop:
    await require_hypopg(shop.url)
    return shop


def test_json_report_lists_each_finding_with_the_sql_that_fixes_it(shop_with_hypopg: Shop):
    shop = shop_with_hypopg
    result = conduit(shop.url, "db", "analyze", "--json", "--query-log", str(shop.query_log))
    assert result.exit_code == 0, result.output
    report = report_of(result)
    assert report["summary"]["error"] == 0
    assert [s["key"] for s in report["sections"]] == [
        "foreign_keys",
        "duplicate_indexes",
        "unused_indexes",
        "invalid_indexes",
        "sequential_scans",
        "slow_statements",
        "connections",
        "plans",
    ]
    (fk,) = by_check(report, "unindexed_foreign_key")
    assert fk["severity"] == "warning"
    assert fk["fix"] == (
        "CREATE INDEX CONCURRENTLY ix_orders_customer_id ON public.orders (customer_id);"
    )
    (duplicate,) = by_check(report, "duplicate_index")
    assert duplicate["fix"] == "DROP INDEX CONCURRENTLY public.ix_orders_created_at;"
    advice = {f["object"]: f for f in by_check(report, "index_advice")}
    email = advice["public.orders (email)"]
    assert email["fix"] == "CREATE INDEX CONCURRENTLY ix_orders_email ON public.orders (email);"
    assert email["details"]["cost_after"] <= email["details"]["cost_before"] / 2
    for finding in by_check(report, "unindexed_foreign_key") + by_check(report, "index_advice"):
        assert finding["why"]
        assert finding["object"]


def test_tables_show_every_section_with_severities_and_fixes(shop: Shop):
    result = conduit(shop.url, "db", "analyze", "--query-log", str(shop.query_log))
    assert result.exit_code == 0, result.output
    for title in (
        "Foreign keys without an index",
        "Duplicate indexes",
        "Unused indexes",
        "Invalid indexes: nothing found",
        "Tables read by sequential scans",
        "Slowest statements (pg_stat_statements)",
        "Connections and running queries",
        "Index advice from query plans",
    ):
        assert title in result.stdout
    assert "warning" in result.stdout
    assert "CONCURRENTLY" in result.stdout
    assert result.stderr == ""


def test_query_log_setting_is_the_default_log(shop_with_hypopg: Shop):
    shop = shop_with_hypopg
    result = conduit(shop.url, "db", "analyze", "--json", QUERY_LOG=str(shop.query_log))
    assert result.exit_code == 0, result.output
    assert by_check(report_of(result), "index_advice")


def test_a_query_log_setting_without_a_file_yet_is_a_note(head_url: URL, tmp_path: Path):
    missing = tmp_path / "not-yet.jsonl"
    result = conduit(head_url, "db", "analyze", "--json", QUERY_LOG=str(missing))
    assert result.exit_code == 0, result.output
    assert f"QUERY_LOG={missing} does not exist yet" in result.stderr


def test_fail_on_warning_exits_1_when_a_warning_exists(shop: Shop):
    result = conduit(shop.url, "db", "analyze", "--fail-on", "warning")
    assert result.exit_code == 1
    assert "Duplicate indexes" in result.stdout  # the report is still printed
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "finding(s) at or above warning" in lines[0]


def test_fail_on_error_exits_0_when_only_warnings_exist(shop: Shop):
    result = conduit(shop.url, "db", "analyze", "--json", "--fail-on", "error")
    assert result.exit_code == 0, result.output
    assert report_of(result)["summary"]["warning"] > 0


def test_project_schema_passes_fail_on_warning(head_url: URL):
    result = conduit(head_url, "db", "analyze", "--json", "--fail-on", "warning")
    assert result.exit_code == 0, result.output
    summary = report_of(result)["summary"]
    assert (summary["warning"], summary["error"]) == (0, 0)


def test_fail_on_error_exits_1_on_an_invalid_index(invalid_index_url: URL):
    result = conduit(invalid_index_url, "db", "analyze", "--json", "--fail-on", "error")
    assert result.exit_code == 1
    (invalid,) = by_check(report_of(result), "invalid_index")
    assert invalid["severity"] == "error"
    assert "at or above error" in result.stderr


def test_sqlite_says_analysis_needs_postgresql_and_exits_2(tmp_path: Path):
    result = conduit(f"sqlite:///{tmp_path / 'conduit.db'}", "db", "analyze")
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: `conduit db analyze` needs PostgreSQL")
    assert "sqlite" in line


def test_a_missing_query_log_file_is_a_usage_error(tmp_path: Path):
    result = conduit(
        f"sqlite:///{tmp_path / 'conduit.db'}",
        "db",
        "analyze",
        "--query-log",
        str(tmp_path / "missing.jsonl"),
    )
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def unreachable_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    return f"postgresql://postgres@127.0.0.1:{port}/conduit"


def test_an_unreadable_query_log_fails_before_touching_the_database(tmp_path: Path):
    log = tmp_path / "binary.jsonl"
    log.write_bytes(b"\xff\xfe\x00garbage")
    result = conduit(unreachable_url(), "db", "analyze", "--query-log", str(log))
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot read the query log {log}")


def test_an_unreachable_server_fails_with_one_line_and_a_hint():
    result = conduit(unreachable_url(), "db", "analyze")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "hint:" in line
    assert "Traceback" not in result.output
