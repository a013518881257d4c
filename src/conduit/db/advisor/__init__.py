"""The parts of the index and query advisor; :mod:`conduit.db.analyze` puts them together."""
