"""The workflow's Markdown tables as small standalone HTML pages.

The paper tables a study writes under ``results/{exp}/reports/`` are Markdown (readable in a terminal
and on GitHub); the Snakemake report (``snakemake --report``) shows HTML, PNG and PDF files, not
Markdown, so each Markdown report has an HTML rendering next to it, the file the report shows
(:mod:`advtrace.report_catalogue`). The Markdown those writers produce is a small subset, rendered
here exactly: ATX headings (``#`` to ``######``), pipe tables (the ``|---|`` row separates the head
from the body), bullet lists (``- ``, ``* ``), paragraphs (consecutive lines), inline code
(`` `x` ``) and bold (``**x**``). Every other character is escaped, so a table cell is shown as
written.
"""

from __future__ import annotations

import html
import re

STYLE = ("body{font:14px sans-serif;margin:12px}table{border-collapse:collapse;margin:8px 0}"
         "td,th{border:1px solid #999;padding:3px 6px;font-size:13px}th{background:#eee}"
         "code{font-size:12px;background:#f4f4f4}")

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def inline(text: str) -> str:
    """Escaped text with `code` and **bold** spans (code spans are not searched for bold)."""
    out, last = [], 0
    for m in _CODE.finditer(text):
        out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(text[last:m.start()])))
        out.append(f"<code>{html.escape(m.group(1))}</code>")
        last = m.end()
    out.append(_BOLD.sub(r"<strong>\1</strong>", html.escape(text[last:])))
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_separator(cells: list[str]) -> bool:
    return all(c and set(c) <= set("-: ") for c in cells)


def body(markdown: str) -> str:
    """The HTML of one Markdown document (no page around it)."""
    out: list[str] = []
    para: list[str] = []
    table: list[list[str]] = []  # rows; the head is the first, when a separator row follows it
    table_head = False
    items: list[str] = []

    def flush():
        nonlocal table_head
        if para:
            out.append(f"<p>{inline(' '.join(para))}</p>")
            para.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{inline(i)}</li>" for i in items) + "</ul>")
            items.clear()
        if table:
            rows = []
            for k, row in enumerate(table):
                tag = "th" if table_head and k == 0 else "td"
                rows.append("<tr>" + "".join(f"<{tag}>{inline(c)}</{tag}>" for c in row) + "</tr>")
            out.append("<table>" + "".join(rows) + "</table>")
            table.clear()
            table_head = False

    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            if not table:
                flush()
            cells = _cells(stripped)
            if _is_separator(cells):
                table_head = len(table) == 1
            else:
                table.append(cells)
            continue
        if table:
            flush()
        heading = _HEADING.match(stripped)
        bullet = _BULLET.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif bullet:
            if para:
                flush()
            items.append(bullet.group(1))
        elif not stripped:
            flush()
        elif items:  # a continuation line of the last bullet
            items[-1] += " " + stripped
        else:
            para.append(stripped)
    flush()
    return "\n".join(out)


def page(docs: list[str] | str, title: str | None = None) -> str:
    """A standalone HTML page of one or several Markdown documents; its title is `title`, else the
    first document's first heading."""
    docs = [docs] if isinstance(docs, str) else list(docs)
    if title is None:
        first = next((m.group(2) for d in docs for line in d.splitlines() if (m := _HEADING.match(line.strip()))),
                     "")
        title = first.replace("`", "")
    parts = "\n".join(body(d) for d in docs)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n{parts}\n</body></html>\n")
