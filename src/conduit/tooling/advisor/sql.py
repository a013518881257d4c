"""Rendering the SQL the advisor proposes: quoted names, index names, CREATE/DROP statements."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql.base import RESERVED_WORDS
from sqlalchemy.sql.elements import TextClause

# Every statement the advisor sends starts with this comment, so that its own catalog queries
# can be told apart from the application's in pg_stat_statements.
TAG = "/* conduit db analyze */ "
MAX_IDENTIFIER = 63  # NAMEDATALEN - 1: PostgreSQL truncates longer names

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def q(sql: str) -> TextClause:
    """A tagged advisor query."""
    return text(TAG + sql)


def ident(name: str) -> str:
    """``name`` quoted only where PostgreSQL needs it (upper case, reserved words, symbols)."""
    if _PLAIN.fullmatch(name) and name not in RESERVED_WORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{ident(schema)}.{ident(name)}"


@dataclass(frozen=True, slots=True)
class IndexColumn:
    name: str
    descending: bool = False

    def render(self) -> str:
        return ident(self.name) + (" DESC" if self.descending else "")


def index_name(table: str, columns: Sequence[IndexColumn | str]) -> str:
    """``ix_<table>_<columns>``, the project's naming convention, cut to PostgreSQL's limit."""
    names = [c.name if isinstance(c, IndexColumn) else c for c in columns]
    return f"ix_{table}_{'_'.join(names)}"[:MAX_IDENTIFIER]


def create_index(schema: str, table: str, columns: Sequence[IndexColumn]) -> str:
    # CONCURRENTLY: a plain CREATE INDEX blocks every write to the table while it builds.
    rendered = ", ".join(column.render() for column in columns)
    return (
        f"CREATE INDEX CONCURRENTLY {ident(index_name(table, columns))} "
        f"ON {qualified(schema, table)} ({rendered});"
    )


def drop_index(schema: str, index: str) -> str:
    return f"DROP INDEX CONCURRENTLY {qualified(schema, index)};"


def concurrently(definition: str) -> str:
    """``pg_get_indexdef`` output turned into its non-blocking form."""
    for prefix in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(prefix):
            return f"{prefix}CONCURRENTLY {definition.removeprefix(prefix)};"
    return definition + ";"


def one_line(sql: str, *, limit: int = 300) -> str:
    """``sql`` on one line, cut to ``limit`` characters, for messages."""
    flat = " ".join(sql.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
