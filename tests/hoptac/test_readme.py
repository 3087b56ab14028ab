"""The README's first example is what `hoptac ask` prints, shortened only where the README
writes " ..." (a long line is also wrapped there)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from hoptac.cli import main
from tests.conftest import CORPUS, REPO

FIRST_EXAMPLE = re.compile(r"```\n\$ hoptac ask \"(?P<question>[^\"]+)\"\n(?P<output>.*?)```", re.S)


def shortened_like_the_readme(readme_output: str, printed: str) -> list[str]:
    """The pieces of the README's output that are not, in order, in what was printed."""
    missing: list[str] = []
    position = 0
    for piece in (p.strip() for p in readme_output.split(" ...")):
        found = printed.find(piece, position)
        if found < 0:
            missing.append(piece)
        else:
            position = found + len(piece)
    return missing


def test_the_shortening_rule_catches_a_piece_that_was_never_printed() -> None:
    printed = "[1] Hai tỉnh ký kết biên bản ghi nhớ.\n    — Bài báo (Báo Hải Dương, 05/10/2019)\n"
    assert (
        shortened_like_the_readme("[1] Hai tỉnh ký kết ...\n    — Bài báo (Báo Hải Dương, 05/10/2019)", printed) == []
    )
    assert shortened_like_the_readme("[1] Hai tỉnh ký kết ...\n    (nay thuộc TP Hải Phòng)", printed) == [
        "(nay thuộc TP Hải Phòng)"
    ]


@pytest.mark.model
def test_the_readme_first_example_is_what_hoptac_prints(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = FIRST_EXAMPLE.search((REPO / "README.md").read_text("utf-8"))
    assert example is not None
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(CORPUS, corpus)
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    assert main(["ask", example["question"], "--corpus-dir", str(corpus), "--data-dir", str(data)]) == 0
    printed = capsys.readouterr().out
    assert shortened_like_the_readme(example["output"], printed) == []
    quotes = re.compile(r"^\[\d+\] ", re.M)
    assert len(quotes.findall(printed)) == len(quotes.findall(example["output"]))
