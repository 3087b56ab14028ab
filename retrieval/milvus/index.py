"""Milvus as the search engine: the passages, sentences and articles in shared collections.

    milvus = MilvusIndex.connect("http://milvus:19530", "hoptac", model_id, dimension, analyzer, embedder)
    milvus.put(milvus.prepare(articles))             # embed, then write (one writer at a time)
    view = milvus.view(question, query_vector)        # this question's candidates, as a SearchIndex
    ranked = Searcher(analyzer).passages(view, question, query_vector)

Collections (``{prefix}_{generation}_...``; ``{prefix}_meta`` names the live generation):

- ``passages``: one row per passage: its dense vector (HNSW, inner product; FLAT where the
  engine builds no HNSW, as milvus-lite 2.5) and its lexical
  vector: the project's own Vietnamese tokens (:meth:`Analyzer.document_tokens`: words as
  written and without diacritics, word pairs) as a sparse vector of BM25 document weights
  ``tf / (tf + k1 * (1 - b + b * length / avgdl))``, each token at :func:`term_id`.
- ``sentences``: each sentence's exact text (a slice of the article, checked when written),
  its offsets, paragraph, caption flag and vector.
- ``articles``: each article's metadata, the digest of its content and its body (zlib).
- ``terms``: each token's document frequency, so a question's sparse vector carries the
  live corpus's BM25 idf; the query vector times a passage's lexical vector is then exactly
  the local index's BM25 (:mod:`retrieval.vietnamese.analyzer`), related place names at their weight.
  A reader holds them whole in its process (:meth:`MilvusIndex.warm_up`, read again in the
  background when a write moves the generation's revision; a point read meanwhile), so a
  question reads none of them.

Answering reads a question's candidates only: the best passages by meaning and by BM25
(two searches), with both vectors of each, so every candidate is scored on both sides
exactly as the local index does; :class:`QuestionView` presents them as a
:class:`~retrieval.answering.search_index.SearchIndex` of a few rows, and the answering code runs
unchanged on it. Its articles carry no body (``text`` is empty): quotes come from the
sentences' stored text.

What differs from the local index, and why it does not matter much (``hoptac eval`` with and
without ``HOPTAC_SEARCH_URL`` measures it, docs/quality.md): tokens share 2^32 sparse
dimensions (two tokens at one id count as one; about one pair in 10^4 at a million distinct
tokens); and a passage's BM25 length normalisation uses the average length when it was
written (a full build or ``hoptac reindex`` uses the corpus's; articles added since use the
average of that moment, which moves slowly).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.answering.bm25 import K1, B, bm25_idf
from retrieval.answering.lexical_query import LexicalQuery, exhaustive_search
from retrieval.articles.records import article_digest
from retrieval.models import Article, Sentence
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.question_dates import DateFilter

if TYPE_CHECKING:
    from pymilvus import MilvusClient

    from retrieval.embedding.embedder import Embedder

log = logging.getLogger(__name__)

#: The collections' layout; another (an older hoptac's) asks for `hoptac reindex`.
FORMAT = 2
#: Sparse dimensions are uint32 ids below this (Milvus's limit).
TERM_SPACE = 2**32 - 1
#: Milvus's longest VARCHAR, in bytes.
MAX_VARCHAR = 65_535
#: HNSW graph of the passages' vectors, as the local index (retrieval/local/dense.py).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 512
#: How long a reader trusts the live generation and its statistics it read (seconds).
LIVE_TTL_S = 2.0
#: Rows per insert or query batch.
BATCH = 1000
#: Rows per page when a generation's document frequencies are read whole (Milvus's largest).
TERM_PAGE = 16_384
#: After a load of the document frequencies that failed or was outdated before it ended, how
#: long before the next try (seconds): a corpus written all the time is not scanned over and over.
TERM_RELOAD_PAUSE_S = 30.0
#: Ids per ``in [...]`` filter.
FILTER_IDS = 2000
STRONG = "Strong"
#: The longest one call to Milvus may take (seconds), reads and writes: past it the call
#: fails with :class:`MilvusUnavailableError` rather than wait on a server that is gone.
READ_TIMEOUT_S = 10.0
WRITE_TIMEOUT_S = 60.0
#: A generation being built whose builder wrote nothing for this long is abandoned (seconds):
#: the builder's process could not be checked (another machine) and it never made it live.
ABANDONED_AFTER_S = 3600.0
#: The generations this process is building now (their builder is alive, here).
_BUILDING: set[str] = set()
_BUILDING_LOCK = threading.Lock()
_KINDS = ("passages", "sentences", "articles", "terms")
_READS = frozenset({"get", "query", "query_iterator", "search", "has_collection", "get_load_state", "list_collections"})
_WRITES = frozenset({"upsert", "insert", "delete", "flush", "load_collection", "create_collection", "drop_collection"})


class MilvusIndexError(RuntimeError):
    """The Milvus collections cannot serve (missing, another model, unreachable); the message
    says what to do."""


class MilvusUnavailableError(MilvusIndexError):
    """Milvus did not answer (stopped, restarting, out of reach, or slower than the call's
    timeout). Nothing was changed by the call that failed; the same client works again once
    Milvus is back."""


class _GuardedClient:
    """A ``MilvusClient`` whose calls are bounded in time and survive a restart of Milvus:

    - every call has a timeout (:data:`READ_TIMEOUT_S`, :data:`WRITE_TIMEOUT_S`), and Milvus
      out of reach is :class:`MilvusUnavailableError`, one line naming the address;
    - a collection Milvus released (it does at a restart: collections come back unloaded) is
      loaded again and the call retried once; pymilvus reconnects by itself.
    """

    def __init__(self, client: MilvusClient, uri: str) -> None:
        self._client = client
        self._uri = uri

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        timeout = READ_TIMEOUT_S if name in _READS else WRITE_TIMEOUT_S if name in _WRITES else None
        if timeout is None:
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", timeout)
            try:
                return self._call(method, args, kwargs)
            except MilvusUnavailableError:
                raise
            except Exception as exc:  # pymilvus raises its own and grpc's errors
                if not _released(exc):
                    raise
                collection = args[0] if args else kwargs.get("collection_name")
                self._call(self._client.load_collection, (collection,), {"timeout": WRITE_TIMEOUT_S})
                return self._call(method, args, kwargs)

        return call

    def _call(self, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            if _unreachable(exc):
                reason = getattr(exc, "message", None) or _first_line(exc)
                raise MilvusUnavailableError(
                    f"Milvus at {_safe_uri(self._uri)} did not answer ({reason[:160]}); try again once it is back"
                ) from None
            raise


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says Milvus could not be reached in time (not that it refused the call)."""
    import grpc
    from pymilvus.client.types import Status

    code = getattr(exc, "code", None)
    code = code() if callable(code) else code
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return True
    return code == Status.CONNECT_FAILED or "server unavailable" in str(exc)


def _released(exc: BaseException) -> bool:
    """Whether ``exc`` says the collection is not loaded (Milvus restarted, or another client released it)."""
    text = str(exc)
    return "state 'released'" in text or "collection not loaded" in text.lower()


def _builder_gone(generation: str, builder: str) -> bool:
    """Whether the build of ``generation`` recorded as ``builder`` ("HOST PID") surely ended:
    this process no longer builds it, or no process of that id runs on this machine."""
    host, _, pid = builder.partition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        with _BUILDING_LOCK:
            return generation not in _BUILDING
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # someone else's process: alive
        return False
    return False


def term_id(token: str) -> int:
    """The sparse dimension of ``token``: a stable hash below :data:`TERM_SPACE`."""
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") % TERM_SPACE


def _row_id(*parts: object) -> int:
    """A stable positive int64 primary key from ``parts`` (the same rows written twice are one)."""
    digest = hashlib.blake2b("\x00".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def _quoted(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def period_filter(when: DateFilter) -> str | None:
    """A Milvus filter for passages of articles published in one of ``when``'s periods."""
    if not when.restricts:
        return None
    clauses = []
    for period in when.periods:
        terms = ["year > 0"]
        if period.year is not None:
            terms.append(f"year == {period.year}")
        if period.months:
            terms.append(f"month in [{', '.join(str(m) for m in period.months)}]")
        if period.day is not None:
            terms.append(f"day == {period.day}")
        clauses.append("(" + " and ".join(terms) + ")")
    return " or ".join(clauses)


def _pack_text(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def _unpack_text(packed: str) -> str:
    return zlib.decompress(base64.b64decode(packed)).decode("utf-8")


@dataclass
class PreparedBatch:
    """Articles segmented and embedded (:meth:`MilvusIndex.prepare`), not yet written."""

    articles: list[Article]
    digests: dict[str, str]
    passages: list[dict[str, Any]]  # rows without their lexical weights
    sentences: list[dict[str, Any]]
    token_counts: list[dict[int, int]] = field(default_factory=list)  # per passage: term id -> tf

    @property
    def article_ids(self) -> list[str]:
        return [a.id for a in self.articles]


@dataclass
class _Stats:
    documents: int
    total_length: int
    revision: int = 0  # one more at every write: readers see that the articles changed

    @property
    def average_length(self) -> float:
        return self.total_length / self.documents if self.documents else 0.0


@dataclass(frozen=True)
class _TermTable:
    """A generation's document frequencies as of one revision, read whole once: a question
    looks its tokens up here instead of reading them from Milvus, which was most of the time
    a question took (a point read scans the ``terms`` collection in milvus-lite 2.5: 376 of
    503 ms at 100,000 passages). Sorted arrays: 8 bytes a token, 15 MB at 1.9 million."""

    generation: str
    revision: int
    terms: np.ndarray  # uint32 term ids, sorted
    frequencies: np.ndarray  # uint32 document frequencies, in the same order

    @classmethod
    def of(cls, generation: str, revision: int, terms: list[int], frequencies: list[int]) -> _TermTable:
        ids = np.asarray(terms, dtype=np.uint32)
        order = np.argsort(ids, kind="stable")
        return cls(generation, revision, ids[order], np.asarray(frequencies, dtype=np.uint32)[order])

    def get(self, terms: Sequence[int]) -> dict[int, int]:
        """The frequencies of ``terms`` that are in the table (as a point read answers)."""
        if not len(self.terms) or not terms:
            return {}
        wanted = np.asarray(terms, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.terms, wanted), len(self.terms) - 1)
        found = self.terms[at] == wanted
        return {int(t): int(df) for t, df in zip(wanted[found], self.frequencies[at[found]], strict=True)}


class MilvusIndex:
    """The shared search collections of one deployment (see the module docstring)."""

    def __init__(
        self,
        client: MilvusClient,
        prefix: str,
        model_id: str,
        dimension: int,
        analyzer: Analyzer,
        embedder: Embedder | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.model_id = model_id
        self.dimension = dimension
        self.analyzer = analyzer
        self.embedder = embedder
        self._write_lock = threading.Lock()
        self._loaded_names: set[str] = set()
        self._live_cache: tuple[float, str, _Stats] | None = None
        self._terms: _TermTable | None = None
        self._terms_lock = threading.Lock()
        self._terms_loading = False
        self._terms_next_try = 0.0

    @classmethod
    def connect(
        cls,
        uri: str,
        prefix: str,
        model_id: str,
        dimension: int,
        analyzer: Analyzer,
        embedder: Embedder | None = None,
    ) -> MilvusIndex:
        """Connect to Milvus at ``uri`` (a server URI, or a local ``*.db`` file for Milvus Lite)."""
        from pymilvus import MilvusClient

        if uri.endswith(".db"):
            # Milvus Lite lacks AllocTimestamp: its server logs an error and pymilvus a warning
            # for each query iterator, and then both go on correctly with the client's clock.
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
            logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
        try:
            client = MilvusClient(uri=uri, timeout=READ_TIMEOUT_S)
        except Exception as exc:  # pymilvus raises its own and grpc's errors
            raise MilvusIndexError(f"cannot connect to Milvus at {_safe_uri(uri)}: {_first_line(exc)}") from None
        return cls(_GuardedClient(client, uri), prefix, model_id, dimension, analyzer, embedder)

    def close(self) -> None:
        self.client.close()

    # -- generations -----------------------------------------------------------------------

    @property
    def _meta(self) -> str:
        return f"{self.prefix}_meta"

    def _name(self, generation: str, kind: str) -> str:
        return self._loaded(f"{self.prefix}_{generation}_{kind}")

    def _loaded(self, name: str) -> str:
        """``name``, loaded for searching: a collection is released when Milvus restarts or
        another client opens it, and only creating it loads it."""
        if name not in self._loaded_names:
            state = self.client.get_load_state(name).get("state")
            if getattr(state, "name", str(state)) != "Loaded":
                self.client.load_collection(name)
            self._loaded_names.add(name)
        return name

    def _read_meta(self, keys: Sequence[str]) -> dict[str, str]:
        if not self.client.has_collection(self._meta):
            return {}
        rows = self._get(self._loaded(self._meta), list(keys), ["key", "value"])
        return {row["key"]: row["value"] for row in rows}

    def _get(self, name: str, ids: Sequence[Any], fields: list[str]) -> list[dict[str, Any]]:
        """Rows by primary key: point reads (a filter on the key scans the collection in
        Milvus Lite; Milvus answers both from its primary key index)."""
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(list(ids), FILTER_IDS):
            rows += self.client.get(name, ids=list(chunk), output_fields=fields)
        return rows

    def _write_meta(self, values: dict[str, str]) -> None:
        if not self.client.has_collection(self._meta):
            from pymilvus import DataType

            schema = self.client.create_schema(auto_id=False)
            schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
            schema.add_field("value", DataType.VARCHAR, max_length=4096)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
            params = self.client.prepare_index_params()
            params.add_index("unused", index_type="FLAT", metric_type="L2")
            self.client.create_collection(self._meta, schema=schema, index_params=params, consistency_level=STRONG)
        rows = [{"key": k, "value": v, "unused": [0.0, 0.0]} for k, v in values.items()]
        self.client.upsert(self._meta, rows)

    def _live(self) -> tuple[str, _Stats]:
        """The live generation (checked) and its statistics, as of at most :data:`LIVE_TTL_S` ago:
        a question costs no round trip for them, and a generation made live elsewhere is seen
        within that time (a dropped one is retried at once)."""
        cached = self._live_cache
        if cached is None or time.monotonic() - cached[0] > LIVE_TTL_S:
            generation = self._require_live()
            cached = (time.monotonic(), generation, self._stats(generation))
            self._live_cache = cached
        return cached[1], cached[2]

    def usable(self) -> bool:
        """Whether a live generation of this layout and model is there to answer from."""
        try:
            self._require_live()
        except MilvusIndexError:
            return False
        return True

    def live_generation(self) -> str | None:
        return self._read_meta(["live"]).get("live")

    def _require_live(self) -> str:
        generation = self.live_generation()
        if generation is None:
            raise MilvusIndexError(f"Milvus holds no hoptac index under prefix {self.prefix!r}: run `hoptac reindex`")
        meta = self._read_meta([f"{generation}:model", f"{generation}:format"])
        if meta.get(f"{generation}:format") != str(FORMAT):
            raise MilvusIndexError(
                f"the Milvus index under prefix {self.prefix!r} was written by another version of hoptac: "
                "run `hoptac reindex`"
            )
        model = meta.get(f"{generation}:model")
        if model is not None and model != self.model_id:
            raise MilvusIndexError(
                f"the Milvus index was built with model {model!r}, not {self.model_id!r}: run `hoptac reindex`"
            )
        return generation

    def _create_generation(self, generation: str) -> None:
        from pymilvus import DataType, MilvusException

        client, dim = self.client, self.dimension

        def create(kind: str, schema: Any, params: Any) -> None:
            name = f"{self.prefix}_{generation}_{kind}"
            if client.has_collection(name):
                client.drop_collection(name)
            client.create_collection(name, schema=schema, index_params=params, consistency_level=STRONG)
            self._loaded_names.add(name)  # creating it with its indexes loads it

        schema = client.create_schema(auto_id=False)
        schema.add_field("pid", DataType.INT64, is_primary=True)
        schema.add_field("article_id", DataType.VARCHAR, max_length=512)
        schema.add_field("position", DataType.INT64)  # passage number in its article
        schema.add_field("length", DataType.INT64)  # BM25 document length (tokens)
        schema.add_field("sentences", DataType.INT64)  # its sentences' rows: sid = _row_id(pid, 0..n-1)
        schema.add_field("year", DataType.INT64)  # publication date; 0 when undated
        schema.add_field("month", DataType.INT64)
        schema.add_field("day", DataType.INT64)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("lexical", DataType.SPARSE_FLOAT_VECTOR)

        def passage_params(dense: str) -> Any:
            params = client.prepare_index_params()
            hnsw = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION} if dense == "HNSW" else {}
            params.add_index("dense", index_type=dense, metric_type="IP", params=hnsw)
            params.add_index("lexical", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
            return params

        try:
            create("passages", schema, passage_params("HNSW"))
        except MilvusException as exc:
            # milvus-lite 2.5 (the server's C++ core in one process) builds FLAT and IVF_FLAT
            # only ("local mode only support FLAT IVF_FLAT AUTOINDEX"): FLAT is the exact search.
            if "only support" not in str(exc):
                raise
            log.info("Milvus refuses HNSW here (%s): the passages' vectors get a FLAT index", _first_line(exc))
            create("passages", schema, passage_params("FLAT"))

        schema = client.create_schema(auto_id=False)
        schema.add_field("sid", DataType.INT64, is_primary=True)
        schema.add_field("pid", DataType.INT64)
        schema.add_field("article_id", DataType.VARCHAR, max_length=512)
        schema.add_field("position", DataType.INT64)  # sentence number in its article
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("paragraph", DataType.INT64)
        schema.add_field("is_caption", DataType.BOOL)
        schema.add_field("first_copy", DataType.BOOL)  # passages overlap: counted once, in the first
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        params = client.prepare_index_params()
        params.add_index("vector", index_type="FLAT", metric_type="IP")
        create("sentences", schema, params)

        schema = client.create_schema(auto_id=False)
        schema.add_field("article_id", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("digest", DataType.VARCHAR, max_length=64)
        schema.add_field("metadata", DataType.VARCHAR, max_length=MAX_VARCHAR)  # JSON: title, date, source...
        schema.add_field("body", DataType.VARCHAR, max_length=MAX_VARCHAR)  # zlib + base64
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        params = client.prepare_index_params()
        params.add_index("unused", index_type="FLAT", metric_type="L2")
        create("articles", schema, params)

        schema = client.create_schema(auto_id=False)
        schema.add_field("term", DataType.INT64, is_primary=True)
        schema.add_field("df", DataType.INT64)
        schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        params = client.prepare_index_params()
        params.add_index("unused", index_type="FLAT", metric_type="L2")
        create("terms", schema, params)

    def _drop_generation(self, generation: str) -> None:
        for kind in _KINDS:
            name = f"{self.prefix}_{generation}_{kind}"
            self._loaded_names.discard(name)
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    # -- writing ---------------------------------------------------------------------------

    def prepare(self, articles: Sequence[Article]) -> PreparedBatch:
        """Segment and embed ``articles`` exactly as the local index does (the same vectors,
        quantised the same way, and the same tokens); nothing is written."""
        from retrieval.preparation import embed_articles

        if self.embedder is None:
            raise MilvusIndexError("this MilvusIndex was opened without a model: it cannot embed")
        articles = sorted(articles, key=lambda a: a.id)
        if not articles:
            return PreparedBatch([], {}, [], [])
        built = embed_articles(articles, self.embedder)
        passages = built.passages  # with the text that was embedded
        digests = {a.id: article_digest(a).hex() for a in articles}
        for article in articles:
            if len(_pack_text(article.text)) > MAX_VARCHAR or len(_metadata_json(article)) > MAX_VARCHAR:
                raise MilvusIndexError(f"article {article.id}: too long for one Milvus row; split it")
        passage_vectors = built.passage_vectors.decode(slice(None))
        sentence_vectors = built.sentence_vectors.decode(slice(None))
        passage_rows: list[dict[str, Any]] = []
        token_counts: list[dict[int, int]] = []
        sentence_rows: list[dict[str, Any]] = []
        per_article_position: Counter[str] = Counter()
        stored: set[int] = set()
        for p, passage in enumerate(passages):
            article_i, first, last = (int(x) for x in built.passage_rows[p])
            article = articles[article_i]
            position = per_article_position[article.id]
            per_article_position[article.id] += 1
            pid = _row_id(article.id, digests[article.id], position)
            published = article.published
            counts = Counter(term_id(t) for t in self.analyzer.document_tokens(passage.text))
            token_counts.append(dict(counts))
            passage_rows.append(
                {
                    "pid": pid,
                    "article_id": article.id,
                    "position": position,
                    "length": sum(counts.values()),
                    "sentences": last - first + 1,
                    "year": published.year if published else 0,
                    "month": published.month if published else 0,
                    "day": published.day if published else 0,
                    "dense": passage_vectors[p],
                }
            )
            for s in range(first, last + 1):
                _, start, end, paragraph, caption = (int(x) for x in built.sentence_rows[s])
                text = article.text[start:end]
                sentence_rows.append(
                    {
                        "sid": _row_id(pid, s - first),
                        "pid": pid,
                        "article_id": article.id,
                        "position": s,
                        "start": start,
                        "end": end,
                        "paragraph": paragraph,
                        "is_caption": bool(caption),
                        "first_copy": s not in stored,
                        "text": text,
                        "vector": sentence_vectors[s],
                    }
                )
                stored.add(s)
        return PreparedBatch(list(articles), digests, passage_rows, sentence_rows, token_counts)

    def rebuild(self, prepared: PreparedBatch) -> str:
        """A new generation holding exactly ``prepared``, made live at the end (the old one
        serves until then, and is dropped after); returns its name."""
        lengths = [int(row["length"]) for row in prepared.passages]
        generation = self.new_generation()
        try:
            self.fill(generation, prepared, sum(lengths) / len(lengths) if lengths else 0.0)
            self.make_live(generation)
        except BaseException:
            self.abandon(generation)
            raise
        return generation

    def average_length(self, articles: Sequence[Article]) -> float:
        """The BM25 average passage length of ``articles`` (segmented and tokenised, not embedded):
        a build in several batches weighs every passage with the whole corpus's average, as
        one local build does."""
        from retrieval.preparation import segment_articles

        total = count = 0
        for start in range(0, len(articles), BATCH):
            _, passages = segment_articles(sorted(articles[start : start + BATCH], key=lambda a: a.id))
            total += sum(len(self.analyzer.document_tokens(p.text)) for p in passages)
            count += len(passages)
        return total / count if count else 0.0

    def new_generation(self) -> str:
        """Empty collections for a full build, beside the live ones (not live yet). Named
        uniquely, so two builders started at once never write into one generation. The
        generations earlier builds abandoned are dropped first (:meth:`drop_abandoned`)."""
        self.drop_abandoned()
        previous = self.live_generation()
        number = int(previous.split("x")[0].removeprefix("g")) + 1 if previous else 1
        generation = f"g{number}x{secrets.token_hex(3)}"
        with _BUILDING_LOCK:
            _BUILDING.add(generation)
        try:
            with self._write_lock:
                self._create_generation(generation)
                self._write_meta(
                    {
                        f"{generation}:model": self.model_id,
                        f"{generation}:format": str(FORMAT),
                        f"{generation}:dimension": str(self.dimension),
                        f"{generation}:built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        f"{generation}:builder": f"{socket.gethostname()} {os.getpid()}",
                        f"{generation}:heartbeat": str(time.time()),
                    }
                )
        except BaseException:
            self.abandon(generation)
            raise
        return generation

    def fill(self, generation: str, prepared: PreparedBatch, average_length: float) -> None:
        """Add ``prepared`` to a generation being built, weighing passages with ``average_length``."""
        with self._write_lock:
            self._write_meta({f"{generation}:heartbeat": str(time.time())})
            stats = self._stats(generation)
            self._insert(generation, prepared, stats, {}, average_length)

    def make_live(self, generation: str) -> None:
        """Serve ``generation`` from now on and drop the one it replaces."""
        with self._write_lock:
            previous = self.live_generation()
            self._write_meta({"live": generation})
            self._live_cache = None
            with _BUILDING_LOCK:
                _BUILDING.discard(generation)
            if previous is not None and previous != generation:
                self._drop_generation(previous)
                self._drop_meta(previous)

    def abandon(self, generation: str) -> None:
        """Give up building ``generation`` (its build failed): dropped now if Milvus answers,
        else by the next :meth:`drop_abandoned`."""
        with _BUILDING_LOCK:
            _BUILDING.discard(generation)
        try:
            with self._write_lock:
                self._drop_generation(generation)
                self._drop_meta(generation)
        except MilvusIndexError:
            log.info("the abandoned Milvus generation %s is left for the next build to drop", generation)

    def generations(self) -> set[str]:
        """The generations whose collections are in Milvus under this prefix (live or not)."""
        pattern = re.compile(rf"{re.escape(self.prefix)}_(g\d+x[0-9a-f]+)_(?:{'|'.join(_KINDS)})")
        names = self.client.list_collections()
        return {match.group(1) for name in names if (match := pattern.fullmatch(name))}

    def drop_abandoned(self) -> list[str]:
        """Drop the collections of the generations no build will finish: not live, and their
        builder gone (a process of this machine no longer running it; on another machine, or
        unknown, nothing written for :data:`ABANDONED_AFTER_S`). A build cut off (Milvus
        stopped during ``reindex``, the process killed) leaves one; so does a replaced
        generation whose drop was cut off. Returns the generations dropped."""
        live = self.live_generation()
        candidates = sorted(self.generations() - {live})
        if not candidates:
            return []
        keys = [f"{g}:{key}" for g in candidates for key in ("builder", "heartbeat")]
        meta = self._read_meta(keys)
        dropped = []
        for generation in candidates:
            builder = meta.get(f"{generation}:builder", "")
            heartbeat = float(meta.get(f"{generation}:heartbeat") or 0.0)
            if not _builder_gone(generation, builder) and time.time() - heartbeat < ABANDONED_AFTER_S:
                continue
            with self._write_lock:
                self._drop_generation(generation)
                self._drop_meta(generation)
            log.warning(
                "dropped the Milvus generation %s a build abandoned (builder %s)", generation, builder or "unknown"
            )
            dropped.append(generation)
        return dropped

    def _drop_meta(self, generation: str) -> None:
        """Forget ``generation``'s keys in the meta collection."""
        if self.client.has_collection(self._meta):
            self.client.delete(self._loaded(self._meta), filter=f'key like "{generation}:%"')

    def put(self, prepared: PreparedBatch) -> None:
        """Make the prepared articles searchable, replacing any earlier copy: the old rows go
        first, so a replaced article's old passages are never found again. Idempotent."""
        if not prepared.articles:
            return
        generation = self.live_generation()
        if generation is None:
            self.rebuild(prepared)
            return
        with self._write_lock:
            stats = self._begin_write(generation)
            frequencies = self._remove_rows(generation, prepared.article_ids, stats)
            self._insert(generation, prepared, stats, frequencies)

    def remove(self, article_ids: Sequence[str]) -> None:
        """Make these articles unsearchable (unknown ids are ignored)."""
        if not article_ids:
            return
        with self._write_lock:
            generation = self.live_generation()
            if generation is None:
                return
            stats = self._begin_write(generation)
            frequencies = self._remove_rows(generation, article_ids, stats)
            self._write_frequencies(generation, frequencies)
            self._write_stats(generation, stats)
            self._flush(generation)

    def _remove_rows(self, generation: str, article_ids: Sequence[str], stats: _Stats) -> dict[int, int]:
        """Delete the rows of ``article_ids``; ``stats`` updated; returns the changed document
        frequencies (term id -> new df)."""
        passages = self._name(generation, "passages")
        old: list[dict[str, Any]] = []
        for chunk in _chunks(list(article_ids), FILTER_IDS):
            old += self.client.query(
                passages,
                filter=f"article_id in {_quoted(chunk)}",
                output_fields=["pid", "length", "lexical"],
                consistency_level=STRONG,
            )
        gone: Counter[int] = Counter()
        for row in old:
            gone.update(int(t) for t in _sparse_keys(row["lexical"]))
        stats.documents -= len(old)
        stats.total_length -= sum(int(row["length"]) for row in old)
        frequencies = self._frequencies(generation, list(gone))
        for term, count in gone.items():
            frequencies[term] = max(0, frequencies.get(term, 0) - count)
        # The article row first (written last by _insert): an article is searchable and
        # counted as indexed only while all its rows are there.
        for kind in ("articles", "sentences", "passages"):
            for chunk in _chunks(list(article_ids), FILTER_IDS):
                self.client.delete(self._name(generation, kind), filter=f"article_id in {_quoted(chunk)}")
        return frequencies

    def _insert(
        self,
        generation: str,
        prepared: PreparedBatch,
        stats: _Stats,
        frequencies: dict[int, int],
        average_length: float | None = None,
    ) -> None:
        """Write ``prepared``'s rows; passages weighed with ``average_length`` (by default the
        collection's average once they are in)."""
        stats.documents += len(prepared.passages)
        stats.total_length += sum(int(row["length"]) for row in prepared.passages)
        average = stats.average_length if average_length is None else average_length
        added: Counter[int] = Counter()
        for counts in prepared.token_counts:
            added.update(counts.keys())
        known = self._frequencies(generation, [t for t in added if t not in frequencies])
        for term, count in added.items():
            frequencies[term] = frequencies.get(term, known.get(term, 0)) + count
        rows = []
        for row, counts in zip(prepared.passages, prepared.token_counts, strict=True):
            norm = K1 * (1 - B + B * row["length"] / average) if average > 0 else K1
            lexical = {t: float(tf / (tf + norm)) for t, tf in counts.items()}
            rows.append({**row, "lexical": lexical or {0: 0.0}})
        for chunk in _chunks(rows, BATCH):
            self.client.upsert(self._name(generation, "passages"), list(chunk))
        for chunk in _chunks(prepared.sentences, BATCH):
            self.client.upsert(self._name(generation, "sentences"), list(chunk))
        article_rows = [
            {
                "article_id": a.id,
                "digest": prepared.digests[a.id],
                "metadata": _metadata_json(a),
                "body": _pack_text(a.text),
                "unused": [0.0, 0.0],
            }
            for a in prepared.articles
        ]
        for chunk in _chunks(article_rows, BATCH):
            self.client.upsert(self._name(generation, "articles"), list(chunk))
        self._write_frequencies(generation, frequencies)
        self._write_stats(generation, stats)
        self._flush(generation)

    def _flush(self, generation: str) -> None:
        """Seal what was just written into indexed segments. Milvus Lite searches unsealed
        rows by rebuilding an index over them at every search; a Milvus server would seal
        them by itself, and one flush per write batch costs it little."""
        self._live_cache = None  # this process reads its own writes at once
        for kind in ("passages", "sentences", "articles", "terms"):
            self.client.flush(self._name(generation, kind))

    def _stats(self, generation: str) -> _Stats:
        keys = [f"{generation}:{name}" for name in ("documents", "total_length", "revision")]
        meta = self._read_meta(keys)
        documents, total_length, revision = (int(meta.get(key, 0)) for key in keys)
        return _Stats(documents, total_length, revision)

    def _write_stats(self, generation: str, stats: _Stats) -> None:
        """The statistics, and the end of the write :meth:`_begin_write` began (one upsert)."""
        stats.revision += 1
        self._write_meta(
            {
                f"{generation}:documents": str(stats.documents),
                f"{generation}:total_length": str(stats.total_length),
                f"{generation}:revision": str(stats.revision),
                f"{generation}:writing": "",
            }
        )

    def _begin_write(self, generation: str) -> _Stats:
        """Mark the live generation as being written and return its statistics. A write cut
        off (Milvus stopped, the process killed) leaves the mark: the next write first
        :meth:`_repair`s the rows and statistics it left."""
        if self._read_meta([f"{generation}:writing"]).get(f"{generation}:writing"):
            self._repair(generation)
        self._write_meta({f"{generation}:writing": "1"})
        return self._stats(generation)

    def _repair(self, generation: str) -> None:
        """After a cut-off write: remove the passages and sentences of articles without an
        article row (an insert or a removal not finished), then count the statistics and
        document frequencies again from the passages left."""
        committed: set[str] = set()
        for rows in self._scan(generation, "articles", ["article_id"]):
            committed.update(row["article_id"] for row in rows)
        documents = total_length = 0
        frequencies: Counter[int] = Counter()
        orphans: set[str] = set()
        for rows in self._scan(generation, "passages", ["article_id", "length", "lexical"]):
            for row in rows:
                if row["article_id"] not in committed:
                    orphans.add(row["article_id"])
                    continue
                documents += 1
                total_length += int(row["length"])
                frequencies.update(int(t) for t in _sparse_keys(row["lexical"]))
        for kind in ("sentences", "passages"):
            for chunk in _chunks(sorted(orphans), FILTER_IDS):
                self.client.delete(self._name(generation, kind), filter=f"article_id in {_quoted(chunk)}")
        stale: set[int] = set()
        for rows in self._scan(generation, "terms", ["term"]):
            stale.update(int(row["term"]) for row in rows)
        self._write_frequencies(generation, {t: 0 for t in stale - set(frequencies)} | dict(frequencies))
        stats = self._stats(generation)
        self._write_stats(generation, _Stats(documents, total_length, stats.revision))
        self._flush(generation)
        logging.getLogger(__name__).warning(
            "repaired Milvus generation %s after a write cut off: %d passages, %d articles left half-written removed",
            generation, documents, len(orphans),
        )  # fmt: skip

    def _scan(
        self, generation: str, kind: str, fields: list[str], batch: int = BATCH
    ) -> Iterator[list[dict[str, Any]]]:
        iterator = self.client.query_iterator(
            self._name(generation, kind), batch_size=batch, filter="", output_fields=fields
        )
        while rows := iterator.next():
            yield rows
        iterator.close()

    def version(self) -> str:
        """The live generation and its revision (``g3.r41``): changes with every write."""
        generation = self._require_live()
        return f"{generation}.r{self._stats(generation).revision}"

    def _frequencies(self, generation: str, terms: Sequence[int]) -> dict[int, int]:
        """The document frequencies of ``terms`` as Milvus holds them now (one point read):
        what writers count from, and what a question uses while no table of them is held."""
        rows = self._get(self._name(generation, "terms"), list(terms), ["term", "df"])
        return {int(r["term"]): int(r["df"]) for r in rows}

    # -- the document frequencies held in the process ----------------------------------------

    def warm_up(self, wait: bool = True) -> bool:
        """Read the live generation's document frequencies whole (a replica's start, in the
        background unless ``wait``: 40-45 s at 100,000 passages), so that questions look
        them up in the process; whether they are held now."""
        generation, _ = self._live()
        if not wait:
            self._load_terms_soon(generation)
            return False
        return self._load_terms(generation)

    def question_frequencies(self, generation: str, revision: int, terms: Sequence[int]) -> dict[int, int]:
        """The document frequencies of a question's ``terms`` in ``generation`` at ``revision``
        (the statistics the question's idf uses): from the table held in the process when it is
        of that very revision, else one point read, and the table is read again in the
        background. Every write (here or in another process) moves the revision, so a table is
        never used after another writer changed a frequency: the same idf as a point read."""
        table = self._terms
        if table is not None and table.generation == generation and table.revision == revision:
            return table.get(terms)
        self._load_terms_soon(generation)
        return self._frequencies(generation, terms)

    def _load_terms_soon(self, generation: str) -> None:
        """Start reading ``generation``'s document frequencies in the background, unless a read
        runs already or the last one failed less than :data:`TERM_RELOAD_PAUSE_S` ago."""
        with self._terms_lock:
            if self._terms_loading or time.monotonic() < self._terms_next_try:
                return
            self._terms_loading = True
        threading.Thread(target=self._load_terms_in_background, args=(generation,), name="milvus-terms",
                         daemon=True).start()  # fmt: skip

    def _load_terms_in_background(self, generation: str) -> None:
        loaded = False
        try:
            loaded = self._load_terms(generation)
        except Exception as exc:  # Milvus gone, the generation dropped: questions read instead
            log.info("the Milvus document frequencies were not read whole: %s", _first_line(exc))
        finally:
            with self._terms_lock:
                self._terms_loading = False
                if not loaded:
                    self._terms_next_try = time.monotonic() + TERM_RELOAD_PAUSE_S

    def _load_terms(self, generation: str) -> bool:
        """Read ``generation``'s ``terms`` whole and hold them, if no write ran meanwhile: the
        revision is the same before and after, and no write was under way at either end (a
        write changes the frequencies before it moves the revision). Whether they are held."""
        before = self._settled_stats(generation)
        if before is None:
            return False
        terms: list[int] = []
        frequencies: list[int] = []
        for rows in self._scan(generation, "terms", ["term", "df"], TERM_PAGE):
            terms += (int(row["term"]) for row in rows)
            frequencies += (int(row["df"]) for row in rows)
        after = self._settled_stats(generation)
        if after is None or after.revision != before.revision:
            return False
        self._terms = _TermTable.of(generation, before.revision, terms, frequencies)
        return True

    def _settled_stats(self, generation: str) -> _Stats | None:
        """``generation``'s statistics, or None while a write is under way (one read)."""
        keys = [f"{generation}:{name}" for name in ("documents", "total_length", "revision", "writing")]
        meta = self._read_meta(keys)
        if meta.get(keys[3]):
            return None
        documents, total_length, revision = (int(meta.get(key, 0)) for key in keys[:3])
        return _Stats(documents, total_length, revision)

    def _write_frequencies(self, generation: str, frequencies: dict[int, int]) -> None:
        terms = self._name(generation, "terms")
        rows = [{"term": t, "df": df, "unused": [0.0, 0.0]} for t, df in frequencies.items() if df > 0]
        for chunk in _chunks(rows, BATCH * 5):
            self.client.upsert(terms, list(chunk))
        empty = [t for t, df in frequencies.items() if df <= 0]
        for chunk in _chunks(empty, FILTER_IDS):
            self.client.delete(terms, filter=f"term in [{', '.join(str(t) for t in chunk)}]")

    # -- reading ---------------------------------------------------------------------------

    def indexed(self) -> dict[str, str]:
        """Every searchable article: id -> hex digest of its content."""
        generation = self.live_generation()
        if generation is None:
            return {}
        found: dict[str, str] = {}
        iterator = self.client.query_iterator(
            self._name(generation, "articles"), batch_size=BATCH, filter="", output_fields=["article_id", "digest"]
        )
        while rows := iterator.next():
            found.update({r["article_id"]: r["digest"] for r in rows})
        iterator.close()
        return found

    def counts(self) -> dict[str, int]:
        """Live articles, passages and sentences."""
        generation = self._require_live()
        filters = {"articles": "", "passages": "", "sentences": "first_copy == true"}
        return {
            kind: int(
                self.client.query(
                    self._name(generation, kind), filter=where, output_fields=["count(*)"], consistency_level=STRONG
                )[0]["count(*)"]
            )
            for kind, where in filters.items()
        }

    def built_at(self) -> datetime:
        """When the live generation was built."""
        generation = self._require_live()
        value = self._read_meta([f"{generation}:built_at"]).get(f"{generation}:built_at")
        return datetime.fromisoformat(value) if value else datetime.now(UTC)

    def any_dated(self) -> bool:
        """Whether any searchable article has a publication date."""
        generation = self._require_live()
        rows = self.client.query(
            self._name(generation, "passages"), filter="year > 0", output_fields=["pid"], limit=1,
            consistency_level=STRONG,
        )  # fmt: skip
        return bool(rows)

    def articles(self, article_ids: Sequence[str], body: bool = False) -> dict[str, Article]:
        """The articles among ``article_ids`` that are searchable (with their body if ``body``)."""
        return self._articles(self._live()[0], article_ids, body)

    def _articles(self, generation: str, article_ids: Sequence[str], body: bool = False) -> dict[str, Article]:
        fields = ["article_id", "metadata", *(["body"] if body else [])]
        rows = self._get(self._name(generation, "articles"), list(dict.fromkeys(article_ids)), fields)
        return {
            row["article_id"]: _article_of(row["metadata"], _unpack_text(row["body"]) if body else "") for row in rows
        }

    def all_articles(self, body: bool = False) -> list[Article]:
        generation = self._require_live()
        fields = ["article_id", "metadata", *(["body"] if body else [])]
        iterator = self.client.query_iterator(
            self._name(generation, "articles"), batch_size=BATCH, filter="", output_fields=fields
        )
        found = []
        while rows := iterator.next():
            found += [_article_of(r["metadata"], _unpack_text(r["body"]) if body else "") for r in rows]
        iterator.close()
        return found

    def view(
        self, question: str, query: np.ndarray, k: int = 50, where: str | None = None, related_weight: float = 0.5
    ) -> QuestionView:
        """This question's candidates (``k`` by meaning, ``k`` by BM25; only passages matching
        the filter ``where`` if given), ready for the answering code."""
        from pymilvus import MilvusException

        try:
            return self._view(question, query, k, where, related_weight)
        except MilvusException:
            if self._live_cache is None:
                raise
            self._live_cache = None  # another process made a new generation live: read it again
            return self._view(question, query, k, where, related_weight)

    def _view(self, question: str, query: np.ndarray, k: int, where: str | None, related_weight: float) -> QuestionView:
        generation, stats = self._live()
        analyzer = self.analyzer
        tokens = analyzer.query_tokens(question)
        related = analyzer.related_place_tokens(question)
        asked = set(tokens) | set(related)
        for term in analyzer.content_terms(question):
            asked.add(term.token)
            for alternative in term.alternatives:
                asked.update(alternative)
        ids = {token: term_id(token) for token in asked}
        frequencies = self.question_frequencies(generation, stats.revision, sorted(set(ids.values())))
        idf = {token: bm25_idf(frequencies.get(tid, 0), stats.documents) for token, tid in ids.items()}
        sparse: dict[int, float] = {}
        if stats.average_length > 0:
            for token in tokens:
                sparse[ids[token]] = sparse.get(ids[token], 0.0) + idf[token]
            for token in related:
                sparse[ids[token]] = sparse.get(ids[token], 0.0) + related_weight * idf[token]
        passages = self._name(generation, "passages")
        fields = ["pid", "article_id", "sentences", "dense"]
        vector = np.asarray(query, dtype=np.float32).tolist()
        rows: dict[int, dict[str, Any]] = {}
        dense_hits: list[tuple[int, float]] = []
        hits = self.client.search(
            passages,
            data=[vector],
            anns_field="dense",
            limit=k,
            filter=where or "",
            output_fields=fields,
            search_params={"metric_type": "IP", "params": {"ef": max(HNSW_EF_SEARCH, k)}},
            consistency_level=STRONG,
        )[0]
        for hit in hits:
            entity = hit["entity"]
            rows[int(entity["pid"])] = entity
            dense_hits.append((int(entity["pid"]), float(hit["distance"])))
        if sparse:
            hits = self.client.search(
                passages,
                data=[sparse],
                anns_field="lexical",
                limit=k,
                filter=where or "",
                output_fields=fields,
                search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}},
                consistency_level=STRONG,
            )[0]
            for hit in hits:
                rows.setdefault(int(hit["entity"]["pid"]), hit["entity"])
        metadata = self._articles(generation, [row["article_id"] for row in rows.values()])
        # An article removed by a writer since the searches: its passages are left out.
        pids = sorted(p for p, row in rows.items() if row["article_id"] in metadata)
        kept = set(pids)
        dense_hits = [(pid, score) for pid, score in dense_hits if pid in kept]
        return QuestionView(self, generation, [rows[p] for p in pids], dense_hits, idf, stats, metadata)

    def lexical_scores(self, generation: str, pids: Sequence[int], sparse: dict[int, float]) -> dict[int, float]:
        """BM25 of the passages ``pids`` for the query vector ``sparse`` (those scoring above 0)."""
        sparse = {t: w for t, w in sparse.items() if w > 0}
        if not pids or not sparse:
            return {}
        hits = self.client.search(
            self._name(generation, "passages"),
            data=[sparse],
            anns_field="lexical",
            limit=len(pids),
            filter=f"pid in [{', '.join(str(p) for p in pids)}]",
            output_fields=["pid"],
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}},
            consistency_level=STRONG,
        )[0]
        return {int(hit["entity"]["pid"]): float(hit["distance"]) for hit in hits}

    def sentences_of(self, generation: str, passages: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
        """The sentence rows of ``passages``, given as (pid, number of sentences)."""
        ids = [_row_id(pid, i) for pid, count in passages for i in range(count)]
        fields = ["sid", "pid", "article_id", "position", "start", "end", "paragraph", "is_caption", "text", "vector"]
        return self._get(self._name(generation, "sentences"), ids, fields)


class _ViewDense:
    def __init__(self, hits: list[tuple[int, float]]) -> None:
        self._hits = hits

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        hits = [(row, score) for row, score in self._hits if allowed is None or allowed[row]][:k]
        return np.array([r for r, _ in hits], dtype=np.int64), np.array([s for _, s in hits], dtype=np.float32)


class _ViewLexical:
    """BM25 of the view's passages: the question's sparse vector (the live idf of each token)
    times their stored document weights, computed by Milvus among these passages only."""

    def __init__(
        self, milvus: MilvusIndex, generation: str, pids: list[int], idf: dict[str, float], stats: _Stats
    ) -> None:
        self._milvus = milvus
        self._generation = generation
        self._pids = pids
        self._idf = idf
        self._stats = stats
        self._known: dict[tuple[str, ...], np.ndarray] = {}

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        key = tuple(query_tokens)
        if key not in self._known:
            sparse: dict[int, float] = {}
            for token in query_tokens:
                tid = term_id(token)
                sparse[tid] = sparse.get(tid, 0.0) + self.idf(token)
            found = self._milvus.lexical_scores(self._generation, self._pids, sparse)
            self._known[key] = np.array([found.get(pid, 0.0) for pid in self._pids], dtype=np.float32)
        return self._known[key]

    def search(
        self, query: LexicalQuery, k: int, allowed: np.ndarray | None = None, rows: Sequence[int] = ()
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return exhaustive_search(self, query, k, allowed, rows)

    def idf(self, token: str) -> float:
        """The idf of ``token`` with the view's statistics: the question's tokens were looked
        up with the view; another is looked up as they were (the table held, or a read)."""
        if token not in self._idf:
            tid = term_id(token)
            found = self._milvus.question_frequencies(self._generation, self._stats.revision, [tid])
            self._idf[token] = bm25_idf(found.get(tid, 0), self._stats.documents)
        return self._idf[token]


class _Rows:
    """Vectors by view row."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = vectors

    def __getitem__(self, key: int | Sequence[int] | np.ndarray) -> np.ndarray:
        return self._vectors[key]

    def __len__(self) -> int:
        return len(self._vectors)


def _sparse_keys(value: Any) -> Iterable[int]:
    """The dimensions of a sparse vector as pymilvus returns it (a dict, or a scipy-like row)."""
    if isinstance(value, dict):
        return (int(k) for k in value)
    return (int(k) for k in value.indices)


class QuestionView:
    """One question's candidate passages as a small :class:`SearchIndex` (rows 0..n-1), with
    their sentences fetched when first asked for."""

    def __init__(
        self,
        milvus: MilvusIndex,
        generation: str,
        rows: list[dict[str, Any]],
        dense_hits: list[tuple[int, float]],
        idf: dict[str, float],
        stats: _Stats,
        articles: dict[str, Article],
    ) -> None:
        self._milvus = milvus
        self._generation = generation
        self.pids = [int(r["pid"]) for r in rows]
        self._row_of = {pid: i for i, pid in enumerate(self.pids)}
        self._article_ids = [str(r["article_id"]) for r in rows]
        self._counts = [int(r["sentences"]) for r in rows]
        self._articles = articles
        dim = milvus.dimension
        vectors = np.asarray([r["dense"] for r in rows], dtype=np.float32).reshape(len(rows), dim)
        self._passage_vectors = _Rows(vectors)
        self._dense = _ViewDense([(self._row_of[pid], score) for pid, score in dense_hits])
        self._lexical = _ViewLexical(milvus, generation, self.pids, dict(idf), stats)
        self._model = milvus.model_id
        self._sentences: list[Sentence] = []
        self._sentence_vectors: list[np.ndarray] = []
        self._passage_sentences: dict[int, range] = {}

    def fetch_sentences(self, passages: Iterable[int]) -> None:
        """Read the sentences of these view rows (one query for all that are not read yet)."""
        wanted = [p for p in dict.fromkeys(passages) if p not in self._passage_sentences]
        if not wanted:
            return
        found = self._milvus.sentences_of(self._generation, [(self.pids[p], self._counts[p]) for p in wanted])
        by_pid: dict[int, list[dict[str, Any]]] = {}
        for row in found:
            by_pid.setdefault(int(row["pid"]), []).append(row)
        for p in wanted:
            first = len(self._sentences)
            for row in sorted(by_pid.get(self.pids[p], []), key=lambda r: int(r["position"])):
                self._sentences.append(
                    Sentence(
                        str(row["article_id"]),
                        int(row["position"]),
                        int(row["start"]),
                        int(row["end"]),
                        str(row["text"]),
                        int(row["paragraph"]),
                        bool(row["is_caption"]),
                    )
                )
                self._sentence_vectors.append(np.asarray(row["vector"], dtype=np.float32))
            self._passage_sentences[p] = range(first, len(self._sentences))

    # -- SearchIndex -----------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self._model

    @property
    def dense(self) -> _ViewDense:
        return self._dense

    @property
    def lexical(self) -> _ViewLexical:
        return self._lexical

    @property
    def passage_vectors(self) -> _Rows:
        return self._passage_vectors

    @property
    def sentence_vectors(self) -> _Rows:
        dim = self._milvus.dimension
        return _Rows(np.vstack(self._sentence_vectors) if self._sentence_vectors else np.zeros((0, dim), np.float32))

    def sentence(self, row: int) -> Sentence:
        return self._sentences[row]

    def article_of_sentence(self, row: int) -> Article:
        return self._articles[self._sentences[row].article_id]

    def passage_sentences(self, passage: int) -> range:
        self.fetch_sentences([passage])
        return self._passage_sentences[passage]

    def article_of_passage(self, passage: int) -> Article:
        return self._articles[self._article_ids[passage]]

    def article_id_of_passage(self, passage: int) -> str:
        return self._article_ids[passage]

    def is_live_passage(self, passage: int) -> bool:
        return True

    def live_articles(self) -> list[Article]:
        return list(self._articles.values())


def _metadata_json(article: Article) -> str:
    return json.dumps(
        {
            "id": article.id,
            "title": article.title,
            "published": article.published.isoformat() if article.published else None,
            "source": article.source,
            "url": article.url,
            "tags": list(article.tags),
            "sapo": article.sapo,
        },
        ensure_ascii=False,
    )


def _article_of(metadata: str, body: str) -> Article:
    meta = json.loads(metadata)
    article_id = meta.get("id")
    published = datetime.fromisoformat(meta["published"]) if meta.get("published") else None
    return Article(
        id=article_id or "",
        title=meta["title"],
        published=published,
        source=meta.get("source") or "",
        text=body,
        url=meta.get("url"),
        tags=tuple(meta.get("tags") or ()),
        sapo=meta.get("sapo"),
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _safe_uri(uri: str) -> str:
    """``uri`` without a password (``http://user:secret@host`` -> ``http://user:***@host``)."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return uri
