"""The answer engine: the one object the CLI and the bot talk to.

    engine = AnswerEngine.open(settings)          # loads (or first builds) the index
    answer = engine.ask("cầu Đồng Việt ở đâu?")   # grounded, cited Answer
    engine.refresh()                              # picks up an index swapped by another process

All methods are thread-safe for readers: ``ask`` may run in worker threads while
``reindex``/``ingest`` build a new index beside the old one and swap it in at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hoptac.settings import Settings
from retrieval.models import Answer, Article

#: Progress callback: (stage, done, total). Stages: "model", "embed", "index", "ingest".
Progress = Callable[[str, int, int], None]

ArticleChange = Literal["new", "updated", "unchanged"]


@dataclass(frozen=True)
class IndexStatus:
    articles: int
    passages: int
    sentences: int
    model: str
    dimension: int
    built_at: str  # ISO 8601
    age_seconds: float
    index_bytes: int
    index_kind: str
    corpus_fingerprint: str
    version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "passages": self.passages,
            "sentences": self.sentences,
            "model": self.model,
            "dimension": self.dimension,
            "built_at": self.built_at,
            "age_seconds": round(self.age_seconds, 1),
            "index_bytes": self.index_bytes,
            "index_kind": self.index_kind,
            "corpus_fingerprint": self.corpus_fingerprint,
            "version": self.version,
        }


@dataclass(frozen=True)
class IngestFailure:
    path: str
    reason: str


@dataclass
class IngestReport:
    changes: dict[str, ArticleChange] = field(default_factory=dict)  # article id -> change
    failures: list[IngestFailure] = field(default_factory=list)
    new_articles: list[Article] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


class AnswerEngine:
    """Ask, ingest, reindex and inspect one corpus + index (see module docstring)."""

    def __init__(self, settings: Settings) -> None:
        raise NotImplementedError

    @classmethod
    def open(cls, settings: Settings, progress: Progress | None = None) -> AnswerEngine:
        raise NotImplementedError

    def ask(self, question: str, limit: int | None = None, offset: int = 0) -> Answer:
        """Answer with up to ``limit`` cited sentences, skipping the first ``offset``
        (offset>0 gives "more results" for the same question)."""
        raise NotImplementedError

    def refresh(self) -> bool:
        """Load the current index if another process swapped in a new one; True if it did."""
        raise NotImplementedError

    def reindex(self, progress: Progress | None = None) -> IndexStatus:
        """Rebuild from the corpus folder beside the old index and swap it in atomically."""
        raise NotImplementedError

    def ingest(self, paths: Sequence[Path], progress: Progress | None = None) -> IngestReport:
        """Import files/folders into the corpus folder and update the index."""
        raise NotImplementedError

    def status(self) -> IndexStatus:
        raise NotImplementedError

    def paragraph_around(self, article_id: str, start: int) -> str:
        """The whole paragraph of ``article_id`` that contains offset ``start``."""
        raise NotImplementedError

    def article(self, article_id: str) -> Article:
        raise NotImplementedError

    def latest_articles(self, n: int = 5) -> list[Article]:
        """The ``n`` indexed articles with the newest publication dates."""
        raise NotImplementedError
