"""What the answer engine needs to know, and nothing more: folders, the model, answer length.

The application builds it from its own settings (``hoptac.settings.Settings.engine_config``);
anything else that embeds the engine builds one directly::

    config = EngineConfig(corpus_dir=Path("corpus"), data_dir=Path("var"))
    engine = LocalEngine.open(config)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from retrieval.embedding.embedder import DEFAULT_MODEL, Embedder

SentenceVectors = Literal["standalone", "span"]
AnswerSelectorChoice = Literal["trained", "off"]


@dataclass(frozen=True)
class EngineConfig:
    """The engine's own configuration.

    ``data_dir`` holds everything derived: the index (``index/``), the model (``models/``)
    and the embedding cache (``cache/``)."""

    corpus_dir: Path
    data_dir: Path
    embedding_model: str = DEFAULT_MODEL
    embedding_batch_size: int = 32
    sentence_vectors: SentenceVectors = "span"
    answer_sentences: int = 3
    #: Largest file (or JSONL line) an ingest reads; 0: no limit.
    ingest_max_bytes: int = 0
    #: "trained": sentences are chosen with the trained answer selector
    #: (retrieval/embedding/answer_selector.py) where it applies (the default model, span
    #: sentence vectors); "off": without it, as before it existed.
    answer_selector: AnswerSelectorChoice = "trained"

    @property
    def index_root(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def embedding_cache(self) -> Path:
        return self.data_dir / "cache" / "embeddings.sqlite3"

    def load_embedder(self, notify: Callable[[str], None] | None = None) -> Embedder:
        """The configured model, through the embedding cache (built offline first if needed)."""
        embedder = Embedder.load(
            self.embedding_model,
            self.models_dir,
            self.embedding_cache,
            batch_size=self.embedding_batch_size,
            notify=notify,
            sentence_vectors=self.sentence_vectors,
        )
        if self.uses_selector:
            from retrieval.embedding.answer_selector import SHIPPED

            embedder.attach_selector(SHIPPED)
        return embedder

    @property
    def uses_selector(self) -> bool:
        """Whether answers choose sentences with the trained selector: it is asked for, and
        it was trained for this model and way of making sentence vectors."""
        return (
            self.answer_selector == "trained"
            and self.embedding_model == DEFAULT_MODEL
            and self.sentence_vectors == "span"
        )
