"""Passages: overlapping windows of whole sentences, the unit that gets retrieved."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from retrieval.models import Article, Passage, Sentence

#: About 150-250 e5 tokens for Vietnamese news prose, well under the model's 512.
MAX_PASSAGE_CHARS = 600


def passage_windows(sentences: Sequence[Sentence], max_chars: int = MAX_PASSAGE_CHARS) -> list[tuple[int, int]]:
    """(first, last) sentence positions of each window; consecutive windows share one sentence.

    A window grows sentence by sentence until adding the next would pass ``max_chars``;
    the next window starts at the previous window's last sentence, so an answer that spans
    a window edge is still seen whole once.
    """
    windows: list[tuple[int, int]] = []
    first = 0
    n = len(sentences)
    while first < n:
        last = first
        size = len(sentences[first].text)
        while last + 1 < n and size + 1 + len(sentences[last + 1].text) <= max_chars:
            last += 1
            size += 1 + len(sentences[last].text)
        windows.append((first, last))
        if last + 1 >= n:
            break
        first = last if last > first else last + 1
    return windows


def passage_text(article: Article, sentences: Sequence[Sentence]) -> str:
    """What is embedded and lexically indexed: the title, then the window's sentences."""
    return text_of_window(article.title, (s.text for s in sentences))


def text_of_window(title: str, sentence_texts: Iterable[str]) -> str:
    """:func:`passage_text` from the title and the window's sentences' texts."""
    return title + "\n" + " ".join(sentence_texts)


def build_passages(article: Article, sentences: Sequence[Sentence], first_id: int) -> list[Passage]:
    """Passages of one article, numbered from ``first_id``; sentence positions are the
    article's own (``Sentence.position``)."""
    return [
        Passage(
            id=first_id + i,
            article_id=article.id,
            first_sentence=sentences[first].position,
            last_sentence=sentences[last].position,
            text=passage_text(article, sentences[first : last + 1]),
        )
        for i, (first, last) in enumerate(passage_windows(sentences))
    ]
