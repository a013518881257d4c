"""The wire format is defined once, by the response models: the SQL PostgreSQL writes documents
with is generated from them, over the domain's labelled columns, and the envelopes around
documents are written from them too. These tests fail wherever the two serialisations (the
database's and pydantic's) could part: a key, its alias or its place, a field the domain does
not select, a type the database would write differently. The bytes themselves are compared on a
real PostgreSQL in ``tests/integration/api/test_documents.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, Field, field_serializer
from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import postgresql

from conduit.db.documents import Document
from conduit.domain.articles import views
from conduit.domain.articles.views import ArticleView
from conduit.domain.profiles import service as profiles
from conduit.domain.profiles.service import ProfileView
from conduit.http import documents
from conduit.http.documents import Envelope, document_of
from conduit.http.schemas.articles import (
    Article,
    ArticleListItem,
    MultipleArticlesResponse,
    SingleArticleResponse,
)
from conduit.http.schemas.common import ResponseModel
from conduit.http.schemas.profiles import Profile, ProfileResponse

AUTHOR = ProfileView(
    username="ünïcode", bio=None, image="https://img.example/a.png", following=True
)
VIEW = ArticleView(
    id=uuid.uuid4(),
    author_id=uuid.uuid4(),
    slug="a-slug",
    title='Quote " and é',
    description="d",
    body="b",
    tag_list=["a", "b"],
    created_at=dt.datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=dt.UTC),
    updated_at=dt.datetime(2026, 11, 21, 11, 0, tzinfo=dt.UTC),
    favorited=False,
    favorites_count=3,
    author=AUTHOR,
)
ARTICLE_COLUMNS = views.columns(True, with_body=True)


def keys_in_order(text: str) -> list[str]:
    """Every key of a JSON text, in the order written, a nested object's right after its key."""

    def walk(value: Any) -> list[str]:
        if isinstance(value, list):
            return [key for item in value for key in walk(item)]
        if isinstance(value, dict):
            return [k for key, inner in value.items() for k in (key, *walk(inner))]
        return []

    return walk(json.loads(text))


def keys_in_sql(document: ColumnElement[str]) -> list[str]:
    """The keys a generated document writes, in order: its constant ``{"key":`` fragments."""
    sql = str(document.compile(dialect=postgresql.dialect()))
    return [json.loads(key) for key in re.findall(r"""'[{,]("(?:[^"\\]|\\.)*"):""", sql)]


@pytest.mark.parametrize(
    ("document", "model", "source"),
    [
        (documents.ARTICLE, Article, VIEW),
        (documents.ARTICLE_LIST_ITEM, ArticleListItem, VIEW),
        (documents.PROFILE, Profile, AUTHOR),
    ],
    ids=["article", "list item", "profile"],
)
def test_documents_write_the_keys_pydantic_writes_in_its_order(
    document: Document, model: type[BaseModel], source: object
) -> None:
    written_by_pydantic = model.model_validate(source, from_attributes=True).model_dump_json(
        by_alias=True
    )
    assert keys_in_sql(document(ARTICLE_COLUMNS)) == keys_in_order(written_by_pydantic)


def test_the_envelopes_hold_the_documents_of_their_own_models() -> None:
    assert documents.ARTICLE_RESPONSE.model is SingleArticleResponse
    assert documents.ARTICLES_RESPONSE.model is MultipleArticlesResponse
    assert documents.PROFILE_RESPONSE.model is ProfileResponse
    assert set(documents.ARTICLES_RESPONSE.documents) == {"articles"}
    assert documents.ARTICLE is documents.ARTICLE_RESPONSE.documents["article"]
    assert documents.ARTICLE_LIST_ITEM is documents.ARTICLES_RESPONSE.documents["articles"]
    assert documents.PROFILE is documents.PROFILE_RESPONSE.documents["profile"]


def _fields(view: type[Any]) -> set[str]:
    return {field.name for field in dataclasses.fields(view)}


def test_the_domain_selects_every_field_of_its_views_under_the_fields_names() -> None:
    # The Python path validates the models from the views; the database path reads the same
    # labelled columns the views are read from. So every model field must be a view field.
    article_labels = set(views.columns(False, with_body=True))
    assert article_labels == (_fields(ArticleView) - {"author"}) | _fields(ProfileView)
    assert set(profiles.columns(False)) == _fields(ProfileView)
    assert set(Article.model_fields) - {"author"} <= _fields(ArticleView)
    assert set(Profile.model_fields) == _fields(ProfileView)


@pytest.mark.parametrize("viewer", [False, True])
def test_the_domain_reads_build_with_every_generated_document(viewer: bool) -> None:
    # A model field the domain does not select fails here (KeyError), on any dialect.
    for document, with_body in ((documents.ARTICLE, True), (documents.ARTICLE_LIST_ITEM, False)):
        statement = select(*views.projection(viewer, with_body=with_body, document=document))
        assert [column.name for column in statement.selected_columns] == ["document"]
        statement.compile(dialect=postgresql.dialect())
    profile = documents.PROFILE(profiles.columns(viewer))
    profile.compile(dialect=postgresql.dialect())


def test_a_field_added_to_a_model_is_written_by_the_database_too() -> None:
    class Ranked(Profile):
        karma: int

    document = document_of(Ranked)
    columns = {**profiles.columns(False), "karma": ARTICLE_COLUMNS["favorites_count"]}
    assert keys_in_sql(document(columns)) == ["username", "bio", "image", "following", "karma"]
    with pytest.raises(KeyError, match="karma"):
        document(profiles.columns(False))


class _Floating(ResponseModel):
    ratio: float


class _Stamped(ResponseModel):
    # pydantic's own datetime format, not the API's (iso_millis): the database writes another.
    at: dt.datetime


class _Optional(ResponseModel):
    author: Profile | None


class _Serialised(ResponseModel):
    name: str

    @field_serializer("name")
    def _upper(self, value: str) -> str:
        return value.upper()


class _Excluding(ResponseModel):
    name: str
    secret: str = Field(exclude=True)


@pytest.mark.parametrize("model", [_Floating, _Stamped, _Optional, _Serialised, _Excluding])
def test_a_model_the_database_cannot_write_as_pydantic_does_is_refused(
    model: type[BaseModel],
) -> None:
    with pytest.raises(TypeError, match="the database cannot"):
        document_of(model)


@pytest.mark.parametrize("next_cursor", [None, "eyJhIjoxfQ.c2ln", "ünï\u2028"])
def test_a_page_envelope_is_the_bytes_pydantic_writes(next_cursor: str | None) -> None:
    items = [ArticleListItem.model_validate(VIEW, from_attributes=True)] * 2
    articles = "[" + ",".join(item.model_dump_json(by_alias=True) for item in items) + "]"
    written = documents.ARTICLES_RESPONSE(
        articles=articles, articles_count=41, next_cursor=next_cursor
    )
    modelled = MultipleArticlesResponse(
        articles=items, articles_count=41, next_cursor=next_cursor
    ).model_dump_json(by_alias=True)
    assert written.body == modelled.encode()
    assert written.media_type == "application/json"


def test_a_single_envelope_is_the_bytes_pydantic_writes() -> None:
    profile = Profile.model_validate(AUTHOR, from_attributes=True)
    written = documents.PROFILE_RESPONSE(profile=profile.model_dump_json())
    assert written.body == ProfileResponse(profile=profile).model_dump_json().encode()


def test_an_envelope_takes_exactly_its_models_fields() -> None:
    envelope = Envelope(MultipleArticlesResponse)
    with pytest.raises(TypeError, match="MultipleArticlesResponse takes"):
        envelope(articles="[]", articles_count=0)
    with pytest.raises(TypeError, match="MultipleArticlesResponse takes"):
        envelope(articles="[]", articles_count=0, next_cursor=None, extra=1)
