"""Errors the user can act on: each message says what is wrong and what to do."""


class LFPError(Exception):
    """Base class of errors shown to the user as they are (no traceback)."""


class CheckpointError(LFPError):
    """A generator checkpoint could not be loaded safely or does not fit."""


class SchemeError(LFPError):
    """A fingerprint scheme is invalid or does not belong to the loaded checkpoint."""


class EvidenceError(LFPError):
    """An evidence file could not be read as an image."""


class RegistryError(LFPError):
    """A key registry is missing, corrupt or inconsistent."""


class CaseError(LFPError):
    """A case store is missing, corrupt or inconsistent."""


class ReportError(LFPError):
    """A report could not be made, signed or verified."""
