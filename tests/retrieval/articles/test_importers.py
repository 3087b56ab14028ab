"""Importers: crawled .txt pages, JSONL(.gz), HTML, Markdown, and bad input (retrieval.importers)."""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from retrieval.articles import importers
from retrieval.articles.corpus import (
    VIETNAM_TZ,
    article_from_markdown,
    article_path,
    article_to_markdown,
    paragraphs,
    save_article,
)
from retrieval.articles.importers import ImportResult, import_path, is_caption, parse_date_line
from retrieval.models import Article
from tests.conftest import REPO

SHARED = REPO.parent / "shared"
SEED = SHARED / "seeds" / "000_59940e11ff252aed.txt"
BAOMOI = SHARED / "data" / "news-vi" / "baomoi-2017.jsonl.gz"
SEED_ID = "2019-10-05-tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang"

# An abridged copy of the seed page, same layout: crawl date, title, date line, font-size
# widget + lead, captions between paragraphs, "Theo ...", the "more articles" trailer.
PAGE = """Thứ tư, ngày 24/4/2024

Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang

Thứ Bảy 05/10/2019 21:36

Xem với cỡ chữ
Hoạt động hợp tác giữa 2 tỉnh đã đạt được những kết quả tích cực trên các lĩnh vực công thương...

Các đồng chí Bí thư Tỉnh ủy Hải Dương Nguyễn Mạnh Hiển và Bí thư Tỉnh ủy Bắc Giang Bùi Văn Hải trao đổi biên bản ghi nhớ hợp tác phát triển giữa 2 địa phương giai đoạn 2020-2025

Chiều 5.10, tại TP Chí Linh, các đồng chí chủ trì hội nghị giữa Ban Thường vụ 2 tỉnh về hợp tác phát triển kinh tế - xã hội (KTXH).

Đồng chí Nguyễn Mạnh Hiển, Ủy viên Trung ương Đảng, Bí thư Tỉnh uỷ, Chủ tịch HĐND tỉnh phát biểu tại hội nghị

HĐND, UBND tỉnh, các sở, ngành  2 địa phương chủ động phối hợp nghiên cứu.

Đồng chí Nguyễn Dương Thái, Phó Bí thư Tỉnh uỷ, Chủ tịch UBND tỉnh, Trưởng Đoàn đại biểu Quốc hội tỉnh Hải Dương thông tin khái quát tình hình phát triển kinh tế - xã hội của Hải Dương thời gian qua

Tăng cường tuyên truyền, quảng bá hình ảnh của 2 tỉnh...

Theo Báo Hải Dương

CÁC BÀI VIẾT KHÁC:
Hải Dương: Khánh thành cầu mới
Bắc Giang tiếp đoàn công tác"""  # noqa: E501 (real page lines are long)

FURNITURE = ("Thứ tư, ngày 24/4/2024", "Xem với cỡ chữ", "CÁC BÀI VIẾT KHÁC", "Theo Báo", "Khánh thành")


def import_text(tmp_path: Path, name: str, text: str) -> ImportResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_path(path)


def only_article(result: ImportResult) -> Article:
    assert result.failures == []
    assert len(result.articles) == 1
    return result.articles[0]


def caption_texts(article: Article) -> list[str]:
    return [article.text[p.start : p.end] for p in paragraphs(article.text) if p.is_caption]


# --------------------------------------------------------------------------- crawled .txt


def test_crawled_page_metadata(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.txt", PAGE))
    assert article.id == SEED_ID
    assert article.title == "Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang"
    assert article.published == datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)
    assert article.source == "Báo Hải Dương"
    assert article.url is None


def test_crawled_page_furniture_is_gone(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.txt", PAGE))
    for furniture in FURNITURE:
        assert furniture not in article.text
    assert "21:36" not in article.text
    assert article.text.endswith("Tăng cường tuyên truyền, quảng bá hình ảnh của 2 tỉnh...")


def test_crawled_page_sapo_is_first_paragraph_and_field(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.txt", PAGE))
    lead = "Hoạt động hợp tác giữa 2 tỉnh đã đạt được những kết quả tích cực trên các lĩnh vực công thương..."
    assert article.sapo == lead
    assert article.text.startswith(lead + "\n\n")


def test_crawled_page_captions_are_marked(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.txt", PAGE))
    captions = caption_texts(article)
    assert len(captions) == 3
    assert captions[0].startswith("Các đồng chí Bí thư Tỉnh ủy Hải Dương")
    assert captions[1] == (
        "Đồng chí Nguyễn Mạnh Hiển, Ủy viên Trung ương Đảng, Bí thư Tỉnh uỷ, Chủ tịch HĐND tỉnh phát biểu tại hội nghị"
    )
    assert captions[2].endswith("thời gian qua")
    assert article.text.count("\n\n> ") == 3
    # Article sentences and the lead are body text, with their characters untouched.
    assert "\n\nHĐND, UBND tỉnh, các sở, ngành  2 địa phương chủ động phối hợp nghiên cứu.\n\n" in article.text


def test_crawled_page_paragraphs_are_separated_by_one_blank_line(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.txt", PAGE))
    assert "\n\n\n" not in article.text
    assert all("\n" not in article.text[p.start : p.end] for p in paragraphs(article.text))
    assert len(paragraphs(article.text)) == 7  # lead, 3 captions, 3 paragraphs


def test_crawled_page_with_crlf_and_nfd_becomes_nfc(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", PAGE).replace("\n", "\r\n")
    path = tmp_path / "page.txt"
    path.write_bytes(nfd.encode("utf-8"))
    article = only_article(import_path(path))
    assert article == only_article(import_text(tmp_path, "page2.txt", PAGE))
    for value in (article.title, article.source, article.text, article.sapo or ""):
        assert unicodedata.is_normalized("NFC", value)
        assert "\r" not in value


def test_imported_page_saves_and_reads_back_identically(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.txt", PAGE))
    corpus = tmp_path / "corpus"
    assert save_article(corpus, article) == "new"
    stored = article_path(corpus, article.id).read_text(encoding="utf-8")
    assert article_from_markdown(stored, "x") == article


@pytest.mark.skipif(not SEED.is_file(), reason=f"seed page not found at {SEED} (shared data absent)")
def test_real_seed_page_matches_the_committed_corpus_file() -> None:
    article = only_article(import_path(SEED))
    assert article.id == SEED_ID
    assert article.title == "Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang"
    assert article.published == datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)
    assert article.source == "Báo Hải Dương"
    assert len(caption_texts(article)) == 5
    assert all(c.startswith(("Đồng chí", "Các đồng chí")) for c in caption_texts(article))
    for furniture in FURNITURE:
        assert furniture not in article.text
    committed = article_path(REPO / "corpus", SEED_ID)
    assert committed.read_text(encoding="utf-8") == article_to_markdown(article)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Thứ Bảy 05/10/2019 21:36", datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)),
        ("thứ hai 7/10/2019", datetime(2019, 10, 7, tzinfo=VIETNAM_TZ)),
        ("CHỦ NHẬT, ngày 06/10/2019 08:05", datetime(2019, 10, 6, 8, 5, tzinfo=VIETNAM_TZ)),
        ("Thứ Năm, 10/10/2019 - 07:15 (GMT+7)", datetime(2019, 10, 10, 7, 15, tzinfo=VIETNAM_TZ)),
        ("Thứ tư, ngày 24/4/2024", datetime(2024, 4, 24, tzinfo=VIETNAM_TZ)),
        ("Thứ 6, 11/10/2019 14h30", datetime(2019, 10, 11, 14, 30, tzinfo=VIETNAM_TZ)),
        ("21:36 05/10/2019", datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)),
        ("05/10/2019", datetime(2019, 10, 5, tzinfo=VIETNAM_TZ)),
        ("31/02/2019", None),
        ("Thứ Bảy vừa qua 05/10/2019", None),
        ("Ngày 5/10/2019, hai tỉnh ký kết biên bản ghi nhớ.", None),
    ],
)
def test_date_lines(line: str, expected: datetime | None) -> None:
    assert parse_date_line(line) == expected


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("Đồng chí Bùi Văn Hải, Bí thư Tỉnh ủy Bắc Giang phát biểu tại hội nghị", True),
        ("Quang cảnh hội nghị", True),
        ("Lãnh đạo hai tỉnh ký kết biên bản ghi nhớ hợp tác (Ảnh: Thành Chung)", True),
        ("Ảnh: Thành Chung", True),
        ("Các đại biểu tham quan khu công nghiệp Đại An và nhà máy chế biến nông sản xuất khẩu", True),
        ("Đồng chí Bùi Văn Hải phát biểu tại hội nghị.", False),  # a sentence
        ("Hai tỉnh sẽ phối hợp đầu tư xây dựng cầu Đồng Việt?", False),
        ("NGUYỄN HƯƠNG", False),  # byline
        ("Hợp tác nông nghiệp", False),  # short sub-heading
        ("Hội nghị đã thống nhất nhiều nội dung quan trọng:", False),
        ("", False),
    ],
)
def test_caption_heuristic(paragraph: str, expected: bool) -> None:
    assert is_caption(paragraph) is expected


def test_txt_without_page_structure_falls_back_to_plain_text(tmp_path: Path) -> None:
    text = "Ghi chú về hợp tác vùng\n\nHai tỉnh thống nhất lập tổ công tác chung.\nTheo dõi tiến độ hằng quý.\n"
    article = only_article(import_text(tmp_path, "note.txt", text))
    assert article.title == "Ghi chú về hợp tác vùng"
    assert article.published is None
    assert article.source == ""
    assert article.sapo is None
    assert article.id == "ghi-chu-ve-hop-tac-vung"
    assert article.text == "Hai tỉnh thống nhất lập tổ công tác chung.\n\nTheo dõi tiến độ hằng quý."


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"  \n\n\t\n", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (b"\xff\xfe\xfa garbage \xc3\x28", "not UTF-8"),
        ("Chỉ một dòng".encode(), "no body text"),
    ],
)
def test_bad_txt_is_a_failure_with_a_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(data)
    result = import_path(path)
    assert result.articles == []
    assert len(result.failures) == 1
    assert result.failures[0][0] == str(path)
    assert reason in result.failures[0][1]
    assert "\n" not in result.failures[0][1]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
@pytest.mark.parametrize("name", ["page.txt", "article.md"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read_as_text(tmp_path: Path, encoding: str, name: str) -> None:
    """A UTF-16 file was "binary file (contains NUL bytes)" (issue 23)."""
    text = PAGE if name.endswith(".txt") else article_to_markdown(only_article(import_text(tmp_path, "p.txt", PAGE)))
    bom = {"utf-16-be": b"\xfe\xff", "utf-32-be": b"\x00\x00\xfe\xff"}.get(encoding, b"")
    path = tmp_path / name
    path.write_bytes(bom + text.replace("\n", "\r\n").encode(encoding))  # "utf-16", "utf-32": the codec's own mark
    article = only_article(import_path(path))
    assert article == only_article(import_text(tmp_path, "utf8.txt", PAGE))


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "huge.txt"
    big.write_text(PAGE, "utf-8")
    monkeypatch.setattr(importers, "_import_txt", lambda path: pytest.fail("a file over the limit was read"))
    result = import_path(tmp_path, max_bytes=len(PAGE) // 2)
    assert result.articles == []
    [(path, reason)] = result.failures
    assert path == str(big)
    assert reason.startswith("too large (0.0 MB; the limit is 0.0 MB") and "ingest_max_bytes" in reason


def test_a_jsonl_line_over_the_size_limit_is_refused_and_the_others_go_in(tmp_path: Path) -> None:
    small = {"id": "a", "title": "Ngắn", "body": "Hai tỉnh ký kết."}
    large = {"id": "b", "title": "Dài", "body": "Hai tỉnh ký kết. " * 200}
    path = tmp_path / "two.jsonl"
    path.write_text(jsonl([large, small]), "utf-8")
    result = import_path(path, max_bytes=1_000)
    assert [a.id for a in result.articles] == ["a"]
    assert [(p, r.split(" (")[0]) for p, r in result.failures] == [(f"{path}:1", "too large")]


def test_txt_holding_project_markdown_is_read_as_markdown(tmp_path: Path) -> None:
    text = "---\nid: ghi-chu\ntitle: Ghi chú\npublished: '2019-10-05T21:36:00+07:00'\n---\n\nNội dung.\n"
    article = only_article(import_text(tmp_path, "note.txt", text))
    assert (article.id, article.title, article.text) == ("ghi-chu", "Ghi chú", "Nội dung.")


# --------------------------------------------------------------------------- Markdown


def test_markdown_file_imports_and_bad_markdown_fails(tmp_path: Path) -> None:
    good = Article(id="a", title="Tiêu đề", published=None, source="Báo X", text="Đoạn một.\n\n> Chú thích ảnh")
    (tmp_path / "good.md").write_text(article_to_markdown(good), encoding="utf-8")
    (tmp_path / "bad.md").write_text("---\ntitle: Không có id\n---\n\nx\n", encoding="utf-8")
    result = import_path(tmp_path)
    assert result.articles == [good]
    assert result.failures == [(str(tmp_path / "bad.md"), "missing id")]


# --------------------------------------------------------------------------- JSONL


def jsonl(records: Sequence[object]) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records) + "\n"


GOOD_RECORD = {
    "id": 21395276,
    "title": "Hải Dương và Bắc Giang ký kết hợp tác",
    "sapo": "  Hai tỉnh ký biên bản ghi nhớ.  ",
    "body": "Chiều 5.10, tại TP Chí Linh,  hai tỉnh\tký kết.\r\nCầu Đồng Việt sẽ được xây dựng.\n\n",
    "url": "https://example.vn/a",
    "published": "2019-10-05T21:36:00",
    "source": "Báo Hải Dương",
}


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    lines: list[object] = [
        GOOD_RECORD,
        "{not json",
        {"title": "Không có id", "body": "x"},
        {"id": "b", "body": "x"},
        {"id": "c", "title": "Không có thân bài"},
        {"id": "d", "title": "Ngày sai", "body": "x", "published": "hôm qua"},
        ["not", "an", "object"],
        "",
        {"id": "e", "title": "Tối thiểu", "body": "Chỉ thân bài."},
    ]
    path = tmp_path / "news.jsonl"
    path.write_text(jsonl(lines), encoding="utf-8")
    result = import_path(path)

    assert [a.id for a in result.articles] == ["21395276", "e"]
    failures = dict(result.failures)
    assert set(failures) == {f"{path}:{n}" for n in (2, 3, 4, 5, 6, 7)}
    assert failures[f"{path}:2"].startswith("invalid JSON")
    assert failures[f"{path}:3"] == "missing id"
    assert failures[f"{path}:4"] == "missing title"
    assert failures[f"{path}:5"] == "missing body"
    assert "bad published date" in failures[f"{path}:6"]
    assert failures[f"{path}:7"] == "not a JSON object"

    article = result.articles[0]
    assert article.title == "Hải Dương và Bắc Giang ký kết hợp tác"
    assert article.published == datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)
    assert (article.source, article.url, article.sapo) == (
        "Báo Hải Dương",
        "https://example.vn/a",
        "Hai tỉnh ký biên bản ghi nhớ.",
    )
    # Sapo first, then one paragraph per body line; characters inside a line untouched.
    assert article.text == (
        "Hai tỉnh ký biên bản ghi nhớ.\n\n"
        "Chiều 5.10, tại TP Chí Linh,  hai tỉnh\tký kết.\n\n"
        "Cầu Đồng Việt sẽ được xây dựng."
    )
    minimal = result.articles[1]
    assert (minimal.published, minimal.source, minimal.url, minimal.sapo) == (None, "", None, None)


def test_jsonl_gz_and_nfd_records_become_nfc(tmp_path: Path) -> None:
    record = {
        key: unicodedata.normalize("NFD", value) if isinstance(value, str) else value
        for key, value in GOOD_RECORD.items()
    }
    path = tmp_path / "news.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(jsonl([record]))
    article = only_article(import_path(path))
    assert article == only_article(import_text(tmp_path, "plain.jsonl", jsonl([GOOD_RECORD])))
    for value in (article.title, article.text, article.source, article.sapo or ""):
        assert unicodedata.is_normalized("NFC", value)


def test_empty_body_with_a_sapo_is_still_an_article(tmp_path: Path) -> None:
    record = {"id": "x", "title": "Chỉ có sapo", "sapo": "Đoạn dẫn.", "body": ""}
    article = only_article(import_text(tmp_path, "a.jsonl", jsonl([record])))
    assert article.text == "Đoạn dẫn."


def test_truncated_gzip_keeps_the_lines_before_the_damage(tmp_path: Path) -> None:
    records = [{"id": str(i), "title": f"Bài {i}", "body": "Nội dung " * 200} for i in range(50)]
    data = gzip.compress(jsonl(records).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    result = import_path(path)
    assert result.failures and result.failures[-1][0] == str(path)
    assert "cannot read" in result.failures[-1][1]
    assert [a.id for a in result.articles] == [str(i) for i in range(len(result.articles))]


@pytest.mark.skipif(not BAOMOI.is_file(), reason=f"news data not found at {BAOMOI} (shared data absent)")
def test_real_baomoi_line(tmp_path: Path) -> None:
    with gzip.open(BAOMOI, "rt", encoding="utf-8") as handle:
        first = handle.readline()
    record = json.loads(first)
    path = tmp_path / "one.jsonl"
    path.write_text(first, encoding="utf-8")
    article = only_article(import_path(path))
    assert article.id == str(record["id"])
    assert article.title == unicodedata.normalize("NFC", record["title"]).strip()
    paras = [article.text[p.start : p.end] for p in paragraphs(article.text)]
    assert paras[0] == unicodedata.normalize("NFC", record["sapo"]).strip()
    # The body is kept character for character, so citations are exact slices of it.
    assert paras[1] == unicodedata.normalize("NFC", record["body"]).strip()
    assert article_from_markdown(article_to_markdown(article), "x") == article


# --------------------------------------------------------------------------- HTML

HTML_PAGE = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>Tăng cường hợp tác Hải Dương - Bắc Giang | Báo Hải Dương</title>
<meta property="og:site_name" content="Báo Hải Dương">
<meta property="og:title" content="Tăng cường hợp tác Hải Dương - Bắc Giang">
<meta property="article:published_time" content="2019-10-05T21:36:00+07:00">
<link rel="canonical" href="https://baohaiduong.vn/tang-cuong-hop-tac.html">
</head><body>
<nav><a href="/">Trang chủ</a> | <a href="/thoi-su">Thời sự</a> | <a href="/kinh-te">Kinh tế</a></nav>
<article><h1>Tăng cường hợp tác Hải Dương - Bắc Giang</h1>
<p>Chiều 5.10, tại TP Chí Linh, lãnh đạo hai tỉnh Hải Dương và Bắc Giang chủ trì hội nghị về hợp tác
phát triển kinh tế - xã hội giữa hai địa phương.</p>
<p>Hai tỉnh sẽ phối hợp đầu tư xây dựng cầu Đồng Việt qua sông Thái Bình giữa huyện Yên Dũng và TP Chí Linh
để thúc đẩy phát triển khu vực giáp ranh.</p>
<p>Hai bên ký kết biên bản ghi nhớ hợp tác phát triển giai đoạn 2020-2025, đẩy mạnh trao đổi kinh nghiệm về
cải cách hành chính và thu hút đầu tư.</p>
</article>
<footer>Bản quyền thuộc về Báo Hải Dương. Liên hệ quảng cáo.</footer>
</body></html>"""


def test_html_page_with_trafilatura(tmp_path: Path) -> None:
    article = only_article(import_text(tmp_path, "page.html", HTML_PAGE))
    assert article.title == "Tăng cường hợp tác Hải Dương - Bắc Giang"
    assert article.published == datetime(2019, 10, 5, 21, 36, tzinfo=VIETNAM_TZ)
    assert article.source == "Báo Hải Dương"
    assert article.url == "https://baohaiduong.vn/tang-cuong-hop-tac.html"
    assert article.id == "2019-10-05-tang-cuong-hop-tac-hai-duong-bac-giang"
    paras = [article.text[p.start : p.end] for p in paragraphs(article.text)]
    assert len(paras) == 3
    assert paras[0].startswith("Chiều 5.10, tại TP Chí Linh")
    assert paras[1].startswith("Hai tỉnh sẽ phối hợp đầu tư xây dựng cầu Đồng Việt")
    assert "Trang chủ" not in article.text and "Bản quyền" not in article.text
    assert article_from_markdown(article_to_markdown(article), "x") == article


def test_html_without_article_text_is_a_failure(tmp_path: Path) -> None:
    result = import_text(
        tmp_path, "empty.htm", "<html><head><title>x</title></head><body><nav>menu</nav></body></html>"
    )
    assert result.articles == []
    assert result.failures == [(str(tmp_path / "empty.htm"), "no article text found in the HTML page")]


# --------------------------------------------------------------------------- dispatch


def test_unknown_extension_is_a_failure(tmp_path: Path) -> None:
    result = import_text(tmp_path, "article.docx", "whatever")
    assert result.articles == []
    assert result.failures == [(str(tmp_path / "article.docx"), "unsupported file type (.docx)")]


def test_missing_path_is_a_failure(tmp_path: Path) -> None:
    result = import_path(tmp_path / "nowhere.txt")
    assert result.failures == [(str(tmp_path / "nowhere.txt"), "no such file or folder")]


def test_folder_import_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "b" / "page.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "a.jsonl").write_text(jsonl([GOOD_RECORD]), encoding="utf-8")
    (tmp_path / "c.jsonl").write_text(jsonl([GOOD_RECORD]), encoding="utf-8")  # same id again
    (tmp_path / ".hidden.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / ".git" / "x.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "folder.txt").mkdir()  # a folder named like a file is just walked into

    result = import_path(tmp_path)

    assert [a.id for a in result.articles] == ["21395276", SEED_ID]
    assert result.failures == [
        (str(tmp_path / "c.jsonl"), "duplicate id '21395276' in this import; first one kept"),
        (str(tmp_path / "notes.pdf"), "unsupported file type (.pdf)"),
    ]


def test_unexpected_errors_never_escape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_importer(path: Path) -> ImportResult:
        raise RuntimeError("parser bug\nwith a second line")

    monkeypatch.setitem(importers._IMPORTERS, ".txt", broken_importer)
    result = import_text(tmp_path, "page.txt", PAGE)
    assert result.articles == []
    assert result.failures == [(str(tmp_path / "page.txt"), "RuntimeError: parser bug with a second line")]


def test_a_folder_named_like_a_file_is_not_read_as_one(tmp_path: Path) -> None:
    (tmp_path / "x.txt").mkdir()
    result = importers.import_file(tmp_path / "x.txt")
    assert result.articles == []
    assert "IsADirectoryError" in result.failures[0][1]
