"""`hoptac bench` end to end on a tiny corpus with the fast fake embedder (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hoptac.bench import BenchConfig, format_report, make_questions, plot_report, run_bench
from hoptac.settings import Settings
from retrieval.corpus import read_corpus
from tests.conftest import CORPUS, HashingEmbedder


class BenchEmbedder(HashingEmbedder):
    """The fake embedder with the extra surface the benchmark uses."""

    name = "test:hashing-64"

    def encode_raw(self, texts, kind="passage"):  # type: ignore[no-untyped-def]
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)

    def with_cache(self, cache, sentence_vectors=None):  # type: ignore[no-untyped-def]
        return BenchEmbedder()


def _news_jsonl(path: Path, count: int = 40) -> Path:
    article = read_corpus(CORPUS).articles[0]
    paragraphs = [p for p in article.text.split("\n\n") if len(p) > 80]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            body = " ".join(paragraphs[(i + j) % len(paragraphs)] for j in range(3)) + f" Bài số {i}."
            record = {
                "id": f"n{i}",
                "title": f"Tin hợp tác số {i}: {paragraphs[i % len(paragraphs)][:40]}",
                "body": body,
                "published": "2019-10-05T21:36:00+07:00",
                "source": "Báo thử",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def test_bench_reports_every_measurement(tmp_path: Path) -> None:
    jsonl = _news_jsonl(tmp_path / "news.jsonl")
    settings = Settings(corpus_dir=tmp_path / "unused", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    config = BenchConfig(
        jsonl=jsonl,
        sizes=[20, 60],
        work_dir=tmp_path / "bench",
        questions=12,
        warmup=2,
        askers=(1, 4),
        bot_askers=(1, 2),
        bot_questions=2,
        ingest_sample=3,
        cold_start=False,
    )
    logged: list[str] = []
    report = run_bench(settings, config, logged.append, embedder=BenchEmbedder())  # type: ignore[arg-type]

    assert [row["size"] for row in report["sizes"]] == [20, 60]
    for row in report["sizes"]:
        assert row["passages"] >= row["size"]
        assert row["latency"]["questions"] == 12
        assert row["latency"]["ask_ms"]["p50"] > 0 and row["latency"]["floor_ms"]["p50"] > 0
        assert [c["askers"] for c in row["concurrency"]] == [1, 4]
        assert all(c["questions"] == 12 for c in row["concurrency"])  # every question answered once
        assert 0.0 <= row["ann"]["recall_at_10"] <= 1.0
        assert row["incremental_ingest"]["passages_added"] >= 1
    assert [row["askers"] for row in report["bot"]["askers"]] == [1, 2]
    assert all(row["lost"] == 0 and row["answered"] == row["questions"] for row in report["bot"]["askers"])
    assert report["ingest"]["passages"] >= 3 and report["ingest"]["ratio"] > 0
    table = format_report(report)
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 6  # 2 sizes, 2 bot rounds, headers
    assert "Ingest with an empty cache" in table and "2 askers: p95 =" in table
    plot_report(report, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"

    # A second run reuses the built indexes: nothing new is embedded for the sizes.
    again = run_bench(settings, config, logged.append, embedder=BenchEmbedder())  # type: ignore[arg-type]
    assert [row["articles"] for row in again["sizes"]] == [row["articles"] for row in report["sizes"]]


def test_bench_skips_sizes_the_file_cannot_fill(tmp_path: Path) -> None:
    jsonl = _news_jsonl(tmp_path / "news.jsonl", count=12)
    settings = Settings(corpus_dir=tmp_path / "unused", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    config = BenchConfig(
        jsonl=jsonl,
        sizes=[10_000],
        work_dir=tmp_path / "bench",
        questions=3,
        warmup=1,
        askers=(1,),
        bot_askers=(),
        ingest_sample=2,
        cold_start=False,
        ann=False,
    )
    report = run_bench(settings, config, lambda _: None, embedder=BenchEmbedder())  # type: ignore[arg-type]
    assert report["sizes"] == []
    assert report["skipped"][0]["size"] == 10_000
    assert "Skipped 10,000 passages" in format_report(report)


def test_questions_mix_titles_unaccented_titles_and_sentences() -> None:
    article = read_corpus(CORPUS).articles[0]
    questions = make_questions([article] * 3, 3)
    assert questions[0] == article.title
    assert questions[1].isascii() and questions[1] != article.title
    assert len(questions[2].split()) == 10


def test_bench_cli_rejects_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hoptac.cli import main

    code = main(["bench", "--jsonl", str(tmp_path / "absent.jsonl"), "--data-dir", str(tmp_path)])
    assert code == 1
    assert "no such file" in capsys.readouterr().err


def test_report_states_recall_on_real_vectors_when_some_were_synthetic() -> None:
    timing = {"p50": 1.0, "p95": 2.0, "p99": 3.0, "mean": 1.0}
    row = {
        "size": 100,
        "articles": 10,
        "passages": 100,
        "index_bytes": 1_000_000,
        "latency": {"ask_ms": timing, "floor_ms": timing, "overhead_p95": 1.0},
        "concurrency": [{"askers": 1, "questions_per_s": 5.0}],
        "ann": {"recall_at_10": 0.9},
        "ann_real": {"recall_at_10": 0.97, "vectors": 40, "hnsw_ms": timing, "exact_ms": timing},
        "incremental_ingest": {"seconds": 0.5},
        "synthetic_share": 0.6,
        "synthetic_passage_share": 0.6,
    }
    table = format_report({"sizes": [row], "synthetic_vectors": True})
    assert "HNSW recall@10 on the 40 real passage vectors of the 100 index alone: 0.970" in table
    assert "Synthetic vectors" in table


@pytest.mark.model
def test_ingest_is_measured_in_both_ways_of_making_sentence_vectors(tmp_path: Path, model_dir: Path) -> None:
    from hoptac.bench import measure_ingest_throughput
    from retrieval.embedding import DEFAULT_MODEL, Embedder

    settings = Settings(corpus_dir=tmp_path / "unused", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    embedder = Embedder.load(DEFAULT_MODEL, model_dir.parent, None, sentence_vectors=settings.sentence_vectors)
    lines = _news_jsonl(tmp_path / "news.jsonl", count=2).read_text("utf-8").splitlines(keepends=True)
    result = measure_ingest_throughput(settings, embedder, lines, 2, tmp_path / "work")

    assert result is not None
    assert (result["sentence_vectors"], result["other_sentence_vectors"]) == ("span", "standalone")
    assert result["ratio"] > 0 and result["other_ratio"] > 0
    assert result["standalone_ratio_to_passages_and_sentences"] > 0
    text = format_report({"sizes": [], "ingest": result})
    assert "sentence vectors span" in text and 'With `sentence_vectors = "standalone"`' in text
