"""The answer engine: the one object the CLI and the bot talk to.

    engine = LocalEngine.open(config)            # loads (or first builds) the index
    answer = engine.ask("cầu Đồng Việt ở đâu?")   # grounded, cited Answer
    engine.refresh()                              # picks up an index swapped by another process

All methods are thread-safe for readers: ``ask`` may run in worker threads while
``reindex``/``ingest`` build a new index beside the old one and swap it in at the end.

``ingest`` is incremental: it compares the corpus folder with what the current index was
read from (``corpus-state.npz`` beside the index: each file's size, modification time and
inode, and its article id), reads only the files that are new or changed, and adds the
new or changed articles as a delta segment (see retrieval/local/index.py), dropping deleted
ones; the index is rebuilt in full only when there is none, it is unusable, or the delta
has grown past its limits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from retrieval.answering.asking import answer_question
from retrieval.answering.background import Background
from retrieval.answering.search import RankedPassage, Searcher, check_question
from retrieval.answering.search_index import SearchIndex
from retrieval.answering.sentence_choice import Selection
from retrieval.articles.corpus import ArticleFormatError, article_from_markdown, duplicate_reason, keep_one_per_id
from retrieval.articles.intake import CorpusWrites, import_files, paragraph_at, report_against_index
from retrieval.config import EngineConfig
from retrieval.crash_points import crash_point
from retrieval.embedding.embedder import Embedder, model_id
from retrieval.engine import (
    CorpusError,
    IndexBusyError,
    IndexCorruptError,
    IndexError_,
    IndexMissingError,
    IndexStatus,
    IngestFailure,
    IngestReport,
    Progress,
)
from retrieval.local.corpus_state import CorpusState, FileRecord, file_digest, folder_stamps, read_state, write_state
from retrieval.local.index import (
    IndexBackend,
    IndexStore,
    LoadedIndex,
    build_index,
    extend_index,
    passages_published_in,
)
from retrieval.models import Answer, Article
from retrieval.vietnamese.admin_units import admin_map
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.question_dates import DateFilter
from retrieval.vietnamese.text import nfc


@dataclass
class _CorpusScan:
    scanned_ns: int
    files: dict[str, FileRecord]  # every article file now: stamp, article id, digest of its bytes
    read: dict[str, Article]  # the files parsed in this scan (new, changed or not known to be unchanged)
    duplicates: dict[str, str] = field(default_factory=dict)  # file left out -> why (the id's other file)

    def holders(self) -> dict[str, str]:
        """Article id -> the file that holds it."""
        return {record.article_id: name for name, record in self.files.items()}

    def wrote(self, folder: Path, written: dict[str, Article]) -> None:
        """Take in the files an ingest has just written, as a scan would have found them."""
        for name, article in written.items():
            path = folder / name
            info = path.stat()
            stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
            self.files[name] = FileRecord(stamp, article.id, file_digest(path.read_bytes()))
            self.read[name] = article

    def failures(self, folder: Path) -> list[IngestFailure]:
        return [IngestFailure(str(folder / name), reason) for name, reason in sorted(self.duplicates.items())]


def _same_article(a: Article, b: Article) -> bool:
    return a == b and a.metadata() == b.metadata()


class LocalEngine:
    """Ask, ingest, reindex and inspect one corpus + index (see module docstring)."""

    def __init__(
        self, config: EngineConfig, embedder: Embedder | None = None, store: IndexBackend | None = None
    ) -> None:
        self.config = config
        self.analyzer = Analyzer()
        self.searcher = Searcher(self.analyzer)
        self.store: IndexBackend = store if store is not None else IndexStore(config.index_root)
        self._embedder = embedder
        self._index: LoadedIndex | None = None
        self._background: Background | None = None
        self._build_lock = threading.Lock()
        self._dated: tuple[str, bool] | None = None  # index version, whether any article is dated

    @classmethod
    def open(
        cls, config: EngineConfig, progress: Progress | None = None, store: IndexBackend | None = None
    ) -> LocalEngine:
        """Load the model and the current index, building the index first if there is none.
        ``store`` keeps the index versions (default: the local FAISS + bm25s folder)."""
        engine = cls(config, store=store)
        # The model (seconds of imports and weights) and the index (checksums, vectors, HNSW
        # graph) load side by side: both spend most of their time outside the GIL.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="hoptac-model") as pool:
            model = pool.submit(engine.embedder, progress)
            places = pool.submit(admin_map)  # read once per process (about a second)
            try:
                engine._index = engine.store.load(expected_model=engine.expected_model_id())
            except IndexMissingError:
                model.result()
                engine.reindex(progress)
            model.result()  # re-raises the model's own error
            places.result()
        engine.embedder().warm_up()
        engine.index.check_integrity()  # starts the background check of the large files
        return engine

    # -- model and index -------------------------------------------------------------------

    def embedder(self, progress: Progress | None = None) -> Embedder:
        if self._embedder is None:

            def notify(message: str) -> None:
                if progress:
                    progress("model: " + message, 0, 0)

            self._embedder = self.config.load_embedder(notify)
        return self._embedder

    def expected_model_id(self) -> str:
        """The model the index must have been built with (known without loading the model)."""
        if self._embedder is not None:
            return self._embedder.model_id
        return model_id(self.config.embedding_model, self.config.sentence_vectors)

    def background(self) -> Background:
        if self._background is None:
            self._background = Background.embed(self.embedder())
        return self._background

    @property
    def index(self) -> LoadedIndex:
        if self._index is None:
            self._index = self.store.load(expected_model=self.expected_model_id())
        return self._index

    def refresh(self) -> bool:
        """Load the current index if another process swapped in a new one; True if it did."""
        current = self.store.current_version()
        if current is None or (self._index is not None and self._index.manifest.version == current):
            return False
        self._index = self.store.load(expected_model=self.expected_model_id())
        return True

    # -- asking ----------------------------------------------------------------------------

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        """Answer with up to ``limit`` cited sentences, skipping the first ``offset``
        (offset>0 gives "more results" for the same question). Raises QuestionError."""
        started = time.perf_counter()
        text = check_question(nfc(question))
        index = self.index  # one consistent version for the whole question
        index.check_integrity()  # a damaged file found in the background: no answer from it
        query = self.embedder().encode_query(text)
        selection = Selection.of(self.embedder(), text)
        baseline = self.background().baseline(query)
        limit = limit or self.config.answer_sentences

        def search(words: str, when: DateFilter | None) -> tuple[SearchIndex, list[RankedPassage]] | None:
            period = passages_published_in(index, when) if when is not None else None
            if period is not None and not period.any():
                return None
            return index, self.searcher.passages(index, words, query, allowed=period)

        dated = self._has_dates(index)
        answer = answer_question(self.analyzer, text, query, baseline, limit, offset, dated, search, selection)
        elapsed = (time.perf_counter() - started) * 1000
        return replace(answer, question=nfc(question), elapsed_ms=elapsed)

    def _has_dates(self, index: LoadedIndex) -> bool:
        """Whether any article of ``index`` has a publication date (remembered per version)."""
        known = self._dated  # one tuple, swapped whole: safe for reader threads
        if known is None or known[0] != index.manifest.version:
            live = index.article_index.values()
            known = (index.manifest.version, any(index.article_published[i] is not None for i in live))
            self._dated = known
        return known[1]

    # -- changing the corpus ---------------------------------------------------------------

    def _scan_corpus(self, known: CorpusState | None, empty_ok: bool = False) -> _CorpusScan:
        """The corpus folder now, parsing only the files whose stamp (or, for a racy one,
        whose bytes) differ from ``known`` (all of them without ``known``). Raises
        CorpusError, like ``read_corpus`` failures, for a file that cannot be read, or an
        empty folder (unless ``empty_ok``). Two files of one id are no error: the scan keeps
        one (:func:`keep_one_per_id`) and lists the other in ``duplicates``."""
        folder = self.config.corpus_dir
        if not folder.is_dir():
            if empty_ok:
                return _CorpusScan(time.time_ns(), {}, {})
            raise CorpusError(f"the corpus folder {folder} does not exist (setting corpus_dir)")
        scanned_ns = time.time_ns()
        stamps = folder_stamps(folder)
        failures: dict[str, str] = {}
        read: dict[str, Article] = {}
        records: dict[str, FileRecord] = {}
        names = sorted(stamps)
        for name in names:
            stamp = stamps[name]
            record = known.unchanged(name, stamp) if known else None
            if record is not None:
                records[name] = record  # the very file the index was read from
                continue
            path = folder / name
            try:
                data = path.read_bytes()
                digest = file_digest(data)
                record = known.same_bytes(name, stamp, digest) if known else None
                if record is not None:
                    records[name] = record  # racy, but the same bytes
                    continue
                # Decode bytes ourselves: read_text would also turn a lone "\r" into "\n" (as read_corpus).
                read[name] = article_from_markdown(data.decode("utf-8"), str(path))
                records[name] = FileRecord(stamp, read[name].id, digest)
            except ArticleFormatError as exc:
                failures[name] = exc.reason
            except (OSError, UnicodeDecodeError) as exc:
                failures[name] = f"cannot read: {exc}"
        if failures:
            first = min(failures)
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise CorpusError(
                f"{folder / first}: {failures[first]}{more}; fix or remove it, the current index is unchanged"
            )
        _, dropped = keep_one_per_id({name: record.article_id for name, record in records.items()})
        files = {name: records[name] for name in names if name not in dropped}
        duplicates = {name: duplicate_reason(records[name].article_id, other) for name, other in dropped.items()}
        for name in dropped:
            read.pop(name, None)
        if not files and not empty_ok:
            raise CorpusError(f"the corpus folder {folder} holds no articles: add some with `hoptac ingest PATH`")
        return _CorpusScan(scanned_ns, files, read, duplicates)

    def _read_corpus_state(self, version: str) -> CorpusState | None:
        """What ``version`` was read from; None when unknown (then every file is read again)."""
        return read_state(self.store.root, version)

    def _write_corpus_state(self, version: str, scan: _CorpusScan) -> None:
        """Record what ``version`` was read from (only a cache, see retrieval/local/corpus_state.py)."""
        write_state(self.store.root, CorpusState(version, scan.scanned_ns, scan.files))

    def reindex(self, progress: Progress | None = None, wait: bool = True) -> IndexStatus:
        """Rebuild from the corpus folder beside the old index and swap it in atomically."""
        if not self._build_lock.acquire(blocking=wait):
            raise IndexBusyError("a reindex is already running")
        try:
            with self.store.writer_lock(wait=wait):
                scan = self._scan_corpus(None)
                if scan.duplicates:  # a full rebuild is asked for by hand: the folder first
                    name = min(scan.duplicates)
                    folder = self.config.corpus_dir
                    raise CorpusError(f"{folder / name}: {scan.duplicates[name]}; the current index is unchanged")
                return self._rebuild(scan, progress)
        finally:
            self._build_lock.release()

    def _rebuild(
        self, scan: _CorpusScan, progress: Progress | None, articles: Sequence[Article] | None = None
    ) -> IndexStatus:
        """A full build: of ``articles``, or of every article ``scan`` read."""
        articles = list(scan.read.values()) if articles is None else articles
        built = build_index(articles, self.embedder(progress), self.analyzer, progress=progress)
        self.store.save(built)
        self._index = built
        self._write_corpus_state(built.manifest.version, scan)
        return self.status()

    def _current_index(self) -> LoadedIndex | None:
        """The version CURRENT names (loaded if another process swapped it in), or None if unusable."""
        try:
            current = self.store.current_version()
            if current is None:
                return None
            if self._index is None or self._index.manifest.version != current or self._index.path is None:
                self._index = self.store.load(expected_model=self.expected_model_id())
            return self._index
        except IndexError_:
            return None

    def _update_index(self, scan: _CorpusScan, index: LoadedIndex | None, progress: Progress | None) -> list[Article]:
        """Bring the index up to date with ``scan`` of the corpus folder (read against
        ``index``, the served version): a delta of the new and changed articles; a full rebuild
        without a usable index or when the delta is too big. The articles put in, new or changed."""
        if index is None:
            self._rebuild(scan, progress)
            return list(scan.read.values())
        changed = [
            article
            for article in scan.read.values()
            if article.id not in index.article_index
            or not _same_article(index.articles[index.article_index[article.id]], article)
        ]
        present = {record.article_id for record in scan.files.values()}
        removed = [article_id for article_id in index.article_index if article_id not in present]
        if not changed and not removed:
            self._write_corpus_state(index.manifest.version, scan)  # the stamps, refreshed
            return []
        extended = extend_index(index, changed, removed, self.embedder(progress), self.analyzer, progress)
        if extended.needs_compaction():
            self._rebuild(scan, progress, extended.live_articles())
            return changed
        try:
            self.store.save(extended, previous=index)
        except IndexCorruptError:  # a file of the current version has gone: rebuild it all
            self._rebuild(scan, progress, extended.live_articles())
            return changed
        self._index = extended
        self._write_corpus_state(extended.manifest.version, scan)
        return changed

    def ingest(self, paths: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        """Import files/folders into the corpus folder and update the index.

        Unchanged articles are a no-op; new and changed ones are added beside the index
        (a changed article's old passages are never returned again); files added, changed
        or deleted in the corpus folder by hand are taken in too; only new text is embedded.

        The files are written into the folder (into the file holding the article's id, else
        one named for it) and undone unless the index holding them is swapped in: a failed or
        interrupted ingest leaves the folder as it was. The report says what each article is
        to the index served before: "new" for one that was not searchable, even when it was
        in the folder already (left by a killed ingest) or no argument named it (dropped in).
        A second file of one id in the folder is a failure of its own; the rest go in."""
        config = self.config
        imported, report = import_files(paths, config.corpus_dir, max_bytes=config.ingest_max_bytes, progress=progress)
        with self._build_lock, self.store.writer_lock():
            index = self._current_index()
            known = self._read_corpus_state(index.manifest.version) if index is not None else None
            scan = self._scan_corpus(known, empty_ok=bool(imported))
            report.failures.extend(scan.failures(config.corpus_dir))
            before = self.store.current_version()
            writes = CorpusWrites(config.corpus_dir)
            try:
                crash_point("before-corpus-write")
                writes.save_all(imported, scan.holders(), report, progress)
                crash_point("after-corpus-write")
                scan.wrote(config.corpus_dir, writes.written)
                if not scan.files:
                    raise CorpusError(
                        f"the corpus folder {config.corpus_dir} holds no articles: add some with `hoptac ingest PATH`"
                    )
                put = self._update_index(scan, index, progress)
            except BaseException:
                if self.store.current_version() == before:  # not swapped in: nothing happened
                    writes.roll_back()
                    raise
                writes.commit()  # the index holding them is served; what failed came after
                raise
            writes.commit()
        was_searchable = index.article_index.__contains__ if index is not None else None
        report_against_index(report, imported, was_searchable, put)
        return report

    # -- reading ---------------------------------------------------------------------------

    def status(self, verify: bool = False) -> IndexStatus:
        index = self.index
        manifest = index.manifest
        check = index.integrity
        if verify and check is not None:
            check.wait()  # the large files' checksums, read in the background: a definite answer
        integrity = "verified"
        if check is not None and not check.wait(0):
            integrity = "checking"
        elif check is not None and check.error is not None:
            integrity = check.error
        built = datetime.fromisoformat(manifest.built_at)
        return IndexStatus(
            articles=manifest.articles,
            passages=manifest.passages,
            sentences=manifest.sentences,
            model=manifest.model,
            dimension=manifest.dimension,
            built_at=manifest.built_at,
            age_seconds=(datetime.now(UTC) - built).total_seconds(),
            index_bytes=self.store.size_bytes(),
            index_kind=manifest.dense_kind,
            corpus_fingerprint=manifest.corpus_fingerprint,
            version=manifest.version,
            integrity=integrity,
        )

    def article(self, article_id: str) -> Article:
        index = self.index
        return index.articles[index.article_index[article_id]]

    def paragraph_around(self, article_id: str, start: int) -> str:
        """The whole paragraph of ``article_id`` that contains offset ``start``."""
        return paragraph_at(self.article(article_id), start)

    def latest_articles(self, n: int = 5) -> list[Article]:
        """The ``n`` indexed articles with the newest publication dates."""
        index, oldest = self.index, datetime.min.replace(tzinfo=UTC)
        rows = sorted(
            index.article_index.values(),
            key=lambda i: (index.article_published[i] or oldest, index.article_ids[i]),
            reverse=True,
        )
        return [index.articles[i] for i in rows[:n]]
