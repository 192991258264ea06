"""The report's HTML pieces, written once: escaping, embedded pictures, tables, paragraphs, the page.

Self-contained means the page needs nothing but itself: pictures are embedded as base64 ``data:``
URIs and the style sheet is inline, so it can be mailed, archived or opened offline.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

DASH = "–"  # a cell whose measure does not apply to the row, or is unknown

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 1200px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f2f2f2; }
.row { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.row figure { flex: 1 1 480px; margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .88em; color: #555; }
.note { color: #555; font-size: .92em; }
code { background: #f5f5f5; padding: 0 .2em; }
"""

# Small generated digits are drawn cell by cell: smoothing them when scaled up blurs every stroke.
PIXELATED = "image-rendering: pixelated; width: 100%"


def escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def image(path: Path, alt: str, style: str = "") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    styled = f" style=\"{escape(style)}\"" if style else ""
    return f"<img src=\"data:image/png;base64,{data}\" alt=\"{escape(alt)}\"{styled}>"


def figure(path: Path | None, caption: str, style: str = "") -> str:
    """A captioned, embedded PNG; a caption saying "not available" when the file is missing."""
    if path is None or not Path(path).is_file():
        return f"<figure><figcaption>{escape(caption)}: not available</figcaption></figure>"
    return f"<figure>{image(path, caption, style)}<figcaption>{escape(caption)}</figcaption></figure>"


def figure_row(figures: Iterable[str]) -> str:
    """Figures side by side ("" for none)."""
    parts = "".join(figures)
    return f"<div class=\"row\">{parts}</div>" if parts else ""


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def paragraphs(texts: Iterable[str], css_class: str = "") -> str:
    """Plain-text paragraphs, escaped; empty ones left out."""
    attribute = f" class=\"{css_class}\"" if css_class else ""
    return "".join(f"<p{attribute}>{escape(text)}</p>" for text in texts if text)


def bullets(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items if item) + "</ul>"


def number(value: Any, spec: str) -> str:
    """``value`` formatted by ``spec``; text as it is; a dash for a missing or non-finite number."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return format(value, spec)
    return DASH


def page(title: str, body: Iterable[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n")


__all__ = ["DASH", "PIXELATED", "STYLE", "bullets", "escape", "figure", "figure_row", "image", "number", "page",
           "paragraphs", "table"]
