"""Results of a benchmark run: rows, the machine, the table and the results page."""

from __future__ import annotations

import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path


@dataclass
class Row:
    """One measured figure of runinput beside the reference's, with its target.

    `ratio` is runinput / reference, computed from the raw numbers, and
    `met` is None when the row has no target or could not be measured.
    """

    section: str
    measure: str
    runinput: str
    reference: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None


@dataclass
class Results:
    """Every row and note of one run, in the order they were measured."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def note(self, text: str) -> None:
        self.notes.append(text)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the `fraction` quantile by the nearest-rank method."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def seconds(value: float | None) -> str:
    """Format a duration with a unit that keeps three significant figures."""
    if value is None:
        return "n/a"
    if value < 1:
        return f"{value * 1000:.3g} ms"
    return f"{value:.3g} s"


def mebibytes(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    if ratio < 0.01:
        return f"{ratio:.2g} (1/{1 / ratio:.0f})"
    return f"{ratio:.3g}"


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "no", None: ""}[met]


def machine_facts() -> dict[str, str]:
    """Return the cores, CPU model, memory and software versions of this run."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "memory": f"{memory_kib / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "Prefect": metadata.version("prefect"),
        "runinput": metadata.version("runinput"),
        "httpx": metadata.version("httpx"),
        "load average at the end (1, 5, 15 min)": " ".join(
            f"{load:.2f}" for load in os.getloadavg()
        ),
    }


def print_table(results: Results) -> None:
    """Print every row as a Rich table on stdout, then the notes."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="runinput against prefect.input and the prefect CLI")
    for name in ("section", "measure", "runinput", "reference", "ratio", "target"):
        table.add_column(name)
    table.add_column("met")
    for row in results.rows:
        table.add_row(
            row.section,
            row.measure,
            row.runinput,
            row.reference,
            ratio_text(row.ratio),
            row.target,
            met_text(row.met),
        )
    console = Console(width=200)
    console.print(table)
    for text in results.notes:
        console.print(f"- {text}", highlight=False, markup=False)


def markdown_table(rows: Sequence[Row]) -> str:
    header = "| measure | runinput | reference | ratio | target | met |"
    lines = [header, "|---|---|---|---|---|---|"]
    for row in rows:
        cells = [
            row.measure,
            row.runinput,
            row.reference,
            ratio_text(row.ratio),
            row.target,
            met_text(row.met),
        ]
        escaped = [cell.replace("|", "\\|") for cell in cells]
        lines.append("| " + " | ".join(escaped) + " |")
    return "\n".join(lines)


def write_page(
    path: Path,
    results: Results,
    *,
    command: str,
    started: str,
    duration: float,
    intro: str,
    section_notes: dict[str, str],
) -> None:
    """Write the results page: how to run it, the machine, every table, the notes."""
    parts = [
        "# Benchmarks",
        "",
        intro.strip(),
        "",
        "## Latest run",
        "",
        f"Started {started}, took {duration / 60:.1f} minutes. Command, from the "
        "repository root:",
        "",
        "```",
        command,
        "```",
        "",
        "| machine | |",
        "|---|---|",
    ]
    parts += [f"| {name} | {value} |" for name, value in machine_facts().items()]
    sections: dict[str, list[Row]] = {}
    for row in results.rows:
        sections.setdefault(row.section, []).append(row)
    for section, rows in sections.items():
        parts += ["", f"## {section}", ""]
        if section in section_notes:
            parts += [section_notes[section].strip(), ""]
        parts.append(markdown_table(rows))
    if results.notes:
        parts += ["", "## Notes", ""]
        parts += [f"- {text}" for text in results.notes]
    path.write_text("\n".join(parts) + "\n")
