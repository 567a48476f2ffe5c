"""Cases: evidence intake (safe decoding, hashing), working copies, results, custody log."""

from lfp_desktop.casework.case import Case
from lfp_desktop.casework.intake import EvidenceImage, fit_to_resolution, read_evidence
from lfp_desktop.casework.models import CaseInfo, EvidenceItem, StoredResult
from lfp_desktop.casework.store import CaseStore

__all__ = ["Case", "CaseInfo", "CaseStore", "EvidenceImage", "EvidenceItem", "StoredResult",
           "fit_to_resolution", "read_evidence"]
