"""17 - Loading strategies side by side: the N+1, selectinload, joinedload, subqueryload, columns.

One result, five ways: the newest 20 live articles (a RealWorld list page), each with its
author's username and bio and its tag names, on the same seeded data. Every strategy must
produce the same rows; each is counted once under its statement budget, then timed over
several runs (the median is printed, not asserted: ``bench/`` measures performance).

- lazy: ``lazyload()`` overrides Conduit's ``lazy="raise"``; each article's author, profile
  and tags are then loaded on first access (``awaitable_attrs`` in async code): the N+1, which
  Conduit's N+1 detector reports (``db/instrument.py``).
- ``selectinload``: one extra ``SELECT ... WHERE id IN (...)`` per relationship.
- ``joinedload`` (with ``.unique()``, required when a joined collection repeats the parent
  rows): one statement, rows multiplied by the tags.
- ``subqueryload``: one extra statement per relationship, each repeating the page's query.
- Conduit's column select (``domain/articles/pages.py``, ``views.py``): one statement that
  selects exactly the fields the API returns, tags, favorites count and the viewer's flags as
  correlated subqueries for the page's rows only; on PostgreSQL also the variant whose row is
  the finished JSON text (``db/documents.py``), which the route sends as is.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, lazyload, selectinload, subqueryload

from _support import Example, run
from conduit.db.instrument import allow_repeats
from conduit.domain.articles.filters import ArticleFilter
from conduit.domain.articles.models import Article
from conduit.domain.articles.pages import PageQuery, list_page, list_page_documents
from conduit.domain.users.models import User
from conduit.http.documents import ARTICLE_LIST_ITEM

PAGE = 20
RUNS = 10
# slug, author's username, author's bio, sorted tag names
Item = tuple[str, str, str | None, tuple[str, ...]]


def page_of_articles() -> Select[Article]:
    return (
        select(Article)
        .where(Article.deleted_at.is_(None))
        .order_by(Article.created_at.desc(), Article.id.desc())
        .limit(PAGE)
    )


def entity_items(articles: list[Article]) -> list[Item]:
    return [
        (a.slug, a.author.username, a.author.profile.bio, tuple(sorted(t.name for t in a.tags)))
        for a in articles
    ]


async def lazy(session: AsyncSession) -> list[Item]:
    statement = page_of_articles().options(
        lazyload(Article.author).lazyload(User.profile), lazyload(Article.tags)
    )
    articles = list(await session.scalars(statement))
    for article in articles:  # each first access is a query: 1 + N
        author = await article.awaitable_attrs.author
        await author.awaitable_attrs.profile
        await article.awaitable_attrs.tags
    return entity_items(articles)


async def selectin(session: AsyncSession) -> list[Item]:
    statement = page_of_articles().options(
        selectinload(Article.author).selectinload(User.profile), selectinload(Article.tags)
    )
    return entity_items(list(await session.scalars(statement)))


async def joined(session: AsyncSession) -> list[Item]:
    statement = page_of_articles().options(
        joinedload(Article.author).joinedload(User.profile), joinedload(Article.tags)
    )
    result = await session.execute(statement)
    return entity_items(list(result.unique().scalars()))


async def subquery(session: AsyncSession) -> list[Item]:
    statement = page_of_articles().options(
        subqueryload(Article.author).subqueryload(User.profile), subqueryload(Article.tags)
    )
    return entity_items(list(await session.scalars(statement)))


def listing() -> PageQuery:
    return PageQuery.listing(ArticleFilter(), viewer_id=None, limit=PAGE)


async def columns(session: AsyncSession) -> list[Item]:
    page = await list_page(session, query=listing())
    return [
        (a.slug, a.author.username, a.author.bio, tuple(sorted(a.tag_list))) for a in page.articles
    ]


async def documents(session: AsyncSession) -> str:
    written = await list_page_documents(session, query=listing(), document=ARTICLE_LIST_ITEM)
    return written.articles


def document_items(text: str) -> list[Item]:
    return [
        (a["slug"], a["author"]["username"], a["author"]["bio"], tuple(sorted(a["tagList"])))
        for a in json.loads(text)
    ]


@dataclass(frozen=True, slots=True)
class Strategy:
    name: str
    load: Callable[[AsyncSession], Awaitable[Any]]
    budget: int
    items: Callable[[Any], list[Item]] = list


async def measure(ex: Example, strategy: Strategy) -> tuple[int, float, list[Item]]:
    # Units of work (which the N+1 detector watches), each with an empty identity map.
    with ex.step(f"{strategy.name}", max_statements=strategy.budget) as stats:
        async with ex.database.unit_of_work() as session:
            items = strategy.items(await strategy.load(session))
        slug, author, _bio, tags = items[0]
        ex.show("first row", f"{slug} by {author}, tags {list(tags)}")
    timings = []
    with allow_repeats():  # the detector has had its say on the counted run
        for _ in range(RUNS):
            started = time.perf_counter()
            async with ex.database.unit_of_work() as session:
                await strategy.load(session)
            timings.append((time.perf_counter() - started) * 1000)
    return stats.count, statistics.median(timings), items


async def main(ex: Example) -> None:
    await ex.seed(users=20, articles=200, tags=30)
    # The lazy budget: the page, then per article its tags, and per distinct author one user
    # and one profile (an author already in the session is not fetched again).
    strategies = [
        Strategy("lazy loading: the N+1", lazy, budget=1 + 3 * PAGE),
        Strategy("selectinload", selectin, budget=4),
        Strategy("joinedload + unique()", joined, budget=1),
        Strategy("subqueryload", subquery, budget=4),
        Strategy("Conduit's column select", columns, budget=1),
    ]
    if ex.dialect == "postgresql":
        strategies.append(
            Strategy("Conduit's PostgreSQL-built JSON", documents, 1, items=document_items)
        )
    results = [(strategy, *await measure(ex, strategy)) for strategy in strategies]

    print(f"\n{ex.dialect}: {PAGE} articles with author, profile and tags; median of {RUNS} runs")
    print(f"  {'strategy':<34} {'statements':>10} {'ms':>8}")
    for strategy, count, millis, _items in results:
        print(f"  {strategy.name:<34} {count:>10} {millis:>8.2f}")
    reference = results[0][3]
    for strategy, _count, _millis, items in results:
        ex.check(items == reference, f"{strategy.name} should load the same rows as lazy loading")
    ex.check(results[0][1] > PAGE, "lazy loading should cost more than one statement per row")


if __name__ == "__main__":
    run(main)
