"""Isolation Forest: rows that random axis-parallel cuts isolate in few steps stand out.

scikit-learn grows the trees; the detector then keeps only their nodes as flat numpy arrays
and walks them itself. Bundles carry no pickle, and the arrays are plain data a bundle can
check before trusting; skops could store the fitted ``IsolationForest`` safely too, but it
would add a dependency and a list of trusted types to maintain with every scikit-learn
release.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from detector.base import ProgressCallback
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig
from detector.tabular import StageReporter, TabularDetector, array, number

_STAGES = ("growing the trees", "scoring the training rows")
# Limits on a forest read from a bundle (untrusted): scikit-learn grows isolation trees at most
# log2(max_samples) deep, so 64 cuts allow any table; walking cost grows with depth x trees.
MAX_TREES = 10_000
MAX_NODES = 20_000_000
MAX_DEPTH = 64
# The arrays a forest is stored as (see _nodes_of).
NODE_ARRAYS = ("tree_offsets", "feature", "threshold", "children_left", "children_right", "n_node_samples")
# Rows x trees walked at once: under a megabyte of node indices, which stays in cache (a
# quarter of the time of 2**18 pairs at a million rows).
_PAIRS_PER_BATCH = 2**16


class IsolationForestDetector(TabularDetector):
    """Isolation Forest on the preprocessed table (Liu, Ting and Zhou, 2008).

    Each tree cuts a subsample of rows at random values of random columns until every row
    stands alone; a row that is cut off after few cuts is unusual. The score is
    ``2 ** (-mean path length / c(max_samples))``, between 0 and 1, equal to scikit-learn's
    ``-IsolationForest.score_samples`` on the same matrix.

    Parameters
    ----------
    contamination
        Share of training rows expected to be anomalies; sets ``threshold_``.
    columns
        Column roles to use; None infers them from the table.
    preprocess
        Scaling, imputation and category settings shared by every family.
    n_estimators
        Number of trees.
    max_samples
        Rows each tree is grown on: ``"auto"`` for ``min(256, n_rows)``, or a count (capped at
        the number of training rows).
    seed
        Seed for the subsamples and the random cuts.

    Attributes
    ----------
    max_samples_ : int
        Rows each tree was grown on.
    n_estimators_ : int
        Number of trees kept.
    """

    kind: ClassVar[str] = "iforest"
    title: ClassVar[str] = "Isolation Forest"
    explains_columns: ClassVar[bool] = False
    explanation_of: ClassVar[str] = "how few random cuts isolate the row"

    def __init__(
        self,
        *,
        contamination: float = 0.05,
        columns: ColumnRoles | None = None,
        preprocess: PreprocessConfig = PreprocessConfig(),  # noqa: B008 (frozen)
        n_estimators: int = 100,
        max_samples: int | Literal["auto"] = "auto",
        seed: int = 0,
    ) -> None:
        self.contamination = contamination
        self.columns = columns
        self.preprocess = preprocess
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.seed = seed

    # ----------------------------------------------------------------- the family's hooks

    def _fit_matrix(self, matrix: np.ndarray, on_progress: ProgressCallback | None) -> np.ndarray:
        self._check_own_params()
        stages = StageReporter(on_progress, _STAGES)
        self._nodes, self.max_samples_ = grow_trees(
            matrix, n_estimators=self.n_estimators, max_samples=self.max_samples, seed=self.seed,
        )
        self._forest = Forest.compile(self._nodes, matrix.shape[1])
        self.n_estimators_ = self._forest.n_trees
        stages.done("growing the trees")
        # Training rows go through the same traversal as any later row.
        scores = self._score_matrix(matrix)
        stages.done("scoring the training rows")
        return scores

    def _check_own_params(self) -> None:
        if not _is_int(self.n_estimators) or self.n_estimators < 1:
            raise ValueError(f"n_estimators={self.n_estimators!r} must be a whole number of at least 1.")
        if self.max_samples != "auto" and (not _is_int(self.max_samples) or self.max_samples < 1):
            raise ValueError(
                f"max_samples={self.max_samples!r} must be 'auto' or a whole number of at least 1."
            )
        if not _is_int(self.seed):
            raise ValueError(f"seed={self.seed!r} must be a whole number.")

    def _score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        return self._forest.scores(matrix, self.max_samples_)

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"max_samples": self.max_samples_}, dict(self._nodes)

    def _restore_fitted(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        max_samples = number(fitted, "max_samples")
        if max_samples < 1 or max_samples != int(max_samples):
            raise DataError(f"The bundle's max_samples must be a whole number >= 1, found {max_samples}.")
        nodes = node_arrays(arrays)
        self._forest = Forest.compile(nodes, len(self.preprocessor_.feature_names_out_))
        self._nodes = nodes
        self.max_samples_ = int(max_samples)
        self.n_estimators_ = self._forest.n_trees


# ------------------------------------------------------------------------ the trees as arrays


@dataclass(frozen=True)
class Forest:
    """Every tree's nodes in one set of arrays, laid out for walking many rows at once.

    Node ``i`` of the forest goes to ``children[2 * i]`` when the row's value of
    ``feature[i]`` is at most ``threshold[i]`` and to ``children[2 * i + 1]`` otherwise. A leaf
    points at itself both ways, so after ``depth`` steps every row sits in its leaf and no
    step needs to ask whether it has arrived. ``leaf_length`` is the leaf's depth plus the
    average path length of the training rows that ended there (``c(n)``).
    """

    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    children: np.ndarray
    leaf_length: np.ndarray
    depth: int

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    @classmethod
    def compile(cls, nodes: dict[str, np.ndarray], n_columns: int) -> Forest:
        """Check the flat node arrays form proper trees over ``n_columns`` columns; lay them out.

        Raises :class:`DataError` for anything a bundle could get wrong: lengths, offsets,
        children that point outside their tree or back up it, nodes with two parents, columns
        the table does not have.
        """
        offsets = nodes["tree_offsets"].astype(np.intp)
        feature = nodes["feature"].astype(np.intp)
        threshold = nodes["threshold"].astype(np.float64)
        left = nodes["children_left"].astype(np.intp)
        right = nodes["children_right"].astype(np.intp)
        samples = nodes["n_node_samples"].astype(np.float64)
        n_nodes = len(feature)
        if len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != n_nodes or (np.diff(offsets) < 1).any():
            raise DataError("The bundle's tree_offsets do not split the nodes into non-empty trees.")
        if len(offsets) - 1 > MAX_TREES or n_nodes > MAX_NODES:
            raise DataError(f"The bundle's forest is larger than this tool grows ({MAX_TREES:,} trees).")
        if not len(threshold) == len(left) == len(right) == len(samples) == n_nodes:
            raise DataError("The bundle's tree node arrays have different lengths.")
        tree_of = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
        local = np.arange(n_nodes) - offsets[tree_of]
        size = offsets[tree_of + 1] - offsets[tree_of]
        leaf = left == -1
        split = ~leaf
        if (right[leaf] != -1).any() or (samples < 1).any():
            raise DataError("The bundle's trees have malformed leaves.")
        # Children come after their parent within the same tree: no walk can loop.
        for child in (left[split], right[split]):
            if ((child <= local[split]) | (child >= size[split])).any():
                raise DataError("The bundle's trees have children outside their tree.")
        if ((feature[split] < 0) | (feature[split] >= n_columns)).any():
            raise DataError(f"The bundle's trees cut on columns the model does not have ({n_columns}).")
        starts = offsets[tree_of[split]]
        child_of_split = np.concatenate([left[split] + starts, right[split] + starts])
        parents = np.bincount(child_of_split, minlength=n_nodes)
        expected = np.ones(n_nodes, dtype=np.intp)
        expected[offsets[:-1]] = 0
        if not np.array_equal(parents, expected):
            raise DataError("The bundle's trees have nodes with no parent or with two.")

        own = np.arange(n_nodes)
        children = np.empty(2 * n_nodes, dtype=np.intp)
        children[0::2] = np.where(leaf, own, left + offsets[tree_of])
        children[1::2] = np.where(leaf, own, right + offsets[tree_of])
        node_depth = _node_depths(children, offsets[:-1])
        leaf_length = np.where(leaf, node_depth + _average_path_length(samples), 0.0)
        return cls(
            roots=offsets[:-1].copy(),
            feature=np.where(leaf, 0, feature),
            threshold=np.where(leaf, 0.0, threshold),
            children=children,
            leaf_length=leaf_length,
            depth=int(node_depth.max()),
        )

    def scores(self, matrix: np.ndarray, max_samples: int) -> np.ndarray:
        """Each row's isolation score, ``2 ** (-mean path length / c(max_samples))``, in (0, 1]."""
        # Trees are grown on float32 values and compare them with float64 thresholds, as
        # scikit-learn does: the same cast keeps every row on the same side of every cut.
        values = np.ascontiguousarray(matrix, dtype=np.float32)
        total = np.empty(len(values))
        batch = max(1, _PAIRS_PER_BATCH // self.n_trees)
        for start in range(0, len(values), batch):
            total[start : start + batch] = self.path_lengths(values[start : start + batch])
        denominator = self.n_trees * _average_path_length(np.array([max_samples]))[0]
        if denominator == 0:  # a forest grown on one row: nothing is ever cut
            return np.ones(len(values))
        return 2.0 ** (-total / denominator)

    def path_lengths(self, values: np.ndarray) -> np.ndarray:
        """Each row's path length summed over the trees (rows of float32 ``values``)."""
        n_rows, n_columns = values.shape
        flat = values.ravel()
        node = np.broadcast_to(self.roots, (n_rows, self.n_trees)).copy()
        row_start = (np.arange(n_rows) * n_columns)[:, None]
        # One step per level of the deepest tree, for all rows and trees at once: a handful
        # of numpy gathers per level instead of a Python loop over rows.
        for _ in range(self.depth):
            right = flat[row_start + self.feature[node]] > self.threshold[node]
            node = self.children[2 * node + right]
        return self.leaf_length[node].sum(axis=1)


def grow_trees(
    matrix: np.ndarray, *, n_estimators: int = 100, max_samples: int | str = "auto", seed: int = 0,
) -> tuple[dict[str, np.ndarray], int]:
    """Grow scikit-learn's isolation trees on ``matrix``; return their nodes as arrays and the
    rows each tree was grown on (the estimator itself is not kept)."""
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(
        n_estimators=n_estimators,
        max_samples="auto" if max_samples == "auto" else min(int(max_samples), len(matrix)),
        random_state=seed,
    ).fit(matrix.astype(np.float32, copy=False))
    return _nodes_of(forest), int(forest.max_samples_)


def node_arrays(arrays: dict[str, np.ndarray], prefix: str = "") -> dict[str, np.ndarray]:
    """The tree node arrays named ``prefix + name`` in ``arrays``, checked for dimension and type."""
    return {
        name: array(arrays, prefix + name, ndim=1, kind="f" if name == "threshold" else "iu")
        for name in NODE_ARRAYS
    }


def _node_depths(children: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Each node's number of cuts from its root, level by level (``children`` as in :class:`Forest`)."""
    depth = np.zeros(len(children) // 2, dtype=np.float64)
    level = roots
    steps = 0
    while level.size:
        if steps > MAX_DEPTH:  # checked while walking: a chain of millions would take minutes
            raise DataError(f"The bundle's trees are deeper than isolation trees grow ({MAX_DEPTH} cuts).")
        depth[level] = steps
        below = children[np.concatenate([2 * level, 2 * level + 1])]
        level = below[below != np.concatenate([level, level])]  # leaves point at themselves
        steps += 1
    return depth


def _nodes_of(forest: Any) -> dict[str, np.ndarray]:
    """The fitted ``IsolationForest``'s trees as flat arrays (each tree's node ids start at 0).

    With ``max_features=1.0`` scikit-learn grows every tree on all columns in their own
    order, so a node's ``feature`` is a column of the matrix as it is.
    """
    trees = [estimator.tree_ for estimator in forest.estimators_]
    sizes = [tree.node_count for tree in trees]
    return {
        "tree_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "feature": np.concatenate([tree.feature for tree in trees]).astype(np.int64),
        "threshold": np.concatenate([tree.threshold for tree in trees]).astype(np.float64),
        "children_left": np.concatenate([tree.children_left for tree in trees]).astype(np.int64),
        "children_right": np.concatenate([tree.children_right for tree in trees]).astype(np.int64),
        "n_node_samples": np.concatenate([tree.n_node_samples for tree in trees]).astype(np.int64),
    }


def _average_path_length(n_samples: np.ndarray) -> np.ndarray:
    """``c(n)``: the average path length of an unsuccessful search in a binary tree of ``n`` rows."""
    n = np.asarray(n_samples, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    many = n > 2
    out[many] = 2.0 * (np.log(n[many] - 1.0) + np.euler_gamma) - 2.0 * (n[many] - 1.0) / n[many]
    return out


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


__all__ = ["NODE_ARRAYS", "Forest", "IsolationForestDetector", "grow_trees", "node_arrays"]
