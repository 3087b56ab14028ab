"""The domain: articles, their sentences and passages, and grounded answers.

Offsets (``start``/``end``) always index into :attr:`Article.text`, the article body
exactly as stored in the corpus file, so ``article.text[s.start:s.end] == s.text``
holds for every sentence and every citation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np


@dataclass(frozen=True)
class Article:
    """One news article. ``text`` is the body: paragraphs separated by blank lines.

    A paragraph whose first line starts with ``> `` is a photo caption; the marker is
    part of the stored text but never part of a sentence.
    """

    id: str
    title: str
    published: datetime | None  # timezone-aware; None where the source gives no date
    source: str  # "" where unknown
    text: str
    url: str | None = None
    tags: tuple[str, ...] = ()
    sapo: str | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "published": self.published.isoformat() if self.published else None,
            "source": self.source,
            "url": self.url,
            "tags": list(self.tags),
        }


@dataclass(frozen=True)
class Paragraph:
    """A span of the article body; captions are marked, their ``start`` skips ``> ``."""

    start: int
    end: int
    is_caption: bool = False


@dataclass(frozen=True)
class Sentence:
    """One sentence: an exact slice ``article.text[start:end]``."""

    article_id: str
    position: int
    start: int
    end: int
    text: str
    paragraph: int
    is_caption: bool = False


@dataclass(frozen=True)
class Passage:
    """A window of whole consecutive sentences of one article, the unit of retrieval."""

    id: int
    article_id: str
    first_sentence: int
    last_sentence: int  # inclusive
    text: str  # what gets embedded and lexically indexed (title + sentences)


@dataclass(frozen=True)
class Citation:
    """A quoted sentence with the metadata needed to check it against its article."""

    article_id: str
    title: str
    published: str | None
    source: str
    url: str | None
    sentence: str
    start: int
    end: int
    score: float
    is_caption: bool = False
    #: For an article published before the 2025 administrative reform: each merged or
    #: abolished unit the sentence itself names, with what it is now ("Hải Dương nay thuộc TP
    #: Hải Phòng"). Shown beside the quote, never inside it: the sentence stays an exact slice.
    unit_notes: tuple[str, ...] = ()
    #: A further page's quote the answer itself left out (it scores below the follow-up margin
    #: of the first quote, or is another article's that did not earn its place): accepted by
    #: the found decision, but less related than the answer's quotes.
    less_related: bool = False

    @classmethod
    def quoting(
        cls,
        article: Article,
        sentence: str,
        start: int,
        end: int,
        score: float,
        *,
        is_caption: bool = False,
        unit_notes: tuple[str, ...] = (),
        less_related: bool = False,
    ) -> Citation:
        """``sentence`` (``article.text[start:end]``) quoted with what a reader checks it
        against: its article's id, title, date, source and link."""
        return cls(
            article_id=article.id,
            title=article.title,
            published=article.published.isoformat() if article.published else None,
            source=article.source,
            url=article.url,
            sentence=sentence,
            start=start,
            end=end,
            score=score,
            is_caption=is_caption,
            unit_notes=unit_notes,
            less_related=less_related,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "published": self.published,
            "source": self.source,
            "url": self.url,
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "is_caption": self.is_caption,
            "unit_notes": list(self.unit_notes),
            "less_related": self.less_related,
        }


@dataclass(frozen=True)
class Answer:
    """What the engine returns for one question."""

    question: str
    found: bool
    answer: str
    citations: tuple[Citation, ...] = ()
    elapsed_ms: float = 0.0
    #: How sure a found answer is: "high" (confident) or "low" (the quotes are only related);
    #: None when not found. See retrieval/answering/confidence.py.
    confidence: Literal["high", "low"] | None = None
    # Diagnostics for evaluation; not part of the public JSON.
    ranked_articles: tuple[str, ...] = field(default=(), compare=False, repr=False)
    #: The confidence's evidence (retrieval/answering/confidence.py ``Evidence.vector()``), when found.
    evidence: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: Whether quotes the found decision accepts are left after these ("more results");
    #: None where the engine does not say.
    more_quotes: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "confidence": self.confidence,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }
