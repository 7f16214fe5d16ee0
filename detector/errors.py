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


#: A message quotes at most this many characters of a cell.
QUOTE_CHARS = 80


def quote_cell(value: object) -> str:
    """``repr`` of a cell for a message, cut to 80 characters with its full length said after.

    A note must not carry a 2 MB cell into the page or the terminal.
    """
    text = value if isinstance(value, str) else str(value)
    if len(text) <= QUOTE_CHARS:
        return repr(value) if isinstance(value, str) else repr(text)
    return f"{text[:QUOTE_CHARS]!r}... ({len(text):,} characters)"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and its noun in the right number, for messages: "1 row", "3 rows", "1,200 rows"."""
    return f"{n:,} {singular if n == 1 else plural or singular + 's'}"


def are(n: int) -> str:
    """The verb after ``counted(n, ...)``: "is" for one, "are" for any other number."""
    return "is" if n == 1 else "are"
