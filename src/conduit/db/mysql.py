"""What MySQL and MariaDB need that the other dialects do not, in one place.

Text compares as on PostgreSQL: case-sensitively and with trailing spaces significant, so
``Alice`` and ``alice`` are two usernames and a tag ``go`` is not ``Go``. The servers' default
collations (``utf8mb4_general_ci``, ``utf8mb4_0900_ai_ci``) fold case and accents, and the
``PAD SPACE`` ones ignore trailing spaces; every Conduit table is created with a binary
``NO PAD`` collation instead, which each server spells its own way.
"""

from __future__ import annotations

from sqlalchemy.engine import Dialect

MARIADB_COLLATION = "utf8mb4_nopad_bin"
MYSQL_COLLATION = "utf8mb4_0900_bin"


def is_mariadb(dialect: Dialect) -> bool:
    """MariaDB rather than MySQL (known once the dialect has connected; offline: MySQL)."""
    return bool(getattr(dialect, "is_mariadb", False))


def table_options(dialect: Dialect) -> dict[str, str]:
    """``create_table`` keyword arguments: InnoDB, ``utf8mb4`` and the binary collation.

    Columns added later inherit the table's collation. Empty on the other dialects.
    """
    if dialect.name != "mysql":
        return {}
    return {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": table_collation(dialect),
    }


# An InnoDB FULLTEXT index matches words by its columns' collation: under the binary one
# ``Wyvern`` is not ``wyvern``. The searched text columns fold case (and accents) instead,
# still ``NO PAD``; nothing compares or sorts them otherwise.
MARIADB_SEARCH_COLLATION = "utf8mb4_unicode_520_nopad_ci"
MYSQL_SEARCH_COLLATION = "utf8mb4_0900_ai_ci"


def search_collation(dialect: Dialect) -> str:
    """The collation of the columns under a ``FULLTEXT`` index."""
    return MARIADB_SEARCH_COLLATION if is_mariadb(dialect) else MYSQL_SEARCH_COLLATION


def table_collation(dialect: Dialect) -> str:
    """The binary ``NO PAD`` collation of every Conduit table."""
    return MARIADB_COLLATION if is_mariadb(dialect) else MYSQL_COLLATION
