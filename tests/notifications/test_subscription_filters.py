"""Subscriptions by place and topic, through the fake Bot API: ``/subscribe Hải Phòng`` hears
of Hải Dương articles (the 2025 map) and not of Ninh Bình ones, a keyword hears of what
holds it, and a chat that two filters match gets the article once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.testing.fake_bot_api import FakeChat, FakeUser
from retrieval.models import Article
from tests.bot_harness import ADMIN, BINH, GROUP, LAN, PRIVATE_BINH, PRIVATE_LAN, WAIT_S, BotHarness
from tests.newsroom import sent_to

VIETNAM = timezone(timedelta(hours=7))

HAI_DUONG = Article(
    id="2024-09-12-hai-duong-khu-cong-nghiep",
    title="Hải Dương thu hút thêm 5 dự án vào khu công nghiệp",
    published=datetime(2024, 9, 12, 9, 0, tzinfo=VIETNAM),
    source="Báo Hải Dương",
    text=(
        "Trong tháng 9, tỉnh Hải Dương cấp mới giấy chứng nhận đầu tư cho 5 dự án tại các khu công nghiệp "
        "với tổng vốn 120 triệu USD.\n\n"
        "Các dự án tập trung ở TP Chí Linh và huyện Kim Thành."
    ),
    url="https://baohaiduong.example/thu-hut-dau-tu.html",
)
NINH_BINH = Article(
    id="2024-09-20-ninh-binh-nam-dinh-du-lich",
    title="Ninh Bình và Nam Định liên kết phát triển du lịch",
    published=datetime(2024, 9, 20, 15, 0, tzinfo=VIETNAM),
    source="Báo Ninh Bình",
    text=(
        "Chiều 20.9, Sở Du lịch tỉnh Ninh Bình và Sở Du lịch tỉnh Nam Định ký kết chương trình liên kết "
        "phát triển du lịch giai đoạn 2024-2030.\n\n"
        "Hai tỉnh sẽ xây dựng tour kết nối Tràng An với bãi biển Thịnh Long."
    ),
)
CON_SON = Article(
    id="2024-10-02-hai-duong-con-son-du-lich",
    title="Côn Sơn - Kiếp Bạc đón khách du lịch mùa lễ hội",
    published=datetime(2024, 10, 2, 8, 0, tzinfo=VIETNAM),
    source="Báo Hải Dương",
    text="Khu di tích Côn Sơn - Kiếp Bạc ở TP Chí Linh, tỉnh Hải Dương đón hơn 20 nghìn lượt khách du lịch.",
)


async def say(bot: BotHarness, chat: FakeChat, user: FakeUser, text: str) -> str:
    bot.api.send_text(chat, user, text)
    return str((await bot.api.next_message(chat.id, WAIT_S))["text"])


async def index_and_notify(bot: BotHarness, *articles: Article) -> None:
    """New articles are indexed (a new index version); the bot queues and sends what is due."""
    bot.engine.catalogue = [*bot.engine.catalogue, *articles]
    bot.engine.generation += 1
    await bot.deps.notifier.check_index()
    await bot.deps.notifier.deliver(bot.application.bot)


def notifications(bot: BotHarness, chat: FakeChat) -> list[str]:
    return [text for text in sent_to(bot.api, chat.id) if "bài mới trong kho tin" in text.lower()]


async def test_a_subscription_to_hai_phong_hears_of_hai_duong_and_not_of_ninh_binh(bot: BotHarness) -> None:
    reply = await say(bot, PRIVATE_LAN, LAN, "/subscribe hai phong")  # diacritics left out
    await say(bot, PRIVATE_BINH, BINH, "/subscribe")  # everything, as before filters

    await index_and_notify(bot, HAI_DUONG, NINH_BINH)

    assert "sẽ nhận tin khi có bài mới về TP Hải Phòng (gồm cả tỉnh Hải Dương cũ)" in reply
    [notice] = notifications(bot, PRIVATE_LAN)
    assert HAI_DUONG.title in notice and NINH_BINH.title not in notice
    [digest] = notifications(bot, PRIVATE_BINH)
    assert HAI_DUONG.title in digest and NINH_BINH.title in digest


async def test_an_old_province_name_subscribes_to_its_2025_successor(bot: BotHarness) -> None:
    reply = await say(bot, PRIVATE_LAN, LAN, "/subscribe Hải Dương")

    assert "Tỉnh Hải Dương nay thuộc TP Hải Phòng" in reply
    assert [f.value for f in bot.deps.subscriptions.filters(PRIVATE_LAN.id)] == ["Hải Phòng"]


async def test_a_keyword_subscription_hears_of_the_articles_holding_it(bot: BotHarness) -> None:
    reply = await say(bot, PRIVATE_LAN, LAN, "/subscribe du lịch")
    await say(bot, PRIVATE_BINH, BINH, "/subscribe du lich")  # typed without diacritics

    await index_and_notify(bot, HAI_DUONG, NINH_BINH)

    assert "sẽ nhận tin khi có bài mới về chủ đề “du lịch”" in reply
    for chat in (PRIVATE_LAN, PRIVATE_BINH):
        [notice] = notifications(bot, chat)
        assert NINH_BINH.title in notice and HAI_DUONG.title not in notice


async def test_an_article_two_filters_match_is_announced_once(bot: BotHarness) -> None:
    await say(bot, PRIVATE_LAN, LAN, "/subscribe Hải Phòng")
    await say(bot, PRIVATE_LAN, LAN, "/subscribe du lịch")

    await index_and_notify(bot, CON_SON)  # about Hải Dương, and about tourism
    await bot.deps.notifier.deliver(bot.application.bot)

    [notice] = notifications(bot, PRIVATE_LAN)
    assert CON_SON.title in notice
    assert [(r["article_id"], r["status"]) for r in bot.deps.outbox.rows(PRIVATE_LAN.id)] == [(CON_SON.id, "sent")]


async def test_subscriptions_are_listed_and_removed_one_by_one_or_all_at_once(bot: BotHarness) -> None:
    bot.api.chat_admins.add((GROUP.id, LAN.id))
    for argument in ("Hải Phòng", "du lịch", ""):
        await say(bot, GROUP, LAN, f"/subscribe {argument}".strip())
    again = await say(bot, GROUP, LAN, "/subscribe hai phong")

    listed = await say(bot, GROUP, BINH, "/subscriptions")  # anyone may look
    refused = await say(bot, GROUP, BINH, "/unsubscribe du lịch")
    removed = await say(bot, GROUP, LAN, "/unsubscribe du lịch")
    after_one = await say(bot, GROUP, LAN, "/subscriptions")
    not_held = await say(bot, GROUP, LAN, "/unsubscribe du lịch")
    everything = await say(bot, GROUP, ADMIN, "/unsubscribe tất cả")
    none = await say(bot, GROUP, LAN, "/subscriptions")

    assert "đã đăng ký nhận tin về TP Hải Phòng (gồm cả tỉnh Hải Dương cũ) rồi" in again
    assert listed.splitlines()[:4] == [
        "🔔 Nhóm này nhận thông báo khi có bài mới về:",
        "• TP Hải Phòng (gồm cả tỉnh Hải Dương cũ) (bỏ: /unsubscribe Hải Phòng)",
        "• chủ đề “du lịch” (bỏ: /unsubscribe du lịch)",
        "• mọi bài mới (bỏ: /unsubscribe mọi bài)",
    ]
    assert "Chỉ quản trị viên của nhóm" in refused
    assert "Đã bỏ đăng ký chủ đề “du lịch”" in removed
    assert "du lịch" not in after_one and "TP Hải Phòng" in after_one and "mọi bài mới" in after_one
    assert "chưa đăng ký nhận tin về chủ đề “du lịch”" in not_held
    assert "Đã tắt thông báo bài mới" in everything
    assert "chưa đăng ký nhận thông báo" in none
    assert not bot.deps.subscriptions.is_subscribed(GROUP.id)


async def test_removing_the_last_filter_ends_the_subscription(bot: BotHarness) -> None:
    await say(bot, PRIVATE_LAN, LAN, "/subscribe Ninh Bình")
    reply = await say(bot, PRIVATE_LAN, LAN, "/unsubscribe ninh binh")

    assert "không còn nhận thông báo bài mới" in reply
    assert not bot.deps.subscriptions.is_subscribed(PRIVATE_LAN.id)

    await index_and_notify(bot, NINH_BINH)
    assert notifications(bot, PRIVATE_LAN) == []
