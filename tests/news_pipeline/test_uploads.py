"""Admins add articles from Telegram: ``/add URL`` and documents; everyone else is refused."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.bot_harness import ADMIN, GROUP, LAN, PRIVATE_ADMIN, PRIVATE_LAN, WAIT_S
from tests.fake_site import FakeSite
from tests.newsroom import LOGISTICS, TEA, TOURISM, Newsroom, jsonl, page, sent_to, subscribe

TEA_PAGE_TITLE = "Thái Nguyên và Bắc Kạn hợp tác phát triển vùng chè"


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as running:
        running.put("/bai/che.html", page("thai-nguyen-bac-kan-che.html"))
        yield running


async def test_a_non_admin_add_is_refused_and_nothing_is_fetched(newsroom: Newsroom, site: FakeSite) -> None:
    async with newsroom.running() as bot:
        reply = await bot.ask_private(LAN, PRIVATE_LAN, f"/add {site.url('/bai/che.html')}")

    assert "chỉ dành cho quản trị viên" in reply["text"]
    assert site.requests == []


async def test_an_admin_add_ingests_the_page_reports_it_and_announces_it(newsroom: Newsroom, site: FakeSite) -> None:
    async with newsroom.running() as bot:
        await subscribe(bot, GROUP, LAN)
        result = await bot.ask_private(ADMIN, PRIVATE_ADMIN, f"/add {site.url('/bai/che.html')}")
        notice = await bot.api.next_message(GROUP.id, WAIT_S)
        again = await bot.ask_private(ADMIN, PRIVATE_ADMIN, f"/add {site.url('/bai/che.html')}")
        answer = await bot.ask_private(LAN, PRIVATE_LAN, "Thái Nguyên chuyển giao kỹ thuật gì cho Bắc Kạn?")

    assert f"🆕 mới: {TEA_PAGE_TITLE} (2024-07-11-thai-nguyen-va-bac-kan-hop-tac-phat-trien-vung-che)" in result["text"]
    assert "Tổng: 1 mới, 0 cập nhật, 0 không đổi, 0 lỗi." in result["text"]
    assert TEA_PAGE_TITLE in notice["text"] and "Báo Thái Nguyên, 11/07/2024" in notice["text"]
    assert "➖ không đổi" in again["text"]
    assert "chế biến chè đặc sản" in answer["text"]
    assert len(sent_to(newsroom.api, GROUP.id)) == 2


async def test_an_add_that_cannot_be_fetched_says_why(newsroom: Newsroom, site: FakeSite) -> None:
    async with newsroom.running() as bot:
        missing = await bot.ask_private(ADMIN, PRIVATE_ADMIN, f"/add {site.url('/bai/khong-co.html')}")
        not_a_url = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/add baohaiduong.vn")
        nothing = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/add")

    assert "❌ " in missing["text"] and "Không lấy được bài từ địa chỉ này" in missing["text"]
    assert "HTTP 404" in missing["text"] and "1 lỗi" in missing["text"]
    assert "http:// hoặc https://" in not_a_url["text"]
    assert "/add https://" in nothing["text"]


async def test_an_add_of_a_private_address_gets_the_refusal_and_nothing_is_fetched(
    newsroom: Newsroom, site: FakeSite
) -> None:
    url = site.url("/bai/che.html")
    site.redirect("/cu.html", "http://169.254.169.254/latest/meta-data/")

    async with newsroom.running(fetch_allowed_hosts=[]) as bot:  # 127.0.0.1 no longer allowed
        loopback = await bot.ask_private(ADMIN, PRIVATE_ADMIN, f"/add {url}")
        metadata = await bot.ask_private(ADMIN, PRIVATE_ADMIN, "/add http://169.254.169.254/latest/meta-data/")
    async with newsroom.running() as bot:  # 127.0.0.1 allowed again: it redirects to the metadata endpoint
        redirected = await bot.ask_private(ADMIN, PRIVATE_ADMIN, f"/add {site.url('/cu.html')}")

    assert f"từ chối tải {url}: 127.0.0.1 là địa chỉ loopback" in loopback["text"]
    assert "HOPTAC_FETCH_ALLOWED_HOSTS" in loopback["text"] and "0 mới" in loopback["text"]
    assert "169.254.169.254 là địa chỉ link-local" in metadata["text"]
    assert f"(chuyển hướng từ {site.url('/cu.html')}): 169.254.169.254 là địa chỉ link-local" in redirected["text"]
    assert [path for path, _status, _headers in site.requests] == ["/cu.html"]


async def test_an_admin_upload_is_ingested_with_a_result_per_article(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        await subscribe(bot, GROUP, LAN)
        broken = jsonl(LOGISTICS, TOURISM, {"id": "x", "title": "Thiếu nội dung"})
        bot.api.send_document(PRIVATE_ADMIN, ADMIN, "tin-tuan-nay.jsonl", broken)
        result = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)
        digest = await bot.api.next_message(GROUP.id, WAIT_S)
        bot.api.send_document(PRIVATE_ADMIN, ADMIN, "tin-tuan-nay.jsonl", jsonl(LOGISTICS, TEA))
        second = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)

    text = result["text"]
    assert f"🆕 mới: {LOGISTICS['title']} ({LOGISTICS['id']})" in text
    assert f"🆕 mới: {TOURISM['title']} ({TOURISM['id']})" in text
    assert "❌ tin-tuan-nay.jsonl:3: Bài thiếu trường bắt buộc body. Thêm vào rồi gửi lại." in text
    assert "missing body" not in text
    assert "Tổng: 2 mới, 0 cập nhật, 0 không đổi, 1 lỗi." in text
    assert "/tmp" not in text and "incoming" not in text
    assert digest["text"].startswith("🆕 2 bài mới")
    assert f"➖ không đổi: {LOGISTICS['id']}" in second["text"]
    assert "Tổng: 1 mới, 0 cập nhật, 1 không đổi, 0 lỗi." in second["text"]
    assert len(newsroom.api.calls_to("download")) == 2


async def test_an_upload_over_the_size_limit_is_refused_before_downloading(newsroom: Newsroom) -> None:
    async with newsroom.running(upload_max_bytes=1_000_000) as bot:
        bot.api.send_document(PRIVATE_ADMIN, ADMIN, "ca-nam.jsonl", b"{}", file_size=3_400_000)
        reply = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)

    assert "Tệp nặng 3,4 MB, quá giới hạn 1,0 MB" in reply["text"] and "chia nhỏ" in reply["text"]
    assert newsroom.api.calls_to("getFile") == [] and newsroom.api.calls_to("download") == []


async def test_uploads_of_the_wrong_kind_or_by_non_admins_are_refused(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        bot.api.send_document(PRIVATE_ADMIN, ADMIN, "bao-cao.pdf", b"%PDF-1.7")
        wrong_kind = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)
        bot.api.send_document(PRIVATE_LAN, LAN, "tin.jsonl", jsonl(TEA))
        not_admin = await bot.api.next_message(PRIVATE_LAN.id, WAIT_S)

    assert "Không đọc được loại tệp này" in wrong_kind["text"] and ".jsonl" in wrong_kind["text"]
    assert "Chỉ quản trị viên của bot mới gửi được tệp" in not_admin["text"]
    assert newsroom.api.calls_to("getFile") == []


async def test_an_upload_with_bad_front_matter_says_what_to_fix_in_vietnamese_or_english(newsroom: Newsroom) -> None:
    broken = "---\nid: bai-loi\ntitle: [Hải Dương, Bắc Giang\n---\n\nNội dung bài.\n".encode()
    english_admin = replace(ADMIN, language_code="en")
    async with newsroom.running() as bot:
        bot.api.send_document(PRIVATE_ADMIN, ADMIN, "bai-loi.md", broken)
        vietnamese = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)
        bot.api.send_document(PRIVATE_ADMIN, english_admin, "bai-loi.md", broken)
        english = await bot.api.next_message(PRIVATE_ADMIN.id, WAIT_S)

    text = vietnamese["text"]  # the fake Bot API parsed it with the strict HTML checker
    assert "❌ bai-loi.md: Phần đầu bài (front matter) viết sai cú pháp YAML ở dòng 3." in text
    assert "rồi gửi lại" in text and "(chi tiết: " in text
    assert "bad YAML" not in text and "<unicode string>" not in text
    assert "❌ bai-loi.md: The front matter is not valid YAML at line 3." in english["text"]
    assert "In all: 0 new, 0 updated, 0 unchanged, 1 failed." in english["text"]
    assert "Tổng: 0 mới, 0 cập nhật, 0 không đổi, 1 lỗi." in text
