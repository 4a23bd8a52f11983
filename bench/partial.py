"""``python -m bench --only SECTIONS``: measure some sections and update them in ``docs/PERFORMANCE.md`` in place.

A whole run takes the machine for many minutes; a change to one part is measured by re-running the sections it
touches. Each re-run section replaces its own (same heading; one the report lacks is added at its end), the budget
rows it measures replace theirs (or are added at the top of the table), and the machine table gains a row saying
which sections were re-run, when, at which commit, under which load; everything else stays as the last whole run
wrote it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bench.budget import Target, budget_row

__all__ = ["SECTIONS", "before_line", "load_average", "previous_rows", "update_document"]

SECTIONS = ("cold-start", "overhead", "shipping", "delivery", "ingress", "package")
_BUDGET_HEADING = "## Performance budget (issue 20)"
_MACHINE_HEADING = "## Machine"
_RERUN = "re-run"


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, and its CPUs."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} CPUs"


def previous_rows(document: str, heading: str) -> list[list[str]]:
    """The cells of every table row (headers and rules left out) of section ``heading`` in ``document``."""
    rows: list[list[str]] = []
    for index, chunk in enumerate(_split(document)):
        if _heading(chunk, index == 0) != heading:
            continue
        lines = chunk.split("\n")
        for i, line in enumerate(lines):
            next_line = lines[i + 1] if i + 1 < len(lines) else ""
            if line.startswith("| ") and not line.startswith("| ---") and not next_line.startswith("| ---"):
                rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def before_line(values: Sequence[tuple[str, str]], what: str) -> str:
    """A sentence giving the previous run's ``values`` (name, value) of ``what`` ('' when there were none)."""
    if not values:
        return ""
    return f"\n\nBefore (this section's previous run, {what}): " + ", ".join(f"{n} {v}" for n, v in values) + "."


def _split(document: str) -> list[str]:
    return document.rstrip("\n").split("\n\n## ")


def _heading(chunk: str, first: bool) -> str:
    line = chunk.split("\n", 1)[0]
    return line if first else "## " + line


def _budget(chunk: str, targets: Sequence[Target]) -> str:
    lines = chunk.split("\n")
    fresh = {t.label: budget_row(t) for t in targets}
    rows = [i for i, line in enumerate(lines) if line.startswith("| ") and not line.startswith("| ---")][1:]
    seen: set[str] = set()
    for i in rows:
        label = lines[i][2:].split(" | ", 1)[0]
        if label in fresh:
            lines[i] = fresh[label]
            seen.add(label)
    missing = [row for label, row in fresh.items() if label not in seen]
    first_row = rows[0] if rows else len(lines)
    return "\n".join(lines[:first_row] + missing + lines[first_row:])


def _machine(chunk: str, sections: Sequence[str], commit: str, load: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    row = f"| {_RERUN} | {', '.join(sections)} at {stamp}, commit {commit}, {load} |"

    def superseded(line: str) -> bool:  # an earlier re-run of no other section than these
        if not line.startswith(f"| {_RERUN} | "):
            return False
        named = line.removeprefix(f"| {_RERUN} | ").split(" at ", 1)[0]
        return set(named.split(", ")) <= set(sections)

    lines = [line for line in chunk.split("\n") if not superseded(line)]
    last = max(i for i, line in enumerate(lines) if line.startswith("| "))
    return "\n".join([*lines[: last + 1], row, *lines[last + 1 :]])


def update_document(
    document: str,
    replaced: Mapping[str, str],
    targets: Sequence[Target],
    *,
    sections: Sequence[str],
    commit: str,
    load: str,
) -> str:
    """``document`` with the sections of ``replaced`` (heading → body) replaced, the rows of ``targets`` in the
    budget table, and a machine row naming the re-run ``sections``."""
    chunks = _split(document)
    out = []
    for index, chunk in enumerate(chunks):
        heading = _heading(chunk, index == 0)
        if heading in replaced:
            chunk = heading.removeprefix("## ") + "\n\n" + replaced[heading]
        elif heading == _BUDGET_HEADING:
            chunk = _budget(chunk, targets)
        elif heading == _MACHINE_HEADING:
            chunk = _machine(chunk, sections, commit, load)
        out.append(chunk)
    present = {_heading(chunk, i == 0) for i, chunk in enumerate(chunks)}
    # A section the last whole run did not have yet (it came later) goes at the end, until the next whole run.
    out += [heading.removeprefix("## ") + "\n\n" + body for heading, body in replaced.items() if heading not in present]
    return "\n\n## ".join(out) + "\n"
