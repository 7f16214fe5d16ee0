"""Free-text columns as features: a pretrained word-embedding model, reduced by PCA.

A text column (a log line's message, a ticket's description, a transaction's memo) becomes a
few numbers per row: the mean of its words' pretrained embeddings (WordLlama's ``l2_supercat``
token embeddings, 256 dimensions), projected onto the :data:`COMPONENTS` directions along which
the training rows' texts vary most. The model ships inside the ``wordllama`` package (16 MB of
weights and the tokenizer), so nothing is ever downloaded: install the ``text`` extra
(``pip install ".[text]"``). Without it, text columns are left out, and the Data page and the
CLI say so.

Before embedding, each run of digits is replaced by ``0`` (a log line's counters, addresses and times are
not its meaning, and each distinct number would otherwise be a new token pattern), and a text is
cut to :data:`MAX_CHARACTERS` characters. Missing and empty texts encode as the training mean:
they add nothing to a row's error.

Rarity is not all a text says. :meth:`TextFeatures.wording` measures how much each text reads
like a failure: the cosine similarity of its embedding to that of :data:`FAILURE_WORDS`, the
words common logging levels use for failure. The autoencoder adds how rare that similarity is
among the training rows as a part of the score (``AutoencoderConfig(failure_wording=True)``),
so a line that says "error" counts even when it repeats (see ``benchmarks/README.md``).

The weights' licence: the ``wordllama`` code is MIT; its token embeddings were distilled from
Llama 2's and fall under the Llama 2 Community License. Both are named in every bundle that
uses them (:func:`model_identity`).
"""

from __future__ import annotations

import collections
import hashlib
import importlib.metadata
import importlib.util
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from detector.errors import DataError, are, counted

__all__ = [
    "COMPONENTS",
    "ENCODED_WIDTH",
    "FAILURE_WORDS",
    "INSTALL_HINT",
    "MAX_CHARACTERS",
    "TextFeatures",
    "available",
    "column_notes",
    "embed_texts",
    "model_identity",
    "text_values",
]

#: PCA components kept per text column: enough to tell a log's message templates apart, few
#: enough that one text column does not outweigh a table's other features (a number column is
#: one encoded column, a text column this many). Chosen on the shared BGL log sample, the one
#: text benchmark here (benchmarks/README.md lists the alternatives measured).
COMPONENTS = 8
#: Encoded columns per text column: the components, and the distance from their span ("novelty").
ENCODED_WIDTH = COMPONENTS + 1
#: What a text is compared with for the "failure wording" part of a score: the words for failure
#: in common logging levels (syslog's "critical" and "error", log4j's "fatal" and "error") and in
#: failure reports ("failure", "exception"). Fixed, never fitted to a data set.
FAILURE_WORDS = "error fatal critical failure exception"
#: A text is cut to this many characters before embedding (and a note says how many were).
MAX_CHARACTERS = 2000
#: Distinct training texts kept (most frequent first) to show as a flagged text's nearest
#: neighbours, and stored in the bundle.
EXAMPLES = 500
#: An example text is stored cut to this many characters.
EXAMPLE_CHARACTERS = 300
#: Texts embedded per batch: the tokenizer pads a batch to its longest text.
BATCH = 512
#: Embeddings of whole columns kept in memory (per column's content), at most this many bytes.
CACHE_BYTES = 512 * 2**20

MODEL_NAME = "wordllama l2_supercat"
MODEL_DIMENSIONS = 256
MODEL_LICENCE = (
    "wordllama code: MIT License. Its token embeddings are distilled from Llama 2's and are "
    "subject to the Llama 2 Community License (https://ai.meta.com/llama/license/)."
)
INSTALL_COMMAND = 'pip install ".[text]"'
INSTALL_HINT = (
    f"Text columns need the text extra: {INSTALL_COMMAND} (or pip install wordllama), then restart."
)

_WEIGHTS = "weights/l2_supercat_256.safetensors"
_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_DIGITS = re.compile(r"\d+")
_LOCK = threading.Lock()
_MODEL: dict[str, Any] = {}


def _package_root() -> Path | None:
    spec = importlib.util.find_spec("wordllama")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def available() -> bool:
    """Whether the text model is installed (the ``wordllama`` package with its bundled weights)."""
    try:
        root = _package_root()
    except (ImportError, ValueError):
        return False
    return root is not None and (root / _WEIGHTS).is_file() and (root / _TOKENIZER).is_file()


def _load() -> dict[str, Any]:
    """The embedding matrix, tokenizer and identity, loaded once per process from the package files.

    Reads the files directly (``WordLlama.load`` would look for its tokenizer in a folder the
    package does not ship, then try to download it).
    """
    with _LOCK:
        if _MODEL:
            return _MODEL
        if not available():
            raise DataError(f"The text model is not installed. {INSTALL_HINT}")
        from safetensors import safe_open
        from tokenizers import Tokenizer

        root = _package_root()
        assert root is not None
        weights = root / _WEIGHTS
        tokenizer = Tokenizer.from_file(str(root / _TOKENIZER))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        with safe_open(str(weights), framework="np") as handle:
            matrix = np.ascontiguousarray(handle.get_tensor("embedding.weight"), dtype=np.float32)
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        _MODEL.update(
            matrix=matrix,
            tokenizer=tokenizer,
            identity={
                "name": MODEL_NAME,
                "package": "wordllama",
                "version": importlib.metadata.version("wordllama"),
                "dimensions": int(matrix.shape[1]),
                "licence": MODEL_LICENCE,
                "weights_sha256": digest,
            },
        )
        return _MODEL


def model_identity() -> dict[str, Any]:
    """The installed text model: name, package version, dimensions, licence and weights' SHA-256."""
    return dict(_load()["identity"])


def text_values(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A column's cells as prepared texts (object array) and a bool per row: missing or blank.

    Numbers and other values are spelled as text; missing and blank cells become ``""``.
    """
    present = series.notna().to_numpy()
    texts = np.full(len(series), "", dtype=object)
    if present.any():
        values = series[present] if not present.all() else series
        texts[present] = values.astype(str).to_numpy(dtype=object)
    blank = np.array([not text.strip() for text in texts], dtype=bool) if len(texts) else np.zeros(0, bool)
    return texts, blank


#: Control characters other than tab and newlines, and the replacement character a broken
#: encoding leaves: a text with several of them is binary junk rather than words.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
#: A text at least this share of whose letters are outside the Latin script.
_NON_LATIN = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f]")


def column_notes(series: pd.Series, name: str) -> list[str]:
    """Plain-words notes on a text column before it is encoded: blanks, cut texts, junk, scripts.

    Cheap (no embedding): string lengths and character counts over the column.
    """
    texts, blank = text_values(series)
    n = len(texts)
    if n == 0:
        return []
    notes = []
    n_blank = int(blank.sum())
    if n_blank == n:
        return [f"Text column {name!r} has no text: every value is missing or blank."]
    if n_blank:
        share = n_blank / n
        tail = (
            ": most rows get no help from it, so consider leaving it out." if share >= 0.5
            else "; they count as the training texts' centre (no error from this column)."
        )
        notes.append(f"Text column {name!r}: {n_blank:,} of {n:,} values are missing or blank{tail}")
    present = pd.Series(texts[~blank], dtype=object)
    lengths = present.str.len()
    long = int((lengths > MAX_CHARACTERS).sum())
    if long:
        notes.append(
            f"Text column {name!r}: {counted(long, 'text')} {are(long)} longer than "
            f"{MAX_CHARACTERS:,} characters "
            f"(the longest has {int(lengths.max()):,}); the model reads the first {MAX_CHARACTERS:,}."
        )
    junk = int((present.str.count(_JUNK.pattern) >= 3).sum())
    if junk:
        notes.append(
            f"Text column {name!r}: {counted(junk, 'value')} {'holds' if junk == 1 else 'hold'} control "
            "characters or broken encoding "
            "(binary data?); they are read as they are and will likely score as unusual."
        )
    letters = present.str.count(r"[^\W\d_]").clip(lower=1)
    foreign = int((present.str.count(_NON_LATIN.pattern) / letters >= 0.5).sum())
    if foreign:
        notes.append(
            f"Text column {name!r}: {counted(foreign, 'text')} {are(foreign)} mostly in a non-Latin "
            "script. The text model "
            "learned mostly from English, so it tells such texts apart less finely."
        )
    return notes


def _prepare(text: str) -> str:
    text = text[:MAX_CHARACTERS]
    if not text.isascii():  # lone surrogates (from broken files) cannot reach the tokenizer
        text = text.encode("utf-8", "replace").decode("utf-8")
    return _DIGITS.sub("0", text)


class _EmbeddingCache:
    """Embeddings of whole columns, keyed by the columns' content, least recently used dropped first."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: collections.OrderedDict[bytes, np.ndarray] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: bytes, value: np.ndarray) -> None:
        if value.nbytes > self._limit:
            return
        with self._lock:
            self._items[key] = value
            while sum(v.nbytes for v in self._items.values()) > self._limit:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _EmbeddingCache(CACHE_BYTES)


def _content_key(texts: np.ndarray) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00\x01")
    return digest.digest()


def embed_texts(texts: np.ndarray | list[str]) -> np.ndarray:
    """Mean word embedding of each text, float32 (n, 256); blank texts give zeros.

    Each distinct text is embedded once; a column seen before (same content) comes from a
    cache. Each run of digits is read as ``0`` and texts are cut to :data:`MAX_CHARACTERS` characters.
    """
    texts = np.asarray(texts, dtype=object)
    key = _content_key(texts)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    model = _load()
    matrix: np.ndarray = model["matrix"]
    tokenizer = model["tokenizer"]
    prepared = [_prepare(text) for text in texts]
    codes, uniques = pd.factorize(pd.Series(prepared, dtype=object), use_na_sentinel=False)
    distinct = np.zeros((len(uniques), matrix.shape[1]), dtype=np.float32)
    vocabulary = matrix.shape[0]
    for start in range(0, len(uniques), BATCH):
        batch = [str(text) for text in uniques[start : start + BATCH]]
        encoded = tokenizer.encode_batch(batch, add_special_tokens=False)
        for offset, item in enumerate(encoded):
            ids = np.asarray(item.ids, dtype=np.int64)
            ids = ids[(ids >= 0) & (ids < vocabulary)]
            if ids.size and batch[offset].strip():
                distinct[start + offset] = matrix[ids].mean(axis=0)
    out = distinct[codes]
    out.flags.writeable = False
    _CACHE.put(key, out)
    return out


@dataclass
class TextFeatures:
    """One text column's learned encoding: the training texts' mean embedding and main directions.

    ``components`` (k x 256) are PCA directions of the training rows' embeddings; the training
    rows' positions along each are then scaled like a number column (``center``, ``scale``: the
    preprocessing's scaling, robust by default). ``examples`` are the training texts' most
    frequent forms (digits aside), one original text each, with ``example_counts`` (how many of
    the ``n_texts`` non-blank training texts have that form), for nearest-neighbour explanations.
    """

    name: str
    mean: np.ndarray
    components: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    examples: list[str]
    example_counts: list[int]
    n_texts: int
    model: dict[str, Any]
    blank_share: float = 0.0
    #: The largest distance of a training text from the components' span (the novelty number
    #: before scaling): a new text beyond it is farther from the training texts than any of them.
    novelty_max: float = 0.0
    #: The words :meth:`wording` compares texts with ("" in bundles from before it existed).
    wording_prompt: str = ""

    @property
    def width(self) -> int:
        """Encoded columns: one per component, and the distance from the training texts' span."""
        return int(self.components.shape[0]) + 1

    @property
    def output_names(self) -> list[str]:
        components = [f"{self.name}~text{i + 1}" for i in range(self.components.shape[0])]
        return [*components, f"{self.name}~novelty"]

    @classmethod
    def fit(
        cls, series: pd.Series, name: str, scaling: Callable[[np.ndarray, str], tuple[float, float]]
    ) -> TextFeatures:
        """Learn the encoding of column ``name`` from its training rows.

        ``scaling(values, name)`` returns the (centre, scale) of one component's training values,
        the way the preprocessing scales number columns.
        """
        texts, blank = text_values(series)
        if blank.all():
            raise DataError(
                f"Text column {name!r} has no text in the {len(series):,} training rows (every value "
                "is missing or blank). Leave it out of the features."
            )
        embedded = embed_texts(texts)
        observed = embedded[~blank].astype(np.float64)
        mean = observed.mean(axis=0)
        centred = observed - mean
        # The covariance's eigenvectors: a 256 x 256 problem whatever the number of rows.
        covariance = centred.T @ centred / max(len(centred) - 1, 1)
        values, vectors = np.linalg.eigh(covariance)
        order = np.argsort(values)[::-1][:COMPONENTS]
        components = vectors[:, order].T
        # A sign convention so that the same data always gives the same components.
        signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
        components *= np.where(signs == 0, 1.0, signs)[:, None]
        # Directions the training texts do not vary along (fewer distinct texts than components)
        # hold rounding noise only: they encode as 0, so the width stays COMPONENTS.
        components[values[order] <= 1e-6 * max(values.max(), 1e-30)] = 0.0
        projected = _positions(centred, components)
        statistics = [scaling(projected[:, j], f"{name}~text{j + 1}") for j in range(projected.shape[1])]
        center = np.array([c for c, _ in statistics], dtype=np.float64)
        scale = np.array([s if s > 1e-12 else 1.0 for _, s in statistics], dtype=np.float64)
        present = pd.Series(texts[~blank], dtype=object)
        forms = present.map(_prepare)
        counts = forms.value_counts(sort=True).head(EXAMPLES)
        first = pd.Series(present.to_numpy(), index=forms.to_numpy()).groupby(level=0).first()
        examples = [str(first[form])[:EXAMPLE_CHARACTERS] for form in counts.index]
        return cls(
            name=name,
            mean=mean,
            components=components,
            center=center,
            scale=scale,
            examples=examples,
            example_counts=[int(c) for c in counts.to_numpy()],
            n_texts=len(present),
            model=model_identity(),
            blank_share=float(blank.mean()),
            novelty_max=float(projected[:, -1].max()),
            wording_prompt=FAILURE_WORDS,
        )

    def transform(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """The encoded values (rows x width, float64) and a bool per row: missing or blank text."""
        texts, blank = text_values(series)
        return self._encode(self._embed(texts)), blank

    def novelty(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Each text's distance from the components' span (NaN for blank texts), and the texts."""
        texts, blank = text_values(series)
        distance = _positions(self._embed(texts) - self.mean, self.components)[:, -1]
        distance[blank] = np.nan
        return distance, texts

    def wording(self, series: pd.Series) -> np.ndarray:
        """How much each text reads like a failure: the cosine similarity (-1 to 1) of its mean
        word embedding to that of :attr:`wording_prompt`; -1 for blank texts (they say nothing).

        Raises ValueError for features without a prompt (bundles from before it existed).
        """
        if not self.wording_prompt:
            raise ValueError(f"Text column {self.name!r} was encoded without failure wording.")
        texts, blank = text_values(series)
        embedded = self._embed(texts)
        prompt = self._embed(np.asarray([self.wording_prompt], dtype=object))[0]
        similarity = _cosine(embedded, prompt)
        similarity[blank | ~embedded.any(axis=1)] = -1.0
        return similarity

    def _encode(self, embedded: np.ndarray) -> np.ndarray:
        encoded = (_positions(embedded - self.mean, self.components) - self.center) / self.scale
        encoded[~embedded.any(axis=1)] = 0.0  # the training texts' centre: a blank text adds no error
        return encoded

    def _embed(self, texts: np.ndarray) -> np.ndarray:
        if _load()["identity"]["weights_sha256"] != self.model.get("weights_sha256"):
            raise DataError(
                f"Text column {self.name!r} was encoded with other weights ({self.model.get('name')} "
                f"{self.model.get('version')}) than the installed ones ({MODEL_NAME} "
                f"{model_identity()['version']}); install the version the model was trained with."
            )
        return embed_texts(texts).astype(np.float64)

    def times_seen(self, text: str) -> int:
        """How many training texts have the form of ``text`` (digits aside); 0 if none, or too rare
        to be among the kept examples."""
        form = _prepare(str(text))
        return sum(
            count for example, count in zip(self.examples, self.example_counts, strict=True)
            if _prepare(example) == form
        )

    def nearest_examples(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` training texts most similar to ``text`` but not of its form (cosine similarity
        of mean word embeddings, 1 = same words), most similar first."""
        if not self.examples or not str(text).strip():
            return []
        form = _prepare(str(text))
        others = [example for example in self.examples if _prepare(example) != form]
        if not others:
            return []
        examples = self._embed(np.asarray(others, dtype=object))
        query = self._embed(np.asarray([str(text)], dtype=object))[0]
        similarity = _cosine(examples, query)
        order = np.argsort(-similarity, kind="stable")[:k]
        return [(others[i], float(similarity[i])) for i in order]

    def closest_example(self, encoded: np.ndarray) -> np.ndarray:
        """For encoded rows (n x width), the example text whose encoding is nearest to each."""
        if not self.examples:
            return np.full(len(encoded), "", dtype=object)
        examples = self._embed(np.asarray(self.examples, dtype=object))
        points = self._encode(examples)
        distances = ((encoded[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        return np.asarray(self.examples, dtype=object)[distances.argmin(axis=1)]

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mean": [float(v) for v in self.mean],
            "components": [[float(v) for v in row] for row in self.components],
            "center": [float(v) for v in self.center],
            "scale": [float(v) for v in self.scale],
            "examples": list(self.examples),
            "example_counts": list(self.example_counts),
            "n_texts": int(self.n_texts),
            "model": dict(self.model),
            "blank_share": float(self.blank_share),
            "novelty_max": float(self.novelty_max),
            **({"wording_prompt": self.wording_prompt} if self.wording_prompt else {}),
        }

    @classmethod
    def from_dict(cls, data: Any, fail: Any) -> TextFeatures:
        """Rebuild from :meth:`to_dict` output; ``fail(problem)`` raises for malformed input."""
        if not isinstance(data, dict):
            fail("a text entry must be a mapping")
        expected = {
            "name", "mean", "components", "center", "scale", "examples", "example_counts", "n_texts",
            "model", "blank_share", "novelty_max",
        }
        if set(data) - {"wording_prompt"} != expected:
            fail(f"a text entry must have exactly the entries {sorted(expected)} (and wording_prompt)")
        name = data["name"]
        if not isinstance(name, str):
            fail("a text column's name must be a string")
        mean = _floats(data["mean"], (MODEL_DIMENSIONS,), fail, "mean")
        components = _floats(data["components"], (None, MODEL_DIMENSIONS), fail, "components")
        if not 1 <= len(components) <= COMPONENTS * 8:
            fail("a text column's components must be between 1 and 64 rows")
        center = _floats(data["center"], (len(components) + 1,), fail, "center")
        scale = _floats(data["scale"], (len(components) + 1,), fail, "scale")
        if (scale <= 0).any():
            fail("a text column's scale must be positive")
        examples = data["examples"]
        if (
            not isinstance(examples, list)
            or len(examples) > EXAMPLES
            or not all(isinstance(e, str) and len(e) <= EXAMPLE_CHARACTERS for e in examples)
        ):
            fail(f"a text column's examples must be at most {EXAMPLES} short strings")
        model = data["model"]
        if not isinstance(model, dict) or not isinstance(model.get("weights_sha256"), str):
            fail("a text column must name the model it was encoded with")
        counts, n_texts = data["example_counts"], data["n_texts"]
        if not _whole(n_texts) or not (
            isinstance(counts, list) and len(counts) == len(examples)
            and all(_whole(c) and 0 < c <= n_texts for c in counts)
        ):
            fail("a text column's example_counts must be one count per example, at most n_texts")
        blank_share, novelty_max = data["blank_share"], data["novelty_max"]
        if not isinstance(blank_share, int | float) or not 0 <= blank_share <= 1:
            fail("a text column's blank_share must be a share")
        if not isinstance(novelty_max, int | float) or not 0 <= novelty_max < float("inf"):
            fail("a text column's novelty_max must be a non-negative number")
        prompt = data.get("wording_prompt", "")
        if not isinstance(prompt, str) or len(prompt) > EXAMPLE_CHARACTERS:
            fail("a text column's wording_prompt must be a short string")
        return cls(
            name, mean, components, center, scale, list(examples), list(counts), n_texts, dict(model),
            float(blank_share), float(novelty_max), prompt,
        )


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positions(centred: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Each centred embedding's position along the components, then its distance from their span.

    The distance is what the components leave out: large for a text unlike every training text,
    which could otherwise land near the centre of the few directions kept.
    """
    along = centred @ components.T
    rest = centred - along @ components
    return np.column_stack([along, np.sqrt(np.einsum("ij,ij->i", rest, rest))])


def _floats(value: Any, shape: tuple[int | None, ...], fail: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"a text column's {what} must hold numbers")
    if array.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(array.shape, shape, strict=True)
    ):
        fail(f"a text column's {what} has the wrong shape")
    if not np.isfinite(array).all():
        fail(f"a text column's {what} must be finite")
    return array


def _cosine(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(query)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, rows @ query / np.where(norms > 0, norms, 1), 0.0)

