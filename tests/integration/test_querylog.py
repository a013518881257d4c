"""The query log: what an engine runs is appended as JSON lines and read back de-duplicated."""

from __future__ import annotations

import json
import math
import stat
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from conduit.db.engine import create_engine
from conduit.db.querylog import QueryLog, decode_params, encode_params, normalise_sql
from conduit.domain.articles.models import Article
from conduit.domain.users.models import User
from conduit.settings import Settings
from conduit.tooling.querylog import QueryLogError, read_query_log


@pytest.fixture
async def logged(settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, QueryLog]]:
    engine = create_engine(settings.database)
    log = QueryLog(tmp_path / "logs" / "queries.jsonl")
    log.install(engine)
    try:
        yield engine, log
    finally:
        log.close()
        await engine.dispose()


async def test_statements_the_engine_runs_are_written_and_read_back_deduplicated(
    logged: tuple[AsyncEngine, QueryLog],
):
    engine, log = logged
    user_id = uuid.uuid4()
    async with engine.connect() as conn:
        outer = await conn.begin()
        for name in ("ann", "bob", "cyd"):
            await conn.execute(select(User.id).where(User.username == name))
        await conn.execute(select(func.count()).select_from(Article))
        async with conn.begin_nested():
            await conn.execute(
                insert(User).values(
                    id=user_id, email="q@example.com", username="q", password_hash="x"
                )
            )
        await outer.rollback()
    log.close()

    contents = read_query_log(log.path)
    by_sql = {s.normalised: s for s in contents.statements}
    assert contents.invalid_lines == 0
    assert contents.lines == 5  # BEGIN, SAVEPOINT and friends are not statements worth logging
    assert len(by_sql) == 3
    users = next(s for sql, s in by_sql.items() if "FROM users" in sql)
    assert users.calls == 3
    assert users.params in {("ann",), ("bob",), ("cyd",)}
    assert users.total_ms >= users.max_ms > 0
    (inserted,) = (s for sql, s in by_sql.items() if sql.startswith("INSERT INTO users"))
    assert inserted.dialect == engine.dialect.name
    assert inserted.driver == engine.dialect.driver
    # The id comes back as the very value the driver was given: a UUID for asyncpg, its hex
    # string for SQLite, its 16 bytes for MySQL.
    expected = {"postgresql": user_id, "mysql": user_id.bytes}.get(engine.dialect.name, user_id.hex)
    assert expected in inserted.params
    assert not any(s.normalised.startswith(("BEGIN", "SAVEPOINT")) for s in contents.statements)


async def test_executemany_is_logged_once_with_its_first_parameter_set(
    logged: tuple[AsyncEngine, QueryLog],
):
    engine, log = logged
    async with engine.connect() as conn:
        outer = await conn.begin()
        await conn.execute(
            text("INSERT INTO tags (name) VALUES (:name)"), [{"name": "one"}, {"name": "two"}]
        )
        await outer.rollback()
    log.close()
    lines = [json.loads(line) for line in log.path.read_text().splitlines()]
    (entry,) = (e for e in lines if e["sql"].startswith("INSERT INTO tags"))
    assert entry["many"] == 2
    assert decode_params(entry["params"]) == ("one",)


async def test_the_log_file_is_readable_by_its_owner_only(logged: tuple[AsyncEngine, QueryLog]):
    engine, log = logged
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600


async def test_a_removed_log_records_nothing_more(logged: tuple[AsyncEngine, QueryLog]):
    engine, log = logged
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        log.remove(engine)
        await conn.execute(text("SELECT 2"))
    log.close()
    assert [s.normalised for s in read_query_log(log.path).statements] == ["SELECT ?"]
    assert read_query_log(log.path).lines == 1


def test_parameters_of_every_driver_type_survive_the_round_trip():
    params = (
        None,
        True,
        7,
        2.5,
        "text",
        uuid.uuid4(),
        datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5),
        date(2026, 1, 2),
        time(12, 30),
        timedelta(seconds=90.5),
        Decimal("12.3400"),
        b"\x00\xff",
        ["a", "b"],
        (1, "x"),
        {"key": [1, 2]},
    )
    decoded = decode_params(json.loads(json.dumps(encode_params(params))))
    assert decoded == params
    assert [type(v) for v in decoded] == [type(v) for v in params]
    (nan,) = decode_params(json.loads(json.dumps(encode_params((math.nan,)))))
    assert math.isnan(nan)


def test_a_parameter_that_cannot_be_rebuilt_makes_its_statement_unreplayable(tmp_path: Path):
    log = QueryLog(tmp_path / "q.jsonl")
    log.write(
        sql="SELECT $1",
        params=(object(),),
        dialect="postgresql",
        driver="asyncpg",
        paramstyle="numeric_dollar",
        ms=1.0,
    )
    log.close()
    (statement,) = read_query_log(log.path).statements
    assert statement.unreplayable is not None
    assert "repr" in statement.unreplayable


def test_unreadable_lines_are_counted_and_skipped(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    good = {"sql": "SELECT 1", "ms": 1, "dialect": "postgresql", "params": []}
    path.write_text(f"{json.dumps(good)}\nnot json\n{{}}\n\n{json.dumps(good)}\n")
    contents = read_query_log(path)
    assert contents.lines == 4
    assert contents.invalid_lines == 2
    (statement,) = contents.statements
    assert statement.calls == 2


def test_a_file_that_is_not_a_query_log_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(QueryLogError, match="cannot read the query log"):
        read_query_log(path)
    with pytest.raises(QueryLogError, match="No such file"):
        read_query_log(tmp_path / "missing.jsonl")


def test_concurrent_writers_append_whole_lines(tmp_path: Path):
    path = tmp_path / "q.jsonl"
    writers = [QueryLog(path), QueryLog(path)]
    long_sql = "SELECT " + ", ".join(f"{n} AS c{n}" for n in range(2000))

    def write(log: QueryLog) -> None:
        for n in range(200):
            log.write(
                sql=long_sql,
                params=(n,),
                dialect="postgresql",
                driver="asyncpg",
                paramstyle="numeric_dollar",
                ms=0.1,
            )

    threads = [threading.Thread(target=write, args=(log,)) for log in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for log in writers:
        log.close()
    contents = read_query_log(path)
    assert (contents.lines, contents.invalid_lines) == (400, 0)
    assert contents.statements[0].calls == 400


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "SELECT * FROM t WHERE id IN ($1::INTEGER, $2::INTEGER)",
            "SELECT * FROM t WHERE id IN ($1::INTEGER)",
        ),
        (
            "SELECT * FROM t WHERE name = 'ann' AND n > 3",
            "SELECT * FROM t WHERE name = 'o''brien' AND n > 42",
        ),
        ("INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)", "INSERT INTO t (a, b) VALUES ($1, $2)"),
        (
            "SELECT a FROM t /* request 1 */ WHERE x = ARRAY[$1, $2]",
            "SELECT a\n  FROM t WHERE x = ARRAY[$1]",
        ),
        (
            "SELECT * FROM t WHERE at < $1::TIMESTAMP WITH TIME ZONE AND k IN ($2::UUID, $3::UUID)",
            "SELECT * FROM t WHERE at < $1::TIMESTAMP WITH TIME ZONE AND k IN ($2::UUID)",
        ),
    ],
)
def test_runs_that_differ_only_in_values_normalise_alike(a: str, b: str):
    assert normalise_sql(a) == normalise_sql(b)


def test_different_queries_stay_apart_after_normalising():
    assert normalise_sql("SELECT a FROM t1 WHERE x = $1") != normalise_sql(
        "SELECT a FROM t2 WHERE x = $1"
    )
    assert normalise_sql("SELECT a FROM t WHERE x = $1") == "SELECT a FROM t WHERE x = ?"
