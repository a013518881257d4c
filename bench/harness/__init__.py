"""The benchmark harness behind ``bench/run.py`` and ``bench/equivalence.py``."""
