"""The shipped answer selector: verified at load, refused when damaged, one pass for both vectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from retrieval.answering.confidence import CONFIDENCE_WEIGHTS, Evidence, confidence_logit
from retrieval.answering.sentence_choice import WEIGHTS, Selection, weights_for
from retrieval.config import EngineConfig
from retrieval.embedding.answer_selector import (
    CARD_FILE,
    REBUILD,
    SHIPPED,
    WEIGHTS_FILE,
    AnswerSelector,
    SelectorCard,
    SelectorError,
    file_sha256,
)
from retrieval.embedding.embedder import DEFAULT_MODEL, Embedder, model_id
from retrieval.embedding.mean_pooling_model import MeanPoolingModel

MAX_SHIPPED_BYTES = 40_000_000


@pytest.fixture(scope="module")
def model(model_dir: Path) -> MeanPoolingModel:
    loaded = MeanPoolingModel.load(model_dir)
    assert loaded is not None and loaded.bert is not None
    return loaded


def test_the_shipped_selector_is_small_and_its_card_names_its_hash() -> None:
    card = SelectorCard.read(SHIPPED)
    weights = SHIPPED / WEIGHTS_FILE
    assert weights.stat().st_size <= MAX_SHIPPED_BYTES
    assert file_sha256(weights) == card.sha256
    assert card.base_model == DEFAULT_MODEL


def test_the_shipped_selector_loads_over_the_default_model(model: MeanPoolingModel) -> None:
    assert model.bert is not None
    selector = AnswerSelector.load(SHIPPED, model.bert, DEFAULT_MODEL)
    assert 0 < selector.split < model.bert.shape.layers
    assert selector.scale > 0


def test_a_truncated_selector_is_refused_with_the_command_that_restores_it(
    tmp_path: Path, model: MeanPoolingModel
) -> None:
    damaged = tmp_path / "selector"
    shutil.copytree(SHIPPED, damaged)
    weights = damaged / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert model.bert is not None
    with pytest.raises(SelectorError) as caught:
        AnswerSelector.load(damaged, model.bert, DEFAULT_MODEL)
    message = str(caught.value)
    assert "SHA-256" in message and REBUILD in message and "HOPTAC_ANSWER_SELECTOR=off" in message
    assert "\n" not in message


def test_a_selector_without_its_card_or_for_another_model_is_refused(tmp_path: Path, model: MeanPoolingModel) -> None:
    assert model.bert is not None
    folder = tmp_path / "selector"
    shutil.copytree(SHIPPED, folder)
    with pytest.raises(SelectorError, match="trained for"):
        AnswerSelector.load(folder, model.bert, "intfloat/multilingual-e5-base")
    (folder / CARD_FILE).unlink()
    with pytest.raises(SelectorError, match="unreadable"):
        AnswerSelector.load(folder, model.bert, DEFAULT_MODEL)


def test_one_pass_gives_the_search_vector_and_the_selection_vector(model: MeanPoolingModel) -> None:
    assert model.bert is not None
    selector = AnswerSelector.load(SHIPPED, model.bert, DEFAULT_MODEL)
    questions = ["Hai tỉnh sẽ phối hợp những dự án nào?", "cau Dong Viet o dau"]
    base, selection = model.encode_with_selection(questions, selector)
    assert np.allclose(base, model.encode(questions, "query", normalize_embeddings=True), atol=1e-5)
    for row, question in enumerate(questions):  # the selector alone, from the lower layers' output
        encoding = model._tokenizer.encode(model.prompts["query"] + question)
        ids = torch.tensor([encoding.ids])
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            _, kept = model.bert.forward_split(ids, mask, selector.split)
        assert kept is not None
        alone = selector.pooled(kept, mask)[0].numpy()
        assert np.allclose(selection[row], alone, atol=1e-5)
        assert np.isclose(np.linalg.norm(selection[row]), 1.0, atol=1e-5)
        assert not np.allclose(selection[row], base[row], atol=1e-3)  # trained: not the base vector


def test_the_engine_config_attaches_the_selector_only_where_it_applies(tmp_path: Path, model_dir: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / model_dir.name).symlink_to(model_dir)
    config = EngineConfig(corpus_dir=tmp_path / "corpus", data_dir=tmp_path)
    assert config.uses_selector
    embedder: Embedder = config.load_embedder()
    assert embedder.selector is not None
    question = "Cầu Đồng Việt ở đâu?"
    selection = Selection.of(embedder, question)
    assert selection is not None and selection.vector.shape == (embedder.dimension,)
    assert embedder.encode_query(question).shape == (embedder.dimension,)
    off = EngineConfig(corpus_dir=tmp_path / "corpus", data_dir=tmp_path, answer_selector="off")
    assert not off.uses_selector
    assert off.load_embedder().selection_vector(question) is None
    standalone = EngineConfig(corpus_dir=tmp_path / "corpus", data_dir=tmp_path, sentence_vectors="standalone")
    assert not standalone.uses_selector


def test_without_the_selector_the_weights_are_the_ones_before_it() -> None:
    class Index:
        model = model_id(DEFAULT_MODEL, "span")

    assert weights_for(Index()) is WEIGHTS["span"]  # type: ignore[arg-type]
    fields = dict.fromkeys(Evidence.__dataclass_fields__, 0.5)
    fields.pop("selected")
    evidence = Evidence(**fields)
    assert len(evidence.vector()) == 13
    features = np.concatenate([evidence.vector(), evidence.vector()[:12] * 0.5])
    assert np.isclose(confidence_logit(evidence) - float(np.dot(CONFIDENCE_WEIGHTS, features)), -4.757)


def test_questions_batched_together_get_the_vectors_they_get_alone(model_dir: Path) -> None:
    # What the query batcher relies on: a batch (padded to its longest question) changes no vector.
    embedder = Embedder.load(DEFAULT_MODEL, model_dir.parent, None)
    embedder.attach_selector(SHIPPED)
    questions = [
        "Hai tỉnh sẽ phối hợp những dự án nào?",
        "cau Dong Viet o dau",
        "UNESCO",
        "Ninh Bình và Thanh Hóa ký kết biên bản hợp tác phát triển du lịch giai đoạn 2019-2024 ở đâu?",
        "hồ sơ",
    ]
    # One question first: the pass traced on a batch of one serves every batch after it.
    alone = [embedder._encode_queries([question])[0] for question in questions]
    together = embedder._encode_queries(questions)
    assert together.shape == (len(questions), 2 * embedder.dimension)
    for row, question in enumerate(questions):
        assert np.allclose(together[row], alone[row], atol=1e-5), question
    eager = embedder.mean_pooling_model()
    assert eager.bert is not None and embedder.selector is not None
    for row, question in enumerate(questions):  # the traced pass computes what the eager layers do
        encoding = eager._tokenizer.encode(eager.prompts["query"] + question)
        ids = torch.tensor([encoding.ids])
        mask = torch.ones_like(ids)
        with torch.inference_mode():
            hidden, kept = eager.bert.forward_split(ids, mask, embedder.selector.split)
            assert kept is not None
            base = torch.nn.functional.normalize(hidden.mean(dim=1), dim=1)[0].numpy()
        assert np.allclose(together[row, : embedder.dimension], base, atol=1e-5)
        assert np.allclose(together[row, embedder.dimension :], embedder.selector.pooled(kept, mask)[0], atol=1e-5)


def test_the_question_pass_is_traced_in_the_background_once_questions_come_together(model_dir: Path) -> None:
    """The traced graph only pays where askers' questions share a batch, and tracing it takes
    about half a second: a start and lone questions run the layers eagerly and trace
    nothing (a short-lived `hoptac ask` exits without waiting on it); the first batch of
    several starts the trace in a thread of its own, without waiting for it; the traced
    graph then gives the vectors the eager layers gave."""
    embedder = Embedder.load(DEFAULT_MODEL, model_dir.parent, None)
    embedder.attach_selector(SHIPPED)
    assert embedder.selector is not None
    question_pass = embedder.mean_pooling_model().question_pass(embedder.selector)
    embedder.warm_up()
    questions = ["cau Dong Viet o dau", "Hai tỉnh sẽ phối hợp những dự án nào?", "UNESCO"]
    alone = embedder._encode_queries(questions[1:2])
    assert question_pass.tracing is None and not question_pass.traced
    eager = embedder._encode_queries(questions)
    tracing = question_pass.tracing
    assert tracing is not None  # started by the batch, which did not wait for it
    tracing.join(timeout=120)
    assert question_pass.traced
    assert np.allclose(embedder._encode_queries(questions), eager, atol=1e-5)
    assert np.allclose(embedder._encode_queries(questions[1:2]), alone, atol=1e-5)
    assert np.allclose(eager[1], alone[0], atol=1e-5)
