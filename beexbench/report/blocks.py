"""The pieces a report is made of, rendered by `markdown.render` and `html.render`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str  # may use `code` spans


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    title: str = ""


@dataclass(frozen=True)
class Figure:
    path: str  # relative to the report directory
    title: str
    caption: str


Block = Heading | Paragraph | Bullets | Table | Figure
