"""A plain sentence-transformers model run with ``transformers`` and ``tokenizers`` alone.

Most sentence-transformers models, the offline default included, are a Transformer, mean
pooling over every token (prompt included) and an L2 normalisation. For such a folder
:meth:`MeanPoolingModel.load` gives an object with the part of ``SentenceTransformer``'s
interface that :class:`retrieval.embedding.embedder.Embedder` uses (``encode``, ``prompts``, the
dimension), with the same vectors, without importing sentence-transformers: that import
alone takes over 3 s on 2 cores (it pulls in scikit-learn and scipy), more than half of a
cold start. A plain BERT network (the default model's) runs as
:class:`retrieval.bert_encoder.BertEncoder`, without importing ``transformers`` either
(another 2 s); any other architecture through ``transformers.AutoModel``. Anything else
(other pooling, extra layers, a hub name to download) returns None and is loaded by
sentence-transformers.

    model = MeanPoolingModel.load(folder)      # None: not a plain mean-pooling folder
    vectors = model.encode(["cầu Đồng Việt"], prompt_name="query", normalize_embeddings=True)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from retrieval.embedding.answer_selector import AnswerSelector, QuestionPass
    from retrieval.embedding.bert_encoder import BertEncoder

_TRANSFORMER = "Transformer"
_POOLING = "Pooling"
_NORMALIZE = "Normalize"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8")) if path.is_file() else None


def _is_mean_pooling(config: Any) -> bool:
    if not isinstance(config, dict) or not config.get("include_prompt", True):
        return False
    mode = config.get("pooling_mode")
    if mode is not None:
        return mode == "mean" or mode == ["mean"]
    flags = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
    return flags == ["pooling_mode_mean_tokens"]


def plain_layout(folder: Path) -> tuple[int, bool] | None:
    """(max_length, normalise) if ``folder`` is Transformer + mean Pooling (+ Normalize)
    with a fast tokenizer file; otherwise None."""
    modules = _read_json(folder / "modules.json")
    if not isinstance(modules, list) or len(modules) not in (2, 3):
        return None
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != [_TRANSFORMER, _POOLING] or (len(kinds) == 3 and kinds[2] != _NORMALIZE):
        return None
    if modules[0].get("path", "") != "" or not (folder / "tokenizer.json").is_file():
        return None
    if not _is_mean_pooling(_read_json(folder / str(modules[1].get("path", "")) / "config.json")):
        return None
    sbert = _read_json(folder / "sentence_bert_config.json") or {}
    if sbert.get("do_lower_case"):
        return None
    max_length = sbert.get("max_seq_length")
    if max_length is None:
        max_length = (_read_json(folder / "tokenizer_config.json") or {}).get("model_max_length")
    if not isinstance(max_length, int) or not 0 < max_length <= 100_000:
        return None
    return max_length, len(kinds) == 3


class MeanPoolingModel:
    """See the module docstring. Not thread-safe: the caller serialises ``encode``."""

    def __init__(
        self,
        tokenizer: Any,
        hidden_states: Callable[[Any, Any], Any],
        dimension: int,
        prompts: dict[str, str],
        max_length: int,
        normalise: bool,
    ) -> None:
        self._tokenizer = tokenizer
        self._hidden_states = hidden_states  # (input ids, attention mask) -> last hidden states
        self.prompts = prompts
        self.max_seq_length = max_length
        self._normalise = normalise
        self._dimension = dimension
        self._question_pass: tuple[AnswerSelector, QuestionPass] | None = None  # for the selector it was made for

    @classmethod
    def load(cls, folder: Path) -> MeanPoolingModel | None:
        layout = plain_layout(folder)
        if layout is None:
            return None
        max_length, normalise = layout
        from tokenizers import Tokenizer

        from retrieval.embedding.bert_encoder import BertEncoder

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.enable_truncation(max_length)
        pad_token = (_read_json(folder / "tokenizer_config.json") or {}).get("pad_token")
        pad_id = tokenizer.token_to_id(pad_token) if isinstance(pad_token, str) else None
        tokenizer.enable_padding(pad_id=pad_id or 0, pad_token=pad_token or "<pad>")
        st_config = _read_json(folder / "config_sentence_transformers.json") or {}
        prompts = {str(k): str(v) for k, v in (st_config.get("prompts") or {}).items()}
        encoder = BertEncoder.load(folder)  # plain BERT: without importing transformers (2 s)
        if encoder is not None:
            return cls(tokenizer, encoder, encoder.hidden_size, prompts, max_length, normalise)
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(folder)).eval()

        def hidden_states(ids: Any, mask: Any) -> Any:
            return model(input_ids=ids, attention_mask=mask).last_hidden_state

        return cls(tokenizer, hidden_states, int(model.config.hidden_size), prompts, max_length, normalise)

    @property
    def bert(self) -> BertEncoder | None:
        """The plain-torch BERT encoder, if the model runs as one (what an answer selector needs)."""
        from retrieval.embedding.bert_encoder import BertEncoder

        return self._hidden_states if isinstance(self._hidden_states, BertEncoder) else None

    def _forward(
        self, texts: Sequence[str], batch_size: int, run: Callable[[Any, Any], Any] | None = None
    ) -> Iterator[tuple[list[int], list[Any], Any, Any]]:
        """Batches of similar length (``texts`` already prompted): (positions in ``texts``,
        their tokenizer encodings, the attention mask, ``run(ids, mask)``: by default the
        last hidden states)."""
        import torch

        run = run or self._hidden_states
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths batch together
        with torch.inference_mode():
            for first in range(0, len(order), max(batch_size, 1)):
                rows = order[first : first + batch_size]
                encodings = self._tokenizer.encode_batch([texts[i] for i in rows])
                ids = torch.tensor([e.ids for e in encodings], dtype=torch.long)
                mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long)
                yield rows, encodings, mask, run(ids, mask)

    def token_states(
        self, texts: Sequence[str], batch_size: int = 32
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]]:
        """Per text (prompt already included): the last hidden states of its attended tokens
        (n, d), their character offsets (n, 2), which are special tokens (n,), and whether
        truncation cut the text; what span pooling (retrieval/embedding/span_pooling.py) reads."""
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = [
            (np.zeros((0, self._dimension), dtype=np.float32), np.zeros((0, 2)), np.zeros(0, dtype=bool), False)
        ] * len(texts)
        for rows, encodings, _, hidden in self._forward(texts, batch_size):
            states = hidden.float().numpy()
            for row, (i, encoding) in enumerate(zip(rows, encodings, strict=True)):
                n = int(sum(encoding.attention_mask))
                out[i] = (
                    states[row, :n],
                    np.asarray(encoding.offsets[:n], dtype=np.int64).reshape(n, 2),
                    np.asarray(encoding.special_tokens_mask[:n], dtype=bool),
                    bool(encoding.overflowing),
                )
        return out

    def get_sentence_embedding_dimension(self) -> int:
        return self._dimension

    def encode(
        self,
        sentences: Sequence[str],
        prompt_name: str | None = None,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        convert_to_numpy: bool = True,
        show_progress_bar: bool = False,
    ) -> np.ndarray:
        """(n, d) float32: mean of the last hidden states over each text's tokens (prompt
        included), L2-normalised if the folder has a Normalize step or when asked."""
        import torch

        prompt = self.prompts.get(prompt_name, "") if prompt_name else ""
        texts = [prompt + text for text in sentences]
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for rows, _, mask, hidden in self._forward(texts, batch_size):
            pooled = mean_pool(hidden, mask)
            if self._normalise or normalize_embeddings:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[rows] = pooled.float().numpy()
        return out

    def question_pass(self, selector: AnswerSelector) -> QuestionPass:
        """The questions' pass over this model and ``selector`` (made once per selector)."""
        bert = self.bert
        if bert is None:
            raise ValueError("an answer selector needs the model to run as a plain BERT encoder")
        if self._question_pass is None or self._question_pass[0] is not selector:
            self._question_pass = (selector, selector.question_pass(bert))
        return self._question_pass[1]

    def warm_up_questions(self, selector: AnswerSelector, prompt_name: str | None = "query") -> None:
        """One question through the pass, eagerly: torch's first allocations, not paid by the
        first user's question (the traced pass is built in the background once questions come
        together, :class:`~retrieval.embedding.answer_selector.QuestionPass`)."""
        import torch

        prompt = self.prompts.get(prompt_name, "") if prompt_name else ""
        encoding = self._tokenizer.encode_batch([prompt + "warm-up"])[0]
        ids = torch.tensor([encoding.ids], dtype=torch.long)
        mask = torch.tensor([encoding.attention_mask], dtype=torch.long)
        self.question_pass(selector).run_eagerly(ids, mask)

    def encode_with_selection(
        self,
        sentences: Sequence[str],
        selector: AnswerSelector,
        prompt_name: str | None = "query",
        batch_size: int = 32,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n, d) unit vectors twice, from one pass of the lower layers: what :meth:`encode`
        gives, and ``selector``'s question vectors (its trained top layers run on the input
        of layer ``selector.split``). Needs :attr:`bert`."""

        bert = self.bert
        if bert is None:
            raise ValueError("an answer selector needs the model to run as a plain BERT encoder")
        prompt = self.prompts.get(prompt_name, "") if prompt_name else ""
        texts = [prompt + text for text in sentences]
        base = np.zeros((len(texts), self._dimension), dtype=np.float32)
        selection = np.zeros_like(base)
        for rows, _, _, (both, chosen) in self._forward(texts, batch_size, self.question_pass(selector)):
            base[rows] = both.float().numpy()
            selection[rows] = chosen.float().numpy()
        return base, selection

    def split_states(self, sentences: Sequence[str], split: int, prompt_name: str = "query") -> list[np.ndarray]:
        """Per text, the float16 input of layer ``split`` for its attended tokens (n, d): what
        an answer selector is trained from (measure/selector_training.py)."""
        bert = self.bert
        if bert is None:
            raise ValueError("an answer selector needs the model to run as a plain BERT encoder")
        prompt = self.prompts.get(prompt_name, "") if prompt_name else ""
        texts = [prompt + text for text in sentences]
        out: list[np.ndarray] = [np.zeros((0, self._dimension), dtype=np.float16)] * len(texts)

        def run(ids: Any, mask: Any) -> Any:
            return bert.forward_split(ids, mask, split)[1]

        for rows, _, mask, kept in self._forward(texts, 64, run):
            states = kept.half().numpy()
            for row, i in enumerate(rows):
                out[i] = states[row, : int(mask[row].sum())].copy()
        return out


def mean_pool(hidden: Any, mask: Any) -> Any:
    """The mean of ``hidden`` (batch, tokens, d) over each row's attended tokens."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
