"""A Milvus server stopped and started again (same address, same data) during answers and
during an ingest: one clear error while it is down, never a hang; afterwards the same engine
answers as before, and an ingest is neither lost nor doubled."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from hoptac.settings import Settings
from retrieval.milvus.engine import MilvusEngine
from retrieval.milvus.index import MilvusIndex, MilvusUnavailableError
from retrieval.models import Answer
from retrieval.vietnamese.analyzer import Analyzer
from tests.conftest import DATED, PARITY_QUESTIONS, HashingEmbedder
from tests.milvus_server import MilvusServer, MilvusServerUnavailable, start_server, stop_server

pytest.importorskip("milvus_lite")

T = TypeVar("T")
#: The longest a call may take while Milvus is down before the test calls it a hang.
BOUND_S = 30.0

NEW_ARTICLE = (
    "---\nid: cau-moi\ntitle: Khởi công cầu Hòa Bình Mới\npublished: 2025-08-01\nsource: Báo Test\n---\n\n"
    "Sáng nay, tỉnh khởi công cầu Hòa Bình Mới bắc qua sông Lô, tổng vốn 500 tỷ đồng.\n\n"
    "Cây cầu dài 1,2 km, dự kiến hoàn thành vào cuối năm 2027, nối hai bờ sông Lô.\n"
)


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``, failing the test if it has not returned or raised within ``seconds``."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(call).result(timeout=seconds)
    finally:
        pool.shutdown(wait=False)


@dataclass
class Restartable:
    """A milvus-lite server of this test's own, stopped and started again at its address."""

    folder: Path
    server: MilvusServer

    def stop(self) -> None:
        stop_server(self.server)

    def start(self) -> None:
        self.server = start_server(self.folder, port=self.server.port)


@pytest.fixture
def milvus(tmp_path: Path) -> Iterator[Restartable]:
    try:
        server = start_server(tmp_path / "milvus")
    except MilvusServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no Milvus server for the tests in CI: {exc}")
        pytest.skip(f"no Milvus server for the tests: {exc}")
    restartable = Restartable(tmp_path / "milvus", server)
    yield restartable
    stop_server(restartable.server)


@pytest.fixture
def engine(milvus: Restartable, settings: Settings) -> Iterator[MilvusEngine]:
    for path in DATED.iterdir():
        shutil.copy(path, settings.corpus_dir / path.name)
    embedder = HashingEmbedder()
    index = MilvusIndex.connect(milvus.server.uri, "r", embedder.model_id, embedder.dimension,
                                Analyzer(), embedder)  # type: ignore[arg-type]  # fmt: skip
    engine = MilvusEngine(settings.engine_config(), index, embedder)  # type: ignore[arg-type]
    engine.reindex()
    yield engine
    engine.close()


def _answers(engine: MilvusEngine) -> list[tuple[Any, ...]]:
    def seen(answer: Answer) -> tuple[Any, ...]:
        quotes = [(c.article_id, c.start, c.end, c.sentence, round(c.score, 4)) for c in answer.citations]
        return answer.found, answer.answer, answer.confidence, quotes

    return [seen(engine.ask(question)) for question in PARITY_QUESTIONS]


def _rows_by_article(engine: MilvusEngine) -> dict[str, dict[str, int]]:
    """Per collection, rows per article id of the live generation."""
    index = engine.milvus
    generation = index.live_generation()
    assert generation is not None
    counted: dict[str, dict[str, int]] = {}
    for kind in ("passages", "sentences", "articles"):
        rows = index.client.query(f"r_{generation}_{kind}", filter="", output_fields=["article_id"], limit=16_000)
        per: dict[str, int] = {}
        for row in rows:
            per[row["article_id"]] = per.get(row["article_id"], 0) + 1
        counted[kind] = per
    return counted


def _folder(settings: Settings) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(settings.corpus_dir.iterdir())}


def test_answers_fail_clearly_while_milvus_is_down_and_come_back_the_same(
    milvus: Restartable, engine: MilvusEngine
) -> None:
    before = _answers(engine)
    assert any(found for found, *_ in before)
    milvus.stop()
    with pytest.raises(MilvusUnavailableError, match=f"Milvus at {milvus.server.uri} did not answer") as raised:
        within(BOUND_S, lambda: engine.ask(PARITY_QUESTIONS[0]))
    assert "\n" not in str(raised.value)
    milvus.start()
    assert within(BOUND_S, lambda: _answers(engine)) == before  # the same engine, reconnected


def test_an_ingest_cut_off_by_a_restart_changes_nothing_and_goes_in_once_after(
    milvus: Restartable, engine: MilvusEngine, settings: Settings, tmp_path: Path
) -> None:
    new = tmp_path / "new.md"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    folder, rows, indexed = _folder(settings), _rows_by_article(engine), engine.milvus.indexed()

    def stop_once_saved(stage: str, done: int, total: int) -> None:
        if stage == "ingest":  # the article file is written; Milvus not yet
            milvus.stop()

    with pytest.raises(MilvusUnavailableError):
        within(BOUND_S, lambda: engine.ingest([new], progress=stop_once_saved))
    assert _folder(settings) == folder
    milvus.start()
    assert _rows_by_article(engine) == rows and engine.milvus.indexed() == indexed

    # Now cut off half-way through the write: the passages written, the sentences not.
    client = engine.milvus.client
    real_upsert = client.upsert

    def upsert_then_stop(name: str, rows: list[dict[str, Any]], **kwargs: Any) -> Any:
        if name.endswith("_sentences"):
            milvus.stop()
        return real_upsert(name, rows, **kwargs)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(client, "upsert", upsert_then_stop, raising=False)
        with pytest.raises(MilvusUnavailableError):
            within(BOUND_S, lambda: engine.ingest([new]))
    assert _folder(settings) == folder
    milvus.start()

    report = within(BOUND_S, lambda: engine.ingest([new]))
    assert report.ok and report.changes == {"cau-moi": "new"}
    assert [a.id for a in report.new_articles] == ["cau-moi"]
    assert within(BOUND_S, lambda: engine.ingest([new])).changes == {"cau-moi": "unchanged"}
    after = _rows_by_article(engine)
    passages = after["passages"].pop("cau-moi")
    assert passages == 1 and after["articles"].pop("cau-moi") == 1 and after["sentences"].pop("cau-moi") == 2
    assert after == rows  # the other articles' rows as they were: nothing stale, nothing doubled
    assert engine.status().passages == sum(rows["passages"].values()) + passages
    generation = engine.milvus.live_generation()
    assert generation is not None
    assert engine.milvus._stats(generation).documents == engine.status().passages  # BM25's passage count
    answer = engine.ask("cầu Hòa Bình Mới khởi công khi nào?")
    assert answer.found and answer.citations[0].article_id == "cau-moi"


def test_a_reindex_cut_off_keeps_the_old_generation_and_the_next_build_drops_the_half_built_one(
    milvus: Restartable, engine: MilvusEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.milvus.engine

    before = _answers(engine)
    live = engine.milvus.live_generation()
    assert engine.milvus.generations() == {live}
    monkeypatch.setattr(retrieval.milvus.engine, "WRITE_BATCH", 1)  # one fill per article: stopped between two

    def stop_after_the_first_fill(stage: str, done: int, total: int) -> None:
        if stage == "index" and done == 1:
            milvus.stop()

    with pytest.raises(MilvusUnavailableError, match=f"Milvus at {milvus.server.uri} did not answer") as raised:
        within(BOUND_S, lambda: engine.reindex(stop_after_the_first_fill))
    assert "\n" not in str(raised.value)
    milvus.start()
    assert within(BOUND_S, lambda: _answers(engine)) == before  # the old generation serves, the same answers
    assert engine.milvus.live_generation() == live
    left = engine.milvus.generations() - {live}
    assert len(left) == 1  # the half-built one: its drop failed with Milvus down

    # An engine opened (a replica starting) drops it: the build that made it is over...
    embedder = HashingEmbedder()
    embedder.warm_up = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(type(engine.config), "load_embedder", lambda config, notify=None: embedder)
    reopened = within(BOUND_S, lambda: MilvusEngine.open(engine.config, milvus.server.uri, "r"))
    try:
        assert reopened.milvus.generations() == {live}
        assert _answers(reopened) == before
    finally:
        reopened.close()

    # ... and so does the next reindex, which succeeds: none accumulate.
    with pytest.raises(MilvusUnavailableError):
        within(BOUND_S, lambda: engine.reindex(stop_after_the_first_fill))
    milvus.start()
    assert len(engine.milvus.generations() - {live}) == 1
    status = within(BOUND_S, engine.reindex)
    new_live = engine.milvus.live_generation()
    assert new_live != live and engine.milvus.generations() == {new_live}
    assert status.passages > 0 and _answers(engine) == before
    meta = engine.milvus.client.query("r_meta", filter="", output_fields=["key"], limit=16_000)
    assert {row["key"].split(":")[0] for row in meta if ":" in row["key"]} == {new_live}  # no keys of dropped ones
