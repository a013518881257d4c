"""Run every example on SQLite, and on PostgreSQL too when ``TEST_DATABASE_URL`` is set.

    python examples/run_all.py [-v] [NAME ...]    # NAME: a number or part of a file name

The examples run in this process, one after the other (the imports are paid once), with
``DATABASE_URL`` set to the dialect's server; each creates its own scratch database there and
drops it. One line per example; a failed example's whole output (``-v``: every example's).
Exits 1 when any example fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import runpy
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SQLITE_URL = "sqlite+aiosqlite:///examples.db"  # names the dialect only: see _support.py
_TOTAL = re.compile(r"^ok: (\d+) statements? in all$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    ok: bool
    output: str
    seconds: float

    @property
    def statements(self) -> str:
        found = _TOTAL.search(self.output)
        return f"{found.group(1)} statements" if found else "-"


def examples(selected: list[str]) -> list[Path]:
    every = sorted(HERE.glob("[0-9][0-9]_*.py"))
    if not selected:
        return every
    return [path for path in every if any(word in path.stem for word in selected)]


def run_one(path: Path) -> Outcome:
    buffer = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            runpy.run_path(str(path), run_name="__main__")
            ok = True
        except SystemExit as exc:
            ok = exc.code in (None, 0)
        except Exception:  # an example's own error: reported with its output, then the next
            traceback.print_exc()
            ok = False
    return Outcome(path.stem, ok, buffer.getvalue(), time.perf_counter() - started)


def run_dialect(label: str, url: str, paths: list[Path], *, verbose: bool) -> list[Outcome]:
    print(f"== {label}")
    os.environ["DATABASE_URL"] = url
    outcomes = []
    for path in paths:
        outcome = run_one(path)
        outcomes.append(outcome)
        status = "ok  " if outcome.ok else "FAIL"
        print(f"{status} {outcome.name:<32} {outcome.statements:>16} {outcome.seconds:6.2f} s")
        if verbose or not outcome.ok:
            print("     " + outcome.output.rstrip().replace("\n", "\n     "))
    return outcomes


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every output")
    parser.add_argument("names", nargs="*", help="run only examples whose name contains one")
    args = parser.parse_args(argv)
    paths = examples(args.names)
    if not paths:
        print(f"no example matches {args.names}", file=sys.stderr)
        return 2
    targets = [("sqlite", SQLITE_URL)]
    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        targets.append(("postgresql", server))
    else:
        print("(PostgreSQL: skipped; set TEST_DATABASE_URL to run the examples there too)")
    started = time.perf_counter()
    failed = [
        f"{label}/{outcome.name}"
        for label, url in targets
        for outcome in run_dialect(label, url, paths, verbose=args.verbose)
        if not outcome.ok
    ]
    seconds = time.perf_counter() - started
    if failed:
        print(f"\n{len(failed)} failed ({seconds:.1f} s): {', '.join(failed)}")
        return 1
    print(f"\nall {len(paths) * len(targets)} runs passed ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
