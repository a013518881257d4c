"""The ``conduit`` command line: serve, migrate ..., db ..., users ..."""
