"""Telegram HTML markup: escaping, links, dates, and splitting under the message limit."""
