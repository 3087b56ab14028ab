"""Properties of the article readers (hypothesis): the front matter, the importers and the
sentence splitter take any input; the result is an article whose sentences are exact slices
of its text, or the reader's own one-line error, never a traceback."""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from retrieval.articles.corpus import ArticleFormatError, article_from_markdown, article_to_markdown
from retrieval.articles.furniture import find_furniture
from retrieval.articles.importers import ImportFailure, article_from_html, article_from_record, import_file
from retrieval.articles.sentences import MAX_SENTENCE_CHARS, split_sentences
from retrieval.models import Article
from tests.properties import fast, is_one_line, vietnamese_text

# What an unexpected exception turned into a failure by import_file's last resort looks like.
_INTERNAL_ERROR = re.compile(r"^[A-Za-z_.]*(?:Error|Exception|Warning)\b")


def _is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def assert_sentences_are_exact_slices(article: Article) -> None:
    sentences = split_sentences(article)
    furniture = find_furniture(article.text)
    end = 0
    for position, sentence in enumerate(sentences):
        assert article.text[sentence.start : sentence.end] == sentence.text
        assert sentence.position == position
        assert end <= sentence.start < sentence.end, "sentences overlap or are out of order"
        assert sentence.text == sentence.text.strip()
        assert any(ch.isalnum() for ch in sentence.text)
        assert sentence.end - sentence.start <= MAX_SENTENCE_CHARS
        assert not any(f.start < sentence.end and sentence.start < f.end for f in furniture)
        end = sentence.end


def assert_storable(article: Article) -> None:
    """What ingest does next: the article is written to its corpus file and read back unchanged."""
    for value in (article.id, article.title, article.source, article.text, article.url or "", article.sapo or ""):
        assert _is_nfc(value)
    assert all(_is_nfc(tag) for tag in article.tags)
    assert article.id.strip() and article.title.strip() and article.text.strip()
    assert article_from_markdown(article_to_markdown(article), "round trip") == article


# --------------------------------------------------------------------------- sentences


@fast(150)
@given(vietnamese_text(1200))
def test_every_sentence_is_an_exact_slice_of_the_text(text: str) -> None:
    assert_sentences_are_exact_slices(Article(id="a", title="t", published=None, source="", text=text))


@fast(30)
@given(
    st.lists(st.sampled_from(["Hải Dương", "và", "Bắc Giang", "phối hợp", ",", ";", "  "]), min_size=1),
    st.integers(1, 150),
)
def test_a_long_sentence_is_cut_into_exact_slices(words: list[str], repeat: int) -> None:
    text = " ".join(words * repeat) + "."
    assert_sentences_are_exact_slices(Article(id="a", title="t", published=None, source="", text=text))


# --------------------------------------------------------------------------- front matter

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    vietnamese_text(40),
    st.text(max_size=20),
    st.dates().map(str),
    st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=7))])).map(str),
    st.sampled_from(["2019-10-05T21:36:00+07:00", "2019-10-05", "05/10/2019", "", "null", "~", "- a"]),
)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner)
)
_KEYS = st.sampled_from(["id", "title", "published", "source", "url", "tags", "sapo"]) | st.text(max_size=8)


@st.composite
def markdown_files(draw: st.DrawFn) -> str:
    """An article file as a person might write one: front matter with random fields (often
    the right ones), a body of Vietnamese text; sometimes broken YAML or delimiters."""
    meta = draw(st.dictionaries(_KEYS, _VALUES, max_size=6))
    if draw(st.booleans()):
        meta = {"id": draw(_SCALARS), "title": draw(vietnamese_text(60)), **meta}
    front = draw(
        st.one_of(
            st.just(yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)),
            st.just(yaml.safe_dump(meta, allow_unicode=False, default_flow_style=True)),
            vietnamese_text(80),
        )
    )
    body = draw(vietnamese_text(400))
    opening = draw(st.sampled_from(["---\n", "---\n", "\ufeff---\n", "---\r\n", "--- \n", ""]))
    closing = draw(st.sampled_from(["---\n\n", "---\n\n", "---\n", "---", "--\n", "---\r\n\r\n"]))
    return opening + front + closing + body + draw(st.sampled_from(["", "\n", "\r\n"]))


@fast(60)
@given(markdown_files())
def test_front_matter_gives_an_article_or_a_one_line_error(text: str) -> None:
    try:
        article = article_from_markdown(text, "bài.md")
    except ArticleFormatError as exc:
        assert is_one_line(str(exc)) and is_one_line(exc.reason)
        return
    assert article.id.strip() and article.title.strip()
    assert _is_nfc(article.text) and article.text.strip()
    assert article.published is None or article.published.utcoffset() is not None
    assert_sentences_are_exact_slices(article)


@fast(100)
@given(st.text(max_size=300))
def test_any_text_at_all_gives_an_article_or_a_one_line_error(text: str) -> None:
    try:
        article_from_markdown(text, "bài.md")
    except ArticleFormatError as exc:
        assert is_one_line(str(exc))


_AWARE = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone(timedelta(hours=7)))
)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    text = st.text(min_size=1, max_size=80).map(lambda s: unicodedata.normalize("NFC", s))
    return Article(
        id=draw(text),
        title=draw(text),
        published=draw(st.none() | _AWARE),
        source=draw(text | st.just("")),
        text=draw(vietnamese_text(300).map(lambda s: unicodedata.normalize("NFC", s.replace("\r", "")))),
        url=draw(st.none() | text),
        tags=tuple(draw(st.lists(text, max_size=3))),
        sapo=draw(st.none() | text),
    )


@fast(100)
@given(articles())
def test_every_writable_article_reads_back_unchanged(article: Article) -> None:
    try:
        markdown = article_to_markdown(article)
    except ArticleFormatError as exc:
        assert is_one_line(str(exc))
        return
    assert article_from_markdown(markdown, "round trip") == article
    assert article_to_markdown(article_from_markdown(markdown, "round trip")) == markdown


# --------------------------------------------------------------------------- importers

_RECORD_VALUES = st.one_of(_SCALARS, st.lists(_SCALARS, max_size=3), vietnamese_text(200))


@st.composite
def records(draw: st.DrawFn) -> Any:
    """A JSONL record as aggregator dumps have them, with random types and missing fields."""
    if draw(st.integers(0, 9)) == 0:
        return draw(_VALUES)
    record = {
        key: draw(_RECORD_VALUES)
        for key in draw(st.sets(st.sampled_from(["id", "title", "body", "sapo", "url", "published", "source", "tags"])))
    }
    if draw(st.booleans()):
        record.update(id=draw(vietnamese_text(30)), title=draw(vietnamese_text(60)), body=draw(vietnamese_text(400)))
    return record


def assert_clean(result_failures: list[tuple[str, str]]) -> None:
    for _, reason in result_failures:
        assert is_one_line(reason)
        assert not _INTERNAL_ERROR.match(reason), f"an unexpected exception: {reason}"


@fast(100)
@given(records())
def test_a_jsonl_record_gives_an_article_or_a_one_line_failure(record: Any) -> None:
    try:
        article = article_from_record(record)
    except ImportFailure as exc:
        assert is_one_line(str(exc))
        return
    try:
        assert_storable(article)
    except ArticleFormatError as exc:  # refused by the corpus writer: ingest reports it, one line
        assert is_one_line(str(exc))
        return
    assert_sentences_are_exact_slices(article)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("imports")


def _import(folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.write_bytes(data)
    result = import_file(path)
    assert_clean(result.failures)
    for article in result.articles:
        try:
            assert_storable(article)
        except ArticleFormatError as exc:
            assert is_one_line(str(exc))
            continue
        assert_sentences_are_exact_slices(article)


@fast(40)
@given(st.lists(records(), max_size=4), st.sampled_from(["utf-8", "utf-8-sig"]), st.booleans())
def test_a_jsonl_file_gives_articles_or_one_line_failures(
    workdir: Path, lines: list[Any], codec: str, gz: bool
) -> None:
    data = "\n".join(json.dumps(record, ensure_ascii=False) for record in lines).encode(codec)
    _import(workdir, "dump.jsonl.gz" if gz else "dump.jsonl", gzip.compress(data, mtime=0) if gz else data)


_PAGE_LINES = st.one_of(
    vietnamese_text(120),
    st.sampled_from(
        [
            "Thứ tư, ngày 24/4/2024",
            "Thứ Bảy 05/10/2019 21:36",
            "31/02/2019",
            "21:36 05/10/2019",
            "Xem với cỡ chữ",
            "In bài viết",
            "CÁC BÀI VIẾT KHÁC:",
            "Theo Báo Hải Dương",
            "Đồng chí Bí thư Tỉnh ủy phát biểu tại hội nghị",
            "(Ảnh: Thành Chung)",
            "Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang",
            "---",
            "<html><body><p>",
        ]
    ),
)
_ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "cp1258", "latin-1"])


@st.composite
def crawled_pages(draw: st.DrawFn) -> bytes:
    """A crawled news page (title, date line, furniture, captions, source line) in some encoding."""
    text = draw(st.sampled_from(["\n", "\n\n", "\r\n"])).join(draw(st.lists(_PAGE_LINES, max_size=12)))
    return text.encode(draw(_ENCODINGS), errors="replace")


@fast(100)
@given(crawled_pages())
def test_a_crawled_page_gives_an_article_or_a_one_line_failure(workdir: Path, data: bytes) -> None:
    _import(workdir, "page.txt", data)


@fast(150)
@given(st.binary(max_size=400), st.sampled_from(["a.txt", "a.md", "a.jsonl", "a.jsonl.gz", "a.ndjson"]))
def test_arbitrary_bytes_give_articles_or_one_line_failures(workdir: Path, data: bytes, name: str) -> None:
    _import(workdir, name, data)


@fast(30)
@given(markdown_files(), st.sampled_from(["a.md", "a.txt"]), _ENCODINGS)
def test_an_article_file_gives_an_article_or_a_one_line_failure(
    workdir: Path, text: str, name: str, codec: str
) -> None:
    _import(workdir, name, text.encode(codec, errors="replace"))


_HTML_TAGS = ["p", "div", "h1", "article", "span", "b", "br", "script", "table", "td", "li"]


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 12))):
        tag = draw(st.sampled_from(_HTML_TAGS))
        parts.append(f"<{tag}>{draw(vietnamese_text(160))}</{tag}>")
    title = draw(vietnamese_text(40))
    head = f"<head><title>{title}</title><meta property='article:published_time' content='{draw(_SCALARS)}'></head>"
    return f"<!DOCTYPE html><html>{head}<body>{''.join(parts)}</body></html>"


@fast(25)
@given(html_pages() | st.text(max_size=200))
def test_an_html_page_gives_an_article_or_an_import_failure(page: str) -> None:
    # news_pipeline.fetch catches ImportFailure only: anything else would stop a feed poll.
    try:
        article = article_from_html(page, "https://baohaiduong.example/bai.html")
    except ImportFailure as exc:
        assert is_one_line(str(exc))
        return
    assert_storable(article)
    assert_sentences_are_exact_slices(article)
