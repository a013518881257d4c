"""The advisor's catalog checks on MySQL and MariaDB, from ``information_schema``.

InnoDB gives every foreign key an index (it creates one when none leads with the key's
columns), so the check that matters is the other way round: indexes that duplicate another,
or are a leading prefix of a longer one, cost every write and serve no read the other does not.
The statistics views, ``EXPLAIN`` of a query log and hypothetical indexes are PostgreSQL's.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.tooling.advisor.report import Finding, Section, Severity

_INDEXES = text(
    "SELECT table_name, index_name, non_unique, column_name, sub_part"
    " FROM information_schema.statistics WHERE table_schema = DATABASE()"
    " AND index_type = 'BTREE' ORDER BY table_name, index_name, seq_in_index"
)


@dataclass(frozen=True, slots=True)
class MySQLIndex:
    table: str
    name: str
    unique: bool
    columns: tuple[str, ...]  # with a prefix length where the index has one: "body(20)"


async def indexes(conn: AsyncConnection) -> list[MySQLIndex]:
    rows = (await conn.execute(_INDEXES)).all()
    found = []
    for (table, name), parts in groupby(rows, key=lambda row: (str(row[0]), str(row[1]))):
        listed = list(parts)
        found.append(
            MySQLIndex(
                table=table,
                name=name,
                unique=not int(listed[0][2]),
                columns=tuple(
                    f"{row[3]}({row[4]})" if row[4] is not None else str(row[3]) for row in listed
                ),
            )
        )
    return found


def redundant_indexes(found: list[MySQLIndex]) -> Section:
    """Non-unique indexes equal to, or a leading prefix of, another index of their table."""
    section = Section(key="duplicate_indexes", title="Duplicate and redundant indexes")
    section.notes.append("InnoDB indexes every foreign key itself: none can lack one")
    for index in found:
        if index.unique:
            continue  # a unique index is a constraint, not only an access path
        for other in found:
            if other is index or other.table != index.table:
                continue
            if other.columns[: len(index.columns)] != index.columns:
                continue
            same = other.columns == index.columns
            if same and not other.unique and other.name > index.name:
                continue  # of two identical plain indexes, report the later-named one
            kind = "duplicates" if same else "is a leading prefix of"
            section.findings.append(
                Finding(
                    check="duplicate_index" if same else "redundant_index",
                    severity=Severity.WARNING,
                    object=f"{index.table}.{index.name}",
                    message=(
                        f"index {index.name} ({', '.join(index.columns)}) {kind} "
                        f"{other.name} ({', '.join(other.columns)})"
                    ),
                    why=(
                        f"every write to {index.table} maintains both, and {other.name} serves "
                        "every lookup this one does (a foreign key too)"
                    ),
                    fix=(
                        f"ALTER TABLE `{index.table}` DROP INDEX `{index.name}`,"
                        " ALGORITHM=INPLACE, LOCK=NONE;"
                    ),
                    details={"columns": list(index.columns), "kept": other.name},
                )
            )
            break
    return section
