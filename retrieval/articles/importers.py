"""Turn files in other formats into :class:`Article` objects for the corpus folder.

``import_path(path)`` takes a file or a folder (walked recursively in sorted order,
hidden files and folders skipped) and returns the articles it could read plus one
``(path, reason)`` failure per file (or JSONL line) it could not. It never raises for
bad input. Formats, by extension (and a look at the content for ``.txt``):

* ``.md`` / ``.markdown``: the corpus file format (:mod:`retrieval.articles.corpus`).
* ``.txt``: a crawled news page (title, date line, "Xem với cỡ chữ", photo captions,
  "Theo <source>", "CÁC BÀI VIẾT KHÁC:"), or plain text when it has no such structure.
  A ``.txt`` that is really Markdown-with-front-matter or HTML is read as that.
* ``.html`` / ``.htm`` / ``.xhtml``: an article page, extracted with trafilatura.
* ``.jsonl`` / ``.jsonl.gz`` / ``.ndjson``: one article per line (``id``, ``title``,
  ``body``, optional ``sapo``, ``url``, ``published``, ``source``, ``tags``).

Guarantees: every string is NFC; line ends are ``\\n``; body paragraphs are separated
by one blank line and captions start with ``> ``; the characters within a source line
are never changed apart from NFC and stripping the line's outer whitespace, so cited
sentences are exact slices of the source text.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from retrieval.articles.corpus import (
    VIETNAM_TZ,
    ArticleFormatError,
    article_from_markdown,
    join_paragraphs,
    parse_published,
)
from retrieval.articles.problems import ArticleProblem, Reason
from retrieval.models import Article
from retrieval.vietnamese.text import fold, nfc, slugify


@dataclass
class ImportResult:
    """Articles read (in file order, then line order) and ``(path, reason)`` failures.

    For JSONL the failure path is ``"<file>:<line>"`` so ``f"{path}: {reason}"`` reads
    ``file.jsonl:LINE: reason``. Reasons are one line.
    """

    articles: list[Article] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


class ImportFailure(Exception):
    """Raised inside the importers for bad input; ``import_path`` turns it into a failure
    whose reason is ``reason`` (a :class:`~retrieval.articles.problems.Reason` saying its kind)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------- shared helpers


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    line = line if len(line) <= limit else line[: limit - 1] + "…"
    if isinstance(text, Reason):  # keep saying which problem it is
        return Reason(text.problem, line, text.detail, text.line)
    return line


#: Byte-order marks that say a file is UTF-16 or UTF-32 (UTF-32's first: FF FE 00 00 starts with UTF-16's FF FE).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _wide_text(data: bytes) -> str | None:
    """The text of UTF-16 or UTF-32 bytes that start with a byte-order mark; None without one,
    or when the rest is no text in that encoding (unassigned or control characters: bytes that
    only happen to start like a mark)."""
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec.lower())  # the codec reads the mark and drops it
            except UnicodeDecodeError:
                return None
            if any(unicodedata.category(c) in ("Cn", "Co", "Cs", "Cc") and c not in "\t\n\r" for c in text):
                return None
            return text
    return None


def _decode(data: bytes) -> str:
    """UTF-8 text (or UTF-16/32 with a byte-order mark) with ``\\n`` line ends and NFC;
    ImportFailure for empty or binary data."""
    text = _wide_text(data)
    if text is None:
        if b"\x00" in data:
            raise ImportFailure(Reason(ArticleProblem.BINARY, "binary file (contains NUL bytes), not text"))
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFailure(
                Reason(ArticleProblem.NOT_UTF8, f"not UTF-8 text (bad byte at offset {exc.start})")
            ) from None
    if not text.strip():
        raise ImportFailure(Reason(ArticleProblem.EMPTY_FILE, "empty file"))
    return nfc(text.replace("\r\n", "\n").replace("\r", "\n"))


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _too_large(size: int, max_bytes: int) -> str:
    text = f"too large ({_megabytes(size)}; the limit is {_megabytes(max_bytes)}, setting ingest_max_bytes)"
    return Reason(ArticleProblem.TOO_LARGE, text, f"{_megabytes(size)} > {_megabytes(max_bytes)}")


def duplicate_reason(article_id: str) -> Reason:
    """The failure of an article whose id came earlier in the same import."""
    text = f"duplicate id {article_id!r} in this import; first one kept"
    return Reason(ArticleProblem.DUPLICATE_ID, text, article_id)


def _single_line(text: str) -> str:
    """Metadata (titles, sources) must fit on one line; they are never cited."""
    return " ".join(text.split())


def make_article_id(published: datetime | None, title: str) -> str:
    """``<yyyy-mm-dd>-<slug of title>`` (date in Vietnam time; omitted when unknown).

    Deterministic, so re-importing the same article updates it instead of adding a copy.
    A title without any Latin letters gets ``article-<hash of the title>`` as its slug.
    """
    slug = slugify(title) or "article-" + hashlib.sha256(title.encode("utf-8")).hexdigest()[:12]
    if published is None:
        return slug
    return f"{published.astimezone(VIETNAM_TZ):%Y-%m-%d}-{slug}"


def _body_lines(text: str) -> list[str]:
    """Non-empty lines, outer whitespace stripped and nothing else touched."""
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


# --------------------------------------------------------------------------- crawled .txt pages

_WEEKDAY = r"(?:thu\s*(?:hai|ba|tu|nam|sau|bay|[2-7])|chu\s*nhat|cn)"
_DMY = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})"
_HM = r"(?P<H>\d{1,2})\s*[:h]\s*(?P<M>\d{2})"
_GMT = r"(?:\s*\(?\s*gmt\s*\+\s*0?7(?::?00)?\s*\)?)?"
# Matched against fold(line): "Thứ Bảy 05/10/2019 21:36" -> "thu bay 05/10/2019 21:36".
_DATE_LINES = (
    re.compile(rf"(?:{_WEEKDAY}\s*[,-]?\s*)?(?:ngay\s+)?{_DMY}(?:\s*[,|-]?\s*(?:luc\s+)?{_HM})?{_GMT}"),
    re.compile(rf"{_HM}\s*[,|-]?\s*(?:{_WEEKDAY}\s*[,-]?\s*)?(?:ngay\s+)?{_DMY}{_GMT}"),
)
# Page furniture that is a whole line by itself (compared folded, trailing ":" dropped).
_FURNITURE = {"xem voi co chu", "in bai viet", "gui bai viet", "chia se bai viet", "ban in"}
# A whole line that starts the "more articles" block: it and everything after it go.
_TRAILER = {"cac bai viet khac", "tin lien quan", "bai viet lien quan", "tin cung chuyen muc", "tin khac"}
_SOURCE_LINE = re.compile(r"(?:theo|nguồn)\s*:?\s+(?P<source>[^,;!?]{2,100}?)\s*\.?", re.IGNORECASE)
# Where the publication date line may be: within the page header.
_HEADER_LINES = 6


def parse_date_line(line: str) -> datetime | None:
    """The datetime (Vietnam time) of a whole-line date like "Thứ Bảy 05/10/2019 21:36",
    "Chủ nhật, ngày 6/10/2019" or "21:36 05/10/2019"; None when the line is not one."""
    folded = fold(line).strip()
    for pattern in _DATE_LINES:
        match = pattern.fullmatch(folded)
        if match is None:
            continue
        hour, minute = (int(match["H"]), int(match["M"])) if match["H"] else (0, 0)
        try:
            return datetime(int(match["y"]), int(match["m"]), int(match["d"]), hour, minute, tzinfo=VIETNAM_TZ)
        except ValueError:
            return None  # 31/02/2019 and the like: not a date after all
    return None


def _folded_key(line: str) -> str:
    return " ".join(fold(line).rstrip(":").split())


def _is_furniture(line: str) -> bool:
    return _folded_key(line) in _FURNITURE


def _is_substantial(line: str) -> bool:
    """Could be a title: two or more words with letters, not a date, not furniture."""
    words_with_letters = [w for w in line.split() if any(ch.isalpha() for ch in w)]
    return len(words_with_letters) >= 2 and parse_date_line(line) is None and not _is_furniture(line)


def _cut_trailer(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _folded_key(line) in _TRAILER:
            return lines[:index]
    return lines


_SENTENCE_END = tuple(".!?…:;")
_CLOSERS = "\"'”’»)]"
_PHOTO_CREDIT = re.compile(r"(?:^anh\s*:|\(\s*anh\s*:[^)]*\)\s*$)")
# Cues that a short unpunctuated paragraph describes a photo (compared folded): who is in
# it at the start, or what they are doing.
_CAPTION_SUBJECT = re.compile(
    r"^(?:cac\s+)?(?:dong chi|ong|ba|lanh dao|dai bieu|dai dien|quang canh|toan canh|canh|hinh anh"
    r"|doan|bo truong|thu tuong|pho thu tuong|chu tich|pho chu tich|bi thu|pho bi thu|giam doc)\b"
)
_CAPTION_ACTION = re.compile(
    r"\b(?:phat bieu|chup anh|ky ket|trao (?:doi|tang|qua|bang|qua tang)|tang (?:hoa|qua|bang)"
    r"|tham (?:quan|hoi|dong)|kiem tra|lam viec|tu (?:trai|phai) (?:sang|qua)"
    r"|tai (?:hoi nghi|buoi|le|hoi thao|dien dan))\b"
)
_CAPTION_MAX_WORDS = 80
_CAPTION_MIN_WORDS = 4
_CAPTION_LONG_WORDS = 10


def is_caption(paragraph: str) -> bool:
    """Heuristic: is this paragraph of a crawled page a photo caption?

    Captions on these pages are short and have no sentence-final punctuation, unlike
    article sentences; a photo credit ("Ảnh: ...", "(Ảnh: ...)") is a caption outright.
    An unpunctuated line also needs a photo cue (who / what they are doing) or at least
    ten words, so short sub-headings and bylines ("NGUYỄN HƯƠNG") stay body text.
    """
    words = paragraph.split()
    if not words or len(words) > _CAPTION_MAX_WORDS:
        return False
    folded = fold(paragraph)
    if _PHOTO_CREDIT.search(folded):
        return True
    if len(words) < _CAPTION_MIN_WORDS or paragraph.rstrip(_CLOSERS).endswith(_SENTENCE_END):
        return False
    cue = _CAPTION_SUBJECT.search(folded) or _CAPTION_ACTION.search(folded)
    return bool(cue) or len(words) >= _CAPTION_LONG_WORDS


def _source_of(lines: list[str]) -> tuple[str, int | None]:
    """(source, index of its line) from a closing "Theo Báo Hải Dương" among the last two
    lines; ("", None) when there is none."""
    for index in range(len(lines) - 1, max(len(lines) - 3, -1), -1):
        match = _SOURCE_LINE.fullmatch(lines[index])
        if match and len(match["source"].split()) <= 10:
            return match["source"].strip(), index
    return "", None


def _find_header(lines: list[str]) -> tuple[int, int, datetime] | None:
    """(title index, date index, published) of a crawled page, or None.

    The publication date is the first whole-line date within the header that follows a
    substantial line; that line is the title. Date lines before it (the crawl date,
    "Thứ tư, ngày 24/4/2024") are page furniture.
    """
    title_index: int | None = None
    for index, line in enumerate(lines[:_HEADER_LINES]):
        published = parse_date_line(line)
        if published is not None and title_index is not None:
            return title_index, index, published
        if _is_substantial(line):
            title_index = index
    return None


def _crawled_page(text: str) -> Article:
    lines = _cut_trailer(_body_lines(text))
    header = _find_header(lines)
    if header is None:
        return _plain_text(lines)
    title_index, date_index, published = header
    title = _single_line(lines[title_index])
    rest = lines[date_index + 1 :]
    source, source_index = _source_of(rest)
    sapo: str | None = None
    parts: list[tuple[str, bool]] = []
    after_font_size = False
    for index, line in enumerate(rest):
        if index == source_index:
            continue
        if _is_furniture(line):
            # The lead paragraph follows the "Xem với cỡ chữ" font-size widget.
            after_font_size = _folded_key(line) == "xem voi co chu" and not parts
            continue
        if after_font_size and sapo is None:
            sapo = line
            parts.append((line, False))
            continue
        parts.append((line, is_caption(line)))
    body = join_paragraphs(parts)
    if not body:
        raise ImportFailure(Reason(ArticleProblem.NO_ARTICLE_TEXT, "no body text after the title and date"))
    return Article(
        id=make_article_id(published, title),
        title=title,
        published=published,
        source=_single_line(source),
        text=body,
        url=None,
        sapo=sapo,
    )


def _plain_text(lines: list[str]) -> Article:
    """Fallback for text without a recognisable page header: first line is the title."""
    if len(lines) < 2:
        text = "no body text after the title line (plain text needs a title line and a body)"
        raise ImportFailure(Reason(ArticleProblem.NO_ARTICLE_TEXT, text))
    title = _single_line(lines[0])
    return Article(
        id=make_article_id(None, title),
        title=title,
        published=None,
        source="",
        text=join_paragraphs((line, False) for line in lines[1:]),
    )


def _import_txt(path: Path) -> ImportResult:
    text = _decode(path.read_bytes())
    head = text.lstrip()[:500].lower()
    if text.startswith("---\n"):
        return _import_markdown_text(text, path)
    if head.startswith("<!doctype html") or head.startswith("<html"):
        return _import_html_text(text, path)
    return ImportResult(articles=[_crawled_page(text)])


# --------------------------------------------------------------------------- Markdown


def _import_markdown_text(text: str, path: Path) -> ImportResult:
    try:
        return ImportResult(articles=[article_from_markdown(text, str(path))])
    except ArticleFormatError as exc:
        raise ImportFailure(exc.reason) from None


def _import_markdown(path: Path) -> ImportResult:
    return _import_markdown_text(_decode(path.read_bytes()), path)


# --------------------------------------------------------------------------- HTML


_MIN_HTML_WORDS = 15


def _html_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_published(value)
    except ValueError:
        return None  # an odd date from the page is not worth losing the article for


def article_from_html(html: str | bytes, url: str | None = None) -> Article:
    """One article from an HTML page (trafilatura), e.g. a page fetched from a feed.

    ``url`` is where the page came from; it is kept when the page names no canonical URL
    of its own. Raises :class:`ImportFailure` when the page holds no article text.
    """
    if isinstance(html, bytes):
        with contextlib.suppress(UnicodeDecodeError):  # else trafilatura finds the declared charset
            html = nfc(html.decode("utf-8-sig"))
    article = _import_html_text(html, Path("page.html")).articles[0]
    if article.url is None and url:
        article = replace(article, url=nfc(url))
    return article


def _import_html_text(html: str | bytes, path: Path) -> ImportResult:
    # Imported here: trafilatura is slow to import and only ingestion needs it.
    import trafilatura
    from trafilatura.settings import set_date_params

    doc = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        # Keep the time of day when the page gives one (the default format drops it).
        date_extraction_params={**set_date_params(True), "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
    )
    text = getattr(doc, "text", None) or ""
    paragraphs = _body_lines(nfc(text))
    # trafilatura falls back to any text at all (a menu, a cookie notice): that is no article.
    if sum(len(p.split()) for p in paragraphs) < _MIN_HTML_WORDS:
        raise ImportFailure(Reason(ArticleProblem.NO_ARTICLE_TEXT, "no article text found in the HTML page"))
    title = _single_line(nfc(getattr(doc, "title", None) or ""))
    if paragraphs[0] == title and len(paragraphs) > 1:
        paragraphs = paragraphs[1:]  # the page's <h1>, already the title
    if not title:
        title = _single_line(paragraphs[0])[:120]
    published = _html_date(getattr(doc, "date", None))
    url = getattr(doc, "url", None)
    return ImportResult(
        articles=[
            Article(
                id=make_article_id(published, title),
                title=title,
                published=published,
                source=_single_line(nfc(getattr(doc, "sitename", None) or "")),
                text=join_paragraphs((p, False) for p in paragraphs),
                url=nfc(url) if url else None,
            )
        ]
    )


def _import_html(path: Path) -> ImportResult:
    data = path.read_bytes()
    if not data.strip():
        raise ImportFailure(Reason(ArticleProblem.EMPTY_FILE, "empty file"))
    wide = _wide_text(data)
    try:
        html: str | bytes = nfc(wide if wide is not None else data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        html = data  # let trafilatura find the declared charset
    return _import_html_text(html, path)


# --------------------------------------------------------------------------- JSONL


def _record_text(record: dict[str, Any], key: str, required: bool) -> str | None:
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ImportFailure(Reason(ArticleProblem.MISSING_FIELD, f"missing {key}", key))
        return None
    if not isinstance(value, str):
        raise ImportFailure(Reason(ArticleProblem.FIELD_NOT_TEXT, f"{key} must be a string", key))
    return nfc(value)


def _record_tags(record: dict[str, Any]) -> tuple[str, ...]:
    tags = record.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ImportFailure(Reason(ArticleProblem.TAGS_NOT_LIST, "tags must be a list of strings"))
    return tuple(_single_line(nfc(t)) for t in tags if t.strip())


def article_from_record(record: object) -> Article:
    """One JSONL record -> Article; ImportFailure with a one-line reason when it is bad.

    The body is the sapo's lines (if any) then the body's lines, one paragraph each, each
    line exactly as given apart from NFC and outer whitespace. ``body`` must be present;
    it may be empty only when there is a sapo.
    """
    if not isinstance(record, dict):
        raise ImportFailure(Reason(ArticleProblem.NOT_JSON_OBJECT, "not a JSON object"))
    article_id = _single_line(_record_text(record, "id", True) or "")
    title = _single_line(_record_text(record, "title", True) or "")
    if not isinstance(record.get("body"), str):
        if record.get("body") is None:
            raise ImportFailure(Reason(ArticleProblem.MISSING_FIELD, "missing body", "body"))
        raise ImportFailure(Reason(ArticleProblem.FIELD_NOT_TEXT, "body must be a string", "body"))
    sapo_text = _record_text(record, "sapo", False)
    # An empty body with a sapo is still an article (the aggregator dump has ~1% of these).
    body = _record_text(record, "body", not sapo_text) or ""
    try:
        published = parse_published(record.get("published"))
    except (ValueError, TypeError):
        shown = repr(record.get("published"))
        raise ImportFailure(Reason(ArticleProblem.BAD_DATE, f"bad published date: {shown}", shown)) from None
    sapo_lines = _body_lines(sapo_text or "")
    body_lines = _body_lines(body)
    if sapo_lines and body_lines[: len(sapo_lines)] == sapo_lines:
        sapo_lines = []  # the body already starts with the sapo: don't repeat it
    return Article(
        id=article_id,
        title=title,
        published=published,
        source=_single_line(_record_text(record, "source", False) or ""),
        text=join_paragraphs((line, False) for line in [*sapo_lines, *body_lines]),
        url=_record_text(record, "url", False),
        tags=_record_tags(record),
        sapo="\n".join(_body_lines(sapo_text)) if sapo_text else None,
    )


def _jsonl_lines(path: Path) -> Iterator[bytes]:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as zipped:
            yield from zipped
    else:
        with path.open("rb") as plain:
            yield from plain


def _import_jsonl(path: Path, max_line_bytes: int = 0) -> ImportResult:
    result = ImportResult()
    try:
        for number, raw in enumerate(_jsonl_lines(path), start=1):
            if not raw.strip():
                continue
            if max_line_bytes and len(raw) > max_line_bytes:
                result.failures.append((f"{path}:{number}", _too_large(len(raw), max_line_bytes)))
                continue
            try:
                record = json.loads(raw.decode("utf-8-sig"))
                result.articles.append(article_from_record(record))
            except UnicodeDecodeError:
                result.failures.append((f"{path}:{number}", Reason(ArticleProblem.NOT_UTF8, "not UTF-8 text")))
            except json.JSONDecodeError as exc:
                detail = f"{exc.msg} (column {exc.colno})"
                result.failures.append(
                    (f"{path}:{number}", Reason(ArticleProblem.BAD_JSON, f"invalid JSON: {detail}", detail))
                )
            except ImportFailure as exc:
                result.failures.append((f"{path}:{number}", _one_line(exc.reason)))
    except (OSError, EOFError, zlib.error) as exc:
        # A truncated or corrupt gzip: keep the lines read before the damage.
        detail = _one_line(str(exc))
        result.failures.append((str(path), Reason(ArticleProblem.UNREADABLE, f"cannot read: {detail}", detail)))
    if not result.articles and not result.failures:
        result.failures.append((str(path), Reason(ArticleProblem.EMPTY_FILE, "empty file")))
    return result


# --------------------------------------------------------------------------- dispatch

_IMPORTERS: dict[str, Callable[[Path], ImportResult]] = {
    ".md": _import_markdown,
    ".markdown": _import_markdown,
    ".txt": _import_txt,
    ".html": _import_html,
    ".htm": _import_html,
    ".xhtml": _import_html,
    ".jsonl": _import_jsonl,
    ".ndjson": _import_jsonl,
    ".jsonl.gz": _import_jsonl,
    ".ndjson.gz": _import_jsonl,
}


#: File name endings ``import_path`` reads (compared in lower case).
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_IMPORTERS)


def _importer_for(path: Path) -> Callable[[Path], ImportResult] | None:
    name = path.name.lower()
    for suffix in sorted(_IMPORTERS, key=len, reverse=True):
        if name.endswith(suffix):
            return _IMPORTERS[suffix]
    return None


def import_file(path: Path, max_bytes: int = 0) -> ImportResult:
    """Import one file; bad input becomes failures, never an exception. ``max_bytes`` (0: no
    limit) refuses a larger file unread, and a JSONL file's longer lines (one article each)."""
    importer = _importer_for(path)
    if importer is None:
        return ImportResult(failures=[(str(path), f"unsupported file type ({path.suffix or 'no extension'})")])
    try:
        if importer is _import_jsonl:
            return _import_jsonl(path, max_bytes)
        size = path.stat().st_size
        if max_bytes and size > max_bytes:
            return ImportResult(failures=[(str(path), _too_large(size, max_bytes))])
        return importer(path)
    except ImportFailure as exc:
        return ImportResult(failures=[(str(path), _one_line(exc.reason))])
    except Exception as exc:  # a parser bug or I/O error must not stop a whole ingest
        return ImportResult(failures=[(str(path), _one_line(f"{type(exc).__name__}: {exc}"))])


def _walk(folder: Path) -> Iterator[Path]:
    """Files under ``folder``, sorted, skipping anything hidden below it."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).parts
        if path.is_file() and not any(part.startswith(".") for part in relative):
            yield path


def import_path(path: Path, max_bytes: int = 0) -> ImportResult:
    """Import a file, or every non-hidden file under a folder (recursively, sorted); ``max_bytes``
    as in :func:`import_file`.

    An id produced twice in one import keeps its first article; each later one is a
    failure of the file it came from, so nothing in a batch silently overwrites another.
    """
    if path.is_dir():
        files = list(_walk(path))
    elif path.is_file():
        files = [path]
    else:
        return ImportResult(failures=[(str(path), "no such file or folder")])
    result = ImportResult()
    seen: set[str] = set()
    for file in files:
        imported = import_file(file, max_bytes)
        result.failures.extend(imported.failures)
        for article in imported.articles:
            if article.id in seen:
                result.failures.append((str(file), duplicate_reason(article.id)))
                continue
            seen.add(article.id)
            result.articles.append(article)
    return result
