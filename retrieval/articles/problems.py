"""What can be wrong with an article file, as a kind the front ends put in their own words.

    raise ArticleFormatError(origin, Reason(ArticleProblem.BAD_YAML, "bad YAML front matter: ...", line=3))
    reason = failures[0][1]                      # a str, in English, for logs and the CLI
    problem_of(reason)                           # ArticleProblem.BAD_YAML (None for a plain str)

A :class:`Reason` is the English one-line reason the importers have always given (a
``str``, so it travels through ``(path, reason)`` failures unchanged) that also says which
:class:`ArticleProblem` it is, the short technical detail, and for YAML the line. The bot
turns the kind into a Vietnamese sentence an official can act on (``markup.catalogue``).
"""

from __future__ import annotations

from enum import StrEnum


class ArticleProblem(StrEnum):
    """The kinds of failure an article file or record can have."""

    NO_FRONT_MATTER = "no_front_matter"
    FRONT_MATTER_NOT_CLOSED = "front_matter_not_closed"
    BAD_YAML = "bad_yaml"
    FRONT_MATTER_NOT_MAPPING = "front_matter_not_mapping"
    MISSING_FIELD = "missing_field"  # detail: the field's name
    FIELD_NOT_TEXT = "field_not_text"  # detail: the field's name
    TAGS_NOT_LIST = "tags_not_list"
    BAD_DATE = "bad_date"
    NO_TIMEZONE = "no_timezone"
    EMPTY_BODY = "empty_body"
    LINE_ENDS = "line_ends"
    NOT_NFC = "not_nfc"
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    BINARY = "binary"
    BAD_JSON = "bad_json"
    NOT_JSON_OBJECT = "not_json_object"
    UNREADABLE = "unreadable"
    EMPTY_FILE = "empty_file"
    NO_ARTICLE_TEXT = "no_article_text"
    DUPLICATE_ID = "duplicate_id"  # detail: the id


class Reason(str):
    """An English one-line reason that knows its :class:`ArticleProblem`, its short
    ``detail`` (a field name, an id, the parser's words) and, for YAML, its ``line``."""

    problem: ArticleProblem
    detail: str
    line: int | None

    def __new__(cls, problem: ArticleProblem, text: str, detail: str = "", line: int | None = None) -> Reason:
        reason = super().__new__(cls, " ".join(text.split()))
        reason.problem, reason.detail, reason.line = problem, " ".join(detail.split()), line
        return reason

    def __reduce__(self) -> tuple[type[Reason], tuple[ArticleProblem, str, str, int | None]]:
        """Pickled whole (a worker process's failures keep their kind)."""
        return Reason, (self.problem, str(self), self.detail, self.line)


def problem_of(reason: str) -> ArticleProblem | None:
    """The kind of a failure's reason; None for a reason that is not a :class:`Reason`
    (a fetch error, or one that crossed a process boundary as plain text)."""
    return reason.problem if isinstance(reason, Reason) else None
