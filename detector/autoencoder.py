"""The autoencoder anomaly detector: fit on rows, score each row by how badly it is rebuilt."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from detector.autoencoder_config import AutoencoderConfig, TrainingPlan
from detector.base import DetectorState, ProgressCallback
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.iforest import Forest, grow_trees, node_arrays
from detector.network import LayerSummary, architecture, import_keras, row_batches, train_network
from detector.preprocessing import PreprocessConfig
from detector.surprisal import TailModel
from detector.tabular import StageReporter, TabularDetector, array, index_of, number, rows_in_place

# The parts of a row's score, in the order score_components returns them.
SCORE_PARTS = ("reconstruction", "code", "isolation")
# The fourth part, with text columns: how rarely a training text reads this much like a failure.
WORDING_PART = "wording"
# Trees of the isolation part: half Isolation Forest's usual 100, since walking them is most of
# the cost of scoring a million rows; the default study measured the score with this many.
ISOLATION_TREES = 50
NO_CODE_STAGE = "measured each row's distance from the typical row (one input: no network to train)"


def size_notes(n_inputs: int) -> tuple[str, ...]:
    """Plain words on what a row-wise autoencoder can learn from ``n_inputs`` network inputs."""
    if n_inputs == 1:
        return (
            "With one feature column a row-wise autoencoder has nothing to compress: it cannot "
            "learn structure. Each row is scored by how far its value lies from the typical "
            "(median) value, in units of the column's spread. Add columns, or use Isolation "
            "Forest or ECOD for a single column.",
        )
    if n_inputs == 2:
        return (
            "With two inputs a row-wise autoencoder can learn little structure (one number must "
            "summarise the pair): it finds rows off the line the pair usually follows. Add "
            "columns if the data has more to say, or compare with Isolation Forest and ECOD.",
        )
    return ()


class AutoencoderDetector(TabularDetector):
    """Dense autoencoder that scores rows by reconstruction error (higher = more anomalous).

    Give it a DataFrame of raw columns (it chooses, encodes and scales the features itself) or
    a numeric array. After :meth:`fit`, ``decision_scores_`` holds the training rows' scores and
    ``threshold_`` the score above which ``contamination`` of them fall; ``training_plan_``
    (a :class:`TrainingPlan`) says how many epochs were asked for and allowed, and whether
    ``config.max_steps`` lowered them.

    The score adds two views of a row, each in units of a typical training row's value: how
    badly it is rebuilt (``reconstruction``), and how unusual its code is (``code``: the
    Mahalanobis distance of its bottleneck code from the training codes). The second catches
    rows the network rebuilds well only because they sit in a sparse corner of what it learned;
    see :meth:`score_components` and ``benchmarks/README.md``. With text columns a fourth part,
    ``wording``, counts how much a row's text reads like a failure
    (``AutoencoderConfig.failure_wording``).

    Parameters
    ----------
    config : AutoencoderConfig
        Network and training settings; ``None`` sizes follow the data.
    contamination : float
        Expected share of anomalies, in (0, 0.5); sets ``threshold_`` only (the threshold can be
        changed later without refitting).
    columns : ColumnRoles or None
        Which columns are numeric and categorical features. ``None`` infers them from the data.
    preprocess : PreprocessConfig
        Imputation, scaling and encoding settings.

    Examples
    --------
    >>> detector = AutoencoderDetector(contamination=0.05).fit(frame)      # doctest: +SKIP
    >>> detector.predict(frame)                                           # doctest: +SKIP
    """

    kind = "autoencoder"
    title = "Autoencoder"
    explains_columns = True
    explanation_of = "the row's reconstruction error"

    def __init__(
        self,
        *,
        config: AutoencoderConfig = AutoencoderConfig(),  # noqa: B008 (frozen)
        contamination: float = 0.05,
        columns: ColumnRoles | None = None,
        preprocess: PreprocessConfig = PreprocessConfig(),  # noqa: B008 (frozen)
    ) -> None:
        self.config = config
        self.contamination = contamination
        self.columns = columns
        self.preprocess = preprocess

    # ----------------------------------------------------------------- fitting

    def warm_up(self) -> None:
        import_keras()
        import tensorflow as tf

        tf.config.list_logical_devices()  # TensorFlow probes for devices (CUDA) here, once

    def _side_inputs(self, frame: pd.DataFrame, *, fitting: bool = False) -> dict[str, np.ndarray]:
        wanted = (
            getattr(self.config, "failure_wording", False) if fitting else getattr(self, "wording_", False)
        )
        wording = self.preprocessor_.wording(frame) if wanted else None
        return {} if wording is None else {"wording": wording}

    def _fit_matrix(
        self, matrix: np.ndarray, on_progress: ProgressCallback | None, wording: np.ndarray | None = None,
    ) -> np.ndarray:
        if not isinstance(self.config, AutoencoderConfig):
            raise TypeError("config must be an AutoencoderConfig.")
        self.wording_ = wording is not None
        inputs = self._clipped(matrix)
        config = self.config.resolved(len(inputs), inputs.shape[1])
        self.config_ = config
        self.training_plan_ = TrainingPlan.of(self.config, config, len(inputs))
        if config.bottleneck == 0:
            # No code: every row is rebuilt as the typical row (0 once centred), so there is
            # nothing to train and the score is each row's distance from typical values.
            self.model_, self.stopped_by_user_ = None, False
            self.history_ = {"loss": [], "val_loss": [], "epoch": []}
            StageReporter(on_progress, (NO_CODE_STAGE,)).done(NO_CODE_STAGE)
        else:
            self.model_, self.history_, self.stopped_by_user_ = train_network(inputs, config, on_progress)
        self.data_fingerprint_ = _fingerprint(inputs)

        totals, codes = self._errors_and_codes(inputs, matrix, per_column=False)
        self.code_mean_ = codes.mean(axis=0)
        centred = codes - self.code_mean_
        covariance = np.atleast_2d(np.cov(centred, rowvar=False)) + 1e-6 * np.eye(codes.shape[1])
        self.code_precision_ = np.linalg.pinv(covariance)
        self.score_rule_ = "rarity"
        if self.model_ is not None:
            # The third view: how quickly random cuts isolate the row (Isolation Forest on the
            # same matrix). benchmarks/README.md has the study that chose these three views.
            # Without a code (one input) the distance from typical values is the whole story.
            self._isolation_nodes, self.isolation_samples_ = grow_trees(
                matrix, n_estimators=ISOLATION_TREES, seed=config.seed,
            )
            self._isolation = Forest.compile(self._isolation_nodes, matrix.shape[1])
        raw = self._raw_parts(totals, codes, matrix, wording)
        self.tails_ = tuple(TailModel.fit(part) for part in raw.T)
        return self._parts(raw).sum(axis=1)

    # ----------------------------------------------------------------- scoring

    def _score_matrix(self, matrix: np.ndarray, wording: np.ndarray | None = None) -> np.ndarray:
        totals, codes = self._errors_and_codes(self._clipped(matrix), matrix, per_column=False)
        return self._parts(self._raw_parts(totals, codes, matrix, wording)).sum(axis=1)

    def _column_errors(
        self, matrix: np.ndarray, wording: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        errors, codes = self._errors_and_codes(self._clipped(matrix), matrix)
        return self._parts(self._raw_parts(errors.sum(axis=1), codes, matrix, wording)).sum(axis=1), errors

    @property
    def part_names(self) -> tuple[str, ...]:
        """The parts the score adds up from: the three views (and ``wording`` with text columns);
        only the reconstruction for a model without a code (one input); reconstruction and code
        for a release-0.1 bundle."""
        if self.score_rule_ != "rarity":
            return SCORE_PARTS[:2]
        views = SCORE_PARTS if self.model_ is not None else SCORE_PARTS[:1]
        return (*views, WORDING_PART) if getattr(self, "wording_", False) else views

    def score_components(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """The parts of each row's score (they add up to it), one column each.

        ``reconstruction``: how badly the network rebuilds the row; ``code``: how unusual its
        bottleneck code is among the training rows' (Mahalanobis distance); ``isolation``: how
        few random cuts set it apart (Isolation Forest on the same matrix). Each is the row's
        rarity in that view among the training rows, in nats (see :mod:`detector.surprisal`).
        ``wording`` (with text columns): how rarely a training row's text reads as much like a
        failure (:data:`detector.text.FAILURE_WORDS`).
        """
        matrix, usable, rows = self._transform_rows(X)
        totals, codes = self._errors_and_codes(self._clipped(matrix), matrix, per_column=False)
        names = self.part_names
        parts = np.full((len(usable), len(names)), np.nan)
        parts[usable] = self._parts(self._raw_parts(totals, codes, matrix, **self._side_inputs(rows)))
        return pd.DataFrame(parts, columns=list(names), index=index_of(X))

    def score_parts(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        return self.score_components(X)

    def reconstruct(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Return the network's reconstruction of each row, in the original units of each column."""
        matrix, usable = self._transform(X)
        reconstructed = self.preprocessor_.inverse_transform(self._reconstruct_matrix(self._clipped(matrix)))
        return rows_in_place(reconstructed, usable, X)

    def expected_values(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        return self.reconstruct(X)

    def encode(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Return each scorable row's bottleneck code (rows with no features are ``NaN``)."""
        matrix, usable = self._transform(X)
        codes = self._errors_and_codes(self._clipped(matrix), matrix, per_column=False)[1]
        full = np.full((len(usable), codes.shape[1]), np.nan)
        full[usable] = codes
        return full

    @property
    def epochs_run_(self) -> int:
        """Passes over the training rows the network made (0 without a network)."""
        self.check_fitted()
        return int(self.history_["epoch"][-1]) if self.history_.get("epoch") else len(self.history_["loss"])

    def architecture(self) -> list[LayerSummary]:
        """The dense layers of the fitted network (none without a code)."""
        self.check_fitted()
        if self.model_ is None:
            return []
        return architecture(self.config_, len(self.preprocessor_.feature_names_out_))

    @property
    def notes_(self) -> tuple[str, ...]:
        """What a user should know about how this model could learn from the columns it got."""
        self.check_fitted()
        return size_notes(len(self.preprocessor_.feature_names_out_))

    # ----------------------------------------------------------------- state

    def _network(self) -> Any:
        return self.model_

    def _params_to_json(self) -> dict[str, Any]:
        return {**super()._params_to_json(), "config": self.config.to_dict()}

    @classmethod
    def _params_from_json(cls, data: object) -> dict[str, Any]:
        params = super()._params_from_json(data)
        params["config"] = AutoencoderConfig.from_dict(params.get("config"))
        return params

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        fitted = {
            "resolved_config": self.config_.to_dict(),
            "training_plan": self.training_plan_.to_dict(),
            "history": self.history_,
            "stopped_by_user": bool(self.stopped_by_user_),
            "data_fingerprint": self.data_fingerprint_,
            "score_rule": self.score_rule_,
            # Only written when true, so that older readers still read models without text.
            **({"failure_wording": True} if getattr(self, "wording_", False) else {}),
        }
        arrays = {
            "code_mean": np.asarray(self.code_mean_),
            "code_precision": np.asarray(self.code_precision_),
        }
        if self.score_rule_ == "rarity":
            if self.model_ is not None:
                fitted["isolation_samples"] = int(self.isolation_samples_)
                arrays |= {f"isolation_{name}": values for name, values in self._isolation_nodes.items()}
            for name, tail in zip(self.part_names, self.tails_, strict=True):
                arrays |= tail.to_arrays(f"tail_{name}")
        else:
            fitted["score_scales"] = [float(v) for v in self.score_scales_]
        return fitted, arrays

    def _restore_fitted(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        network = self._loaded_network
        del self._loaded_network
        self.config_ = AutoencoderConfig.from_dict(fitted.get("resolved_config"))
        bottleneck = self.config_.bottleneck
        n_inputs = len(self.preprocessor_.feature_names_out_)
        if (network is None) != (bottleneck == 0):
            raise DataError(
                "The bundle holds no network for its autoencoder." if network is None
                else "The bundle holds a network for an autoencoder without a code; it is inconsistent."
            )
        if network is not None and (
            tuple(network.input_shape) != (None, n_inputs) or tuple(network.output_shape) != (None, n_inputs)
        ):
            raise DataError(
                f"The bundle's network expects {network.input_shape[-1]} inputs but its preprocessing "
                f"produces {n_inputs}; the bundle is inconsistent."
            )
        self.model_ = network
        history = fitted.get("history")
        if not isinstance(history, dict):
            raise DataError("The bundle's history must be an object of loss lists.")
        try:
            self.history_ = {key: [float(v) for v in history.get(key, [])] for key in ("loss", "val_loss")}
            # Bundles from before training rounds ran one pass per loss.
            epochs = history.get("epoch") or range(1, len(self.history_["loss"]) + 1)
            self.history_["epoch"] = [int(v) for v in epochs]
        except (TypeError, ValueError, OverflowError):
            raise DataError("The bundle's history must hold numbers.") from None
        self.stopped_by_user_ = bool(fitted.get("stopped_by_user", False))
        self.data_fingerprint_ = str(fitted.get("data_fingerprint", ""))
        self.training_plan_ = self._saved_plan(fitted)
        mean = array(arrays, "code_mean", ndim=1)
        precision = array(arrays, "code_precision", ndim=2)
        if mean.shape != (bottleneck,) or precision.shape != (bottleneck, bottleneck):
            raise DataError(
                f"The bundle's scoring must hold the code mean and precision of a {bottleneck}-wide code."
            )
        self.code_mean_, self.code_precision_ = mean, precision
        self.wording_ = fitted.get("failure_wording", False) is True
        if self.wording_ and not self.preprocessor_.measures_wording:
            raise DataError(
                "The bundle scores failure wording but none of its text columns measures it; it is "
                "inconsistent."
            )
        rule = fitted.get("score_rule", "scaled")
        if rule == "rarity":
            self.score_rule_ = "rarity"
            if network is not None:
                self._isolation_nodes = node_arrays(arrays, "isolation_")
                self._isolation = Forest.compile(self._isolation_nodes, n_inputs)
                samples = number(fitted, "isolation_samples")
                if samples < 1 or samples != int(samples):
                    raise DataError("The bundle's isolation_samples must be a whole number of at least 1.")
                self.isolation_samples_ = int(samples)
            self.tails_ = tuple(TailModel.from_arrays(arrays, f"tail_{name}") for name in self.part_names)
            return
        if rule != "scaled":
            raise DataError(f"The bundle's score rule {rule!r} is not one this version knows.")
        scales = np.asarray(fitted.get("score_scales"), dtype=object)
        if scales.shape != (2,) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) and v > 0
            for v in scales
        ):
            raise DataError("The bundle's scoring must hold two positive score scales.")
        self.score_rule_ = "scaled"
        self.score_scales_ = (float(scales[0]), float(scales[1]))

    def _accept_network(self, network: Any) -> None:
        self._loaded_network = network

    def _saved_plan(self, fitted: dict[str, Any]) -> TrainingPlan:
        """The saved training plan; bundles from before it was saved get it rebuilt from their configs."""
        if "training_plan" in fitted:
            return TrainingPlan.from_dict(fitted["training_plan"])
        try:
            return TrainingPlan.of(self.config, self.config_, self.n_train_rows_)
        except ValueError:
            raise DataError("The bundle's resolved_config must give the batch size.") from None

    @classmethod
    def state_from_format_1(
        cls, spec: dict[str, Any], preprocessing: object, scores: np.ndarray, network: Any,
    ) -> DetectorState:
        """The state of a bundle written by release 0.1 (format 1), which had no ``kind``."""
        scoring = spec.get("scoring")
        if not isinstance(scoring, dict):
            raise DataError("detector.json: scoring must hold the code mean, precision and two score scales.")
        try:
            mean = np.asarray(scoring["code_mean"], dtype=np.float64)
            precision = np.asarray(scoring["code_precision"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            raise DataError("detector.json: scoring must hold the code mean and precision.") from None
        params = {
            "config": spec.get("config"),
            "contamination": spec.get("contamination"),
            "columns": spec.get("columns"),
            "preprocess": spec.get("preprocess"),
        }
        fitted = {
            key: spec[key]
            for key in (
                "resolved_config", "training_plan", "columns", "feature_names_in", "threshold", "history",
                "stopped_by_user", "n_train_rows", "data_fingerprint", "fit_seconds",
            )
            if key in spec
        }
        fitted["preprocessing"] = preprocessing
        fitted["score_scales"] = scoring.get("score_scales")
        return DetectorState(
            kind=cls.kind,
            params=params,
            fitted=fitted,
            arrays={"decision_scores": scores, "code_mean": mean, "code_precision": precision},
            network=network,
        )

    # ----------------------------------------------------------------- internals

    def _clipped(self, matrix: np.ndarray) -> np.ndarray:
        """The network's inputs: ``matrix`` with numeric cells clipped as configured.

        Clipping keeps a few extreme cells from dominating training, but a cell far outside the
        training range must still count as far out when scoring, so errors are measured against
        the unclipped matrix. Without clipping both are one array.
        """
        clip = self.preprocessor_.config.clip
        n_numeric = len(self.preprocessor_.center_)
        if clip is None or n_numeric == 0:
            return matrix
        inputs = matrix.copy()
        np.clip(inputs[:, :n_numeric], -clip, clip, out=inputs[:, :n_numeric])
        return inputs

    def _scoring_model(self) -> Any:
        """The network with a second output, the bottleneck code (built once, shares weights)."""
        model = getattr(self, "_scoring_model_cache", None)
        if model is None or model[0] is not self.model_:
            keras = import_keras()

            net = self.model_
            scorer = keras.Model(net.inputs, [net.outputs[0], net.get_layer("bottleneck").output])
            self._scoring_model_cache = model = (net, scorer)
        return model[1]

    def _errors_and_codes(
        self, matrix: np.ndarray, targets: np.ndarray, *, per_column: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Squared errors per encoded column (rows x encoded columns), and the codes.

        ``per_column=False`` returns each row's total instead (rows,): what a score needs, in a
        fraction of the memory (272 MB less for a million rows of 34 columns).
        """
        errors = np.empty((len(matrix), matrix.shape[1]) if per_column else len(matrix))
        codes = np.empty((len(matrix), self.config_.bottleneck))
        if self.model_ is None:  # no code: every row is rebuilt as the typical row, 0
            squared = np.square(targets, dtype=np.float64)
            return (squared if per_column else squared.sum(axis=1)), codes
        scorer = self._scoring_model()
        for rows in row_batches(len(matrix)):
            rebuilt, code = scorer.predict_on_batch(matrix[rows])
            squared = np.square(np.asarray(rebuilt) - targets[rows], dtype=np.float64)
            errors[rows] = squared if per_column else squared.sum(axis=1)
            codes[rows] = np.asarray(code)
        return errors, codes

    def _code_distance(self, codes: np.ndarray) -> np.ndarray:
        """Each code's squared Mahalanobis distance from the training codes' mean.

        Computed as (c P) . c through BLAS, a batch of rows at a time: a three-operand einsum
        loops in C without BLAS and took 10x longer (40% of scoring a million rows).
        """
        distances = np.empty(len(codes))
        for rows in row_batches(len(codes)):
            centred = codes[rows] - self.code_mean_
            distances[rows] = ((centred @ self.code_precision_) * centred).sum(axis=1)
        return distances

    def _raw_parts(
        self, totals: np.ndarray, codes: np.ndarray, matrix: np.ndarray, wording: np.ndarray | None = None,
    ) -> np.ndarray:
        """Each view's raw score (rows x parts): error per input, code distance, isolation, and
        the text that reads most like a failure."""
        reconstruction = totals / max(matrix.shape[1], 1)
        names = self.part_names
        views = len(names) - (WORDING_PART in names)
        if views == 1:
            raw = reconstruction[:, None]
        elif views == 2:
            raw = np.column_stack([reconstruction, self._code_distance(codes)])
        else:
            isolation = self._isolation.scores(matrix, self.isolation_samples_)
            raw = np.column_stack([reconstruction, self._code_distance(codes), isolation])
        if WORDING_PART in names:
            if wording is None or len(wording) != len(raw):
                raise ValueError("This model scores its texts' failure wording: score a DataFrame.")
            raw = np.column_stack([raw, wording.max(axis=1)])
        return raw

    def _parts(self, raw: np.ndarray) -> np.ndarray:
        """The score parts from the raw views: rarities (nats), or release 0.1's scaled values."""
        if self.score_rule_ == "rarity":
            pairs = zip(self.tails_, raw.T, strict=True)
            return np.column_stack([tail.surprisal(column) for tail, column in pairs])
        return raw / np.asarray(self.score_scales_)

    def _reconstruct_matrix(self, matrix: np.ndarray) -> np.ndarray:
        # predict_on_batch reuses Keras' compiled predict function without the data pipeline and
        # final concatenation of predict (the same numbers, a third less time).
        reconstructed = np.zeros_like(matrix)
        if self.model_ is None:
            return reconstructed
        for rows in row_batches(len(matrix)):
            reconstructed[rows] = np.asarray(self.model_.predict_on_batch(matrix[rows]))
        return reconstructed


def _fingerprint(matrix: np.ndarray) -> str:
    """A short hash of the training matrix, to tell later whether a bundle met the same data."""
    digest = hashlib.sha256()
    digest.update(str(matrix.shape).encode())
    digest.update(np.ascontiguousarray(matrix).tobytes())
    return digest.hexdigest()[:16]


__all__ = ["SCORE_PARTS", "WORDING_PART", "AutoencoderDetector", "size_notes"]
