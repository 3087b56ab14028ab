"""The watched corpus folder: a file dropped into it while the bot runs is indexed and announced."""

from __future__ import annotations

import os
import time
from pathlib import Path

from news_pipeline.watch import CorpusWatcher
from retrieval.articles.corpus import article_path, read_corpus
from tests.bot_harness import GROUP, LAN, WAIT_S
from tests.newsroom import LOGISTICS, TEA, TOURISM, Newsroom, jsonl, page, sent_to, subscribe

WATCHED = {"corpus_watch_seconds": 0.05}


def drop(folder: Path, name: str, content: bytes) -> Path:
    """Write a file the way a copy does, then make it look settled (written a while ago)."""
    path = folder / name
    path.write_bytes(content)
    old = time.time() - 60
    os.utime(path, (old, old))
    return path


async def test_a_jsonl_file_dropped_in_the_corpus_folder_is_indexed_announced_and_moved_aside(
    newsroom: Newsroom,
) -> None:
    async with newsroom.running(**WATCHED) as bot:
        await subscribe(bot, GROUP, LAN)
        drop(newsroom.corpus_dir, "tin-moi.jsonl", jsonl(LOGISTICS, TOURISM))

        digest = await bot.api.next_message(GROUP.id, WAIT_S)

        assert digest["text"].startswith("🆕 2 bài mới trong kho tin")
        assert LOGISTICS["title"] in digest["text"] and TOURISM["title"] in digest["text"]
        assert not (newsroom.corpus_dir / "tin-moi.jsonl").exists()
        assert [p.name.endswith("-tin-moi.jsonl") for p in (newsroom.data_dir / "imported").iterdir()] == [True]
        assert article_path(newsroom.corpus_dir, LOGISTICS["id"]).exists()
        assert bot.engine.status().articles == 3


async def test_a_markdown_or_html_file_dropped_in_the_corpus_folder_is_announced(newsroom: Newsroom) -> None:
    async with newsroom.running(**WATCHED) as bot:
        await subscribe(bot, GROUP, LAN)
        markdown = (
            "---\nid: tra-dong-bac\ntitle: Thái Nguyên và Bắc Kạn hợp tác phát triển vùng chè\n"
            "published: '2024-07-11T09:15:00+07:00'\nsource: Báo Thái Nguyên\n---\n\n" + TEA["body"] + "\n"
        )
        drop(newsroom.corpus_dir, "tra-dong-bac.md", markdown.encode())
        first = await bot.api.next_message(GROUP.id, WAIT_S)
        drop(newsroom.corpus_dir, "du-lich.html", page("hai-phong-quang-ninh-du-lich.html"))
        second = await bot.api.next_message(GROUP.id, WAIT_S)

    assert TEA["title"] in first["text"] and "Báo Thái Nguyên, 11/07/2024" in first["text"]
    assert TOURISM["title"] in second["text"]
    assert (newsroom.corpus_dir / "tra-dong-bac.md").exists()  # the corpus itself stays where it is
    titles = {a.title for a in read_corpus(newsroom.corpus_dir).articles}
    assert {TEA["title"], TOURISM["title"]} <= titles


async def test_an_unreadable_file_is_moved_to_failed_and_the_bot_goes_on(newsroom: Newsroom) -> None:
    async with newsroom.running(**WATCHED) as bot:
        await subscribe(bot, GROUP, LAN)
        drop(newsroom.corpus_dir, "hong.jsonl.gz", b"this is not gzip")
        drop(newsroom.corpus_dir, "tin.jsonl", jsonl(TEA))

        notice = await bot.api.next_message(GROUP.id, WAIT_S)

    assert TEA["title"] in notice["text"]
    assert [p.name.endswith("hong.jsonl.gz") for p in (newsroom.data_dir / "imported" / "failed").iterdir()] == [True]
    assert len(sent_to(newsroom.api, GROUP.id)) == 2


def test_a_file_still_being_written_waits_for_the_next_look(tmp_path: Path) -> None:
    corpus, now = tmp_path / "corpus", time.time()
    corpus.mkdir()
    watcher = CorpusWatcher(corpus, tmp_path / "imported", settle_s=2.0, clock=lambda: now)
    (corpus / "dang-chep.jsonl").write_bytes(jsonl(TEA)[:20])

    change = watcher.look()
    assert change is not None and change.unsettled and change.to_import == []

    change = watcher.look()  # not changed since the last look: settled
    assert change is not None and not change.unsettled and change.to_import == [corpus / "dang-chep.jsonl"]
    watcher.done(change)
    assert watcher.look() is None


def test_a_file_dropped_while_an_ingest_runs_is_not_lost(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    watcher = CorpusWatcher(corpus, tmp_path / "imported")
    first = drop(corpus, "dot-1.jsonl", jsonl(TEA))
    change = watcher.look()
    assert change is not None and change.to_import == [first]

    drop(corpus, "dot-2.jsonl", jsonl(TOURISM))  # arrives while the first is being ingested
    written = drop(corpus, "tra.md", b"---\nid: tra\ntitle: T\n---\n\nX.\n")  # what the ingest wrote
    watcher.done(change, watcher.set_aside([first]), [written])

    change = watcher.look()
    assert change is not None and change.to_import == [corpus / "dot-2.jsonl"]


def test_hidden_and_partial_files_are_left_alone(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in (".an.md.tmp", "tai-ve.jsonl.crdownload", "ban-nhap.md~"):
        drop(corpus, name, b"x")
    (corpus / "thu-muc-con").mkdir()

    assert CorpusWatcher(corpus, tmp_path / "imported").scan() == {}


def test_new_and_changed_markdown_files_are_named_for_the_ingest(tmp_path: Path) -> None:
    """With the articles in PostgreSQL the folder is an import source: only the .md files
    named to the ingest get in, so each look names those new or changed since the last."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    watcher = CorpusWatcher(corpus, tmp_path / "imported", settle_s=0.0)
    first = drop(corpus, "mot.md", b"---\nid: mot\ntitle: M\n---\n\nX.\n")
    change = watcher.look()
    assert change is not None and change.articles == [first] and change.to_import == []
    watcher.done(change)

    second = drop(corpus, "hai.md", b"---\nid: hai\ntitle: H\n---\n\nY.\n")
    change = watcher.look()
    assert change is not None and change.articles == [second]
