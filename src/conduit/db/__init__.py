"""The framework-neutral database toolkit.

Nothing here imports FastAPI, a domain module or ``conduit.settings``: callers pass a
:class:`~conduit.db.config.DatabaseConfig`, so the package can be lifted into another service.
"""
