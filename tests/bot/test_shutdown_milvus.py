"""SIGTERM to a replica on the cluster's search engine (Milvus) while Milvus is out of reach
and a question is in flight (issue 23): the process is gone within ``HOPTAC_SHUTDOWN_SECONDS``
(and a small margin), and the user got a reply, the one-line "try again" message.

The replica is a real ``hoptac bot`` process (:mod:`tests.bot.hashing_bot`: the hashing
embedder instead of the model), long-polling the fake Bot API server of the test, over a
milvus-lite server of the test's own. Milvus is either stopped (connections refused) or
silent: its port accepts connections that nothing ever answers, so every call waits for
its timeout (10 s, longer than the stop may take). Waits are on events: the replica's log
lines, calls reaching the fake server.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from bot.testing.fake_bot_api import FakeBotApi, FakeChat, FakeUser
from markup.catalogue import SOMETHING_WENT_WRONG
from tests.conftest import CORPUS, REPO
from tests.milvus_server import MilvusServerUnavailable, start_server, stop_server

pytest.importorskip("milvus_lite")

TOKEN = "123456789:AAHk3Jx9Qm2Vt7Lr5Np8Ws4Yb6Zc1Df0Ge"
SHUTDOWN_S = 2.0
MARGIN_S = 2.0  # the interpreter exiting, the process being scheduled on two busy cores
WAIT_S = 60.0
LAN = FakeUser(1001, "Lan")
CHAT = FakeChat(LAN.id, "private", first_name=LAN.first_name)
QUESTION = "Hải Dương và Bắc Giang hợp tác trong những lĩnh vực nào?"
SECOND = "Hai tỉnh ký kết chương trình hợp tác khi nào?"


async def _logged(process: asyncio.subprocess.Process, lines: list[str], pattern: str) -> None:
    """Until the replica logs a line matching ``pattern`` (its lines kept in ``lines``)."""
    assert process.stderr is not None
    async for raw in process.stderr:
        lines.append(raw.decode("utf-8", "replace"))
        if re.search(pattern, lines[-1]):
            return
    raise AssertionError(f"the replica ended without logging {pattern!r}:\n{''.join(lines[-20:])}")


@pytest.mark.parametrize("milvus", ["stopped", "silent"])
async def test_sigterm_with_milvus_out_of_reach_exits_within_the_shutdown_time(tmp_path: Path, milvus: str) -> None:
    try:
        server = start_server(tmp_path / "milvus")
    except MilvusServerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no Milvus server for the tests in CI: {exc}")
        pytest.skip(f"no Milvus server for the tests: {exc}")
    shutil.copytree(CORPUS, tmp_path / "corpus")
    lines: list[str] = []
    with socket.socket() as black_hole:
        try:
            async with FakeBotApi(TOKEN) as api:
                env = {
                    "PATH": os.environ.get("PATH", ""),
                    "PYTHONPATH": str(REPO),
                    "HOME": str(tmp_path),
                    "HOPTAC_CORPUS_DIR": str(tmp_path / "corpus"),
                    "HOPTAC_DATA_DIR": str(tmp_path / "data"),
                    "HOPTAC_SEARCH_URL": server.uri,
                    "HOPTAC_SEARCH_COLLECTION_PREFIX": "shutdown",
                    "HOPTAC_TELEGRAM_TOKEN": TOKEN,
                    "HOPTAC_TELEGRAM_API_URL": api.url,
                    "HOPTAC_SHUTDOWN_SECONDS": str(SHUTDOWN_S),
                    "HOPTAC_CORPUS_WATCH_SECONDS": "0",
                    "HOPTAC_ANSWER_SELECTOR": "off",
                }
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "tests.bot.hashing_bot", env=env, cwd=tmp_path,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                try:
                    await asyncio.wait_for(_logged(process, lines, r"Bot @\w+ is up"), WAIT_S)
                    api.send_text(CHAT, LAN, QUESTION)  # answered while Milvus is there
                    assert QUESTION in (await api.next_message(CHAT.id, WAIT_S))["text"]

                    stop_server(server)
                    if milvus == "silent":  # connections accepted by the kernel, never answered
                        black_hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                        black_hole.bind(("127.0.0.1", server.port))
                        black_hole.listen(64)
                    # SIGTERM once the replica has the question: "typing…" (it took half a second, in
                    # flight) or, Milvus refusing at once, the reply.
                    seen = len(api.calls_to("sendChatAction", CHAT.id)) + len(api.calls_to("sendMessage", CHAT.id))
                    api.send_text(CHAT, LAN, SECOND)
                    await api._wait_until(
                        lambda: (
                            len(api.calls_to("sendChatAction", CHAT.id)) + len(api.calls_to("sendMessage", CHAT.id))
                            > seen
                            or None
                        ),
                        WAIT_S,
                    )
                    signalled = time.monotonic()
                    process.send_signal(signal.SIGTERM)
                    drain = asyncio.ensure_future(_logged(process, lines, r"$^"))
                    await asyncio.wait_for(process.wait(), SHUTDOWN_S + MARGIN_S + 10)
                    took = time.monotonic() - signalled
                    drain.cancel()
                finally:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
                replies = [call.result or {} for call in api.calls_to("sendMessage") if call.chat_id == CHAT.id]
        finally:
            if server.process.poll() is None:
                stop_server(server)
    log = "".join(lines)
    assert took < SHUTDOWN_S + MARGIN_S, f"stopped {took:.1f} s after SIGTERM:\n{log[-3000:]}"
    assert len(replies) == 2, log[-3000:]
    assert replies[1]["text"] == SOMETHING_WENT_WRONG.say(), replies[1]
    print(f"\nSIGTERM with Milvus {milvus}: stopped in {took:.1f} s")
