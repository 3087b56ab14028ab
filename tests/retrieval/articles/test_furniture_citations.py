"""Page furniture is never cited: not in the seed-sized index, not over real news-vi articles."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from hoptac.settings import Settings
from retrieval.articles.furniture import find_furniture
from retrieval.engine import IndexMismatchError
from retrieval.local.engine import LocalEngine
from retrieval.local.index import FORMAT_VERSION, IndexStore
from retrieval.models import Article
from tests.conftest import REPO, HashingEmbedder

BAOMOI = REPO.parent / "shared" / "data" / "news-vi" / "baomoi-2017.jsonl.gz"
SAMPLE_ARTICLES = 200

LINK = "[Nhật Bản cam kết hợp tác với ASEAN duy trì trật tự quốc tế cởi mở]"
ASEAN = {
    "id": "asean-2017",
    "title": "Nhật Bản công bố sáng kiến tăng hợp tác quốc phòng với ASEAN",
    "published": "2017-06-20T09:00:00+07:00",
    "body": "Bộ trưởng Quốc phòng Nhật Bản công bố sáng kiến Vientiane về hợp tác quốc phòng với ASEAN. "
    f"Sáng kiến nhằm duy trì một trật tự dựa trên luật lệ trong khu vực.  {LINK}  "
    "Theo Bộ Ngoại giao Nhật Bản, Tổng thư ký ASEAN Lê Lương Minh hoan nghênh sáng kiến này. "
    "Quan chức hai bên gặp nhau tại Jakarta (Ảnh: Kyodo) Hai bên nhất trí tổ chức diễn tập chung. Minh Hằng",
}


def _engine(settings: Settings) -> LocalEngine:
    return LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]


def _write_jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _sentence_spans(engine: LocalEngine, article_id: str) -> list[tuple[int, int]]:
    index = engine.index
    row = index.article_index[article_id]
    rows = index.sentence_rows[index.sentence_rows[:, 0] == row]
    return [(int(s), int(e)) for s, e in rows[:, 1:3]]


def test_furniture_is_never_a_sentence_of_the_index_and_other_offsets_are_exact(
    settings: Settings, tmp_path: Path
) -> None:
    engine = _engine(settings)
    engine.ingest([_write_jsonl(tmp_path / "a.jsonl", [ASEAN])])
    article = engine.article("asean-2017")
    furniture = [(f.start, f.end) for f in find_furniture(article.text)]
    assert [article.text[s:e] for s, e in furniture] == [LINK, "(Ảnh: Kyodo)", "Minh Hằng"]
    spans = _sentence_spans(engine, "asean-2017")
    assert not any(s < fe and fs < e for s, e in spans for fs, fe in furniture)
    assert [article.text[s:e] for s, e in spans] == [
        "Bộ trưởng Quốc phòng Nhật Bản công bố sáng kiến Vientiane về hợp tác quốc phòng với ASEAN.",
        "Sáng kiến nhằm duy trì một trật tự dựa trên luật lệ trong khu vực.",
        "Theo Bộ Ngoại giao Nhật Bản, Tổng thư ký ASEAN Lê Lương Minh hoan nghênh sáng kiến này.",
        "Quan chức hai bên gặp nhau tại Jakarta",
        "Hai bên nhất trí tổ chức diễn tập chung.",
    ]


def test_asking_with_a_related_title_quotes_the_article_never_the_title(settings: Settings, tmp_path: Path) -> None:
    engine = _engine(settings)
    engine.ingest([_write_jsonl(tmp_path / "a.jsonl", [ASEAN])])
    article = engine.article("asean-2017")
    start = article.text.index(LINK)
    for question in (LINK.strip("[]"), "Nhật Bản cam kết gì với ASEAN?", "Ảnh Kyodo", "Minh Hằng"):
        for citation in engine.ask(question, limit=10).citations:
            assert article.text[citation.start : citation.end] == citation.sentence
            assert citation.end <= start or citation.start >= start + len(LINK)
            assert "Kyodo" not in citation.sentence and "Minh Hằng" not in citation.sentence


def test_an_index_built_before_furniture_was_recognised_asks_for_a_reindex_which_applies_it(
    settings: Settings, tmp_path: Path
) -> None:
    engine = _engine(settings)
    engine.ingest([_write_jsonl(tmp_path / "a.jsonl", [ASEAN])])
    store = IndexStore(settings.engine_config().index_root)
    manifest_path = store.versions / str(store.current_version()) / "manifest.json"
    data = json.loads(manifest_path.read_text("utf-8"))
    manifest_path.write_text(json.dumps({**data, "format": FORMAT_VERSION - 1}), "utf-8")
    with pytest.raises(IndexMismatchError, match="hoptac reindex"):
        store.load()
    fresh = _engine(settings)
    fresh.reindex()
    assert store.read_manifest().format == FORMAT_VERSION
    text = fresh.article("asean-2017").text
    assert all(LINK not in text[s:e] for s, e in _sentence_spans(fresh, "asean-2017"))


# -- real news ------------------------------------------------------------------------------

# How the crawl writes a link to another article: its title (three words or more, capitalised)
# in brackets, standing between two sentences: terminal punctuation, a closing quote or two
# spaces before it, a capital after it. Written here independently of retrieval/articles/furniture.py.
_BRACKETS = re.compile(r"\[([^\[\]\n]{10,250})\]")


def _titles(article: Article) -> list[tuple[int, int]]:
    text = article.text
    spans = []
    for match in _BRACKETS.finditer(text):
        before = text[: match.start()]
        after = text[match.end() :].lstrip()
        title = match.group(1)
        if (
            len(title.split()) >= 3
            and (title[0].isupper() or title[0] in '"“')
            and (before.rstrip()[-1:] in tuple('.!?…"”’»)') or before.endswith("  ") or not before.strip())
            and (not after or after[0].isupper() or after[0] in '"“')
        ):
            spans.append(match.span())
    return spans


def _sample() -> list[dict[str, str]]:
    """The first SAMPLE_ARTICLES news-vi articles (file order) with an inline bracketed title."""
    if not BAOMOI.is_file():
        pytest.skip(f"news data not found at {BAOMOI} (shared data absent)")
    from retrieval.articles.importers import article_from_record

    chosen: list[dict[str, str]] = []
    with gzip.open(BAOMOI, "rt", encoding="utf-8") as handle:
        for line in handle:
            if "[" not in line:
                continue
            record = json.loads(line)
            if _titles(article_from_record(record)):
                chosen.append(record)
                if len(chosen) == SAMPLE_ARTICLES:
                    break
    return chosen


def test_no_bracketed_title_of_news_vi_is_ever_cited(settings: Settings, tmp_path: Path) -> None:
    records = _sample()
    assert len(records) == SAMPLE_ARTICLES
    engine = _engine(settings)
    report = engine.ingest([_write_jsonl(tmp_path / "news.jsonl", records)])
    assert report.ok, report.failures[:3]
    titles = {a: _titles(engine.article(a)) for a in (r["id"] for r in records)}
    # Not one sentence of the index overlaps a title ...
    for article_id, spans in titles.items():
        for s, e in _sentence_spans(engine, article_id):
            assert not any(s < te and ts < e for ts, te in spans), (article_id, engine.article(article_id).text[s:e])
    # ... so asking with each title's own words never quotes one.
    asked = answered = 0
    for article_id, spans in titles.items():
        text = engine.article(article_id).text
        for ts, te in spans:
            asked += 1
            answer = engine.ask(text[ts + 1 : te - 1], limit=5)
            answered += answer.found
            for citation in answer.citations:
                cited = engine.article(citation.article_id).text
                assert cited[citation.start : citation.end] == citation.sentence
                assert not any(
                    citation.start < other_end and other_start < citation.end
                    for other_start, other_end in titles.get(citation.article_id, [])
                ), (citation.article_id, citation.sentence)
    assert asked >= SAMPLE_ARTICLES
    assert answered >= asked // 2  # the check is not empty: most titles do find an answer
