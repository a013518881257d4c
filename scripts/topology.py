"""Conduit's production topology on loopback: primary, replicas, PgBouncer, instances, HAProxy.

    scripts/topology.sh up [--replicas N] [--sync] [--instances N] [--base-port P] [--dir D]
                           [--env NAME=VALUE ...]
    scripts/topology.sh status [--dir D] [--json]
    scripts/topology.sh down [--dir D]

``up`` starts, on 127.0.0.1 and from the base port up: HAProxy (the base port, the entry point)
round-robin over ``--instances`` ``conduit serve`` processes; PgBouncer in transaction mode (base
+ 1) in front of a PostgreSQL primary (base + 2); ``--replicas`` streaming replicas (base + 3 on),
each with its own physical replication slot, the first synchronous with ``--sync``; the
instances take the ports after the replicas. Everything lives in the topology's directory
(``--dir``); ``state.json`` there records every part (port, URL, pid, data directory, log) as it
starts, so that ``down`` stops exactly those processes and removes the directory, and tests and
benchmarks read URLs from it (:func:`load`).

Standard library only: it runs before any virtualenv exists, and PostgreSQL is queried with the
cluster's own ``psql``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "conduit-topology"  # noqa: S108
DEFAULT_BASE_PORT = 6400
STATE_FILE = "state.json"
HOST = "127.0.0.1"
PG_USER = "postgres"
# Debian package providing each program the topology runs besides PostgreSQL.
PACKAGES = {"pgbouncer": "pgbouncer", "haproxy": "haproxy"}
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class TopologyError(Exception):
    """A part failed to start or stop; the message says which and where its log is."""


# --- State --------------------------------------------------------------------------------------


@dataclass
class Part:
    """One started part: what ``status`` probes and ``down`` stops."""

    name: str
    kind: str  # primary | replica | pgbouncer | instance | haproxy
    port: int
    url: str
    log: str
    data_dir: str | None = None  # PostgreSQL: the cluster, stopped with pg_ctl
    pid: int | None = None  # others: the process, and its start time to recognise it by
    started: int | None = None


@dataclass
class Topology:
    """The contents of ``state.json``."""

    dir: str
    database: str
    secret_key: str
    app_url: str  # HAProxy ("" without instances)
    database_url: str  # through PgBouncer (what the instances use)
    direct_url: str  # the primary itself (migrations, session-level work)
    replica_urls: list[str]
    pgbouncer_version: str
    haproxy_version: str
    parts: list[Part] = field(default_factory=list)

    def part(self, name: str) -> Part:
        for part in self.parts:
            if part.name == name:
                return part
        raise KeyError(name)

    def of_kind(self, kind: str) -> list[Part]:
        return [part for part in self.parts if part.kind == kind]

    def save(self) -> None:
        path = Path(self.dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n")
        tmp.replace(path)


def load(directory: str | Path = DEFAULT_DIR) -> Topology:
    """The topology recorded in ``directory`` (raises FileNotFoundError when there is none)."""
    raw: dict[str, Any] = json.loads((Path(directory) / STATE_FILE).read_text())
    parts = [Part(**part) for part in raw.pop("parts")]
    return Topology(**raw, parts=parts)


# --- Processes ----------------------------------------------------------------------------------


def _as_postgres() -> dict[str, Any]:
    """Popen arguments that run a program as the postgres account when we are root.

    PostgreSQL (and PgBouncer) refuse to run as root.
    """
    if os.geteuid() != 0:
        return {}
    return {"user": PG_USER, "group": PG_USER, "extra_groups": []}


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        account = pwd.getpwnam(PG_USER)
        os.chown(path, account.pw_uid, account.pw_gid)


def _run(
    cmd: Sequence[str],
    *,
    as_postgres: bool = False,
    env: Mapping[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
    cwd: Path | None = None,
) -> str:
    """Run ``cmd`` to completion; its stdout, or TopologyError with its output."""
    kwargs = _as_postgres() if as_postgres else {}
    try:
        done = subprocess.run(  # noqa: S603 (the topology's own commands, no shell)
            list(cmd),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )
    except subprocess.TimeoutExpired as exc:
        raise TopologyError(f"{cmd[0]} did not finish within {timeout:g} s") from exc
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise TopologyError(f"{' '.join(cmd)} failed (exit {done.returncode}): {output}")
    return str(done.stdout)


def _spawn(
    cmd: Sequence[str],
    *,
    log: Path,
    as_postgres: bool = False,
    env: Mapping[str, str] | None = None,
) -> tuple[int, int]:
    """Start a long-running process in its own session, output to ``log``: (pid, start time)."""
    kwargs = _as_postgres() if as_postgres else {}
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 (the topology's own commands, no shell)
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=log.parent,
            start_new_session=True,
            **kwargs,
        )
    started = start_time(process.pid)
    if started is None:
        raise TopologyError(_with_log(f"{cmd[0]} exited as it started", log))
    return process.pid, started


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (None when it is gone).

    Recorded with each pid so that ``down`` never signals an unrelated process that reused it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22, counted after the command name (which may contain spaces and parentheses).
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None  # a zombie has exited; its parent has yet to reap it
    return int(fields[19])


def running_pid(part: Part) -> int | None:
    """The pid of the part's running process (a PostgreSQL server's postmaster), or None."""
    if part.data_dir is not None:
        return _postmaster_pid(Path(part.data_dir))
    if part.pid is not None and start_time(part.pid) == part.started:
        return part.pid
    return None


def _alive(part: Part) -> bool:
    return running_pid(part) is not None


def _postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the PostgreSQL server running on ``data_dir``, if one is."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if start_time(pid) is not None else None


def _wait(
    what: str,
    ready: Callable[[], bool],
    *,
    log: str,
    part: Part | None = None,
    timeout: float = START_TIMEOUT_S,
) -> None:
    """Poll ``ready`` until it holds; fail at the deadline, or at once if ``part`` has exited."""
    deadline = time.monotonic() + timeout
    while not ready():
        if part is not None and not _alive(part):
            raise TopologyError(_with_log(f"{what} exited while starting", Path(log)))
        if time.monotonic() > deadline:
            raise TopologyError(_with_log(f"{what} not ready within {timeout:g} s", Path(log)))
        time.sleep(0.2)


def _with_log(message: str, log: Path, lines: int = 15) -> str:
    """``message`` and the end of ``log``: a failed up removes the directory the log is in."""
    try:
        tail = log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return message
    return "\n    ".join([f"{message}; the end of {log.name}:", *tail])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers bind: connections of a stopped one left in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _http_status(url: str, *, timeout: float = 3.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback http)
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


# --- PostgreSQL ---------------------------------------------------------------------------------


def pg_bindir() -> Path:
    """PG_BIN, else the newest /usr/lib/postgresql/*/bin, else the directory of initdb on PATH."""
    if configured := os.environ.get("PG_BIN"):
        return Path(configured)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise TopologyError("PostgreSQL's initdb not found (hint: apt-get install -y postgresql)")
    return Path(initdb).parent


def psql(
    port: int, sql: str, *, database: str = "postgres", timeout: float = 5.0
) -> list[list[str]]:
    """Rows of ``sql`` run on 127.0.0.1:``port`` (fields split on the unit separator)."""
    out = _run(
        [
            str(pg_bindir() / "psql"), "-X", "-q", "-A", "-t", "-F", "\x1f",
            "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(port), "-U", PG_USER,
            "-d", database, "-c", sql,
        ],
        timeout=timeout,
        env={**os.environ, "PGCONNECT_TIMEOUT": "3"},
    )  # fmt: skip
    return [line.split("\x1f") for line in out.splitlines() if line]


def _pg_url(port: int, database: str) -> str:
    return f"postgresql://{PG_USER}@{HOST}:{port}/{database}"


def _pg_ctl_start(data_dir: Path, log: Path) -> None:
    _run(
        [str(pg_bindir() / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-w", "start"],
        as_postgres=True,
        cwd=data_dir.parent,
        timeout=90,
    )


def _server_config(*, port: int, name: str, fsync: bool) -> str:
    return "\n".join(
        [
            "",
            "# --- Conduit topology ---",
            f"listen_addresses = '{HOST}'",
            f"port = {port}",
            "unix_socket_directories = ''",  # TCP on loopback only: no socket path to clash
            # A standby's walreceiver reports cluster_name as its application_name, the name
            # synchronous_standby_names and pg_stat_replication know it by.
            f"cluster_name = '{name}'",
            "wal_level = replica",
            "max_wal_senders = 10",
            "max_replication_slots = 10",
            "hot_standby = on",
            "hot_standby_feedback = on",
            # Off by default: a killed process loses nothing (the OS keeps its writes); only an
            # OS crash would. --fsync for measurements that should pay for durable storage.
            f"fsync = {'on' if fsync else 'off'}",
            "",
        ]
    )


def _start_primary(topology: Topology, options: Options, port: int) -> None:
    data = Path(topology.dir) / "primary"
    log = Path(topology.dir) / "primary.log"
    data.mkdir(mode=0o700)
    _own(data)
    _run(
        [
            str(pg_bindir() / "initdb"), "-D", str(data), "-U", PG_USER, "--auth=trust",
            "--no-sync", "-E", "UTF8", "--locale=C.UTF-8",
        ],
        as_postgres=True,
        cwd=data.parent,
        timeout=120,
    )  # fmt: skip
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(_server_config(port=port, name="primary", fsync=options.fsync))
    _record(topology, Part("primary", "primary", port, topology.direct_url, str(log), str(data)))
    _pg_ctl_start(data, log)
    psql(port, f'CREATE DATABASE "{topology.database}"')


def _start_replica(topology: Topology, options: Options, index: int, port: int) -> None:
    name = f"replica{index}"
    data = Path(topology.dir) / name
    log = Path(topology.dir) / f"{name}.log"
    primary = topology.part("primary")
    data.mkdir(mode=0o700)
    _own(data)
    # -R writes standby.signal and primary_conninfo; -C -S creates the replica's own slot, so
    # the primary keeps the WAL it has not received yet.
    _run(
        [
            str(pg_bindir() / "pg_basebackup"), "-D", str(data), "-R", "-X", "stream",
            "-C", "-S", name, "--checkpoint=fast", "--no-sync",
            "-d", f"host={HOST} port={primary.port} user={PG_USER}",
        ],
        as_postgres=True,
        cwd=data.parent,
        timeout=120,
    )  # fmt: skip
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(_server_config(port=port, name=name, fsync=options.fsync))
    _record(
        topology, Part(name, "replica", port, _pg_url(port, topology.database), str(log), str(data))
    )
    _pg_ctl_start(data, log)


def _streaming(primary_port: int, names: Sequence[str]) -> bool:
    rows = psql(primary_port, "SELECT application_name, state FROM pg_stat_replication")
    streaming = {row[0] for row in rows if row[1] == "streaming"}
    return set(names) <= streaming


def _make_synchronous(topology: Topology, name: str) -> None:
    port = topology.part("primary").port
    psql(port, f"ALTER SYSTEM SET synchronous_standby_names = '{name}'")
    psql(port, "SELECT pg_reload_conf()")
    _wait(
        f"{name} as synchronous standby",
        lambda: [row[0] for row in psql(port, _SYNC_STATE.format(name=name))] == ["sync"],
        log=topology.part(name).log,
    )


_SYNC_STATE = "SELECT sync_state FROM pg_stat_replication WHERE application_name = '{name}'"


# --- PgBouncer, Conduit, HAProxy ----------------------------------------------------------------


def _start_pgbouncer(topology: Topology, port: int) -> None:
    home = Path(topology.dir) / "pgbouncer"
    home.mkdir()
    _own(home)
    primary = topology.part("primary")
    (home / "userlist.txt").write_text(f'"{PG_USER}" ""\n')
    ini = home / "pgbouncer.ini"
    ini.write_text(
        "\n".join(
            [
                "[databases]",
                # Any database name goes to the primary: the tests' scratch databases too.
                f"* = host={HOST} port={primary.port}",
                "",
                "[pgbouncer]",
                f"listen_addr = {HOST}",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {home / 'userlist.txt'}",
                f"admin_users = {PG_USER}",
                "pool_mode = transaction",
                "max_client_conn = 1000",
                "default_pool_size = 20",
                # Startup parameters PgBouncer cannot pass on to a pooled server connection are
                # refused unless listed here. Conduit sends none with DB_PGBOUNCER=true; some
                # drivers (psycopg, JDBC) send extra_float_digits.
                "ignore_startup_parameters = extra_float_digits",
                "",
            ]
        )
    )
    for path in (home / "userlist.txt", ini):
        _own(path)
    log = Path(topology.dir) / "pgbouncer.log"
    pid, started = _spawn(["pgbouncer", str(ini)], log=log, as_postgres=True)
    part = Part("pgbouncer", "pgbouncer", port, topology.database_url, str(log), None, pid, started)
    _record(topology, part)
    _wait("pgbouncer", lambda: _answers(port, topology.database), log=str(log), part=part)


def _answers(port: int, database: str) -> bool:
    try:
        return psql(port, "SELECT 1", database=database) == [["1"]]
    except TopologyError:
        return False


def conduit_bin() -> Path:
    """CONDUIT_BIN, else the checkout's .venv/bin/conduit."""
    return Path(os.environ.get("CONDUIT_BIN") or ROOT / ".venv" / "bin" / "conduit")


def _instance_env(topology: Topology, options: Options) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": topology.database_url,
        # Start-up migrations hold a session-level advisory lock: straight to the primary.
        "DATABASE_DIRECT_URL": topology.direct_url,
        "DATABASE_REPLICA_URLS": ",".join(topology.replica_urls),
        "DB_PGBOUNCER": "true",
        # One signing key for all instances: a token from one is valid on the others.
        "SECRET_KEY": topology.secret_key,
        "PYTHONUNBUFFERED": "1",
        **dict(options.env),
    }


def _start_instances(topology: Topology, options: Options, ports: Sequence[int]) -> None:
    # All at once, each migrating the database at start: the advisory lock makes one of them
    # apply the migrations and the others find the schema at head.
    env = _instance_env(topology, options)
    parts = []
    for index, port in enumerate(ports, start=1):
        name = f"instance{index}"
        log = Path(topology.dir) / f"{name}.log"
        cmd = [
            str(conduit_bin()), "serve", "--host", HOST, "--port", str(port),
            "--workers", str(options.workers),
        ]  # fmt: skip
        pid, started = _spawn(cmd, log=log, env=env)
        part = Part(name, "instance", port, f"http://{HOST}:{port}", str(log), None, pid, started)
        _record(topology, part)
        parts.append(part)
    for part in parts:
        _wait(part.name, _ready_check(part.url), log=part.log, part=part)


def _ready_check(url: str) -> Callable[[], bool]:
    return lambda: _http_status(f"{url}/health/ready") == 200


def _start_haproxy(topology: Topology, port: int) -> None:
    home = Path(topology.dir) / "haproxy"
    home.mkdir()
    servers = [
        f"    server {part.name} {HOST}:{part.port}" for part in topology.of_kind("instance")
    ]
    cfg = home / "haproxy.cfg"
    cfg.write_text(
        "\n".join(
            [
                "global",
                "    maxconn 4096",
                f"    stats socket {home / 'admin.sock'} mode 600 level admin",
                "",
                "defaults",
                "    mode http",
                "    timeout connect 2s",
                "    timeout client 60s",
                "    timeout server 60s",
                "    timeout check 3s",
                # A request whose instance refuses the connection (just stopped, not yet marked
                # DOWN) goes to another one: nothing was sent, so even a POST is safe to retry.
                "    retries 2",
                "    option redispatch",
                "",
                "frontend conduit",
                f"    bind {HOST}:{port}",
                "    default_backend conduit",
                "",
                "backend conduit",
                "    balance roundrobin",
                # /health/ready answers 503 when the instance cannot reach the database.
                "    option httpchk",
                "    http-check send meth GET uri /health/ready",
                "    http-check expect status 200",
                "    default-server check inter 1s fall 2 rise 1",
                *servers,
                "",
            ]
        )
    )
    _run(["haproxy", "-c", "-q", "-f", str(cfg)])
    log = Path(topology.dir) / "haproxy.log"
    pid, started = _spawn(["haproxy", "-db", "-f", str(cfg)], log=log)
    part = Part("haproxy", "haproxy", port, topology.app_url, str(log), None, pid, started)
    _record(topology, part)
    expected = len(servers)
    _wait(
        "haproxy (every instance UP)",
        lambda: _servers_up(topology)[0] == expected,
        log=str(log),
        part=part,
    )


def _servers_up(topology: Topology) -> tuple[int, int]:
    """(servers UP, servers) in HAProxy's backend, from its stats socket."""
    path = Path(topology.dir) / "haproxy" / "admin.sock"
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2.0)
            sock.connect(str(path))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError:
        return 0, 0
    lines = b"".join(chunks).decode().lstrip("# ").splitlines()
    rows = [
        row for row in csv.DictReader(lines) if row.get("svname") not in ("FRONTEND", "BACKEND")
    ]
    return sum(1 for row in rows if row.get("status") == "UP"), len(rows)


def _record(topology: Topology, part: Part) -> None:
    topology.parts.append(part)
    topology.save()


# --- up / down / status -------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    directory: Path = DEFAULT_DIR
    replicas: int = 1
    sync: bool = False
    instances: int = 2
    base_port: int = DEFAULT_BASE_PORT
    workers: int = 1
    database: str = "conduit"
    fsync: bool = False
    # Extra environment for the instances (--env NAME=VALUE), e.g. shared rate-limit storage.
    env: tuple[tuple[str, str], ...] = ()


def ensure_packages() -> None:
    """Install pgbouncer and haproxy from Debian's packages when missing (apt-get, as root)."""
    missing = [package for program, package in PACKAGES.items() if shutil.which(program) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise TopologyError(
            f"missing {', '.join(missing)} (hint: apt-get install -y {' '.join(missing)})"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env, timeout=600)
    _run(["apt-get", "install", "-y", "-qq", *missing], env=env, timeout=600)


def _version(cmd: Sequence[str]) -> str:
    return _run(cmd).splitlines()[0].strip()


def _check(options: Options, directory: Path) -> None:
    """Refuse bad counts, a directory in use and missing programs before starting anything."""
    if options.replicas < 0 or options.instances < 0 or options.workers < 1:
        raise TopologyError("--replicas and --instances must be >= 0, --workers >= 1")
    if options.sync and options.replicas < 1:
        raise TopologyError("--sync needs at least one replica")
    if (directory / STATE_FILE).exists():
        raise TopologyError(f"a topology is already recorded in {directory} (run down first)")
    if directory.exists() and any(directory.iterdir()):
        raise TopologyError(f"{directory} is not empty: up needs a new or empty directory")
    if os.geteuid() == 0:
        reachable = next(path for path in (directory, *directory.parents) if path.exists())
        try:
            _run(["test", "-x", str(reachable)], as_postgres=True)
        except TopologyError as exc:
            raise TopologyError(
                f"the {PG_USER} account cannot enter {reachable}, which would hold its data "
                "(hint: a --dir under /tmp)"
            ) from exc
    ensure_packages()
    bindir = pg_bindir()
    for program in ("initdb", "pg_ctl", "pg_basebackup", "psql"):
        if not (bindir / program).exists():
            raise TopologyError(f"{bindir / program} not found (hint: set PG_BIN)")
    if not os.access(conduit_bin(), os.X_OK):
        raise TopologyError(f"{conduit_bin()} not found (hint: make install, or set CONDUIT_BIN)")


def up(options: Options) -> Topology:
    """Start the whole topology and record it; on any failure stop what started, then raise."""
    directory = options.directory.resolve()
    _check(options, directory)
    haproxy_port, pgbouncer_port, primary_port = range(options.base_port, options.base_port + 3)
    replica_ports = list(range(primary_port + 1, primary_port + 1 + options.replicas))
    first_instance = primary_port + 1 + options.replicas
    instance_ports = list(range(first_instance, first_instance + options.instances))
    ports = [haproxy_port, pgbouncer_port, primary_port, *replica_ports, *instance_ports]
    if ports[-1] > 65535:
        raise TopologyError(f"ports {ports[0]}-{ports[-1]} do not fit below 65536")
    busy = [port for port in ports if not port_free(port)]
    if busy:
        raise TopologyError(
            f"ports in use on {HOST}: {', '.join(map(str, busy))} (hint: --base-port)"
        )

    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    _own(directory)  # PostgreSQL and PgBouncer create their data and logs in it
    topology = Topology(
        dir=str(directory),
        database=options.database,
        secret_key=secrets.token_urlsafe(48),
        app_url=f"http://{HOST}:{haproxy_port}" if options.instances else "",
        database_url=_pg_url(pgbouncer_port, options.database),
        direct_url=_pg_url(primary_port, options.database),
        replica_urls=[_pg_url(port, options.database) for port in replica_ports],
        pgbouncer_version=_version(["pgbouncer", "-V"]),
        haproxy_version=_version(["haproxy", "-v"]),
    )
    topology.save()
    try:
        _start_primary(topology, options, primary_port)
        names = [f"replica{index}" for index in range(1, options.replicas + 1)]
        for index, port in enumerate(replica_ports, start=1):
            _start_replica(topology, options, index, port)
        _wait(
            "replication", lambda: _streaming(primary_port, names), log=topology.part("primary").log
        )
        if options.sync:
            _make_synchronous(topology, names[0])
        _start_pgbouncer(topology, pgbouncer_port)
        if options.instances:
            _start_instances(topology, options, instance_ports)
            _start_haproxy(topology, haproxy_port)
    except BaseException:
        down(directory, quiet=True)
        raise
    return topology


def down(directory: Path = DEFAULT_DIR, *, quiet: bool = False) -> list[str]:
    """Stop every recorded part (front to back), then remove the directory; the parts left running.

    The directory (state and data) stays when a part could not be stopped, for another try.
    """
    directory = directory.resolve()
    try:
        topology = load(directory)
    except FileNotFoundError:
        if not quiet:
            print(f"nothing recorded in {directory}")
        return []
    left = []
    for part in reversed(topology.parts):
        try:
            stopped = _stop(part)
        except TopologyError as exc:
            print(f"topology: {exc}", file=sys.stderr)
            stopped = False
        if not quiet:
            print(f"{part.name}: {'stopped' if stopped else 'STILL RUNNING'}")
        if not stopped:
            left.append(part.name)
    if left:
        print(f"topology: {', '.join(left)} still running; kept {directory}", file=sys.stderr)
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return left


def stop(part: Part) -> bool:
    """Stop one part (a test stopping a replica): whether it stopped. ``down`` still cleans up."""
    return _stop(part)


def _stop(part: Part) -> bool:
    if part.data_dir is not None:
        data = Path(part.data_dir)
        if _postmaster_pid(data) is None:
            return True
        pg_ctl = [str(pg_bindir() / "pg_ctl"), "-D", str(data), "-w", "-t", "30", "stop"]
        try:
            _run([*pg_ctl, "-m", "fast"], as_postgres=True, cwd=data.parent)
        except TopologyError:
            _run([*pg_ctl, "-m", "immediate"], as_postgres=True, cwd=data.parent)
        return _postmaster_pid(data) is None
    if not _alive(part):
        return True
    assert part.pid is not None
    # Each process leads its own session: the group takes any worker processes with it.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(part.pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not _alive(part):
                return True
            time.sleep(0.1)
    return not _alive(part)


@dataclass
class PartStatus:
    name: str
    url: str
    up: bool
    role: str
    detail: str
    lag_s: float | None = None  # a replica's replay lag
    lag_bytes: int | None = None
    standbys: list[dict[str, Any]] = field(default_factory=list)  # a primary's, with their lag


def status(directory: Path = DEFAULT_DIR) -> list[PartStatus]:
    """Each recorded part: up or down, its role and, for PostgreSQL, replication lag."""
    topology = load(directory.resolve())
    return [_probe(topology, part) for part in topology.parts]


def _probe(topology: Topology, part: Part) -> PartStatus:
    result = PartStatus(part.name, part.url, up=False, role=part.kind, detail="")
    if not _alive(part):
        result.detail = "process not running"
        return result
    try:
        if part.kind in ("primary", "replica"):
            _probe_postgres(part, result)
        elif part.kind == "pgbouncer":
            result.up = _answers(part.port, topology.database)
            result.detail = "transaction pooling" if result.up else "SELECT 1 through it failed"
        elif part.kind == "instance":
            code = _http_status(f"{part.url}/health/ready")
            result.up = code == 200
            result.detail = f"/health/ready {'unreachable' if code is None else code}"
        else:
            servers_up, servers = _servers_up(topology)
            code = _http_status(f"{part.url}/health/ready")
            result.up = code == 200
            answer = "unreachable" if code is None else code
            result.detail = f"{servers_up}/{servers} instances UP, /health/ready {answer}"
    except TopologyError as exc:
        result.detail = str(exc).splitlines()[-1]
    return result


_PRIMARY_LAG = """
SELECT application_name, state, sync_state,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
       coalesce(extract(epoch FROM replay_lag), 0)
FROM pg_stat_replication ORDER BY application_name
"""
# Idle replicas have replayed everything they received: no lag, however old the last commit.
_REPLICA_LAG = """
SELECT coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END,
       pg_is_wal_replay_paused()
"""


def _probe_postgres(part: Part, result: PartStatus) -> None:
    in_recovery = psql(part.port, "SELECT pg_is_in_recovery()") == [["t"]]
    result.role = "replica" if in_recovery else "primary"
    result.up = True
    if in_recovery:
        [[lag_bytes, lag_s, paused]] = psql(part.port, _REPLICA_LAG)
        result.lag_bytes, result.lag_s = int(lag_bytes), float(lag_s)
        state = ", replay paused" if paused == "t" else ""
        result.detail = f"replay lag {result.lag_s:.3f} s / {result.lag_bytes} B{state}"
        return
    result.standbys = [
        {"name": name, "state": state, "sync_state": sync, "lag_bytes": int(lag), "lag_s": float(s)}
        for name, state, sync, lag, s in psql(part.port, _PRIMARY_LAG)
    ]
    result.detail = "; ".join(
        f"{s['name']} {s['state']} {s['sync_state']} lag {s['lag_s']:.3f} s / {s['lag_bytes']} B"
        for s in result.standbys
    )
    result.detail = result.detail or "no standby connected"


# --- Command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="topology.sh", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("up", "start the topology"),
        ("down", "stop what up started and remove its directory"),
        ("status", "each part with URL, role and lag; exit 1 when one is down"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--dir", type=Path, default=DEFAULT_DIR, help=f"state and data (default {DEFAULT_DIR})"
        )
        if name == "status":
            command.add_argument("--json", action="store_true", help="print JSON")
        if name == "up":
            defaults = Options()
            command.add_argument("--replicas", type=int, default=defaults.replicas)
            command.add_argument("--sync", action="store_true", help="first replica synchronous")
            command.add_argument("--instances", type=int, default=defaults.instances)
            command.add_argument(
                "--workers", type=int, default=defaults.workers, help="per instance"
            )
            command.add_argument("--base-port", type=int, default=defaults.base_port)
            command.add_argument("--database", default=defaults.database)
            command.add_argument("--fsync", action="store_true", help="fsync=on (default off)")
            command.add_argument(
                "--env",
                action="append",
                default=[],
                metavar="NAME=VALUE",
                type=_env_pair,
                help="extra environment for the instances (repeatable)",
            )
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            options = Options(
                directory=args.dir,
                replicas=args.replicas,
                sync=args.sync,
                instances=args.instances,
                workers=args.workers,
                base_port=args.base_port,
                database=args.database,
                fsync=args.fsync,
                env=tuple(args.env),
            )
            topology = up(options)
            _print_table(status(options.directory))
            app = topology.app_url or "no instances"
            print(f"\napp: {app}   state: {Path(topology.dir) / STATE_FILE}")
            return 0
        if args.command == "down":
            return 1 if down(args.dir) else 0
        parts = status(args.dir)
    except FileNotFoundError:
        print(f"topology: nothing recorded in {args.dir.resolve()}", file=sys.stderr)
        return 1
    except TopologyError as exc:
        print(f"topology: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([asdict(part) for part in parts], indent=2))
    else:
        _print_table(parts)
    return 0 if all(part.up for part in parts) else 1


def _env_pair(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _print_table(parts: Sequence[PartStatus]) -> None:
    rows = [(p.name, "up" if p.up else "DOWN", p.role, p.url, p.detail) for p in parts]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for *cells, detail in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)), detail
        )


if __name__ == "__main__":
    sys.exit(main())
