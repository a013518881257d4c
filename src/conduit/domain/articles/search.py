"""Full-text search over articles' title, description and body.

PostgreSQL matches ``search_vector @@ websearch_to_tsquery('english', :q)`` through the GIN
index ``ix_articles_search_vector`` and ranks with ``ts_rank``: the vector weighs the title A,
the description B and the body C, so a title match ranks above a body match. ``q`` reads like
a web search box: words are stemmed and all required, ``"quoted phrases"``, ``or``, and
``-word`` to exclude; a query of stop words only ("the") matches nothing.

SQLite has no text search: each word of ``q`` must appear, case-insensitively (ASCII), in the
title, the description or the body (``LIKE '%word%'``, wildcards escaped). No stemming, no
phrases or operators, and no rank: results come newest first. The difference is deliberate
and documented rather than hidden; PostgreSQL is the production target.

MariaDB and MySQL match ``MATCH(title, description, body) AGAINST (:q IN NATURAL LANGUAGE
MODE)`` through the InnoDB ``FULLTEXT`` index ``ix_articles_fulltext`` and rank by that
relevance (TF-IDF over the three columns, equally weighted). Natural-language mode matches
articles holding ANY word of ``q`` (PostgreSQL requires all), ranking those with more and rarer
words first; there is no stemming, and operators and quotes are read as plain words. Words
shorter than ``innodb_ft_min_token_size`` (3) and InnoDB's stop words are ignored, so a query
of only such words ("the", "go") matches nothing, as PostgreSQL's stop words do. An InnoDB
full-text index sees committed rows only: a transaction cannot find the text it wrote itself
until it commits (the API's requests commit before the next one searches).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import REAL, Boolean, ColumnElement, Double, and_, func, literal, or_, type_coerce
from sqlalchemy.dialects.mysql import match as mysql_match
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY

from conduit.db.dialect import LIKE_ESCAPE, escape_like
from conduit.domain.articles.models import Article

CONFIG = "english"
# Beyond this a query is not a search any more; it also bounds the SQLite fallback's clauses.
QUERY_MAX = 200


@dataclass(frozen=True, slots=True)
class Search:
    """The condition a search adds, and its rank (None where results are not ranked)."""

    match: ColumnElement[bool]
    rank: ColumnElement[float] | None


def search(dialect: str, text: str) -> Search:
    if dialect == "postgresql":
        vector = Article.__table__.c.search_vector
        query = func.websearch_to_tsquery(literal(CONFIG, REGCONFIG), text, type_=TSQUERY)
        # ts_rank is real (float4): typed so, a cursor's rank is bound back exactly.
        return Search(
            match=vector.bool_op("@@")(query), rank=func.ts_rank(vector, query, type_=REAL)
        )
    if dialect == "mysql":
        relevance = mysql_match(
            *(field.expression for field in (Article.title, Article.description, Article.body)),
            against=text,
        ).in_natural_language_mode()
        # The same SQL twice: bare in WHERE (the index's own form), as a double in the key.
        return Search(match=type_coerce(relevance, Boolean), rank=type_coerce(relevance, Double))
    fields = (Article.title, Article.description, Article.body)
    words = [
        or_(*(field.ilike(f"%{escape_like(word)}%", escape=LIKE_ESCAPE) for field in fields))
        for word in text.split()
    ]
    return Search(match=and_(*words), rank=None)
