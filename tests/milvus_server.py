"""A real Milvus for the tests: ``milvus-lite server`` (Milvus Lite served over gRPC), started
once on a free loopback port, so several processes share one instance as they would a
Milvus server (a local ``*.db`` path opens Milvus Lite inside one process only).

    server = start_server(folder)          # MilvusServerUnavailable if it cannot start in time
    server.uri                             # "http://127.0.0.1:PORT"
    stop_server(server)
    server = start_server(folder, port=server.port)   # the same data, at the same address
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 60.0
POLL_S = 0.2


class MilvusServerUnavailable(Exception):
    """Milvus Lite could not be served here."""


@dataclass
class MilvusServer:
    process: subprocess.Popen[bytes]
    uri: str
    log: Path
    port: int


def _command() -> list[str]:
    """``milvus-lite`` beside this Python (the venv's), else on the PATH."""
    beside = Path(sys.executable).with_name("milvus-lite")
    found = str(beside) if beside.is_file() else shutil.which("milvus-lite")
    if found is None:
        raise MilvusServerUnavailable("the milvus-lite command is not installed (pip install milvus-lite)")
    return [found]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(uri: str) -> bool:
    from pymilvus import MilvusClient

    try:
        client = MilvusClient(uri=uri, timeout=2)
    except Exception:
        return False
    try:
        client.list_collections()
        return True
    except Exception:
        return False
    finally:
        client.close()


def start_server(folder: Path, timeout_s: float = START_TIMEOUT_S, port: int | None = None) -> MilvusServer:
    """Serve Milvus Lite with its data in ``folder``, answering within ``timeout_s``, on
    ``port`` (default: a free one)."""
    command = _command()
    port = port or _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "milvus-lite.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "server", "--data-dir", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    server = MilvusServer(process, f"http://127.0.0.1:{port}", log, port)
    deadline = time.monotonic() + timeout_s
    while not _answers(server.uri):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            tail = log.read_text("utf-8", "replace")[-300:].strip()
            why = f"exited with {process.returncode}" if process.returncode is not None else "did not answer"
            raise MilvusServerUnavailable(f"milvus-lite server {why} within {timeout_s:.0f} s: {tail}")
        time.sleep(POLL_S)
    return server


def stop_server(server: MilvusServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
