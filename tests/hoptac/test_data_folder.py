"""Where hoptac keeps its data: the same folder from any working folder, and said when made."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoptac.cli import _says_where_data_is_created
from hoptac.settings import Settings
from tests.conftest import REPO


def test_the_same_data_folder_from_two_working_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOPTAC_DATA_DIR", raising=False)
    folders = []
    for name in ("home", "elsewhere"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        folders.append(Settings(_env_file=None).data_dir)  # type: ignore[call-arg]
    assert folders[0] == folders[1] == REPO / "var"
    assert Settings(_env_file=None).engine_config().index_root == REPO / "var" / "index"  # type: ignore[call-arg]


def test_a_command_that_makes_the_data_folder_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    with _says_where_data_is_created(data):
        (data / "index").mkdir(parents=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"created the data folder {data}" in err and "HOPTAC_DATA_DIR" in err


def test_an_existing_data_folder_is_not_announced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _says_where_data_is_created(tmp_path):
        (tmp_path / "index").mkdir()
    assert capsys.readouterr().err == ""
