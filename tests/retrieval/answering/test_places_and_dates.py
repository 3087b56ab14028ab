"""With the real model: questions with the 2025 unit names, and questions about time."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.format import format_answer
from hoptac.cli.console import print_answer
from hoptac.settings import Settings
from markup.html import escape
from retrieval.local.engine import LocalEngine
from retrieval.models import Answer
from tests.conftest import CORPUS, DATED

pytestmark = pytest.mark.model

SEED_ID = "2019-10-05-tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang"
#: Questions that name a year, a month or a quarter of 2019 (one without diacritics).
IN_2019 = (
    "Năm 2019 kinh phí quảng bá chung là bao nhiêu?",
    "nam 2019 kinh phi quang ba chung la bao nhieu",
    "Tháng 3/2019 hai tỉnh ký kết gì?",
    "Quý I năm 2019 Ninh Bình và Thanh Hóa ký gì?",
)
#: Questions that ask for the latest: "mới nhất", "gần đây" (without diacritics), "hiện nay".
RECENT = (
    "Kinh phí quảng bá chung mới nhất là bao nhiêu?",
    "gan day tuyen du lich lien tinh don bao nhieu khach",
    "Hiện nay hai tỉnh hợp tác du lịch thế nào?",
)


@pytest.fixture(scope="module")
def dated_engine(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> LocalEngine:
    """Two articles on one subject (Ninh Bình - Thanh Hóa tourism), 2019 and 2024."""
    root = tmp_path_factory.mktemp("dated")
    shutil.copytree(DATED, root / "corpus")
    (root / "data" / "models").mkdir(parents=True)
    (root / "data" / "models" / model_dir.name).symlink_to(model_dir)
    settings = Settings(corpus_dir=root / "corpus", data_dir=root / "data", _env_file=None)  # type: ignore[call-arg]
    return LocalEngine.open(settings.engine_config())


def _found(engine: LocalEngine, question: str) -> Answer:
    """``engine``'s answer to ``question``, which must quote something."""
    answer = engine.ask(question)
    assert answer.found
    return answer


def _exact(engine: LocalEngine, answer: Answer) -> None:
    for citation in answer.citations:
        assert engine.article(citation.article_id).text[citation.start : citation.end] == citation.sentence


@pytest.mark.parametrize(
    "question",
    ["Hải Phòng và Bắc Ninh đã ký kết hợp tác những gì?", "Hai Phong va Bac Ninh da ky ket hop tac nhung gi"],
)
def test_the_2025_names_find_the_2019_memorandum(real_engine: LocalEngine, question: str) -> None:
    answer = _found(real_engine, question)
    assert {c.article_id for c in answer.citations} == {SEED_ID}
    first = answer.citations[0]
    assert "ký kết biên bản ghi nhớ hợp tác" in first.sentence  # the memorandum itself
    assert answer.confidence == "high"
    assert first.unit_notes == ()  # "2 địa phương": the sentence names neither province
    _exact(real_engine, answer)
    for citation in answer.citations:
        assert "nay thuộc" not in citation.sentence  # the note is beside the quote, never in it
        shown = citation.to_json()
        assert shown["unit_notes"] == list(citation.unit_notes)
        assert (shown["is_caption"], shown["less_related"]) == (citation.is_caption, False)  # the answer's own quotes


#: The sentence of the seed article that names the most units of the old map.
BRIDGE_NOTES = (
    "Bắc Giang nay thuộc tỉnh Bắc Ninh; huyện Yên Dũng nay thuộc tỉnh Bắc Ninh; "
    "TP Chí Linh nay thuộc TP Hải Phòng; Hải Dương nay thuộc TP Hải Phòng"
)


def test_the_notes_are_shown_in_the_cli_and_the_bot(
    real_engine: LocalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = real_engine.ask("Hai tỉnh sẽ phối hợp xây dựng những dự án nào?")
    print_answer(answer)
    printed = capsys.readouterr().out
    assert f"    {BRIDGE_NOTES}\n" in printed  # one line, as in the bot
    assert "05/10/2019" in printed
    message = format_answer(answer)
    assert f"\n<i>{BRIDGE_NOTES}</i>\n" in message  # one line, no nested brackets
    quoted = escape(next(c for c in answer.citations if c.unit_notes).sentence)
    assert message.index("nay thuộc") > message.index(quoted) + len(quoted)  # under the quote, outside it


def test_a_district_of_the_old_map_gets_its_note(real_engine: LocalEngine) -> None:
    answer = real_engine.ask("Cầu Đồng Việt bắc qua sông nào?")
    notes = [n for c in answer.citations for n in c.unit_notes]
    assert "huyện Yên Dũng nay thuộc tỉnh Bắc Ninh" in notes
    assert "TP Chí Linh nay thuộc TP Hải Phòng" in notes
    assert not any("Thái Bình" in n for n in notes)  # sông Thái Bình is the river


def test_only_the_units_a_quote_names_get_notes(real_engine: LocalEngine) -> None:
    article = real_engine.article(SEED_ID)
    assert "Hải Dương" in article.title and "Bắc Giang" in article.title  # the title names both
    for offset in range(3):
        for citation in real_engine.ask("Ai phát biểu tại hội nghị?", offset=offset).citations:
            named = [name for name in ("Hải Dương", "Bắc Giang") if name in citation.sentence]
            assert [note.split(" nay thuộc ")[0] for note in citation.unit_notes] == named, citation.sentence


def _years(answer: Answer) -> list[str]:
    return [(c.published or "")[:4] for c in answer.citations]


@pytest.mark.parametrize("question", IN_2019)
def test_a_year_quotes_that_years_article(dated_engine: LocalEngine, question: str) -> None:
    answer = _found(dated_engine, question)
    assert set(_years(answer)) == {"2019"}
    _exact(dated_engine, answer)


def test_a_period_without_articles_is_ignored(dated_engine: LocalEngine) -> None:
    # No article was published in 2022: the year is then just a word of the question.
    answer = _found(dated_engine, "Năm 2022 tuyến du lịch liên tỉnh phải tạm dừng bao lâu?")
    assert "Năm 2022" in answer.citations[0].sentence
    assert _years(answer)[0] == "2024"


@pytest.mark.parametrize("question", RECENT)
def test_recent_quotes_the_newer_first(dated_engine: LocalEngine, question: str) -> None:
    answer = _found(dated_engine, question)
    assert _years(answer)[0] == "2024"


def test_when_articles_disagree_the_newer_leads_and_both_dates_show(
    dated_engine: LocalEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = dated_engine.ask("Kinh phí quảng bá chung cho tuyến du lịch liên tỉnh là bao nhiêu?")
    assert _years(answer) == ["2024", "2019"]
    assert "5 tỷ" in answer.citations[0].sentence and "2 tỷ" in answer.citations[1].sentence
    print_answer(answer)
    printed = capsys.readouterr().out
    assert "20/05/2024" in printed and "12/03/2019" in printed
    message = format_answer(answer)
    assert "20/05/2024" in message and "12/03/2019" in message


def test_more_results_stay_in_the_period(dated_engine: LocalEngine) -> None:
    more = dated_engine.ask("Năm 2019 hai tỉnh hợp tác du lịch thế nào?", offset=1)
    assert set(_years(more)) <= {"2019"}


def test_a_2025_name_counts_as_named_by_its_predecessor_in_the_confidence() -> None:
    from retrieval.answering.confidence import names_share, question_names
    from retrieval.vietnamese.analyzer import Analyzer

    question = "Hải Phòng và Bắc Ninh đã ký kết hợp tác những gì?"
    sentence = "Hải Dương và Bắc Giang ký kết biên bản ghi nhớ hợp tác giai đoạn 2020-2025."
    places = Analyzer().related_places(question)
    assert names_share(question_names(question), sentence) < 1.0
    assert names_share(question_names(question), sentence, places) == 1.0
    assert names_share(question_names(question), "Đà Nẵng ký kết hợp tác du lịch.", places) == 0.0


def test_a_quote_from_another_article_must_name_the_questions_province(model_dir: Path, tmp_path: Path) -> None:
    """Asked about Hải Phòng and Bắc Ninh, a signing between Ninh Bình and Thanh Hóa is not a second answer."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for article in DATED.glob("*.md"):
        shutil.copy(article, corpus)
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / model_dir.name).symlink_to(model_dir)
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    engine = LocalEngine.open(settings.engine_config())
    for question in (
        "Hải Phòng và Bắc Ninh đã ký kết hợp tác những gì?",
        "hai phong va bac ninh da ky ket hop tac nhung gi",
    ):
        answer = _found(engine, question)
        assert {c.article_id for c in answer.citations} == {SEED_ID}
        assert "ký kết biên bản ghi nhớ hợp tác" in answer.citations[0].sentence
