"""scikit-learn's estimator contract, run on the detector (with the checks it cannot meet by design)."""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig

pytestmark = pytest.mark.slow

# A two-epoch network: the contract is about behaviour, not about detection quality.
_QUICK = AutoencoderConfig(hidden_layers=(4,), bottleneck=2, epochs=2, patience=1, batch_size=16)

EXPECTED_FAILURES = {
    "check_estimators_nan_inf": "missing values are imputed by design (users' tables have gaps)",
    "check_parameters_default_constructible": (
        "config/preprocess defaults are frozen dataclasses, immutable like tuples"
    ),
    "check_dtype_object": "text in a plain array is refused with our own message; text goes in DataFrames",
    "check_n_features_in_after_fitting": (
        "the column-count error is worded for people, not in scikit-learn's exact phrasing"
    ),
}


@parametrize_with_checks(
    [AutoencoderDetector(config=_QUICK)],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_scikit_learn_contract(estimator, check):
    check(estimator)
