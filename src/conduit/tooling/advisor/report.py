"""The advisor's report: sections of findings, each with a severity, the object, why it matters
and (where one exists) the SQL that fixes it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One thing the advisor noticed."""

    check: str
    severity: Severity
    object: str
    message: str
    why: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "object": self.object,
            "message": self.message,
            "why": self.why,
            "fix": self.fix,
            "details": self.details,
        }


@dataclass(slots=True, kw_only=True)
class Section:
    """One part of the report; ``notes`` say what was (not) checked and why."""

    key: str
    title: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
        }


@dataclass(slots=True, kw_only=True)
class Report:
    database: str
    server_version: str
    # The server's product as people name it: "PostgreSQL", "MySQL" or "MariaDB".
    server: str = "PostgreSQL"
    sections: list[Section] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [finding for section in self.sections for finding in section.findings]

    def counts(self) -> dict[str, int]:
        counted = Counter(finding.severity for finding in self.findings)
        return {severity.value: counted.get(severity, 0) for severity in Severity}

    def at_or_above(self, severity: Severity) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity.rank >= severity.rank]

    def section(self, key: str) -> Section:
        for section in self.sections:
            if section.key == key:
                return section
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "server_version": self.server_version,
            "server": self.server,
            "summary": self.counts(),
            "sections": [section.to_dict() for section in self.sections],
        }
