"""Taking files into the corpus folder: import them, save them under their ids, report each change.

imported, report = import_files([Path("new-articles/")], corpus_dir)
save_imported(corpus_dir, imported, report, progress)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from retrieval.articles.corpus import ArticleFormatError, paragraphs, save_article
from retrieval.articles.importers import import_path
from retrieval.engine import (
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


def import_files(paths: Sequence[Path], corpus_dir: Path | None = None) -> tuple[list[Article], IngestReport]:
    """The articles in ``paths`` (files or folders), and a report holding what failed.

    A Markdown file directly in ``corpus_dir`` is skipped: it is the corpus already, taken in
    where it lies by the folder's update (saved again under its id's name, it would be two
    files of one article)."""
    report = IngestReport()
    imported: list[Article] = []
    for path in paths:
        if corpus_dir is not None and _in_folder(Path(path), corpus_dir):
            continue
        result = import_path(Path(path))
        imported.extend(result.articles)
        report.failures.extend(IngestFailure(p, reason) for p, reason in result.failures)
    return imported, report


def _in_folder(path: Path, folder: Path) -> bool:
    """Whether ``path`` is a Markdown file directly in ``folder``."""
    try:
        return path.suffix == ".md" and path.is_file() and path.resolve().parent == folder.resolve()
    except OSError:
        return False


def save_imported(folder: Path, imported: Sequence[Article], report: IngestReport, progress: Progress | None) -> None:
    """Write ``imported`` into the corpus ``folder``, recording each one's change in ``report``."""
    folder.mkdir(parents=True, exist_ok=True)
    for done, article in enumerate(imported, start=1):
        try:
            change = save_article(folder, article)
        except ArticleFormatError as exc:
            report.failures.append(IngestFailure(article.id, exc.reason))
            continue
        report.changes[article.id] = change
        if change == "new":
            report.new_articles.append(article)
        if progress:
            progress("ingest", done, len(imported))
