"""The report's sentences: the lay verdict, number formats and the stated limits.

Strings here are reportlab paragraph markup (``<b>``, ``<super>``); user-supplied text is
escaped before it is put into markup.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from lfp_desktop.engine.matching import CONFIDENCE_LEVELS
from lfp_desktop.reports.model import MethodInfo, ReportData, ResultInfo


def esc(text: object) -> str:
    """User text made safe for paragraph markup."""
    return escape(str(text))


def blur_note(m: MethodInfo) -> str:
    """``; blur model up to 3 px`` when the search fitted a blur in front of the loss."""
    return f"; blur model up to {m.blur_radius} px" if m.blur_radius else ""


LOSS_TEXT = {"pixel+jpeg": "pixel, with JPEG evidence compared inside its file's quantisation intervals"}


def loss_text(m: MethodInfo) -> str:
    """The reconstruction loss(es) in words (``a / b`` when the items of a batch differ)."""
    return esc(" / ".join(LOSS_TEXT.get(name, name) for name in m.loss.split(" / ")))


def comparison_text(m: MethodInfo) -> str:
    """How decoded keys were compared with the registered ones."""
    if m.statistic == "weighted":
        return (f"confidence-weighted distance: each differing bit counts 1 to {CONFIDENCE_LEVELS} by "
                "the confidence with which it was read")
    return "Hamming distance: each differing bit counts 1"


def sci(x: float, *, digits: int = 2) -> str:
    """``3.1 × 10<super>−12</super>`` for small or large numbers, plain decimals otherwise."""
    if x == 0:
        return "&lt; 10<super>\u2212300</super>"  # below float range: report the bound only
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.{digits + 1}g}"
    exp = math.floor(math.log10(abs(x)))
    mant = x / 10 ** exp
    exp_text = str(exp).replace("-", "\u2212")
    mant_text = f"{mant:.{digits - 1}f}"
    if mant_text in ("1", "1.0"):
        return f"10<super>{exp_text}</super>"
    return f"{mant_text} \u00d7 10<super>{exp_text}</super>"


def user_label(name: str | None, user_id: str | None) -> str:
    """``“alice” (user ID 17)`` in markup."""
    if name and user_id:
        return f"\u201c{esc(name)}\u201d (user ID {esc(user_id)})"
    return f"\u201c{esc(name or user_id or 'unknown')}\u201d"


def lay_verdict(r: ResultInfo) -> str:
    """The verdict in one sentence a lay reader understands (markup)."""
    if r.verdict == "ATTRIBUTED":
        p = sci(r.p_value) if r.p_value is not None else "not computed"
        return ("The image was most likely produced by the generator copy issued to user "
                f"<b>{user_label(r.user_name, r.user_id)}</b>. The probability that a match "
                f"this close arises by coincidence is {p}.")
    if r.verdict == "INCONCLUSIVE":
        closest = (f" The closest registered key belongs to {user_label(r.user_name, r.user_id)}"
                   ", but it does not match closely enough." if (r.user_name or r.user_id)
                   else "")
        return ("The examination could not link the image to a registered user with the "
                f"required certainty.{closest}")
    return ("The image does not carry the fingerprint of any registered user. It may come "
            "from an unregistered copy, from another generator or from a camera; this "
            "examination cannot tell which.")


def key_numbers(r: ResultInfo, target_fpr: float) -> str:
    """One line of the numbers behind the verdict (markup)."""
    parts = []
    if r.d1 is not None:
        parts.append(f"{r.d1} of {r.key_length} bits differ from the closest key")
    if r.weighted_distance is not None:
        parts.append(f"weighted distance {r.weighted_distance} of {r.weight_total}")
    if r.d2 is not None:
        parts.append(f"runner-up {r.d2} bits")
    if r.p_value is not None:
        parts.append(f"p = {sci(r.p_value)} (threshold {sci(target_fpr)})")
    parts.append(f"{r.registry_size:,} registered users")
    return " \u00b7 ".join(parts)


def p_value_meaning(r: ResultInfo) -> str:
    """What the p-value means, in one or two sentences (markup)."""
    if r.p_value is None or r.d1 is None:
        return "No registered key was compared, so no probability is stated."
    within = (f"a confidence-weighted distance of {r.weighted_distance} (of {r.weight_total}; "
              "each bit weighted by the confidence with which it was read)"
              if r.weighted_distance is not None else f"{r.d1} bits")
    return (f"If the image carried none of the {r.registry_size:,} registered keys, each "
            "decoded bit would agree with a registered key by chance (probability \u00bd "
            f"per bit). The chance that some registered key would then lie within {within} "
            f"of the decoded key is {sci(r.p_value)}.")


def limits(data: ReportData) -> list[str]:
    """Stated limits of the method for this report (markup, one bullet each)."""
    m, r = data.method, data.result
    return [
        "The method recognises only the fingerprints of the generator identified by the "
        f"checkpoint hash in section 2 (model \u201c{esc(m.model_name)}\u201d) and only the "
        f"{r.registry_size:,} users in the registry with the digest shown there. It shows to "
        "whom a generator copy was issued, not who operated it or whether the copy was shared "
        "or leaked.",
        "A NO MATCH verdict does not show that an image is authentic: images from other "
        "generators, from unregistered copies and from cameras all give NO MATCH.",
        "The stated probability assumes that, for an image carrying none of the registered "
        "keys, decoded bits agree with any registered key independently with probability "
        "\u00bd. It measures coincidental matches only, not errors in the registry or in the "
        "handling of the evidence.",
        "Processing after generation (compression, resizing, cropping, blur, noise, "
        "re-photographing) weakens the fingerprint: per-bit confidence falls and the starts "
        "disagree, which can turn a true attribution into INCONCLUSIVE.",
        "The reconstruction is the generator output that best explains the image under the "
        "stated loss; it is a tool for the analyst, not a recovered original.",
    ]
