"""A BERT encoder in plain torch, for loading the default model without ``transformers``.

``transformers.AutoModel.from_pretrained`` imports some 1,300 modules (over 2 s on 2 cores,
the largest part of a cold start) to build a network this small: embeddings, then N
layers of self-attention and a feed-forward block, each followed by a residual and a
LayerNorm. :meth:`BertEncoder.load` builds exactly that from a folder's ``config.json``
and ``model.safetensors`` (the parameter names are ``transformers``' own, so the file
loads as is) and returns the last hidden states like ``BertModel(...).last_hidden_state``
(the same numbers within float rounding; tested against ``transformers``). A folder whose
config asks for anything else (another architecture, relative positions, another
activation, a decoder) returns None, and the caller uses ``transformers``.

    encoder = BertEncoder.load(folder)          # None: not a plain BERT encoder
    hidden = encoder(input_ids, attention_mask)  # (batch, tokens, hidden)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

_WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class BertShape:
    """The sizes of a BERT encoder, from ``config.json``."""

    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float

    @classmethod
    def from_config(cls, config: Any) -> BertShape | None:
        """None unless ``config`` describes a plain BERT encoder this module reproduces."""
        if not isinstance(config, dict) or config.get("model_type") != "bert":
            return None
        if config.get("hidden_act", "gelu") != "gelu" or config.get("is_decoder") or config.get("add_cross_attention"):
            return None
        if config.get("position_embedding_type", "absolute") != "absolute":
            return None
        try:
            shape = cls(
                vocab_size=int(config["vocab_size"]),
                hidden_size=int(config["hidden_size"]),
                layers=int(config["num_hidden_layers"]),
                heads=int(config["num_attention_heads"]),
                intermediate_size=int(config["intermediate_size"]),
                max_positions=int(config["max_position_embeddings"]),
                type_vocab_size=int(config.get("type_vocab_size", 2)),
                layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return shape if shape.heads > 0 and shape.hidden_size % shape.heads == 0 else None


def _linear(inputs: int, outputs: int) -> nn.Linear:
    """A linear layer whose parameters are left uninitialised (the file's replace them):
    random initialisation, or building on the "meta" device, costs about a second here."""
    layer = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(layer)
    layer.in_features, layer.out_features = inputs, outputs
    layer.weight = nn.Parameter(torch.empty(outputs, inputs), requires_grad=False)
    layer.bias = nn.Parameter(torch.empty(outputs), requires_grad=False)
    return layer


def _embedding(rows: int, width: int) -> nn.Embedding:
    return nn.Embedding(rows, width, _weight=torch.empty(rows, width), _freeze=True)


class _Embeddings(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.word_embeddings = _embedding(shape.vocab_size, shape.hidden_size)
        self.position_embeddings = _embedding(shape.max_positions, shape.hidden_size)
        self.token_type_embeddings = _embedding(shape.type_vocab_size, shape.hidden_size)
        self.LayerNorm = nn.LayerNorm(shape.hidden_size, eps=shape.layer_norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        summed = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings.weight[0]  # every token is of type 0
        )
        return self.LayerNorm(summed)


@dataclass(frozen=True)
class Packing:
    """Where a padded batch's attended tokens are: the layers' dense parts (most of the
    work) run on those tokens alone, packed one after the other, and only attention on
    the padded layout. A batch of questions padded to its longest is about 40% padding."""

    rows: torch.Tensor | None  # (attended,) positions in the flattened (batch * tokens); None: no padding
    batch: int
    tokens: int
    keep: torch.Tensor  # (batch, 1, 1, tokens): which keys a token may attend to

    @classmethod
    def of(cls, attention_mask: torch.Tensor) -> Packing:
        batch, tokens = attention_mask.shape
        attended = attention_mask.reshape(-1).bool()
        # A traced pass (torch.jit.trace) keeps one path for every batch: always packed.
        unpadded = not torch.jit.is_tracing() and bool(attended.all())
        rows = None if unpadded else attended.nonzero().squeeze(1)
        return cls(rows, batch, tokens, attention_mask.bool()[:, None, None, :])

    def pack(self, padded: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, d) -> (attended, d)."""
        flat = padded.reshape(self.batch * self.tokens, -1)
        return flat if self.rows is None else flat.index_select(0, self.rows)

    def pad(self, packed: torch.Tensor) -> torch.Tensor:
        """(attended, d) -> (batch, tokens, d), zeros where the batch is padded."""
        flat = packed
        if self.rows is not None:
            flat = packed.new_zeros((self.batch * self.tokens, packed.shape[1])).index_copy(0, self.rows, packed)
        return flat.view(self.batch, self.tokens, -1)


class _SelfAttention(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.heads = shape.heads
        self.query = _linear(shape.hidden_size, shape.hidden_size)
        self.key = _linear(shape.hidden_size, shape.hidden_size)
        self.value = _linear(shape.hidden_size, shape.hidden_size)

    def forward(self, hidden: torch.Tensor, packing: Packing) -> torch.Tensor:
        """(attended, d) packed tokens -> their attention context, packed."""
        width = hidden.shape[-1]
        head = width // self.heads
        projected = torch.cat([self.query(hidden), self.key(hidden), self.value(hidden)], dim=1)
        # (batch, tokens, 3, heads, head) -> three (batch, heads, tokens, head)
        query, key, value = packing.pad(projected).view(packing.batch, packing.tokens, 3, self.heads, head).unbind(2)
        context = functional.scaled_dot_product_attention(
            query.transpose(1, 2),
            key.transpose(1, 2),
            value.transpose(1, 2),
            attn_mask=packing.keep,
            scale=1.0 / math.sqrt(head),
        )
        return packing.pack(context.transpose(1, 2).reshape(packing.batch, packing.tokens, width))


class _ResidualOutput(nn.Module):
    """dense, then LayerNorm of the result plus the block's input."""

    def __init__(self, inner: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.dense = _linear(inner, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.self = _SelfAttention(shape)
        self.output = _ResidualOutput(shape.hidden_size, shape.hidden_size, shape.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, packing: Packing) -> torch.Tensor:
        return self.output(self.self(hidden, packing), hidden)


class _Intermediate(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.dense = _linear(shape.hidden_size, shape.intermediate_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return functional.gelu(self.dense(hidden))  # exact (erf) GELU, BERT's "gelu"


class _Layer(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.attention = _Attention(shape)
        self.intermediate = _Intermediate(shape)
        self.output = _ResidualOutput(shape.intermediate_size, shape.hidden_size, shape.layer_norm_eps)

    def forward(self, hidden: torch.Tensor, packing: Packing) -> torch.Tensor:
        """(attended, d) packed tokens through the layer."""
        attended = self.attention(hidden, packing)
        return self.output(self.intermediate(attended), attended)


class _Encoder(nn.Module):
    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(shape) for _ in range(shape.layers))


class BertEncoder(nn.Module):
    """See the module docstring."""

    def __init__(self, shape: BertShape) -> None:
        super().__init__()
        self.shape = shape
        self.embeddings = _Embeddings(shape)
        self.encoder = _Encoder(shape)

    @property
    def hidden_size(self) -> int:
        return self.shape.hidden_size

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, hidden): the last layer's output for every token; padding
        (``attention_mask`` 0) is never attended to, and is zeros in the result."""
        return self.forward_split(input_ids, attention_mask, None)[0]

    def forward_split(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, split: int | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The last layer's output, and the input of layer ``split`` (None: not kept), from
        one pass: what a trained head over the top layers (an answer selector) starts from."""
        packing = Packing.of(attention_mask)
        hidden = packing.pack(self.embeddings(input_ids))
        kept: torch.Tensor | None = None
        for number, layer in enumerate(self.encoder.layer):
            if number == split:
                kept = packing.pad(hidden)
            hidden = layer(hidden, packing)
        return packing.pad(hidden), kept

    def top_layers(self, split: int) -> list[nn.Module]:
        """Layers ``split`` and above, the part an answer selector retrains."""
        return list(self.encoder.layer[split:])

    @staticmethod
    def run_layers(layers: list[nn.Module], hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``hidden`` through ``layers`` (padding never attended to; zeros in the result)."""
        packing = Packing.of(attention_mask)
        packed = packing.pack(hidden)
        for layer in layers:
            packed = layer(packed, packing)
        return packing.pad(packed)

    @classmethod
    def load(cls, folder: Path) -> BertEncoder | None:
        """The encoder in ``folder`` (``config.json`` and ``model.safetensors``), ready for
        inference; None if the folder holds anything this class does not reproduce."""
        config_path, weights_path = folder / "config.json", folder / _WEIGHTS
        if not config_path.is_file() or not weights_path.is_file():
            return None
        try:
            config = json.loads(config_path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        shape = BertShape.from_config(config)
        if shape is None:
            return None
        from safetensors.torch import load_file

        weights = load_file(str(weights_path))
        # Some exports prefix every name with the architecture ("bert.").
        if not any(name.startswith("embeddings.") for name in weights):
            weights = {name.removeprefix("bert."): tensor for name, tensor in weights.items()}
        weights = {name: tensor for name, tensor in weights.items() if not name.startswith("pooler.")}
        weights.pop("embeddings.position_ids", None)
        encoder = cls(shape)
        expected = set(encoder.state_dict())
        if set(weights) != expected:
            return None
        encoder.load_state_dict(weights, assign=True)
        return encoder.eval()
