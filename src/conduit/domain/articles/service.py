"""Articles: writing, editing, soft-deleting and favoriting.

Writes are plain Core statements with RETURNING, and each builds its response from what it
already knows (or from one read through :mod:`conduit.domain.articles.queries`) instead of
reloading entities. Publishing, deleting, retagging and favoriting also adjust the kept counts
(:mod:`conduit.domain.articles.kept_counts`) in the same unit of work. Statement counts,
authentication not included:

- create: 3, or 6 with tags (insert; upsert the tags, link them; the counts);
- update: 2 (read, update), plus 2 to clear the tags or 4 to replace them (with the counts);
- delete: 4 (mark deleted, the counts), or 2 when refused (the guarded update, the read that
  says why);
- favorite, unfavorite: 2 (the idempotent write, then the read that also finds a missing slug),
  4 when the write changed something (the user's and the article's counts).

MariaDB and MySQL send more: create and favorite lock the user's row first
(:func:`conduit.db.dialect.hold_parent`), and update and delete, without ``UPDATE ...
RETURNING``, read the row they change (:func:`conduit.db.dialect.claim`): 1 more each.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    Select,
    String,
    and_,
    bindparam,
    delete,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.db.dialect import (
    claim,
    hold_parent,
    insert_for,
    is_mysql,
    matched,
    updates_return,
)
from conduit.db.model import CompactUuid, utcnow, uuid7
from conduit.domain.articles import kept_counts
from conduit.domain.articles.models import Article, Favorite
from conduit.domain.articles.queries import get_article
from conduit.domain.articles.slugs import new_slug
from conduit.domain.articles.views import ArticleView
from conduit.domain.errors import ForbiddenError, NotFoundError
from conduit.domain.profiles.service import ProfileView
from conduit.domain.tags import service as tagging
from conduit.domain.users.models import Role, User
from conduit.domain.users.service import Identity

SUBJECT = "article"
# Who may delete (never edit) anyone's article or comment.
MODERATING_ROLES = frozenset({Role.MODERATOR.value, Role.ADMIN.value})


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleChanges:
    """Fields to change; None leaves a field as it is (none of them may become null)."""

    title: str | None = None
    description: str | None = None
    body: str | None = None
    tags: Sequence[str] | None = None


def may_moderate(actor: Identity) -> bool:
    return actor.role in MODERATING_ROLES


def may_delete(actor: Identity, *, author_id: uuid.UUID) -> bool:
    """Whether ``actor`` may delete an article or comment written by ``author_id``."""
    return author_id == actor.id or may_moderate(actor)


_PUBLISHED = ("id", "slug", "title", "description", "body", "author_id")
# Built once: every publish sends it (each parameter takes its column's type).
_PUBLISH = (
    insert(Article)
    .values({name: bindparam(name) for name in _PUBLISHED})
    .returning(Article.slug, Article.created_at, Article.updated_at)
)


def _live(slug: str | BindParameter[str]) -> ColumnElement[bool]:
    return and_(Article.slug == slug, Article.deleted_at.is_(None))


async def create_article(
    session: AsyncSession,
    *,
    author: Identity,
    title: str,
    description: str,
    body: str,
    tags: Sequence[str] = (),
) -> ArticleView:
    """Publish an article by ``author`` with a fresh unique slug."""
    names = tagging.normalise(tags)
    article_id = uuid7()
    await hold_parent(session, User, author.id)
    connection = await session.connection()
    published = await connection.execute(
        _PUBLISH,
        {
            "id": article_id,
            "slug": new_slug(title),
            "title": title,
            "description": description,
            "body": body,
            "author_id": author.id,
        },
    )
    row = published.one()
    await tagging.attach(session, article_id=article_id, names=names)
    await kept_counts.went_live(
        session, article_id=article_id, author_id=author.id, tagged=bool(names), favorited=False
    )
    return ArticleView(
        id=article_id,
        author_id=author.id,
        slug=row.slug,
        title=title,
        description=description,
        body=body,
        tag_list=names,
        created_at=row.created_at,
        updated_at=row.updated_at,
        favorited=False,
        favorites_count=0,
        # Authors cannot follow themselves.
        author=ProfileView(
            username=author.username, bio=author.bio, image=author.image, following=False
        ),
    )


async def update_article(
    session: AsyncSession, *, actor: Identity, slug: str, changes: ArticleChanges
) -> ArticleView:
    """Edit the author's own article; a new title gives it a new slug. Bumps ``updated_at``."""
    current = await get_article(session, slug=slug, viewer_id=actor.id)
    if current is None:
        raise NotFoundError(SUBJECT)
    if current.author_id != actor.id:
        raise ForbiddenError(SUBJECT)
    values: dict[str, Any] = {"updated_at": utcnow()}
    if changes.title is not None and changes.title != current.title:
        values.update(title=changes.title, slug=new_slug(changes.title))
    if changes.description is not None:
        values["description"] = changes.description
    if changes.body is not None:
        values["body"] = changes.body
    row = await _edit(session, article_id=current.id, values=values)
    if row is None:  # deleted since it was read
        raise NotFoundError(SUBJECT)
    tag_list = current.tag_list
    if changes.tags is not None:
        tag_list = tagging.normalise(changes.tags)
        # The counts follow the links these statements changed, not the tags read above: a
        # concurrent retag of this article may have changed them since (it held the row).
        links = await tagging.retag(session, article_id=current.id, names=tag_list)
        await kept_counts.retagged(session, removed=links.removed, added=links.added)
    return dataclasses.replace(
        current,
        slug=row.slug,
        title=row.title,
        description=row.description,
        body=row.body,
        updated_at=row.updated_at,
        tag_list=tag_list,
    )


async def _edit(session: AsyncSession, *, article_id: uuid.UUID, values: dict[str, Any]) -> Any:
    """Write ``values`` to the live article; its edited columns, None if it is not live.

    One ``UPDATE ... RETURNING``; where UPDATE cannot return (MariaDB, MySQL), the UPDATE and
    then a read of the row it changed, which this transaction now holds: 1 more statement.
    """
    statement = (
        update(Article)
        .where(Article.id == article_id, Article.deleted_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if updates_return(session):
        return (await session.execute(statement.returning(*_EDITED))).one_or_none()
    if await matched(session, statement) == 0:
        return None
    return (await session.execute(select(*_EDITED).where(Article.id == article_id))).one()


_EDITED = (Article.slug, Article.title, Article.description, Article.body, Article.updated_at)


async def delete_article(session: AsyncSession, *, actor: Identity, slug: str) -> None:
    """Soft-delete: the author, or a moderator or admin, may. The row stays, unreadable.

    One guarded ``UPDATE ... WHERE deleted_at IS NULL RETURNING``: of two deletes of one
    article, the one that waited for the row re-reads it, finds it deleted and changes nothing,
    so the counts move once. When nothing was deleted, one read tells 404 from 403.
    """
    allowed = true() if may_moderate(actor) else Article.author_id == actor.id
    deleted = await claim(
        session,
        Article,
        where=[_live(slug), allowed],
        values={"deleted_at": utcnow()},
        returning=[Article.id, Article.author_id],
    )
    if not deleted:
        found = (await session.execute(select(Article.author_id).where(_live(slug)))).first()
        # Live now but not deleted above, though the actor may: it came back live since.
        if found is None or may_delete(actor, author_id=found.author_id):
            raise NotFoundError(SUBJECT)
        raise ForbiddenError(SUBJECT)
    (row,) = deleted
    await kept_counts.withdrawn(session, article_id=row.id, author_id=row.author_id)


def _live_held(slug: str | BindParameter[str], *columns: Any) -> Select[Any]:
    """``columns`` of the live article with ``slug``, its row held until commit (``FOR NO KEY
    UPDATE``; ``FOR UPDATE`` on MySQL): a delete or restore of it waits for this write, or this
    write for it, so the favoriters' kept counts follow one order of events.

    Exclusive, not ``FOR SHARE``: the write then moves the article's own count, and two
    favorites of one article that each held it shared would each wait for the other to let go
    before they could update it (a deadlock). Favorites of one article queue instead; a
    comment's foreign key check (``KEY SHARE``) does not wait for them."""
    return select(*columns).where(_live(slug)).with_for_update(key_share=True)


async def favorite(session: AsyncSession, *, user: Identity, slug: str) -> ArticleView:
    """Favorite a live article; doing it again changes nothing."""
    if is_mysql(session):
        # The article's row before the user's, the order a delete of the article takes them
        # in (InnoDB: the user's row is held next, see hold_parent); the other way round the
        # two deadlock. Elsewhere the INSERT's own read holds the article's row first.
        await session.execute(_live_held(slug, Article.id))
    await hold_parent(session, User, user.id)
    connection = await session.connection()
    added = await connection.execute(
        _favorite_statement(connection.dialect.name), {"slug": slug, "user_id": user.id}
    )
    article_id = added.scalar()
    if article_id is not None:
        await kept_counts.favorites_moved(session, user_id=user.id, article_id=article_id, by=1)
    return await _read(session, slug=slug, viewer_id=user.id)


@functools.lru_cache(maxsize=4)
def _favorite_statement(dialect: str) -> Executable:
    """The favorite's guarded insert, built once per dialect: slug and user bound."""
    held = _live_held(
        bindparam("slug", type_=String()),
        bindparam("user_id", type_=CompactUuid()),
        Article.id,
        Article.created_at,
    )
    return (
        insert_for(dialect, Favorite)
        .from_select([Favorite.user_id, Favorite.article_id, Favorite.article_created_at], held)
        .on_conflict_do_nothing()
        .returning(Favorite.article_id)
    )


async def unfavorite(session: AsyncSession, *, user: Identity, slug: str) -> ArticleView:
    """Take a favorite back; taking back one never given changes nothing."""
    taken = await session.execute(
        delete(Favorite)
        .where(
            Favorite.user_id == user.id,
            Favorite.article_id.in_(_live_held(slug, Article.id)),
        )
        .returning(Favorite.article_id)
        .execution_options(synchronize_session=False)
    )
    article_id = taken.scalar()
    if article_id is not None:
        await kept_counts.favorites_moved(session, user_id=user.id, article_id=article_id, by=-1)
    return await _read(session, slug=slug, viewer_id=user.id)


async def _read(session: AsyncSession, *, slug: str, viewer_id: uuid.UUID) -> ArticleView:
    view = await get_article(session, slug=slug, viewer_id=viewer_id)
    if view is None:
        raise NotFoundError(SUBJECT)
    return view
