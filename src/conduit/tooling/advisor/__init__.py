"""The index and query advisor (``conduit db analyze``); :mod:`.analyze` puts its parts together.

Tooling, not service: it reads a live database's catalog and statistics on behalf of an operator
and never runs inside the app. Query logs come from :mod:`conduit.tooling.querylog`.
"""
