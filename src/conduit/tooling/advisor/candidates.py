"""Index candidates read from a plan (``EXPLAIN (FORMAT JSON, VERBOSE)``).

Only what a plan shows is used: the filter of each sequential scan (equality columns first,
then one range column), the sort keys above a sequential scan, and the join keys that reach
one. Expressions inside function calls, ``OR`` branches and ``<>`` tests are skipped: a plain
b-tree index cannot serve them. The candidates are guesses; hypothetical indexes decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conduit.tooling.advisor.sql import IndexColumn, qualified

SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})
MAX_CANDIDATES = 12
MAX_COLUMNS = 4

Relation = tuple[str, str]  # (schema, table)


@dataclass(frozen=True, slots=True)
class Scan:
    schema: str
    table: str
    alias: str
    node_type: str
    filter: str | None

    @property
    def relation(self) -> Relation:
        return (self.schema, self.table)

    @property
    def sequential(self) -> bool:
        return self.node_type == "Seq Scan"


@dataclass(frozen=True, slots=True)
class Candidate:
    schema: str
    table: str
    columns: tuple[IndexColumn, ...]
    source: str  # "filter", "sort" or "join": which part of the plan suggested it

    @property
    def key(self) -> tuple[str, str, tuple[IndexColumn, ...]]:
        return (self.schema, self.table, self.columns)

    @property
    def label(self) -> str:
        rendered = ", ".join(c.render() for c in self.columns)
        return f"{qualified(self.schema, self.table)} ({rendered})"

    def definition(self) -> str:
        """The CREATE INDEX statement handed to ``hypopg_create_index``."""
        rendered = ", ".join(c.render() for c in self.columns)
        return f"CREATE INDEX ON {qualified(self.schema, self.table)} ({rendered})"


def nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def scans(plan: Mapping[str, Any]) -> list[Scan]:
    return [
        Scan(
            schema=str(node.get("Schema", "public")),
            table=str(node["Relation Name"]),
            alias=str(node.get("Alias", node["Relation Name"])),
            node_type=str(node["Node Type"]),
            filter=node.get("Filter"),
        )
        for node in nodes(plan)
        if "Relation Name" in node
    ]


def sequential_relations(plan: Mapping[str, Any]) -> set[Relation]:
    return {
        scan.relation
        for scan in scans(plan)
        if scan.sequential and scan.schema not in SYSTEM_SCHEMAS
    }


def candidates(
    plan: Mapping[str, Any], columns: Mapping[Relation, frozenset[str]]
) -> list[Candidate]:
    """Candidate indexes for ``plan``, given the column names of its seq-scanned tables."""
    found: dict[tuple[str, str, tuple[IndexColumn, ...]], Candidate] = {}

    def add(scan: Scan, cols: list[IndexColumn], source: str) -> None:
        unique = list(dict.fromkeys(cols))[:MAX_COLUMNS]
        if unique:
            candidate = Candidate(scan.schema, scan.table, tuple(unique), source)
            found.setdefault(candidate.key, candidate)

    usable = [
        s
        for s in scans(plan)
        if s.sequential and s.schema not in SYSTEM_SCHEMAS and s.relation in columns
    ]
    equality: dict[Scan, list[IndexColumn]] = {}
    for scan in usable:
        eq, ranged = filter_columns(scan, columns[scan.relation])
        equality[scan] = eq
        for column in eq + ranged[:2]:
            add(scan, [column], "filter")
        if len(eq) > 1:
            add(scan, eq, "filter")
        if eq and ranged:
            add(scan, [*eq, ranged[0]], "filter")
    for node in nodes(plan):
        below = [s for s in scans(node) if s in equality]
        if node.get("Sort Key") and below:
            target, keys = _sort_columns(node["Sort Key"], below, columns)
            if target is not None:
                add(target, keys, "sort")
                if equality[target]:
                    add(target, [*equality[target], *keys], "sort")
        for cond in ("Hash Cond", "Merge Cond", "Join Filter"):
            if node.get(cond) and below:
                for joined, column in _join_columns(node[cond], below, columns):
                    add(joined, [column], "join")
    return list(found.values())[:MAX_CANDIDATES]


def filter_columns(
    scan: Scan, names: frozenset[str]
) -> tuple[list[IndexColumn], list[IndexColumn]]:
    """The columns of ``scan``'s filter tested for equality, and those tested by range."""
    eq: list[IndexColumn] = []
    ranged: list[IndexColumn] = []
    if not scan.filter:
        return eq, ranged
    for conjunct in _split(_unwrap(_strip(scan.filter)), "AND"):
        conj = _unwrap(conjunct)
        if len(_split(conj, "OR")) > 1:
            continue
        ours = [name for qual, name in _refs(conj) if name in names and qual in (None, scan.alias)]
        if len(ours) != 1:
            continue
        kind = _operator(conj)
        column = IndexColumn(ours[0])
        if kind == "eq" and column not in eq:
            eq.append(column)
        elif kind == "range" and column not in ranged:
            ranged.append(column)
    return eq, [c for c in ranged if c not in eq]


def _sort_columns(
    keys: list[str], below: list[Scan], columns: Mapping[Relation, frozenset[str]]
) -> tuple[Scan | None, list[IndexColumn]]:
    target: Scan | None = None
    result: list[IndexColumn] = []
    for key in keys:
        text = re.sub(r"\s+NULLS\s+(FIRST|LAST)$", "", key.strip(), flags=re.IGNORECASE)
        descending = bool(re.search(r"\s+DESC$", text, flags=re.IGNORECASE))
        text = re.sub(r"\s+(DESC|ASC)$", "", text, flags=re.IGNORECASE)
        path = _path(text)
        if path is None:
            break
        qual, name = path
        scan = _resolve(qual, below)
        if scan is None or name not in columns[scan.relation] or target not in (None, scan):
            break
        target = scan
        result.append(IndexColumn(name, descending))
    return target, result


def _join_columns(
    cond: str, below: list[Scan], columns: Mapping[Relation, frozenset[str]]
) -> list[tuple[Scan, IndexColumn]]:
    found: list[tuple[Scan, IndexColumn]] = []
    for qual, name in _refs(_strip(cond)):
        scan = _resolve(qual, below) if qual is not None else None
        if scan is not None and name in columns[scan.relation]:
            found.append((scan, IndexColumn(name)))
    return found


def _resolve(qual: str | None, below: list[Scan]) -> Scan | None:
    if qual is None:
        return below[0] if len(below) == 1 else None
    matches = [scan for scan in below if scan.alias == qual]
    return matches[0] if len(matches) == 1 else None


_LITERAL = re.compile(r"'(?:[^']|'')*'")
_CAST = re.compile(
    r"::(?:\"[^\"]+\"|(?:timestamp|time)(?:\(\d+\))? with(?:out)? time zone|character varying"
    r"|double precision|bit varying|[A-Za-z_][\w.]*)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*",
    re.IGNORECASE,
)
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_REF = re.compile(rf'(?<![\w"$.])({_IDENT}(?:\.{_IDENT})*)(\s*\()?')
_NOT_FUNCTIONS = frozenset({"AND", "OR", "NOT", "ANY", "ALL", "SOME", "IN"})


def _strip(expr: str) -> str:
    """``expr`` without literals (they could contain anything) and type casts."""
    return _CAST.sub("", _LITERAL.sub("'?'", expr))


def _unwrap(expr: str) -> str:
    text = expr.strip()
    while text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    return text


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split(expr: str, word: str) -> list[str]:
    """``expr`` split on ``word`` (AND / OR) outside parentheses."""
    parts, depth, start = [], 0, 0
    token = f" {word} "
    i = 0
    while i < len(expr):
        char = expr[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and expr.startswith(token, i):
            parts.append(expr[start:i])
            start = i + len(token)
            i = start
            continue
        i += 1
    parts.append(expr[start:])
    return [part.strip() for part in parts if part.strip()]


def _refs(expr: str) -> list[tuple[str | None, str]]:
    """Column references ``(qualifier, name)`` of ``expr``, leaving out function arguments."""
    found: list[tuple[str | None, str]] = []
    for match in _REF.finditer(expr):
        if match.group(2) or _in_function(expr, match.start()):
            continue
        path = _path(match.group(1))
        if path is not None:
            found.append(path)
    return found


def _path(text: str) -> tuple[str | None, str] | None:
    parts = re.findall(_IDENT, text)
    if not parts or ".".join(parts) != text.strip():
        return None
    names = [p[1:-1].replace('""', '"') if p.startswith('"') else p for p in parts]
    return (names[-2] if len(names) > 1 else None, names[-1])


def _in_function(expr: str, position: int) -> bool:
    depth = 0
    for i in range(position - 1, -1, -1):
        if expr[i] == ")":
            depth += 1
        elif expr[i] == "(":
            if depth == 0:
                name = re.search(r"([A-Za-z_][\w$]*)\s*$", expr[:i])
                return name is not None and name.group(1).upper() not in _NOT_FUNCTIONS
            depth -= 1
    return False


def _operator(conj: str) -> str | None:
    depth = 0
    flat = []
    for char in conj:
        depth += char == "("
        depth -= char == ")"
        flat.append(char if depth == 0 or char in "()" else " ")
    top = "".join(flat)
    if re.search(r"\sIS\s+NULL\b", top, re.IGNORECASE):
        return "eq"
    operator = re.search(r"\s(<>|!=|<=|>=|=|<|>)\s", top)
    if operator is None:
        return None
    return {"=": "eq", "<": "range", ">": "range", "<=": "range", ">=": "range"}.get(
        operator.group(1)
    )
