"""LFP Desktop: name the user behind an image from a latent-fingerprinted generator."""

__version__ = "0.1.0"
