"""Notifications: which chats are subscribed, the exactly-once outbox, and the digests
that announce newly indexed articles. Finished messages go out through the small
:class:`notifications.sending.Sender` interface; nothing here imports python-telegram-bot.
"""
