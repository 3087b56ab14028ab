"""Singletons across replicas: which of them polls the feeds, watches the folder, sends the outbox.

    singletons = Singletons(state.leases(holder_name(), ttl_s=20), ["outbox-sender", "feed-poll"])
    singletons.renew()                       # every ttl_s / 3 (blocking: run it in a thread)
    if singletons.holds("feed-poll"): ...    # a job runs only where this is True
    singletons.release_all()                 # on a clean shutdown: another replica takes over at once

A lease held by a replica that died lapses ``ttl_s`` seconds after its last renewal, and
the next renewal of another replica takes it: with the defaults (20 s, renewed every
~7 s) a singleton moves within 30 s. A replica counts a lease as its own only until
``ttl_s`` after the renewal *began* (its own clock, monotonic), so it stops before another
can have taken it, as long as the clocks run at the same speed. The embedded (SQLite)
deployment is one process: :class:`AlwaysHeld`.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable

from storage.interfaces import Leases

_LOGGER = logging.getLogger(__name__)

#: The singletons of a bot replica, by lease name.
OUTBOX_SENDER = "outbox-sender"
FEED_POLL = "feed-poll"
CORPUS_WATCH = "corpus-watch"
TELEGRAM_POLLING = "telegram-polling"  # long polling (no webhook): one getUpdates client at a time
#: Every replica also holds a lease of its own, ``replica:<holder>``, renewed with its
#: singletons: while it is held the replica is alive (an update it claimed is its to answer).
PRESENCE_PREFIX = "replica:"


def presence_lease(holder: str) -> str:
    return f"{PRESENCE_PREFIX}{holder}"


def default_replica_name() -> str:
    return socket.gethostname() or "hoptac"


def holder_name(replica: str) -> str:
    """``replica`` made unique to this process: two processes with one name never share a lease."""
    return f"{replica}/{os.getpid()}-{secrets.token_hex(3)}"


class AlwaysHeld:
    """:class:`storage.interfaces.Leases` for one process alone (SQLite): every lease is ours."""

    def __init__(self, holder: str) -> None:
        self.holder = holder

    def hold(self, name: str) -> bool:
        return True

    def release(self, name: str) -> None:
        return None

    def holder_of(self, name: str) -> str | None:
        return self.holder


class Singletons:
    """The leases one replica wants, renewed together; thread-safe."""

    def __init__(self, leases: Leases, names: Iterable[str], ttl_s: float) -> None:
        self.leases = leases
        self.names = tuple(dict.fromkeys(names))
        self.presence = presence_lease(leases.holder)
        self.ttl_s = ttl_s
        self._until: dict[str, float] = {}  # name -> monotonic moment it stops being ours
        self._lock = threading.Lock()
        #: Called as ``on_change(name, ours)`` when a lease is taken or lost, in the renewing thread.
        self.on_change: Callable[[str, bool], None] | None = None

    @property
    def renew_every_s(self) -> float:
        return self.ttl_s / 3

    def renew(self) -> dict[str, bool]:
        """Take or renew every lease (and this replica's presence); which singletons are held
        now. A database error counts as not held."""
        try:
            self.leases.hold(self.presence)
        except Exception as exc:
            _LOGGER.warning("Cannot renew this replica's presence: %s", exc)
        held: dict[str, bool] = {}
        for name in self.names:
            began = time.monotonic()
            try:
                ours = self.leases.hold(name)
            except Exception as exc:
                _LOGGER.warning("Cannot renew the %s lease: %s", name, exc)
                ours = False
            with self._lock:
                was = self._until.get(name, 0.0) > began
                if ours:
                    self._until[name] = began + self.ttl_s
                else:
                    self._until.pop(name, None)
            if ours != was:
                _LOGGER.info("%s the %s singleton", "Took" if ours else "Lost", name)
                if self.on_change is not None:
                    self.on_change(name, ours)
            held[name] = ours
        return held

    def holds(self, name: str) -> bool:
        with self._lock:
            return self._until.get(name, 0.0) > time.monotonic()

    def held(self) -> dict[str, bool]:
        return {name: self.holds(name) for name in self.names}

    def release_all(self) -> None:
        for name in self.names:
            with self._lock:
                ours = self._until.pop(name, None) is not None
            if ours:
                try:
                    self.leases.release(name)
                except Exception as exc:  # it lapses by itself
                    _LOGGER.warning("Cannot release the %s lease: %s", name, exc)
        try:  # the updates it claimed and did not answer go to another replica at once
            self.leases.release(self.presence)
        except Exception as exc:
            _LOGGER.warning("Cannot release this replica's presence: %s", exc)
