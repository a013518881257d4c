"""Index checks: duplicate, unused and invalid indexes, and which index covers a foreign key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conduit.tooling.advisor.report import Finding, Section, Severity
from conduit.tooling.advisor.sql import concurrently, drop_index, qualified


@dataclass(frozen=True, slots=True)
class Index:
    oid: int
    schema: str
    table_name: str
    name: str
    table_oid: int
    method: str
    is_unique: bool
    is_valid: bool
    key_count: int
    attnums: list[int]
    opclasses: list[str]
    collations: list[str]
    options: list[str]
    columns: list[str]
    predicate: str | None
    definition: str
    constraint_name: str | None
    bytes: int
    scans: int
    building: bool

    @property
    def keys(self) -> list[tuple[str, str, str, str]]:
        """Each key column with its operator class, collation and ordering."""
        return [
            (self.columns[k], self.opclasses[k], self.collations[k], self.options[k])
            for k in range(self.key_count)
        ]

    @property
    def included(self) -> list[str]:
        return self.columns[self.key_count :]

    @property
    def label(self) -> str:
        return (
            f"{qualified(self.schema, self.name)} ON {self.table_name} ({', '.join(self.columns)})"
        )

    def covers(self, attnums: list[int]) -> bool:
        """Whether a lookup by ``attnums`` can use this index's leading columns."""
        if not self.is_valid or self.predicate is not None:
            return False
        if self.method == "hash":
            return len(attnums) == 1 and self.attnums[:1] == attnums
        if self.method != "btree":
            return False
        return sorted(self.attnums[: len(attnums)]) == sorted(attnums)


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: str
    schema: str
    table_name: str
    table_oid: int
    attnums: list[int]
    columns: list[str]
    ref_schema: str
    ref_table: str
    rows: int


def duplicate_indexes(indexes: list[Index]) -> Section:
    section = Section(key="duplicate_indexes", title="Duplicate indexes")
    valid = [ix for ix in indexes if ix.is_valid]
    reported: set[int] = set()
    for a in valid:
        for b in valid:
            if a.oid == b.oid or a.oid in reported or not _comparable(a, b):
                continue
            if a.keys == b.keys and sorted(a.included) == sorted(b.included):
                if a.oid in reported or b.oid in reported:
                    continue
                redundant, kept = _pick_redundant(a, b)
                kind = "has the same columns as"
            elif _is_prefix(a, b):
                redundant, kept, kind = a, b, "is a prefix of"
            else:
                continue
            reported.add(redundant.oid)
            section.findings.append(_duplicate_finding(redundant, kept, kind))
    if not section.findings:
        section.notes.append("no index repeats another's leading columns")
    return section


def _comparable(a: Index, b: Index) -> bool:
    return a.table_oid == b.table_oid and a.method == b.method and a.predicate == b.predicate


def _is_prefix(a: Index, b: Index) -> bool:
    """``a``'s keys are a proper prefix of ``b``'s, and ``b`` can do everything ``a`` does."""
    if a.method != "btree" or a.is_unique or a.constraint_name is not None:
        return False
    n = len(a.keys)
    if not n < len(b.keys) or b.keys[:n] != a.keys:
        return False
    return set(a.included) <= set(b.columns)


def _pick_redundant(a: Index, b: Index) -> tuple[Index, Index]:
    """Of two identical indexes, the one to drop: never the one enforcing a constraint."""

    def keep_score(ix: Index) -> tuple[bool, bool, str]:
        return (ix.constraint_name is not None, ix.is_unique, ix.name)

    kept, redundant = sorted((a, b), key=keep_score, reverse=True)
    return redundant, kept


def _duplicate_finding(redundant: Index, kept: Index, kind: str) -> Finding:
    if redundant.constraint_name is not None:
        fix = (
            f"ALTER TABLE {qualified(redundant.schema, redundant.table_name)} "
            f"DROP CONSTRAINT {redundant.constraint_name};"
        )
    else:
        fix = drop_index(redundant.schema, redundant.name)
    return Finding(
        check="duplicate_index",
        severity=Severity.WARNING,
        object=qualified(redundant.schema, redundant.name),
        message=f"index {redundant.label} {kind} {kept.label}",
        why=(
            f"{kept.name} serves every lookup {redundant.name} can; the extra index slows "
            f"every write to {redundant.table_name} and takes {_size(redundant.bytes)} "
            "on disk and in memory"
        ),
        fix=fix,
        details={"redundant": redundant.name, "kept": kept.name, "bytes": redundant.bytes},
    )


def unused_indexes(
    indexes: list[Index], foreign_keys: list[ForeignKey], *, stats_reset: datetime | None
) -> Section:
    section = Section(key="unused_indexes", title="Unused indexes")
    since = (
        f"since the statistics were reset at {stats_reset.isoformat(timespec='seconds')}"
        if stats_reset is not None
        else "since this database's statistics began (never reset)"
    )
    section.notes.append(
        f"scan counts are {since}; unique, primary-key and constraint indexes are never "
        "reported, nor an index that is a foreign key's only cover"
    )
    for ix in indexes:
        if not ix.is_valid or ix.scans > 0 or ix.is_unique or ix.constraint_name is not None:
            continue
        if any(_only_cover(ix, fk, indexes) for fk in foreign_keys):
            continue
        section.findings.append(
            Finding(
                check="unused_index",
                severity=Severity.INFO,
                object=qualified(ix.schema, ix.name),
                message=f"index {ix.label} has not been scanned {since}",
                why=(
                    f"an unused index slows every write to {ix.table_name} and takes "
                    f"{_size(ix.bytes)}; the count covers this server only, so check "
                    "replicas and a full business cycle before dropping it"
                ),
                fix=drop_index(ix.schema, ix.name),
                details={
                    "bytes": ix.bytes,
                    "stats_reset": stats_reset.isoformat() if stats_reset else None,
                },
            )
        )
    return section


def _only_cover(ix: Index, fk: ForeignKey, indexes: list[Index]) -> bool:
    covering = [i for i in indexes if i.table_oid == fk.table_oid and i.covers(fk.attnums)]
    return [i.oid for i in covering] == [ix.oid]


def invalid_indexes(indexes: list[Index]) -> Section:
    section = Section(key="invalid_indexes", title="Invalid indexes")
    for ix in indexes:
        if ix.is_valid:
            continue
        if ix.building:
            section.notes.append(f"{ix.name} is being built right now (CREATE INDEX CONCURRENTLY)")
            continue
        section.findings.append(
            Finding(
                check="invalid_index",
                severity=Severity.ERROR,
                object=qualified(ix.schema, ix.name),
                message=(
                    f"index {ix.label} is invalid (a failed CREATE INDEX CONCURRENTLY or REINDEX)"
                ),
                why=(
                    "queries never use an invalid index, yet every write still maintains it; "
                    "a unique one does not enforce uniqueness"
                ),
                fix=(
                    f"{drop_index(ix.schema, ix.name)}\n"
                    f"{concurrently(ix.definition)}  -- fix what made it fail first"
                ),
                details={"definition": ix.definition},
            )
        )
    return section


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
