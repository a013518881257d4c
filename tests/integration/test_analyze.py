"""The index and query advisor on real PostgreSQL databases built for each finding."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from conduit.db.migrations import Migrations
from conduit.db.querylog import QueryLog
from conduit.tooling.advisor.analyze import (
    AnalysisNeedsPostgres,
    AnalysisOptions,
    Finding,
    Report,
    Severity,
    analyze,
)
from tests.conftest import (
    MIGRATIONS_DIR,
    make_settings,
    postgres_required,
    postgres_server_url,
)
from tests.scratch import Scratch

SHOP_ROWS = 100_000
EMAIL_QUERY = "SELECT id, amount FROM orders WHERE email = :email"
CUSTOMER_STATUS_QUERY = "SELECT id FROM orders WHERE customer_id = :customer AND status = :status"

SHOP_SCHEMA = [
    "CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text)",
    "INSERT INTO customers (name) SELECT 'customer ' || g FROM generate_series(1, 1000) g",
    # The foreign key has no index: deleting a customer scans orders.
    """CREATE TABLE orders (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        customer_id bigint NOT NULL REFERENCES customers (id),
        email text NOT NULL,
        status text NOT NULL,
        amount numeric NOT NULL,
        created_at timestamptz NOT NULL
    )""",
    f"""INSERT INTO orders (customer_id, email, status, amount, created_at)
        SELECT 1 + g % 1000, 'buyer' || g || '@example.com',
               (ARRAY['new', 'paid', 'shipped', 'done', 'void'])[1 + g % 5],
               g % 997, now() - g * interval '1 minute'
        FROM generate_series(1, {SHOP_ROWS}) g""",
    # ix_orders_created_at is a prefix of ix_orders_created_at_status: a duplicate.
    "CREATE INDEX ix_orders_created_at ON orders (created_at)",
    "CREATE INDEX ix_orders_created_at_status ON orders (created_at, status)",
    "ANALYZE customers",
    "ANALYZE orders",
]


@dataclass(frozen=True, slots=True)
class Shop:
    url: URL
    query_log: Path


def engine_for(url: URL) -> AsyncEngine:
    return create_async_engine(url, isolation_level="AUTOCOMMIT")


@asynccontextmanager
async def shop_database(scratch: Scratch, log_dir: Path) -> AsyncIterator[Shop]:
    """A scratch database with an unindexed foreign key, a duplicate index and a slow filter
    that the service ran (recorded in a query log) often enough to dominate the table's scans."""
    async with scratch.url("postgresql", prefix="conduit_analyze", migrated=False) as url:
        yield await build_shop(url, log_dir)


async def build_shop(url: URL, log_dir: Path) -> Shop:
    query_log = log_dir / "queries.jsonl"
    engine = engine_for(url)
    try:
        async with engine.connect() as conn:
            for statement in SHOP_SCHEMA:
                await conn.execute(text(statement))
        log = QueryLog(query_log)
        log.install(engine)
        async with engine.connect() as conn:
            for n in range(12):
                await conn.execute(text(EMAIL_QUERY), {"email": f"buyer{n}@example.com"})
            await conn.execute(text(CUSTOMER_STATUS_QUERY), {"customer": 7, "status": "paid"})
        log.close()
    finally:
        await engine.dispose()
    await wait_for_seq_scans(url, table="orders", at_least=10)
    return Shop(url=url, query_log=query_log)


async def wait_for_seq_scans(url: URL, *, table: str, at_least: int) -> None:
    # Backends publish their statistics shortly after they go idle or exit.
    engine = engine_for(url)
    try:
        for _ in range(100):
            async with engine.connect() as conn:
                scans = (
                    await conn.execute(
                        text("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = :t"),
                        {"t": table},
                    )
                ).scalar_one()
            if scans >= at_least:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{table} shows {scans} sequential scans, expected {at_least}")
    finally:
        await engine.dispose()


async def run_analyze(url: URL, **options: object) -> Report:
    engine = create_async_engine(url)
    try:
        return await asyncio.wait_for(
            analyze(engine, options=AnalysisOptions(**options)),  # type: ignore[arg-type]
            timeout=60,
        )
    finally:
        await engine.dispose()


async def require_hypopg(url: URL) -> None:
    """Skip (or, where PostgreSQL is required, fail) when the server lacks hypopg."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = (
                await conn.execute(
                    text("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'")
                )
            ).scalar_one_or_none()
    finally:
        await engine.dispose()
    if found is None:
        reason = (
            "hypopg is not installed on the server: apt-get install postgresql-<version>-hypopg"
        )
        if postgres_required():
            pytest.fail(reason)
        pytest.skip(reason)


def findings(report: Report, check: str) -> list[Finding]:
    return [f for f in report.findings if f.check == check]


@pytest.fixture(scope="module")
async def shop_report(shop: Shop) -> Report:
    return await run_analyze(shop.url, query_log=shop.query_log)


@pytest.fixture
async def scratch_url(scratch_databases: Scratch) -> AsyncIterator[URL]:
    async with scratch_databases.url("postgresql", prefix="conduit_analyze", migrated=False) as url:
        yield url


async def test_unindexed_foreign_key_is_a_warning_with_its_create_index(shop_report: Report):
    (finding,) = findings(shop_report, "unindexed_foreign_key")
    assert finding.severity is Severity.WARNING
    assert finding.object == "public.orders.orders_customer_id_fkey"
    assert finding.fix == (
        "CREATE INDEX CONCURRENTLY ix_orders_customer_id ON public.orders (customer_id);"
    )
    assert "customers" in finding.why


async def test_index_that_is_a_prefix_of_another_is_a_duplicate_to_drop(shop_report: Report):
    (finding,) = findings(shop_report, "duplicate_index")
    assert finding.severity is Severity.WARNING
    assert finding.object == "public.ix_orders_created_at"
    assert "is a prefix of public.ix_orders_created_at_status" in finding.message
    assert finding.fix == "DROP INDEX CONCURRENTLY public.ix_orders_created_at;"


async def test_never_scanned_indexes_are_info_with_the_statistics_reset_time(
    shop_report: Report,
):
    unused = {f.object: f for f in findings(shop_report, "unused_index")}
    assert set(unused) == {"public.ix_orders_created_at", "public.ix_orders_created_at_status"}
    assert all(f.severity is Severity.INFO for f in unused.values())
    # The primary keys were never scanned either, but they enforce a constraint.
    assert "public.orders_pkey" not in unused
    notes = " ".join(shop_report.section("unused_indexes").notes)
    assert "statistics" in notes
    assert "never reset" in notes or "reset at" in notes


async def test_table_read_by_sequential_scans_is_a_warning(shop_report: Report):
    (finding,) = findings(shop_report, "sequential_scans")
    assert finding.object == "public.orders"
    assert finding.severity is Severity.WARNING
    assert finding.details["seq_scan"] >= 10


async def test_sequential_scan_threshold_is_an_option(shop: Shop):
    report = await run_analyze(shop.url, seq_scan_min_rows=SHOP_ROWS * 10)
    assert findings(report, "sequential_scans") == []


async def test_hypothetical_index_for_the_slow_filter_halves_its_cost(
    shop: Shop, shop_report: Report
):
    await require_hypopg(shop.url)
    advice = {f.object: f for f in findings(shop_report, "index_advice")}
    email = advice["public.orders (email)"]
    assert email.severity is Severity.WARNING
    assert email.fix == "CREATE INDEX CONCURRENTLY ix_orders_email ON public.orders (email);"
    assert email.details["cost_after"] <= email.details["cost_before"] / 2
    assert email.details["reduction"] >= 0.5
    (statement,) = email.details["statements"]
    assert statement["calls"] == 12
    assert "WHERE email = ?" in statement["sql"]


async def test_two_filter_columns_get_a_multi_column_index(shop: Shop, shop_report: Report):
    await require_hypopg(shop.url)
    advice = {f.object: f for f in findings(shop_report, "index_advice")}
    both = advice["public.orders (customer_id, status)"]
    assert both.fix == (
        "CREATE INDEX CONCURRENTLY ix_orders_customer_id_status "
        "ON public.orders (customer_id, status);"
    )
    assert both.details["reduction"] >= 0.5


async def test_plan_advice_leaves_no_extension_or_index_behind(shop: Shop, shop_report: Report):
    engine = create_async_engine(shop.url)
    try:
        async with engine.connect() as conn:
            extensions = (await conn.execute(text("SELECT extname FROM pg_extension"))).scalars()
            indexes = (
                await conn.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
                )
            ).scalars()
            assert "hypopg" not in set(extensions)
            assert set(indexes) == {
                "orders_pkey",
                "ix_orders_created_at",
                "ix_orders_created_at_status",
            }
    finally:
        await engine.dispose()


async def test_without_hypopg_the_candidates_are_unverified_info(
    shop: Shop, scratch_databases: Scratch
):
    # A role that may not create extensions (hypopg is not a trusted extension) sees the
    # degraded path: a note saying why, and the plan's candidates as unverified info.
    role = f"conduit_reader_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(
        scratch_databases.server("postgresql").url, isolation_level="AUTOCOMMIT"
    )
    owner = engine_for(shop.url)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"CREATE ROLE {role} LOGIN"))
        async with owner.connect() as conn:
            await conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        report = await run_analyze(shop.url.set(username=role), query_log=shop.query_log)
    finally:
        async with owner.connect() as conn:
            await conn.execute(text(f"DROP OWNED BY {role}"))
        await owner.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        await admin.dispose()
    assert findings(report, "index_advice") == []
    notes = " ".join(report.section("plans").notes)
    assert "cannot create it" in notes
    candidates = {f.object: f for f in findings(report, "index_candidate")}
    assert candidates["public.orders (email)"].severity is Severity.INFO
    assert candidates["public.orders (email)"].fix == (
        "CREATE INDEX CONCURRENTLY ix_orders_email ON public.orders (email);"
    )


async def test_project_schema_at_head_has_no_warnings(scratch_url: URL):
    await Migrations(make_settings(scratch_url).database, script_location=MIGRATIONS_DIR).upgrade()
    report = await run_analyze(scratch_url)
    assert report.at_or_above(Severity.WARNING) == [], [
        f.message for f in report.at_or_above(Severity.WARNING)
    ]
    assert findings(report, "unindexed_foreign_key") == []
    assert findings(report, "duplicate_index") == []


async def make_invalid_index(url: URL) -> None:
    """Leave ``ix_t_v`` invalid: a unique index built concurrently over duplicates fails."""
    engine = engine_for(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TABLE t (v int)"))
            await conn.execute(text("INSERT INTO t VALUES (1), (1)"))
            with pytest.raises(Exception, match="could not create unique index"):
                await conn.execute(text("CREATE UNIQUE INDEX CONCURRENTLY ix_t_v ON t (v)"))
    finally:
        await engine.dispose()


async def test_invalid_index_is_an_error_with_drop_and_recreate(scratch_url: URL):
    await make_invalid_index(scratch_url)
    report = await run_analyze(scratch_url)
    (finding,) = findings(report, "invalid_index")
    assert finding.severity is Severity.ERROR
    assert finding.object == "public.ix_t_v"
    assert finding.fix is not None
    assert finding.fix.startswith("DROP INDEX CONCURRENTLY public.ix_t_v;\n")
    assert "CREATE UNIQUE INDEX CONCURRENTLY ix_t_v ON public.t USING btree (v);" in finding.fix
    # An invalid index is neither a duplicate nor unused: it is broken.
    assert findings(report, "unused_index") == []


async def test_missing_pg_stat_statements_says_how_to_enable_it(scratch_url: URL):
    report = await run_analyze(scratch_url)
    (finding,) = findings(report, "pg_stat_statements_missing")
    assert finding.severity is Severity.INFO
    assert finding.fix is not None
    assert "shared_preload_libraries" in finding.fix
    assert "CREATE EXTENSION IF NOT EXISTS pg_stat_statements;" in finding.fix


async def test_blocked_and_idle_in_transaction_sessions_are_reported(scratch_url: URL):
    engine = create_async_engine(scratch_url)
    try:
        async with engine.connect() as setup:
            await setup.execute(text("CREATE TABLE locked (id int)"))
            await setup.commit()
        async with engine.connect() as holder, engine.connect() as waiter:
            await holder.execute(text("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE"))
            holder_pid = (await holder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            waiter_pid = (await waiter.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await waiter.commit()
            blocked = asyncio.create_task(waiter.execute(text("SELECT count(*) FROM locked")))
            await wait_until_waiting(engine, waiter_pid)
            report = await run_analyze(scratch_url, long_running_seconds=0.0)
            await holder.rollback()
            await blocked
    finally:
        await engine.dispose()
    (waiting,) = findings(report, "blocked_query")
    assert waiting.details["pid"] == waiter_pid
    assert waiting.details["blocked_by"] == [holder_pid]
    # The holder is idle in its transaction: only ending its session releases the lock.
    assert waiting.fix == f"SELECT pg_terminate_backend({holder_pid});"
    (idle,) = findings(report, "idle_in_transaction")
    assert idle.details["pid"] == holder_pid
    (states,) = findings(report, "connections_by_state")
    # (The pool also keeps the idle connection that watched the waiter.)
    assert states.details["by_state"]["active"] == 1
    assert states.details["by_state"]["idle in transaction"] == 1


async def wait_until_waiting(engine: AsyncEngine, pid: int) -> None:
    async with engine.connect() as conn:
        for _ in range(100):
            waiting = (
                await conn.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid},
                )
            ).scalar_one_or_none()
            await conn.rollback()
            if waiting == "Lock":
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"pid {pid} never waited for the lock")


async def test_sqlite_is_refused_with_a_plain_reason(tmp_path: Path):
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(AnalysisNeedsPostgres, match="needs PostgreSQL"):
            await analyze(engine)
    finally:
        await engine.dispose()


# pg_stat_statements needs shared_preload_libraries, which the shared server must keep as it
# is: this test starts a private cluster of its own on a free loopback port and always stops it.


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[URL]:
    if postgres_server_url() is None:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("initdb is not installed: no private cluster for pg_stat_statements")
    root = Path(tempfile.mkdtemp(prefix="conduit-pgss-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root; the postgres system account runs the cluster.
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    pg_ctl = [*prefix, str(bindir / "pg_ctl"), "-D", str(data)]
    server_options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c shared_preload_libraries=pg_stat_statements"
    )
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [*pg_ctl, "-l", str(root / "server.log"), "-w", "-t", "60", "-o", server_options,
             "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        yield URL.create(
            "postgresql+asyncpg", username="postgres", host="127.0.0.1", port=port,
            database="postgres",
        )  # fmt: skip
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60, check=False
        )
        shutil.rmtree(root, ignore_errors=True)


async def test_slowest_statements_come_from_pg_stat_statements(private_cluster: URL):
    engine = create_async_engine(private_cluster)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            await conn.execute(text("SELECT pg_stat_statements_reset()"))
            for _ in range(2):
                await conn.execute(text("SELECT pg_sleep(0.15)"))
            await conn.execute(text("SELECT 1"))
            await conn.commit()
    finally:
        await engine.dispose()
    report = await run_analyze(private_cluster, slow_statement_ms=100.0, top_statements=5)
    section = report.section("slow_statements")
    assert findings(report, "pg_stat_statements_missing") == []
    sleep = [f for f in section.findings if "pg_sleep" in f.message]
    assert len(sleep) == 1
    assert sleep[0].severity is Severity.WARNING
    assert sleep[0].details["calls"] == 2
    assert sleep[0].details["mean_exec_time"] >= 100
    # The advisor's own catalog queries are not listed among the application's statements.
    assert not any("conduit db analyze" in f.message for f in section.findings)
