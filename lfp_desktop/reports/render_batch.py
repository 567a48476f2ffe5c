"""Render the summary report of a batch scan to PDF bytes."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table

from lfp_desktop.reports.layout import (BAND, MUTED, VERDICT_COLOURS, VERDICT_TINTS, PageDecor,
                                        build_pdf, frame_width, grid_table, kv_table, set_style,
                                        styles)
from lfp_desktop.reports.model import VERDICTS, BatchReportData
from lfp_desktop.reports.render import heading, mono, signature_section, title_block
from lfp_desktop.reports.signing import format_fingerprint
from lfp_desktop.reports.wording import blur_note, comparison_text, esc, loss_text, sci


def render_batch_report(data: BatchReportData, *, cert_fingerprint: str,
                        paper: str = "a4") -> bytes:
    """PDF bytes of the batch summary; ``cert_fingerprint`` is the signing cert's SHA-256."""
    width = frame_width(paper)
    n = len(data.items)
    story: list[Flowable] = title_block(data.case, data.created_utc, f"{n} evidence items",
                                        width, "Batch scan summary")
    story += [_counts_box(data, width), Spacer(1, 3 * mm),
              Paragraph(batch_sentence(data), styles()["body"])]
    story += _per_user(data, width) + _settings(data, width) + _items(data, width)
    story += heading("4\u2003Limits") + [Paragraph(
        "Each row summarises one evidence item; the signed report of an item gives its "
        "details, its stated limits and its chain of custody. A NO MATCH does not show that an "
        "image is authentic, only that it carries no registered fingerprint.", styles()["body"])]
    story += signature_section(cert_fingerprint, width)
    decor = PageDecor(
        header_left="LFP Desktop \u00b7 batch scan summary",
        header_right=f"Case {data.case.case_id} \u00b7 {n} items",
        footer_left=(f"Case {data.case.case_id} \u00b7 signed with certificate "
                     f"{format_fingerprint(cert_fingerprint)[:23]}\u2026"),
        title=f"Batch scan summary: case {data.case.case_id}", author=data.case.analyst,
        subject=f"Case {data.case.case_id}: {data.case.title}", created=data.created_utc)
    return build_pdf(story, paper, decor)


def batch_sentence(data: BatchReportData) -> str:
    """The outcome of the scan in one sentence (markup)."""
    c, users = data.counts_per_verdict, data.counts_per_user
    n = len(data.items)
    parts = [f"{c['ATTRIBUTED']} attributed to {len(users)} registered "
             f"user{'s' if len(users) != 1 else ''}",
             f"{c['INCONCLUSIVE']} inconclusive",
             f"{c['NO MATCH']} carry no registered fingerprint"]
    if c["ERROR"]:
        parts.append(f"{c['ERROR']} could not be examined")
    return (f"Of {n} image{'s' if n != 1 else ''} examined, " + ", ".join(parts[:-1])
            + f" and {parts[-1]}.")


def _counts_box(data: BatchReportData, width: float) -> Table:
    st = styles()
    counts = data.counts_per_verdict
    labels = [*VERDICTS, "ERROR"]
    hexes = [VERDICT_COLOURS.get(v, MUTED).hexval() for v in labels]
    top = [Paragraph(f'<font size="18" color="{h}"><b>{counts[v]}</b></font>', st["body"])
           for v, h in zip(labels, hexes)]
    bottom = [Paragraph(f'<font color="{h}">{v if v != "ERROR" else "NOT EXAMINED"}</font>',
                        st["cell_bold"]) for v, h in zip(labels, hexes)]
    table = Table([top, bottom], colWidths=[width / 4] * 4, hAlign="LEFT")
    commands: list[tuple[object, ...]] = [("LEFTPADDING", (0, 0), (-1, -1), 9),
                                          ("TOPPADDING", (0, 0), (-1, 0), 8),
                                          ("BOTTOMPADDING", (0, 1), (-1, 1), 7)]
    for i, v in enumerate(labels):
        tint = VERDICT_TINTS.get(v, BAND)
        commands += [("BACKGROUND", (i, 0), (i, 1), tint),
                     ("LINEBEFORE", (i, 0), (i, 1), 3, VERDICT_COLOURS.get(v, MUTED))]
    set_style(table, commands)
    return table


def _per_user(data: BatchReportData, width: float) -> list[Flowable]:
    out = heading("1\u2003Attributions per user")
    if not data.counts_per_user:
        return out + [Paragraph("No image was attributed to a registered user.",
                                styles()["body"])]
    rows = [[esc(u), str(k)] for u, k in data.counts_per_user.items()]
    return out + [grid_table(["Registered user", "Images attributed"], rows,
                             [width * 0.5, 40 * mm])]


def _settings(data: BatchReportData, width: float) -> list[Flowable]:
    m = data.method
    rows = [("Engine and model", f"LFP Desktop {esc(m.engine_version)}; {esc(m.model_name)}"),
            ("Checkpoint SHA-256", mono(m.checkpoint_sha256.lower())),
            ("Scheme SHA-256", mono(m.scheme_sha256.lower())),
            ("Registry digest", mono(m.registry_digest)),
            ("Search", f"{loss_text(m)} loss; {m.starts} starts \u00d7 up to {m.steps:,} steps; "
                       f"early stopping {'on' if m.early_stopping else 'off'}{blur_note(m)}; {esc(m.device)}"),
            ("Key comparison", comparison_text(m)),
            ("Target false-positive rate", sci(m.target_fpr))]
    return heading("2\u2003Method and settings") + [kv_table(rows, [42 * mm, width - 42 * mm])]


def _items(data: BatchReportData, width: float) -> list[Flowable]:
    rows = []
    for i, it in enumerate(data.items, start=1):
        colour = VERDICT_COLOURS.get(it.verdict or "", None)
        verdict = (f'<font color="{colour.hexval()}"><b>{it.verdict}</b></font>'
                   if colour is not None else "<b>NOT EXAMINED</b>")
        rows.append([str(i), esc(it.file_name), mono(it.sha256_prefix), verdict,
                     esc(it.user or "-"), "-" if it.d1 is None else str(it.d1),
                     "-" if it.p_value is None else sci(it.p_value), esc(it.error or "")])
    widths = [7 * mm, 33 * mm, 24 * mm, 27 * mm, 20 * mm, 8 * mm, 21 * mm]
    widths.append(width - sum(widths))
    return heading("3\u2003Items") + [grid_table(
        ["#", "File", "SHA-256", "Verdict", "User", "d<sub>1</sub>", "p", "Note"], rows, widths)]
