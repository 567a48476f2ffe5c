"""Batch scans of evidence folders, headless: intake into a case, attribution in batches on
workers (in this process, or Ray actors on a cluster), results streamed into the case.

The desktop app and ``lfp scan`` share this package; nothing here imports Qt, and Ray is
imported only when a cluster is asked for (the optional ``cluster`` extra).
"""

from lfp_desktop.scan.files import IMAGE_SUFFIXES, Candidate, fits, list_candidates, parse_types
from lfp_desktop.scan.model import ModelBundle, read_model
from lfp_desktop.scan.options import ScanOptions, scan_options
from lfp_desktop.scan.progress import ScanProgress
from lfp_desktop.scan.cases import open_scan_case
from lfp_desktop.scan.items import ScanItem, ScanReport
from lfp_desktop.scan.runner import run_scan

__all__ = ["IMAGE_SUFFIXES", "Candidate", "ModelBundle", "ScanItem", "ScanOptions", "ScanProgress", "ScanReport",
           "fits", "list_candidates", "open_scan_case", "parse_types", "read_model", "run_scan", "scan_options"]
