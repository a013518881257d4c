"""The report's charts (PNG, matplotlib): ratio per path, latency percentiles, the scale curve."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib as mpl

mpl.use("Agg")  # files only: no display on a benchmark machine
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from harness.report import Run

RATIOS = "ratios.png"
LATENCY = "latency.png"
SCALE = "scale.png"


def draw(run: Run, folder: Path) -> list[Path]:
    """Every chart the run has numbers for, written into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if run.results:
        written += [_ratios(run, folder / RATIOS), _latency(run, folder / LATENCY)]
    if run.scale:
        written.append(_scale(run, folder / SCALE))
    return written


def _ratios(run: Run, path: Path) -> Path:
    names = list(dict.fromkeys(r.target.name for r in run.results))
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.9), 4.5))
    width = 0.8 / len(run.worker_counts)
    for i, workers in enumerate(run.worker_counts):
        ratio = {r.target.name: r.ratio or 0.0 for r in run.results if r.workers == workers}
        xs = [n + i * width for n in range(len(names))]
        ax.bar(xs, [ratio.get(n, 0.0) for n in names], width, label=f"{workers} worker(s)")
    goals = {r.target.name: r.target.target for r in run.results}
    for n, name in enumerate(names):
        goal = goals[name]
        if goal is not None:
            ax.hlines(goal, n - width / 2, n + 0.8 - width / 2, colors="black", linestyles="--")
    ax.set_xticks([n + 0.4 - width / 2 for n in range(len(names))], names, rotation=30)
    ax.set_ylabel("Conduit req/s ÷ raw baseline req/s")
    ax.set_title("Throughput relative to the raw baseline (dashes: target)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _latency(run: Run, path: Path) -> Path:
    counts = run.worker_counts
    fig, axes = plt.subplots(len(counts), 1, figsize=(10, 3.6 * len(counts)), squeeze=False)
    for ax, workers in zip(axes[:, 0], counts, strict=True):
        results = [r for r in run.results if r.workers == workers]
        names = [r.target.name for r in results]
        series = [
            ("Conduit p50", [r.median(r.conduit, "p50_ms") for r in results]),
            ("Conduit p99", [r.median(r.conduit, "p99_ms") for r in results]),
            ("baseline p50", [r.median(r.baseline, "p50_ms") for r in results]),
            ("baseline p99", [r.median(r.baseline, "p99_ms") for r in results]),
        ]
        width = 0.2
        for i, (label, values) in enumerate(series):
            xs = [n + i * width for n in range(len(names))]
            ax.bar(xs, [v or 0.0 for v in values], width, label=label)
        ax.set_xticks([n + 0.3 for n in range(len(names))], names, rotation=30)
        ax.set_yscale("log")
        ax.set_ylabel("ms")
        ax.set_title(f"Latency at {run.load.connections} connections, {workers} worker(s)")
        ax.legend(fontsize="small", ncols=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scale(run: Run, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    articles = [s.spec.articles for s in run.scale]
    paths = list(dict.fromkeys(name for s in run.scale for name in s.runs))
    for name in paths:
        for server, style in (("conduit", "-"), ("baseline", "--")):
            points = [
                (n, found.p50_ms)
                for n, s in zip(articles, run.scale, strict=True)
                if (found := s.runs.get(name, {}).get(server)) is not None and found.requests
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, style, marker="o", label=f"{name} ({server})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("articles")
    ax.set_ylabel("p50 ms, one connection")
    ax.set_title("Latency against data size")
    ax.legend(fontsize="x-small", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
