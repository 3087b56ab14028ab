"""The records the state store keeps, in the domain's words (no storage detail)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from retrieval.models import Citation


@dataclass(frozen=True)
class Subscription:
    """A chat that hears about new articles."""

    chat_id: int
    chat_type: str  # private, group, supergroup, channel
    title: str
    subscribed_by: int | None  # Telegram user id
    subscribed_at: str  # ISO 8601, UTC


class FilterKind(StrEnum):
    """What a subscription filter looks for in a new article."""

    EVERYTHING = "all"  # every new article (plain /subscribe)
    PLACE = "place"  # a 2025 province-level unit, or any unit it took in
    KEYWORD = "keyword"  # a word or phrase


@dataclass(frozen=True)
class SubscriptionFilter:
    """Which new articles a subscribed chat hears of; a chat may hold several.

    ``value``: for a place, the 2025 unit's name ("Hải Phòng"); for a keyword, its
    normalised words ("du lịch"); "" for everything."""

    kind: FilterKind
    value: str = ""


#: Plain /subscribe; also what a chat subscribed before filters existed (no filter rows) hears.
EVERYTHING = SubscriptionFilter(FilterKind.EVERYTHING)


class Delivery(StrEnum):
    """Where an outbox row stands."""

    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"  # the chat unsubscribed, blocked the bot or no longer exists
    FAILED = "failed"  # Telegram refused the message itself; retrying would not help


@dataclass(frozen=True)
class Notice:
    """What a notification says about one article (a snapshot taken when it was first seen)."""

    article_id: str
    title: str
    url: str | None = None
    published: str | None = None
    source: str = ""
    lead: str = ""
    summary_only: bool = False


@dataclass(frozen=True)
class PendingNotice:
    """A notification due for one chat."""

    chat_id: int
    notice: Notice
    attempts: int


class FeedbackReason(StrEnum):
    """Why a user gave an answer 👎, when they said (the bot asks; answering is optional)."""

    WRONG_QUOTE = "wrong_quote"  # the quotes are not what the article says, or not about the question
    NOT_ANSWERED = "not_answered"  # the quotes do not answer the question
    OUTDATED = "outdated"  # the answer is out of date


@dataclass(frozen=True)
class Vote:
    """👍 (+1) or 👎 (-1) on one answer message, by one user; for a 👎, the reason they gave."""

    answer_id: str
    question: str
    vote: int  # +1 👍, -1 👎
    chat_id: int
    user_id: int
    result_offset: int = 0
    citations: tuple[tuple[str, int, int], ...] = ()  # (article_id, start, end)
    first_quote: str = ""  # the first cited sentence, verbatim: what admins read back
    reason: FeedbackReason | None = None  # only with a 👎


@dataclass(frozen=True)
class StoredVote:
    """A vote as the store keeps it, with the moment it was cast (ISO 8601, UTC)."""

    vote: Vote
    voted_at: str


@dataclass(frozen=True)
class FeedState:
    """What is known about one feed's polling."""

    url: str
    last_poll_at: str | None
    last_ok_at: str | None
    last_error: str | None
    items_added: int


@dataclass(frozen=True)
class PollOutcome:
    """How one poll of a feed went: its error (None when it went well), the conditional-GET
    validators the feed sent and how many of its items were added."""

    url: str
    error: str | None
    etag: str | None = None
    last_modified: str | None = None
    keep_validators: bool = False  # a partial poll: some items were not taken in
    added: int = 0

    @property
    def replaces_validators(self) -> bool:
        """Whether its validators replace the stored ones: a failed or partial poll keeps what
        it had, so the next poll skips nothing it missed."""
        return self.error is None and not self.keep_validators


@dataclass(frozen=True)
class SeenItem:
    """A feed item already added (by its link and by its content hash)."""

    item_key: str
    content_hash: str
    feed_url: str
    article_id: str


@dataclass(frozen=True)
class AnswerPage:
    """One answer message: the question and the citations it showed, from ``offset``."""

    question: str
    chat_id: int
    user_id: int
    offset: int
    citations: tuple[Citation, ...]


def citation_from_json(fields: dict[str, Any]) -> Citation:
    """A citation stored as JSON (``dataclasses.asdict``) back as itself: JSON has lists
    where the dataclass has tuples."""
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
    return Citation(**values)
