"""The body of an async Alembic ``env.py``, for Conduit's migrations and any other project's.

An ``env.py`` names its models module (the one that imports every model) and how to find its
database, then calls :func:`run`:

- online, on the connection ``conduit migrate`` opened (``config.attributes["connection"]``,
  Alembic's connection-sharing recipe), or on an async engine of its own for the bare
  ``alembic`` command; offline (``--sql``) for ``config.attributes["offline_url"]`` when given;
- batch mode on SQLite (its ALTER TABLE is copy-and-move), one transaction per revision;
- objects marked ``info={"postgresql_only": True}`` left out on other dialects, and those
  marked ``info={"dialects": ("mysql",)}`` on every dialect not named, in revisions and in the
  comparison with the models alike;
- autogenerate renders every type and server default with the import it needs
  (:func:`render_item`), so a revision that uses a project's own column types runs as written;
- when the caller asks (``config.attributes["verify_models"]``: ``conduit migrate check`` and
  ``create`` do), every module of the model packages is imported and a mapped class that the
  models module does not expose fails the command (:func:`unregistered_models`): a model that
  is never imported there is never compared, so no revision would ever create its table.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.orm import registry as Registry  # noqa: N812 - the class, named as one
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.elements import False_, True_
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.schema import DefaultClause
from sqlalchemy.types import TypeEngine

from conduit.db import tls
from conduit.db.config import DatabaseConfig
from conduit.db.migrations import MigrationError, UnregisteredModels


def run(
    models: ModuleType,
    *,
    database: Callable[[], DatabaseConfig],
    packages: Iterable[str] = (),
) -> None:
    """Run the migrations Alembic asked for, against the metadata of ``models``.

    ``database`` is read only when the caller passed neither a connection nor a
    :class:`DatabaseConfig` (``config.attributes["database_config"]``). ``packages`` are where
    models may be defined (default: the top-level package of ``models``).
    """
    config = context.config
    metadata = metadata_of(models)
    if config.attributes.get("verify_models"):
        missing = unregistered_models(models, packages=packages or [_top(models)])
        if missing:
            raise UnregisteredModels(
                "models not registered for migrations (never compared, never migrated): "
                + ", ".join(
                    f"{cls.__name__} (table {table}, {cls.__module__})" for cls, table in missing
                )
                + f"; import each in {models.__name__}"
            )

    def database_config() -> DatabaseConfig:
        given = config.attributes.get("database_config")
        return given if isinstance(given, DatabaseConfig) else database()

    if context.is_offline_mode():
        url: URL = config.attributes.get("offline_url") or database_config().url
        context.configure(
            url=url,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **options(metadata, url.get_backend_name()),
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    def run_on(connection: Connection) -> None:
        context.configure(connection=connection, **options(metadata, connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        database = database_config()
        url, connect_args = database.url, {}
        if database.is_postgres:
            url, connect_args["ssl"] = tls.for_asyncpg(url, setting=database.sslmode)
        engine = create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(run_on)
        finally:
            await engine.dispose()

    connection = config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
    else:
        asyncio.run(run_async())


def metadata_of(models: ModuleType) -> MetaData:
    """``models.metadata``, else the metadata of the declarative base(s) it exposes."""
    given = getattr(models, "metadata", None)
    if isinstance(given, MetaData):
        return given
    found = {id(r.metadata): r.metadata for r in _registries(models)}
    if len(found) != 1:
        raise MigrationError(
            f"{models.__name__} exposes {len(found) or 'no'} model metadata; "
            "give it a `metadata` attribute (e.g. metadata = Base.metadata)"
        )
    return next(iter(found.values()))


def unregistered_models(models: ModuleType, *, packages: Iterable[str]) -> list[tuple[type, str]]:
    """Mapped classes in ``packages`` on the metadata of ``models`` that ``models`` does not expose.

    Every module of ``packages`` is imported first, so a model whose module nothing imports is
    found too. Each is returned with its table's name.
    """
    for package in packages:
        _import_all(package)
    metadata = metadata_of(models)
    exposed = {id(value) for value in vars(models).values()}
    tables = {
        mapper.class_: mapper.local_table
        for registry in _registries(models)
        for mapper in registry.mappers
        if getattr(mapper.local_table, "metadata", None) is metadata
    }
    return sorted(
        (
            (cls, str(getattr(table, "name", table)))
            for cls, table in tables.items()
            if id(cls) not in exposed
        ),
        key=lambda found: (found[0].__module__, found[0].__name__),
    )


def _registries(models: ModuleType) -> list[Registry]:
    found: dict[int, Registry] = {}
    for value in vars(models).values():
        registry = getattr(value, "registry", None) if isinstance(value, type) else None
        if isinstance(registry, Registry):
            found[id(registry)] = registry
    return list(found.values())


def _import_all(package: str) -> None:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
        importlib.import_module(info.name)


def _top(models: ModuleType) -> str:
    return models.__name__.partition(".")[0]


def options(metadata: MetaData, dialect_name: str) -> dict[str, Any]:
    """``context.configure`` options shared by online and offline runs."""
    return {
        "target_metadata": metadata,
        "include_object": include_object(dialect_name, metadata),
        "compare_type": True,
        "render_item": render_item,
        # ALTER TABLE on SQLite means copy-and-move; batch mode does that for us.
        "render_as_batch": dialect_name == "sqlite",
        # One transaction per revision: a failure leaves the schema at the last good revision.
        "transaction_per_migration": True,
    }


def include_object(dialect_name: str, metadata: MetaData | None = None) -> Callable[..., bool]:
    """Leave PostgreSQL-only objects (``info={"postgresql_only": True}``) out on other dialects,
    and objects marked ``info={"dialects": (...)}`` out on the dialects they do not name.

    GIN indexes (full-text search, trigrams) exist on PostgreSQL alone: their revisions skip
    them elsewhere, so the comparison with the models (autogenerate, the drift check) must too.
    On MySQL, a model table's ``info["mysql_generated"]`` maps a generated column that exists
    in the database alone to the index built over it in place of a partial index: the column
    is not compared, and the index only for being there (its columns differ by design).
    """

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        if dialect_name == "mysql" and metadata is not None:
            generated = _mysql_generated(metadata, obj)
            if type_ == "column" and reflected and other is None and name in generated:
                return False
            if type_ == "index" and other is not None and name in generated.values():
                return False
        info = getattr(obj, "info", None) or {}
        dialects = info.get("dialects")
        if dialects is not None:
            return dialect_name in dialects
        return dialect_name == "postgresql" or not info.get("postgresql_only", False)

    return include


def _mysql_generated(metadata: MetaData, obj: Any) -> dict[str, str]:
    table = getattr(obj, "table", None)
    model = metadata.tables.get(getattr(table, "name", "")) if table is not None else None
    return dict(model.info.get("mysql_generated", {})) if model is not None else {}


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render a project's own column types and SQL functions with their imports.

    Alembic writes a type from outside SQLAlchemy as ``package.module.Type()`` and imports
    nothing, so the revision fails with a ``NameError``; and it compiles a server default that
    is a function for the dialect it compared against (``statement_timestamp()`` from
    PostgreSQL), so the revision would be wrong on the other. Both are written here as
    ``Type(...)`` / ``function()`` with ``from package.module import Name``, SQLAlchemy's own
    functions as ``sa.func.name()`` and booleans as ``sa.true()``/``sa.false()``; anything else
    is left to Alembic (``False``).
    """
    if kind == "type" and isinstance(obj, TypeEngine) and _own(type(obj)):
        _import(type(obj), autogen_context)
        return repr(obj)
    if kind == "server_default" and isinstance(obj, DefaultClause):
        function = obj.arg
        prefix = autogen_context.opts.get("sqlalchemy_module_prefix") or "sa."
        if isinstance(function, True_ | False_):
            # Booleans compile to 1/0 on SQLite, which PostgreSQL would refuse.
            return f"{prefix}{'true' if isinstance(function, True_) else 'false'}()"
        # Functions with arguments are left to Alembic: the arguments would need rendering.
        if not isinstance(function, FunctionElement) or len(function.clauses):
            return False
        if _own(type(function)):
            _import(type(function), autogen_context)
            return f"{type(function).__name__}()"
        name = getattr(function, "name", None)
        if type(function).__module__ == "sqlalchemy.sql.functions" and name:
            # func.now() and kin: compiled per dialect when the revision runs.
            return f"{prefix}func.{name}()"
    return False


def _own(cls: type) -> bool:
    """A class defined outside SQLAlchemy at module level (so ``from module import`` finds it)."""
    return not cls.__module__.startswith("sqlalchemy") and "." not in cls.__qualname__


def _import(cls: type, autogen_context: AutogenContext) -> None:
    autogen_context.imports.add(f"from {cls.__module__} import {cls.__qualname__}")
