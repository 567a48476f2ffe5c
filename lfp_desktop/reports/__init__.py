"""Signed PDF reports: data model, rendering, signing and verification."""
