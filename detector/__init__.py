"""Find anomalies in tabular data with an autoencoder.

The library behind the dashboard: read a table, infer column roles,
preprocess, fit an :class:`AutoencoderDetector`, choose a threshold, explain
and export. It never imports Streamlit, and it imports TensorFlow only when a
model is built or loaded.
"""

from __future__ import annotations

from detector.errors import DataError, NotFittedError

__all__ = ["DataError", "NotFittedError"]
__version__ = "0.1.0"
