"""The detector families by name: what bundles, the CLI and the Train page choose from.

Classes are named by module and attribute and imported only when asked for, so that reading
the list (the CLI's ``--help``, a bundle's ``kind``) imports no family, and this module
imports none: a bundle picks its class here without knowing any of them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from detector.errors import DataError

if TYPE_CHECKING:
    from detector.base import BaseDetector


@dataclass(frozen=True)
class Family:
    """One detector family: its bundle ``kind``, its name for people, and where its class lives."""

    kind: str
    title: str
    module: str
    attribute: str
    #: One line for menus: what the method looks for.
    summary: str
    #: Fitted beside the autoencoder to answer "is the autoencoder worth it?".
    baseline: bool = True
    #: Offered as a choice (Train page, --detector); False for a family chosen another way
    #: (the windowed autoencoder: ``train --window``), whose bundles still load.
    listed: bool = True


FAMILIES: dict[str, Family] = {
    family.kind: family
    for family in (
        Family(
            "autoencoder", "Autoencoder", "detector.autoencoder", "AutoencoderDetector",
            "a neural network that compresses and rebuilds rows; rows it rebuilds badly stand out",
            baseline=False,
        ),
        Family(
            "iforest", "Isolation Forest", "detector.iforest", "IsolationForestDetector",
            "random trees that cut the data at random; rows cut off in few steps stand out",
        ),
        Family(
            "pca", "PCA reconstruction", "detector.pca", "PCADetector",
            "a linear projection onto the main directions of variation; rows far from it stand out",
        ),
        Family(
            "ecod", "ECOD", "detector.ecod", "ECODDetector",
            "each column's empirical distribution; rows with values in the far tails stand out",
        ),
        Family(
            "windowed_autoencoder", "Windowed autoencoder", "detector.windowed",
            "WindowedAutoencoderDetector",
            "the autoencoder on windows of consecutive rows; stretches that break the pattern stand out",
            baseline=False, listed=False,
        ),
    )
}

DEFAULT_KIND = "autoencoder"


def detector_class(kind: str) -> type[BaseDetector]:
    """The detector class of ``kind``; ``DataError`` for a kind this version does not know."""
    family = FAMILIES.get(kind)
    if family is None:
        raise DataError(
            f"Unknown detector kind {kind!r}; this version knows {', '.join(FAMILIES)}. "
            "Was the bundle written by a newer version?"
        )
    return getattr(importlib.import_module(family.module), family.attribute)


def baseline_kinds() -> tuple[str, ...]:
    """The families fitted beside the autoencoder for the comparison, in menu order."""
    return tuple(kind for kind, family in FAMILIES.items() if family.baseline and family.listed)


def listed_kinds() -> tuple[str, ...]:
    """The families offered as a choice, in menu order."""
    return tuple(kind for kind, family in FAMILIES.items() if family.listed)


__all__ = ["DEFAULT_KIND", "FAMILIES", "Family", "baseline_kinds", "detector_class", "listed_kinds"]
