"""The Markdown report of one benchmark run (and its raw numbers as JSON beside it)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import charts
from harness.compare import CURSOR_NOTE, DIFFERENT, IDENTICAL, SAME_JSON, Outcome
from harness.dataset import Built
from harness.profile import Profile
from harness.scale import PAGES, PLANS, Script, SizeResult
from harness.servers import Config
from harness.suite import Load, PathResult
from harness.targets import Picks


@dataclass(frozen=True, slots=True)
class Drift:
    """``conduit db recount --check`` after the write paths ran with ``workers`` workers."""

    workers: int
    status: int
    output: str


@dataclass
class Run:
    """Everything one run produced, as the report needs it."""

    command: str
    started: str
    minutes: float = 0.0
    revision: str = ""
    machine: dict[str, str] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""
    busy: list[str] = field(default_factory=list)
    config: Config = field(default_factory=Config)
    worker_counts: list[int] = field(default_factory=lambda: [1, 2])
    load: Load = field(default_factory=Load)
    built: Built | None = None
    picks: Picks | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    results: list[PathResult] = field(default_factory=list)
    # The baseline measured against the minimal server (bench/baseline/minimal.py).
    floor: PathResult | None = None
    drift: list[Drift] = field(default_factory=list)
    scale: list[SizeResult] = field(default_factory=list)
    seeding: Script | None = None
    seed_articles: int = 100_000
    export: Script | None = None
    export_articles: int = 1_000_000
    profiles: list[Profile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def yes(value: bool | None) -> str:
    return "—" if value is None else ("**met**" if value else "**not met**")


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def throughput(results: Sequence[PathResult], load: Load, workers: int) -> list[str]:
    lines = [
        f"## Throughput, {workers} worker{'s' if workers > 1 else ''} per server "
        f"({load.connections} connections, {load.rounds} round(s) of "
        f"{load.seconds:g} s per server, A B alternating, {load.pause:g} s pauses)",
        "",
        "req/s, p50 and p99 are medians over the rounds; the ratio is the median of the "
        "per-round ratios of Conduit's req/s to the baseline's.",
        "",
        "| path | Conduit req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms "
        "| ratio | per round | target | met? | p99 ≤ 3xp50 |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|--:|---|---|",
    ]
    cost = [
        "",
        "CPU per request (ms; medians over the rounds), from /proc: the server's processes "
        "(app) and the PostgreSQL backends serving the data set (db). At saturation the two "
        "cores are shared by app, db and wrk, so the sum bounds throughput.",
        "",
        "| path | Conduit app | Conduit db | baseline app | baseline db |",
        "|---|--:|--:|--:|--:|",
    ]
    for r in results:
        c, b = r.conduit, r.baseline
        ratio = r.ratio
        target = f"≥ {r.target.target:g}x" if r.target.target else "—"
        errors = f" ⚠ {r.errors} errors/non-2xx" if r.errors else ""
        lines.append(
            f"| {r.target.title}{errors} | {num(r.median(c, 'rps'))} | "
            f"{num(r.median(c, 'p50_ms'), 2)} | {num(r.median(c, 'p99_ms'), 2)} | "
            f"{num(r.median(b, 'rps'))} | {num(r.median(b, 'p50_ms'), 2)} | "
            f"{num(r.median(b, 'p99_ms'), 2)} | "
            f"{'—' if ratio is None else f'**{ratio:.2f}x**'} | "
            f"{', '.join(f'{x:.2f}' for x in r.ratios) or '—'} | {target} | {yes(r.met)} | "
            f"{yes(r.tail_met)} |"
        )
        cost.append(
            f"| {r.target.name} | {num(r.median(c, 'app_cpu_ms'), 2)} | "
            f"{num(r.median(c, 'db_cpu_ms'), 2)} | {num(r.median(b, 'app_cpu_ms'), 2)} | "
            f"{num(r.median(b, 'db_cpu_ms'), 2)} |"
        )
    return lines + cost


GROUPS = [
    ("Every list (unfiltered, token, tags, author, favorited, feed) ≥ 1.0x",
     ["list", "list_token", "list_tag", "list_rare_tag", "list_author", "list_favorited", "feed"]),
    ("Single article, profile, tag list ≥ 0.5x", ["article", "profile", "tags"]),
    ("Writes (create with 3 tags, favorite, comment) ≥ 0.5x", ["create", "favorite", "comment"]),
]  # fmt: skip


def floor_line(run: Run) -> str:
    if run.floor is None or run.floor.ratio is None:
        return "- Baseline within 10% of the minimal one-route server: not measured"
    f = run.floor
    return (
        f"- Baseline within 10% of the minimal one-route server (single article, 1 worker): "
        f"{yes(f.ratio >= 0.9)} ({num(f.median(f.conduit, 'rps'))} vs "
        f"{num(f.median(f.baseline, 'rps'))} req/s: {f.ratio:.2f}x)"
    )


def targets_section(run: Run) -> list[str]:
    lines = ["## Targets", "", floor_line(run)]
    for workers in run.worker_counts:
        by_name = {r.target.name: r for r in run.results if r.workers == workers}
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        for title, names in GROUPS:
            measured = [by_name[n] for n in names if n in by_name]
            if not measured:
                lines.append(f"- {title}, {label}: not measured in this run")
                continue
            verdict = all(r.met for r in measured)
            detail = ", ".join(f"{r.target.name} {num(r.ratio, 2)}x" for r in measured)
            lines.append(f"- {title}, {label}: {yes(verdict)} ({detail})")
        lines.extend(
            f"- Kept counts exact after the writes (`conduit db recount --check`), {label}: "
            f"{yes(found.status == 0)}"
            + ("" if found.status == 0 else f" (exit {found.status}: {found.output[:300]})")
            for found in run.drift
            if found.workers == workers
        )
        tails = [r for r in by_name.values() if r.tail_met is not None and not r.target.write]
        if tails:
            failing = [r.target.name for r in tails if not r.tail_met]
            lines.append(
                f"- p99 ≤ 3x p50 at {run.load.connections} connections on every read path "
                f"(Conduit), {label}: {yes(not failing)}"
                + (f" (not on: {', '.join(failing)})" if failing else "")
            )
    lines += scale_targets(run)
    return [*lines, ""]


# Target 3: every page O(page): at 1M, one connection, p50 and p99 within these, and p50 at
# most this many times its p50 at 10k.
PAGE_P50_MS = 5.0
PAGE_P99_MS = 15.0
PAGE_GROWTH = 1.3


def scale_targets(run: Run) -> list[str]:
    lines = []
    sizes = {s.spec.size: s for s in run.scale}
    if "10k" in sizes and "1m" in sizes:
        small, large = sizes["10k"], sizes["1m"]
        missed = []
        for name in PAGES:
            at_1m = large.runs.get(name, {}).get("conduit")
            at_10k = small.runs.get(name, {}).get("conduit")
            if at_1m is None or at_10k is None or not at_1m.requests:
                missed.append(f"{name} not measured")
                continue
            growth = at_1m.p50_ms / at_10k.p50_ms
            if at_1m.p50_ms > PAGE_P50_MS or at_1m.p99_ms > PAGE_P99_MS or growth > PAGE_GROWTH:
                missed.append(name)
        lines.append(
            f"- Every page O(page): at 1M articles p50 ≤ {PAGE_P50_MS:g} ms, p99 ≤ "
            f"{PAGE_P99_MS:g} ms, p50 ≤ {PAGE_GROWTH}x its p50 at 10k (one connection): "
            f"{yes(not missed)}"
            + (f" (not on: {', '.join(missed)})" if missed else "")
            + " — the scale table below"
        )
    else:
        lines.append("- Every page O(page) at 1M: not measured (needs 10k and 1m)")
    if run.seeding is not None and run.seeding.ran and run.seeding.ratio is not None:
        lines.append(
            f"- Seeding {run.seed_articles:,} articles ≥ 0.5x raw COPY rows/s: "
            f"{yes(run.seeding.ratio >= 0.5)} "
            f"(`conduit db seed` end to end: {run.seeding.ratio:.2f}x)"
        )
    elif run.seeding is not None:
        lines.append("- Seeding ≥ 0.5x raw COPY: not measured (bench/seed_vs_copy.py failed)")
    else:
        lines.append("- Seeding ≥ 0.5x raw COPY: not measured (run with --scale)")
    if run.export is not None and run.export.ran and run.export.ratio is not None:
        lines.append(
            f"- Export of {run.export_articles:,} articles under 150 MB peak RSS: "
            f"{yes(run.export.ratio < 150)} "
            f"({run.export.ratio:,.0f} MB)"
        )
    else:
        reason = run.export.output if run.export else "run with --scale"
        lines.append(f"- Export under 150 MB peak RSS: not measured ({reason})")
    return lines


def equivalence(outcomes: Sequence[Outcome]) -> list[str]:
    if not outcomes:
        return ["## Equivalence", "", "Not checked in this run.", ""]
    count = {v: sum(o.verdict == v for o in outcomes) for v in (IDENTICAL, SAME_JSON, DIFFERENT)}
    cursor = sum(o.detail == CURSOR_NOTE for o in outcomes)
    lines = [
        "## Equivalence (bench/equivalence.py)",
        "",
        f"{len(outcomes)} requests sent to both servers: {count[IDENTICAL]} byte-identical, "
        f"{count[SAME_JSON]} the same JSON (keys, order, values) with other bytes or masked "
        f"values, {count[DIFFERENT]} different.",
        "",
    ]
    if cursor:
        lines += [
            f"{cursor} list answers are compared without the `nextCursor` that ends Conduit's "
            "lists (a signed keyset cursor, an extension the baseline does not implement); "
            "everything before it is byte-for-byte the baseline's.",
            "",
        ]
    for o in outcomes:
        if o.verdict != IDENTICAL and o.detail != CURSOR_NOTE:
            token = " (token)" if o.token else ""
            lines.append(f"- {o.verdict}: `{o.method} {o.url}`{token} {o.detail}")
    return [*lines, ""]


def scale(run: Run) -> list[str]:
    if not run.scale:
        return []
    sizes = [s.spec.articles for s in run.scale]
    lines = [
        "## Scale curve (1 connection; Conduit p50 / p99 in ms, baseline p50 in brackets)",
        "",
        "| page | " + " | ".join(f"{n:,} articles" for n in sizes) + " | 1M ÷ 10k (p50) |",
        "|---|" + "--:|" * (len(sizes) + 1),
    ]
    by_size = {s.spec.size: s for s in run.scale}
    for name in PAGES:
        cells = []
        for s in run.scale:
            found = s.runs.get(name, {}).get("conduit")
            raw = s.runs.get(name, {}).get("baseline")
            if found is None:
                cells.append("—")
                continue
            cell = (
                f"{found.p50_ms:.2f} / {found.p99_ms:.2f}"
                if found.requests
                else f"no answer in {found.seconds:.0f} s"
            )
            if raw is not None and raw.requests:
                cell += f" ({raw.p50_ms:.2f})"
            cells.append(cell)
        growth = "—"
        if "10k" in by_size and "1m" in by_size:
            a = by_size["10k"].runs.get(name, {}).get("conduit")
            b = by_size["1m"].runs.get(name, {}).get("conduit")
            if a is not None and b is not None and a.requests and b.requests:
                growth = f"{b.p50_ms / a.p50_ms:.2f}x"
        title = next((s.titles[name] for s in reversed(run.scale) if name in s.titles), name)
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {growth} |")
    built = ", ".join(
        f"{s.spec.articles:,}: "
        + ("reused" if s.built.reused else f"seeded in {s.built.seconds:.0f} s")
        for s in run.scale
    )
    follows = ", ".join(f"{s.reader_follows:,} at {s.spec.articles:,}" for s in run.scale)
    lines += [
        "",
        "Each cell is wrk with one connection for a few seconds after a 1 s warm-up; a path that "
        "answers nothing within that window is timed over 3 requests in a row instead. Titles "
        "are the largest data set's. The feed's reader follows the first authors by username "
        f"(followed: {follows}); the cursor page is reached through `nextCursor` (the baseline "
        f"has no cursor). Data sets: {built}.",
        "",
    ]
    failed = [s.plans.output[-300:] for s in run.scale if s.plans and not s.plans.ran]
    if any(s.plans for s in run.scale):
        lines += [
            "Each page's `EXPLAIN (ANALYZE, BUFFERS)` at every size, with the rows its scans "
            f"read: [{PLANS}]({PLANS})"
            + (f" (bench/pages_at_scale.py failed: {'; '.join(failed)})" if failed else ""),
            "",
        ]
    if run.seeding is not None:
        lines += ["### Seeding rate (bench/seed_vs_copy.py)", "", "```", run.seeding.output]
        lines += ["```", ""]
    if run.export is not None:
        lines += ["### Export memory (bench/export_rss.py)", "", "```", run.export.output]
        lines += ["```", ""]
    return lines


def profiles(run: Run) -> list[str]:
    lines: list[str] = []
    for p in run.profiles:
        lines += [
            f"### Profile: {p.target} ({p.samples:,} samples, {p.rps:,.0f} req/s under py-spy)",
            "",
            "Self time by library (innermost Python frame): "
            + ", ".join(f"{name} {pct:.0f}%" for name, pct in p.layers if pct >= 1),
            "",
            "| self % | function |",
            "|--:|---|",
            *[f"| {pct:.1f} | `{f}` |" for f, pct in p.self_top],
            "",
            "| inclusive % | Conduit function |",
            "|--:|---|",
            *[f"| {pct:.1f} | `{f}` |" for f, pct in p.inclusive_top],
            "",
        ]
    return (["## Where Conduit's time goes (py-spy)", "", *lines]) if lines else []


def markdown(run: Run) -> str:
    machine = [f"| {k} | {v} |" for k, v in run.machine.items()]
    lines = [
        f"# Benchmark: Conduit against the raw baseline — {run.started[:10]}",
        "",
        f"`{run.command}`, started {run.started}, took {run.minutes:.0f} min. "
        f"Conduit at {run.revision}.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *machine,
        f"| Load average (1, 5, 15 min) | {run.load_before} at the start, {run.load_after} "
        "at the end |",
        "",
    ]
    if run.busy:
        lines += ["Other busy processes at the start: " + "; ".join(run.busy) + ".", ""]
    lines += [*run.notes, ""] if run.notes else []
    counts = " and ".join(str(w) for w in run.worker_counts)
    lines += [
        "## Servers",
        "",
        f"Both servers run as real processes with {counts} worker(s) each (one phase per "
        "count), on the same machine as PostgreSQL and wrk: Conduit as `conduit serve "
        "--no-migrate --workers W` on its **default settings** (only `DATABASE_URL` and "
        "`SECRET_KEY` set; pool, log level and access log as shipped), the baseline "
        "(bench/baseline/app.py) under uvicorn with the same workers, uvloop and httptools, "
        f"an asyncpg pool of {run.config.pool} connections per worker with no reset round "
        "trip, and no access log. Both are up for the whole phase; only one is loaded at a "
        "time. The baseline itself is measured against bench/baseline/minimal.py (one route, "
        "one `fetchval`) under Targets.",
        "",
    ]
    if run.built is not None:
        b = run.built
        how = "reused" if b.reused else f"seeded by `conduit db seed` in {b.seconds:.0f} s"
        lines += ["## Data set", "", f"`{b.spec.database}` ({how}): {b.spec.describe()}.", ""]
    if run.picks is not None:
        p = run.picks
        lines += [
            f"Requests name: the reader `{p.reader}` (median follower, follows "
            f"{p.reader_follows}) for every token path; tag `{p.tag}` (most popular, "
            f"{p.tag_articles:,} articles); author `{p.author}` (most articles, "
            f"{p.author_articles:,}); favorited `{p.fan}` (most favorites, {p.fan_favorites:,}); "
            f"{len(p.slugs):,} articles and {len(p.usernames):,} profiles rotated.",
            "",
        ]
    lines += equivalence(run.outcomes)
    for workers in run.worker_counts:
        measured = [r for r in run.results if r.workers == workers]
        if measured:
            lines += [*throughput(measured, run.load, workers), ""]
    lines += targets_section(run)
    if run.results:
        lines += [
            "## Charts",
            "",
            f"![Conduit ÷ baseline per path]({charts.RATIOS})",
            "",
            f"![Latency percentiles per path]({charts.LATENCY})",
            "",
        ]
    if run.scale:
        lines += [f"![Latency against data size]({charts.SCALE})", ""]
    lines += scale(run)
    lines += profiles(run)
    if run.results:
        lines += ["<details><summary>Every run</summary>", "", "| path | workers | round "
                  "| server | req/s | p50 ms | p99 ms | max ms | non-2xx | socket errors |",
                  "|---|--:|--:|---|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
        every = [*run.results, *([run.floor] if run.floor else [])]
        for r in every:
            names = ("baseline", "minimal") if r is run.floor else ("conduit", "baseline")
            for name, runs in zip(names, (r.conduit, r.baseline), strict=True):
                for i, x in enumerate(runs, 1):
                    lines.append(
                        f"| {r.target.name} | {r.workers} | {i} | {name} | {x.rps:,.1f} | "
                        f"{x.p50_ms:.2f} | "
                        f"{x.p99_ms:.2f} | {x.max_ms:.1f} | {x.status_errors} | "
                        f"{x.socket_errors} |"
                    )
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "rps"):
            data["rps"] = value.rps
        return data
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def write(run: Run, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(run))
    raw = _plain(run)
    if run.picks is not None:  # 2,000 slugs and names add nothing to the numbers
        raw["picks"]["slugs"] = raw["picks"]["slugs"][:5]
        raw["picks"]["usernames"] = raw["picks"]["usernames"][:5]
    for result in raw["results"]:
        result["target"]["urls"] = result["target"]["urls"][:3]
        if "Authorization" in result["target"]["headers"]:  # a token is nobody's business
            result["target"]["headers"]["Authorization"] = "Token <redacted>"
    # Beside a .tmp report (a partial run) the numbers are a .tmp too, which git ignores.
    numbers = path.with_suffix(".json" if path.suffix == ".md" else ".json.tmp")
    numbers.write_text(json.dumps(raw, indent=1))
    charts.draw(run, path.parent)
