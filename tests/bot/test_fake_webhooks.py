"""The fake Bot API server playing Telegram for webhooks, and the round-robin load balancer
in front of several replicas: real loopback HTTP both ways, no bot needed."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bot.testing.fake_bot_api import SECRET_HEADER, FakeBotApi, FakeChat, FakeUser
from bot.testing.load_balancer import LoadBalancer
from tests.bot_harness import TOKEN, WAIT_S

LAN, BINH = FakeUser(1001, "Lan"), FakeUser(1002, "Bình")
CHAT_LAN, CHAT_BINH = FakeChat(LAN.id, "private"), FakeChat(BINH.id, "private")


class Upstream:
    """A webhook receiver on loopback: for an update id in ``statuses``, the statuses given in
    turn (then 200); 200 for the others."""

    def __init__(self, statuses: dict[int, list[int]] | None = None) -> None:
        self.statuses = {k: list(v) for k, v in (statuses or {}).items()}
        self.received: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await FakeBotApi._read_request(reader)
        if request is not None:
            _target, headers, body = request
            update = json.loads(body)
            self.received.append((update, headers))
            planned = self.statuses.get(update["update_id"])
            status = planned.pop(0) if planned else 200
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def update_ids(self) -> list[int]:
        return [update["update_id"] for update, _ in self.received]


@asynccontextmanager
async def upstreams(*statuses: dict[int, list[int]]) -> AsyncIterator[list[Upstream]]:
    servers = [Upstream(s) for s in statuses]
    for server in servers:
        server.server = await asyncio.start_server(server._serve, "127.0.0.1", 0)
    try:
        yield servers
    finally:
        for server in servers:
            assert server.server is not None
            server.server.close()


async def call(api: FakeBotApi, method: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=WAIT_S) as client:
        return await client.post(f"{api.url}/bot{TOKEN}/{method}", json=params)


async def test_updates_are_posted_to_the_webhook_one_per_chat_and_redelivered_until_2xx() -> None:
    async with FakeBotApi(TOKEN) as api, upstreams({1: [500, 503]}) as (replica,):
        api.route_webhook("hoptac.test", replica.port)
        first = api.send_text(CHAT_LAN, LAN, "một")
        first_id = api.last_update_id
        api.send_text(CHAT_LAN, LAN, "hai")
        second_id = api.last_update_id
        api.send_text(CHAT_BINH, BINH, "ba")
        assert (await call(api, "setWebhook", url="https://hoptac.test/hook", secret_token="s3cret")).status_code == 200
        polled = await call(api, "getUpdates")
        assert polled.status_code == 409  # as Telegram: no getUpdates while a webhook is set

        await api.delivered(second_id, WAIT_S)
        await api.delivered(api.last_update_id, WAIT_S)
        lan = [i for i in replica.update_ids() if i in (first_id, second_id)]
        # The first answers were 500 and 503: Lan's first update was delivered three times,
        # and her second only after it (one update of a chat at a time).
        assert lan == [first_id, first_id, first_id, second_id]
        assert {headers["x-telegram-bot-api-secret-token"] for _, headers in replica.received} == {"s3cret"}
        assert replica.received[0][0] == {"update_id": first_id, "message": first}
        assert [d.status for d in api.deliveries if d.update_id == first_id] == [500, 503, 200]
        assert api.pending_updates == 0
        info = (await call(api, "getWebhookInfo")).json()["result"]
        assert info["url"] == "https://hoptac.test/hook" and info["pending_update_count"] == 0

        assert (await call(api, "deleteWebhook")).status_code == 200
        api.send_text(CHAT_LAN, LAN, "bốn")
        polled = await call(api, "getUpdates")
        assert [u["update_id"] for u in polled.json()["result"]] == [api.last_update_id]
        assert SECRET_HEADER == "X-Telegram-Bot-Api-Secret-Token"


def dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: connections are refused


async def test_the_load_balancer_takes_turns_and_passes_over_a_dead_replica() -> None:
    async with FakeBotApi(TOKEN) as api, upstreams({}, {2: [502], 3: [502], 4: [502], 5: [502]}) as (one, two):
        async with LoadBalancer([one.port, dead_port(), two.port]) as balancer:
            api.route_webhook("hoptac.test", balancer.port)
            await call(api, "setWebhook", url="https://hoptac.test/hook")
            users = [FakeUser(2000 + n, f"U{n}") for n in range(6)]
            for user in users:
                api.send_text(FakeChat(user.id, "private"), user, "câu hỏi")
            for update_id in range(1, len(users) + 1):
                await api.delivered(update_id, WAIT_S)
        # Every update reached a live replica; two's 502 was delivered again; none went to the dead port.
        assert sorted(set(one.update_ids()) | set(two.update_ids())) == list(range(1, len(users) + 1))
        assert one.update_ids() and two.update_ids()
        assert {r.upstream for r in balancer.routed} == {one.port, two.port}
        assert [r.status for r in balancer.routed].count(502) >= 1
