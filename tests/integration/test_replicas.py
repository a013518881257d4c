"""Reads on streaming replicas and read-your-writes, on a real primary and two real replicas.

``scripts/topology.sh`` starts the primary and the replicas; two ``conduit serve`` processes read
from them: one whose lag limit no pause in these tests reaches (the read-your-writes tests), one
with a limit of half a second (the tests of replicas going stale). Which server served a read is
read from the per-target counter of ``/metrics``, never guessed from timing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scripts import topology as topo

from conduit.db import url as db_url
from conduit.db.replicas import format_position, parse_position
from conduit.http.read_after import COOKIE, HEADER
from tests.integration.cli.support import conduit, one_error_line
from tests.integration.topology_support import running_topology
from tests.live_server import LiveServer, serving

pytestmark = pytest.mark.postgres_only

DEADLINE_S = 30.0
# The first server's limit: no pause in these tests comes near it.
PATIENT_LAG_MS = 120_000
STRICT_LAG_MS = 500
CHECK_INTERVAL_S = 0.2
PASSWORD = "password123"


@pytest.fixture(scope="module")
def topology() -> Iterator[topo.Topology]:
    # HAProxy, PgBouncer, the primary and two replicas; the servers under test are the tests'.
    with running_topology("--replicas", "2", "--instances", "0", ports=5) as topology:
        migrated = conduit(topology.direct_url, "migrate", "upgrade")
        assert migrated.exit_code == 0, migrated.output
        yield topology


@contextmanager
def _server(
    topology: topo.Topology, workdir: Path, *, max_lag_ms: int, **env: str
) -> Iterator[LiveServer]:
    settings = {
        "DATABASE_REPLICA_URLS": ",".join(topology.replica_urls),
        "REPLICA_MAX_LAG_MS": str(max_lag_ms),
        "REPLICA_CHECK_INTERVAL_S": str(CHECK_INTERVAL_S),
        "RATE_LIMIT_ENABLED": "false",
        **env,
    }
    with serving(db_url.parse(topology.direct_url), workdir, env=settings) as server:
        yield server


@pytest.fixture(scope="module")
def patient(
    topology: topo.Topology, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with _server(topology, tmp_path_factory.mktemp("patient"), max_lag_ms=PATIENT_LAG_MS) as s:
        yield s


@pytest.fixture(scope="module")
def strict(
    topology: topo.Topology, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with _server(topology, tmp_path_factory.mktemp("strict"), max_lag_ms=STRICT_LAG_MS) as s:
        yield s


@pytest.fixture(scope="module")
def token(patient: LiveServer, topology: topo.Topology) -> str:
    """A user registered (and replayed on every replica) before any test pauses replay."""
    name = f"reader{uuid.uuid4().hex[:8]}"
    body = {"user": {"username": name, "email": f"{name}@example.com", "password": PASSWORD}}
    response = httpx.post(f"{patient.base_url}/api/users", json=body, timeout=30)
    assert response.status_code == 201, response.text
    _wait_replayed(topology, ["replica1", "replica2"], response.headers[HEADER])
    return str(response.json()["user"]["token"])


# --- helpers ------------------------------------------------------------------------------------


def _metric(server: LiveServer, name: str) -> dict[str, float]:
    """The samples of one metric family by their ``target`` label ("" when it has none)."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return {sample.labels.get("target", ""): sample.value for sample in family.samples}
    return {}


def _reads(server: LiveServer) -> dict[str, int]:
    return {target: int(value) for target, value in _metric(server, "conduit_db_reads").items()}


def _served(server: LiveServer, topology: topo.Topology, work: Callable[[], None]) -> list[int]:
    """Reads by [primary, replica1, replica2] while ``work`` runs."""
    targets = ["primary", *(_name(topology, r) for r in ("replica1", "replica2"))]
    before = _reads(server)
    work()
    after = _reads(server)
    return [after.get(t, 0) - before.get(t, 0) for t in targets]


def _name(topology: topo.Topology, replica: str) -> str:
    return f"{topo.HOST}:{topology.part(replica).port}"


def _healthy(server: LiveServer, topology: topo.Topology, replica: str) -> bool:
    return _metric(server, "conduit_db_replica_healthy").get(_name(topology, replica)) == 1.0


def _wait(what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S:g} s: {what}"
        time.sleep(0.05)


def _checked_again(server: LiveServer) -> None:
    """Returns once a whole round of the background check has started after the call."""
    rounds = _metric(server, "conduit_db_replica_checks")[""]
    _wait(
        "two more check rounds",
        lambda: _metric(server, "conduit_db_replica_checks")[""] >= rounds + 2,
    )


def _stale(server: LiveServer, topology: topo.Topology, replica: str) -> bool:
    return not _healthy(server, topology, replica)


def _psql(topology: topo.Topology, part: str, sql: str) -> list[list[str]]:
    return topo.psql(topology.part(part).port, sql, database=topology.database)


def _pause(topology: topo.Topology, *replicas: str) -> None:
    for replica in replicas:
        _psql(topology, replica, "SELECT pg_wal_replay_pause()")
        _wait(f"{replica} paused", partial(_paused, topology, replica))


def _paused(topology: topo.Topology, replica: str) -> bool:
    return _psql(topology, replica, "SELECT pg_get_wal_replay_pause_state()") == [["paused"]]


def _resume(topology: topo.Topology, *replicas: str) -> None:
    for replica in replicas:
        if topo.running_pid(topology.part(replica)) is not None:
            _psql(topology, replica, "SELECT pg_wal_replay_resume()")


def _replayed(topology: topo.Topology, replica: str, position: str) -> bool:
    sql = f"SELECT pg_last_wal_replay_lsn() >= '{position}'::pg_lsn"
    return _psql(topology, replica, sql) == [["t"]]


def _wait_replayed(topology: topo.Topology, replicas: list[str], position: str) -> None:
    for replica in replicas:
        _wait(f"{replica} replays {position}", partial(_replayed, topology, replica, position))


def _article(server: LiveServer, token: str) -> httpx.Response:
    title = f"Replicated {uuid.uuid4().hex[:10]}"
    body = {"article": {"title": title, "description": "d", "body": "b", "tagList": []}}
    response = httpx.post(
        f"{server.base_url}/api/articles",
        json=body,
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response


# --- tests --------------------------------------------------------------------------------------


def test_gets_are_served_by_the_healthy_replicas_in_turn(
    patient: LiveServer, topology: topo.Topology, token: str
) -> None:
    def ten_lists() -> None:
        for _ in range(10):
            assert httpx.get(f"{patient.base_url}/api/articles", timeout=30).status_code == 200

    assert _served(patient, topology, ten_lists) == [0, 5, 5]
    # Each target's connections carry a name of their own.
    name = f"conduit (replica {_name(topology, 'replica1')})"
    sql = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{name}'"
    assert int(_psql(topology, "replica1", sql)[0][0]) >= 1


def test_a_malformed_position_header_is_refused(patient: LiveServer) -> None:
    response = httpx.get(
        f"{patient.base_url}/api/articles", headers={HEADER: "yesterday"}, timeout=30
    )

    assert response.status_code == 400
    assert response.json() == {"errors": {HEADER: ["is not a WAL position such as 0/16B3748"]}}


def test_a_write_answers_its_wal_position_as_a_header_and_a_cookie(
    patient: LiveServer, topology: topo.Topology, token: str
) -> None:
    response = _article(patient, token)

    position = response.headers[HEADER]
    assert format_position(parse_position(position)) == position
    [[at_least]] = _psql(topology, "primary", f"SELECT pg_current_wal_insert_lsn() >= '{position}'")
    assert at_least == "t"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={position}; Max-Age=")
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie


def test_a_read_with_the_position_goes_to_the_primary_until_a_replica_has_replayed_it(
    patient: LiveServer, topology: topo.Topology, token: str
) -> None:
    _pause(topology, "replica1", "replica2")
    try:
        with httpx.Client(base_url=patient.base_url, timeout=30) as browser:
            created = browser.post(
                "/api/articles",
                json={"article": {"title": f"Mine {uuid.uuid4().hex[:8]}", "description": "d",
                                  "body": "b", "tagList": []}},
                headers={"Authorization": f"Token {token}"},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            slug, position = created.json()["article"]["slug"], created.headers[HEADER]
            path = f"/api/articles/{slug}"
            # Both replicas are healthy (far within the limit) but behind the position.
            assert _healthy(patient, topology, "replica1")
            assert _healthy(patient, topology, "replica2")
            with_header: list[httpx.Response] = []
            with_cookie: list[httpx.Response] = []
            without: list[httpx.Response] = []

            assert _served(
                patient, topology,
                lambda: with_header.append(httpx.get(
                    f"{patient.base_url}{path}", headers={HEADER: position}, timeout=30)),
            ) == [1, 0, 0]  # fmt: skip
            assert with_header[0].status_code == 200, with_header[0].text
            # The browser's cookie jar sends the cookie by itself.
            assert _served(patient, topology, lambda: with_cookie.append(browser.get(path))) == [
                1,
                0,
                0,
            ]
            assert with_cookie[0].status_code == 200
            # What the position prevents: a replica that has not replayed the write.
            assert _served(
                patient, topology,
                lambda: without.append(httpx.get(f"{patient.base_url}{path}", timeout=30)),
            )[0] == 0  # fmt: skip
            assert without[0].status_code == 404

            _resume(topology, "replica1")
            _wait_replayed(topology, ["replica1"], position)
            _checked_again(patient)
            again: list[httpx.Response] = []

            assert _served(
                patient, topology,
                lambda: again.append(httpx.get(
                    f"{patient.base_url}{path}", headers={HEADER: position}, timeout=30)),
            ) == [0, 1, 0]  # fmt: skip
            assert again[0].status_code == 200
    finally:
        _resume(topology, "replica1", "replica2")


def test_replicas_lagging_past_the_limit_are_skipped_until_they_catch_up(
    strict: LiveServer, topology: topo.Topology, token: str
) -> None:
    def one_list() -> None:
        assert httpx.get(f"{strict.base_url}/api/articles", timeout=30).status_code == 200

    assert _served(strict, topology, one_list)[0] == 0  # a replica, while they keep up
    _pause(topology, "replica1", "replica2")
    try:
        position = _article(strict, token).headers[HEADER]
        for replica in ("replica1", "replica2"):
            _wait(f"{replica} stale", partial(_stale, strict, topology, replica))

        assert _served(strict, topology, one_list) == [1, 0, 0]

        _resume(topology, "replica1", "replica2")
        _wait_replayed(topology, ["replica1", "replica2"], position)
        for replica in ("replica1", "replica2"):
            _wait(f"{replica} healthy", partial(_healthy, strict, topology, replica))

        assert _served(strict, topology, one_list)[0] == 0
    finally:
        _resume(topology, "replica1", "replica2")


def test_db_check_shows_each_replicas_lag(topology: topo.Topology, token: str) -> None:
    replicas = ",".join(topology.replica_urls)
    settled = conduit(topology.direct_url, "db", "check", "--json", DATABASE_REPLICA_URLS=replicas)
    assert settled.exit_code == 0, settled.output
    table = f"lag_probe_{uuid.uuid4().hex[:8]}"
    _pause(topology, "replica2")
    try:
        _psql(topology, "primary", f"CREATE TABLE {table} AS SELECT 1 AS x")
        [[written]] = _psql(topology, "primary", "SELECT pg_current_wal_lsn()")
        _wait_replayed(topology, ["replica1"], written)

        lagging = conduit(
            topology.direct_url, "db", "check", "--json",
            DATABASE_REPLICA_URLS=replicas, REPLICA_MAX_LAG_MS="0",
        )  # fmt: skip

        assert lagging.exit_code == 1
        first, second = json.loads(lagging.stdout)["replicas"]
        assert second["lag_bytes"] > first["lag_bytes"] >= 0
        assert second["lag_s"] > 0
        assert second["lagging"] is True
        assert "lag more than REPLICA_MAX_LAG_MS=0" in one_error_line(lagging)
    finally:
        _resume(topology, "replica2")
        _psql(topology, "primary", f"DROP TABLE IF EXISTS {table}")


def test_a_stopped_replica_is_skipped_and_reads_keep_working(
    patient: LiveServer, topology: topo.Topology, token: str
) -> None:
    replica2 = topology.part("replica2")
    assert topo.stop(replica2)
    _wait("replica2 out of rotation", lambda: not _healthy(patient, topology, "replica2"))
    statuses: list[int] = []

    def six_lists() -> None:
        url = f"{patient.base_url}/api/articles"
        statuses.extend(httpx.get(url, timeout=30).status_code for _ in range(6))

    assert _served(patient, topology, six_lists) == [0, 6, 0]
    assert statuses == [200] * 6


def test_a_read_that_cannot_reach_its_replica_goes_to_the_primary_and_takes_it_out(
    topology: topo.Topology, tmp_path: Path, token: str
) -> None:
    # Checked once at start and not again within the test: only the reads can notice the stop.
    # Every checkout pings, so a pooled connection to the stopped replica fails before use.
    with _server(
        topology, tmp_path, max_lag_ms=PATIENT_LAG_MS,
        REPLICA_CHECK_INTERVAL_S="3600", DB_POOL_PING_IDLE_S="0",
    ) as server:  # fmt: skip
        url = f"{server.base_url}/api/articles"
        statuses: list[int] = []

        def lists(count: int) -> Callable[[], None]:
            return lambda: statuses.extend(
                httpx.get(url, timeout=30).status_code for _ in range(count)
            )

        # replica2 was stopped above: only replica1 is in the rotation.
        assert _served(server, topology, lists(2)) == [0, 2, 0]
        rounds = _metric(server, "conduit_db_replica_checks")[""]
        assert topo.stop(topology.part("replica1"))

        assert _served(server, topology, lists(3)) == [3, 0, 0]
        assert statuses == [200] * 5
        assert not _healthy(server, topology, "replica1")
        assert _metric(server, "conduit_db_replica_checks")[""] == rounds  # no check ran
