"""`hoptac bench` end to end on a tiny corpus with the fast fake embedder (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hoptac.settings import Settings
from measure.bench import BenchConfig, format_report, make_questions, plot_report, run_bench
from measure.bench.workspace import settings_for
from retrieval.articles.corpus import read_corpus
from retrieval.local.corpus_state import CorpusStateStore
from retrieval.local.engine import LocalEngine
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


def _quick_bench(tmp_path: Path, jsonl: Path, size: int, questions: int) -> dict:  # type: ignore[type-arg]
    """One size, answered by one asker, no bot askers, cold start or ANN."""
    settings = Settings(corpus_dir=tmp_path / "unused", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    config = BenchConfig(
        jsonl=jsonl,
        sizes=[size],
        work_dir=tmp_path / "bench",
        questions=questions,
        warmup=1,
        askers=(1,),
        bot_askers=(),
        ingest_sample=2,
        cold_start=False,
        ann=False,
    )
    return run_bench(settings, config, lambda _: None, embedder=BenchEmbedder())  # type: ignore[arg-type]


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
        assert sum(row["index_bytes_by_component"].values()) == row["index_bytes"]
        assert row["pseudo_articles"] == row["pseudo_passages"] == 0  # the file has enough articles
        # The new article went into a copy: the corpus state, updated in place, is not shared with it.
        index_root = tmp_path / "bench" / str(row["size"]) / "data" / "index"
        assert CorpusStateStore(index_root).version() == (index_root / "CURRENT").read_text("utf-8").strip()
    assert [row["askers"] for row in report["bot"]["askers"]] == [1, 2]
    assert all(row["lost"] == 0 and row["answered"] == row["questions"] for row in report["bot"]["askers"])
    assert report["ingest"]["passages"] >= 3 and report["ingest"]["ratio"] > 0
    table = format_report(report)
    # 2 sizes and the header in the main table and in the disk one, 2 bot rounds and the header
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 9
    assert "Index on disk by component (MB):" in table
    assert "Ingest with an empty cache" in table and "2 askers: p95 =" in table
    plot_report(report, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"

    # A second run reuses the built indexes: nothing new is embedded for the sizes.
    again = run_bench(settings, config, logged.append, embedder=BenchEmbedder())  # type: ignore[arg-type]
    assert [row["articles"] for row in again["sizes"]] == [row["articles"] for row in report["sizes"]]


def test_bench_skips_sizes_the_file_cannot_fill(tmp_path: Path) -> None:
    jsonl = _news_jsonl(tmp_path / "news.jsonl", count=12)
    report = _quick_bench(tmp_path, jsonl, size=10_000, questions=3)
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


def test_bench_reads_the_news_of_the_shared_data_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hoptac.cli import main

    monkeypatch.setenv("HOPTAC_SHARED_DATA_DIR", str(tmp_path / "shared"))
    assert main(["bench", "--data-dir", str(tmp_path)]) == 1
    assert f"no such file: {tmp_path / 'shared' / 'news-vi' / 'baomoi-2017.jsonl.gz'}" in capsys.readouterr().err


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


def test_report_has_a_line_a_size_for_disk_and_memory_by_component(tmp_path: Path) -> None:
    from measure.bench.footprint import COMPONENTS

    timing = {"p50": 1.0, "p95": 2.0, "p99": 3.0, "mean": 1.0}
    disk = {key: (i + 1) * 2**20 for i, key in enumerate(COMPONENTS)}
    memory = {**{key: float(i) for i, key in enumerate(COMPONENTS)}, "anonymous_and_other": 900.0}
    row = {
        "size": 1_000_000,
        "articles": 150_000,
        "passages": 1_000_003,
        "pseudo_articles": 115_000,
        "pseudo_passages": 760_000,
        "index_bytes": sum(disk.values()),
        "index_bytes_by_component": disk,
        "latency": {"ask_ms": timing, "floor_ms": timing, "overhead_p95": 1.0},
        "concurrency": [{"askers": 1, "questions_per_s": 5.0}],
        "incremental_ingest": {"seconds": 0.5},
        "cold_start": {
            "model_and_index_s": 3.0,
            "peak_rss_mb": 1500.0,
            "rss_after_imports_mb": 120.0,
            "model_loaded_s": 1.5,
            "rss_model_loaded_mb": 700.0,
            "index_loaded_s": 2.5,
            "rss_index_loaded_mb": 950.0,
            "memory_by_component_mb": memory,
        },
    }
    report = {"sizes": [row], "real_articles": 34_820, "machine": {"cpus": 2}, "model": "test"}
    table = format_report(report)
    assert "| 1,000,003 | 1.0 | 2.0 | 3.0 | 4.0 | 5.0 | 6.0 | 7.0 | 28 |" in table  # disk: MB by component, total
    # memory: MB by component, RSS, peak, after imports, as the model and the index finished loading
    memory_line = (
        "| 1,000,003 | 0.0 | 1.0 | 2.0 | 3.0 | 4.0 | 5.0 | 6.0 | 900 | 921 | 1,500 | 120 "
        "| 700 MB at 1.50 s | 950 MB at 2.50 s |"
    )
    assert memory_line in table
    assert "1,000,003: 115,000 of 150,000 articles (760,000 passages)" in table
    plot_report(report, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.model
def test_ingest_is_measured_in_both_ways_of_making_sentence_vectors(tmp_path: Path, model_dir: Path) -> None:
    from measure.bench import measure_ingest_throughput
    from retrieval.embedding.embedder import DEFAULT_MODEL, Embedder

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


def _distinct_news_jsonl(path: Path) -> Path:
    """Ten articles with no paragraph in common, four of two paragraphs of the corpus article,
    six of one."""
    article = read_corpus(CORPUS).articles[0]
    paragraphs = [p for p in article.text.split("\n\n") if len(p) > 80 and not p.startswith("> ")]
    bodies = [paragraphs[i] + "\n" + paragraphs[i + 1] for i in range(0, 8, 2)] + paragraphs[8:14]
    with path.open("w", encoding="utf-8") as out:
        for i, body in enumerate(bodies):
            record = {
                "id": f"real{i}",
                "title": f"Tin số {i}: {body[:50]}",
                "body": body,
                "published": f"2019-10-{i + 1:02d}T08:00:00+07:00",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def test_pseudo_articles_are_real_sentences_of_two_real_articles(tmp_path: Path) -> None:
    from measure.bench import load_sample
    from measure.bench.corpus import import_lines
    from retrieval.articles.passages import passage_windows
    from retrieval.articles.sentences import split_sentences

    jsonl = _distinct_news_jsonl(tmp_path / "news.jsonl")
    sample = load_sample(jsonl, 10**6, lambda _: None)  # more than any number of rounds makes
    real = sample.real_count
    count = len(sample.passages)
    assert sample.pseudo_articles(count) == count - real == (real - 1) * real  # every round made
    assert sample.pseudo_passages(count) == sum(sample.passages) - sum(sample.passages[:real])
    held_out = {json.loads(line)["id"] for line in sample.held_out_lines}
    assert held_out and not held_out & {a.id for a in sample.real_articles}

    ids = [a.id for a in sample.articles]
    assert len(set(ids)) == len(ids) == count  # every id unique, pseudo ones included
    for k in range(real, count):
        lead_row, round_ = sample.pseudo_leads[k - real], sample.pseudo_rounds[k - real]
        lead, tail = sample.real_articles[lead_row], sample.real_articles[sample.plan.partner(lead_row, round_)]
        article = sample.articles[k]
        assert lead.id != tail.id
        assert article.id == f"{lead.id}~r{round_}" and article.title == tail.title
        assert article.published == lead.published
        # Every paragraph an exact slice of one of the two, and each of them gives at least one.
        paragraphs = article.text.split("\n\n")
        assert all(p in lead.text or p in tail.text for p in paragraphs)
        assert any(p in lead.text and p not in tail.text for p in paragraphs)
        assert any(p in tail.text and p not in lead.text for p in paragraphs)
        sentences = split_sentences(article)
        assert sentences and all(s.text in lead.text or s.text in tail.text for s in sentences)
        # Passed through the product's importer, counted with its splitter and windows.
        assert import_lines([sample.lines[k]])[0][1] == article
        assert sample.passages[k] == len(passage_windows(sentences))

    again = load_sample(jsonl, 10**6, lambda _: None)
    assert list(again.lines) == list(sample.lines)  # deterministic
    other_seed = load_sample(jsonl, 10**6, lambda _: None, seed=5)
    assert list(other_seed.lines)[:real] == list(sample.lines)[:real]
    assert list(other_seed.lines)[real:] != list(sample.lines)[real:]
    # A smaller size is a prefix of a larger one's articles.
    smaller = load_sample(jsonl, sum(sample.passages[: real + 5]), lambda _: None)
    assert list(smaller.lines) == list(sample.lines)[: real + 5]


def test_pseudo_articles_refuse_real_ids_that_look_like_theirs(tmp_path: Path) -> None:
    from measure.bench import load_sample

    jsonl = _distinct_news_jsonl(tmp_path / "news.jsonl")
    jsonl.write_text(jsonl.read_text("utf-8").replace('"real3"', '"real3~r1"'), "utf-8")
    assert load_sample(jsonl, 5, lambda _: None).real_count >= 1  # no pseudo-articles needed: fine
    with pytest.raises(ValueError, match="'real3~r1' contains '~r'"):
        load_sample(jsonl, 10**6, lambda _: None)


def test_bench_fills_a_size_beyond_the_real_articles_with_pseudo_articles(tmp_path: Path) -> None:
    jsonl = _distinct_news_jsonl(tmp_path / "news.jsonl")
    report = _quick_bench(tmp_path, jsonl, size=40, questions=4)
    (row,) = report["sizes"]
    assert row["passages"] >= 40 > report["real_passages"]
    assert row["articles"] == report["real_articles"] + row["pseudo_articles"]
    assert row["passages"] == report["real_passages"] + row["pseudo_passages"]
    assert "Pseudo-articles" in format_report(report)


def test_index_files_on_disk_and_in_memory_by_component(settings: Settings) -> None:
    from measure.bench.footprint import ANONYMOUS, COMPONENTS, disk_by_component, memory_by_component, smaps_rss
    from retrieval.local.engine import LocalEngine
    from retrieval.local.index import IndexStore

    engine = LocalEngine(settings.engine_config(), embedder=HashingEmbedder())  # type: ignore[arg-type]
    engine.reindex()
    news = _distinct_news_jsonl(settings.data_dir / "news.jsonl")
    assert engine.ingest([news]).ok  # a delta segment beside the base
    index = engine.index
    assert index.path is not None and index.manifest.delta

    disk = disk_by_component(index.path)
    assert list(disk) == list(COMPONENTS)
    assert sum(disk.values()) == engine.store.size_bytes()
    assert all(disk[key] > 0 for key in COMPONENTS)  # every kind of file is there, the manifest in "other"

    loaded = IndexStore(settings.engine_config().index_root).load()
    for segment in [loaded.base, *loaded.delta]:
        float(np.asarray(segment.passage_vectors.codes, dtype=np.float32).sum())  # touch the mapped pages
    rss = smaps_rss()
    memory = memory_by_component(rss, settings.engine_config().index_root)
    assert list(memory) == [*COMPONENTS, ANONYMOUS]
    assert sum(memory.values()) == sum(rss.values()) * 1024
    assert sum(memory[key] for key in COMPONENTS) > 0  # the mapped index files are resident
    assert memory[ANONYMOUS] > 0


def test_index_file_names_map_to_components() -> None:
    from measure.bench.footprint import component_of

    assert component_of("article_records.bin") == component_of("delta/0001/article_offsets.npy") == "article_text"
    assert component_of("articles.jsonl") == component_of("article_dictionary.bin") == "article_text"
    assert component_of("passage_vectors.npy") == component_of("passage_vectors.f16.npy") == "passage_vectors"
    assert component_of("delta/0002/sentence_vectors.npy") == component_of("sentence_vectors_int8.npy")
    assert component_of("sentence_vectors.npy") == "sentence_vectors"
    assert component_of("postings_doc_gaps.npy") == component_of("vocabulary_tokens.bin") == "lexical_index"
    assert component_of("dense.faiss") == "ann_index"
    assert component_of("sentences.npy") == component_of("delta/0001/passages.npy") == "rows"
    assert component_of("manifest.json") == "other"


def test_the_cold_start_probe_imports_what_the_product_has() -> None:
    # The probe runs in a fresh interpreter, where a stale import only shows as a failed bench
    # run at its very end: every import it makes must resolve, with the methods it wraps.
    from measure.bench.cold_start import _COLD_PROBE

    scope: dict[str, Any] = {}
    for line in _COLD_PROBE.splitlines():
        if line.startswith("from ") and " import " in line:
            exec(line, scope)  # the probe's own import lines
    assert callable(scope["LocalEngine"].open)
    assert callable(scope["Embedder"].load)
    assert callable(scope["IndexStore"].load)


class CountingModel:
    """A sentence-transformers-shaped model that counts the texts it encodes."""

    def __init__(self) -> None:
        self.prompts: dict[str, str] = {}
        self.encoded = 0

    def get_sentence_embedding_dimension(self) -> int:
        return 2

    def encode(self, texts, **_: object) -> np.ndarray:  # type: ignore[no-untyped-def]
        self.encoded += len(texts)
        return np.ones((len(texts), 2), dtype=np.float32) / np.sqrt(2)


def test_a_question_is_embedded_once_until_the_benchmark_forgets_it() -> None:
    from measure.bench.latency import forget_queries
    from retrieval.embedding.embedder import Embedder

    model = CountingModel()
    embedder = Embedder(model, "test:counting", None)

    class Engine:
        def embedder(self) -> Embedder:
            return embedder

    embedder.encode_query("Cầu Đồng Việt ở đâu?")
    embedder.encode_query("Cầu Đồng Việt ở đâu?")
    assert model.encoded == 1  # the second time from the cache
    forget_queries(Engine())
    embedder.encode_query("Cầu Đồng Việt ở đâu?")
    assert model.encoded == 2  # forgotten: a timed question pays for its own pass


def test_a_size_is_built_in_a_fresh_process_that_reports_its_peak_memory_by_step(
    tmp_path: Path, model_dir: Path
) -> None:
    """``hoptac bench`` builds each new index in a new interpreter (the product's ingest, the
    real model with random vectors for what its cache lacks), so the build's peak memory is
    its own; the report names the step of each peak, and the index it built is whole."""
    from measure.bench.build import build_in_fresh_process
    from measure.bench.workspace import open_engine

    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    base = Settings(corpus_dir=tmp_path / "unused", data_dir=data, _env_file=None)  # type: ignore[call-arg]
    folder = tmp_path / "size"
    jsonl = _news_jsonl(tmp_path / "news.jsonl", count=12)
    open_engine(base, folder, BenchEmbedder())  # type: ignore[arg-type]  # the folder's layout, as the bench makes it
    report = build_in_fresh_process(data, folder, jsonl, synthetic=True)
    assert report["build_s"] > 0
    assert report["peak_rss_mb"] >= max(report["peak_by_step_mb"].values()) >= report["rss_before_mb"] > 0
    assert {"embed", "lexical postings", "dense index", "write"} <= set(report["peak_by_step_mb"])
    engine = LocalEngine.open(settings_for(base, folder).engine_config())
    assert engine.index.manifest.articles == 12
    assert engine.index.manifest.passages >= 12
    assert engine.status(verify=True).integrity == "verified"


def test_a_failed_fresh_process_build_says_why_in_one_line(tmp_path: Path, model_dir: Path) -> None:
    from measure.bench.build import build_in_fresh_process
    from measure.bench.workspace import open_engine

    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / model_dir.name).symlink_to(model_dir)
    base = Settings(corpus_dir=tmp_path / "unused", data_dir=data, _env_file=None)  # type: ignore[call-arg]
    open_engine(base, tmp_path / "size", BenchEmbedder())  # type: ignore[arg-type]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n", "utf-8")
    with pytest.raises(RuntimeError, match=r"^the build of .*size failed: \w+") as raised:
        build_in_fresh_process(data, tmp_path / "size", broken, synthetic=True)
    assert "\n" not in str(raised.value)


@pytest.mark.model
def test_the_synthetic_vectors_embedder_asks_with_the_selector(model_dir: Path) -> None:
    # --synthetic-vectors fills passages only: questions still take the selector's pass, as in production.
    from measure.bench.synthetic import SyntheticFillEmbedder
    from retrieval.embedding.answer_selector import SHIPPED
    from retrieval.embedding.embedder import DEFAULT_MODEL, Embedder

    real = Embedder.load(DEFAULT_MODEL, model_dir.parent, None, sentence_vectors="span")
    real.attach_selector(SHIPPED)
    synthetic = SyntheticFillEmbedder(real)
    question = "Cầu Đồng Việt ở đâu?"
    assert synthetic.selector is real.selector
    selection = synthetic.selection_vector(question)
    assert selection is not None
    assert np.allclose(selection, real.selection_vector(question), atol=1e-5)
