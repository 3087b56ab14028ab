"""Where the bot's state lives: subscriptions, the notification outbox, feedback, feed
state and the answer pages behind inline buttons.

The domain code asks for what it needs through the protocols of
:mod:`storage.interfaces`, in the words of :mod:`storage.records`; each backend is a
package of its own, chosen once from the settings by ``hoptac.wiring.open_state_store``:
:mod:`storage.sqlite` (the default, one file) or :mod:`storage.postgres`
(``HOPTAC_DATABASE_URL``; its schema made by ``hoptac db upgrade``). Errors a person can
fix are :mod:`storage.errors`. The articles themselves and the search index are the
engine's (:mod:`retrieval`), not state.
"""
