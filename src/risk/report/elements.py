"""The building blocks of the report page: formatters, tables, KPI tiles, notes, sections and the page.

Every section module (:mod:`risk.report.html`, :mod:`risk.report.cases`) builds from these, so they sit below
all of them and import no section.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import polars as pl

from risk.report import charts

Formatter = Callable[[object], str]

CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC",Arial,sans-serif;margin:0;color:#222;
background:#f6f7f9;font-size:14px;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:40px 0 6px;border-bottom:2px solid #1f5f8b;
padding-bottom:4px}h3{font-size:15px;margin:22px 0 6px}
p.lead{color:#555;margin:2px 0 12px}p.note{color:#777;font-size:12px}
nav a{color:#1f5f8b;margin-right:14px;text-decoration:none}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin:12px 0}
.kpi{background:#f0f4f8;border-radius:6px;padding:10px 12px}.kpi b{display:block;font-size:20px;color:#1f5f8b}
.kpi span{font-size:12px;color:#555}
table{border-collapse:collapse;margin:8px 0 16px;font-size:12.5px}
th,td{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th{background:#eef1f4;font-weight:600}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;display:block;margin:8px 0}
.row{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}.row>div{flex:1 1 420px;min-width:0}
"""


def pct(digits: int = 1) -> Formatter:
    return lambda v: "—" if v is None else f"{float(v):.{digits}%}"  # type: ignore[arg-type]


def num(digits: int = 0) -> Formatter:
    return lambda v: "—" if v is None else f"{float(v):,.{digits}f}"  # type: ignore[arg-type]


def table(
    frame: pl.DataFrame, formats: Mapping[str, Formatter] | None = None, headers: Mapping[str, str] | None = None
) -> str:
    """An HTML table of ``frame``; ``formats`` per column, ``headers`` to rename columns for display."""
    formats, headers = formats or {}, headers or {}
    head = "".join(f"<th>{html.escape(headers.get(c, c.replace('_', ' ')))}</th>" for c in frame.columns)
    body = []
    for row in frame.iter_rows(named=True):
        cells = []
        for c, v in row.items():
            text = formats[c](v) if c in formats else ("—" if v is None else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(fig: object, alt: str) -> str:
    return f'<img src="{charts.to_data_uri(fig)}" alt="{html.escape(alt)}">'  # type: ignore[arg-type]


def unavailable(text: str) -> str:
    """The short note a section shows instead of a chart or table when its inputs are absent or empty."""
    return f'<p class="note unavailable">{html.escape(text)}</p>'


def kpis(items: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<div class="kpi"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in items)
    return f'<div class="kpis">{cells}</div>'


def section(anchor: str, title: str, lead: str, body: str) -> str:
    return (
        f'<section id="{anchor}"><h2>{html.escape(title)}</h2><p class="lead">{html.escape(lead)}</p>{body}</section>'
    )


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document; ``sections`` are (anchor, title, html)."""
    nav = "".join(f'<a href="#{a}">{html.escape(t)}</a>' for a, t, _ in sections)
    body = "".join(s for _, _, s in sections)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS}</style></head><body><main><h1>{html.escape(title)}</h1>"
        f'<p class="lead">{html.escape(subtitle)}</p><nav>{nav}</nav>{body}</main></body></html>\n'
    )
