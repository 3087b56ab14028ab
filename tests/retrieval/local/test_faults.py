"""Faults of the embedded index: a write that fails half-way (no space left, a file-size
limit) and ``kill -9`` at the named points of an ingest (retrieval/crash_points.py). After
each: the old index serves or the new one does, never a half-written one; the corpus folder,
the index and the next ingest's report agree. docs/reliability.md says what was seen."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import resource
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hoptac.settings import Settings
from retrieval.articles import intake
from retrieval.articles.corpus import read_corpus
from retrieval.crash_points import POINTS
from retrieval.engine import CorpusError, IndexWriteError
from retrieval.local.corpus_state import CorpusStateStore
from retrieval.local.engine import LocalEngine
from retrieval.local.index import IndexStore
from tests.conftest import HashingEmbedder
from tests.retrieval.local.test_incremental_ingest import HIGHWAY, TEA

OLD_QUESTION = "Hải Dương và Bắc Giang hợp tác thế nào?"
OLD_ARTICLE = "2019-10-05-tang-cuong-va-mo-rong-hop-tac-toan-dien-hai-duong-bac-giang"
#: A child process is killed or fails within seconds; this only bounds a hang.
CHILD_WAIT_S = 60.0


def _engine(settings: Settings) -> LocalEngine:
    return LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]


def _jsonl(path: Path, *records: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def _folder(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file in ``folder``, hidden ones too: its bytes, modification time and inode."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in sorted(folder.iterdir())}


def _serving(settings: Settings) -> tuple[LocalEngine, str, IndexStore, set[str]]:
    """An engine serving a first version: the engine, that version, its store and its versions."""
    engine = _engine(settings)
    version = engine.reindex().version
    store = IndexStore(settings.engine_config().index_root)
    return engine, version, store, _versions(store)


def _versions(store: IndexStore) -> set[str]:
    return {p.name for p in store.versions.iterdir()}


def _fails_on_call(original: Callable[..., Any], call: int, error: OSError) -> Callable[..., Any]:
    """``original``, except that its ``call``-th call raises ``error`` (the calls before it write)."""
    calls = iter(range(1, 1_000_000))

    def write(*args: Any, **kwargs: Any) -> Any:
        if next(calls) == call:
            raise error
        return original(*args, **kwargs)

    return write


NO_SPACE = OSError(errno.ENOSPC, "No space left on device")


def _assert_old_index_serves(settings: Settings, store: IndexStore, version: str, versions: set[str]) -> None:
    """CURRENT unchanged, no folder left beside the old ones, and a fresh engine answers from it."""
    assert store.current_version() == version
    assert _versions(store) == versions  # nothing half-written, hidden staging folders included
    reopened = _engine(settings)
    assert reopened.status(verify=True).version == version
    assert reopened.status().integrity == "verified"
    assert reopened.ask(OLD_QUESTION).citations[0].article_id == OLD_ARTICLE


@pytest.mark.parametrize("failing_write", [1, 3, 6])  # the first array, one in the middle, the postings
def test_reindex_with_no_space_left_keeps_the_old_index_serving(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, failing_write: int
) -> None:
    engine, version, store, versions = _serving(settings)

    with monkeypatch.context() as patched:
        patched.setattr(np, "save", _fails_on_call(np.save, failing_write, NO_SPACE))
        with pytest.raises(IndexWriteError) as raised:
            engine.reindex()

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot write the new index into {store.versions} (No space left on device)")
    assert "the previous index is still served" in message
    assert engine.ask(OLD_QUESTION).citations[0].article_id == OLD_ARTICLE
    _assert_old_index_serves(settings, store, version, versions)


def test_an_ingest_with_no_space_left_for_the_index_changes_nothing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, version, store, versions = _serving(settings)
    folder = _folder(settings.corpus_dir)

    with monkeypatch.context() as patched:
        patched.setattr(np, "save", _fails_on_call(np.save, 2, NO_SPACE))
        with pytest.raises(IndexWriteError, match=r"\(No space left on device\); the previous index is still served"):
            engine.ingest([_jsonl(tmp_path / "new.jsonl", TEA, HIGHWAY)])

    assert _folder(settings.corpus_dir) == folder
    _assert_old_index_serves(settings, store, version, versions)
    report = engine.ingest([_jsonl(tmp_path / "new.jsonl", TEA, HIGHWAY)])
    assert report.changes == {"tn-2024-03": "new", "lc-2024-04": "new"}


def test_an_ingest_with_no_space_left_for_the_corpus_file_changes_nothing(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, version, store, versions = _serving(settings)
    folder = _folder(settings.corpus_dir)

    with monkeypatch.context() as patched:  # the first article written, the second refused
        patched.setattr(intake, "write_atomically", _fails_on_call(intake.write_atomically, 2, NO_SPACE))
        with pytest.raises(CorpusError) as raised:
            engine.ingest([_jsonl(tmp_path / "new.jsonl", TEA, HIGHWAY)])

    assert str(raised.value) == (
        f"cannot write {settings.corpus_dir / 'lc-2024-04.md'} (No space left on device); "
        "the corpus folder and the index are unchanged"
    )
    assert _folder(settings.corpus_dir) == folder
    _assert_old_index_serves(settings, store, version, versions)


def test_no_space_left_for_current_leaves_no_version_a_later_load_could_choose(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new version was renamed into place but CURRENT could not be written: the folder goes."""
    engine, version, store, versions = _serving(settings)
    folder = _folder(settings.corpus_dir)

    with monkeypatch.context() as patched:
        patched.setattr(Path, "write_text", _fails_on_call(Path.write_text, 2, NO_SPACE))  # manifest, then CURRENT
        with pytest.raises(IndexWriteError, match="No space left on device"):
            engine.ingest([_jsonl(tmp_path / "new.jsonl", TEA)])

    assert not list(store.root.glob(".CURRENT.*"))
    assert _folder(settings.corpus_dir) == folder
    _assert_old_index_serves(settings, store, version, versions)


# -- a file-size limit: the kernel refuses the write (EFBIG) in a child process -----------------


def _reindex_under_file_size_limit(corpus: Path, data: Path, limit: int, out: Any) -> None:
    """In a child process: ``hoptac reindex`` with RLIMIT_FSIZE at ``limit`` bytes; sends what it raised."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    settings = Settings(corpus_dir=corpus, data_dir=data, _env_file=None)  # type: ignore[call-arg]
    try:
        _engine(settings).reindex()
        out.send(("built", ""))
    except Exception as exc:
        out.send((type(exc).__name__, str(exc)))


def test_a_file_size_limit_during_reindex_keeps_the_old_index_serving(settings: Settings, tmp_path: Path) -> None:
    _, version, store, versions = _serving(settings)
    sizes = sorted(int(info["bytes"]) for info in store.read_manifest().files.values())  # type: ignore[call-overload]
    limit = 2048
    assert sizes[0] < limit < sizes[-1]  # small files go through, the large ones are stopped
    _jsonl(tmp_path / "more.jsonl", TEA, HIGHWAY)

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_reindex_under_file_size_limit, args=(settings.corpus_dir, settings.data_dir, limit, send)
    )
    child.start()
    assert receive.poll(CHILD_WAIT_S)
    kind, message = receive.recv()
    child.join(CHILD_WAIT_S)

    assert child.exitcode == 0
    assert kind == "IndexWriteError"
    assert message.startswith(f"cannot write the new index into {store.versions} (File too large)")
    _assert_old_index_serves(settings, store, version, versions)


# -- kill -9 at each named point of an ingest --------------------------------------------------


def _ingest_killed_at(point: str, corpus: Path, data: Path, paths: list[Path]) -> None:
    """In a child process: ``hoptac ingest`` that sends itself SIGKILL at ``point``."""
    import os

    os.environ["HOPTAC_TEST_KILL_AT"] = point
    settings = Settings(corpus_dir=corpus, data_dir=data, _env_file=None)  # type: ignore[call-arg]
    _engine(settings).ingest(paths)


#: What the kill leaves, by point: the articles in the corpus folder, and in the served index.
LEFT = {
    "before-corpus-write": (set(), set()),
    "during-corpus-write": ({"tn-2024-03"}, set()),  # the first of the two files was written
    "after-corpus-write": ({"tn-2024-03", "lc-2024-04"}, set()),
    "before-swap": ({"tn-2024-03", "lc-2024-04"}, set()),
    "after-swap": ({"tn-2024-03", "lc-2024-04"}, {"tn-2024-03", "lc-2024-04"}),
}


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_of_an_ingest_leaves_corpus_index_and_report_agreeing(
    settings: Settings, tmp_path: Path, point: str
) -> None:
    engine = _engine(settings)
    engine.reindex()
    store = IndexStore(settings.engine_config().index_root)
    served_before = store.current_version()
    new = _jsonl(tmp_path / "new.jsonl", TEA, HIGHWAY)

    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_ingest_killed_at, args=(point, settings.corpus_dir, settings.data_dir, [new]))
    child.start()
    child.join(CHILD_WAIT_S)
    assert child.exitcode == -signal.SIGKILL

    in_folder = {a.id for a in read_corpus(settings.corpus_dir).articles} - {OLD_ARTICLE}
    after_kill = _engine(settings)
    status = after_kill.status(verify=True)
    assert status.integrity == "verified"
    searchable = set(after_kill.index.article_index) - {OLD_ARTICLE}
    assert (in_folder, searchable) == LEFT[point]
    assert (status.version == served_before) == (point != "after-swap")  # never a version CURRENT did not name

    report = after_kill.ingest([])  # what was left behind is taken in, and reported new once
    assert report.changes == {article_id: "new" for article_id in in_folder - searchable}
    assert {a.id for a in report.new_articles} == in_folder - searchable
    assert served_before in _versions(store) or point == "after-swap"  # kept for readers still on it
    assert set(after_kill.index.article_index) - {OLD_ARTICLE} == in_folder

    again = after_kill.ingest([new])  # the ingest run again: in both, new only if never searchable
    assert again.changes == {"tn-2024-03": "unchanged" if in_folder else "new", "lc-2024-04": (
        "unchanged" if "lc-2024-04" in in_folder else "new")}  # fmt: skip
    reopened = _engine(settings)
    assert {a.id for a in read_corpus(settings.corpus_dir).articles} == set(reopened.index.article_index)
    assert reopened.ask("Diện tích vùng chè liên kết").citations[0].article_id == "tn-2024-03"
    assert reopened.status(verify=True).integrity == "verified"


def test_an_embedding_cache_that_cannot_be_written_only_costs_embedding_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Under a file-size limit `hoptac ingest` failed in the cache with a traceback
    (sqlite3.OperationalError: disk I/O error) before it reached the index."""
    from retrieval.embedding.embedder import EmbeddingCache

    (tmp_path / "embeddings.sqlite3").mkdir()  # a path sqlite cannot open
    cache = EmbeddingCache(tmp_path / "embeddings.sqlite3")
    cache.put_many([("k", np.ones(4, dtype=np.float32))])
    assert cache.get_many(["k"]) == {}
    assert [r.getMessage() for r in caplog.records if "embedding cache" in r.getMessage()] == [
        f"the embedding cache {tmp_path / 'embeddings.sqlite3'} is not used: unable to open database file"
    ]


def test_the_backups_of_a_killed_ingest_are_removed_by_the_next_one(settings: Settings, tmp_path: Path) -> None:
    """A replaced article file's backup (``.<file>.<pid>.undo``) outlives an ingest killed before
    it committed or rolled back; the next ingest removes it, never a live ingest's. Each ingest
    journals the files it is about to write first, so the next ingest, even of named files that
    walks no folder, knows which backups to look for."""
    engine = _engine(settings)
    engine.reindex()
    ended = subprocess.Popen(["true"])  # a process that has ended: no backup of its is in use
    ended.wait()
    stale = settings.corpus_dir / f".a.md.{ended.pid}.undo"
    live = settings.corpus_dir / f".b.md.{os.getpid()}.undo"
    state = CorpusStateStore(settings.engine_config().index_root)
    state.add_pending(["a.md"], pid=ended.pid)  # as the two ingests did before writing
    state.add_pending(["b.md"])
    state.close()
    stale.write_text("the previous version", "utf-8")
    live.write_text("an ingest still running", "utf-8")

    engine.ingest([_jsonl(tmp_path / "new.jsonl", TEA)])

    assert not stale.exists() and live.exists()
    assert {a.id for a in read_corpus(settings.corpus_dir).articles} == set(engine.index.article_index)
