"""The library's version, recorded in every model bundle."""

__version__ = "0.2.0"
