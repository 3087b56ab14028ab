"""The persisted index: build beside the old one, swap atomically, load with integrity checks.

Layout under ``<data_dir>/index/``::

    CURRENT                  name of the version being served (replaced atomically)
    versions/<version>/      one complete index:
        manifest.json        what is in it, with the size and SHA-256 of every other file
        article_*                   the articles, compressed one by one (retrieval/local/article_file.py),
                                    read when cited
        sentences.npy, passages.npy the rows: which article and sentences each row is
        passage_vectors.npy         float16, rows read by position (retrieval/local/row_file.py)
        sentence_vectors.npy, sentence_vectors_scales.npy   int8 with a scale per row
        postings_*, vocabulary_*    the lexical index (retrieval/local/postings.py): offsets memory-
                                    mapped, the postings streams read a token at a time
        blocks_*                    the long lists' blocks (retrieval/local/blocks.py), memory-mapped:
                                    BM25 decodes only the blocks that can matter (retrieval/local/pruned.py)
        dense.faiss                 the passage index (retrieval/local/dense.py), memory-mapped
                             the base: the articles of the last full build
        delta/<nnnn>/        the articles added or replaced by each incremental ingest since
                             (the same files but dense.faiss)
    corpus-state.sqlite3     which corpus files the current version was read from (corpus_state.py)
    .lock                    held by the one process building at a time

A version is a base plus a delta. A full build (``hoptac reindex``, the first ingest, or a
compaction when the delta has grown) writes a new base and an empty delta. An ingest keeps
the base and the earlier delta segments (hard links to the previous version's files, whose
checksums it copies from the previous manifest) and writes only one new small segment; an
article in a later segment supersedes its copies in the base or earlier segments, and the
manifest lists the ids deleted from the corpus. Superseded and deleted articles' passages
are never searched and their sentences never cited.

A build writes a hidden staging folder, checks it, renames it into ``versions/`` and only
then rewrites ``CURRENT``; a failure or Ctrl-C at any point leaves the old version serving.

Integrity, without reading every byte before the first answer: loading checks that every
file is there with the size its manifest records (a truncated or missing file fails at
once), reads the small files whole against their SHA-256, and checks the shape of every
array; the large files (vectors, the passage index, the lexical postings, the article text)
are hashed by a background thread (:class:`IntegrityCheck`) while the index serves, and a
mismatch stops answering with the fixing command. A cited article is checked against its own
SHA-256 when it is read, so damaged text is never quoted, even before that check ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.articles.records import article_digest
from retrieval.crash_points import crash_point
from retrieval.embedding.compact import CompactVectors, VectorBlocks
from retrieval.embedding.embedder import Embedder
from retrieval.engine import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IndexWriteError,
    Progress,
)
from retrieval.local.article_file import ArticleFile, write_articles
from retrieval.local.dense import DenseIndex, DenseIndexKind, LiveDense
from retrieval.local.freed_memory import return_freed_memory
from retrieval.local.postings import Postings, PostingsBuilder
from retrieval.local.pruned import PrunedLexicalIndex
from retrieval.local.row_file import load_vectors
from retrieval.models import Article, Passage, Sentence
from retrieval.preparation import embed_articles
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.question_dates import DateFilter

#: 5: page furniture is left out of sentences and passages (retrieval/articles/furniture.py);
#: 6: compact vectors (float16 passages, int8 sentences, HNSW over 8-bit codes), articles read when cited;
#: 7: postings as delta-coded varints and 1-byte counts, articles compressed one by one, both read with pread.
FORMAT_VERSION = 7
#: Files up to this size are hashed when an index is loaded; larger ones in the background.
CHECKED_AT_LOAD_BYTES = 8 << 20

#: A delta is compacted (the whole index rebuilt) once its passages plus the base's
#: superseded ones pass DELTA_FRACTION of the base, at least DELTA_MIN_PASSAGES and at most
#: DELTA_MAX_PASSAGES, or once it has more than DELTA_MAX_SEGMENTS segments.
DELTA_FRACTION = 0.1
DELTA_MIN_PASSAGES = 1_000
DELTA_MAX_PASSAGES = 20_000
DELTA_MAX_SEGMENTS = 64


@dataclass(frozen=True)
class Manifest:
    format: int
    version: str
    model: str
    dimension: int
    corpus_fingerprint: str
    articles: int  # live articles (superseded and deleted copies not counted), like passages and sentences
    passages: int
    sentences: int
    built_at: str
    dense_kind: str
    embedded: int  # texts that had to be embedded for this build (the rest came from the cache)
    files: dict[str, dict[str, object]]  # relative path -> {"bytes": n, "sha256": hex}
    base_version: str = ""  # the version whose full build wrote the base files
    base: dict[str, int] = field(default_factory=dict)  # rows in the base files: articles, passages, sentences
    delta: list[dict[str, Any]] = field(default_factory=list)  # segments: name, articles, passages, sentences
    removed: list[str] = field(default_factory=list)  # ids deleted from the corpus since the base


def _fingerprint(digests: Iterable[tuple[str, bytes]]) -> str:
    combined = hashlib.sha256()
    for _, digest in sorted(digests):
        combined.update(digest)
    return combined.hexdigest()


def corpus_fingerprint(articles: Sequence[Article]) -> str:
    """Changes whenever any article's metadata or text changes (order does not matter)."""
    return _fingerprint((a.id, article_digest(a)) for a in articles)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_VERSION_NUMBERS = itertools.count()


def _new_version_name() -> str:
    # Sorts in creation order (microseconds), unique across processes (pid) and within one.
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + f"-{os.getpid()}-{next(_VERSION_NUMBERS)}"


class ChainedArticles(Sequence[Article]):
    """The articles of several segments as one sequence, base first; nothing is copied or read."""

    def __init__(self, parts: Sequence[Sequence[Article]]) -> None:
        self._parts = list(parts)
        self._ends = list(itertools.accumulate(len(part) for part in self._parts))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"article {i} out of range")
        part = int(np.searchsorted(self._ends, i, side="right"))
        return self._parts[part][i - (self._ends[part - 1] if part else 0)]

    def __iter__(self) -> Iterator[Article]:
        for part in self._parts:
            yield from part


def _lowest_priority() -> None:
    """Give the calling thread the lowest CPU priority (Linux: a thread's nice value is its
    own); elsewhere, or when refused, leave it as it is."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


class IntegrityCheck:
    """The SHA-256 of an index version's large files, checked by a daemon thread while the
    version serves (hashlib releases the GIL: it runs beside the answering). It starts when
    the version is first used to answer (or asked about): a process that only extends the
    index, such as ``hoptac ingest``, does not read the files it hard-links."""

    def __init__(self, folder: Path, files: dict[str, dict[str, object]]) -> None:
        self._folder = folder
        self._files = files
        self._error: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hoptac-index-check", daemon=True)
        self._start_lock = threading.Lock()

    def start(self) -> IntegrityCheck:
        """Start the check (once; later calls do nothing)."""
        with self._start_lock:
            if self._thread.ident is None:
                self._thread.start()
        return self

    def _run(self) -> None:
        _lowest_priority()  # questions come first: the check takes the CPU they leave idle
        try:
            for name, info in self._files.items():
                try:
                    matches = _sha256(self._folder / name) == info["sha256"]
                except OSError:
                    matches = False
                if not matches:
                    self._error = f"index file {name} is corrupt (checksum mismatch): run `hoptac reindex`"
                    return
        finally:
            self._done.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the check has ended (within ``timeout`` seconds); starts it if need be."""
        return self.start()._done.wait(timeout)

    @property
    def error(self) -> str | None:
        return self._error

    def raise_if_failed(self) -> None:
        self.start()
        if self._error is not None:
            raise IndexCorruptError(self._error)


@dataclass
class Segment:
    """Articles with their sentence and passage rows, numbered locally: ``sentence_rows[:, 0]``
    and ``passage_rows[:, 0]`` are positions in ``articles``, ``passage_rows[:, 1:]`` positions
    in ``sentence_rows``. The base is one segment; each ingest since adds a delta segment.
    Never changed once built."""

    name: str
    articles: Sequence[Article]  # a list when built, an ArticleFile when loaded
    sentence_rows: np.ndarray  # (n, 5) int32 = article, start, end, paragraph, is_caption
    passage_rows: np.ndarray  # (m, 3) int32 = article, first sentence, last sentence (inclusive)
    passage_vectors: CompactVectors  # float16
    sentence_vectors: CompactVectors  # int8 and a scale per row
    postings: Postings  # the passages' lexical tokens
    _digests: list[bytes] | None = field(default=None, repr=False, compare=False)

    def digests(self) -> list[bytes]:
        if self._digests is None:
            if isinstance(self.articles, ArticleFile):
                self._digests = [self.articles.digest(i) for i in range(len(self.articles))]
            else:
                self._digests = [article_digest(a) for a in self.articles]
        return self._digests

    def ids(self) -> list[str]:
        return self.articles.ids if isinstance(self.articles, ArticleFile) else [a.id for a in self.articles]

    def published(self) -> list[datetime | None]:
        if isinstance(self.articles, ArticleFile):
            return self.articles.published
        return [a.published for a in self.articles]

    def counts(self) -> dict[str, int]:
        return {
            "articles": len(self.articles),
            "passages": len(self.passage_rows),
            "sentences": len(self.sentence_rows),
        }


class LoadedIndex:
    """One index version in memory: a base segment plus delta segments, seen as one row
    space (sentence and passage rows are global positions, base rows first).

    ``articles`` holds every stored copy, superseded ones too (read from disk when asked
    for); ``article_ids`` and ``article_published`` are known without reading them;
    ``article_index`` maps each live id to its live copy, and only live passages are
    searched (``dense``, ``lexical``). ``integrity`` is the background check of a loaded
    version's large files (None for one built in memory).
    """

    def __init__(
        self,
        manifest: Manifest,
        base: Segment,
        dense: DenseIndex,
        delta: Sequence[Segment] = (),
        removed: Iterable[str] = (),
        path: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.base = base
        self.base_dense = dense
        self.delta = list(delta)
        self.removed = frozenset(removed)
        self.path = path
        self.integrity: IntegrityCheck | None = None
        segments = [base, *self.delta]
        self.articles = ChainedArticles([segment.articles for segment in segments])
        self.article_ids = [i for segment in segments for i in segment.ids()]
        self.article_published = [p for segment in segments for p in segment.published()]
        sentence_parts, passage_parts = [base.sentence_rows], [base.passage_rows]
        article_offset, sentence_offset = len(base.articles), len(base.sentence_rows)
        for segment in self.delta:
            sentence_rows = segment.sentence_rows.copy()
            sentence_rows[:, 0] += article_offset
            passage_rows = segment.passage_rows.copy()
            passage_rows[:, 0] += article_offset
            passage_rows[:, 1:] += sentence_offset
            sentence_parts.append(sentence_rows)
            passage_parts.append(passage_rows)
            article_offset += len(segment.articles)
            sentence_offset += len(segment.sentence_rows)
        # sentence_rows: (n, 5) int32 = article, start, end, paragraph, is_caption
        self.sentence_rows = np.concatenate(sentence_parts) if self.delta else base.sentence_rows
        # passage_rows: (m, 3) int32 = article, first sentence, last sentence (inclusive)
        self.passage_rows = np.concatenate(passage_parts) if self.delta else base.passage_rows
        self.passage_vectors = VectorBlocks([s.passage_vectors for s in segments])
        self.sentence_vectors = VectorBlocks([s.sentence_vectors for s in segments])
        # The last copy of an id is the live one, unless the id was deleted.
        self.article_index = {article_id: i for i, article_id in enumerate(self.article_ids)}
        for article_id in self.removed:
            self.article_index.pop(article_id, None)
        self.article_live = np.zeros(len(self.articles), dtype=bool)
        self.article_live[list(self.article_index.values())] = True
        all_live = len(self.article_index) == len(self.articles)
        #: Per passage: may it be returned? None when all are.
        self.live_passage = None if all_live else self.article_live[self.passage_rows[:, 0]]
        dense.rerank = VectorBlocks([base.passage_vectors])
        deltas = [s.passage_vectors.decode(slice(None)) for s in self.delta]
        self.dense = LiveDense(dense, deltas, self.live_passage)
        self.lexical = PrunedLexicalIndex([s.postings for s in segments], self.live_passage)

    @property
    def model(self) -> str:
        return self.manifest.model

    def sentence(self, row: int) -> Sentence:
        article_i, start, end, paragraph, caption = (int(x) for x in self.sentence_rows[row])
        article = self.articles[article_i]
        return Sentence(article.id, row, start, end, article.text[start:end], paragraph, bool(caption))

    def article_of_sentence(self, row: int) -> Article:
        return self.articles[int(self.sentence_rows[row, 0])]

    def passage_sentences(self, passage: int) -> range:
        _, first, last = (int(x) for x in self.passage_rows[passage])
        return range(first, last + 1)

    def article_of_passage(self, passage: int) -> Article:
        return self.articles[int(self.passage_rows[passage, 0])]

    def article_id_of_passage(self, passage: int) -> str:
        return self.article_ids[int(self.passage_rows[passage, 0])]

    def is_live_passage(self, passage: int) -> bool:
        return self.live_passage is None or bool(self.live_passage[passage])

    def live_articles(self) -> list[Article]:
        """The articles this version serves (one copy per id), in row order (all read: slow
        on a large index; ``article_ids``, ``article_published`` need no reading)."""
        return [self.articles[i] for i in sorted(self.article_index.values())]

    def check_integrity(self) -> None:
        """Raise IndexCorruptError if the background check found a damaged file (starting
        the check if this is the version's first use)."""
        if self.integrity is not None:
            self.integrity.raise_if_failed()

    def live_counts(self) -> dict[str, int]:
        if self.live_passage is None:
            return {"articles": len(self.articles), "passages": len(self.passage_rows),
                    "sentences": len(self.sentence_rows)}  # fmt: skip
        return {
            "articles": len(self.article_index),
            "passages": int(self.live_passage.sum()),
            "sentences": int(self.article_live[self.sentence_rows[:, 0]].sum()),
        }

    def corpus_fingerprint(self) -> str:
        """:func:`corpus_fingerprint` of :meth:`live_articles`, from digests cached per segment."""
        pairs: list[tuple[str, bytes]] = []
        offset = 0
        for segment in [self.base, *self.delta]:
            for i, (article_id, digest) in enumerate(zip(segment.ids(), segment.digests(), strict=True)):
                if self.article_live[offset + i]:
                    pairs.append((article_id, digest))
            offset += len(segment.articles)
        return _fingerprint(pairs)

    def delta_passages(self) -> int:
        """Passages kept beside the base's: the delta's, plus the base's superseded or deleted ones."""
        base = len(self.base.passage_rows)
        dead = 0 if self.live_passage is None else int((~self.live_passage[:base]).sum())
        return sum(len(s.passage_rows) for s in self.delta) + dead

    def needs_compaction(self) -> bool:
        """Whether the delta has grown enough that a full rebuild should replace it."""
        limit = min(DELTA_MAX_PASSAGES, max(DELTA_MIN_PASSAGES, DELTA_FRACTION * len(self.base.passage_rows)))
        return len(self.delta) > DELTA_MAX_SEGMENTS or self.delta_passages() > limit


def _build_segment(
    name: str, articles: Sequence[Article], embedder: Embedder, analyzer: Analyzer, progress: Progress | None
) -> tuple[Segment, int]:
    """Segment, embed (through the cache) and tokenise ``articles``, already in row order.
    Returns the segment and how many texts had to be embedded.

    Each block of passages is tokenised into the postings as soon as it is embedded, so no
    passage's or sentence's text outlives its block (docs/benchmarks.md, the build's memory)."""
    postings = PostingsBuilder()

    def tokenise(passages: list[Passage]) -> None:
        for passage in passages:
            postings.add(analyzer.document_tokens(passage.text))

    prepared = embed_articles(articles, embedder, progress, take_passages=tokenise)
    return_freed_memory()  # the texts, before the postings' arrays are made
    if progress:
        progress("index", 0, 2)
    lexical = postings.finish()
    return_freed_memory()  # the batches, before the dense index is made
    if progress:
        progress("index", 1, 2)
    segment = Segment(
        name,
        list(articles),
        prepared.sentence_rows,
        prepared.passage_rows,
        prepared.passage_vectors,
        prepared.sentence_vectors,
        lexical,
    )
    return segment, prepared.embedded


def build_index(
    articles: Sequence[Article],
    embedder: Embedder,
    analyzer: Analyzer,
    dense_kind: DenseIndexKind = DenseIndexKind.AUTO,
    progress: Progress | None = None,
) -> LoadedIndex:
    """Segment, embed (through the cache) and index ``articles`` in memory: a new base, no delta."""
    articles = sorted(articles, key=lambda a: a.id)
    base, embedded = _build_segment("", articles, embedder, analyzer, progress)
    dense = DenseIndex.build_from(base.passage_vectors, dense_kind)
    if progress:
        progress("index", 2, 2)
    version = _new_version_name()
    manifest = Manifest(
        format=FORMAT_VERSION,
        version=version,
        model=embedder.model_id,
        dimension=embedder.dimension,
        corpus_fingerprint="",
        articles=len(articles),
        passages=len(base.passage_rows),
        sentences=len(base.sentence_rows),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        dense_kind=dense.kind.value,
        embedded=embedded,
        files={},
        base_version=version,
        base=base.counts(),
    )
    index = LoadedIndex(manifest, base, dense)
    index.manifest = replace(manifest, corpus_fingerprint=index.corpus_fingerprint())
    return index


def extend_index(
    index: LoadedIndex,
    articles: Sequence[Article],
    removed: Iterable[str],
    embedder: Embedder,
    analyzer: Analyzer,
    progress: Progress | None = None,
) -> LoadedIndex:
    """A new version in memory: ``index`` plus one delta segment holding ``articles`` (new
    ones, or new versions that supersede the live copy of their id), minus the ids in
    ``removed`` (deleted from the corpus). Only ``articles`` are segmented, embedded and
    tokenised; the base and earlier segments are shared with ``index``, never changed."""
    articles = sorted(articles, key=lambda a: a.id)
    if embedder.model_id != index.manifest.model or embedder.dimension != index.manifest.dimension:
        raise IndexMismatchError(
            f"the index was built with model {index.manifest.model!r}, not {embedder.model_id!r}: run `hoptac reindex`"
        )
    delta = list(index.delta)
    embedded = 0
    if articles:
        segment, embedded = _build_segment(f"{len(delta) + 1:04d}", articles, embedder, analyzer, progress)
        if progress:
            progress("index", 2, 2)
        delta.append(segment)
    known = set(index.article_ids)
    gone = (index.removed | {i for i in removed if i in known}) - {a.id for a in articles}
    extended = LoadedIndex(index.manifest, index.base, index.base_dense, delta, gone)
    counts = extended.live_counts()
    extended.manifest = replace(
        index.manifest,
        version=_new_version_name(),
        corpus_fingerprint=extended.corpus_fingerprint(),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        embedded=embedded,
        files={},
        delta=[{"name": s.name, **s.counts()} for s in delta],
        removed=sorted(gone),
        articles=counts["articles"],
        passages=counts["passages"],
        sentences=counts["sentences"],
    )
    return extended


def _write_segment(segment: Segment, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_articles(folder, segment.articles, segment.digests())
    np.save(folder / "sentences.npy", segment.sentence_rows)
    np.save(folder / "passages.npy", segment.passage_rows)
    segment.passage_vectors.save(folder, "passage_vectors")
    segment.sentence_vectors.save(folder, "sentence_vectors")
    segment.postings.save(folder)


def _read_segment(folder: Path, name: str, mmap: bool) -> Segment:
    articles = ArticleFile.load(folder)
    return Segment(
        name,
        articles,
        np.load(folder / "sentences.npy"),
        np.load(folder / "passages.npy"),
        load_vectors(folder, "passage_vectors", mmap),
        load_vectors(folder, "sentence_vectors", mmap),
        Postings.load(folder),
    )


def _segment_is_consistent(segment: Segment, expected: dict[str, Any], dimension: int) -> bool:
    n_articles, n_sentences = len(segment.articles), len(segment.sentence_rows)
    s, p = segment.sentence_rows, segment.passage_rows
    return (
        segment.counts() == {k: expected.get(k) for k in ("articles", "passages", "sentences")}
        and s.ndim == 2 and s.shape[1] == 5 and p.ndim == 2 and p.shape[1] == 3
        and segment.passage_vectors.is_consistent(len(p), dimension)
        and segment.sentence_vectors.is_consistent(n_sentences, dimension)
        and (not len(s) or (int(s[:, 0].min()) >= 0 and int(s[:, 0].max()) < n_articles))
        and (not len(p) or (int(p[:, 0].min()) >= 0 and int(p[:, 0].max()) < n_articles))
        and (not len(p) or (int(p[:, 1:].min()) >= 0 and int(p[:, 1:].max()) < n_sentences))
        and segment.postings.documents == len(p)
    )  # fmt: skip


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"index file {source.name} is missing: run `hoptac reindex`") from exc
    except OSError:  # no hard links here (another file system, FAT, ...): copy it
        shutil.copy2(source, target)


class IndexBackend(Protocol):
    """Where local index versions are kept: load the current one, save and swap in a new one
    (:class:`IndexStore`, a folder; the engine takes any implementation)."""

    root: Path  # the backend's own folder (the engine keeps its corpus state there)

    def current_version(self) -> str | None: ...

    def writer_lock(self, wait: bool = True) -> AbstractContextManager[None]:
        """One writer at a time, across processes."""

    def load(self, expected_model: str | None = None, verify: bool = True) -> LoadedIndex:
        """The current version; raises IndexMissingError, IndexCorruptError or IndexError_."""

    def save(self, index: LoadedIndex, previous: LoadedIndex | None = None) -> Path:
        """Write ``index`` beside the current version and make it current, atomically."""

    def size_bytes(self) -> int: ...


class IndexStore:
    """Where index versions live on disk, and the only code that reads or writes them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current_file = root / "CURRENT"

    def current_version(self) -> str | None:
        try:
            name = self.current_file.read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    @contextlib.contextmanager
    def writer_lock(self, wait: bool = True) -> Iterator[None]:
        """Serialise builders across processes (CLI, bot); readers never wait."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise IndexBusyError("another reindex is running; try again when it finishes") from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def save(self, index: LoadedIndex, previous: LoadedIndex | None = None) -> Path:
        """Write ``index`` as a new version and make it current, atomically. Caller holds the lock.

        With ``previous`` (the saved version that ``index`` extends, see :func:`extend_index`)
        every file of ``previous`` is hard-linked (copied where links are impossible) with the
        checksum its manifest recorded, and only the new delta segments are written and hashed."""
        self.versions.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.versions))
        try:
            files: dict[str, dict[str, object]] = {}
            saved: set[str] = set()  # delta segments already on disk
            if previous is not None:
                if previous.path is None or previous.base is not index.base:
                    raise ValueError("an index can only be saved as an extension of the saved version it extends")
                for name, info in previous.manifest.files.items():
                    _link_or_copy(previous.path / name, staging / name)
                    files[name] = dict(info)
                saved = {str(record["name"]) for record in previous.manifest.delta}
            else:
                _write_segment(index.base, staging)
                index.base_dense.save(staging / "dense.faiss")
            for segment in index.delta:
                if segment.name not in saved:
                    _write_segment(segment, staging / "delta" / segment.name)
            new_files = (p for p in sorted(staging.rglob("*")) if p.is_file())
            written = [p for p in new_files if str(p.relative_to(staging)) not in files]
            for path in written:
                files[str(path.relative_to(staging))] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
            manifest = replace(index.manifest, files=dict(sorted(files.items())))
            (staging / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), "utf-8")
            for path in [*written, staging / "manifest.json"]:  # linked files are on disk already
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
            final = self.versions / manifest.version
            staging.rename(final)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise self._write_error(exc) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        crash_point("before-swap")
        served = self.current_version()
        try:
            self._point_current_at(manifest.version)
        except OSError as exc:
            shutil.rmtree(final, ignore_errors=True)  # never named by CURRENT: never loaded
            raise self._write_error(exc) from exc
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        crash_point("after-swap")
        index.manifest = manifest
        index.path = final
        self._remove_old_versions(keep={manifest.version, *([served] if served else [])})
        return final

    def _write_error(self, exc: OSError) -> IndexWriteError:
        # numpy reports a short write without an errno: the disk is full or a file-size limit hit
        reason = os.strerror(exc.errno) if exc.errno else f"no space left or a file-size limit: {exc}"
        return IndexWriteError(
            f"cannot write the new index into {self.versions} ({reason}); the previous index is still served: "
            "make room (or raise the file-size limit) and run it again"
        )

    def _point_current_at(self, version: str) -> None:
        tmp = self.root / f".CURRENT.{os.getpid()}"
        try:
            tmp.write_text(version + "\n", "utf-8")
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.current_file)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _remove_old_versions(self, keep: set[str]) -> None:
        # Keep the newest previous version too: a reader may be loading it right now. ``keep``
        # names the one served until now, which need not be the newest: a build killed between
        # its rename and the swap leaves a newer folder that CURRENT never named.
        if not self.versions.exists():
            return
        complete = sorted(p for p in self.versions.iterdir() if not p.name.startswith("."))
        for path in complete[:-2]:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.versions.glob(".staging-*"):
            if time.time() - path.stat().st_mtime > 3600:  # left by a killed build
                shutil.rmtree(path, ignore_errors=True)

    def read_manifest(self, version: str | None = None) -> Manifest:
        version = version or self.current_version()
        if version is None:
            raise IndexMissingError(f"no index in {self.root}: run `hoptac reindex`")
        path = self.versions / version / "manifest.json"
        try:
            data = json.loads(path.read_text("utf-8"))
            return Manifest(**data)
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"index version {version} has no manifest: run `hoptac reindex`") from exc
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(f"index manifest {path} is unreadable: run `hoptac reindex`") from exc

    def load(self, expected_model: str | None = None, verify: bool = True) -> LoadedIndex:
        """The current version, checked against its manifest: every file's size and the small
        files' SHA-256 now, the large files' in the background (``index.integrity``)."""
        manifest = self.read_manifest()
        folder = self.versions / manifest.version
        if manifest.format != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index format {manifest.format} is not {FORMAT_VERSION} (hoptac was upgraded): run `hoptac reindex`"
            )
        if expected_model is not None and manifest.model != expected_model:
            raise IndexMismatchError(
                f"the index was built with model {manifest.model!r} but the settings name {expected_model!r}: "
                "run `hoptac reindex`"
            )
        large: dict[str, dict[str, object]] = {}
        if verify:
            large = self._verify(folder, manifest)
        try:
            base = _read_segment(folder, "", mmap=True)
            dense = DenseIndex.load(folder / "dense.faiss", DenseIndexKind(manifest.dense_kind))
            names = [str(record["name"]) for record in manifest.delta]
            delta = [_read_segment(folder / "delta" / name, name, mmap=False) for name in names]
            consistent = (
                _segment_is_consistent(base, manifest.base, manifest.dimension)
                and all(
                    _segment_is_consistent(segment, record, manifest.dimension)
                    for segment, record in zip(delta, manifest.delta, strict=True)
                )
                and dense.size == len(base.passage_rows)
                and dense.dimension == manifest.dimension
            )
            index = LoadedIndex(manifest, base, dense, delta, manifest.removed, folder) if consistent else None
        except IndexCorruptError:  # it names the file already (a postings stream that disagrees)
            raise
        except Exception as exc:  # any unreadable file means the same thing to the user
            raise IndexCorruptError(
                f"index version {manifest.version} cannot be read ({type(exc).__name__}): run `hoptac reindex`"
            ) from exc
        if index is None or index.live_counts() != {
            "articles": manifest.articles, "passages": manifest.passages, "sentences": manifest.sentences
        }:  # fmt: skip
            raise IndexCorruptError(f"index version {manifest.version} is inconsistent: run `hoptac reindex`")
        if large:
            index.integrity = IntegrityCheck(folder, large)  # started when the version first answers
        return index

    @staticmethod
    def _verify(folder: Path, manifest: Manifest) -> dict[str, dict[str, object]]:
        """Check every file's size and the small files' SHA-256; the large files, left to
        :class:`IntegrityCheck`, are returned."""
        large: dict[str, dict[str, object]] = {}
        for name, info in manifest.files.items():
            path = folder / name
            if not path.is_file():
                raise IndexCorruptError(f"index file {name} is missing: run `hoptac reindex`")
            size = path.stat().st_size
            if size != info["bytes"]:
                raise IndexCorruptError(
                    f"index file {name} is truncated or overwritten ({size:,} bytes, not {info['bytes']:,}): "
                    "run `hoptac reindex`"
                )
            if size > CHECKED_AT_LOAD_BYTES:
                large[name] = info
            elif _sha256(path) != info["sha256"]:
                raise IndexCorruptError(f"index file {name} is corrupt (checksum mismatch): run `hoptac reindex`")
        return large

    def size_bytes(self) -> int:
        version = self.current_version()
        if version is None:
            return 0
        folder = self.versions / version
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def passages_published_in(index: LoadedIndex, when: DateFilter) -> np.ndarray:
    """Per passage of ``index``: is it live and of an article published in one of ``when``'s periods?"""
    articles = np.array([when.matches(published) for published in index.article_published], dtype=bool)
    articles &= index.article_live
    return articles[index.passage_rows[:, 0]]
