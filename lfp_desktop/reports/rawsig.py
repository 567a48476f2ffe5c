"""Recompute a PDF signature's digest straight from the file's bytes.

Needs no PDF parser: the ``/ByteRange`` and ``/Contents`` of the first signature dictionary
are found in the raw bytes, the CMS object is decoded and its signed message digest is
compared with a fresh hash of the covered bytes. Any byte changed in the signed range fails.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


@dataclass(frozen=True)
class RawSignature:
    """What the raw scan found. ``digest_ok`` is None when it could not be decided."""

    found: bool
    byte_range: tuple[int, int, int, int] = (0, 0, 0, 0)
    digest_ok: bool | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def signed_end(self) -> int:
        """Offset just after the last signed byte (the end of the signed revision)."""
        a, b, c, d = self.byte_range
        return c + d

    def range_text(self) -> str:
        if not self.found:
            return ""
        a, b, c, d = self.byte_range
        return f" (the signature covers bytes {a}\u2013{a + b - 1} and {c}\u2013{c + d - 1})"


def find_raw_signature(data: bytes) -> RawSignature:
    """Scan ``data`` for the first signature and check its digest."""
    has_sig_dict = b"/ByteRange" in data
    match = _BYTE_RANGE.search(data)
    if match is None:
        problems = ["the signature dictionary is damaged (its /ByteRange cannot be read)"] \
            if has_sig_dict else []
        return RawSignature(found=has_sig_dict, digest_ok=False if has_sig_dict else None,
                            problems=problems)
    a, b, c, d = (int(g) for g in match.groups())
    rng = (a, b, c, d)
    if a != 0 or b >= c or c + d > len(data) or data[b:b + 1] != b"<" or data[c - 1:c] != b">":
        return RawSignature(True, rng, False, ["the signature's byte range does not fit the "
                                               "file; the file was altered or truncated"])
    try:
        algo, expected = _signed_digest(bytes.fromhex(data[b + 1:c - 1].decode("ascii")))
    except (ValueError, KeyError, TypeError) as exc:
        return RawSignature(True, rng, False, [f"the signature value is damaged ({exc})"])
    actual = hashlib.new(algo, data[a:a + b] + data[c:c + d]).digest()
    return RawSignature(True, rng, actual == expected)


def _signed_digest(der: bytes) -> tuple[str, bytes]:
    """(hash name, message digest) from the signed attributes of a CMS SignedData."""
    from asn1crypto import cms

    info = cms.ContentInfo.load(der, strict=False)  # zero padding follows the DER
    signer = info["content"]["signer_infos"][0]
    algo = signer["digest_algorithm"]["algorithm"].native
    for attr in signer["signed_attrs"]:
        if attr["type"].native == "message_digest":
            return algo, attr["values"][0].native
    raise KeyError("no message digest attribute")
