"""Span pooling: a passage vector and one vector per sentence from ONE forward pass.

A passage is embedded as ``prompt + title + "\\n" + sentences``; mean pooling over all its
tokens gives the passage vector (what ``SentenceTransformer.encode`` returns). The mean of
the last-hidden-state embeddings of the tokens inside one sentence's character span gives
that sentence a vector in context, for free, instead of a second forward pass per sentence.

The pure parts live here (no model, no torch): which token belongs to which span, whether
truncation cut a span, and the pooling itself. ``Embedder.encode_passages_with_spans`` runs
the model and feeds them.

Token placement, from the fast tokenizer's offset mapping (character offsets into
``prompt + text``; a ``▁word`` piece's offsets include the space before it):

* special tokens (``<s>``, ``</s>``) and prompt tokens (end offset <= 0 once the prompt
  length is subtracted) belong to no span;
* any other token is placed by its last character: the span holding that character;
* a whitespace-only token (a bare ``▁``) in the gap just before a span goes to that span;
* everything else (the title, text between spans) belongs to no span.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: A sentence's [start, end) character offsets inside the passage text (without the prompt).
Span = tuple[int, int]

#: Group of a token that is in no span.
NO_SPAN = -1


def check_spans(spans: Sequence[Span], text_length: int) -> None:
    """Raise ValueError unless ``spans`` are non-empty, sorted, disjoint and inside the text."""
    previous_end = 0
    for start, end in spans:
        if not (previous_end <= start < end <= text_length):
            raise ValueError(f"span {start}:{end} is empty, out of order, overlapping or outside the text")
        previous_end = end


def locate_spans(text: str, parts: Sequence[str], start: int = 0) -> list[Span] | None:
    """Spans of ``parts`` found one after the other in ``text`` from ``start`` (the layout of
    ``passage_text``: title, newline, sentences joined by spaces); None if one is missing."""
    spans: list[Span] = []
    position = start
    for part in parts:
        found = text.find(part, position)
        if found < 0 or not part:
            return None
        spans.append((found, found + len(part)))
        position = found + len(part)
    return spans


def assign_tokens(
    offsets: np.ndarray, special: np.ndarray, spans: Sequence[Span], text: str, prompt_length: int = 0
) -> np.ndarray:
    """Span index of each token, or NO_SPAN (see the module docstring for the rule).

    ``offsets``: (n, 2) character offsets into ``prompt + text`` of the n attended tokens;
    ``special``: (n,) bool, true for the tokenizer's special tokens; ``spans`` as checked by
    :func:`check_spans`, offsets into ``text``."""
    groups = np.full(len(offsets), NO_SPAN, dtype=np.int64)
    if not spans:
        return groups
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.array([e for _, e in spans], dtype=np.int64)
    for t, (a, b) in enumerate(np.asarray(offsets, dtype=np.int64) - prompt_length):
        if special[t] or b <= 0:
            continue  # <s>, </s>, or the prompt
        last = b - 1
        k = int(np.searchsorted(ends, last, side="right"))  # first span ending after the last character
        if k == len(spans):
            continue  # after the last span
        if starts[k] <= last:
            groups[t] = k
        elif text[max(int(a), 0) : int(b)].strip() == "" and (k == 0 or int(a) >= ends[k - 1]):
            groups[t] = k  # a bare '▁' in the gap just before span k
    return groups


def covered_end(offsets: np.ndarray, special: np.ndarray, prompt_length: int = 0) -> int:
    """End of the text (without the prompt) that the tokens reach: the last character any
    non-special token covers, plus one; 0 if there is none."""
    ends = np.asarray(offsets, dtype=np.int64)[~np.asarray(special, dtype=bool), 1] - prompt_length
    return int(max(int(ends.max()), 0)) if len(ends) else 0


def is_truncated(offsets: np.ndarray, special: np.ndarray, text: str, prompt_length: int = 0) -> bool:
    """Whether the tokens stop before the end of ``text`` (trailing whitespace aside): the
    tokenizer cut the text at its maximum length. May err towards true, never towards false."""
    return covered_end(offsets, special, prompt_length) < len(text.rstrip())


def complete_spans(spans: Sequence[Span], covered: int, truncated: bool) -> np.ndarray:
    """(k,) bool: the spans none of whose tokens were cut off by truncation."""
    ends = np.array([e for _, e in spans], dtype=np.int64)
    return np.ones(len(spans), dtype=bool) if not truncated else ends <= covered


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)


def pool_tokens(
    hidden: np.ndarray,
    offsets: np.ndarray,
    special: np.ndarray,
    spans: Sequence[Span],
    text: str,
    prompt_length: int = 0,
    truncated: bool | None = None,
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """The passage vector (mean of all ``hidden`` rows, L2) and one L2-normalised mean
    vector per span, None for a span that has no token or was cut by truncation.

    ``hidden``: (n, d) last hidden states of the n attended tokens (padding removed);
    ``truncated``: the tokenizer's own answer if known, else inferred from the offsets."""
    hidden = np.asarray(hidden, dtype=np.float32)
    passage = l2_normalise(hidden.mean(axis=0, dtype=np.float64))
    if truncated is None:
        truncated = is_truncated(offsets, special, text, prompt_length)
    groups = assign_tokens(offsets, special, spans, text, prompt_length)
    inside = groups >= 0
    counts = np.bincount(groups[inside], minlength=len(spans))
    sums = np.zeros((len(spans), hidden.shape[1]), dtype=np.float64)
    np.add.at(sums, groups[inside], hidden[inside])
    complete = complete_spans(spans, covered_end(offsets, special, prompt_length), truncated)
    vectors: list[np.ndarray | None] = [
        l2_normalise(sums[k] / counts[k]) if counts[k] and complete[k] else None for k in range(len(spans))
    ]
    return passage, vectors
