"""Disk and memory by component: what an index's files take on disk, and what of them is resident.

Files are grouped by name, whatever segment (base or delta) they belong to:

- ``article_text``: any file whose name starts with ``article_`` (``article_records.bin``, the
  compressed articles, and their offsets, keys, digests and dictionary), and ``articles.jsonl``
  (the articles of indexes written before them);
- ``passage_vectors``: ``passage_vectors*``; ``sentence_vectors``: ``sentence_vector*``;
- ``lexical_index``: ``postings_*``, ``vocabulary_*`` and ``blocks_*``; ``ann_index``: ``dense.faiss``;
- ``rows``: ``sentences.npy`` and ``passages.npy`` (which sentences and passages belong to which
  article); ``other``: the rest (the manifest).

Memory is read from ``/proc/self/smaps`` of the process serving questions: the resident part
of each file-backed mapping under the index folder, grouped the same way, and
``anonymous_and_other`` for the rest of the resident set (the model's weights, the Python
heap, FAISS structures read into memory, libraries). Files read by position (the article
records, and the vector rows a question reads) are not mapped: what was read of them is in
the page cache, outside the process, and counts here only when an exact scan maps the whole
vector file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath

#: Component keys in report order, with the words the tables use.
COMPONENTS: dict[str, str] = {
    "article_text": "article text",
    "passage_vectors": "passage vectors",
    "sentence_vectors": "sentence vectors",
    "lexical_index": "lexical index",
    "ann_index": "ANN index",
    "rows": "rows",
    "other": "other",
}
ANONYMOUS = "anonymous_and_other"


def component_of(path: str | PurePath) -> str:
    """The component an index file belongs to, from its name."""
    name = PurePath(path).name
    if name == "articles.jsonl" or name.startswith("article_"):
        return "article_text"
    if name.startswith("passage_vectors"):
        return "passage_vectors"
    if name.startswith("sentence_vector"):
        return "sentence_vectors"
    if name.startswith(("postings_", "vocabulary_", "blocks_")):
        return "lexical_index"
    if name == "dense.faiss":
        return "ann_index"
    if name in ("sentences.npy", "passages.npy"):
        return "rows"
    return "other"


def group_by_component(sizes: Iterable[tuple[str | PurePath, int]]) -> dict[str, int]:
    """``(file, bytes)`` pairs summed by component, every component present (0 where none)."""
    grouped = dict.fromkeys(COMPONENTS, 0)
    for path, size in sizes:
        grouped[component_of(path)] += size
    return grouped


def disk_by_component(version_folder: Path) -> dict[str, int]:
    """Bytes of every file of one index version (base and delta segments), by component."""
    return group_by_component(
        (p.relative_to(version_folder), p.stat().st_size) for p in sorted(version_folder.rglob("*")) if p.is_file()
    )


def smaps_rss(smaps: str = "/proc/self/smaps") -> dict[str, int]:
    """Resident kB of each mapping name in ``smaps`` ("" for anonymous mappings).

    Standard library only, no imports at module level: the cold-start probe runs this
    function's source as it is."""
    rss: dict[str, int] = {}
    name = ""
    with open(smaps, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            head = line.split(None, 5)
            if len(head) >= 5 and "-" in head[0] and ":" in head[3] and not head[0].endswith(":"):
                name = head[5].strip() if len(head) == 6 else ""
            elif line.startswith("Rss:"):
                rss[name] = rss.get(name, 0) + int(line.split()[1])
    return rss


def memory_by_component(rss_kb: Mapping[str, int], index_root: Path) -> dict[str, int]:
    """Resident bytes of the index's files by component, plus ``anonymous_and_other``."""
    root = str(index_root.resolve()) + "/"
    index_files = [(name, kb * 1024) for name, kb in rss_kb.items() if name.startswith(root)]
    grouped = group_by_component(index_files)
    grouped[ANONYMOUS] = sum(rss_kb.values()) * 1024 - sum(size for _, size in index_files)
    return grouped
