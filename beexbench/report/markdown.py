"""Render report blocks as Markdown (GitHub-flavoured tables, images by relative path)."""

from __future__ import annotations

from beexbench.report.blocks import Block, Bullets, Figure, Heading, Paragraph, Table


def _cell(text: str) -> str:
    # A pipe would end the cell; a newline would end the row.
    return text.replace("|", "\\|").replace("\n", " ")


def render_table(table: Table) -> str:
    lines = ["| " + " | ".join(_cell(c) for c in table.columns) + " |",
             "|" + "|".join("---" for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render(blocks: list[Block]) -> str:
    """The whole report as one Markdown document."""
    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            parts.append(block.text)
        elif isinstance(block, Bullets):
            parts.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            parts.append(render_table(block))
        elif isinstance(block, Figure):
            parts.append(f"**{block.title}.** {block.caption}\n\n![{block.title}]({block.path})")
    return "\n\n".join(parts) + "\n"
