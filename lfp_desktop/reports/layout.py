"""Page layout shared by every report: embedded fonts, colours, styles, header and footer."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph,
                                Table, TableStyle)

from lfp_desktop import __version__
from lfp_desktop.errors import ReportError

PAPERS = {"a4": A4, "letter": LETTER}
MARGIN = 18 * mm

# The Vera family ships inside reportlab, so every installation renders with the same glyphs
# (and so the same bytes); TrueType fonts are always embedded (subset) by reportlab.
FONT, FONT_BOLD, FONT_ITALIC = "LFPSans", "LFPSans-Bold", "LFPSans-Italic"
_FONT_FILES = {FONT: "Vera.ttf", FONT_BOLD: "VeraBd.ttf", FONT_ITALIC: "VeraIt.ttf",
               "LFPSans-BoldItalic": "VeraBI.ttf"}

INK = colors.HexColor("#1d232b")
MUTED = colors.HexColor("#5b6573")
RULE = colors.HexColor("#c9d0d8")
BAND = colors.HexColor("#eef1f5")
ACCENT = colors.HexColor("#1f4e79")
VERDICT_COLOURS = {"ATTRIBUTED": colors.HexColor("#1e6b34"),
                   "INCONCLUSIVE": colors.HexColor("#a15c00"),
                   "NO MATCH": colors.HexColor("#4a5563")}
VERDICT_TINTS = {"ATTRIBUTED": colors.HexColor("#e7f3ea"),
                 "INCONCLUSIVE": colors.HexColor("#fbf0e0"),
                 "NO MATCH": colors.HexColor("#eceff2")}


def register_fonts() -> None:
    """Register the embedded report fonts once per process."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import reportlab

    folder = os.path.join(os.path.dirname(reportlab.__file__), "fonts")
    for name, file in _FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC,
                                  boldItalic="LFPSans-BoldItalic")


def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles by name: body, small, h1, h2, title, cell, cell_bold, mono, verdict."""
    register_fonts()
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.2, leading=12.6, textColor=INK,
                          alignment=TA_LEFT, spaceAfter=4, bulletFontName=FONT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.6, leading=10, textColor=MUTED),
        "title": ParagraphStyle("title", parent=base, fontName=FONT_BOLD, fontSize=17,
                                leading=21, textColor=ACCENT, spaceAfter=2),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=14,
                                   textColor=MUTED, spaceAfter=8),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=11.5, leading=15,
                             textColor=ACCENT, spaceBefore=10, spaceAfter=5),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=9.6, leading=13,
                             spaceBefore=6, spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.2, leading=10.4, spaceAfter=0),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=FONT_BOLD, fontSize=8.2,
                                    leading=10.4, spaceAfter=0),
        "cell_muted": ParagraphStyle("cell_muted", parent=base, fontSize=7.6, leading=9.8,
                                     textColor=MUTED, spaceAfter=0),
        "mono": ParagraphStyle("mono", parent=base, fontSize=7.2, leading=9.4, spaceAfter=0),
        "verdict_label": ParagraphStyle("verdict_label", parent=base, fontName=FONT_BOLD,
                                        fontSize=15, leading=19, spaceAfter=3),
        "verdict_text": ParagraphStyle("verdict_text", parent=base, fontSize=11, leading=15,
                                       spaceAfter=3),
    }


def page_size(paper: str) -> tuple[float, float]:
    """(width, height) in points for ``"a4"`` or ``"letter"``."""
    try:
        return PAPERS[paper.lower()]
    except KeyError:
        raise ReportError(f"paper size {paper!r} is not known; use 'a4' or 'letter'") from None


@dataclass(frozen=True)
class PageDecor:
    """Text of the running header and footer."""

    header_left: str
    header_right: str
    footer_left: str
    title: str
    author: str
    subject: str
    created: datetime


def set_style(table: Table, commands: Sequence[tuple[Any, ...]]) -> Table:
    """Apply table style commands; cells default to the embedded font (never Helvetica)."""
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands]))
    return table


def kv_table(rows: Sequence[tuple[str, Any]], widths: Sequence[float]) -> Table:
    """A two-column label/value table; values may be str or flowables."""
    st = styles()
    data = [[Paragraph(label, st["cell_muted"]),
             value if isinstance(value, Flowable) else Paragraph(str(value), st["cell"])]
            for label, value in rows]
    table = Table(data, colWidths=list(widths), hAlign="LEFT")
    set_style(table, [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.6), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.6),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ])
    return table


def grid_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
               widths: Sequence[float], *, zebra: bool = True) -> Table:
    """A table with a shaded header row; cells may be str or flowables."""
    st = styles()

    def cell(v: Any, style: str) -> Any:
        return v if isinstance(v, Flowable) else Paragraph(str(v), st[style])

    data = [[cell(h, "cell_bold") for h in header]]
    data += [[cell(v, "cell") for v in row] for row in rows]
    table = Table(data, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), BAND),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, ACCENT),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.4), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.4),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if zebra:
        commands += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f8f9fb"))
                     for r in range(2, len(data), 2)]
    set_style(table, commands)
    return table


def build_pdf(story: list[Flowable], paper: str, decor: PageDecor) -> bytes:
    """Lay out ``story`` on ``paper`` and return the PDF bytes (identical for equal input)."""
    register_fonts()
    width, height = page_size(paper)
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=(width, height), leftMargin=MARGIN, rightMargin=MARGIN,
        topMargin=MARGIN + 6 * mm, bottomMargin=MARGIN + 4 * mm, title=decor.title,
        author=decor.author, subject=decor.subject, creator=f"LFP Desktop {__version__}",
        producer=f"LFP Desktop {__version__} (ReportLab)", invariant=1, pageCompression=1,
        initialFontName=FONT)
    # No side padding: the story is laid out to frame_width() and must line up with the
    # header and footer rules, which run from margin to margin.
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body",
                  leftPadding=0, rightPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    # invariant: fixed document ID, no per-run comments; useA85 off: binary image streams
    # (smaller, and pure-Python ASCII85 is the slowest step of a render).
    old = rl_config.invariant, rl_config.useA85
    rl_config.invariant, rl_config.useA85 = 1, 0
    try:
        doc.build(story, canvasmaker=_canvas_maker(decor))
    finally:
        rl_config.invariant, rl_config.useA85 = old
    return buffer.getvalue()


def frame_width(paper: str) -> float:
    """Usable text width in points: the page between the side margins (the frame has no
    side padding)."""
    return page_size(paper)[0] - 2 * MARGIN


def _canvas_maker(decor: PageDecor) -> Callable[..., Canvas]:
    stamp = decor.created.strftime("D:%Y%m%d%H%M%S+00'00'")

    class _ReportCanvas(Canvas):
        """Defers each page so the footer can say "page i of n"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.setDateFormatter(lambda *_: stamp)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                _draw_decor(self, decor, number, len(self._pages))
                super().showPage()
            super().save()

    return _ReportCanvas


def _draw_decor(c: Canvas, decor: PageDecor, number: int, total: int) -> None:
    width, height = c._pagesize
    c.saveState()
    top = height - MARGIN + 2 * mm
    c.setFont(FONT_BOLD, 7.4)
    c.setFillColor(ACCENT)
    c.drawString(MARGIN, top, decor.header_left.upper())
    c.setFont(FONT, 7.4)
    c.setFillColor(MUTED)
    c.drawRightString(width - MARGIN, top, decor.header_right)
    c.setStrokeColor(ACCENT)
    c.setLineWidth(0.8)
    c.line(MARGIN, top - 2.2 * mm, width - MARGIN, top - 2.2 * mm)
    bottom = MARGIN - 2 * mm
    c.setStrokeColor(RULE)
    c.setLineWidth(0.4)
    c.line(MARGIN, bottom + 3.6 * mm, width - MARGIN, bottom + 3.6 * mm)
    c.setFont(FONT, 6.8)
    c.drawString(MARGIN, bottom, decor.footer_left)
    c.drawRightString(width - MARGIN, bottom, f"Page {number} of {total}")
    c.restoreState()
