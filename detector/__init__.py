"""Find anomalies in tabular data with an autoencoder, and see whether simpler methods agree.

The library behind the dashboard: read a table, infer column roles, fit a detector (the
autoencoder, or a baseline: Isolation Forest, PCA reconstruction, ECOD), choose a threshold,
explain, compare and export. It never imports Streamlit, and it imports TensorFlow only when
a network is built or loaded.
"""

from __future__ import annotations

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig, TrainingPlan
from detector.base import BaseDetector, DetectorState, FitProgress
from detector.bundle import LoadedBundle, bundle_bytes, load_bundle, save_bundle
from detector.columns import ColumnRoles, infer_roles, profile_columns
from detector.drift import DriftReport, check_drift
from detector.ecod import ECODDetector
from detector.errors import DataError, NotFittedError
from detector.evaluation import Evaluation, evaluate
from detector.iforest import IsolationForestDetector
from detector.pca import PCADetector
from detector.preprocessing import PreprocessConfig
from detector.registry import FAMILIES, detector_class
from detector.results import ScoredTable, score_table
from detector.reviews import Reviews, SuppressionRule
from detector.stream import sample_table, score_file
from detector.table import Table, TableStream, read_table, read_table_chunks
from detector.thresholds import ThresholdChoice, automatic_thresholds, contamination_threshold, flag
from detector.training import HoldOut
from detector.version import __version__
from detector.windowed import WindowedAutoencoderDetector

__all__ = [
    "FAMILIES",
    "AutoencoderConfig",
    "AutoencoderDetector",
    "BaseDetector",
    "ColumnRoles",
    "DataError",
    "DetectorState",
    "DriftReport",
    "ECODDetector",
    "Evaluation",
    "FitProgress",
    "HoldOut",
    "IsolationForestDetector",
    "LoadedBundle",
    "NotFittedError",
    "PCADetector",
    "PreprocessConfig",
    "Reviews",
    "ScoredTable",
    "SuppressionRule",
    "Table",
    "TableStream",
    "ThresholdChoice",
    "TrainingPlan",
    "WindowedAutoencoderDetector",
    "__version__",
    "automatic_thresholds",
    "bundle_bytes",
    "check_drift",
    "contamination_threshold",
    "detector_class",
    "evaluate",
    "flag",
    "infer_roles",
    "load_bundle",
    "profile_columns",
    "read_table",
    "read_table_chunks",
    "sample_table",
    "save_bundle",
    "score_file",
    "score_table",
]
