"""16 - Many-to-many through ``secondary``: articles and tags.

``Article.tags`` and ``Tag.articles`` (``domain/articles/models.py``, ``domain/tags/models.py``)
go through the ``article_tags`` table: appending to the collection inserts a link row, removing
deletes it, and ``.any()`` filters through the link. Conduit's writes attach tags with one
idempotent ``INSERT ... ON CONFLICT DO NOTHING`` (``domain/tags/service.py``) and its reads
select the sorted names as a correlated subquery (``tag_list_of``), one statement per page.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from _support import Example, new_article, new_user, run
from conduit.domain.articles.models import Article
from conduit.domain.tags.models import ArticleTag, Tag


async def main(ex: Example) -> None:
    # The user, the tags (see Example.inserts), both articles in one INSERT, the links.
    budget = 3 + ex.inserts(3)
    with ex.step("two articles, three tags, linked through the collections", max_statements=budget):
        async with ex.database.unit_of_work() as session:
            ada = new_user("ada")
            python, sql, rust = Tag(name="python"), Tag(name="sql"), Tag(name="rust")
            session.add_all(
                [
                    new_article("Async sessions", author=ada, tags=[python, sql]),
                    new_article("Borrowing", author=ada, tags=[rust]),
                ]
            )

    async with ex.database.unit_of_work() as session:
        with ex.step("each article with selectinload(Article.tags)", max_statements=2):
            articles = (
                await session.scalars(
                    select(Article).options(selectinload(Article.tags)).order_by(Article.title)
                )
            ).all()
            for article in articles:
                ex.show(article.title, sorted(tag.name for tag in article.tags))

        with ex.step("the other side: Tag.articles", max_statements=2):
            tag = await session.scalar(
                select(Tag).options(selectinload(Tag.articles)).where(Tag.name == "sql")
            )
            assert tag is not None
            ex.show("articles tagged sql", [article.title for article in tag.articles])

        with ex.step(
            "retag: remove sql, add rust: one DELETE, one INSERT of links", max_statements=3
        ):
            first = articles[0]
            rust_tag = await session.scalar(select(Tag).where(Tag.name == "rust"))
            assert rust_tag is not None
            first.tags = [t for t in first.tags if t.name != "sql"] + [rust_tag]
            await session.flush()

        with ex.step("filter through the link: Article.tags.any(name=...)", max_statements=1):
            titles = list(
                await session.scalars(
                    select(Article.title)
                    .where(Article.tags.any(Tag.name == "rust"))
                    .order_by(Article.title)
                )
            )
            ex.show("tagged rust", titles)
        ex.check(titles == ["Async sessions", "Borrowing"], "both articles now carry rust")

        with ex.step("link rows left", max_statements=1):
            links = await session.scalar(select(func.count()).select_from(ArticleTag))
            ex.show("article_tags rows", links)


if __name__ == "__main__":
    run(main)
