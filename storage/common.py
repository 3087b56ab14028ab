"""What the SQLite and PostgreSQL backends share: the records they read back from rows of the
same columns, the moments they write alike, and the flows in which only the SQL differs.

A backend keeps its SQL; what it reads back goes through here, so both give the records
of :mod:`storage.records` field for field the same (``hoptac db import-embedded`` and the
state store's contract tests compare them).
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol

from storage.records import (
    EVERYTHING,
    AnswerPage,
    Delivery,
    FeedbackReason,
    FeedState,
    FilterKind,
    Notice,
    PendingNotice,
    StoredVote,
    SubscriptionFilter,
    Vote,
    citation_from_json,
)

#: The one key of ``outbox_meta``: when the baseline (the articles indexed before
#: notifications began, never announced) was recorded.
BASELINE_KEY = "baseline_recorded_at"


class Row(Protocol):
    """A stored row read by column name: ``sqlite3.Row`` and psycopg's dict rows alike."""

    def __getitem__(self, column: str, /) -> Any: ...


def iso(moment: datetime | None) -> str | None:
    """A stored moment as the records write it: ISO 8601 in UTC, to the second."""
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="seconds")


def now_iso() -> str:
    """Now, as the records write moments."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- subscriptions -------------------------------------------------------------------------


def chat_filters(chat_ids: Iterable[int], rows: Iterable[Row]) -> dict[int, list[SubscriptionFilter]]:
    """Each of the subscribed ``chat_ids`` with its filters from the ``subscription_filters``
    ``rows`` (in their order); a chat without any (subscribed before filters) hears everything."""
    filters: dict[int, list[SubscriptionFilter]] = {chat_id: [] for chat_id in chat_ids}
    for row in rows:
        if row["chat_id"] in filters:
            filters[row["chat_id"]].append(SubscriptionFilter(FilterKind(row["kind"]), row["value"]))
    return {chat_id: found or [EVERYTHING] for chat_id, found in filters.items()}


# --- the outbox ----------------------------------------------------------------------------


def pending_notice(row: Row) -> PendingNotice:
    """An ``outbox`` row joined with its ``announced_articles`` row."""
    return PendingNotice(
        chat_id=row["chat_id"],
        attempts=row["attempts"],
        notice=Notice(
            article_id=row["article_id"],
            title=row["title"],
            url=row["url"],
            published=row["published"],
            source=row["source"],
            lead=row["lead"],
            summary_only=bool(row["summary_only"]),  # SQLite keeps 0 or 1
        ),
    )


class SettlingOutbox(ABC):
    """The ways a notification is settled, each one update of its pending rows (the backend's SQL)."""

    def mark_sent(self, chat_id: int, article_ids: Sequence[str]) -> None:
        self._settle(chat_id, article_ids, Delivery.SENT, None)

    def mark_failed(self, chat_id: int, article_ids: Sequence[str], error: str) -> None:
        self._settle(chat_id, article_ids, Delivery.FAILED, error)

    @abstractmethod
    def _settle(self, chat_id: int, article_ids: Sequence[str], status: Delivery, error: str | None) -> None:
        """Move the pending rows of ``chat_id`` and ``article_ids`` to ``status`` (sent: now)."""


# --- feeds, feedback and answer pages ------------------------------------------------------


def feed_states(urls: Sequence[str], rows: Iterable[Row]) -> list[FeedState]:
    """The state of each of ``urls``, in that order, from the ``feeds`` rows (moments as ISO
    text) of those polled; a feed never polled is all None."""
    polled = {row["url"]: row for row in rows}
    states = []
    for url in urls:
        row = polled.get(url)
        states.append(
            FeedState(
                url=url,
                last_poll_at=row["last_poll_at"] if row else None,
                last_ok_at=row["last_ok_at"] if row else None,
                last_error=row["last_error"] if row else None,
                items_added=row["items_added"] if row else 0,
            )
        )
    return states


def vote_citations(vote: Vote) -> list[dict[str, object]]:
    """The spans a vote was about, as the ``feedback`` table keeps them (a JSON list)."""
    return [{"article_id": a, "start": s, "end": e} for a, s, e in vote.citations]


def stored_vote(row: Row, citations: Iterable[dict[str, Any]], voted_at: str) -> StoredVote:
    """A ``feedback`` row, its ``citations`` decoded from JSON and its moment as ISO text."""
    reason = row["reason"]
    return StoredVote(
        vote=Vote(
            answer_id=row["answer_id"],
            question=row["question"],
            vote=row["vote"],
            chat_id=row["chat_id"],
            user_id=row["user_id"],
            result_offset=row["result_offset"],
            citations=tuple((c["article_id"], c["start"], c["end"]) for c in citations),
            first_quote=row["first_quote"] or "",
            reason=FeedbackReason(reason) if reason else None,
        ),
        voted_at=voted_at,
    )


def dislike_counts(rows: Iterable[Row]) -> dict[FeedbackReason | None, int]:
    """👎 by reason (None: no reason given) from ``reason, count`` rows; every reason present, 0 or more."""
    counts: dict[FeedbackReason | None, int] = {reason: 0 for reason in FeedbackReason}
    counts[None] = 0
    for row in rows:
        reason = row["reason"]
        counts[FeedbackReason(reason) if reason else None] += row["votes"]
    return counts


def page_citations(page: AnswerPage) -> list[dict[str, Any]]:
    """The citations a page showed, as the ``answer_pages`` table keeps them (a JSON list)."""
    return [asdict(c) for c in page.citations]


def answer_page(row: Row, citations: Iterable[dict[str, Any]]) -> AnswerPage:
    """An ``answer_pages`` row, its ``citations`` already decoded from JSON."""
    return AnswerPage(
        question=row["question"],
        chat_id=row["chat_id"],
        user_id=row["user_id"],
        offset=row["result_offset"],
        citations=tuple(citation_from_json(c) for c in citations),
    )


def keep_under_new_id(insert: Callable[[str], bool]) -> str:
    """Draw page ids (8 URL-safe characters: a button carries one) until ``insert`` keeps the
    page under one; it returns False when the id was drawn before, which is rare, not impossible."""
    while True:
        page_id = secrets.token_urlsafe(6)
        if insert(page_id):
            return page_id
