"""The report's key figures drawn as SVG bar charts (plain SVG text, no plotting library), written next to
``docs/PERFORMANCE.md`` and shown in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

__all__ = ["Bar", "Chart", "render_svg", "write_charts"]

_WIDTH = 640
_BAR_HEIGHT = 22
_GAP = 8
_LABEL_WIDTH = 250
_VALUE_WIDTH = 90
_COLOURS = ("#3b6ea5", "#d08c2e", "#5a9e5a", "#9c5a9e")


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value and, for grouped bars, its series (0: the first colour)."""

    label: str
    value: float
    series: int = 0


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart: file name (without ``.svg``), title, unit, bars, and the series' names."""

    name: str
    title: str
    unit: str
    bars: Sequence[Bar]
    legend: Sequence[str] = ()


def render_svg(chart: Chart) -> str:
    """The chart as an SVG document: one row per bar, lengths proportional to the largest value."""
    top = 34 + (18 if chart.legend else 0)
    height = top + len(chart.bars) * (_BAR_HEIGHT + _GAP) + 10
    scale = (_WIDTH - _LABEL_WIDTH - _VALUE_WIDTH) / max((bar.value for bar in chart.bars), default=1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{_WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(chart.title)}</text>',
    ]
    for i, name in enumerate(chart.legend):
        x = 10 + i * 160
        parts.append(f'<rect x="{x}" y="32" width="10" height="10" fill="{_COLOURS[i % len(_COLOURS)]}"/>')
        parts.append(f'<text x="{x + 14}" y="41">{escape(name)}</text>')
    for row, bar in enumerate(chart.bars):
        y = top + row * (_BAR_HEIGHT + _GAP)
        length = max(1.0, bar.value * scale)
        colour = _COLOURS[bar.series % len(_COLOURS)]
        parts.append(f'<text x="10" y="{y + 15}">{escape(bar.label)}</text>')
        parts.append(f'<rect x="{_LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{_BAR_HEIGHT}" fill="{colour}"/>')
        parts.append(
            f'<text x="{_LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{bar.value:,.1f} {escape(chart.unit)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_charts(charts: Sequence[Chart], folder: Path, relative_to: Path) -> str:
    """Write each chart to ``folder/<name>.svg``; returns the Markdown that shows them (paths relative to the
    document's folder ``relative_to``)."""
    folder.mkdir(parents=True, exist_ok=True)
    shown = []
    for chart in charts:
        path = folder / f"{chart.name}.svg"
        path.write_text(render_svg(chart))
        shown.append(f"![{chart.title}]({path.relative_to(relative_to).as_posix()})")
    return "\n\n".join(shown)
