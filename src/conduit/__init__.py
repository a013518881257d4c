"""Conduit: a RealWorld publishing-platform backend on FastAPI, SQLAlchemy 2 (async) and Alembic."""

__version__ = "0.1.0"
