"""The persisted index: build beside the old one, swap atomically, load with integrity checks.

Layout under ``<data_dir>/index/``::

    CURRENT                  name of the version being served (replaced atomically)
    versions/<version>/      one complete index: manifest.json, articles.jsonl,
                             sentences.npy, passages.npy, *_vectors.npy, dense.faiss, lexical/
    .lock                    held by the one process building at a time

A build writes a hidden staging folder, checks it, renames it into ``versions/`` and only
then rewrites ``CURRENT``; a failure or Ctrl-C at any point leaves the old version serving.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from retrieval.dense import DenseIndex, DenseIndexKind
from retrieval.embedding import Embedder
from retrieval.lexical import Analyzer, LexicalIndex
from retrieval.models import Article, Passage, Sentence
from retrieval.passages import build_passages
from retrieval.sentences import split_sentences

FORMAT_VERSION = 2
#: Progress callback: (stage, done, total). Stages: "embed", "index", "ingest", and
#: "model: <message>" for one-off messages while the model is built.
Progress = Callable[[str, int, int], None]


class IndexError_(RuntimeError):
    """Base for index problems; ``str()`` is one line that names the fixing command."""


class IndexMissingError(IndexError_):
    pass


class IndexCorruptError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    pass


class IndexBusyError(IndexError_):
    pass


@dataclass(frozen=True)
class Manifest:
    format: int
    version: str
    model: str
    dimension: int
    corpus_fingerprint: str
    articles: int
    passages: int
    sentences: int
    built_at: str
    dense_kind: str
    embedded: int  # texts that had to be embedded for this build (the rest came from the cache)
    files: dict[str, dict[str, object]]  # relative path -> {"bytes": n, "sha256": hex}


def corpus_fingerprint(articles: Sequence[Article]) -> str:
    """Changes whenever any article's metadata or text changes."""
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.id):
        digest.update(json.dumps(article.metadata(), ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\x00")
        digest.update(article.text.encode())
        digest.update(b"\x01")
    return digest.hexdigest()


def _article_to_json(article: Article) -> str:
    record = article.metadata()
    record["text"] = article.text
    record["sapo"] = article.sapo
    return json.dumps(record, ensure_ascii=False)


def _article_from_json(line: str) -> Article:
    record = json.loads(line)
    published = datetime.fromisoformat(record["published"]) if record.get("published") else None
    return Article(
        id=record["id"],
        title=record["title"],
        published=published,
        source=record.get("source") or "",
        text=record["text"],
        url=record.get("url"),
        tags=tuple(record.get("tags") or ()),
        sapo=record.get("sapo"),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LoadedIndex:
    """One index version in memory. Sentence and passage rows are global positions."""

    def __init__(
        self,
        manifest: Manifest,
        articles: list[Article],
        sentence_rows: np.ndarray,
        passage_rows: np.ndarray,
        passage_vectors: np.ndarray,
        sentence_vectors: np.ndarray,
        dense: DenseIndex,
        lexical: LexicalIndex,
        path: Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.articles = articles
        self.article_index = {a.id: i for i, a in enumerate(articles)}
        # sentence_rows: (n, 5) int32 = article, start, end, paragraph, is_caption
        self.sentence_rows = sentence_rows
        # passage_rows: (m, 3) int32 = article, first sentence, last sentence (inclusive)
        self.passage_rows = passage_rows
        self.passage_vectors = passage_vectors
        self.sentence_vectors = sentence_vectors
        self.dense = dense
        self.lexical = lexical
        self.path = path

    def sentence(self, row: int) -> Sentence:
        article_i, start, end, paragraph, caption = (int(x) for x in self.sentence_rows[row])
        article = self.articles[article_i]
        return Sentence(article.id, row, start, end, article.text[start:end], paragraph, bool(caption))

    def article_of_sentence(self, row: int) -> Article:
        return self.articles[int(self.sentence_rows[row, 0])]

    def passage_sentences(self, passage: int) -> range:
        _, first, last = (int(x) for x in self.passage_rows[passage])
        return range(first, last + 1)

    def article_of_passage(self, passage: int) -> Article:
        return self.articles[int(self.passage_rows[passage, 0])]


def _segment(articles: Sequence[Article]) -> tuple[list[list[Sentence]], list[Passage]]:
    per_article: list[list[Sentence]] = []
    passages: list[Passage] = []
    for article in articles:
        sentences = split_sentences(article)
        per_article.append(sentences)
        passages.extend(build_passages(article, sentences, len(passages)))
    return per_article, passages


def build_index(
    articles: Sequence[Article],
    embedder: Embedder,
    analyzer: Analyzer,
    dense_kind: DenseIndexKind = DenseIndexKind.AUTO,
    progress: Progress | None = None,
) -> LoadedIndex:
    """Segment, embed (through the cache) and index ``articles`` in memory."""
    articles = sorted(articles, key=lambda a: a.id)
    per_article, passages = _segment(articles)
    first_row: list[int] = []
    rows: list[tuple[int, int, int, int, int]] = []
    for article_i, sentences in enumerate(per_article):
        first_row.append(len(rows))
        rows.extend((article_i, s.start, s.end, s.paragraph, int(s.is_caption)) for s in sentences)
    sentence_rows = np.array(rows, dtype=np.int32).reshape(-1, 5)
    article_pos = {a.id: i for i, a in enumerate(articles)}
    passage_rows = np.array(
        [
            (
                article_pos[p.article_id],
                first_row[article_pos[p.article_id]] + p.first_sentence,
                first_row[article_pos[p.article_id]] + p.last_sentence,
            )
            for p in passages
        ],
        dtype=np.int32,
    ).reshape(-1, 3)

    texts = [p.text for p in passages] + [s.text for sentences in per_article for s in sentences]

    def on_embed(done: int, total: int) -> None:
        if progress:
            progress("embed", done, total)

    vectors, embedded = embedder.encode_passages(texts, on_embed)
    passage_vectors = vectors[: len(passages)]
    sentence_vectors = vectors[len(passages) :]
    if progress:
        progress("index", 0, 2)
    dense = DenseIndex.build(passage_vectors, dense_kind)
    lexical = LexicalIndex.build(analyzer.document_tokens(p.text) for p in passages)
    if progress:
        progress("index", 2, 2)
    manifest = Manifest(
        format=FORMAT_VERSION,
        version=datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}",
        model=embedder.model_id,
        dimension=embedder.dimension,
        corpus_fingerprint=corpus_fingerprint(articles),
        articles=len(articles),
        passages=len(passages),
        sentences=len(sentence_rows),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        dense_kind=dense.kind.value,
        embedded=embedded,
        files={},
    )
    return LoadedIndex(
        manifest, list(articles), sentence_rows, passage_rows, passage_vectors, sentence_vectors, dense, lexical
    )


class IndexStore:
    """Where index versions live on disk, and the only code that reads or writes them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current_file = root / "CURRENT"

    def current_version(self) -> str | None:
        try:
            name = self.current_file.read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    @contextlib.contextmanager
    def writer_lock(self, wait: bool = True) -> Iterator[None]:
        """Serialise builders across processes (CLI, bot); readers never wait."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError as exc:
                raise IndexBusyError("another reindex is running; try again when it finishes") from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def save(self, index: LoadedIndex) -> Path:
        """Write ``index`` as a new version and make it current, atomically. Caller holds the lock."""
        self.versions.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.versions))
        try:
            with (staging / "articles.jsonl").open("w", encoding="utf-8") as handle:
                for article in index.articles:
                    handle.write(_article_to_json(article) + "\n")
            np.save(staging / "sentences.npy", index.sentence_rows)
            np.save(staging / "passages.npy", index.passage_rows)
            np.save(staging / "passage_vectors.npy", index.passage_vectors)
            np.save(staging / "sentence_vectors.npy", index.sentence_vectors)
            index.dense.save(staging / "dense.faiss")
            index.lexical.save(staging / "lexical")
            files = {
                str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                for p in sorted(staging.rglob("*"))
                if p.is_file()
            }
            manifest = Manifest(**{**asdict(index.manifest), "files": files})
            (staging / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), "utf-8")
            for path in staging.rglob("*"):
                if path.is_file():
                    with path.open("rb") as handle:
                        os.fsync(handle.fileno())
            final = self.versions / manifest.version
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._point_current_at(manifest.version)
        index.manifest = manifest
        index.path = final
        self._remove_old_versions(keep={manifest.version})
        return final

    def _point_current_at(self, version: str) -> None:
        tmp = self.root / f".CURRENT.{os.getpid()}"
        tmp.write_text(version + "\n", "utf-8")
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.current_file)

    def _remove_old_versions(self, keep: set[str]) -> None:
        # Keep the newest previous version too: a reader may be loading it right now.
        if not self.versions.exists():
            return
        complete = sorted(p for p in self.versions.iterdir() if not p.name.startswith("."))
        for path in complete[:-2]:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.versions.glob(".staging-*"):
            if time.time() - path.stat().st_mtime > 3600:  # left by a killed build
                shutil.rmtree(path, ignore_errors=True)

    def read_manifest(self, version: str | None = None) -> Manifest:
        version = version or self.current_version()
        if version is None:
            raise IndexMissingError(f"no index in {self.root}: run `hoptac reindex`")
        path = self.versions / version / "manifest.json"
        try:
            data = json.loads(path.read_text("utf-8"))
            return Manifest(**data)
        except FileNotFoundError as exc:
            raise IndexCorruptError(f"index version {version} has no manifest: run `hoptac reindex`") from exc
        except (ValueError, TypeError) as exc:
            raise IndexCorruptError(f"index manifest {path} is unreadable: run `hoptac reindex`") from exc

    def load(self, expected_model: str | None = None, verify: bool = True) -> LoadedIndex:
        """The current version, checked file by file against its manifest."""
        manifest = self.read_manifest()
        folder = self.versions / manifest.version
        if manifest.format != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index format {manifest.format} is not {FORMAT_VERSION} (hoptac was upgraded): run `hoptac reindex`"
            )
        if expected_model is not None and manifest.model != expected_model:
            raise IndexMismatchError(
                f"the index was built with model {manifest.model!r} but the settings name {expected_model!r}: "
                "run `hoptac reindex`"
            )
        if verify:
            self._verify(folder, manifest)
        try:
            articles = [
                _article_from_json(line) for line in (folder / "articles.jsonl").read_text("utf-8").splitlines() if line
            ]
            sentence_rows = np.load(folder / "sentences.npy")
            passage_rows = np.load(folder / "passages.npy")
            passage_vectors = np.load(folder / "passage_vectors.npy", mmap_mode="r")
            sentence_vectors = np.load(folder / "sentence_vectors.npy", mmap_mode="r")
            dense = DenseIndex.load(folder / "dense.faiss", DenseIndexKind(manifest.dense_kind))
            lexical = LexicalIndex.load(folder / "lexical")
        except Exception as exc:  # any unreadable file means the same thing to the user
            raise IndexCorruptError(
                f"index version {manifest.version} cannot be read ({type(exc).__name__}): run `hoptac reindex`"
            ) from exc
        if (
            len(articles) != manifest.articles
            or len(passage_rows) != manifest.passages
            or len(sentence_rows) != manifest.sentences
            or dense.size != manifest.passages
            or dense.dimension != manifest.dimension
        ):
            raise IndexCorruptError(f"index version {manifest.version} is inconsistent: run `hoptac reindex`")
        return LoadedIndex(
            manifest, articles, sentence_rows, passage_rows, passage_vectors, sentence_vectors, dense, lexical,
            folder,
        )  # fmt: skip

    @staticmethod
    def _verify(folder: Path, manifest: Manifest) -> None:
        for name, info in manifest.files.items():
            path = folder / name
            if not path.is_file():
                raise IndexCorruptError(f"index file {name} is missing: run `hoptac reindex`")
            if path.stat().st_size != info["bytes"] or _sha256(path) != info["sha256"]:
                raise IndexCorruptError(f"index file {name} is corrupt (checksum mismatch): run `hoptac reindex`")

    def size_bytes(self) -> int:
        version = self.current_version()
        if version is None:
            return 0
        folder = self.versions / version
        return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
