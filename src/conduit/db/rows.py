"""Rows read by their columns' labels, as fast as by position.

A read selects its columns labelled (:func:`select_list`, from the names of the fields they
fill), and reads its rows by those labels.

``row.title`` looks the label up on every access, about three times the cost of ``row[3]``;
a page reads every column of every row. So a reader resolves the labels of a result's columns
to positions once, and reads each row with one :func:`operator.itemgetter`.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Label

# A result's row (sqlalchemy's Row is a sequence of its columns' values).
RowValues = Sequence[Any]


def column(keys: Iterable[str], name: str) -> Callable[[RowValues], Any]:
    """The value of the column labelled ``name``, in rows whose columns are labelled ``keys``."""
    return _getter(tuple(keys), (name,))


def columns(keys: Iterable[str], names: Sequence[str]) -> Callable[[RowValues], tuple[Any, ...]]:
    """The values of the columns labelled ``names``, in that order (at least two)."""
    if len(names) < 2:
        raise ValueError("columns() reads two or more; column() reads one")
    return _getter(tuple(keys), tuple(names))


# A statement's results all have the same labels: look them up once per statement.
@functools.lru_cache(maxsize=256)
def _getter(keys: tuple[str, ...], names: tuple[str, ...]) -> Callable[[RowValues], Any]:
    for name in names:
        if keys.count(name) != 1:
            raise ValueError(f"{keys.count(name)} columns labelled {name!r} in {keys}")
    return operator.itemgetter(*(keys.index(name) for name in names))


def select_list(named: Mapping[str, ColumnElement[Any]]) -> tuple[Label[Any], ...]:
    """Each column of ``named`` labelled with its name, in order."""
    return tuple(expression.label(name) for name, expression in named.items())
