"""The soak mode of ``hoptac loadtest`` (:mod:`measure.soak`), a few seconds long: a real
replica process (``tests.bot.hashing_bot``: the hashing embedder instead of the model) on a
real PostgreSQL, questions at a steady rate, per window the counts, latencies and memory,
the JSON and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

import measure.replica_loadtest
from hoptac.cli import main
from hoptac.settings import Settings
from measure.soak import format_soak, plot_soak, run_soak
from storage.postgres import upgrade
from tests.conftest import REPO


def test_a_short_soak_answers_every_question_and_records_each_window(
    settings: Settings, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(postgres_url)
    monkeypatch.setattr(measure.replica_loadtest, "REPLICA_ARGS", ("tests.bot.hashing_bot",))
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("HOPTAC_ANSWER_SELECTOR", "off")
    settings = settings.model_copy(update={"database_url": SecretStr(postgres_url)})
    seen = []

    result = run_soak(settings, replicas=1, minutes=6 / 60, rate=3.0, window_s=2.0, progress=seen.append)

    assert len(result.windows) == 3 and len(seen) == 3
    assert result.asked == sum(w.asked for w in result.windows) >= 15
    assert result.answered == result.asked and result.failed == result.lost == 0
    assert all(w.asked and w.p95_ms >= w.p50_ms > 0 for w in result.windows)
    assert all(len(w.rss_mb) == 1 and w.rss_mb[0] > 10 for w in result.windows)
    assert result.rss_growth_mb == (result.windows[-1].rss_mb[0] - result.windows[0].rss_mb[0],)
    assert result.error_lines == (0,)
    data = json.loads(json.dumps(result.to_json()))
    assert data["answered"] == result.answered and len(data["windows"]) == 3
    assert "rss_growth_mb" in data
    assert len(format_soak(result).splitlines()) == 1 + 3 + 1
    plot_soak(result, tmp_path / "plots" / "soak.png")
    assert (tmp_path / "plots" / "soak.png").read_bytes()[:4] == b"\x89PNG"


def test_a_soak_wants_one_replica_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["loadtest", "--replicas", "1,2", "--soak-minutes", "1"]) == 1
    assert "a soak runs one replica count" in capsys.readouterr().err
    assert main(["loadtest", "--plot", "x.png"]) == 1
    assert "--soak-minutes" in capsys.readouterr().err
