"""The answer engine over Milvus (``HOPTAC_SEARCH_URL``): the same calls as the local one.

    engine = MilvusEngine.open(config, "http://milvus:19530", "hoptac")
    answer = engine.ask("cầu Đồng Việt ở đâu?")

Every replica reads the same collections, so there is nothing to reload (``refresh`` is a
no-op) and no index folder to keep. Where the articles come from is the caller's choice
(``source``): the corpus folder by default; the PostgreSQL articles table in a cluster.
``ingest`` here is the folder's way (files saved into the corpus folder, then the folder
and Milvus brought in line; the files are undone when that fails or is interrupted, and the
next ingest brings Milvus back in line with the folder); a cluster's ``hoptac ingest`` enqueues jobs for the workers
instead, which write through :class:`retrieval.milvus.index.MilvusIndex` as well.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from retrieval.answering.asking import answer_question
from retrieval.answering.background import Background
from retrieval.answering.search import RankedPassage, Searcher, check_question
from retrieval.answering.search_index import SearchIndex
from retrieval.answering.sentence_choice import MOST_ANSWER_PASSAGES, Selection
from retrieval.articles.corpus import read_corpus
from retrieval.articles.intake import CorpusWrites, import_files, paragraph_at, report_against_index
from retrieval.articles.records import article_digest
from retrieval.config import EngineConfig
from retrieval.embedding.embedder import Embedder
from retrieval.engine import CorpusError, IndexBusyError, IndexStatus, IngestFailure, IngestReport, Progress
from retrieval.milvus.index import MilvusIndex, period_filter
from retrieval.models import Answer, Article
from retrieval.vietnamese.admin_units import admin_map
from retrieval.vietnamese.analyzer import Analyzer
from retrieval.vietnamese.question_dates import DateFilter
from retrieval.vietnamese.text import nfc

#: Articles embedded and written per batch by ``reindex`` and ``sync``.
WRITE_BATCH = 256
#: How long whether any article is dated is remembered (it changes rarely).
DATED_TTL_S = 30.0


def folder_articles(config: EngineConfig) -> Callable[[], list[Article]]:
    """The corpus folder as the articles' source (raises CorpusError-like ValueError on a bad file)."""

    def read() -> list[Article]:
        result = read_corpus(config.corpus_dir)
        if result.failures:
            path, reason = result.failures[0]
            raise ValueError(f"{path}: {reason}; fix or remove it, the index is unchanged")
        return list(result.articles)

    return read


class MilvusEngine:
    """Ask, ingest, reindex and inspect, with Milvus as the search engine (module docstring)."""

    def __init__(
        self,
        config: EngineConfig,
        milvus: MilvusIndex,
        embedder: Embedder,
        source: Callable[[], list[Article]] | None = None,
    ) -> None:
        self.config = config
        self.milvus = milvus
        self.analyzer = milvus.analyzer
        self.searcher = Searcher(self.analyzer)
        self._embedder = embedder
        self._source = source or folder_articles(config)
        self._background: Background | None = None
        self._build_lock = threading.Lock()
        self._dated: tuple[float, bool] | None = None

    @classmethod
    def open(
        cls,
        config: EngineConfig,
        search_url: str,
        prefix: str,
        progress: Progress | None = None,
        source: Callable[[], list[Article]] | None = None,
        build_if_missing: bool = True,
    ) -> MilvusEngine:
        """Load the model and connect; build the collections from ``source`` if Milvus holds
        none (unless ``build_if_missing`` is False)."""
        embedder = config.load_embedder()
        milvus = MilvusIndex.connect(search_url, prefix, embedder.model_id, embedder.dimension, Analyzer(), embedder)
        engine = cls(config, milvus, embedder, source)
        admin_map()
        milvus.drop_abandoned()  # what a build cut off left (Milvus stopped during a reindex)
        if build_if_missing and milvus.live_generation() is None:
            engine.reindex(progress, allow_empty=True)
        if build_if_missing and milvus.live_generation() is not None:
            # An engine opened to answer (not `reindex` or `status`): the terms' document
            # frequencies, read whole in the background (questions read theirs until then).
            milvus.warm_up(wait=False)
        embedder.warm_up()
        return engine

    def embedder(self) -> Embedder:
        return self._embedder

    def background(self) -> Background:
        if self._background is None:
            self._background = Background.embed(self._embedder)
        return self._background

    def close(self) -> None:
        self.milvus.close()

    # -- asking ----------------------------------------------------------------------------

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        """As :meth:`retrieval.local.engine.LocalEngine.ask`, from Milvus."""
        started = time.perf_counter()
        text = check_question(nfc(question))
        query = self._embedder.encode_query(text)
        selection = Selection.of(self._embedder, text)
        baseline = self.background().baseline(query)

        def search(words: str, when: DateFilter | None) -> tuple[SearchIndex, list[RankedPassage]] | None:
            view = self.milvus.view(words, query, where=period_filter(when) if when is not None else None)
            if when is not None and not view.pids:
                return None
            ranked = self.searcher.passages(view, words, query)
            view.fetch_sentences(r.passage for r in ranked[:MOST_ANSWER_PASSAGES])
            return view, ranked

        limit = limit or self.config.answer_sentences
        dated = self._has_dates()
        answer = answer_question(self.analyzer, text, query, baseline, limit, offset, dated, search, selection)
        elapsed = (time.perf_counter() - started) * 1000
        return replace(answer, question=nfc(question), elapsed_ms=elapsed)

    def _has_dates(self) -> bool:
        known = self._dated
        if known is None or time.monotonic() - known[0] > DATED_TTL_S:
            known = (time.monotonic(), self.milvus.any_dated())
            self._dated = known
        return known[1]

    def refresh(self) -> bool:
        """Nothing to reload: every replica reads the same collections."""
        return False

    # -- changing the corpus ---------------------------------------------------------------

    def reindex(self, progress: Progress | None = None, wait: bool = True, allow_empty: bool = False) -> IndexStatus:
        """Build a new generation of the collections from the source, a batch of articles at a
        time, then make it live (the old one answers until then). An empty source is an error
        unless ``allow_empty`` (a new deployment's first start)."""
        if not self._build_lock.acquire(blocking=wait):
            raise IndexBusyError("a reindex is already running")
        try:
            articles = self._source()
            if not articles and not allow_empty:
                raise ValueError("there are no articles to index: add some with `hoptac ingest PATH`")
            average = self.milvus.average_length(articles)
            generation = self.milvus.new_generation()
            try:
                for start in range(0, len(articles), WRITE_BATCH):
                    self.milvus.fill(generation, self.milvus.prepare(articles[start : start + WRITE_BATCH]), average)
                    if progress:
                        progress("index", min(start + WRITE_BATCH, len(articles)), len(articles))
                self.milvus.make_live(generation)
            except BaseException:
                # Dropped now if Milvus answers, else by the next build or engine open.
                self.milvus.abandon(generation)
                raise
            return self.status()
        finally:
            self._build_lock.release()

    def sync(self, progress: Progress | None = None) -> tuple[list[str], list[str]]:
        """Bring Milvus in line with the source: put the new and changed articles, remove
        the ones gone; (ids put, ids removed)."""
        changed, gone = self._sync(self._source(), self.milvus.indexed(), progress)
        return [a.id for a in changed], gone

    def _sync(
        self, source: Sequence[Article], indexed: dict[str, str], progress: Progress | None
    ) -> tuple[list[Article], list[str]]:
        articles = {a.id: a for a in source}
        changed = [a for a in articles.values() if indexed.get(a.id) != article_digest(a).hex()]
        gone = [article_id for article_id in indexed if article_id not in articles]
        for start in range(0, len(changed), WRITE_BATCH):
            self.milvus.put(self.milvus.prepare(changed[start : start + WRITE_BATCH]))
            if progress:
                progress("index", min(start + WRITE_BATCH, len(changed)), len(changed))
        self.milvus.remove(gone)
        return changed, gone

    def ingest(
        self, paths: Sequence[Path], progress: Progress | None = None, *, whole_folder: bool = False
    ) -> IngestReport:
        """Import files into the corpus folder, then bring Milvus in line with the whole folder
        (whatever ``whole_folder`` says: Milvus is compared with every article). As
        :meth:`retrieval.local.engine.LocalEngine.ingest`: articles written where their ids
        live, undone when this fails, the report against what Milvus held before."""
        folder = self.config.corpus_dir
        imported, report = import_files(paths, folder, max_bytes=self.config.ingest_max_bytes, progress=progress)
        with self._build_lock:
            read = read_corpus(folder)
            broken = [failure for failure in read.failures if failure not in read.duplicates]
            if broken:
                path, reason = broken[0]
                raise CorpusError(f"{path}: {reason}; fix or remove it, the index is unchanged")
            report.failures.extend(IngestFailure(path, reason) for path, reason in read.duplicates)
            indexed = self.milvus.indexed()
            writes = CorpusWrites(folder)
            try:
                writes.save_all(imported, read.files, report, progress)
                articles = {a.id: a for a in read.articles} | {a.id: a for a in writes.written.values()}
                put, _ = self._sync(list(articles.values()), indexed, progress)
            except BaseException:
                writes.roll_back()
                raise
            writes.commit()
        report_against_index(report, imported, indexed.__contains__, put)
        return report

    # -- reading ---------------------------------------------------------------------------

    def status(self, verify: bool = False) -> IndexStatus:
        """``verify`` changes nothing: Milvus keeps its own checksums."""
        counts = self.milvus.counts()
        version = self.milvus.version()
        built = self.milvus.built_at()
        return IndexStatus(
            articles=counts["articles"],
            passages=counts["passages"],
            sentences=counts["sentences"],
            model=self.milvus.model_id,
            dimension=self.milvus.dimension,
            built_at=built.isoformat(timespec="seconds"),
            age_seconds=(datetime.now(UTC) - built).total_seconds(),
            index_bytes=0,
            index_kind="milvus",
            corpus_fingerprint="",
            version=version,
        )

    def article(self, article_id: str) -> Article:
        found = self.milvus.articles([article_id], body=True)
        if article_id not in found:
            raise KeyError(article_id)
        return found[article_id]

    def paragraph_around(self, article_id: str, start: int) -> str:
        return paragraph_at(self.article(article_id), start)

    def latest_articles(self, n: int = 5) -> list[Article]:
        oldest = datetime.min.replace(tzinfo=UTC)
        articles = self.milvus.all_articles()
        articles.sort(key=lambda a: (a.published or oldest, a.id), reverse=True)
        return articles[:n]
