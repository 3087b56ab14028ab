"""The bot's messages as the terminal shows them: entities read at their UTF-16 offsets."""

from __future__ import annotations

from bot.testing.telegram_html import parse_html
from hoptac.terminal_view import BOLD, RESET, Choice, message_choices, numbered, plain_text, speech


def message(html: str, **extra: object) -> dict[str, object]:
    text, entities = parse_html(html)
    return {"message_id": 7, "chat": {"id": 42}, "text": text, "entities": entities, **extra}


def test_a_link_after_an_emoji_shows_its_address_after_its_text() -> None:
    shown = plain_text(message('🆕 <a href="https://baohaiphong.example/a.html">Hải Phòng</a> và <b>Quảng Ninh</b>'))
    assert shown == "🆕 Hải Phòng <https://baohaiphong.example/a.html> và Quảng Ninh"


def test_bold_is_an_ansi_code_only_when_asked() -> None:
    html = '<b>[1]</b> «<a href="https://x.example/">câu</a>»'
    assert plain_text(message(html), ansi=True) == f"{BOLD}[1]{RESET} «câu <https://x.example/>»"
    assert plain_text(message(html)) == "[1] «câu <https://x.example/>»"


def test_buttons_are_numbered_in_rows_order() -> None:
    markup = {"inline_keyboard": [[{"text": "📄 Nguồn đầy đủ", "callback_data": "src:a"}],
                                  [{"text": "📰 Đọc bài báo", "url": "https://x.example/"}]]}  # fmt: skip
    choices = message_choices(message("x", reply_markup=markup))
    assert choices == [
        Choice("📄 Nguồn đầy đủ", "callback", 42, 7, "src:a"),
        Choice("📰 Đọc bài báo", "url", 42, 7, "https://x.example/"),
    ]
    assert numbered(choices, 3) == "[3] 📄 Nguồn đầy đủ   [4] 📰 Đọc bài báo <https://x.example/>"


def test_speech_indents_the_later_lines() -> None:
    assert speech("Bot", "a\n\nb") == ["Bot:  a", "", "      b"]
    assert speech("Bot → Nhóm thử", "a\nb") == ["Bot → Nhóm thử: a", "      b"]
