"""14 - One-to-many with ``cascade="all, delete-orphan"``: an article and its comments.

``Article.comments`` (``domain/articles/models.py``) saves new comments with their article,
deletes a comment removed from the collection (an orphan), and deletes the comments with the
article. ``passive_deletes=True`` leaves unloaded comments to the database's ``ON DELETE
CASCADE`` instead of loading them first. Like every relationship in Conduit it is
``lazy="raise"``: a query names its loader (``selectinload`` below). Conduit's API soft-deletes
articles and comments (``SoftDelete``, ``domain/comments/service.py``); this is the ORM's own
way, for data that is really removed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from _support import Example, new_article, new_user, run
from conduit.domain.articles.models import Article
from conduit.domain.comments.models import Comment


async def count_comments(ex: Example) -> int:
    async with ex.database.reader() as session:
        return int(await session.scalar(select(func.count()).select_from(Comment)) or 0)


async def main(ex: Example) -> None:
    # The user, the article, the comments (see Example.inserts), and the count.
    budget = 3 + ex.inserts(3)
    with ex.step(
        "an article with three comments, saved through the collection", max_statements=budget
    ):
        async with ex.database.unit_of_work() as session:
            ada = new_user("ada")
            article = new_article("Notes on the engine", author=ada)
            article.comments = [Comment(body=f"comment {n}", author=ada) for n in (1, 2, 3)]
            session.add(article)  # cascades to the author and the comments
        ex.show("comments", await count_comments(ex))

    with ex.step("load with selectinload, remove one (an orphan), add one", max_statements=4):
        async with ex.database.unit_of_work() as session:
            loaded = await session.scalar(
                select(Article).options(selectinload(Article.comments)).limit(1)
            )
            assert loaded is not None
            orphan = loaded.comments.pop(0)  # removed from the collection: DELETEd at flush
            loaded.comments.append(Comment(body="comment 4", author_id=loaded.author_id))
            ex.show("removed", orphan.body)
            ex.show("now", [comment.body for comment in loaded.comments])
    ex.check(await count_comments(ex) == 3, "one comment deleted, one added")

    with ex.step(
        "delete the article; its unloaded comments go by ON DELETE CASCADE", max_statements=3
    ):
        async with ex.database.unit_of_work() as session:
            doomed = await session.scalar(select(Article).limit(1))
            await session.delete(doomed)
        left = await count_comments(ex)
        ex.show("comments left", left)
    ex.check(left == 0, "the comments go with their article")


if __name__ == "__main__":
    run(main)
