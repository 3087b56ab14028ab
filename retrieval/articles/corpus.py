"""The corpus folder and its article file format (the source of truth for the index).

One article is one UTF-8 Markdown file, ``<corpus>/<safe id>.md``::

    ---
    id: 2019-10-05-tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang
    title: Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang
    published: '2019-10-05T21:36:00+07:00'
    source: Báo Hải Dương
    url: null
    tags: [optional, list]
    sapo: optional lead paragraph
    ---

    First paragraph (the sapo again, when there is one).

    > A photo caption: the "> " marker is stored but is not caption text.

    Next paragraph.

Guarantees callers may rely on:

* :attr:`Article.text` is the body exactly as stored: everything after the closing
  ``---`` line and the one blank line after it, minus the file's final newline
  (NFC-normalised, which is the identity for every file this module writes). Offsets
  into ``text`` are therefore reproducible from the file alone.
* ``article_from_markdown(article_to_markdown(a), origin) == a`` for every article that
  :func:`article_to_markdown` accepts, and ``article_to_markdown`` of a parsed file that
  this module wrote gives back the same bytes.
* ``published`` is always written in Vietnam time (+07:00); a naive date read from a
  hand-edited file is taken to be Vietnam time.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import yaml

from retrieval.articles.problems import ArticleProblem, Reason
from retrieval.models import Article, Paragraph
from retrieval.vietnamese.text import nfc, slugify

#: Vietnam has used UTC+07:00 without daylight saving since 1975.
VIETNAM_TZ = timezone(timedelta(hours=7))

#: The stored prefix of a caption paragraph.
CAPTION_MARKER = "> "

SaveResult = Literal["new", "updated", "unchanged"]

_DELIMITER = "---"
# File names that are safe on every common filesystem as they are: lower-case (so
# case-insensitive filesystems cannot merge two ids), no path separators, not hidden.
_SAFE_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,119}")
# Characters PyYAML would write raw inside a plain or single-quoted scalar but read back
# differently (YAML 1.1 line breaks, controls, BOM): those strings get double quotes,
# where PyYAML escapes them exactly.
_NEEDS_DOUBLE_QUOTES = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]")


class ArticleFormatError(ValueError):
    """An article file (or an article to be written) that breaks the format.

    ``origin`` names the file (or the article id when writing); ``reason`` is one line.
    """

    def __init__(self, origin: str, reason: str) -> None:
        # An origin is a file name or an article id: either may hold a line break.
        super().__init__(" ".join(f"{origin}: {reason}".split()))
        self.origin = origin
        self.reason = reason


@dataclass
class CorpusRead:
    """Result of :func:`read_corpus`: good articles (sorted by id), (path, reason) failures,
    among them ``duplicates`` (a second file of an id), and the file of each article."""

    articles: list[Article] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # article id -> its file's name


# --------------------------------------------------------------------------- writing


class _FrontMatterDumper(yaml.SafeDumper):
    """SafeDumper whose strings always load back unchanged (see ``_NEEDS_DOUBLE_QUOTES``)."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = '"' if _NEEDS_DOUBLE_QUOTES.search(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_FrontMatterDumper.add_representer(str, _represent_str)


def format_published(published: datetime | None) -> str | None:
    """ISO 8601 in Vietnam time (``2019-10-05T21:36:00+07:00``), or None."""
    if published is None:
        return None
    return published.astimezone(VIETNAM_TZ).isoformat()


def _check_writable(article: Article) -> None:
    """Refuse articles that could not be read back identically (see module docstring)."""
    origin = article.id or "<article without id>"
    if not article.id.strip():
        raise ArticleFormatError(origin, Reason(ArticleProblem.MISSING_FIELD, "missing id", "id"))
    if not article.title.strip():
        raise ArticleFormatError(origin, Reason(ArticleProblem.MISSING_FIELD, "missing title", "title"))
    if not article.text.strip():
        raise ArticleFormatError(origin, Reason(ArticleProblem.EMPTY_BODY, "empty body"))
    if "\r" in article.text:
        raise ArticleFormatError(
            origin, Reason(ArticleProblem.LINE_ENDS, "body contains carriage returns; use \\n line ends")
        )
    if article.published is not None and article.published.utcoffset() is None:
        raise ArticleFormatError(origin, Reason(ArticleProblem.NO_TIMEZONE, "published has no timezone"))
    strings = [article.id, article.title, article.source, article.text, article.url or "", article.sapo or ""]
    if any(nfc(s) != s for s in [*strings, *article.tags]):
        raise ArticleFormatError(origin, Reason(ArticleProblem.NOT_NFC, "text is not NFC-normalised"))


def article_to_markdown(article: Article) -> str:
    """Serialise ``article`` to the file format; the result ends with exactly one newline.

    Raises :class:`ArticleFormatError` for an article that could not round-trip: empty id,
    title or body, ``\\r`` in the body, a naive ``published``, or text that is not NFC.
    """
    _check_writable(article)
    meta: dict[str, Any] = {
        "id": article.id,
        "title": article.title,
        "published": format_published(article.published),
        "source": article.source,
        "url": article.url,
    }
    if article.tags:
        meta["tags"] = list(article.tags)
    if article.sapo is not None:
        meta["sapo"] = article.sapo
    front = yaml.dump(meta, Dumper=_FrontMatterDumper, allow_unicode=True, sort_keys=False, width=1_000_000_000)
    return f"{_DELIMITER}\n{front}{_DELIMITER}\n\n{article.text}\n"


def content_hash(article: Article) -> str:
    """Hex sha256 of :func:`article_to_markdown`: equal hashes mean identical files."""
    return hashlib.sha256(article_to_markdown(article).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- reading


def _split_front_matter(text: str, origin: str) -> tuple[str, str]:
    """(YAML text, body) per the module docstring; only ``\\n`` counts as a line break."""
    if not text.startswith(_DELIMITER + "\n"):
        raise ArticleFormatError(
            origin,
            Reason(ArticleProblem.NO_FRONT_MATTER, "missing front matter (the file must start with a '---' line)"),
        )
    rest = text[len(_DELIMITER) + 1 :]
    if rest.startswith(_DELIMITER + "\n") or rest == _DELIMITER:
        close, after = 0, len(_DELIMITER)
    else:
        close = rest.find(f"\n{_DELIMITER}\n")
        if close < 0 and rest.endswith(f"\n{_DELIMITER}"):
            close = len(rest) - len(_DELIMITER) - 1  # closed, but nothing after it
        if close < 0:
            raise ArticleFormatError(
                origin, Reason(ArticleProblem.FRONT_MATTER_NOT_CLOSED, "front matter is not closed by a '---' line")
            )
        close, after = close + 1, close + 1 + len(_DELIMITER)
    front, body = rest[:close], rest[after + 1 :]
    # The one blank line after the closing delimiter is part of the format, not the body;
    # hand-written files that omit it are accepted as they are.
    if body.startswith("\n"):
        body = body[1:]
    if body.endswith("\n"):
        body = body[:-1]
    return front, body


# libyaml's parser reads a large corpus several times faster; same results, same safety.
_SafeLoaderBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FrontMatterLoader(_SafeLoaderBase):  # type: ignore[valid-type,misc]
    """A safe loader that leaves timestamps as strings, so ``published`` is parsed (and a
    bad date reported) in one place, :func:`parse_published`."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(front: str, origin: str) -> dict[str, Any]:
    try:
        meta = yaml.load(front, Loader=_FrontMatterLoader)  # a SafeLoader: no arbitrary objects
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        # Where the broken construct starts (an unclosed "[" is fixed there), else where it broke.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else None  # the file's line: after the first "---"
        detail = getattr(exc, "problem", None) or str(exc)
        reason = Reason(ArticleProblem.BAD_YAML, f"bad YAML front matter: {exc}", detail, line)
        raise ArticleFormatError(origin, reason) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleFormatError(
            origin, Reason(ArticleProblem.FRONT_MATTER_NOT_MAPPING, "front matter is not a mapping")
        )
    return meta


def _required_text(meta: dict[str, Any], key: str, origin: str) -> str:
    value = meta.get(key)
    # YAML reads an unquoted id like 21395276 as an int; it is still a valid id.
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ArticleFormatError(origin, Reason(ArticleProblem.MISSING_FIELD, f"missing {key}", key))
    return nfc(value)


def _optional_text(meta: dict[str, Any], key: str, origin: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ArticleFormatError(origin, Reason(ArticleProblem.FIELD_NOT_TEXT, f"{key} must be a string", key))
    return nfc(value)


def parse_published(value: object) -> datetime | None:
    """A timezone-aware datetime from an ISO 8601 string, a YAML date/datetime, or None.

    Naive values are taken as Vietnam time. Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value.strip())
    else:
        raise ValueError(f"not a date: {value!r}")
    return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=VIETNAM_TZ)


def _tags(meta: dict[str, Any], origin: str) -> tuple[str, ...]:
    value = meta.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str | int | float) for t in value):
        raise ArticleFormatError(origin, Reason(ArticleProblem.TAGS_NOT_LIST, "tags must be a list of strings"))
    return tuple(nfc(str(t)) for t in value)


def article_from_markdown(text: str, origin: str) -> Article:
    """Parse one article file's text; ``origin`` (usually the path) is used in errors.

    Every field is NFC-normalised and ``\\r\\n`` read as ``\\n``. Unknown front-matter
    keys are ignored. Raises :class:`ArticleFormatError` for a missing or unclosed front
    matter, bad YAML, a missing id or title, a bad ``published`` date or an empty body.
    """
    text = text.replace("\r\n", "\n").removeprefix("\ufeff")
    front, body = _split_front_matter(text, origin)
    meta = _load_yaml(front, origin)
    article_id = _required_text(meta, "id", origin)
    title = _required_text(meta, "title", origin)
    try:
        published = parse_published(meta.get("published"))
    except ValueError:
        shown = repr(meta.get("published"))
        reason = Reason(ArticleProblem.BAD_DATE, f"bad published date: {shown}", shown)
        raise ArticleFormatError(origin, reason) from None
    if not body.strip():
        raise ArticleFormatError(origin, Reason(ArticleProblem.EMPTY_BODY, "empty body"))
    return Article(
        id=article_id,
        title=title,
        published=published,
        source=_optional_text(meta, "source", origin) or "",
        text=nfc(body),
        url=_optional_text(meta, "url", origin),
        tags=_tags(meta, origin),
        sapo=_optional_text(meta, "sapo", origin),
    )


# --------------------------------------------------------------------------- body


def paragraphs(text: str) -> list[Paragraph]:
    """The paragraphs of an article body, in order, as spans of ``text``.

    A paragraph is a maximal run of non-blank lines; its span excludes surrounding
    whitespace. For a caption (first line starts with ``> ``) ``start`` points just past
    the marker, so ``text[p.start:p.end]`` is the caption text itself.
    """
    spans: list[Paragraph] = []
    for match in re.finditer(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*", text):
        chunk = match.group()
        start = match.start() + (len(chunk) - len(chunk.lstrip()))
        end = match.start() + len(chunk.rstrip())
        is_caption = text.startswith(CAPTION_MARKER, start)
        if is_caption:
            start += len(CAPTION_MARKER)
            start += len(text[start:end]) - len(text[start:end].lstrip())
        if start < end:
            spans.append(Paragraph(start=start, end=end, is_caption=is_caption))
    return spans


def join_paragraphs(parts: Iterable[tuple[str, bool]]) -> str:
    """Build a body from (paragraph text, is_caption) pairs: one blank line between
    paragraphs, captions prefixed with ``> ``. Empty paragraphs are dropped."""
    return "\n\n".join((CAPTION_MARKER + text if is_caption else text) for text, is_caption in parts if text.strip())


# --------------------------------------------------------------------------- folder


def article_path(corpus_dir: Path, article_id: str) -> Path:
    """The file of ``article_id``: always a direct child of ``corpus_dir`` named ``*.md``.

    Ids that are already safe file names (lower-case ASCII letters, digits, ``.``, ``_``,
    ``-``; not starting with a dot; at most 120 characters) are used as they are, so
    ``"21395276"`` -> ``21395276.md``. Any other id gets its slug plus a hash of the exact
    id, so distinct ids map to distinct names and ``../`` can never leave the folder.
    """
    if _SAFE_ID.fullmatch(article_id) and ".." not in article_id:
        name = article_id
    else:
        digest = hashlib.sha256(article_id.encode("utf-8")).hexdigest()[:12]
        slug = slugify(article_id, max_length=80)
        name = f"{slug}-{digest}" if slug else f"id-{digest}"
    return corpus_dir / f"{name}.md"


def read_corpus(corpus_dir: Path) -> CorpusRead:
    """Read every ``*.md`` file directly in ``corpus_dir`` (hidden files skipped).

    A file that cannot be read or parsed becomes a ``(path, reason)`` failure and never
    stops the others. A file is an article whatever its name; when two files hold one id,
    :func:`keep_one_per_id` says which one counts, and the other is a failure naming both.
    A missing folder reads as an empty corpus.
    """
    result = CorpusRead()
    if not corpus_dir.is_dir():
        return result
    read: dict[str, Article] = {}
    for path in sorted(p for p in corpus_dir.glob("*.md") if not p.name.startswith(".")):
        try:
            # Decode bytes ourselves: read_text would also turn a lone "\r" into "\n".
            read[path.name] = article_from_markdown(path.read_bytes().decode("utf-8"), str(path))
        except ArticleFormatError as exc:
            result.failures.append((str(path), exc.reason))
        except (OSError, UnicodeDecodeError) as exc:
            result.failures.append((str(path), f"cannot read: {exc}"))
    kept, dropped = keep_one_per_id({name: article.id for name, article in read.items()})
    result.articles = sorted((read[name] for name in kept.values()), key=lambda a: a.id)
    result.files = kept
    for name, kept_name in sorted(dropped.items()):
        result.duplicates.append((str(corpus_dir / name), duplicate_reason(read[name].id, kept_name)))
    result.failures.extend(result.duplicates)
    return result


def keep_one_per_id(ids_by_name: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Which corpus file holds each article when several hold one id: the file named for the
    id (:func:`article_path`), else the first by name. ``ids_by_name``: file name -> article
    id; returns (article id -> the file kept, file name -> the kept file of its id)."""
    kept: dict[str, str] = {}
    for name in sorted(ids_by_name):
        article_id = ids_by_name[name]
        if article_id not in kept or name == article_path(Path(), article_id).name:
            kept[article_id] = name
    dropped = {name: kept[article_id] for name, article_id in ids_by_name.items() if kept[article_id] != name}
    return kept, dropped


def duplicate_reason(article_id: str, kept_name: str) -> str:
    """Why a second file of ``article_id`` is left out, with the fix (one line)."""
    return f"duplicate id {article_id!r}, already in {kept_name}: remove one of the two files"


def write_atomically(path: Path, content: str) -> None:
    """Write via a hidden temp file in the same folder + os.replace, so readers see the
    old file or the new one, never a partial one."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; corpus files are ordinary documents others may read.
        os.chmod(tmp_name, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def save_article(corpus_dir: Path, article: Article) -> SaveResult:
    """Write ``article`` to :func:`article_path` atomically (creating the folder).

    Returns "new" (no file before), "updated" (content changed) or "unchanged" (the file
    already had exactly this content; nothing is written). Raises
    :class:`ArticleFormatError` for an article that cannot be stored, OSError on I/O errors.
    """
    content = article_to_markdown(article)
    path = article_path(corpus_dir, article.id)
    existed = path.exists()
    if existed:
        try:
            if path.read_bytes() == content.encode("utf-8"):
                return "unchanged"
        except OSError:
            pass  # unreadable: overwrite it
    corpus_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(path, content)
    return "updated" if existed else "new"


def remove_article(corpus_dir: Path, article_id: str) -> bool:
    """Delete the file of ``article_id``; True if there was one."""
    try:
        article_path(corpus_dir, article_id).unlink()
    except FileNotFoundError:
        return False
    return True
