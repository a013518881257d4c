"""Request and response bodies of the admin endpoints, and the export's line format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints
from pydantic_core import to_json

from conduit.domain.admin.bulk import Granted
from conduit.domain.admin.export import ExportedArticle
from conduit.domain.admin.stats import PlatformStats
from conduit.domain.errors import BLANK
from conduit.domain.users.models import USERNAME_MAX
from conduit.http.schemas.common import (
    NonBlankSchema,
    RequestModel,
    ResponseModel,
    Timestamp,
    Trimmed,
    iso_millis,
)

GRANT_USERNAMES_MAX = 1000
GRANT_AMOUNT_MAX = 1_000_000


def _instant(value: Any) -> dt.datetime:
    """An ISO 8601 date (midnight UTC) or date-time (UTC when it has no offset), not ahead."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date or date-time")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO 8601 date or date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    # Everyone is inactive since a future instant: refuse rather than deactivate everybody.
    if parsed > dt.datetime.now(dt.UTC):
        raise ValueError("can't be in the future")
    return parsed.astimezone(dt.UTC)


def _positive_amount(value: Any) -> int:
    # Strict: "5", 5.0 and true are not amounts.
    if type(value) is not int or value <= 0:
        raise ValueError("must be a positive integer")
    if value > GRANT_AMOUNT_MAX:
        raise ValueError(f"must be at most {GRANT_AMOUNT_MAX}")
    return value


def _not_empty(names: list[str]) -> list[str]:
    if not names:
        raise ValueError(BLANK)
    return names


Instant = Annotated[dt.datetime, BeforeValidator(_instant)]
GrantUsername = Annotated[str, StringConstraints(max_length=USERNAME_MAX), NonBlankSchema, Trimmed]


class DeactivateRequest(RequestModel):
    inactive_since: Instant = Field(
        alias="inactiveSince",
        description="An ISO 8601 date (midnight UTC) or date-time (UTC if no offset is given)",
        examples=["2025-01-01", "2025-01-01T12:00:00Z"],
    )


class Grant(RequestModel):
    usernames: Annotated[
        list[GrantUsername],
        Field(max_length=GRANT_USERNAMES_MAX, description="Duplicates count once"),
        AfterValidator(_not_empty),
    ]
    amount: Annotated[
        int,
        BeforeValidator(_positive_amount),
        Field(gt=0, le=GRANT_AMOUNT_MAX, description="Credits added to each account"),
    ]


class GrantRequest(RequestModel):
    grant: Grant


class Totals(ResponseModel):
    users: int
    active_users: int
    articles: int = Field(description="Live (not deleted) articles")
    comments: int = Field(description="Live comments on live articles")
    favorites: int = Field(description="Favorites of live articles")


class AuthorCount(ResponseModel):
    username: str
    articles_count: int


class TagCount(ResponseModel):
    tag: str
    articles_count: int


class Stats(ResponseModel):
    totals: Totals
    latest_signup_at: Timestamp | None
    top_authors: list[AuthorCount] = Field(
        description="At most 10, most articles first; accounts with none fill a short list"
    )
    top_tags: list[TagCount] = Field(description="At most 10, on the most live articles first")
    authors_with_favorited_articles: int = Field(
        description="Authors with at least one live article that has at least one favorite"
    )


class StatsResponse(ResponseModel):
    stats: Stats

    @classmethod
    def of(cls, stats: PlatformStats) -> StatsResponse:
        return cls.model_validate({"stats": stats}, from_attributes=True)


class Deactivated(ResponseModel):
    count: int
    usernames: list[str]


class DeactivateResponse(ResponseModel):
    deactivated: Deactivated

    @classmethod
    def of(cls, usernames: list[str]) -> DeactivateResponse:
        return cls(deactivated=Deactivated(count=len(usernames), usernames=usernames))


class Recipient(ResponseModel):
    username: str
    balance: int


class GrantResult(ResponseModel):
    amount: int
    count: int
    recipients: list[Recipient]


class GrantResponse(ResponseModel):
    grant: GrantResult

    @classmethod
    def of(cls, amount: int, granted: list[Granted]) -> GrantResponse:
        recipients = [Recipient(username=g.username, balance=g.balance) for g in granted]
        return cls(grant=GrantResult(amount=amount, count=len(recipients), recipients=recipients))


class ExportLine(ResponseModel):
    """One line of the articles export (documentation only: lines are encoded directly)."""

    slug: str
    title: str
    description: str
    body: str
    author: str = Field(description="The author's username")
    tag_list: list[str] = Field(description="Sorted")
    favorites_count: int
    comments_count: int
    created_at: Timestamp
    updated_at: Timestamp


def _stamp(value: dt.datetime) -> str:
    """:func:`iso_millis` for the export's hot loop: ``isoformat`` is C, ``strftime`` is slow.

    The database layer hands back UTC already; anything else takes the general path.
    """
    text = value.isoformat(timespec="milliseconds")
    return f"{text[:-6]}Z" if text.endswith("+00:00") else iso_millis(value)


def ndjson(batch: Sequence[ExportedArticle]) -> bytes:
    """A batch of exported articles as NDJSON: one JSON object and a newline per article.

    Plain dicts through pydantic-core's encoder: a model per row would cost more than the
    database does.
    """
    return b"".join(
        to_json(
            {
                "slug": row.slug,
                "title": row.title,
                "description": row.description,
                "body": row.body,
                "author": row.author,
                "tagList": row.tag_list,
                "favoritesCount": row.favorites_count,
                "commentsCount": row.comments_count,
                "createdAt": _stamp(row.created_at),
                "updatedAt": _stamp(row.updated_at),
            }
        )
        + b"\n"
        for row in batch
    )
