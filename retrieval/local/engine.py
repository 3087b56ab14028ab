"""The answer engine: the one object the CLI and the bot talk to.

    engine = LocalEngine.open(config)            # loads (or first builds) the index
    answer = engine.ask("cầu Đồng Việt ở đâu?")   # grounded, cited Answer
    engine.refresh()                              # picks up an index swapped by another process

All methods are thread-safe for readers: ``ask`` may run in worker threads while
``reindex``/``ingest`` build a new index beside the old one and swap it in at the end.

``ingest`` is incremental: it compares corpus files with what the current index was read
from (the corpus state beside the index, retrieval/local/corpus_state.py: each file's size,
modification time and inode, its article id and digest), reads only the files that are new
or changed, and adds the new or changed articles as a delta segment (see
retrieval/local/index.py); the index is rebuilt in full only when there is none, it is
unusable, or the delta has grown past its limits. An ingest of named files compares only
their articles (and the files holding their ids): no walk of the folder, a few rows of the
state changed. The walk that also takes in hand edits and deletions is for ``reindex``, an
ingest without files, and the watcher (``whole_folder``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from retrieval.answering.asking import answer_question
from retrieval.answering.background import Background
from retrieval.answering.search import RankedPassage, Searcher, check_question
from retrieval.answering.search_index import SearchIndex
from retrieval.answering.sentence_choice import Selection
from retrieval.articles.corpus import (
    ArticleFormatError,
    article_from_markdown,
    article_path,
    duplicate_reason,
    keep_one_per_id,
)
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
from retrieval.local.corpus_state import (
    UNREADABLE,
    CorpusState,
    CorpusStateStore,
    FileRecord,
    Stamp,
    StateUnavailable,
    file_digest,
    folder_stamps,
    stamp_of,
)
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
    """The article files an ingest looked at: the whole folder (a walk), or only the files
    named, holding the imported articles' ids, or journaled by a killed ingest."""

    scanned_ns: int
    files: dict[str, FileRecord]  # each file looked at that is an article now: stamp, id, digest
    read: dict[str, Article]  # the files parsed in this scan (new, changed or not known to be unchanged)
    duplicates: dict[str, str] = field(default_factory=dict)  # file left out -> why (the id's other file)
    whole: bool = True  # every article file of the folder is in ``files``
    #: What the corpus state recorded for the files looked at (for a walk: every file); None: nothing usable.
    known: dict[str, FileRecord] | None = None
    pending: dict[str, int] = field(default_factory=dict)  # journaled by earlier ingests: name -> pid
    settled: set[str] = field(default_factory=set)  # journaled names this ingest takes care of

    def holders(self) -> dict[str, str]:
        """Article id -> the file that holds it."""
        return {record.article_id: name for name, record in self.files.items()}

    def wrote(self, folder: Path, written: dict[str, Article]) -> None:
        """Take in the files an ingest has just written, as a scan would have found them."""
        for name, article in written.items():
            path = folder / name
            seen_ns = time.time_ns()
            stamp = stamp_of(path.stat())
            self.files[name] = FileRecord(stamp, article.id, file_digest(path.read_bytes()), seen_ns)
            self.read[name] = article

    def changed_records(self) -> dict[str, FileRecord]:
        """The files whose record differs from the recorded one."""
        known = self.known or {}
        return {name: record for name, record in self.files.items() if known.get(name) != record}

    def gone(self) -> list[str]:
        """Recorded files that are no article now (deleted, or a duplicate left out)."""
        return [name for name in self.known or {} if name not in self.files]

    def failures(self, folder: Path) -> list[IngestFailure]:
        return [IngestFailure(str(folder / name), reason) for name, reason in sorted(self.duplicates.items())]


_LOGGER = logging.getLogger(__name__)


def _in_corpus(path: Path, folder: Path) -> bool:
    """Whether ``path`` is an article file directly in the corpus ``folder`` (taken in where it lies)."""
    try:
        return path.suffix == ".md" and not path.name.startswith(".") and path.resolve().parent == folder.resolve()
    except OSError:
        return False


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
        self._state = CorpusStateStore(self.store.root)  # what the served version was read from
        self._state_lost = False  # the state was dropped during this change of the index

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
        """The corpus folder now (a walk), parsing only the files whose stamp (or, for a racy
        one, whose bytes) differ from ``known`` (all of them without ``known``). Raises
        CorpusError, like ``read_corpus`` failures, for a file that cannot be read, or an
        empty folder (unless ``empty_ok``). Two files of one id are no error: the scan keeps
        one (:func:`keep_one_per_id`) and lists the other in ``duplicates``."""
        folder = self.config.corpus_dir
        if not folder.is_dir():
            if empty_ok:
                return _CorpusScan(time.time_ns(), {}, {}, known=known.files if known else None)
            raise CorpusError(f"the corpus folder {folder} does not exist (setting corpus_dir)")
        scanned_ns = time.time_ns()
        stamps = folder_stamps(folder)
        recorded = known.files if known else {}
        records, read = self._read_changed(stamps, recorded, scanned_ns)
        _, dropped = keep_one_per_id({name: record.article_id for name, record in records.items()})
        files = {name: records[name] for name in sorted(records) if name not in dropped}
        duplicates = {name: duplicate_reason(records[name].article_id, other) for name, other in dropped.items()}
        for name in dropped:
            read.pop(name, None)
        if not files and not empty_ok:
            raise CorpusError(f"the corpus folder {folder} holds no articles: add some with `hoptac ingest PATH`")
        return _CorpusScan(scanned_ns, files, read, duplicates, known=known.files if known else None)

    def _look_at(self, names: set[str]) -> _CorpusScan:
        """Only the article files ``names`` (those that exist), compared with their recorded
        state: no walk of the folder. The other recorded files of the ids they hold are looked
        at too: of two files of one id the one named for it counts, as in a walk."""
        scanned_ns = time.time_ns()
        recorded = self._state.records(names)
        records, read = self._read_changed(self._stamps(names), recorded, scanned_ns)
        holders = self._state.holders(record.article_id for record in records.values())
        others = {name for files in holders.values() for name in files} - names
        if others:
            recorded |= self._state.records(others)
            more, more_read = self._read_changed(self._stamps(others), recorded, scanned_ns)
            records |= more
            read |= more_read
        _, dropped = keep_one_per_id({name: record.article_id for name, record in records.items()})
        files = {name: records[name] for name in sorted(records) if name not in dropped}
        duplicates = {name: duplicate_reason(records[name].article_id, other) for name, other in dropped.items()}
        for name in dropped:
            read.pop(name, None)
        return _CorpusScan(scanned_ns, files, read, duplicates, whole=False, known=recorded)

    def _stamps(self, names: Iterable[str]) -> dict[str, Stamp]:
        """The stamps of the files among ``names`` that exist in the corpus folder."""
        stamps: dict[str, Stamp] = {}
        for name in sorted(names):
            try:
                stamps[name] = stamp_of((self.config.corpus_dir / name).stat())
            except FileNotFoundError:
                continue
            except OSError:
                stamps[name] = UNREADABLE
        return stamps

    def _read_changed(
        self, stamps: dict[str, Stamp], recorded: dict[str, FileRecord], scanned_ns: int
    ) -> tuple[dict[str, FileRecord], dict[str, Article]]:
        """Each file of ``stamps``: its record (the recorded one when unchanged) and, for those
        that had to be parsed, the article. Raises CorpusError naming the first unreadable file."""
        folder = self.config.corpus_dir
        failures: dict[str, str] = {}
        read: dict[str, Article] = {}
        records: dict[str, FileRecord] = {}
        for name in sorted(stamps):
            stamp = stamps[name]
            record = recorded.get(name)
            if record is not None and record.unchanged(stamp):
                records[name] = record  # the very file the index was read from
                continue
            path = folder / name
            try:
                data = path.read_bytes()
                digest = file_digest(data)
                if record is not None and record.same_bytes(stamp, digest):
                    records[name] = record._replace(seen_ns=scanned_ns)  # racy, but the same bytes
                    continue
                # Decode bytes ourselves: read_text would also turn a lone "\r" into "\n" (as read_corpus).
                read[name] = article_from_markdown(data.decode("utf-8"), str(path))
                records[name] = FileRecord(stamp, read[name].id, digest, scanned_ns)
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
        return records, read

    def _scan_for_ingest(
        self, index: LoadedIndex | None, paths: Sequence[Path], imported: Sequence[Article], walk: bool
    ) -> _CorpusScan:
        """What an ingest compares with the served ``index``: with ``walk`` (or without a
        usable corpus state) the whole folder; else only the corpus files named in ``paths``,
        those holding (or named for) the ``imported`` ids, and those a killed ingest journaled."""
        folder = self.config.corpus_dir
        try:
            recorded_version = self._state.version() if index is not None else None
            pending = self._state.pending()
            if index is None or recorded_version != index.manifest.version:
                scan = self._scan_corpus(None, empty_ok=bool(imported))
            elif walk:
                scan = self._scan_corpus(self._state.everything(index.manifest.version), empty_ok=bool(imported))
            else:
                ids = [article.id for article in imported]
                names = {Path(p).name for p in paths if _in_corpus(Path(p), folder)} | set(pending)
                names |= {name for holders in self._state.holders(ids).values() for name in holders}
                names |= {article_path(folder, article_id).name for article_id in ids}
                scan = self._look_at(names)
        except StateUnavailable as exc:
            self._lose_state(exc)
            pending = {}
            scan = self._scan_corpus(None, empty_ok=bool(imported))
        scan.pending = pending
        scan.settled = set(pending)  # each journaled file has been looked at
        return scan

    def _lose_state(self, exc: Exception) -> None:
        _LOGGER.warning("Corpus state %s dropped (the next ingest reads every file): %s", self._state.path, exc)
        self._state.drop()
        self._state_lost = True

    def _write_corpus_state(self, version: str, scan: _CorpusScan) -> None:
        """Record what ``version`` was read from (only a cache, see retrieval/local/corpus_state.py):
        the files looked at, unless the state was lost during this ingest and this scan does not
        cover the whole folder."""
        whole = scan.whole and (scan.known is None or self._state_lost)
        if self._state_lost and not whole:
            return
        try:
            if whole:
                self._state.record(version, scan.files, whole=True)
            else:
                self._state.record(version, scan.changed_records(), scan.gone(), scan.settled)
        except StateUnavailable as exc:
            self._lose_state(exc)

    @contextlib.contextmanager
    def _changing(self, wait: bool = True) -> Iterator[None]:
        """The index's writer lock, with the corpus state opened for this change only (another
        process may replace its file between two changes)."""
        with self.store.writer_lock(wait=wait):
            self._state_lost = False
            try:
                yield
            finally:
                self._state.close()

    def reindex(self, progress: Progress | None = None, wait: bool = True) -> IndexStatus:
        """Rebuild from the corpus folder beside the old index and swap it in atomically."""
        if not self._build_lock.acquire(blocking=wait):
            raise IndexBusyError("a reindex is already running")
        try:
            with self._changing(wait):
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
        removed: list[str] = []
        if scan.whole:  # a file gone is known only to a walk of the folder
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

    def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, *, whole_folder: bool = False
    ) -> IngestReport:
        """Import files/folders into the corpus folder and update the index.

        Unchanged articles are a no-op; new and changed ones are added beside the index
        (a changed article's old passages are never returned again); only new text is embedded.
        Only the articles of ``paths`` are compared with the index (and the corpus files they
        name, or that hold their ids): no other corpus file is read. Without ``paths``, or
        with ``whole_folder`` (the watcher), the whole folder is walked: files added, changed
        or deleted in the corpus folder by hand are taken in too.

        The files are written into the folder (into the file holding the article's id, else
        one named for it) and undone unless the index holding them is swapped in: a failed or
        interrupted ingest leaves the folder as it was. The files about to be written are
        journaled first, so what a killed ingest left in the folder is taken in by the next
        ingest, whatever it is given. The report says what each article is to the index
        served before: "new" for one that was not searchable, even when it was in the folder
        already (left by a killed ingest) or no argument named it (dropped in). A second file
        of one id in the folder is a failure of its own; the rest go in."""
        config = self.config
        imported, report = import_files(paths, config.corpus_dir, max_bytes=config.ingest_max_bytes, progress=progress)
        with self._build_lock, self._changing():
            index = self._current_index()
            scan = self._scan_for_ingest(index, paths, imported, walk=whole_folder or not paths)
            report.failures.extend(scan.failures(config.corpus_dir))
            before = self.store.current_version()
            # Backups are left only by killed ingests, of files they journaled: a walk sweeps the
            # whole folder for them, an ingest of named files looks for those of the journal.
            writes = CorpusWrites(config.corpus_dir, None if scan.whole else scan.pending)
            held = scan.holders()
            journal = sorted({held.get(a.id) or article_path(config.corpus_dir, a.id).name for a in imported})
            self._journal(journal)
            scan.settled.update(journal)
            try:
                crash_point("before-corpus-write")
                writes.save_all(imported, held, report, progress)
                crash_point("after-corpus-write")
                scan.wrote(config.corpus_dir, writes.written)
                if scan.whole and not scan.files:
                    raise CorpusError(
                        f"the corpus folder {config.corpus_dir} holds no articles: add some with `hoptac ingest PATH`"
                    )
                put = self._update_index(scan, index, progress)
            except BaseException:
                if self.store.current_version() == before:  # not swapped in: nothing happened
                    writes.roll_back()
                    self._unjournal(journal)
                    raise
                writes.commit()  # the index holding them is served; what failed came after
                raise
            writes.commit()
        was_searchable = index.article_index.__contains__ if index is not None else None
        report_against_index(report, imported, was_searchable, put)
        return report

    def _journal(self, names: Sequence[str]) -> None:
        """Note the corpus files this ingest is about to write (see :meth:`ingest`). Without
        a journal the state is dropped, so that the next ingest walks the folder instead."""
        if names and not self._state_lost:
            try:
                self._state.add_pending(names)
            except StateUnavailable as exc:
                self._lose_state(exc)

    def _unjournal(self, names: Sequence[str]) -> None:
        """The folder is as it was: nothing of this ingest to look at later."""
        if names and not self._state_lost:
            with contextlib.suppress(StateUnavailable):  # else looked at once more by the next ingest
                self._state.forget_pending(names)

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
