"""Conduit's database tooling: what the ``conduit`` command runs beside the service, never in it.

- :mod:`conduit.tooling.seed`: deterministic demo data at a chosen size, loaded fast
  (``conduit db seed``);
- :mod:`conduit.tooling.advisor`: the index and query advisor for PostgreSQL
  (``conduit db analyze``), with :mod:`conduit.tooling.querylog`, which reads a query log back;
- :mod:`conduit.tooling.migration_lint`: squawk over every revision rendered offline
  (``conduit migrate lint``).

The line drawn: the service (``conduit.http``, ``conduit.domain``, ``conduit.db``) never imports
this package; an import-linter contract in ``pyproject.toml`` holds it. The tooling uses the
service's layers like any client does — the schema and rules of ``conduit.domain``, the toolkit
of ``conduit.db`` — and never reaches a database driver itself: COPY is
:mod:`conduit.db.bulk_load`'s. What runs inside the service stays there: the query log's writer
is the app's hook in :mod:`conduit.db.querylog`; only reading the log back is tooling.
"""
