"""The one exception family for anything wrong with the user's data."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class DataError(ValueError):
    """Something is wrong with the user's data, file or model bundle.

    The message is written for a person: what is wrong, where (row, column,
    file member), and what they can do about it. The UI and CLI show it as is.
    """


class NotFittedError(_SklearnNotFittedError):
    """A detector or preprocessor was used before ``fit`` (scikit-learn's exception, so its tools see it)."""
