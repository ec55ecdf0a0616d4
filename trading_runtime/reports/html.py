"""Self-contained HTML pages of plotly charts and tables: they open offline, from anywhere.

A page is a title, key facts (label, value) and sections of charts, tables and notes.
plotly.js is bundled into the page once (``<script>`` with the library inline, no ``src``);
each chart is embedded as plotly JSON in a ``<script type="application/json"
class="plotly-figure">`` element and drawn by a few lines of script at the end, so tests
and tools can read the figures back without a browser.

The session tearsheet and the model tearsheet are two such pages; they share the look of
their charts (:data:`TEMPLATE`, :data:`MARGIN`, :data:`LEGEND`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

TEMPLATE = "plotly_white"
MARGIN = {"l": 60, "r": 20, "t": 20, "b": 40}
LEGEND = {"orientation": "h", "y": 1.08, "x": 0}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px 32px;
       color: #1f2933; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px;
     border-bottom: 1px solid #d9e2ec; padding-bottom: 4px; }
.subtitle { color: #52606d; margin-bottom: 16px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0 16px; }
.wide { overflow-x: auto; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left;
         white-space: nowrap; }
th { background: #f5f7fa; } td.num, th.num { text-align: right;
     font-variant-numeric: tabular-nums; }
table.facts td:first-child { color: #52606d; }
.note { color: #52606d; font-size: 13px; }
.chart { width: 100%; min-height: 320px; }
"""

_DRAW = """
document.querySelectorAll("script.plotly-figure").forEach(function (source) {
  var figure = JSON.parse(source.textContent);
  var target = document.getElementById(source.dataset.target);
  Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
});
"""


@dataclass(frozen=True)
class Chart:
    """A plotly figure; ``key`` names it in the page (``chart-{key}``), unique per page."""

    key: str
    figure: go.Figure
    height_px: int = 360


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[str] = frozenset()  # columns aligned right
    caption: str | None = None


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[Chart | Table | Note, ...] = field(default_factory=tuple)


def render_page(
    title: str, subtitle: str, facts: Sequence[tuple[str, str]], sections: Sequence[Section]
) -> str:
    """The whole page as one HTML string. Raises ``ValueError`` on a repeated chart key."""
    keys = [item.key for s in sections for item in s.items if isinstance(item, Chart)]
    if len(set(keys)) != len(keys):
        raise ValueError(f"chart keys must be unique in a page: {keys}")
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f'<div class="subtitle">{html.escape(subtitle)}</div>',
        _table(Table(("", ""), tuple(facts)), css_class="facts", header=False),
    ]
    for section in sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        body.extend(_item(item) for item in section.items)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_STYLE}</style>",
            f'<script type="text/javascript">{get_plotlyjs()}</script>',
            "</head><body>",
            *body,
            f"<script>{_DRAW}</script>",
            "</body></html>",
        ]
    )


def _item(item: Chart | Table | Note) -> str:
    if isinstance(item, Chart):
        target = f"chart-{html.escape(item.key)}"
        # "</" would end the script element early; "<\/" is the same JSON string.
        figure_json = pio.to_json(item.figure, validate=True).replace("</", "<\\/")
        return (
            f'<div class="chart" id="{target}" style="height:{item.height_px}px"></div>\n'
            f'<script type="application/json" class="plotly-figure" data-target="{target}">'
            f"{figure_json}</script>"
        )
    if isinstance(item, Table):
        return f'<div class="wide">{_table(item)}</div>'
    return f'<p class="note">{html.escape(item.text)}</p>'


def _table(table: Table, css_class: str = "", header: bool = True) -> str:
    numeric = [column in table.numeric for column in table.columns]
    parts = [f'<table class="{css_class}">' if css_class else "<table>"]
    if table.caption:
        parts.append(f"<caption>{html.escape(table.caption)}</caption>")
    if header:
        cells = "".join(
            f'<th class="num">{html.escape(c)}</th>' if n else f"<th>{html.escape(c)}</th>"
            for c, n in zip(table.columns, numeric, strict=True)
        )
        parts.append(f"<thead><tr>{cells}</tr></thead>")
    parts.append("<tbody>")
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{html.escape(v)}</td>' if n else f"<td>{html.escape(v)}</td>"
            for v, n in zip(row, numeric, strict=True)
        )
        parts.append(f"<tr>{cells}</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
