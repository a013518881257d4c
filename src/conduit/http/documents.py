"""Responses whose JSON the database wrote (:mod:`conduit.db.documents`), passed through.

On PostgreSQL the hot reads (an article, a list page, the feed, a profile) come back from their
one statement as JSON text, exactly what the declared response model would write; the route
wraps it in its envelope and sends it as bytes: no objects built, validated or serialised per
request. The response models stay declared on the routes, for the OpenAPI schema and for the
dialects and writes that build objects.
"""

from __future__ import annotations

import json

from starlette.responses import Response


class JSONText(Response):
    """A body that is JSON already."""

    media_type = "application/json"


def envelope(key: str, document: str) -> JSONText:
    """``{"key":document}``: a single resource, as the API wraps it."""
    return JSONText(f"{{{json.dumps(key)}:{document}}}")


def article_page(articles: str, *, articles_count: int, next_cursor: str | None) -> JSONText:
    """The body of a list or feed page, in the order of ``MultipleArticlesResponse``."""
    return JSONText(
        f'{{"articles":{articles},"articlesCount":{articles_count},'
        f'"nextCursor":{json.dumps(next_cursor)}}}'
    )
