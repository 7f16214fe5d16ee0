"""The contract every detector family keeps, in the spirit of PyOD's ``BaseDetector``.

After :meth:`BaseDetector.fit` every detector has ``decision_scores_`` (the training rows'
scores, higher = more anomalous, NaN where a row could not be scored), ``threshold_`` (from
``contamination``) and ``labels_`` (0/1). Code downstream (training jobs, scored tables,
bundles, pages, the CLI) talks only to this contract: a new family is a subclass plus a line
in :mod:`detector.registry`.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from sklearn.base import BaseEstimator

from detector.errors import NotFittedError
from detector.thresholds import flag

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class FitProgress:
    """What a fit reports after each step: an epoch of a network, or a stage of a classical method.

    ``step`` counts from 1 up to ``total``. ``loss`` and ``val_loss`` are set by families that
    train by gradient descent; ``stage`` names the step in words (``"fitting the trees"``).
    """

    step: int
    total: int
    unit: Literal["epoch", "stage"]
    elapsed: float
    loss: float | None = None
    val_loss: float | None = None
    stage: str = ""


#: Called after each fit step; returning True asks the fit to stop and keep what it has.
ProgressCallback = Callable[[FitProgress], "bool | None"]


@dataclass
class DetectorState:
    """A fitted detector as data: what a bundle stores, and all it needs to rebuild one.

    ``params`` are the constructor's arguments and ``fitted`` the learned values, both as
    JSON-able values; ``arrays`` hold the numeric arrays (never object dtype); ``network`` is a
    Keras model for the families that have one (saved in Keras' own format, loaded safely).
    """

    kind: str
    params: dict[str, Any]
    fitted: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    network: Any | None = None


class BaseDetector(BaseEstimator, ABC):
    """One detector vocabulary for every family.

    Subclasses set the class attributes, implement :meth:`fit`, :meth:`decision_function`,
    :meth:`to_state` and :meth:`from_state`, and may override the optional explanations
    (:meth:`score_with_contributions`, :meth:`expected_values`).
    """

    #: The registry name, stored in bundles (``"autoencoder"``, ``"iforest"``, ...).
    kind: ClassVar[str] = ""
    #: The family's name for people (``"Isolation Forest"``).
    title: ClassVar[str] = ""
    #: Whether :meth:`score_with_contributions` gives per-column shares of each row's score.
    explains_columns: ClassVar[bool] = False
    #: What the per-column shares are shares of, in words (for the UI).
    explanation_of: ClassVar[str] = ""

    contamination: float
    #: Suppression rules kept with the model (:class:`detector.reviews.SuppressionRule`): rows a
    #: rule matches are never flagged. Set with :meth:`with_rules`; stored in bundles.
    suppression_rules_: tuple[Any, ...] = ()

    # ----------------------------------------------------------------- the contract

    @abstractmethod
    def fit(self, X: Any, y: object = None, *, on_progress: ProgressCallback | None = None) -> BaseDetector:
        """Learn from the rows of ``X`` (``y`` is ignored); return ``self``."""

    @abstractmethod
    def decision_function(self, X: Any) -> np.ndarray:
        """One score per row of ``X``: higher is more anomalous; NaN where a row cannot be scored."""

    @property
    @abstractmethod
    def feature_columns(self) -> tuple[str, ...]:
        """The columns of a table this fitted detector reads (what a scored file must have)."""

    @property
    def explained_columns(self) -> tuple[str, ...]:
        """The columns a row's explanation is about (its shares' columns): the features, or for
        a model that also reads ordering columns (a time series' timestamp), its sensors."""
        return self.feature_columns

    @abstractmethod
    def to_state(self) -> DetectorState:
        """The fitted detector as data (see :class:`DetectorState`)."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: DetectorState) -> BaseDetector:
        """Rebuild a fitted detector from :meth:`to_state` output; ``DataError`` if it is malformed."""

    # ----------------------------------------------------------------- shared behaviour

    def predict(self, X: Any) -> np.ndarray:
        """Return 1 for rows scoring above ``threshold_`` (anomalies) that no suppression rule
        matches, else 0."""
        self.check_fitted()
        if self.suppression_rules_ and self.explains_columns:
            scores, shares = self.score_with_contributions(X)
            return self.flags(scores, shares).astype(np.int8)
        return self.labels_at(self.decision_function(X))

    def flags(
        self, scores: np.ndarray, shares: pd.DataFrame | None, threshold: float | None = None
    ) -> np.ndarray:
        """One bool per row: above ``threshold`` (``threshold_`` by default) and not matched by a
        suppression rule (``shares`` are the rows' per-column shares of their scores, from
        :meth:`score_with_contributions`)."""
        from detector.reviews import suppressed

        flagged = flag(scores, self.threshold_ if threshold is None else threshold)
        if self.suppression_rules_:
            flagged &= ~suppressed(self.suppression_rules_, shares, len(flagged))
        return flagged

    def with_rules(self, rules: Any) -> BaseDetector:
        """A shallow copy that keeps ``rules`` (suppression rules) with the model, as a bundle will."""
        self.check_fitted()
        chosen = copy.copy(self)
        chosen.suppression_rules_ = tuple(rules)
        return chosen

    def score_samples(self, X: Any) -> np.ndarray:
        """Opposite of :meth:`decision_function` (scikit-learn's convention: lower is more abnormal)."""
        return -self.decision_function(X)

    def score_with_contributions(self, X: Any) -> tuple[np.ndarray, pd.DataFrame | None]:
        """Scores and each feature column's share of each row's score (None: the family has none)."""
        return self.decision_function(X), None

    def feature_errors(self, X: Any) -> pd.DataFrame | None:
        """Each feature column's share of each row's score (rows sum to 1), or None."""
        return self.score_with_contributions(X)[1]

    def score_parts(self, X: Any) -> pd.DataFrame | None:
        """The parts each row's score adds up from (one column each), or None for a single part."""
        return None

    def expected_values(self, X: Any) -> pd.DataFrame | None:
        """What the model expected each row's columns to hold, in their own units, or None."""
        return None

    def scaled_values(self, X: Any) -> pd.DataFrame | None:
        """Each numeric feature as the model sees it (scaled; NaN for categories), or None."""
        return None

    def model_inputs(self, X: Any) -> np.ndarray | None:
        """The numeric matrix the model reads for ``X`` (for projections), or None."""
        return None

    def warm_up(self) -> None:
        """Import what fitting needs (seconds for TensorFlow), so a job can do it off the UI thread."""

    def with_threshold(self, threshold: float) -> BaseDetector:
        """A shallow copy whose ``threshold_`` (and training ``labels_``) follow ``threshold``.

        The copy shares everything learned; a bundle saved from it flags exactly what the user
        was looking at.
        """
        self.check_fitted()
        chosen = copy.copy(self)
        chosen.threshold_ = float(threshold)
        chosen.labels_ = chosen.labels_at(self.decision_scores_)
        return chosen

    def check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless :meth:`fit` (or a bundle) gave this detector its state."""
        if not hasattr(self, "decision_scores_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X) before scoring."
            )

    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
        """Write a model bundle (a directory, or a ``.zip`` file) and return its path."""
        from detector.bundle import save_bundle

        return save_bundle(self, path, metadata=metadata)

    @classmethod
    def load(cls, path: str | Path | bytes) -> BaseDetector:
        """Load a bundle written by :meth:`save`; never executes code from the file."""
        from detector.bundle import load_bundle

        detector = load_bundle(path).detector
        if cls is not BaseDetector and not isinstance(detector, cls):
            from detector.errors import DataError

            raise DataError(
                f"The bundle holds a {detector.title} model, not a {cls.title or cls.__name__} one."
            )
        return detector

    def _set_scores(self, scores: np.ndarray) -> None:
        """Record the training rows' scores and the threshold and labels ``contamination`` gives."""
        from detector.thresholds import contamination_threshold

        self.decision_scores_ = np.asarray(scores, dtype=np.float64)
        self.threshold_ = contamination_threshold(self.decision_scores_, self.contamination).threshold
        self.labels_ = self.labels_at(self.decision_scores_)

    def labels_at(self, scores: np.ndarray) -> np.ndarray:
        """1 where a score is above ``threshold_`` (an anomaly), else 0; unscored rows are 0."""
        return flag(scores, self.threshold_).astype(np.int8)


__all__ = ["BaseDetector", "DetectorState", "FitProgress", "ProgressCallback"]
