"""One voice: every sentence the bot says is in ``markup.catalogue``, Vietnamese first."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.format import format_not_found
from hoptac.cli.console import print_answer
from markup import catalogue
from markup.catalogue import Words
from retrieval.models import Answer
from retrieval.vietnamese.text import nfc

ROOT = Path(__file__).resolve().parents[2]
#: Letters only Vietnamese (or another accented language) writes; ASCII, «», —, “” and emoji are not.
VIETNAMESE_LETTER = re.compile("[À-ỹ]")
#: Modules of bot/ allowed Vietnamese literals, and why.
ALLOWED = {
    "bot/config.py": "the operator's console errors at start-up, Vietnamese / English on one line",
}
ENTRIES = {name: value for name, value in vars(catalogue).items() if isinstance(value, Words)}


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_the_catalogue_holds_the_bots_words() -> None:
    assert len(ENTRIES) > 100


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_each_entry_is_vietnamese_nfc_and_its_english_has_the_same_fields(name: str) -> None:
    words = ENTRIES[name]
    assert words.vi.strip() and words.vi == nfc(words.vi)
    if words.en is not None:
        assert words.en.strip() and not VIETNAMESE_LETTER.search(words.en.replace("👎", ""))
        assert fields_of(words.en) == fields_of(words.vi)
    filled = {field: "x" for field in fields_of(words.vi)}
    assert words.say(**filled) and words.say("en", **filled)  # every field is named: nothing left to fill


def test_no_entry_uses_the_word_officials_do_not_know() -> None:
    assert [name for name, words in ENTRIES.items() if "chỉ mục" in words.vi.lower()] == []


def test_english_goes_to_english_speakers_and_vietnamese_to_everyone_else() -> None:
    assert catalogue.ADMIN_ONLY.say("en").startswith("⛔ This command")
    assert catalogue.ADMIN_ONLY.say("en-GB") == catalogue.ADMIN_ONLY.say("en")
    assert catalogue.ADMIN_ONLY.say("vi") == catalogue.ADMIN_ONLY.say(None) == catalogue.ADMIN_ONLY.vi
    assert catalogue.NOT_TEXT.say("en") == catalogue.NOT_TEXT.vi  # no English yet: Vietnamese


def _vietnamese_literals(path: Path) -> list[str]:
    """String literals (f-strings' parts included) with Vietnamese letters, docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and VIETNAMESE_LETTER.search(node.value)
    ]


def test_no_module_of_the_bot_says_anything_in_vietnamese_outside_the_catalogue() -> None:
    modules = [
        path
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if "testing" not in path.parts and str(path.relative_to(ROOT)) not in ALLOWED
    ]
    modules += [ROOT / "notifications" / name for name in ("digest.py", "subscription_filters.py")]
    modules += [ROOT / "news_pipeline" / "uploads.py"]

    found = [literal for path in modules for literal in _vietnamese_literals(path)]

    assert found == [], "put these in markup/catalogue.py:\n" + "\n".join(found)


def test_every_entry_is_used() -> None:
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("bot", "notifications", "news_pipeline", "hoptac")
        for path in (ROOT / folder).rglob("*.py")
    )
    code += (ROOT / "markup" / "catalogue.py").read_text(encoding="utf-8")
    unused = [name for name in ENTRIES if not re.search(rf"(words|catalogue)\.{name}\b|\b{name}\.say\(", code)]
    assert unused == []


def test_the_bot_and_the_cli_say_not_found_in_the_same_words(capsys: pytest.CaptureFixture[str]) -> None:
    print_answer(Answer(question="Giá vàng hôm nay?", found=False, answer="", citations=()), 12)
    printed = capsys.readouterr().out.strip()

    assert printed == "Không tìm thấy câu trả lời trong các bài báo hiện có (12 bài)."
    assert printed in format_not_found("Giá vàng hôm nay?", [], 12)
