"""The article file format and the corpus folder (retrieval.articles.corpus)."""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from retrieval.articles.corpus import (
    VIETNAM_TZ,
    ArticleFormatError,
    article_from_markdown,
    article_path,
    article_to_markdown,
    content_hash,
    paragraphs,
    read_corpus,
    remove_article,
    save_article,
)
from retrieval.models import Article

BODY = (
    "Hoạt động hợp tác giữa 2 tỉnh đã đạt được những kết quả tích cực.\n\n"
    "> Đồng chí Nguyễn Mạnh Hiển phát biểu tại hội nghị\n\n"
    "Chiều 5.10, tại TP Chí Linh, lãnh đạo 2 tỉnh chủ trì hội nghị.\n\n"
    "> Các đại biểu dự hội nghị\n\n"
    "Hai tỉnh sẽ xây dựng cầu Đồng Việt qua sông Thái Bình."
)


def make_article(**changes: object) -> Article:
    fields: dict[str, object] = {
        "id": "2019-10-05-hai-duong-bac-giang",
        "title": "Tăng cường hợp tác Hải Dương - Bắc Giang",
        "published": datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ),
        "source": "Báo Hải Dương",
        "text": BODY,
        "url": "https://baohaiduong.vn/a.html",
        "tags": ("hợp tác", "Bắc Giang"),
        "sapo": "Hoạt động hợp tác giữa 2 tỉnh đã đạt được những kết quả tích cực.",
    }
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- format


def test_markdown_layout_is_front_matter_blank_line_body_newline() -> None:
    markdown = article_to_markdown(make_article())
    assert markdown.startswith("---\nid: 2019-10-05-hai-duong-bac-giang\n")
    assert "title: Tăng cường hợp tác Hải Dương - Bắc Giang\n" in markdown  # readable, not \u escapes
    assert "published: '2019-10-05T21:36:00+07:00'\n" in markdown
    assert markdown.endswith("\n---\n\n" + BODY + "\n")


def test_round_trip_is_exact_both_ways() -> None:
    article = make_article()
    markdown = article_to_markdown(article)
    parsed = article_from_markdown(markdown, "x.md")
    assert parsed == article
    assert parsed.tags == ("hợp tác", "Bắc Giang")
    assert article_to_markdown(parsed) == markdown


@pytest.mark.parametrize(
    "changes",
    [
        {"published": None, "url": None, "tags": (), "sapo": None, "source": ""},
        {"id": "21395276"},  # would be an int if written unquoted
        {"title": "null"},
        {"title": "yes: no # not a comment"},
        {"title": "a\n---\nb"},  # a delimiter inside a value must not end the front matter
        {"title": "line\u2028sep\x85nel\u2029par"},  # YAML 1.1 line breaks
        {"source": " leading and trailing "},
        {"sapo": "'quoted' \"twice\""},
        {"text": "\nbody starting with a newline and ending with one\n"},
        {"text": "one paragraph\nwith a line break\n\n\nand extra blank lines"},
        {"text": "---\n\n---"},
    ],
)
def test_round_trip_of_awkward_values(changes: dict[str, object]) -> None:
    article = make_article(**changes)
    markdown = article_to_markdown(article)
    assert article_from_markdown(markdown, "x.md") == article
    assert article_to_markdown(article_from_markdown(markdown, "x.md")) == markdown


def test_text_is_exactly_the_stored_body() -> None:
    markdown = article_to_markdown(make_article())
    body_in_file = markdown.split("\n---\n\n", 1)[1][:-1]
    assert article_from_markdown(markdown, "x.md").text == body_in_file == BODY


def test_published_is_written_in_vietnam_time() -> None:
    utc = datetime(2019, 10, 5, 14, 36, tzinfo=UTC)
    markdown = article_to_markdown(make_article(published=utc))
    assert "published: '2019-10-05T21:36:00+07:00'" in markdown
    parsed = article_from_markdown(markdown, "x.md")
    assert parsed.published == utc
    assert parsed.published is not None and parsed.published.utcoffset() == timedelta(hours=7)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("published: 2019-10-05T21:36:00+07:00", datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)),
        ("published: '2019-10-05T21:36:00'", datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)),
        ("published: 2019-10-05", datetime(2019, 10, 5, tzinfo=VIETNAM_TZ)),
        ("published: '2019-10-05T14:36:00Z'", datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)),
        ("published: null", None),
        ("", None),
    ],
)
def test_hand_written_dates(line: str, expected: datetime | None) -> None:
    parsed = article_from_markdown(f"---\nid: a\ntitle: T\n{line}\n---\n\nBody.\n", "x.md")
    assert parsed.published == expected
    if expected is not None:
        assert parsed.published is not None and parsed.published.tzinfo is not None


def test_hand_written_file_variants_are_accepted() -> None:
    text = "---\r\nid: 21395276\r\ntitle: Tiêu đề\r\n---\r\nBody without the blank line.\r\n"
    parsed = article_from_markdown(text, "x.md")
    assert (parsed.id, parsed.title, parsed.source, parsed.url) == ("21395276", "Tiêu đề", "", None)
    assert parsed.text == "Body without the blank line."


def test_every_field_is_nfc() -> None:
    nfd = unicodedata.normalize("NFD", article_to_markdown(make_article()))
    assert nfd != article_to_markdown(make_article())
    parsed = article_from_markdown(nfd, "x.md")
    assert parsed == make_article()
    for value in (parsed.title, parsed.source, parsed.text, parsed.sapo, *parsed.tags):
        assert value is not None and unicodedata.is_normalized("NFC", value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id: a\ntitle: T\n\nBody.\n", "missing front matter"),
        ("---\nid: a\ntitle: T\n\nBody.\n", "not closed"),
        ("---\nid: [a\ntitle: T\n---\n\nBody.\n", "bad YAML"),
        ("---\n- a\n- b\n---\n\nBody.\n", "not a mapping"),
        ("---\ntitle: T\n---\n\nBody.\n", "missing id"),
        ("---\nid: a\ntitle: '  '\n---\n\nBody.\n", "missing title"),
        ("---\nid: a\ntitle: T\npublished: 'hôm qua'\n---\n\nBody.\n", "bad published date"),
        ("---\nid: a\ntitle: T\npublished: 2019-13-45\n---\n\nBody.\n", "bad published date"),
        ("---\nid: a\ntitle: T\n---\n\n \n\n", "empty body"),
        ("---\nid: a\ntitle: T\ntags: {a: 1}\n---\n\nBody.\n", "tags"),
    ],
)
def test_bad_files_raise_a_clear_error(text: str, reason: str) -> None:
    with pytest.raises(ArticleFormatError) as raised:
        article_from_markdown(text, "corpus/bad.md")
    assert raised.value.origin == "corpus/bad.md"
    assert reason in raised.value.reason
    assert str(raised.value).startswith("corpus/bad.md: ")


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"text": " \n\n "}, "empty body"),
        ({"id": ""}, "missing id"),
        ({"title": " "}, "missing title"),
        ({"text": "a\r\nb"}, "carriage returns"),
        ({"published": datetime(2019, 10, 5, 21, 36)}, "no timezone"),
        ({"title": unicodedata.normalize("NFD", "Hải Dương")}, "NFC"),
    ],
)
def test_articles_that_could_not_round_trip_are_refused(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(ArticleFormatError, match=reason):
        article_to_markdown(make_article(**changes))


def test_content_hash_tracks_the_serialised_file() -> None:
    article = make_article()
    assert content_hash(article) == content_hash(make_article())
    assert len(content_hash(article)) == 64
    assert content_hash(article) != content_hash(make_article(title="Khác"))
    # Same instant, other offset: the file is the same, so is the hash.
    same_instant = make_article(published=datetime(2019, 10, 5, 14, 36, tzinfo=UTC))
    assert content_hash(same_instant) == content_hash(article)


# --------------------------------------------------------------------------- paragraphs


def test_caption_paragraph_offsets_skip_the_marker() -> None:
    spans = paragraphs(BODY)
    assert [p.is_caption for p in spans] == [False, True, False, True, False]
    texts = [BODY[p.start : p.end] for p in spans]
    assert texts[1] == "Đồng chí Nguyễn Mạnh Hiển phát biểu tại hội nghị"
    assert texts[3] == "Các đại biểu dự hội nghị"
    assert BODY[spans[1].start - 2 : spans[1].start] == "> "
    assert texts[0].startswith("Hoạt động") and texts[4].endswith("sông Thái Bình.")


def test_paragraph_offsets_are_reproducible_from_the_file(tmp_path: Path) -> None:
    article = make_article()
    save_article(tmp_path, article)
    reread = read_corpus(tmp_path).articles[0]
    assert paragraphs(reread.text) == paragraphs(article.text)
    file_text = article_path(tmp_path, article.id).read_text(encoding="utf-8")
    body_offset = file_text.index("\n---\n\n") + len("\n---\n\n")
    for span in paragraphs(reread.text):
        assert file_text[body_offset + span.start : body_offset + span.end] == reread.text[span.start : span.end]


def test_paragraphs_tolerate_irregular_spacing() -> None:
    text = "\n  first line\nsecond line  \n\n\n\n>  caption with extra space\n\n>\n\nlast"
    spans = paragraphs(text)
    assert [text[p.start : p.end] for p in spans] == [
        "first line\nsecond line",
        "caption with extra space",
        ">",
        "last",
    ]
    assert [p.is_caption for p in spans] == [False, True, False, False]


# --------------------------------------------------------------------------- folder


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_read_corpus_reports_bad_files_and_reads_the_others(tmp_path: Path) -> None:
    save_article(tmp_path, make_article(id="b-article"))
    save_article(tmp_path, make_article(id="a-article"))
    write(tmp_path / "broken.md", "no front matter\n")
    write(tmp_path / "zz-duplicate.md", article_to_markdown(make_article(id="a-article", title="Bản sao")))
    (tmp_path / "binary.md").write_bytes(b"---\nid: \xff\xfe\n---\n\nx\n")
    write(tmp_path / "notes.txt", "ignored: not an article file")
    write(tmp_path / ".hidden.md", "ignored: hidden")

    read = read_corpus(tmp_path)

    assert [a.id for a in read.articles] == ["a-article", "b-article"]
    assert read.articles[0].title == make_article().title  # the first file wins
    reasons = dict(read.failures)
    assert set(reasons) == {str(tmp_path / n) for n in ("binary.md", "broken.md", "zz-duplicate.md")}
    assert "missing front matter" in reasons[str(tmp_path / "broken.md")]
    assert "duplicate id 'a-article'" in reasons[str(tmp_path / "zz-duplicate.md")]
    assert "cannot read" in reasons[str(tmp_path / "binary.md")]


def test_read_corpus_of_a_missing_folder_is_empty(tmp_path: Path) -> None:
    read = read_corpus(tmp_path / "nowhere")
    assert read.articles == [] and read.failures == []


def test_save_reports_new_updated_unchanged(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"  # created on first save
    article = make_article()
    assert save_article(corpus, article) == "new"
    path = article_path(corpus, article.id)
    assert path.read_text(encoding="utf-8") == article_to_markdown(article)
    assert path.stat().st_mode & 0o777 == 0o644

    before = path.stat()
    assert save_article(corpus, make_article()) == "unchanged"
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten

    assert save_article(corpus, make_article(title="Tiêu đề mới")) == "updated"
    assert read_corpus(corpus).articles == [make_article(title="Tiêu đề mới")]
    assert sorted(p.name for p in corpus.iterdir()) == [path.name]  # no temp files left


def test_failed_save_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    article = make_article()
    save_article(tmp_path, article)
    old = article_path(tmp_path, article.id).read_bytes()

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_article(tmp_path, make_article(title="Khác"))
    assert article_path(tmp_path, article.id).read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == [article_path(tmp_path, article.id).name]


def test_remove_article(tmp_path: Path) -> None:
    save_article(tmp_path, make_article())
    assert remove_article(tmp_path, make_article().id) is True
    assert remove_article(tmp_path, make_article().id) is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("article_id", ["21395276", "2019-10-05-tang-cuong-hop-tac", "a.b_c-d"])
def test_plain_ids_are_their_own_file_names(tmp_path: Path, article_id: str) -> None:
    assert article_path(tmp_path, article_id) == tmp_path / f"{article_id}.md"


@pytest.mark.parametrize(
    "article_id",
    [
        "../../etc/passwd",
        "..",
        ".hidden",
        "a/b",
        "a\\b",
        "C:\\x",
        "/abs",
        "Hải Dương",
        "UPPER",
        "",
        " ",
        "x" * 500,
    ],
)
def test_odd_ids_map_to_safe_names_inside_the_folder(tmp_path: Path, article_id: str) -> None:
    path = article_path(tmp_path, article_id)
    assert path.parent == tmp_path
    assert path.suffix == ".md"
    assert not path.name.startswith(".")
    assert len(path.name) <= 130
    assert all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in path.name)


def test_distinct_ids_get_distinct_files(tmp_path: Path) -> None:
    ids = ["UPPER", "upper", "Hải Dương", "hai duong", "hai-duong", "a/b", "a\\b", "../a", "a"]
    assert len({article_path(tmp_path, i) for i in ids}) == len(ids)


def test_odd_id_round_trips_through_the_folder(tmp_path: Path) -> None:
    article = make_article(id="../Bài viết/1")
    assert save_article(tmp_path, article) == "new"
    assert read_corpus(tmp_path).articles == [article]
    assert list(tmp_path.parent.glob("*.md")) == []
    assert remove_article(tmp_path, article.id)


def test_timezone_other_than_vietnam_is_kept_as_the_same_instant(tmp_path: Path) -> None:
    tokyo = datetime(2019, 10, 5, 23, 36, tzinfo=timezone(timedelta(hours=9)))
    save_article(tmp_path, make_article(published=tokyo))
    (article,) = read_corpus(tmp_path).articles
    assert article.published == tokyo
    assert article.published is not None and article.published.hour == 21


def test_an_error_about_an_id_with_a_line_break_is_one_line() -> None:
    # Found by tests/retrieval/articles/test_properties.py: the id was put in the message as it was.
    article = Article(id="2019-10-05-hai-duong\nbac-giang", title="Hải Dương", published=None, source="", text="")
    with pytest.raises(ArticleFormatError) as raised:
        article_to_markdown(article)
    assert str(raised.value) == "2019-10-05-hai-duong bac-giang: empty body"
