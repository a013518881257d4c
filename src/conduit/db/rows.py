"""Rows read by their columns' labels, as fast as by position.

A read selects its columns labelled (:func:`select_list`, from the names of the fields they
fill), and reads its rows by those labels.

``row.title`` looks the label up on every access, about three times the cost of ``row[3]``;
a page reads every column of every row. So a reader resolves the labels of a result's columns
to positions once, and reads each row with one :func:`operator.itemgetter`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Label

# A result's row (sqlalchemy's Row is a sequence of its columns' values).
RowValues = Sequence[Any]


def column(keys: Iterable[str], name: str) -> Callable[[RowValues], Any]:
    """The value of the column labelled ``name``, in rows whose columns are labelled ``keys``."""
    return operator.itemgetter(list(keys).index(name))


def columns(keys: Iterable[str], names: Sequence[str]) -> Callable[[RowValues], tuple[Any, ...]]:
    """The values of the columns labelled ``names``, in that order (at least two)."""
    labels = list(keys)
    if len(names) < 2:
        raise ValueError("columns() reads two or more; column() reads one")
    return operator.itemgetter(*(labels.index(name) for name in names))


def select_list(columns: Mapping[str, ColumnElement[Any]]) -> tuple[Label[Any], ...]:
    """Each of ``columns`` labelled with its name, in order."""
    return tuple(column.label(name) for name, column in columns.items())
