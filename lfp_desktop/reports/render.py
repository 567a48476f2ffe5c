"""Render one evidence item's report to PDF bytes (reportlab platypus).

The same :class:`ReportData`, paper and certificate fingerprint always give the same bytes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import (CondPageBreak, Flowable, KeepTogether, PageBreak, Paragraph,
                                Spacer, Table)

from lfp_desktop.reports import figures
from lfp_desktop.reports.layout import (BAND, MUTED, RULE, VERDICT_COLOURS, VERDICT_TINTS,
                                        PageDecor, build_pdf, frame_width, grid_table, kv_table,
                                        set_style, styles)
from lfp_desktop.reports.model import CaseInfo, ReportData, iso_utc
from lfp_desktop.reports.signing import MANIFEST_NAME, format_fingerprint
from lfp_desktop.reports.wording import (blur_note, comparison_text, esc, key_numbers, lay_verdict, limits,
                                         loss_text, p_value_meaning, sci, user_label)


def render_report(data: ReportData, *, cert_fingerprint: str, paper: str = "a4") -> bytes:
    """PDF bytes of the report; ``cert_fingerprint`` is the signing certificate's SHA-256 hex."""
    width = frame_width(paper)
    story: list[Flowable] = [*title_block(data.case, data.created_utc, data.evidence.file_name,
                                          width, "Image attribution report"),
                             verdict_box(data, width)]
    story += _evidence(data, width) + _method(data, width) + _findings(data, width)
    story += _limits(data) + _custody(data, width)
    story += signature_section(cert_fingerprint, width)
    decor = PageDecor(
        header_left="LFP Desktop \u00b7 forensic image attribution report",
        header_right=f"Case {data.case.case_id} \u00b7 {_short(data.evidence.file_name, 48)}",
        footer_left=(f"Evidence SHA-256 {data.evidence.sha256[:16]}\u2026 \u00b7 signed with "
                     f"certificate {format_fingerprint(cert_fingerprint)[:23]}\u2026"),
        title=f"Attribution report: {data.evidence.file_name}",
        author=data.case.analyst, subject=f"Case {data.case.case_id}: {data.case.title}",
        created=data.created_utc)
    return build_pdf(story, paper, decor)


def title_block(case: CaseInfo, created: datetime, item: str, width: float,
                title: str) -> list[Flowable]:
    """Report title and the case/analyst/date line."""
    st = styles()
    meta = [("Case", esc(case.case_id)), ("Analyst", esc(case.analyst)),
            ("Report date (UTC)", utc_text(created)), ("Subject", esc(item))]
    cells = [[Paragraph(k, st["cell_muted"]) for k, _ in meta],
             [Paragraph(v, st["cell_bold"]) for _, v in meta]]
    table = Table(cells, colWidths=[width * f for f in (0.2, 0.24, 0.22, 0.34)], hAlign="LEFT")
    set_style(table, [("BACKGROUND", (0, 0), (-1, -1), BAND),
                      ("LEFTPADDING", (0, 0), (-1, -1), 5),
                      ("TOPPADDING", (0, 0), (-1, 0), 4),
                      ("BOTTOMPADDING", (0, 1), (-1, 1), 5)])
    return [Paragraph(title, st["title"]),
            Paragraph(esc(case.title), st["subtitle"]),
            table, Spacer(1, 4 * mm)]


def verdict_box(data: ReportData, width: float) -> Table:
    """The verdict, the lay sentence and the key numbers in a tinted box."""
    st = styles()
    r = data.result
    colour = VERDICT_COLOURS[r.verdict]
    label = Paragraph(f'<font color="{colour.hexval()}">{r.verdict}</font>', st["verdict_label"])
    body = [label, Paragraph(lay_verdict(r), st["verdict_text"]),
            Paragraph(key_numbers(r, data.method.target_fpr), st["small"])]
    if r.verdict == "INCONCLUSIVE" and r.inconclusive_reasons:
        reasons = "; ".join(esc(x) for x in r.inconclusive_reasons)
        body.append(Paragraph(f"<b>Why inconclusive:</b> {reasons}.", st["small"]))
    box = Table([[body]], colWidths=[width], hAlign="LEFT")
    set_style(box, [("BACKGROUND", (0, 0), (-1, -1), VERDICT_TINTS[r.verdict]),
                    ("LINEBEFORE", (0, 0), (0, -1), 4, colour),
                    ("LEFTPADDING", (0, 0), (-1, -1), 10),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 10),
                    ("TOPPADDING", (0, 0), (-1, -1), 8),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 6)])
    return box


def utc_text(t: datetime) -> str:
    """``2024-05-01 12:00:00`` (UTC, for tables)."""
    return iso_utc(t).replace("T", " ").rstrip("Z")


def heading(text: str) -> list[Flowable]:
    """A numbered section heading kept with what follows."""
    return [CondPageBreak(40 * mm), Paragraph(text, styles()["h1"])]


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "\u2026"


def mono(text: str) -> Paragraph:
    return Paragraph(esc(text), styles()["mono"])


def _evidence(data: ReportData, width: float) -> list[Flowable]:
    e = data.evidence
    rows = [("File name", esc(e.file_name)), ("Evidence item", esc(e.item_id or "-")),
            ("Size", f"{e.size_bytes:,} bytes"), ("SHA-256", mono(e.sha256.lower())),
            ("Format", esc(e.format)), ("Dimensions", f"{e.width} \u00d7 {e.height} pixels"),
            ("Received (UTC)", utc_text(e.intake_utc)),
            ("Conversions", esc("; ".join(e.conversions)) if e.conversions
             else "none (examined as received)")]
    thumb_w = 34 * mm
    table = kv_table(rows, [28 * mm, width - thumb_w - 31 * mm])
    thumb: Flowable = (figures.image_flowable(e.thumbnail, thumb_w, thumb_w)
                       if e.thumbnail is not None
                       else Paragraph("(no thumbnail)", styles()["cell_muted"]))
    row = Table([[table, thumb]], colWidths=[width - thumb_w, thumb_w], hAlign="LEFT")
    set_style(row, [("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    notes = [Paragraph(f"<i>Case notes:</i> {esc(data.case.notes)}", styles()["small"])] \
        if data.case.notes else []
    return heading("1\u2003Evidence examined") + [row] + notes


def _method(data: ReportData, width: float) -> list[Flowable]:
    m = data.method
    rows = [("Engine", f"LFP Desktop {esc(m.engine_version)}"),
            ("Model", esc(m.model_name)),
            ("Checkpoint SHA-256", mono(m.checkpoint_sha256.lower())),
            ("Scheme SHA-256", mono(m.scheme_sha256.lower())),
            ("Registry digest", mono(m.registry_digest)),
            ("Reconstruction loss", loss_text(m)),
            ("Search", f"{m.starts} independent starts \u00d7 up to {m.steps:,} steps; early "
                       f"stopping {'on' if m.early_stopping else 'off'}{blur_note(m)}"),
            ("Key comparison", comparison_text(m)),
            ("Target false-positive rate", sci(m.target_fpr)),
            ("Device", esc(m.device)),
            ("Random seed", "-" if m.seed is None else str(m.seed))]
    return heading("2\u2003Method and settings") + [
        Paragraph("The suspect image is explained as the output of the fingerprinted generator; "
                  "the key bits that best reproduce it are read off and compared with every "
                  "registered key.", styles()["body"]),
        kv_table(rows, [42 * mm, width - 42 * mm])]


def _findings(data: ReportData, width: float) -> list[Flowable]:
    r, st = data.result, styles()
    out: list[Flowable] = [PageBreak(), Paragraph("3\u2003Findings", st["h1"]),
                           Paragraph("3.1\u2002Match statistics", st["h2"]),
                           _stats_table(data, width)]
    grid = [Paragraph("3.2\u2002Decoded key compared with the registered key", st["h2"]),
            figures.bit_grid(r, width), figures.bit_legend(width),
            Paragraph("Each column is one key bit. Top: the bit read from the image; below: the "
                      "bit of the closest registered key (a red frame marks a difference). "
                      "Colour strength is the decoder's confidence in that bit; the grey bar is "
                      "the share of starts that read the same bit as the winning start.",
                      st["small"])]
    out.append(KeepTogether(grid))
    out.append(KeepTogether(_curves(data, width)))
    out.append(KeepTogether([
        Paragraph("3.4\u2002Images", st["h2"]),
        figures.image_strip([("Suspect image, as examined", r.suspect_image),
                             ("Reconstruction by the winning start", r.reconstruction_image),
                             ("Difference (amplified)", r.difference_image)], width)]))
    return out


def _stats_table(data: ReportData, width: float) -> Table:
    r, m = data.result, data.method
    conf = float(np.mean(r.bit_confidence)) if r.key_length else 0.0
    unanimous = int(np.sum(r.start_agreement >= 0.999))
    rows: list[list[str]] = []
    if (r.user_name or r.user_id) and r.verdict != "NO MATCH":
        rows.append(["Closest registered user", user_label(r.user_name, r.user_id),
                     "The user whose key is nearest to the key read from the image."])
    if r.d1 is not None:
        rows.append(["Hamming distance", f"{r.d1} of {r.key_length} bits",
                     "Bits in which the decoded key differs from the closest registered key."])
    if r.weighted_distance is not None:
        rows.append(["Confidence-weighted distance", f"{r.weighted_distance} of {r.weight_total}",
                     "Differing bits, each counted by the confidence with which it was read; "
                     "keys are ranked and the probability computed by this distance."])
    if r.d2 is not None:
        who = f"{esc(r.runner_up_name)}: " if r.runner_up_name and r.verdict != "NO MATCH" else ""
        weighted = (f" (weighted {r.runner_up_weighted_distance})"
                    if r.runner_up_weighted_distance is not None else "")
        rows.append(["Runner-up", f"{who}{r.d2} bits{weighted}",
                     "The next nearest registered key."])
    if r.margin_bits is not None and r.weighted_distance is not None:
        rows.append(["Margin", f"{r.margin_bits:.3g} bits (weighted)",
                     "Runner-up minus closest weighted distance, divided by the mean bit weight: "
                     "how clearly the closest user stands out."])
    elif r.margin is not None:
        rows.append(["Margin", f"{r.margin} bits",
                     "Runner-up distance minus closest distance: how clearly the closest user "
                     "stands out."])
    if r.p_value is not None:
        rows.append(["Probability of a chance match", sci(r.p_value), p_value_meaning(r)])
    rows += [["Decision threshold", sci(m.target_fpr),
              "Attribution requires the probability above to be at most this value."],
             ["Mean bit confidence", f"{conf:.3f} of 0.5",
              "0.5: every bit read without doubt; 0: a coin toss."],
             ["Bits all starts agree on", f"{unanimous} of {r.key_length}",
              "Independent starts reading the same bit support it."]]
    if r.reconstruction_distance is not None:
        rows.append(["Reconstruction distance", f"{r.reconstruction_distance:.4g}",
                     f"Loss ({loss_text(m)}) between the image and its reconstruction; "
                     "large values mean the generator could not reproduce the image."])
    return grid_table(["Quantity", "Value", "What it means"], rows,
                      [40 * mm, 36 * mm, width - 76 * mm])


def _curves(data: ReportData, width: float) -> list[Flowable]:
    r, st = data.result, styles()
    n = r.loss_curves.shape[1] if r.loss_curves.ndim == 2 else 0
    text = "Loss of every start during the search; the start with the lowest final loss wins."
    finals = r.final_losses[np.isfinite(r.final_losses)]
    if finals.size and 0 <= r.winning_start < r.final_losses.size:
        text += (f" Final loss of the winner: {r.final_losses[r.winning_start]:.4g}; "
                 f"median of all starts: {np.median(finals):.4g}.")
    return [Paragraph("3.3\u2002Search (loss curves)", st["h2"]),
            figures.loss_plot(r.loss_curves, r.winning_start, width),
            figures.curve_legend(width, r.winning_start, n), Paragraph(text, st["small"])]


def _limits(data: ReportData) -> list[Flowable]:
    st = styles()
    out = heading("4\u2003Limits and interpretation")
    if data.result.inconclusive_reasons:
        out.append(Paragraph("<b>Why this result is inconclusive:</b>", st["body"]))
        out += [Paragraph(esc(x), st["body"], bulletText="\u2013")
                for x in data.result.inconclusive_reasons]
    out += [Paragraph(x, st["body"], bulletText="\u2022") for x in limits(data)]
    return out


def _custody(data: ReportData, width: float) -> list[Flowable]:
    st = styles()
    out = heading("5\u2003Chain of custody")
    if not data.custody:
        return out + [Paragraph("No custody entries were recorded for this item.", st["body"])]
    rows = [[utc_text(c.time_utc), esc(c.actor), esc(c.action),
             esc(c.detail), Paragraph(esc(c.entry_hash[:16]), st["mono"])]
            for c in data.custody]
    out.append(grid_table(["Time (UTC)", "Actor", "Action", "Detail", "Entry hash"], rows,
                          [34 * mm, 19 * mm, 18 * mm, width - 101 * mm, 30 * mm]))
    out.append(Paragraph("Each entry's hash covers the entry and the hash of the one before, so "
                         "a removed or edited entry breaks the chain.", st["small"]))
    if data.source:
        made_from = "; ".join(f"{esc(k.replace('_', ' '))}: {esc(v)}"
                              for k, v in data.source.items())
        out.append(Paragraph(f"This report was made from the stored records {made_from}.",
                             st["small"]))
    return out


def signature_section(cert_fingerprint: str, width: float) -> list[Flowable]:
    """How the report is signed and how to check it."""
    st = styles()
    fp = format_fingerprint(cert_fingerprint)
    half = len(fp) // 2 + 1
    fp_cell = Paragraph(f"{fp[:half]}<br/>{fp[half:]}", st["mono"])
    out = heading("6\u2003Signature and verification")
    out.append(Paragraph(
        "This report is digitally signed (PAdES) by the laboratory. The signature covers the "
        f"whole file, including the attached machine-readable manifest <i>{MANIFEST_NAME}</i> "
        "with the hashes, settings and results above. Any change to the file after signing "
        "invalidates the signature.", st["body"]))
    out.append(kv_table([("Signing certificate SHA-256", fp_cell),
                         ("Check with", mono("lfp report verify REPORT.pdf --trust lab_cert.pem"))],
                        [42 * mm, width - 42 * mm]))
    note = Table([[Paragraph("Compare the fingerprint above with the laboratory's published "
                             "certificate before relying on this report.", st["small"])]],
                 colWidths=[width])
    set_style(note, [("LINEABOVE", (0, 0), (-1, 0), 0.4, RULE),
                     ("TEXTCOLOR", (0, 0), (-1, -1), MUTED),
                     ("BACKGROUND", (0, 0), (-1, -1), colors.white)])
    return out[:1] + [KeepTogether(out[1:] + [Spacer(1, 2 * mm), note])]
