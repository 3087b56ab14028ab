"""With the trained answer selector (the default), on the seed article and the real model:
a cost the article does not give is no longer quoted confidently, and a question whose
answer is there is still answered when unrelated articles join."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hoptac.settings import Settings
from retrieval.local.engine import LocalEngine
from tests.conftest import CORPUS

pytestmark = pytest.mark.model


UNRELATED = [
    ("gia-lua", "Giá lúa tăng mạnh", "Giá lúa tại Đồng bằng sông Cửu Long tăng 500 đồng mỗi kg trong tuần qua."),
    ("bong-da", "Đội tuyển thắng đậm", "Đội tuyển bóng đá Việt Nam thắng 3-0 trên sân Mỹ Đình."),
    ("thoi-tiet", "Rét đậm ở miền Bắc", "Miền Bắc đón đợt rét đậm với nhiệt độ dưới 10 độ C."),
    ("du-lich", "Du lịch Hạ Long hút khách", "Vịnh Hạ Long đón 50.000 lượt khách trong tháng Một."),
    ("y-te", "Bệnh viện tỉnh có máy mới", "Bệnh viện đa khoa tỉnh nhận máy chụp cộng hưởng từ hiện đại."),
    ("giao-duc", "Trường học mới khánh thành", "Một trường trung học cơ sở mới khánh thành ở huyện miền núi."),
    ("nong-nghiep", "Vải thiều xuất khẩu", "Vải thiều được xuất khẩu sang Nhật Bản với giá cao."),
]


def test_the_real_engine_chooses_with_the_selector(real_engine: LocalEngine) -> None:
    assert real_engine.config.uses_selector
    assert real_engine.embedder().selector is not None


def test_a_cost_the_article_does_not_give_is_not_answered_confidently(real_engine: LocalEngine) -> None:
    # Before the selector: the bridge sentence, which gives no cost, quoted confidently.
    answer = real_engine.ask("cau Dong Viet bao nhieu tien")
    assert not answer.found or answer.confidence == "low"


def test_a_question_of_the_seed_article_is_still_answered_among_unrelated_articles(
    tmp_path: Path, model_dir: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for slug, title, text in UNRELATED:
        front = f"---\nid: 2024-01-10-{slug}\ntitle: {title}\npublished: '2024-01-10T08:00:00+07:00'\nsource: Báo thử\n"
        (corpus / f"2024-01-10-{slug}.md").write_text(f"{front}url: null\n---\n\n{text}", "utf-8")
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / model_dir.name).symlink_to(model_dir)
    settings = Settings(corpus_dir=corpus, data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    answer = LocalEngine.open(settings.engine_config()).ask("Hải Dương và Bắc Giang ký kết gì vào năm 2019?")
    assert answer.found
    assert "ký kết biên bản ghi nhớ" in answer.citations[0].sentence


CHI_LINH = "Chiều 5.10, tại TP Chí Linh"


def test_who_chaired_the_meeting_quotes_the_sentence_that_names_them(real_engine: LocalEngine) -> None:
    answer = real_engine.ask("Ai chủ trì hội nghị?")
    assert answer.found
    assert answer.citations[0].sentence.startswith(CHI_LINH)


@pytest.mark.parametrize("question", ["Hoi nghi to chuc o dau", "Hội nghị tổ chức ở đâu?"])
def test_asked_where_a_quote_that_names_no_place_is_never_confident(real_engine: LocalEngine, question: str) -> None:
    # Before: "Hải Dương và Bắc Giang sẽ đẩy mạnh hoạt động trao đổi…" (it shares "tổ chức" with
    # the question, and names no place), quoted confidently.
    answer = real_engine.ask(question)
    if answer.found and not answer.citations[0].sentence.startswith(CHI_LINH):
        assert answer.confidence == "low"


def test_asked_where_the_bridge_is_the_bridge_sentence_comes_first(real_engine: LocalEngine) -> None:
    answer = real_engine.ask("cau Dong Viet o dau")
    assert answer.found
    assert "cầu Đồng Việt" in answer.citations[0].sentence
