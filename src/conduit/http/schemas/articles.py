"""Request and response bodies of the articles endpoints.

Unknown fields are ignored (pydantic's default), so the server-owned fields of an article
(slug, author, counts, timestamps) can never be set by a client: the request models do not
declare them. Titles and descriptions are trimmed; bodies are kept exactly as sent.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from conduit.domain.articles.models import BODY_MAX, DESCRIPTION_MAX, TITLE_MAX
from conduit.domain.articles.pages import ArticlePage
from conduit.domain.articles.views import ArticleView
from conduit.domain.tags.models import NAME_MAX
from conduit.http.schemas.common import (
    NonBlankSchema,
    NotBlank,
    RequestModel,
    ResponseModel,
    Timestamp,
    Trimmed,
    not_null,
    omittable,
)
from conduit.http.schemas.profiles import Profile

TAGS_MAX = 32


def _distinct(names: list[str]) -> list[str]:
    return sorted(set(names))


Title = Annotated[str, StringConstraints(max_length=TITLE_MAX), NonBlankSchema, Trimmed]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX), NonBlankSchema, Trimmed]
Body = Annotated[str, StringConstraints(max_length=BODY_MAX), NonBlankSchema, NotBlank]
TagName = Annotated[str, StringConstraints(max_length=NAME_MAX), NonBlankSchema, Trimmed]
# Trimmed, then duplicates collapse and the list is sorted: the form every response shows.
TagList = Annotated[list[TagName], Field(max_length=TAGS_MAX), AfterValidator(_distinct)]


class NewArticle(RequestModel):
    title: Title
    description: Description
    body: Body
    tag_list: TagList | None = Field(default=None, alias="tagList")


class NewArticleRequest(RequestModel):
    article: NewArticle


class ArticleUpdate(RequestModel):
    """Every field is optional; an omitted one is kept, and none may be null."""

    model_config = ConfigDict(
        json_schema_extra=omittable("title", "description", "body", "tagList")
    )

    title: Title | None = None
    description: Description | None = None
    body: Body | None = None
    # Omitted keeps the tags, [] clears them.
    tag_list: TagList | None = Field(default=None, alias="tagList")

    _not_null = field_validator("title", "description", "body", "tag_list")(not_null)


class UpdateArticleRequest(RequestModel):
    article: ArticleUpdate


class Article(ResponseModel):
    slug: str
    title: str
    description: str
    body: str
    tag_list: list[str]
    created_at: Timestamp
    updated_at: Timestamp
    favorited: bool
    favorites_count: int
    author: Profile


class ArticleListItem(ResponseModel):
    """An article in a list: everything but the body."""

    slug: str
    title: str
    description: str
    tag_list: list[str]
    created_at: Timestamp
    updated_at: Timestamp
    favorited: bool
    favorites_count: int
    author: Profile


class SingleArticleResponse(ResponseModel):
    article: Article

    @classmethod
    def of(cls, view: ArticleView) -> SingleArticleResponse:
        return cls.model_validate({"article": view}, from_attributes=True)


class MultipleArticlesResponse(ResponseModel):
    articles: list[ArticleListItem]
    articles_count: int
    # Pass as ``cursor`` to continue after the last article shown; null on the last page.
    next_cursor: str | None

    @classmethod
    def of(cls, page: ArticlePage, *, next_cursor: str | None) -> MultipleArticlesResponse:
        return cls.model_validate(
            {
                "articles": page.articles,
                "articles_count": page.articles_count,
                "next_cursor": next_cursor,
            },
            from_attributes=True,
        )
