"""Why an article was not added, in words an official can act on.

    failure_words(reason)          # "Phần đầu bài (front matter) viết sai cú pháp YAML ở dòng 3. ... (chi tiết: ...)"
    failure_words(reason, "en")    # the same in English

The importers say what went wrong as a :class:`~retrieval.articles.problems.Reason`: an
English line for logs and the CLI that also carries its kind. Here the kind becomes a plain
sentence from :mod:`markup.catalogue` (what is wrong, what to do), followed by the short
technical detail, escaped. A reason of no known kind (a page that could not be fetched,
already in Vietnamese) is shown escaped as it is.
"""

from __future__ import annotations

from markup import catalogue as words
from markup.html import escape, shorten
from retrieval.articles.problems import ArticleProblem, Reason

#: Most characters of the technical detail shown after the sentence.
DETAIL_CHARS = 160

_SENTENCES: dict[ArticleProblem, words.Words] = {
    ArticleProblem.NO_FRONT_MATTER: words.PROBLEM_NO_FRONT_MATTER,
    ArticleProblem.FRONT_MATTER_NOT_CLOSED: words.PROBLEM_FRONT_MATTER_NOT_CLOSED,
    ArticleProblem.BAD_YAML: words.PROBLEM_BAD_YAML,
    ArticleProblem.FRONT_MATTER_NOT_MAPPING: words.PROBLEM_FRONT_MATTER_NOT_MAPPING,
    ArticleProblem.MISSING_FIELD: words.PROBLEM_MISSING_FIELD,
    ArticleProblem.FIELD_NOT_TEXT: words.PROBLEM_FIELD_NOT_TEXT,
    ArticleProblem.TAGS_NOT_LIST: words.PROBLEM_TAGS_NOT_LIST,
    ArticleProblem.BAD_DATE: words.PROBLEM_BAD_DATE,
    ArticleProblem.NO_TIMEZONE: words.PROBLEM_NO_TIMEZONE,
    ArticleProblem.EMPTY_BODY: words.PROBLEM_EMPTY_BODY,
    ArticleProblem.LINE_ENDS: words.PROBLEM_LINE_ENDS,
    ArticleProblem.NOT_NFC: words.PROBLEM_NOT_NFC,
    ArticleProblem.TOO_LARGE: words.PROBLEM_TOO_LARGE,
    ArticleProblem.NOT_UTF8: words.PROBLEM_NOT_UTF8,
    ArticleProblem.BINARY: words.PROBLEM_BINARY,
    ArticleProblem.BAD_JSON: words.PROBLEM_BAD_JSON,
    ArticleProblem.NOT_JSON_OBJECT: words.PROBLEM_NOT_JSON_OBJECT,
    ArticleProblem.UNREADABLE: words.PROBLEM_UNREADABLE,
    ArticleProblem.EMPTY_FILE: words.PROBLEM_EMPTY_FILE,
    ArticleProblem.NO_ARTICLE_TEXT: words.PROBLEM_NO_ARTICLE_TEXT,
    ArticleProblem.DUPLICATE_ID: words.PROBLEM_DUPLICATE_ID,
}
#: Problems whose detail is already in the sentence (a field name, an id).
_DETAIL_IN_SENTENCE = (ArticleProblem.MISSING_FIELD, ArticleProblem.FIELD_NOT_TEXT, ArticleProblem.DUPLICATE_ID)


def failure_words(reason: str, language: str | None = None) -> str:
    """Telegram HTML: what is wrong and what to do, then the detail; see the module docstring."""
    if not isinstance(reason, Reason):
        return escape(reason)
    problem, detail = reason.problem, reason.detail
    fields: dict[str, object] = {}
    if problem in (ArticleProblem.MISSING_FIELD, ArticleProblem.FIELD_NOT_TEXT):
        fields["field"] = escape(detail)
    elif problem is ArticleProblem.DUPLICATE_ID:
        fields["id"] = escape(detail)
    elif problem is ArticleProblem.BAD_YAML:
        fields["where"] = words.PROBLEM_AT_LINE.say(language, line=reason.line) if reason.line else ""
    sentence = _SENTENCES.get(problem, words.PROBLEM_OTHER).say(language, **fields)
    if detail and problem not in _DETAIL_IN_SENTENCE:
        sentence += " " + words.DETAIL.say(language, detail=escape(shorten(detail, DETAIL_CHARS)))
    return sentence
