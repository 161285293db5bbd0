"""Render report blocks as one self-contained HTML page.

Plots are inlined as base64 data URIs and the style sheet is inline, so the page
needs no other file and makes no network request.
"""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from beexbench.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #222; line-height: 1.45; }
.scroll { overflow-x: auto; margin: 0.6em 0 1.4em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: left; white-space: nowrap; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #444; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""

_NUMBER = re.compile(r"^[-+]?[0-9.]+(e[-+]?[0-9]+)?$|^—$")


def _inline(text: str) -> str:
    """Escape, then turn `code` and **bold** spans into tags."""
    out = escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{escape(c)}</td>' if _NUMBER.match(c) else f"<td>{escape(c)}</td>"
            for c in row)
        body.append(f"<tr>{cells}</tr>")
    # Wide tables scroll sideways rather than squeezing every cell onto three lines.
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _figure(fig: Figure, base: Path) -> str:
    data = base64.b64encode((base / fig.path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{escape(fig.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption><strong>{escape(fig.title)}.</strong> {_inline(fig.caption)}"
            "</figcaption></figure>")


def render(blocks: list[Block], base: Path, title: str = "beexbench report") -> str:
    """The report as an HTML page; figure paths are read relative to `base`."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{_inline(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items)
                         + "</ul>")
        elif isinstance(block, Table):
            parts.append(_table(block))
        elif isinstance(block, Figure):
            parts.append(_figure(block, base))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
