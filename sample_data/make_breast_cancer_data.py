"""Write the Breast Cancer Wisconsin (Diagnostic) data as an anomaly-detection table.

Follows the usual ODDS/ADBench recipe: every benign row plus a small seeded
random subset of malignant rows, so that "malignant" plays the rare anomaly.
Run ``python sample_data/make_breast_cancer_data.py`` to regenerate
``sample_data/breast_cancer.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

DEFAULT_PATH = Path(__file__).parent / "breast_cancer.csv"
SEED = 42
# 25 of 212 malignant next to 357 benign gives 6.5 % anomalies, inside the
# 5-8 % band that anomaly-detection benchmarks use for this data set.
N_MALIGNANT = 25
LABEL_COLUMN = "diagnosis"


def make_breast_cancer_frame(seed: int = SEED, n_malignant: int = N_MALIGNANT) -> pd.DataFrame:
    """Return all benign rows and ``n_malignant`` seeded malignant rows, in original order."""
    bunch = load_breast_cancer()
    # sklearn codes 0 = malignant, 1 = benign; map by name so the order cannot trip us.
    diagnosis = np.asarray(bunch.target_names)[bunch.target]
    malignant_rows = np.flatnonzero(diagnosis == "malignant")
    rng = np.random.default_rng(seed)
    kept_malignant = rng.choice(malignant_rows, size=n_malignant, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(diagnosis == "benign"), kept_malignant]))

    feature_names = [str(name).replace(" ", "_") for name in bunch.feature_names]
    features = pd.DataFrame(bunch.data[keep], columns=feature_names)
    features.insert(0, "id", np.arange(1, len(keep) + 1))
    features[LABEL_COLUMN] = diagnosis[keep]
    return features


def main(out_path: Path = DEFAULT_PATH) -> Path:
    """Write the table to ``out_path`` with floats at full (repr) precision."""
    make_breast_cancer_frame().to_csv(out_path, index=False, lineterminator="\n")
    return out_path


if __name__ == "__main__":
    print(f"wrote {main()}")
