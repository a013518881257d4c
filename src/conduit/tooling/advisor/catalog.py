"""Checks read from the system catalog and the statistics views.

Foreign keys without a covering index, duplicate indexes, unused indexes, invalid indexes and
tables read mostly by sequential scans. Nothing here takes a lock on a user table (sizes come
from ``pg_class.relpages``, not ``pg_relation_size``), so the checks run safely beside traffic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from conduit.tooling.advisor.indexes import (
    ForeignKey,
    Index,
    duplicate_indexes,
    invalid_indexes,
    unused_indexes,
)
from conduit.tooling.advisor.report import Finding, Section, Severity
from conduit.tooling.advisor.sql import IndexColumn, create_index, q, qualified

# A handful of sequential scans is normal (a dump, a one-off report); the check is for tables
# read this way routinely.
MIN_SEQ_SCANS = 10

_INDEXES = r"""
SELECT i.indexrelid::bigint AS oid, n.nspname AS schema, t.relname AS table_name,
       c.relname AS name, i.indrelid::bigint AS table_oid, am.amname AS method,
       i.indisunique AS is_unique, i.indisvalid AS is_valid, i.indnkeyatts AS key_count,
       string_to_array(i.indkey::text, ' ')::int[] AS attnums,
       string_to_array(i.indclass::text, ' ') AS opclasses,
       string_to_array(i.indcollation::text, ' ') AS collations,
       string_to_array(i.indoption::text, ' ') AS options,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnatts) AS k ORDER BY k) AS columns,
       pg_get_expr(i.indpred, i.indrelid, true) AS predicate,
       pg_get_indexdef(i.indexrelid) AS definition,
       con.conname AS constraint_name,
       c.relpages::bigint * current_setting('block_size')::bigint AS bytes,
       coalesce(s.idx_scan, 0) AS scans,
       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p
               WHERE p.index_relid = i.indexrelid) AS building
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY n.nspname, t.relname, c.relname
"""

_FOREIGN_KEYS = r"""
SELECT con.conname AS name, n.nspname AS schema, t.relname AS table_name,
       con.conrelid::bigint AS table_oid, con.conkey::int[] AS attnums,
       ARRAY(SELECT a.attname::text
             FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord) AS columns,
       rn.nspname AS ref_schema, rt.relname AS ref_table,
       greatest(t.reltuples, 0)::bigint AS rows
FROM pg_constraint con
JOIN pg_class t ON t.oid = con.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class rt ON rt.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rt.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
ORDER BY n.nspname, t.relname, con.conname
"""

_SEQ_SCANS = """
SELECT s.schemaname AS schema, s.relname AS table_name, s.seq_scan, s.seq_tup_read,
       coalesce(s.idx_scan, 0) AS idx_scan,
       greatest(s.n_live_tup, c.reltuples::bigint, 0) AS rows
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
WHERE s.seq_scan > coalesce(s.idx_scan, 0) AND s.seq_scan >= :min_scans
  AND greatest(s.n_live_tup, c.reltuples::bigint) >= :min_rows
ORDER BY s.seq_tup_read DESC
"""


async def check(conn: AsyncConnection, *, seq_scan_min_rows: int) -> list[Section]:
    indexes = [Index(**row) for row in await _rows(conn, _INDEXES)]
    foreign_keys = [ForeignKey(**row) for row in await _rows(conn, _FOREIGN_KEYS)]
    stats_reset = (
        await conn.execute(
            q("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
        )
    ).scalar_one_or_none()
    seq_scans = await _rows(conn, _SEQ_SCANS, min_scans=MIN_SEQ_SCANS, min_rows=seq_scan_min_rows)
    return [
        unindexed_foreign_keys(foreign_keys, indexes),
        duplicate_indexes(indexes),
        unused_indexes(indexes, foreign_keys, stats_reset=stats_reset),
        invalid_indexes(indexes),
        sequential_scans(seq_scans, min_rows=seq_scan_min_rows),
    ]


def unindexed_foreign_keys(foreign_keys: list[ForeignKey], indexes: list[Index]) -> Section:
    section = Section(key="foreign_keys", title="Foreign keys without an index")
    for fk in foreign_keys:
        if any(ix.table_oid == fk.table_oid and ix.covers(fk.attnums) for ix in indexes):
            continue
        columns = ", ".join(fk.columns)
        section.findings.append(
            Finding(
                check="unindexed_foreign_key",
                severity=Severity.WARNING,
                object=f"{qualified(fk.schema, fk.table_name)}.{fk.name}",
                message=(
                    f"foreign key {fk.name} on {fk.table_name} ({columns}) -> "
                    f"{fk.ref_table} has no index whose leading columns are ({columns})"
                ),
                why=(
                    f"every DELETE on {fk.ref_table}, and every UPDATE of its key, must look up "
                    f"the referencing rows in {fk.table_name}: without an index that is a "
                    f"sequential scan of {fk.table_name} (~{fk.rows} rows) per row changed, "
                    "holding locks meanwhile; joins along this key scan it too"
                ),
                fix=create_index(fk.schema, fk.table_name, [IndexColumn(c) for c in fk.columns]),
                details={"columns": fk.columns, "references": f"{fk.ref_schema}.{fk.ref_table}"},
            )
        )
    return section


def sequential_scans(rows: list[dict[str, Any]], *, min_rows: int) -> Section:
    section = Section(key="sequential_scans", title="Tables read by sequential scans")
    section.notes.append(
        f"tables of at least {min_rows} rows with at least {MIN_SEQ_SCANS} sequential scans, "
        "more than their index scans"
    )
    for row in rows:
        table = qualified(row["schema"], row["table_name"])
        section.findings.append(
            Finding(
                check="sequential_scans",
                severity=Severity.WARNING,
                object=table,
                message=(
                    f"{table} (~{row['rows']} rows): {row['seq_scan']} sequential scans "
                    f"read {row['seq_tup_read']} rows; {row['idx_scan']} index scans"
                ),
                why=(
                    "each sequential scan reads the whole table: the queries behind them "
                    "likely filter, join or sort on a column no index serves"
                ),
                fix=(
                    "-- find the statements: record a query log (QUERY_LOG) and run "
                    "`conduit db analyze --query-log PATH` for index advice from their plans"
                ),
                details=dict(row),
            )
        )
    return section


async def _rows(conn: AsyncConnection, sql: str, **params: Any) -> list[dict[str, Any]]:
    result = await conn.execute(q(sql), params)
    return [dict(row) for row in result.mappings()]
