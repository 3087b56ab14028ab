"""The plain-torch BERT encoder: the same hidden states as transformers' BertModel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from retrieval.embedding.bert_encoder import BertEncoder, BertShape

TINY = {
    "model_type": "bert",
    "architectures": ["BertModel"],
    "vocab_size": 97,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 40,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "pad_token_id": 1,
}


def _tiny_bert(folder: Path) -> Any:
    from transformers import BertConfig, BertModel

    torch.manual_seed(5)
    model = BertModel(BertConfig(**TINY)).eval()
    model.save_pretrained(str(folder), safe_serialization=True)
    return model


def test_hidden_states_equal_transformers_bert_with_padding(tmp_path: Path) -> None:
    reference = _tiny_bert(tmp_path)
    encoder = BertEncoder.load(tmp_path)
    assert encoder is not None and encoder.hidden_size == 32
    ids = torch.tensor([[0, 5, 17, 42, 9, 2], [0, 33, 2, 1, 1, 1]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    with torch.inference_mode():
        mine = encoder(ids, mask)
        theirs = reference(input_ids=ids, attention_mask=mask).last_hidden_state
    kept = mask.bool()
    torch.testing.assert_close(mine[kept], theirs[kept], atol=1e-5, rtol=1e-5)
    # Padding changes nothing for the real tokens: the short text alone gives the same states.
    with torch.inference_mode():
        alone = encoder(ids[1:, :3], mask[1:, :3])
    torch.testing.assert_close(alone[0], mine[1, :3], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "change",
    [
        {"model_type": "roberta"},
        {"hidden_act": "gelu_new"},
        {"position_embedding_type": "relative_key"},
        {"is_decoder": True},
        {"num_attention_heads": 5},  # 32 is not divisible by 5
        {"hidden_size": None},
    ],
)
def test_configs_it_does_not_reproduce_are_refused(change: dict[str, Any]) -> None:
    assert BertShape.from_config({**TINY, **change}) is None


def test_a_folder_with_other_weights_is_refused(tmp_path: Path) -> None:
    _tiny_bert(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["num_hidden_layers"] = 3  # the file holds two layers
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert BertEncoder.load(tmp_path) is None
    assert BertEncoder.load(tmp_path / "absent") is None


@pytest.mark.model
def test_the_default_model_loads_without_importing_transformers(model_dir: Path) -> None:
    probe = (
        "import sys; from pathlib import Path; from retrieval.embedding.mean_pooling_model import MeanPoolingModel; "
        f"m = MeanPoolingModel.load(Path({str(model_dir)!r})); m.encode(['cầu Đồng Việt'], prompt_name='query'); "
        "print('transformers' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]


def test_a_padded_batch_gives_each_text_its_states_alone_and_zeros_for_padding(tmp_path: Path) -> None:
    # The dense parts run on the attended tokens only, packed: the same numbers as one text at a time.
    _tiny_bert(tmp_path)
    encoder = BertEncoder.load(tmp_path)
    assert encoder is not None
    texts = [[0, 5, 17, 42, 9, 2], [0, 33, 2], [0, 8, 61, 2]]
    ids = torch.tensor([t + [1] * (6 - len(t)) for t in texts])
    mask = torch.tensor([[1] * len(t) + [0] * (6 - len(t)) for t in texts])
    with torch.inference_mode():
        hidden, kept = encoder.forward_split(ids, mask, 1)
        assert kept is not None
        top = BertEncoder.run_layers(encoder.top_layers(1), kept, mask)
        for row, text in enumerate(texts):
            alone, alone_kept = encoder.forward_split(torch.tensor([text]), torch.ones(1, len(text)), 1)
            assert alone_kept is not None
            torch.testing.assert_close(hidden[row, : len(text)], alone[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(kept[row, : len(text)], alone_kept[0], atol=1e-5, rtol=1e-5)
    padding = ~mask.bool()
    assert not hidden[padding].any() and not kept[padding].any() and not top[padding].any()
    torch.testing.assert_close(top[mask.bool()], hidden[mask.bool()], atol=1e-5, rtol=1e-5)
