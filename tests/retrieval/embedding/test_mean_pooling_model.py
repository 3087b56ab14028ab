"""The default model without sentence-transformers: same vectors, other layouts refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.embedding.mean_pooling_model import MeanPoolingModel, plain_layout


def _folder(tmp_path: Path, modules: list[str], pooling: dict[str, Any], sbert: dict[str, Any] | None = None) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    paths = {"Transformer": "", "Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2_Dense"}
    (folder / "modules.json").write_text(
        json.dumps(
            [{"idx": i, "path": paths[m], "type": f"sentence_transformers.models.{m}"} for i, m in enumerate(modules)]
        )
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps(sbert if sbert is not None else {"max_seq_length": 256})
    )
    (folder / "tokenizer.json").write_text("{}")
    return folder


def test_a_transformer_with_mean_pooling_and_normalize_is_plain(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ["Transformer", "Pooling", "Normalize"], {"pooling_mode": "mean"})
    assert plain_layout(folder) == (256, True)


def test_older_pooling_flags_are_understood(tmp_path: Path) -> None:
    pooling = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}
    assert plain_layout(_folder(tmp_path, ["Transformer", "Pooling"], pooling)) == (256, False)


@pytest.mark.parametrize(
    ("modules", "pooling", "sbert"),
    [
        (["Transformer", "Pooling", "Normalize"], {"pooling_mode": "cls"}, None),
        (["Transformer", "Pooling", "Normalize"], {"pooling_mode": "mean", "include_prompt": False}, None),
        (["Transformer", "Pooling", "Dense"], {"pooling_mode": "mean"}, None),
        (
            ["Transformer", "Pooling", "Normalize"],
            {"pooling_mode": "mean"},
            {"max_seq_length": 256, "do_lower_case": True},
        ),
        (["Transformer", "Pooling", "Normalize"], {"pooling_mode": "mean"}, {}),  # no max length anywhere
    ],
)
def test_anything_else_is_left_to_sentence_transformers(
    tmp_path: Path, modules: list[str], pooling: dict[str, Any], sbert: dict[str, Any] | None
) -> None:
    assert plain_layout(_folder(tmp_path, modules, pooling, sbert)) is None


def test_a_folder_without_a_tokenizer_file_is_not_plain(tmp_path: Path) -> None:
    folder = _folder(tmp_path, ["Transformer", "Pooling", "Normalize"], {"pooling_mode": "mean"})
    (folder / "tokenizer.json").unlink()
    assert plain_layout(folder) is None
    assert MeanPoolingModel.load(folder) is None


@pytest.mark.model
def test_the_default_model_gives_sentence_transformers_vectors(model_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    from retrieval.articles.corpus import read_corpus
    from tests.conftest import CORPUS

    light = MeanPoolingModel.load(model_dir)
    assert light is not None
    reference = SentenceTransformer(str(model_dir), device="cpu")
    body = read_corpus(CORPUS).articles[0].text
    texts = ["cầu Đồng Việt ở đâu", "  khoảng trắng  ", "Which projects?", body[:300], body * 3, "a", ""]
    for prompt in ("query", "passage"):
        mine = light.encode(texts, prompt_name=prompt, batch_size=3, normalize_embeddings=True)
        theirs = reference.encode(texts, prompt_name=prompt, normalize_embeddings=True, convert_to_numpy=True)
        np.testing.assert_allclose(mine, theirs, atol=1e-5)  # body * 3 is cut at the same 512 tokens
    assert light.get_sentence_embedding_dimension() == reference.get_embedding_dimension()


@pytest.mark.model
def test_the_embedder_loads_the_default_model_without_sentence_transformers_either_way(
    model_dir: Path,
) -> None:
    from retrieval.embedding.embedder import DEFAULT_MODEL, Embedder

    standalone = Embedder.load(DEFAULT_MODEL, model_dir.parent, None)
    span = Embedder.load(DEFAULT_MODEL, model_dir.parent, None, sentence_vectors="span")
    assert isinstance(standalone._model, MeanPoolingModel)
    assert isinstance(span._model, MeanPoolingModel)
    assert span.supports_span_pooling() and not standalone.supports_span_pooling()
    np.testing.assert_allclose(
        standalone.encode_query("cầu Đồng Việt ở đâu"), span.encode_query("cầu Đồng Việt ở đâu"), atol=1e-5
    )
