"""Questions asked at the same moment share one forward pass, and each gets its own vector."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.embedding.embedder import QueryBatcher


class SlowModel:
    """Encodes a text as [len(text)]; the first batch waits until the test releases it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        self.started.set()
        self.release.wait(timeout=10)
        if "boom" in texts:
            raise RuntimeError("model failed")
        return np.array([[float(len(t))] for t in texts], dtype=np.float32)


def _until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        threading.Event().wait(0.001)


def test_questions_arriving_during_a_batch_share_the_next_one() -> None:
    model = SlowModel()
    batcher = QueryBatcher(model)
    texts = ["a", "bb", "ccc", "dddd"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(batcher.encode, texts[0])
        assert model.started.wait(timeout=10)
        rest = [pool.submit(batcher.encode, t) for t in texts[1:]]
        _until(lambda: batcher.waiting == 3)
        model.release.set()
        vectors = [first.result(timeout=10)] + [f.result(timeout=10) for f in rest]
    assert [float(v[0]) for v in vectors] == [1.0, 2.0, 3.0, 4.0]  # each its own vector
    assert model.batches == [["a"], ["bb", "ccc", "dddd"]]


def test_a_failing_batch_fails_only_its_own_questions() -> None:
    model = SlowModel()
    batcher = QueryBatcher(model)
    model.release.set()
    with pytest.raises(RuntimeError, match="model failed"):
        batcher.encode("boom")
    assert float(batcher.encode("ok")[0]) == 2.0  # the batcher is usable afterwards


class ThreadsSeen:
    """A model that records torch's intra-op threads at each call."""

    def __init__(self) -> None:
        self.prompts: dict[str, str] = {}
        self.threads: list[int] = []

    def get_sentence_embedding_dimension(self) -> int:
        return 2

    def encode(self, texts, **_: object) -> np.ndarray:  # type: ignore[no-untyped-def]
        import torch

        self.threads.append(torch.get_num_threads())
        return np.ones((len(texts), 2), dtype=np.float32)


def test_a_batch_of_several_questions_leaves_the_other_cores_to_their_askers() -> None:
    import torch

    from retrieval.embedding.embedder import Embedder

    model = ThreadsSeen()
    embedder = Embedder(model, "test", None)
    before = torch.get_num_threads()
    embedder._encode_queries(["one"])
    embedder._encode_queries(["one", "two"])
    assert model.threads == [before, 1]
    assert torch.get_num_threads() == before  # restored after the batch
