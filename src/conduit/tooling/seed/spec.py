"""What a seeding run produces: its sizes, where it starts, and the shape of its rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "password"  # noqa: S105 - the documented password of every seeded account


def today() -> dt.datetime:
    """Midnight UTC today: the default end of a data set, stable for a whole day."""
    return dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class SeedSpecError(ValueError):
    """The requested sizes cannot be satisfied (e.g. more follows than pairs of users)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedSpec:
    """What to generate. ``tags`` is the size of the tag vocabulary."""

    users: int = 25
    articles: int = 100
    comments: int = 300
    tags: int = 20
    tags_per_article: float = 3.0
    favorites: int = 500
    follows: int = 150
    seed: int = 42
    # The newest instant of the data set; everything is spread over the year before it.
    until: dt.datetime = field(default_factory=today)
    initial_credits: int = 100

    @classmethod
    def scaled(
        cls,
        *,
        users: int,
        articles: int,
        comments: int | None = None,
        favorites: int | None = None,
        follows: int | None = None,
        tags: int = 20,
        tags_per_article: float | None = None,
        **rest: Any,
    ) -> SeedSpec:
        """A spec whose unspecified activity grows with the users and articles asked for.

        3 comments and 5 favorites per article, 6 follows per user and 3 tags per article,
        each capped by what there is room for (a favorite on half the possible pairs at most).
        """
        return cls(
            users=users,
            articles=articles,
            tags=tags,
            tags_per_article=min(3.0, tags) if tags_per_article is None else tags_per_article,
            comments=3 * articles if comments is None else comments,
            favorites=min(5 * articles, users * articles // 2) if favorites is None else favorites,
            follows=min(6 * users, users * (users - 1) // 2) if follows is None else follows,
            **rest,
        )

    @property
    def article_tags(self) -> int:
        return round(self.articles * self.tags_per_article)

    def validate(self) -> None:
        counts = {
            "users": self.users,
            "articles": self.articles,
            "comments": self.comments,
            "tags": self.tags,
            "favorites": self.favorites,
            "follows": self.follows,
            "initial credits": self.initial_credits,
        }
        for name, value in counts.items():
            if value < 0:
                raise SeedSpecError(f"{name} cannot be negative")
        if self.tags_per_article < 0:
            raise SeedSpecError("tags per article cannot be negative")
        if self.until.tzinfo is None:
            raise SeedSpecError("until must be timezone-aware")
        if self.users == 0 and (self.articles or self.comments):
            raise SeedSpecError("articles and comments need at least one user")
        if self.articles == 0 and self.comments:
            raise SeedSpecError("comments need at least one article")
        if self.tags_per_article > self.tags:
            raise SeedSpecError(f"{self.tags_per_article:g} tags per article need as many tags")
        if self.favorites > self.users * self.articles:
            raise SeedSpecError(
                f"{self.favorites} favorites exceed the {self.users * self.articles} possible "
                "(user, article) pairs"
            )
        if self.follows > self.users * (self.users - 1):
            raise SeedSpecError(
                f"{self.follows} follows exceed the {max(self.users * (self.users - 1), 0)} "
                "possible pairs of distinct users"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """Where the new rows begin: all zeros on an empty database, past the old rows on append."""

    user_number: int = 0
    article_number: int = 0
    tag_id: int = 1
    comment_id: int = 1
    existing_tags: Mapping[str, int] = field(default_factory=dict)
    with_demo: bool = True


@dataclass(frozen=True, slots=True)
class TableRows:
    """One table's new rows, as tuples in ``columns`` order, and how many there will be."""

    table: str
    columns: tuple[str, ...]
    count: int
    rows: Iterator[tuple[Any, ...]]
