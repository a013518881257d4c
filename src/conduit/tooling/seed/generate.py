"""Deterministic rows for every table of a demo data set, streamed table by table.

The same :class:`SeedSpec` and :class:`Start` always give the same rows, ids included: ids are
UUID v7 values built from each row's (seeded) creation time, so they are time-ordered like the
ones the service makes. Rows are produced lazily; what is kept in memory is one id and one
timestamp per user and a few numbers per article, never rows.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator
from typing import Any

from conduit.domain.articles.slugs import SUFFIX_LENGTH, slug_base
from conduit.tooling.seed import shape
from conduit.tooling.seed.avatar import identicon
from conduit.tooling.seed.spec import DEMO_EMAIL, DEMO_USERNAME, SeedSpec, Start, TableRows
from conduit.tooling.seed.text import FIRST_NAMES, LAST_NAMES, Prose, tag_names

_DAY_MS = 86_400_000
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


class DataSet:
    """The rows of one seeding run. Each ``*_rows`` method is a fresh generator."""

    def __init__(self, spec: SeedSpec, *, password_hash: str, start: Start | None = None) -> None:
        spec.validate()
        self.spec = spec
        self.start = start or Start()
        self.password_hash = password_hash
        seed = spec.seed
        end = shape.to_millis(spec.until)
        # Users arrive from a month before the first article, so every article has an author.
        self.users = shape.Timeline(
            count=spec.users, start=end - 395 * _DAY_MS, end=end, salt=shape.salt(seed, "u")
        )
        self.articles = shape.Timeline(
            count=spec.articles, start=end - 365 * _DAY_MS, end=end, salt=shape.salt(seed, "a")
        )
        self.end = end
        self._user_salt = shape.salt(seed, "user-id")
        self._article_salt = shape.salt(seed, "article-id")
        self._suffix_offset = shape.salt(seed, "slug") % _SUFFIXES
        self.user_ids = [self._user_id(i) for i in range(spec.users)]
        self.user_times = [self.users.at(i) for i in range(spec.users)]
        self.tag_names = tag_names(spec.tags)
        self.tag_ids = self._tag_ids()
        plan = shape.rng(seed, "plan")
        popularity = shape.skewed_weights(plan, spec.articles, sigma=1.2)
        self.favorites_per_article = shape.allocate(spec.favorites, popularity, cap=spec.users)
        self.comments_per_article = shape.allocate(
            spec.comments, popularity, cap=max(spec.comments, 1)
        )
        spread = [plan.uniform(0.4, 1.6) for _ in range(spec.articles)]
        self.tags_per_article = shape.allocate(spec.article_tags, spread, cap=spec.tags)
        activity = shape.skewed_weights(plan, spec.users, sigma=1.0)
        self.follows_per_user = shape.allocate(spec.follows, activity, cap=max(spec.users - 1, 0))
        rank = shape.Permutation(spec.users, plan.getrandbits(32))
        # Popularity rank -> user: the most followed and most active are spread over all ages.
        self._users_by_rank = [rank(r) for r in range(spec.users)]

    def _user_id(self, index: int) -> uuid.UUID:
        # Numbered past the existing rows on append, so the random bits never repeat either.
        bits = shape.mix((self.start.user_number + index) ^ self._user_salt)
        return shape.uuid7_at(self.users.at(index), bits)

    def article_id(self, index: int) -> uuid.UUID:
        bits = shape.mix((self.start.article_number + index) ^ self._article_salt)
        return shape.uuid7_at(self.articles.at(index), bits)

    def _slug_suffix(self, number: int) -> str:
        """The service's slug suffix shape (8 of [a-z0-9]), unique per article number.

        Multiplying by a number prime to 36 permutes the 36**8 suffixes, so distinct article
        numbers never share one, while neighbours look unrelated.
        """
        value = (number * _SUFFIX_STRIDE + self._suffix_offset) % _SUFFIXES
        digits = []
        for _ in range(SUFFIX_LENGTH):
            value, digit = divmod(value, 36)
            digits.append(_DIGITS[digit])
        return "".join(digits)

    def _tag_ids(self) -> list[int]:
        """The id of each vocabulary tag: the existing row's when the name is taken already."""
        next_id = self.start.tag_id
        ids: list[int] = []
        for name in self.tag_names:
            existing = self.start.existing_tags.get(name)
            if existing is None:
                existing = next_id
                next_id += 1
            ids.append(existing)
        return ids

    @property
    def new_tag_count(self) -> int:
        return sum(1 for name in self.tag_names if name not in self.start.existing_tags)

    def _after(self, share: float, *moments: int) -> dt.datetime:
        """An instant ``share`` (cubed: early ones likelier) from the latest moment to the end."""
        base = max(moments)
        return shape.to_datetime(base + int((self.end - base) * share**3))

    def _updated(self, rand: random.Random, created: int) -> dt.datetime:
        if rand.random() < 0.7:
            return shape.to_datetime(created)
        return shape.to_datetime(created + int((self.end - created) * rand.random() ** 2))

    # Tables, in an order that satisfies every foreign key.

    def tables(self) -> list[TableRows]:
        spec = self.spec
        return [
            TableRows("users", _USER_COLUMNS, spec.users, self.user_rows()),
            TableRows("profiles", ("user_id", "bio", "image"), spec.users, self.profile_rows()),
            TableRows("tags", ("id", "name"), self.new_tag_count, self.tag_rows()),
            TableRows("articles", _ARTICLE_COLUMNS, spec.articles, self.article_rows()),
            TableRows(
                "article_tags",
                ("article_id", "tag_id", "article_created_at"),
                spec.article_tags,
                self.tagging_rows(),
            ),
            TableRows(
                "favorites",
                ("user_id", "article_id", "created_at", "article_created_at"),
                spec.favorites,
                self.favorite_rows(),
            ),
            TableRows("follows", ("follower_id", "followee_id"), spec.follows, self.follow_rows()),
            TableRows("comments", _COMMENT_COLUMNS, spec.comments, self.comment_rows()),
        ]

    def user_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "users")
        for i, (user_id, created) in enumerate(zip(self.user_ids, self.user_times, strict=True)):
            if i == 0 and self.start.with_demo:
                username, email = DEMO_USERNAME, DEMO_EMAIL
            else:
                first, last = rand.choice(FIRST_NAMES), rand.choice(LAST_NAMES)
                number = self.start.user_number + i
                username = f"{first}{rand.choice(('', '_'))}{last}{number}"
                email = f"{first}.{last}{number}@{rand.choice(_EMAIL_DOMAINS)}"
            yield (
                user_id,
                email,
                username,
                self.password_hash,
                "user",
                True,
                self.spec.initial_credits,
                shape.to_datetime(created),
                self._updated(rand, created),
            )

    def profile_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "profiles")
        prose = Prose(rand, sentences=0)
        for user_id in self.user_ids:
            bio = prose.bio() if rand.random() < 0.6 else None
            image = None
            if rand.random() < 0.5:
                image = identicon(user_id)
            yield (user_id, bio, image)

    def tag_rows(self) -> Iterator[tuple[Any, ...]]:
        for tag_id, name in zip(self.tag_ids, self.tag_names, strict=True):
            if name not in self.start.existing_tags:
                yield (tag_id, name)

    def article_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "articles")
        prose = Prose(rand, paragraphs=2000, titles=min(self.spec.articles, 5000))
        random_, titles = rand.random, prose.titles
        slugs = [slug_base(title) for title in titles]
        descriptions = prose.sentences
        user_ids, user_times = self.user_ids, self.user_times
        signed_up = 0  # users who exist by the current article's time: times only grow
        for i in range(self.spec.articles):
            created = self.articles.at(i)
            while signed_up < len(user_times) and user_times[signed_up] <= created:
                signed_up += 1
            # Authors write only after they sign up; early members write the most.
            author = user_ids[int(signed_up * random_() ** 1.5)]
            pick = int(random_() * len(titles))
            yield (
                self.article_id(i),
                f"{slugs[pick]}-{self._slug_suffix(self.start.article_number + i)}",
                titles[pick],
                descriptions[int(random_() * len(descriptions))],
                prose.body(),
                author,
                shape.to_datetime(created),
                self._updated(rand, created),
            )

    def tagging_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "article_tags")
        ranks = range(len(self.tag_ids))
        cumulative = shape.zipf_cumulative(len(self.tag_ids), exponent=1.0)
        choices = rand.choices
        for i, count in enumerate(self.tags_per_article):
            if not count:
                continue
            article_id = self.article_id(i)
            created = shape.to_datetime(self.articles.at(i))
            picked: dict[int, None] = {}
            while len(picked) < count:
                for rank in choices(ranks, cum_weights=cumulative, k=count - len(picked)):
                    picked[rank] = None
            for rank in picked:
                yield (article_id, self.tag_ids[rank], created)

    def favorite_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "favorites")
        random_, users, end = rand.random, self.spec.users, self.end
        user_ids, user_times, by_rank = self.user_ids, self.user_times, self._users_by_rank
        to_datetime = shape.to_datetime
        for i, count in enumerate(self.favorites_per_article):
            if not count:
                continue
            article_id, created = self.article_id(i), self.articles.at(i)
            article_created = to_datetime(created)
            for rank in shape.pick_distinct(rand, count, users, power=1.8):
                user = by_rank[rank]
                since = max(created, user_times[user])
                # Most favorites come soon after the article or the reader appears.
                when = to_datetime(since + int((end - since) * random_() ** 3))
                yield (user_ids[user], article_id, when, article_created)

    def follow_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "follows")
        users, user_ids, by_rank = self.spec.users, self.user_ids, self._users_by_rank
        rank_of = {user: rank for rank, user in enumerate(by_rank)}
        for follower, count in enumerate(self.follows_per_user):
            if not count:
                continue
            own_rank = rank_of[follower]
            for rank in shape.pick_distinct(rand, count, users, power=2.5, exclude=own_rank):
                yield (user_ids[follower], user_ids[by_rank[rank]])

    def comment_rows(self) -> Iterator[tuple[Any, ...]]:
        rand = shape.rng(self.spec.seed, "comments")
        prose = Prose(rand, sentences=1000)
        comment_id = self.start.comment_id
        users = self.spec.users
        for i, count in enumerate(self.comments_per_article):
            if not count:
                continue
            article_id, created = self.article_id(i), self.articles.at(i)
            for _ in range(count):
                author = self._users_by_rank[int(users * rand.random() ** 1.5)]
                when = self._after(rand.random(), created, self.user_times[author])
                updated = when
                if rand.random() > 0.9:  # an edit, a little later
                    updated = self._after(rand.random(), shape.to_millis(when))
                body = prose.text(rand.randint(1, 3))
                yield (comment_id, body, article_id, self.user_ids[author], when, updated)
                comment_id += 1


_USER_COLUMNS = (
    "id",
    "email",
    "username",
    "password_hash",
    "role",
    "is_active",
    "credits",
    "created_at",
    "updated_at",
)
_ARTICLE_COLUMNS = (
    "id",
    "slug",
    "title",
    "description",
    "body",
    "author_id",
    "created_at",
    "updated_at",
)
_COMMENT_COLUMNS = ("id", "body", "article_id", "author_id", "created_at", "updated_at")
_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789"
_SUFFIXES = 36**SUFFIX_LENGTH
_SUFFIX_STRIDE = 1_000_000_007  # prime, so prime to 36**8
