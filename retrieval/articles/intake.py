"""Taking files into the corpus folder: import them, write them where their ids live, and
undo the writes unless the index that holds them was swapped in.

    imported, report = import_files([Path("new-articles/")], corpus_dir, max_bytes=10_000_000)
    writes = CorpusWrites(corpus_dir)
    try:
        writes.save_all(imported, held, report, progress)   # held: article id -> its file now
        ...build and swap the index...
    except BaseException:
        writes.roll_back()                                  # the folder as it was
        raise
    writes.commit()

An article file is an article whatever its name (a file dropped in by hand keeps its name):
a new version of an article is written into the file that holds its id, and only an id no
file holds gets a new file, named for the id (:func:`retrieval.articles.corpus.article_path`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from retrieval.articles.corpus import (
    ArticleFormatError,
    SaveResult,
    article_path,
    article_to_markdown,
    paragraphs,
    write_atomically,
)
from retrieval.articles.importers import duplicate_reason, import_path
from retrieval.crash_points import crash_point
from retrieval.engine import (
    ArticleChange,
    CorpusError,
    IngestFailure,
    IngestReport,
    Progress,
)
from retrieval.models import Article


def paragraph_at(article: Article, start: int) -> str:
    """The whole paragraph of ``article`` that contains offset ``start``."""
    for paragraph in paragraphs(article.text):
        if paragraph.start <= start < paragraph.end:
            return article.text[paragraph.start : paragraph.end]
    raise KeyError(f"offset {start} is outside article {article.id}")


def import_files(
    paths: Sequence[Path],
    corpus_dir: Path | None = None,
    *,
    max_bytes: int = 0,
    progress: Progress | None = None,
) -> tuple[list[Article], IngestReport]:
    """The articles in ``paths`` (files or folders), and a report holding what failed.

    A Markdown file directly in ``corpus_dir`` is skipped: it is the corpus already, taken in
    where it lies by the folder's update. An id met twice keeps its first article; the later
    one is a failure of its file. ``max_bytes`` (0: none) refuses larger files and JSONL
    lines. ``progress`` hears ``("import: <path>", done, total)`` after each argument."""
    report = IngestReport()
    imported: dict[str, Article] = {}
    for done, path in enumerate(paths, start=1):
        if corpus_dir is None or not _in_folder(Path(path), corpus_dir):
            result = import_path(Path(path), max_bytes=max_bytes)
            report.failures.extend(IngestFailure(p, reason) for p, reason in result.failures)
            for article in result.articles:
                if article.id in imported:
                    report.failures.append(IngestFailure(str(path), duplicate_reason(article.id)))
                    continue
                imported[article.id] = article
        if progress:
            progress(f"import: {path}", done, len(paths))
    return list(imported.values()), report


def _in_folder(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a Markdown file directly in ``folder``."""
    try:
        return path.suffix == ".md" and path.is_file() and path.resolve().parent == folder.resolve()
    except OSError:
        return False


def remove_stale_backups(folder: Path, journaled: Mapping[str, int] | None = None) -> list[Path]:
    """Remove the ``.<file>.<pid>.undo`` backups of ingests whose process is gone (killed
    before it could commit or roll back: the file it wrote has been taken in since, so its
    backup is of no use); returns what was removed. A live process's backups are kept.
    ``journaled`` (file name -> the pid of the ingest that was to write it): only the backups
    those ingests could have left are looked for, not every name in the folder."""
    removed: list[Path] = []
    if journaled is not None:
        backups = [folder / f".{name}.{pid}.undo" for name, pid in sorted(journaled.items())]
    else:
        try:
            with os.scandir(folder) as entries:  # names only: no file of the corpus is opened
                backups = [folder / e.name for e in entries if e.name.startswith(".") and e.name.endswith(".undo")]
        except OSError:
            return removed
    for backup in backups:
        pid = backup.name.removesuffix(".undo").rpartition(".")[2]
        if not pid.isdigit() or _process_alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            backup.unlink()  # FileNotFoundError for a journaled file that was new, or never written
            removed.append(backup)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid at all: leave its file alone
    return True


class CorpusWrites:
    """The article files one ingest writes into the corpus folder, undone by :meth:`roll_back`
    (the folder exactly as it was: replaced files come back with their inode and stamp) unless
    :meth:`commit` came first. A process killed outright leaves the written files, which the
    next ingest takes in (and reports as new), and hidden ``.*.undo`` copies, which scans skip
    and the next ingest removes (:func:`remove_stale_backups`: all of them, or those of the
    ``journaled`` files)."""

    def __init__(self, folder: Path, journaled: Mapping[str, int] | None = None) -> None:
        self.folder = folder
        remove_stale_backups(folder, journaled)
        self.written: dict[str, Article] = {}  # file name -> the article written into it
        self._undo: list[tuple[Path, Path | None]] = []  # (file, its previous version or None: a new file)

    def save(self, article: Article, name: str | None = None) -> SaveResult:
        """Write ``article`` into ``name`` (default: the file named for its id) unless it holds
        exactly this already. Raises ArticleFormatError for an article that cannot be stored, and
        CorpusError (one line, naming the file and the reason) for a file that cannot be written."""
        content = article_to_markdown(article)
        path = self.folder / name if name else article_path(self.folder, article.id)
        existed = path.exists()
        if existed:
            with contextlib.suppress(OSError):  # unreadable: overwrite it
                if path.read_bytes() == content.encode("utf-8"):
                    return "unchanged"
        try:
            return self._write(path, content, existed, article)
        except OSError as exc:  # no space left, a file-size limit, a read-only folder
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise CorpusError(f"cannot write {path} ({reason}); the corpus folder and the index are unchanged") from exc

    def _write(self, path: Path, content: str, existed: bool, article: Article) -> SaveResult:
        self.folder.mkdir(parents=True, exist_ok=True)
        backup = self.folder / f".{path.name}.{os.getpid()}.undo" if existed else None
        if backup is not None:
            backup.unlink(missing_ok=True)
            try:
                os.link(path, backup)
            except OSError:  # no hard links here: a copy keeps the bytes and the times
                shutil.copy2(path, backup)
        self._undo.append((path, backup))
        write_atomically(path, content)
        self.written[path.name] = article
        return "updated" if existed else "new"

    def save_all(
        self,
        articles: Sequence[Article],
        held: Mapping[str, str],
        report: IngestReport,
        progress: Progress | None = None,
    ) -> None:
        """Save each article into the file that holds its id now (``held``: article id -> file
        name) or a new one, recording its change against the folder in ``report``."""
        for done, article in enumerate(articles, start=1):
            try:
                change = self.save(article, held.get(article.id))
            except ArticleFormatError as exc:
                report.failures.append(IngestFailure(article.id, exc.reason))
                continue
            crash_point("during-corpus-write")
            report.changes[article.id] = change
            if change == "new":
                report.new_articles.append(article)
            if progress:
                progress("ingest", done, len(articles))

    def roll_back(self) -> None:
        """Put every file back as it was before this ingest (new files removed)."""
        for path, backup in reversed(self._undo):
            with contextlib.suppress(OSError):
                if backup is None:
                    path.unlink(missing_ok=True)
                else:
                    os.replace(backup, path)
        self._undo.clear()
        self.written.clear()

    def commit(self) -> None:
        """Keep the written files (their index is being served)."""
        for _, backup in self._undo:
            if backup is not None:
                with contextlib.suppress(OSError):
                    backup.unlink(missing_ok=True)
        self._undo.clear()


def report_against_index(
    report: IngestReport,
    imported: Sequence[Article],
    was_searchable: Callable[[str], bool] | None,
    put: Sequence[Article],
) -> None:
    """Set each change in ``report`` by what the served index held before this ingest, so an
    article that was in the folder but not yet searchable (left by a killed ingest, dropped in
    by hand) is "new", and is reported even when no argument named it. ``was_searchable``:
    whether the served index held an article id; ``put``: the articles this ingest made
    searchable, new or changed. Without a served index (none yet, or unusable:
    ``was_searchable`` None) the changes against the folder stand."""
    if was_searchable is None:
        return
    failed = {failure.path for failure in report.failures}
    put_ids = {article.id: article for article in put}
    named = [article for article in imported if article.id not in failed or article.id in put_ids]
    named_ids = {article.id for article in named}
    changes: dict[str, ArticleChange] = {}
    new: list[Article] = []
    for article in [*named, *(a for a in put if a.id not in named_ids)]:
        if not was_searchable(article.id):
            changes[article.id] = "new"
            new.append(put_ids.get(article.id, article))
        else:
            changes[article.id] = "updated" if article.id in put_ids else "unchanged"
    report.changes = changes
    report.new_articles = new
