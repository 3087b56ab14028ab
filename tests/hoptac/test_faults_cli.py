"""`hoptac ingest` as a user runs it, meeting a file-size limit and kill -9 (the real model,
marked ``model``): one clear line, the old index serving, and the next ingest's report right.
The in-process faults are in tests/retrieval/local/test_faults.py."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hoptac.cli import main
from tests.conftest import CORPUS, REPO

pytestmark = pytest.mark.model

#: Loading the model is most of a run (about 7 s here); this only bounds a hang.
RUN_WAIT_S = 180.0
#: Lets the small files through (an article file, the manifest) and stops the vectors.
FILE_SIZE_LIMIT = 16_384
TEA_BODY = " ".join(
    f"Thái Nguyên và Bắc Kạn hợp tác phát triển vùng chè đặc sản số {i}, diện tích {i * 10} ha." for i in range(80)
)
TEA = {"id": "tn-2024-03", "title": "Thái Nguyên và Bắc Kạn liên kết vùng chè", "source": "Báo Thái Nguyên",
       "published": "2024-03-11T09:15:00+07:00", "body": TEA_BODY}  # fmt: skip


@pytest.fixture
def dirs(tmp_path: Path, model_dir: Path) -> list[str]:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(CORPUS, corpus)
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    return ["--corpus-dir", str(corpus), "--data-dir", str(data)]


#: Sets a file-size limit, then becomes ``hoptac``: the limit is set in the child itself, not
#: by a ``preexec_fn`` (unsafe in a parent with threads: gRPC's, left by the Milvus tests,
#: aborted a child between fork and exec under load).
_LIMITED = (
    "import os, resource, signal, sys\n"
    "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing it\n"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY))\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'hoptac.cli', *sys.argv[2:]])\n"
)


def _hoptac(dirs: list[str], *args: str, env: dict[str, str] | None = None, file_size_limit: int = 0):  # type: ignore[no-untyped-def]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOPTAC_")}
    launcher = ["-c", _LIMITED, str(file_size_limit)] if file_size_limit else ["-m", "hoptac.cli"]
    return subprocess.run(
        [sys.executable, *launcher, *dirs, *args],
        cwd=REPO,
        env={**clean, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=RUN_WAIT_S,
    )


def _folder(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_hoptac_ingest_under_a_file_size_limit_and_killed_leaves_everything_agreeing(
    dirs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, data = Path(dirs[1]), Path(dirs[3])
    assert main([*dirs, "reindex"]) == 0
    current = (data / "index" / "CURRENT").read_text()
    versions, folder = sorted((data / "index" / "versions").iterdir()), _folder(corpus)
    new = tmp_path / "tea.jsonl"
    new.write_text(json.dumps(TEA, ensure_ascii=False) + "\n", "utf-8")

    limited = _hoptac(dirs, "ingest", str(new), file_size_limit=FILE_SIZE_LIMIT)

    assert limited.returncode == 1, limited.stderr
    assert "Traceback" not in limited.stderr
    versions_folder = data / "index" / "versions"
    assert limited.stderr.splitlines()[-1].startswith(
        f"hoptac: error: cannot write the new index into {versions_folder} (no space left or a file-size limit"
    )
    assert (data / "index" / "CURRENT").read_text() == current
    assert sorted((data / "index" / "versions").iterdir()) == versions
    assert _folder(corpus) == folder

    killed = _hoptac(dirs, "ingest", str(new), env={"HOPTAC_TEST_KILL_AT": "after-corpus-write"})

    assert killed.returncode == -signal.SIGKILL
    assert (data / "index" / "CURRENT").read_text() == current
    capsys.readouterr()
    assert main([*dirs, "ingest", str(new)]) == 0  # the file left behind: still new, once
    assert capsys.readouterr().out.strip() == "1 new, 0 updated, 0 unchanged, 0 failed"
    assert main([*dirs, "ingest", str(new)]) == 0
    assert capsys.readouterr().out.strip() == "0 new, 0 updated, 1 unchanged, 0 failed"
    assert main([*dirs, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["articles"], status["integrity"]) == (2, "verified")
    assert main([*dirs, "ask", "Vùng chè số 7 rộng bao nhiêu ha?"]) == 0
    assert "Thái Nguyên và Bắc Kạn" in capsys.readouterr().out
