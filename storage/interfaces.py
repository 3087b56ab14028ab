"""What the rest of hoptac may ask of the state store, one protocol per kind of state.

Every call is blocking and short; async callers run them in a worker thread
(``asyncio.to_thread``). A backend implements all of them and bundles them as a
:class:`StateStore`: :mod:`storage.sqlite` (the default, one file) and
:mod:`storage.postgres` (``HOPTAC_DATABASE_URL``, shared by several processes).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Literal, Protocol

from storage.records import (
    EVERYTHING,
    AnswerPage,
    FeedbackReason,
    FeedState,
    Notice,
    PendingNotice,
    PollOutcome,
    SeenItem,
    StoredVote,
    Subscription,
    SubscriptionFilter,
    Vote,
)


class SubscriptionStore(Protocol):
    """Which chats hear about new articles, and of which: each subscribed chat holds one or
    more filters (everything, a place, a keyword); it is subscribed while it holds one."""

    def add(
        self, chat_id: int, chat_type: str, title: str, user_id: int | None, what: SubscriptionFilter = EVERYTHING
    ) -> bool:
        """Subscribe ``chat_id`` to ``what``; False if it already held that filter (nothing changes then)."""

    def remove(self, chat_id: int) -> bool:
        """Unsubscribe ``chat_id`` from everything; False if it was not subscribed."""

    def remove_filter(self, chat_id: int, what: SubscriptionFilter) -> bool:
        """Drop one of the chat's filters (with its last one, the chat is unsubscribed); False
        if it did not hold ``what``."""

    def move(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup (Telegram gave it a new id): keep its subscription and filters."""

    def is_subscribed(self, chat_id: int) -> bool: ...

    def filters(self, chat_id: int) -> list[SubscriptionFilter]:
        """The chat's filters, in the order added; [] when it is not subscribed."""

    def audience(self) -> dict[int, list[SubscriptionFilter]]:
        """Every subscribed chat with its filters (a chat subscribed before filters: everything)."""

    def all(self) -> list[Subscription]: ...

    def count(self) -> int: ...


class OutboxStore(Protocol):
    """Which articles were announced, and which notifications are due (exactly once)."""

    def has_baseline(self) -> bool: ...

    def unannounced(self, article_ids: Iterable[str]) -> set[str]:
        """The ids among ``article_ids`` that were never seen before."""

    def record_baseline(self, article_ids: Iterable[str]) -> None:
        """Mark ``article_ids`` as seen, never to be announced."""

    def announce(
        self, notices: Sequence[Notice], now: float | None = None, audience: Mapping[str, Collection[int]] | None = None
    ) -> int:
        """Queue each never-seen article, atomically, for every subscribed chat, or, with
        ``audience`` (article id -> chats whose filters it matches), for those of its chats
        still subscribed; one row per chat and article, ever. Returns the rows made."""

    def due(self, now: float | None = None) -> list[PendingNotice]: ...

    def claim_due(self, now: float | None = None, limit: int = 1000, lease_s: float = 60.0) -> list[PendingNotice]:
        """Like :meth:`due` (at most ``limit`` rows), but each row returned is hidden from every
        other claimer for ``lease_s`` seconds, so several senders never send the same one;
        settle each with ``mark_sent``/``mark_failed``/``defer`` (a row left unsettled is due
        again when its lease ends)."""

    def release(self, chat_id: int, article_ids: Sequence[str]) -> None:
        """Give claimed rows back unsent (the sender is stopping): due again at once."""

    def mark_sent(self, chat_id: int, article_ids: Sequence[str]) -> None: ...

    def mark_failed(self, chat_id: int, article_ids: Sequence[str], error: str) -> None: ...

    def defer(self, chat_id: int, article_ids: Sequence[str], delay_s: float, error: str) -> None: ...

    def drop_chat(self, chat_id: int, reason: str) -> int: ...

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None: ...

    def pending_count(self) -> int: ...

    def rows(self, chat_id: int | None = None) -> list[dict[str, object]]: ...


class FeedbackStore(Protocol):
    """👍/👎 on answers, one per (answer, user), a 👎 with its reason when one was given."""

    def record(self, vote: Vote) -> None:
        """Keep ``vote``; it replaces the same user's earlier vote on the same answer."""

    def votes(self) -> list[dict[str, object]]:
        """Every stored row, oldest first, as columns (for the import's comparisons)."""

    def recent(self, limit: int | None = None, *, dislikes_only: bool = False) -> list[StoredVote]:
        """The ``limit`` latest votes (None: all), newest first; only the 👎 when ``dislikes_only``."""

    def dislikes_by_reason(self) -> dict[FeedbackReason | None, int]:
        """How many 👎 gave each reason (None: no reason given); every reason is a key."""


class FeedStateStore(Protocol):
    """Conditional-GET validators, each feed's last poll, and the items already added."""

    def validators(self, url: str) -> tuple[str | None, str | None]: ...

    def record_poll(self, poll: PollOutcome) -> None:
        """Store one poll's outcome; its validators only when it
        :attr:`~storage.records.PollOutcome.replaces_validators`."""

    def seen_keys(self, keys: Iterable[str]) -> set[str]: ...

    def seen_hashes(self, hashes: Iterable[str]) -> set[str]: ...

    def remember(self, items: Sequence[SeenItem]) -> None: ...

    def states(self, urls: Sequence[str]) -> list[FeedState]: ...


class AnswerPageStore(Protocol):
    """What the inline buttons under an answer need, under a short id."""

    def add(self, page: AnswerPage) -> str:
        """Keep ``page``; returns its new id (8 URL-safe characters)."""

    def get(self, page_id: str) -> AnswerPage | None:
        """The page, or None when it is unknown or was dropped as too old."""

    def clear(self) -> None: ...

    def __len__(self) -> int: ...


#: What :meth:`UpdateLog.claim` found.
UpdateClaim = Literal["ours", "answered", "busy"]


class UpdateLog(Protocol):
    """The Telegram updates already taken by some replica: each is answered once."""

    def first_time(self, update_id: int, replica: str) -> bool:
        """Record ``update_id`` as taken (and answered) by ``replica``; False when some replica
        took it before. For long polling, where an update is never delivered twice unless a
        replica fetched it twice."""

    def claim(self, update_id: int, holder: str) -> UpdateClaim:
        """Take ``update_id`` to answer it (webhook mode), for the lease holder ``holder``:
        ``"ours"`` when it is new, or was claimed and never answered by a holder whose
        presence lease (:func:`storage.leases.presence_lease`) has lapsed (it died);
        ``"answered"`` when some replica answered it; ``"busy"`` when a live holder (this one
        included) is answering it: tell Telegram to deliver it again later."""

    def answered(self, update_id: int) -> None:
        """Record that the update this replica claimed has been answered."""

    def prune(self, older_than_s: float) -> int:
        """Forget updates taken more than ``older_than_s`` seconds ago; returns how many."""


class Leases(Protocol):
    """Named leases, each held by one holder at a time: the singletons of several replicas.

    A lease lasts ``ttl_s`` seconds from its last renewal; the holder renews it well before
    then, and when the holder dies it lapses and another takes it.
    """

    holder: str

    def hold(self, name: str) -> bool:
        """Take ``name`` (free or lapsed) or renew it (already ours); True when we hold it now."""

    def release(self, name: str) -> None:
        """Give ``name`` up at once (a clean shutdown), if we hold it."""

    def holder_of(self, name: str) -> str | None:
        """Who holds ``name`` now; None when nobody does."""


class StateStore(Protocol):
    """All the bot's state, from one backend."""

    @property
    def subscriptions(self) -> SubscriptionStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def feeds(self) -> FeedStateStore: ...

    @property
    def answer_pages(self) -> AnswerPageStore: ...

    @property
    def updates(self) -> UpdateLog: ...

    def leases(self, holder: str, ttl_s: float) -> Leases:
        """Leases held as ``holder`` (unique per process), lasting ``ttl_s`` seconds unless renewed."""

    def ping(self, timeout_s: float) -> None:
        """Return once the store answers a trivial query; raise ``StateStoreError`` when it
        does not within about ``timeout_s`` (for a health check)."""

    def close(self) -> None: ...
