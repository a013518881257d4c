"""The framework-neutral database toolkit.

Nothing here imports FastAPI, a domain module or ``conduit.settings``: callers pass a
:class:`~conduit.db.config.DatabaseConfig`, so the package can be lifted into another service.
It is the only package that reaches a database driver (asyncpg, aiosqlite) directly, as
:mod:`conduit.db.bulk_load` does for COPY; the rest of Conduit goes through SQLAlchemy.
"""
