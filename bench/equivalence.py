"""Check that Conduit and the raw baseline answer the benchmark's requests with the same JSON.

Sends every benchmarked read path (and its edges: limits, offsets past the end, filters that
match nothing, unknown slugs and users, with and without a token) to both servers and diffs
the answers: byte-identical, the same JSON with other bytes, or different (with the first
difference). With ``--writes`` it also creates an article and favorites two on both servers,
on a throwaway copy of the data set, comparing with the unpredictable values masked.

    .venv/bin/python bench/equivalence.py                 # starts both servers on 10k
    .venv/bin/python bench/equivalence.py --size 100k --writes
    .venv/bin/python bench/equivalence.py --conduit http://127.0.0.1:8000 \\
        --baseline http://127.0.0.1:8001 --size 100k      # servers already running

Exits 1 when any answer differs. ``bench/run.py`` runs the same check before it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial

from harness import compare, dataset, targets
from harness.common import RESULTS, say, secret, server_url
from harness.servers import Config, Pair

PORT = 18_200


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL server (default: BENCH_DATABASE_URL)")
    parser.add_argument("--size", choices=list(dataset.SIZES), default="10k")
    parser.add_argument("--writes", action="store_true", help="also the create and favorite paths")
    parser.add_argument("--conduit", help="a running Conduit (base URL) on the same data set")
    parser.add_argument("--baseline", help="a running baseline (base URL) on the same data set")
    return parser.parse_args()


def show(outcomes: list[compare.Outcome]) -> int:
    different = 0
    for o in outcomes:
        token = " (token)" if o.token else ""
        print(f"{o.verdict:<9} {o.method} {o.url}{token} {o.detail}".rstrip())
        different += o.verdict == compare.DIFFERENT
    identical = sum(o.verdict == compare.IDENTICAL for o in outcomes)
    print(f"\n{len(outcomes)} requests: {identical} identical, {different} different")
    return 1 if different else 0


async def main() -> int:
    args = arguments()
    server = server_url(args.url)
    spec = dataset.SIZES[args.size]
    built = await dataset.ensure(server, spec)
    picks = await targets.pick(built.url)
    key = secret()
    token = targets.token(picks.reader_id, key)
    if args.conduit and args.baseline:
        outcomes = await compare.compare_reads(
            args.conduit, args.baseline, picks, token, spec.articles
        )
        return show(outcomes)
    config = Config(workers=1, pool=4)
    logs = RESULTS / "logs.tmp"
    pair_of = partial(Pair.conduit_and_baseline, config=config, secret=key, logs=logs, port=PORT)
    with pair_of(built.url) as pair:
        outcomes = await compare.compare_reads(
            pair.conduit.base, pair.baseline.base, picks, token, spec.articles
        )
    if args.writes:
        async with dataset.scratch_copy(server, spec) as scratch:
            with pair_of(scratch) as pair:
                say("writes, on a copy of the data set")
                outcomes += await compare.compare_writes(
                    pair.conduit.base, pair.baseline.base, picks, token
                )
    return show(outcomes)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
