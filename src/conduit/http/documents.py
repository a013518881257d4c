"""Responses whose JSON the database wrote (:mod:`conduit.db.documents`), passed through.

On PostgreSQL the hot reads (an article, a list page, the feed, a profile) come back from their
one statement as JSON text, exactly what the declared response model would write; the route
wraps it in its envelope and sends it as bytes: no objects built, validated or serialised per
request. The response models stay declared on the routes, for the OpenAPI schema and for the
dialects and writes that build objects.

The response models are the one definition of the wire format: :func:`document_of` writes the
SQL of a model's document from its fields (names, aliases, order), over the read's columns
labelled with the field names, and :class:`Envelope` writes a response around documents from
its fields too. So a field added to a model appears in both serialisations, or, of a type the
database cannot write exactly as pydantic does, stops the service at import.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeGuard

from pydantic import BaseModel, PlainSerializer, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import SchemaSerializer
from sqlalchemy import ColumnElement
from starlette.responses import Response

from conduit.db import documents as doc
from conduit.db.documents import Document, JsonText
from conduit.http.schemas.articles import MultipleArticlesResponse, SingleArticleResponse
from conduit.http.schemas.common import iso_millis
from conduit.http.schemas.profiles import ProfileResponse


class JSONText(Response):
    """A body that is JSON already."""

    media_type = "application/json"


Columns = Mapping[str, ColumnElement[Any]]
# How one field's JSON value is written from the read's columns.
_Writer = Callable[[Columns], JsonText]

# Types whose JSON ``to_json`` writes as pydantic does (not floats: the digits differ).
_SCALARS: tuple[Any, ...] = (str, int, bool, str | None, int | None, bool | None)


def _key(field_name: str, field: FieldInfo) -> str:
    """The key ``field`` is written under (the routes serialise by alias)."""
    return field.serialization_alias or field_name


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _writer(model: type[BaseModel], name: str, field: FieldInfo) -> _Writer:
    annotation = field.annotation
    if _is_model(annotation):
        # A nested model's fields are columns of the same row (an article's author's).
        return _object_writer(annotation)
    serializers = [item for item in field.metadata if isinstance(item, PlainSerializer)]
    if annotation is dt.datetime and [item.func for item in serializers] == [iso_millis]:
        return lambda columns: doc.timestamp(columns[name])
    if not serializers and annotation == list[str]:
        return lambda columns: doc.string_array(columns[name])
    if not serializers and annotation in _SCALARS:
        return lambda columns: doc.value(columns[name])
    raise TypeError(
        f"{model.__name__}.{name}: the database cannot write {annotation!r} as the model does"
    )


def _fields_of(model: type[BaseModel]) -> list[tuple[str, _Writer]]:
    """The keys of ``model``'s JSON in its order, each with how its value is written."""
    decorators = model.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers:
        raise TypeError(f"{model.__name__}: the database cannot run its serializers")
    if any(field.exclude for field in model.model_fields.values()):
        raise TypeError(f"{model.__name__}: the database cannot write its excluded fields")
    return [
        (_key(name, field), _writer(model, name, field))
        for name, field in model.model_fields.items()
    ]


def _object_writer(model: type[BaseModel]) -> _Writer:
    fields = _fields_of(model)
    return lambda columns: doc.obj([(key, write(columns)) for key, write in fields])


def document_of(model: type[BaseModel]) -> Document:
    """The SQL that writes ``model``'s JSON from a read's columns, labelled with its field names."""
    return _object_writer(model)


class Envelope:
    """A response around documents, written from its model's fields in their order.

    A field holding a model, or a list of models, takes JSON text: the database's documents,
    written by :attr:`documents` (by field name), the SQL generated from that model. Every
    other field takes a value, which pydantic serialises as the model would.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.documents: dict[str, Document] = {}
        self._fields: list[tuple[str, bytes, SchemaSerializer | None]] = []
        for index, (name, field) in enumerate(model.model_fields.items()):
            annotation: Any = field.annotation
            opening = ("{" if index == 0 else ",") + json.dumps(_key(name, field)) + ":"
            held = _document_model(annotation)
            if held is not None:
                self.documents[name] = document_of(held)
            # pydantic-core's serializer itself: TypeAdapter.dump_json costs 10 times more.
            serializer = None if held is not None else TypeAdapter(annotation).serializer
            self._fields.append((name, opening.encode(), serializer))
        self._names = {name for name, _, _ in self._fields}

    def __call__(self, **values: Any) -> JSONText:
        """The response; ``values`` by field name, one for every field."""
        if len(values) != len(self._fields) or not self._names.issuperset(values):
            raise TypeError(f"{self.model.__name__} takes {sorted(self._names)}")
        parts: list[bytes] = []
        for name, opening, serializer in self._fields:
            value = values[name]
            parts += (opening, value.encode() if serializer is None else serializer.to_json(value))
        parts.append(b"}")
        return JSONText(b"".join(parts))


def _document_model(annotation: Any) -> type[BaseModel] | None:
    """The model of the documents a field holds (itself, or its list's items), if any."""
    if _is_model(annotation):
        return annotation
    arguments: Sequence[Any] = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is list and _is_model(arguments[0]):
        return arguments[0]
    return None


# The responses whose documents PostgreSQL writes, and those documents.
ARTICLE_RESPONSE = Envelope(SingleArticleResponse)
ARTICLES_RESPONSE = Envelope(MultipleArticlesResponse)
PROFILE_RESPONSE = Envelope(ProfileResponse)
ARTICLE = ARTICLE_RESPONSE.documents["article"]
ARTICLE_LIST_ITEM = ARTICLES_RESPONSE.documents["articles"]
PROFILE = PROFILE_RESPONSE.documents["profile"]
