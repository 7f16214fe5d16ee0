"""PCA reconstruction: rows far from the main directions of variation stand out."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from detector.base import ProgressCallback
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig
from detector.tabular import StageReporter, TabularDetector, array, rows_in_place

_STAGES = ("finding the main directions", "scoring the training rows")
# Rows per block when building the covariance or scoring: bounded scratch memory on long tables.
_ROW_BLOCK = 65_536


class PCADetector(TabularDetector):
    """Squared distance of each row from its projection onto the main principal components.

    The components come from the covariance of the preprocessed training matrix. Unless
    ``n_components`` is given, the detector keeps the smallest number of components whose
    share of the variance reaches ``variance``, at least 1 and at most one fewer than the
    number of encoded columns (all of them would rebuild every row exactly). With a single
    encoded column there are no components, and the score is the squared distance from the
    training mean.

    Parameters
    ----------
    contamination
        Share of training rows expected to be anomalies; sets ``threshold_``.
    columns
        Column roles to use; None infers them from the table.
    preprocess
        Scaling, imputation and category settings shared by every family.
    variance
        Share of the variance the kept components must explain, in (0, 1].
    n_components
        A fixed number of components (capped at the number of encoded columns minus 1);
        None chooses it from ``variance``.

    Attributes
    ----------
    components_ : numpy.ndarray of shape (n_components, n_encoded)
        The kept principal axes, one per row.
    mean_ : numpy.ndarray of shape (n_encoded,)
        The training rows' mean in the encoded space.
    explained_variance_ratio_ : numpy.ndarray of shape (n_components,)
        Each kept component's share of the training variance.
    """

    kind: ClassVar[str] = "pca"
    title: ClassVar[str] = "PCA reconstruction"
    explains_columns: ClassVar[bool] = True
    explanation_of: ClassVar[str] = "the row's squared distance from the principal components"

    def __init__(
        self,
        *,
        contamination: float = 0.05,
        columns: ColumnRoles | None = None,
        preprocess: PreprocessConfig = PreprocessConfig(),  # noqa: B008 (frozen)
        variance: float = 0.9,
        n_components: int | None = None,
    ) -> None:
        self.contamination = contamination
        self.columns = columns
        self.preprocess = preprocess
        self.variance = variance
        self.n_components = n_components

    # ----------------------------------------------------------------- the family's hooks

    def _fit_matrix(self, matrix: np.ndarray, on_progress: ProgressCallback | None) -> np.ndarray:
        self._check_own_params()
        stages = StageReporter(on_progress, _STAGES)
        mean = matrix.mean(axis=0, dtype=np.float64)
        covariance = np.zeros((matrix.shape[1], matrix.shape[1]))
        for start in range(0, len(matrix), _ROW_BLOCK):
            centred = matrix[start : start + _ROW_BLOCK] - mean
            covariance += centred.T @ centred
        # eigh of the small covariance is deterministic and needs no centred copy of the table.
        eigenvalues, eigenvectors = np.linalg.eigh(covariance / max(len(matrix) - 1, 1))
        order = np.argsort(eigenvalues)[::-1]
        eigenvalues = np.clip(eigenvalues[order], 0.0, None)
        total = eigenvalues.sum()
        ratios = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
        kept = self._components_to_keep(ratios)
        self.mean_ = mean
        self.components_ = np.ascontiguousarray(eigenvectors[:, order[:kept]].T)
        self.explained_variance_ratio_ = ratios[:kept]
        stages.done("finding the main directions")
        scores = self._score_matrix(matrix)
        stages.done("scoring the training rows")
        return scores

    def _check_own_params(self) -> None:
        variance = self.variance
        if not _is_real(variance) or not 0 < variance <= 1:
            raise ValueError(f"variance={variance!r} must be a share in (0, 1].")
        count = self.n_components
        if count is not None and (not _is_real(count) or not float(count).is_integer() or count < 1):
            raise ValueError(f"n_components={count!r} must be None or a whole number of at least 1.")

    def _components_to_keep(self, ratios: np.ndarray) -> int:
        """How many components to keep, given each one's share of the variance (largest first)."""
        most = len(ratios) - 1
        if self.n_components is not None:
            return min(int(self.n_components), most)
        # A small tolerance so that rounding does not turn "exactly 90%" into one more component.
        reached = np.flatnonzero(np.cumsum(ratios) >= self.variance - 1e-12)
        wanted = int(reached[0]) + 1 if reached.size else len(ratios)
        return max(min(wanted, most), min(1, most))

    def _score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        scores = np.empty(len(matrix))
        for start in range(0, len(matrix), _ROW_BLOCK):
            residuals = self._residuals(matrix[start : start + _ROW_BLOCK])
            scores[start : start + _ROW_BLOCK] = np.einsum("ij,ij->i", residuals, residuals)
        return scores

    def _column_errors(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        errors = np.square(self._residuals(matrix))
        return errors.sum(axis=1), errors

    def _residuals(self, matrix: np.ndarray) -> np.ndarray:
        """Each row minus its reconstruction, in the encoded space (float64)."""
        centred = matrix - self.mean_
        return centred - (centred @ self.components_.T) @ self.components_

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {
            "mean": self.mean_,
            "components": self.components_,
            "explained_variance_ratio": self.explained_variance_ratio_,
        }

    def _restore_fitted(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        width = len(self.preprocessor_.feature_names_out_)
        mean = array(arrays, "mean", ndim=1)
        components = array(arrays, "components", ndim=2)
        ratios = array(arrays, "explained_variance_ratio", ndim=1)
        if mean.shape != (width,) or components.shape[1] != width or components.shape[0] > width - 1:
            raise DataError(
                f"The bundle's PCA arrays do not fit its {width} encoded columns "
                f"(mean {mean.shape}, components {components.shape})."
            )
        # Axes that are not orthonormal would make "distance from the projection" meaningless.
        if not np.allclose(components @ components.T, np.eye(len(components)), atol=1e-6):
            raise DataError("The bundle's PCA components are not orthonormal axes.")
        if ratios.shape != (components.shape[0],) or (ratios < 0).any() or ratios.sum() > 1 + 1e-9:
            raise DataError("The bundle's explained_variance_ratio must be shares of the variance.")
        self.mean_ = mean.astype(np.float64)
        self.components_ = components.astype(np.float64)
        self.explained_variance_ratio_ = ratios.astype(np.float64)

    # ----------------------------------------------------------------- explanations

    def expected_values(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Each row's projection onto the components, in the original units of each column.

        Categorical columns take the category the projection leans to most; rows with no
        feature values are NaN.
        """
        matrix, usable = self._transform(X)
        rebuilt = self.preprocessor_.inverse_transform(matrix - self._residuals(matrix))
        return rows_in_place(rebuilt, usable, X)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


__all__ = ["PCADetector"]
