"""BM25 postings of the local index: varint-coded, read by position, extended by deltas.

    index = LexicalIndex.build([analyzer.document_tokens(t) for t in texts])
    scores = index.scores(analyzer.query_tokens("cau Dong Viet o dau"))

BM25 is computed here (bm25s's "lucene" formula, k1=1.5, b=0.75, retrieval/answering/bm25.py)
over :class:`Postings`, which an incremental ingest can add to without rebuilding:
:class:`LexicalIndex` scores the base's and the deltas' documents as one collection, with the
statistics of the live ones.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from retrieval.answering.bm25 import K1, B, bm25_idf
from retrieval.engine import IndexCorruptError
from retrieval.local.blocks import Blocks, load_blocks, write_blocks
from retrieval.local.positional_file import PositionalFile

#: Documents per batch when counting terms in :meth:`Postings.build` (bounds its memory).
_BUILD_BATCH = 4096


class Vocabulary:
    """Token -> column of a :class:`Postings`.

    Built in memory it is a dict. Saved, it is the tokens' UTF-8 bytes in sorted order, one
    blob plus offsets, with each token's column: loading reads three files and creates no
    Python object per token (a 100k-passage index has over a million distinct unigrams and
    bigrams, whose JSON list and dict took over a second to load), and a lookup is a binary
    search of about 20 byte comparisons.
    """

    FILES = ("vocabulary_tokens.bin", "vocabulary_offsets.npy", "vocabulary_columns.npy")

    def __init__(
        self,
        tokens: dict[str, int] | None = None,
        *,
        blob: bytes = b"",
        offsets: np.ndarray | None = None,
        columns: np.ndarray | None = None,
    ) -> None:
        self._dict = tokens
        self._blob = blob
        self._offsets = offsets if offsets is not None else np.zeros(1, dtype=np.int64)
        self._columns = columns if columns is not None else np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._dict) if self._dict is not None else len(self._columns)

    def get(self, token: str) -> int | None:
        if self._dict is not None:
            return self._dict.get(token)
        key, blob, offsets = token.encode(), self._blob, self._offsets
        lo, hi = 0, len(self._columns)
        while lo < hi:
            mid = (lo + hi) // 2
            if blob[offsets[mid] : offsets[mid + 1]] < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self._columns) and blob[offsets[lo] : offsets[lo + 1]] == key:
            return int(self._columns[lo])
        return None

    def save(self, directory: Path) -> None:
        blob: bytes | bytearray
        if self._dict is None:
            blob, offsets, columns = self._blob, self._offsets, self._columns
        else:
            # UTF-8 keeps the order of code points, so the strings sort as their bytes do; no
            # (bytes, column) pair is made per token (at a million passages, 3.2 million of them).
            # Nor a bytes object per token: joining them took 170 MB for 1.2 million tokens.
            tokens = sorted(self._dict)
            joined = bytearray()
            offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
            columns = np.empty(len(tokens), dtype=np.int64)
            for i, token in enumerate(tokens):
                joined += token.encode()
                offsets[i + 1] = len(joined)
                columns[i] = self._dict[token]
            del tokens
            blob = joined
        # Four bytes an entry while they fit (a 1M-passage index has about 3.2 million tokens).
        offsets = np.asarray(offsets).astype(_offset_dtype(len(blob)))
        columns = np.asarray(columns).astype(_narrowest(len(columns), (np.int32, np.int64)))
        tokens_file, offsets_file, columns_file = self.FILES
        (directory / tokens_file).write_bytes(blob)
        np.save(directory / offsets_file, offsets)
        np.save(directory / columns_file, columns)

    @classmethod
    def load(cls, directory: Path) -> Vocabulary:
        tokens_file, offsets_file, columns_file = cls.FILES
        offsets = np.load(directory / offsets_file)
        columns = np.load(directory / columns_file, mmap_mode="r")
        blob = (directory / tokens_file).read_bytes()
        if len(offsets) != len(columns) + 1 or (len(offsets) and int(offsets[-1]) != len(blob)):
            raise ValueError(f"vocabulary files in {directory} disagree")
        return cls(blob=blob, offsets=offsets, columns=columns)


def _narrowest(largest: int, dtypes: Sequence[type[np.integer]]) -> np.dtype:
    """The first of ``dtypes`` that holds ``largest`` (the last one otherwise)."""
    for dtype in dtypes:
        if largest <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(dtypes[-1])


def _count_dtype(largest: int) -> np.dtype:
    """Term counts: one byte each unless a count exceeds 255 (the data decides)."""
    return _narrowest(largest, (np.uint8, np.uint16, np.uint32))


def _offset_dtype(largest: int) -> np.dtype:
    """Offsets into a stream: four bytes each while the stream is under 4 GiB."""
    return _narrowest(largest, (np.uint32, np.int64))


def encode_varints(values: np.ndarray) -> np.ndarray:
    """LEB128 of unsigned 32-bit ``values``: 7 bits a byte, low bits first, the high bit set on
    every byte but a value's last. Vectorised: one pass per byte position (at most five)."""
    values = values.astype(np.uint32, copy=False)
    sizes = np.ones(len(values), dtype=np.uint8)
    for bits in (7, 14, 21, 28):
        sizes += values >= (1 << bits)
    starts = np.cumsum(sizes, dtype=np.int64) - sizes
    out = np.empty(int(starts[-1]) + int(sizes[-1]) if len(values) else 0, dtype=np.uint8)
    out[starts] = (values & 0x7F).astype(np.uint8) | ((sizes > 1).view(np.uint8) << 7)
    rows = np.flatnonzero(sizes > 1)  # the few values of more than one byte
    for byte in range(1, 5):
        group = (values[rows] >> (7 * byte)) & 0x7F
        more = sizes[rows] > byte + 1
        out[starts[rows] + byte] = group.astype(np.uint8) | (more.view(np.uint8) << 7)
        rows = rows[more]
        if not len(rows):
            break
    return out


def decode_varints(encoded: np.ndarray) -> np.ndarray:
    """The uint32 values of :func:`encode_varints`'s bytes (vectorised; most values are one byte)."""
    last = encoded < 0x80  # the last byte of each value
    if last.all():
        return encoded.astype(np.uint32)
    ends = np.flatnonzero(last)
    values = encoded[ends].astype(np.uint32)
    sizes = np.diff(ends, prepend=-1)
    rows = np.arange(len(ends))
    for byte in range(1, 5):  # from the high groups down to the low ones
        rows = rows[sizes[rows] > byte]
        if not len(rows):
            break
        values[rows] = (values[rows] << 7) | (encoded[ends[rows] - byte] & 0x7F)
    return values


#: Postings per slice when encoding document ids (bounds the temporary arrays of a build).
_ENCODE_POSTINGS = 1 << 20


def _slice_end(indptr: np.ndarray, first: int) -> int:
    """The token after the slice that starts at token ``first``: whole tokens, about
    :data:`_ENCODE_POSTINGS` postings (at least one token)."""
    tokens = len(indptr) - 1
    last = int(np.searchsorted(indptr, int(indptr[first]) + _ENCODE_POSTINGS, side="right")) - 1
    return min(max(last, first + 1), tokens)


def _encode_slice(ids: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The varints of a slice of whole tokens' ascending document ``ids`` (``bounds``: where
    each token's list starts in ``ids``, and the end): each list's first id as itself, the
    rest as gaps. Returns the bytes and where each list ends in them."""
    ids = np.asarray(ids).astype(np.uint32, copy=False)
    gaps = np.empty_like(ids)
    if len(ids):
        gaps[0] = ids[0]
        np.subtract(ids[1:], ids[:-1], out=gaps[1:])
    heads = bounds[:-1][bounds[:-1] < bounds[1:]]  # first posting of each non-empty list
    gaps[heads] = ids[heads]
    encoded = encode_varints(gaps)
    ends = np.concatenate(([0], np.flatnonzero(encoded < 0x80) + 1))  # after each value
    return encoded, ends[bounds[1:]]


def _encode_by_slices(
    indptr: np.ndarray, ids_of: Callable[[int, int, int, int], np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each token's ascending document ids as varints of their gaps, its first id as itself:
    (each token's byte offset, the bytes). A slice of whole tokens at a time, so no array of
    every gap is ever made: ``ids_of(first, last, start, stop)`` gives the ids of tokens
    ``first`` to ``last - 1``, postings ``start`` to ``stop - 1``."""
    tokens = len(indptr) - 1
    offsets = np.zeros(tokens + 1, dtype=np.int64)
    pieces: list[np.ndarray] = []
    written, first = 0, 0
    while first < tokens:
        last = _slice_end(indptr, first)
        start, stop = int(indptr[first]), int(indptr[last])
        bounds = np.asarray(indptr[first : last + 1], dtype=np.int64) - start
        encoded, ends = _encode_slice(ids_of(first, last, start, stop), bounds)
        offsets[first + 1 : last + 1] = written + ends
        pieces.append(encoded)
        written += len(encoded)
        first = last
    stream = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint8)
    return offsets.astype(_offset_dtype(written)), stream


def _encode_doc_ids(indptr: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_encode_by_slices` of CSR document ids ``docs``."""
    return _encode_by_slices(indptr, lambda first, last, start, stop: docs[start:stop])


class _ArrayStream:
    """A postings stream held in memory (a built index)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.name = "<memory>"

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __len__(self) -> int:
        return len(self.array)

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.array[start:stop]

    def save(self, path: Path) -> None:
        np.save(path, self.array)

    def close(self) -> None:
        pass


class _FileStream:
    """A postings stream in a one-dimensional ``.npy`` file, read a slice at a time by
    position (:class:`~retrieval.positional_file.PositionalFile`): nothing is memory-mapped,
    so a question's postings are not left in the process's memory (a mapping faults in 64 KiB
    around every page touched, and common words' lists are long), and threads read at once.
    The file closes with :meth:`close`, or when the stream is collected."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise IndexCorruptError(f"index file {path} has an unknown header: run `hoptac reindex`")
            self._data = handle.tell()
        self._dtype = np.dtype(dtype)
        self._length = int(np.prod(shape))
        self._file = PositionalFile(path)
        size, expected = self._file.size, self._data + self._length * self._dtype.itemsize
        if len(shape) != 1 or self._dtype.hasobject or size != expected:
            self.close()
            raise IndexCorruptError(
                f"index file {path} is truncated or overwritten ({size:,} bytes, not {expected:,}): "
                "run `hoptac reindex`"
            )

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    def __len__(self) -> int:
        return self._length

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty(max(stop - start, 0), dtype=self._dtype)
        self._file.read_into(self._data + start * self._dtype.itemsize, out.data.cast("B"))
        return out

    def save(self, path: Path) -> None:
        """Copy to ``path`` as ``.npy``, a few megabytes at a time."""
        with path.open("wb") as out:
            header = {"descr": np.lib.format.dtype_to_descr(self._dtype), "fortran_order": False}
            np.lib.format.write_array_header_1_0(out, {**header, "shape": (self._length,)})
            step = _ENCODE_POSTINGS
            for start in range(0, self._length, step):
                self.read(start, min(start + step, self._length)).tofile(out)

    def close(self) -> None:
        self._file.close()


_Stream = _ArrayStream | _FileStream


class Postings:
    """Term frequencies of some documents, plus each document's length in tokens. Immutable.

    An inverted index: token ``i`` (its column in :attr:`vocabulary`) has the postings
    ``indptr[i]:indptr[i + 1]``; their counts are that slice of the ``tf`` stream (one byte
    each unless a count exceeds 255), and their ascending document ids are the bytes
    ``doc_offsets[i]:doc_offsets[i + 1]`` of the ``doc_gaps`` stream, as LEB128 varints of
    the gaps between them (the first id as itself). Most gaps of a large collection take one
    byte, so a posting takes about 2.3 bytes instead of 6. Loaded, the two streams are read
    from their files a token at a time (:class:`_FileStream`); the offsets and lengths are
    small and memory-mapped or read whole.
    """

    FILES = (
        *Vocabulary.FILES,
        "postings_indptr.npy",
        "postings_doc_offsets.npy",
        "postings_doc_gaps.npy",
        "postings_tf.npy",
        "postings_lengths.npy",
    )

    def __init__(
        self,
        vocabulary: Vocabulary,
        indptr: np.ndarray,
        doc_offsets: np.ndarray,
        doc_gaps: _Stream,
        tf: _Stream,
        lengths: np.ndarray,
    ) -> None:
        self.vocabulary = vocabulary
        self.indptr = indptr
        self.doc_offsets = doc_offsets
        self.doc_gaps = doc_gaps
        self.tf = tf
        self.lengths = lengths  # an empty document counts as one (empty) token, as in bm25s
        self.blocks: Blocks | None = None  # the long lists' skip data (retrieval/local/blocks.py), once saved

    @classmethod
    def from_lists(
        cls, vocabulary: Vocabulary, indptr: np.ndarray, docs: np.ndarray, tf: np.ndarray, lengths: np.ndarray
    ) -> Postings:
        """Postings of CSR arrays: token ``i``'s documents ``docs[indptr[i]:indptr[i + 1]]``
        (ascending) with their counts in ``tf``."""
        doc_offsets, doc_gaps = _encode_doc_ids(indptr, docs)
        counts = np.asarray(tf).astype(_count_dtype(int(np.max(tf, initial=0))))
        total = int(indptr[-1]) if len(indptr) else 0
        return cls(
            vocabulary,
            np.asarray(indptr).astype(_offset_dtype(total)),
            doc_offsets,
            _ArrayStream(doc_gaps),
            _ArrayStream(counts),
            np.asarray(lengths, dtype=np.int32),
        )

    @classmethod
    def build(cls, token_lists: Iterable[list[str]]) -> Postings:
        """The postings of ``token_lists``, one list of tokens a document (:class:`PostingsBuilder`)."""
        builder = PostingsBuilder()
        for tokens in token_lists:
            builder.add(tokens)
        return builder.finish()

    @property
    def documents(self) -> int:
        return len(self.lengths)

    def _span(self, token: str) -> tuple[int, int, int] | None:
        column = self.vocabulary.get(token)
        if column is None:
            return None
        return column, int(self.indptr[column]), int(self.indptr[column + 1])

    def count(self, token: str) -> int:
        """How many documents contain ``token`` (read from the offsets, nothing decoded)."""
        span = self._span(token)
        return 0 if span is None else span[2] - span[1]

    def _doc_ids(self, column: int, postings: int) -> np.ndarray:
        start, stop = int(self.doc_offsets[column]), int(self.doc_offsets[column + 1])
        gaps = decode_varints(self.doc_gaps.read(start, stop))
        if len(gaps) != postings:
            raise IndexCorruptError(f"index file {self.doc_gaps.name} is corrupt: run `hoptac reindex`")
        return np.cumsum(gaps, dtype=np.int64)

    def documents_with(self, token: str) -> np.ndarray | None:
        """The documents that contain ``token``, ascending (None if none does)."""
        span = self._span(token)
        return None if span is None else self._doc_ids(span[0], span[2] - span[1])

    def postings_of(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The documents that contain ``token`` and how often (None if none does)."""
        span = self._span(token)
        if span is None:
            return None
        column, start, stop = span
        return self._doc_ids(column, stop - start), self.tf.read(start, stop)

    def length_norm(self, average_length: float) -> np.ndarray:
        """BM25's per-document term of the denominator: k1 * (1 - b + b * length / avgdl)."""
        return K1 * (1 - B + B * self.lengths.astype(np.float64) / average_length)

    def bm25(
        self,
        query_tokens: Sequence[str],
        document_frequency: Callable[[str], int],
        documents: int,
        average_length: float,
    ) -> np.ndarray:
        """bm25s's "lucene" BM25 of every document here, given the collection's statistics:
        sum over query tokens of idf(df, N) * tf / (tf + k1 * (1 - b + b * length / avgdl)).
        Like bm25s, a token repeated in the query counts once per repetition."""
        scores = np.zeros(self.documents, dtype=np.float64)
        if average_length <= 0:
            return scores.astype(np.float32)
        norm: np.ndarray | None = None
        for token in query_tokens:
            found = self.postings_of(token)
            if found is None:
                continue
            if norm is None:
                norm = self.length_norm(average_length)
            _add_bm25(scores, norm, found, bm25_idf(document_frequency(token), documents))
        return scores.astype(np.float32)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.vocabulary.save(directory)
        np.save(directory / "postings_indptr.npy", self.indptr)
        np.save(directory / "postings_doc_offsets.npy", self.doc_offsets)
        self.doc_gaps.save(directory / "postings_doc_gaps.npy")
        self.tf.save(directory / "postings_tf.npy")
        np.save(directory / "postings_lengths.npy", self.lengths)
        self.blocks = write_blocks(self, directory)

    @classmethod
    def load(cls, directory: Path) -> Postings:
        """Open the postings: offsets memory-mapped, the two streams read when asked (see
        :class:`_FileStream`). Raises :class:`IndexCorruptError`, naming the file, when a
        stream is shorter or longer than its offsets say."""
        indptr = np.load(directory / "postings_indptr.npy", mmap_mode="r")
        doc_offsets = np.load(directory / "postings_doc_offsets.npy", mmap_mode="r")
        vocabulary = Vocabulary.load(directory)
        lengths = np.load(directory / "postings_lengths.npy")
        doc_gaps = _FileStream(directory / "postings_doc_gaps.npy")
        tf = _FileStream(directory / "postings_tf.npy")
        postings = cls(vocabulary, indptr, doc_offsets, doc_gaps, tf, lengths)
        postings.blocks = load_blocks(directory, tf.dtype)
        for stream, offsets in ((doc_gaps, doc_offsets), (tf, indptr)):
            if len(offsets) != len(vocabulary) + 1 or len(stream) != int(offsets[-1]):
                postings.close()
                raise IndexCorruptError(
                    f"index file {stream.name} does not match its offsets "
                    f"({len(stream):,} entries, not {int(offsets[-1]) if len(offsets) else 0:,}): run `hoptac reindex`"
                )
        if doc_gaps.dtype != np.uint8 or tf.dtype.kind != "u":
            postings.close()
            raise IndexCorruptError(
                f"index files {doc_gaps.name} and {tf.name} have the wrong type: run `hoptac reindex`"
            )
        return postings

    def close(self) -> None:
        """Close the streams' files (a loaded index's; also done when it is collected). Only
        once no thread is reading from them."""
        self.doc_gaps.close()
        self.tf.close()


class PostingsBuilder:
    """Builds :class:`Postings` a document at a time (:meth:`add`), so that the caller can let
    each document's text go once it is tokenised.

    Counts the tokens of each document a batch at a time, then (:meth:`finish`) places every
    batch's postings at their token's place and encodes them, a slice of tokens at a time
    (:func:`_place_and_encode`). At the peak a posting takes about 5.6 bytes: its batch's
    local document (2) and count (1), the token runs (a few bytes per token a batch has),
    and its place in the counts (1) and in the encoded stream (about 1.3, twice while the
    slices are joined); it took 12 before (docs/benchmarks.md, the build's memory)."""

    def __init__(self) -> None:
        self._vocabulary: dict[str, int] = {}
        self._lengths = array.array("q")
        self._batches: list[_Batch] = []
        self._batch = array.array("q")
        self._batch_start = 0

    def add(self, tokens: list[str]) -> None:
        """The next document's tokens, in order."""
        tokens = tokens or [""]
        self._lengths.append(len(tokens))
        vocabulary = self._vocabulary
        self._batch.extend(vocabulary.setdefault(t, len(vocabulary)) for t in tokens)
        if len(self._lengths) - self._batch_start >= _BUILD_BATCH:
            self._flush()

    def _flush(self) -> None:
        # One (token, document) key per occurrence; unique keys with their counts are the postings.
        ids = np.frombuffer(self._batch, dtype=np.int64)
        n_docs = len(self._lengths) - self._batch_start
        lengths = np.array(self._lengths[self._batch_start :], dtype=np.int64)
        local = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        keys, tf = np.unique(ids * n_docs + local, return_counts=True)
        del ids, local
        column, doc = np.divmod(keys, n_docs)
        del keys
        self._batches.append(_Batch.of(self._batch_start, column, doc, tf))
        self._batch, self._batch_start = array.array("q"), len(self._lengths)

    def finish(self) -> Postings:
        """The postings of every document added; the builder is spent."""
        if len(self._lengths) > self._batch_start:
            self._flush()
        indptr, doc_offsets, doc_gaps, counts = _place_and_encode(self._batches, len(self._vocabulary))
        self._batches = []
        return Postings(
            Vocabulary(self._vocabulary),
            indptr.astype(_offset_dtype(int(indptr[-1]))),
            doc_offsets,
            _ArrayStream(doc_gaps),
            _ArrayStream(counts),
            np.array(self._lengths, dtype=np.int32),
        )


class _Batch:
    """One batch's postings, sorted by token then document, as runs of one token each."""

    def __init__(
        self, first_doc: int, run_tokens: np.ndarray, run_ends: np.ndarray, local: np.ndarray, count: np.ndarray
    ) -> None:
        self.first_doc = first_doc
        self.run_tokens = run_tokens  # int32, ascending: each run's token column
        self.run_ends = run_ends  # int32: where each run ends in ``local`` and ``count``
        self.local = local  # uint16: each posting's document, counted from ``first_doc``
        self.count = count  # each posting's term count

    @classmethod
    def of(cls, first_doc: int, column: np.ndarray, doc: np.ndarray, tf: np.ndarray) -> _Batch:
        starts = np.flatnonzero(np.diff(column, prepend=-1))
        ends = np.append(starts[1:], len(column)).astype(np.int32)  # a batch holds far fewer than 2**31 postings
        count = tf.astype(_count_dtype(int(tf.max(initial=0))))
        return cls(first_doc, column[starts].astype(np.int32), ends, doc.astype(np.uint16), count)

    def runs_of(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The runs of tokens ``first`` to ``last - 1``: their tokens, their lengths, and the
        postings they span (start, stop)."""
        lo, hi = np.searchsorted(self.run_tokens, (first, last))
        start = int(self.run_ends[lo - 1]) if lo else 0
        stop = int(self.run_ends[hi - 1]) if hi > lo else start
        ends = self.run_ends[lo:hi]
        lengths = np.diff(ends, prepend=start)
        return self.run_tokens[lo:hi], lengths, start, stop


def _place_and_encode(batches: list[_Batch], tokens: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every batch's postings placed by token and encoded: (indptr, each token's byte offset
    in the document stream, the stream, the counts). A counting sort, a slice of whole tokens
    at a time: each token's postings from batch after batch follow one another, so its
    documents stay ascending, and no array of every posting's document is made (at a million
    passages that array and the batches' token columns were 8 of the 12 bytes a posting took
    at the build's peak)."""
    postings = np.zeros(tokens, dtype=np.int64)
    for batch in batches:
        postings[batch.run_tokens] += np.diff(batch.run_ends, prepend=0)
    indptr = np.zeros(tokens + 1, dtype=np.int64)
    np.cumsum(postings, out=indptr[1:])
    del postings
    count_type = np.result_type(np.uint8, *(batch.count.dtype for batch in batches))
    counts = np.empty(int(indptr[-1]), dtype=count_type)

    def place(first: int, last: int, start: int, stop: int) -> np.ndarray:
        """The documents of tokens ``first`` to ``last - 1`` from every batch (their counts
        into ``counts``), each token's ascending."""
        ids = np.empty(stop - start, dtype=np.uint32)
        cursor = indptr[first:last] - start
        for batch in batches:
            run_tokens, run_lengths, begin, end = batch.runs_of(first, last)
            if begin == end:
                continue
            places = np.repeat(cursor[run_tokens - first] - (np.cumsum(run_lengths) - run_lengths), run_lengths)
            places += np.arange(end - begin)
            ids[places] = batch.local[begin:end].astype(np.uint32) + batch.first_doc
            counts[start + places] = batch.count[begin:end]
            cursor[run_tokens - first] += run_lengths
        return ids

    offsets, stream = _encode_by_slices(indptr, place)
    return indptr, offsets, stream, counts


def _add_bm25(scores: np.ndarray, norm: np.ndarray, postings: tuple[np.ndarray, np.ndarray], idf: float) -> None:
    """Add one query token's BM25 terms to ``scores`` (float64, in place): ``idf * tf / (tf +
    norm)`` per posting, computed in place in two buffers (a common word has a posting in
    most passages of a million)."""
    docs, counts = postings
    tf = counts.astype(np.float64)
    terms = norm[docs]
    np.add(tf, terms, out=terms)
    np.multiply(tf, idf, out=tf)
    np.divide(tf, terms, out=terms)
    scores[docs] += terms


class LexicalIndex:
    """BM25 over the documents of one or more :class:`Postings` taken as one collection (the
    first part's documents first), plus document frequencies for query-term coverage.

    Documents that ``live`` marks False (superseded or deleted articles after an incremental
    ingest) score 0 and are left out of the statistics: N, df and avgdl are those of the
    live documents, so scores are exactly those of an index rebuilt from the live documents
    alone. The formula is bm25s's "lucene" variant (see :func:`bm25_idf`, :data:`K1`, :data:`B`).
    """

    def __init__(self, parts: Sequence[Postings], live: np.ndarray | None = None) -> None:
        self.parts = list(parts)
        sizes = [part.documents for part in self.parts]
        self._starts = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self._live = live  # None: every document is live
        self._live_parts = [None if live is None else live[a:b] for a, b in itertools.pairwise(self._starts)]
        if live is None:
            self.documents = sum(sizes)
            total = sum(int(part.lengths.sum(dtype=np.int64)) for part in self.parts)
        else:
            self.documents = int(live.sum())
            total = sum(
                int(part.lengths[alive].sum(dtype=np.int64))
                for part, alive in zip(self.parts, self._live_parts, strict=True)
            )
        self.average_length = total / self.documents if self.documents else 0.0
        #: Each part's :meth:`Postings.length_norm`, made on first use (8 MB a million passages).
        self._norms: list[np.ndarray | None] = [None] * len(self.parts)

    @classmethod
    def build(cls, token_lists: Iterable[list[str]]) -> LexicalIndex:
        return cls([Postings.build(token_lists)])

    def save(self, directory: Path) -> None:
        """Write an index of one part with every document live (as :meth:`build` makes it)."""
        if len(self.parts) != 1 or self._live is not None:
            raise ValueError("only an index of one part, all live, is saved whole; save its parts instead")
        self.parts[0].save(directory)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        return cls([Postings.load(directory)])

    def document_frequency(self, token: str) -> int:
        """How many live documents contain ``token`` (a part with dead documents decodes its
        list; one without only reads its length)."""
        frequency = 0
        for part, alive in zip(self.parts, self._live_parts, strict=True):
            if alive is None:
                frequency += part.count(token)
            else:
                docs = part.documents_with(token)
                frequency += 0 if docs is None else int(alive[docs].sum())
        return frequency

    def _live_count(self, found: Sequence[tuple[np.ndarray, np.ndarray] | None]) -> int:
        """:meth:`document_frequency` of a token whose postings in each part are ``found``."""
        frequency = 0
        for postings, alive in zip(found, self._live_parts, strict=True):
            if postings is not None:
                frequency += len(postings[0]) if alive is None else int(alive[postings[0]].sum())
        return frequency

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (0 where no query token occurs, and for dead ones).

        Token by token, each part's postings are read once and serve both the token's
        document frequency and its scores; each part adds its tokens in query order, with
        the arithmetic of :meth:`Postings.bm25`, so the scores are the same to the bit."""
        sums = [np.zeros(part.documents, dtype=np.float64) for part in self.parts]
        norms = self._norms
        frequencies: dict[str, int] = {}
        for token in query_tokens if self.average_length > 0 else ():
            found = [part.postings_of(token) for part in self.parts]
            if token not in frequencies:
                frequencies[token] = self._live_count(found)
            idf = bm25_idf(frequencies[token], self.documents)
            for i, postings in enumerate(found):
                if postings is not None:
                    norm = norms[i]
                    if norm is None:
                        norm = norms[i] = self.parts[i].length_norm(self.average_length)
                    _add_bm25(sums[i], norm, postings, idf)
        parts = [part_sums.astype(np.float32) for part_sums in sums]
        scores = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        if self._live is not None:
            scores[~self._live] = 0.0
        return scores

    def idf(self, token: str) -> float:
        """Smoothed inverse document frequency; unseen tokens get the highest weight."""
        return bm25_idf(self.document_frequency(token), self.documents)
