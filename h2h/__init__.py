"""h2h: Head2Head++ full-head face reenactment as a reproducible pipeline."""

__version__ = "0.1.0"
