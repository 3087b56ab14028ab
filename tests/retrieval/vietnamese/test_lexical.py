"""Lexical tokens: diacritics folding, abbreviations, and BM25 ranking."""

from __future__ import annotations

from retrieval.local.postings import LexicalIndex, Vocabulary
from retrieval.vietnamese.analyzer import FOLDED, Analyzer
from retrieval.vietnamese.text import normalise_word

DOCS = [
    "Dự án cầu Đồng Việt qua sông Thái Bình giữa huyện Yên Dũng và TP Chí Linh.",
    "Công nhận quần thể di tích Yên Tử là di sản thế giới.",
    "The bridge is the main project.",
    "Chủ tịch HĐND tỉnh Hải Dương phát biểu về phát triển KTXH.",
]


def _best(index: LexicalIndex, analyzer: Analyzer, query: str) -> int:
    scores = index.scores(analyzer.query_tokens(query))
    return int(scores.argmax()) if scores.max() > 0 else -1


def test_query_without_diacritics_finds_the_accented_text() -> None:
    analyzer = Analyzer()
    index = LexicalIndex.build(analyzer.document_tokens(d) for d in DOCS)
    assert _best(index, analyzer, "cau Dong Viet o dau") == 0


def test_english_the_does_not_match_the_folded_the_of_the_gioi() -> None:
    analyzer = Analyzer()
    assert FOLDED + "the" not in analyzer.query_tokens("the world heritage")
    assert "thế" in analyzer.query_tokens("di sản thế giới")
    assert FOLDED + "the" not in analyzer.query_tokens("di sản thế giới")


def test_accented_query_matches_exact_forms_only() -> None:
    analyzer = Analyzer()
    index = LexicalIndex.build(analyzer.document_tokens(d) for d in DOCS)
    scores = index.scores(analyzer.query_tokens("di sản thế giới"))
    assert scores.argmax() == 1
    assert scores[2] == 0  # "The bridge..." shares no exact word


def test_abbreviations_expand_both_ways() -> None:
    analyzer = Analyzer()
    assert {"hội", "đồng", "nhân", "dân"} <= set(analyzer.query_tokens("HĐND tỉnh"))
    assert "ktxh" in analyzer.query_tokens("phát triển kinh tế - xã hội")
    index = LexicalIndex.build(analyzer.document_tokens(d) for d in DOCS)
    assert _best(index, analyzer, "hoi dong nhan dan tinh Hai Duong") == 3


def test_old_and_new_tone_placement_are_the_same_word() -> None:
    assert normalise_word("hoá") == normalise_word("hóa")
    assert normalise_word("Uỷ") == normalise_word("ủy")
    assert normalise_word("quý") == "quý"


def test_index_survives_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    analyzer = Analyzer()
    index = LexicalIndex.build(analyzer.document_tokens(d) for d in DOCS)
    index.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex")
    query = analyzer.query_tokens("cầu Đồng Việt")
    assert list(loaded.scores(query)) == list(index.scores(query))
    assert loaded.idf("~cau") == index.idf("~cau")


def test_word_pairs_beat_the_same_syllables_scattered_over_a_text() -> None:
    analyzer = Analyzer()
    scattered = (
        "Câu chuyện dầu khí: đồng vốn đâu đâu cũng thiếu, người Việt viết về dầu, "
        "đầu tư đồng bộ, việc đâu vào đấy, câu hỏi về dầu mỏ của nước Việt."
    )
    bridge = "Dự án cầu Đồng Việt qua sông Thái Bình."
    index = LexicalIndex.build(analyzer.document_tokens(d) for d in (scattered, bridge))
    assert _best(index, analyzer, "cau Dong Viet o dau") == 1
    assert "~dong_viet" in analyzer.query_tokens("cau Dong Viet")
    assert "đồng_việt" in analyzer.query_tokens("cầu Đồng Việt")


def test_a_saved_vocabulary_finds_every_token_and_nothing_else(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tokens = ["đồng", "dong", "đồng việt", "a", "ab", "", "Đồng", "z" * 40, "😀", "cầu"]
    built = Vocabulary({token: column for column, token in enumerate(tokens)})
    built.save(tmp_path)
    loaded = Vocabulary.load(tmp_path)

    assert len(loaded) == len(tokens)
    for column, token in enumerate(tokens):
        assert loaded.get(token) == built.get(token) == column
    for absent in ("b", "aa", "abc", "đồn", "đồng việt nam", "ĐỒNG", "zz"):
        assert loaded.get(absent) is None


def test_an_empty_vocabulary_saves_and_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    Vocabulary({}).save(tmp_path)
    loaded = Vocabulary.load(tmp_path)
    assert len(loaded) == 0
    assert loaded.get("cầu") is None


def test_a_loaded_index_scores_exactly_as_the_built_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    analyzer = Analyzer()
    built = LexicalIndex.build(analyzer.document_tokens(d) for d in DOCS)
    built.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    for query in ("cau Dong Viet o dau", "di sản thế giới", "HĐND KTXH", "bridge project", "không có"):
        tokens = analyzer.query_tokens(query)
        assert loaded.scores(tokens).tolist() == built.scores(tokens).tolist()
