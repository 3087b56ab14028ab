"""The benchmark's report for people: Markdown tables and a PNG chart of a ``run_bench`` report.

:func:`format_report` writes one table row a corpus size (answer latency and its floor,
throughput by askers, HNSW recall, new-article ingest, cold start, peak memory, index size),
then a table of the index on disk by component and one of the fresh process's resident
memory by component (a line a size each), the number of pseudo-articles, the
ingest-throughput sentences, the bot's table by number of askers, and notes on synthetic
vectors, recall on real vectors and skipped sizes. :func:`plot_report` draws latency (ask
and floor, p50 and p95), memory and disk against corpus size, and disk and memory by
component.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measure.bench.footprint import ANONYMOUS, COMPONENTS


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def format_report(report: dict[str, Any]) -> str:
    """Markdown tables of a ``run_bench`` report."""
    askers = " / ".join(str(c["askers"]) for c in report["sizes"][0]["concurrency"]) if report["sizes"] else ""
    lines = [
        "| passages | articles | ask p50 / p95 / p99 ms | floor p50 / p95 ms | p95 / floor | "
        f"q/s at {askers} | HNSW recall@10 | new article s | cold start s | peak RSS | index on disk |",
        "|---:|---:|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["sizes"]:
        lat = row["latency"]
        ask, floor = lat["ask_ms"], lat["floor_ms"]
        qps = " / ".join(f"{c['questions_per_s']:.1f}" for c in row["concurrency"])
        ann = f"{row['ann']['recall_at_10']:.3f}" if "ann" in row else "-"
        cold = row.get("cold_start", {})
        cold_s = f"{cold['model_and_index_s']:.2f}" if cold else "-"
        rss = f"{cold['peak_rss_mb']:,.0f} MB" if cold else "-"
        lines.append(
            f"| {row['passages']:,} | {row['articles']:,} | {ask['p50']:.1f} / {ask['p95']:.1f} / {ask['p99']:.1f} "
            f"| {floor['p50']:.1f} / {floor['p95']:.1f} | {lat['overhead_p95']:.2f} | {qps} | {ann} "
            f"| {row['incremental_ingest']['seconds']:.2f} | {cold_s} | {rss} | {_mb(row['index_bytes'])} |"
        )
    builds = [r for r in report["sizes"] if "build" in r]
    if builds:
        lines += [
            "",
            "| passages | build s (fresh process) | build peak RSS | peak by step |",
            "|---:|---:|---:|---|",
        ]
        for row in builds:
            steps = ", ".join(f"{step} {mb:,} MB" for step, mb in row["build"]["peak_by_step_mb"].items())
            build = row["build"]
            lines.append(f"| {row['passages']:,} | {build['build_s']:.0f} | {build['peak_rss_mb']:,} MB | {steps} |")
    lines += _component_tables(report["sizes"])
    lines += _milvus_table(report["sizes"])
    pseudo = [r for r in report["sizes"] if r.get("pseudo_articles")]
    if pseudo:
        made = ", ".join(
            f"{r['passages']:,}: {r['pseudo_articles']:,} of {r['articles']:,} articles "
            f"({r['pseudo_passages']:,} passages)"
            for r in pseudo
        )
        lines += [
            "",
            f"Pseudo-articles (real sentences of two real articles each, beyond the file's "
            f"{report.get('real_articles', 0):,} real articles), by size: {made}.",
        ]
    ingest = report.get("ingest")
    if ingest:
        lines += [
            "",
            f"Ingest with an empty cache (sentence vectors {ingest['sentence_vectors']}): "
            f"{ingest['ingest_passages_per_s']:.1f} passages/s against raw "
            f"`model.encode` {ingest['encode_passages_per_s']:.1f} passages/s on the same {ingest['passages']} "
            f"passages ({ingest['sentences']} sentences): ratio {ingest['ratio']:.2f}.",
        ]
        if ingest.get("other_ratio"):
            lines.append(
                f'With `sentence_vectors = "{ingest["other_sentence_vectors"]}"`: '
                f"{ingest['other_ingest_passages_per_s']:.1f} passages/s, ratio {ingest['other_ratio']:.2f}."
            )
        if ingest.get("standalone_ratio_to_passages_and_sentences"):
            lines.append(
                "Standalone sentence vectors are a second model pass; against raw `model.encode` of the "
                f"passages and their sentences: ratio {ingest['standalone_ratio_to_passages_and_sentences']:.2f}."
            )
    bot = report.get("bot")
    if bot:
        lines += [
            "",
            f"Bot through the fake Bot API server ({bot['size']:,} passages):",
            "",
            "| askers | answered | lost | p50 ms | p95 ms | p99 ms | q/s | worst event-loop lag ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in bot["askers"]:
            lines.append(
                f"| {row['askers']} | {row['answered']} | {row['lost']} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} "
                f"| {row['p99_ms']:.0f} | {row['throughput_qps']:.1f} | {row['loop_lag_max_ms']:.0f} |"
            )
        single = next((r for r in bot["askers"] if r["askers"] == 1), None)
        if single and single["p95_ms"]:
            for row in bot["askers"]:
                if row["askers"] > 1:
                    ratio = row["p95_ms"] / single["p95_ms"]
                    lines.append(f"\n{row['askers']} askers: p95 = {ratio:.1f}x one asker's.")
    if report.get("synthetic_vectors"):
        shares = ", ".join(
            f"{r['passages']:,}: {r.get('synthetic_share')} (passages {r.get('synthetic_passage_share')})"
            for r in report["sizes"]
        )
        lines += ["", f"Synthetic vectors (share of indexed texts not from the model, by size): {shares}."]
    for row in report["sizes"]:
        if "ann_real" in row:
            real = row["ann_real"]
            lines += [
                "",
                f"HNSW recall@10 on the {real['vectors']:,} real passage vectors of the {row['passages']:,} "
                f"index alone: {real['recall_at_10']:.3f} ({real['hnsw_ms']['p50']:.2f} ms a query, "
                f"exact {real['exact_ms']['p50']:.2f} ms).",
            ]
    for skipped in report.get("skipped", []):
        lines += ["", f"Skipped {skipped['size']:,} passages: the file holds {skipped['available_passages']:,}."]
    return "\n".join(lines)


def _milvus_table(rows: list[dict[str, Any]]) -> list[str]:
    """The same questions answered from Milvus (``HOPTAC_SEARCH_URL``), beside the local index."""
    rows = [r for r in rows if "milvus" in r]
    if not rows:
        return []
    lite = (rows[0]["milvus"].get("client") or {}).get("milvus-lite")
    if lite is not None and lite.startswith("2."):
        engine = f"on milvus-lite {lite}: the Milvus server's C++ core in one process, with FLAT (exact) dense search"
    else:
        engine = "on Milvus Lite: hoptac's client path and the protocol, not Milvus's own speed"
    lines = [
        "",
        f"Beside the local index, the same questions from Milvus ({engine}):",
        "",
        "| passages | local ask p50 / p95 ms | Milvus ask p50 / p95 ms | floor p50 / p95 ms | Milvus p95 / floor "
        "| Milvus p95 / local p95 | same answer | written in s |",
        "|---:|---|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        local, remote = row["latency"]["ask_ms"], row["milvus"]["latency"]
        floor, ask = remote["floor_ms"], remote["ask_ms"]
        written = row["milvus"].get("write_s")
        lines.append(
            f"| {row['passages']:,} | {local['p50']:.1f} / {local['p95']:.1f} | {ask['p50']:.1f} / {ask['p95']:.1f} "
            f"| {floor['p50']:.1f} / {floor['p95']:.1f} | {remote['overhead_p95']:.2f} "
            f"| {ask['p95'] / local['p95']:.2f} "
            f"| {row['milvus']['same_answer_share']:.3f} | {'-' if written is None else f'{written:,.0f}'} |"
        )
    return lines


def _mb_cell(n: float | None) -> str:
    """Megabytes for a table cell: whole ones, tenths below 10."""
    if n is None:
        return "-"
    return f"{n:.1f}" if n < 10 else f"{n:,.0f}"


def _component_tables(rows: list[dict[str, Any]]) -> list[str]:
    """One line a size for the index's files on disk by component, and one for memory."""
    lines: list[str] = []
    labels = list(COMPONENTS.values())
    disk_rows = [r for r in rows if "index_bytes_by_component" in r]
    if disk_rows:
        lines += [
            "",
            "Index on disk by component (MB):",
            "",
            f"| passages | {' | '.join(labels)} | total |",
            "|---:|" + "---:|" * (len(labels) + 1),
        ]
        for row in disk_rows:
            parts = row["index_bytes_by_component"]
            cells = " | ".join(_mb_cell(parts.get(key, 0) / 2**20) for key in COMPONENTS)
            lines.append(f"| {row['passages']:,} | {cells} | {_mb_cell(sum(parts.values()) / 2**20)} |")
    memory_rows = [r for r in rows if "memory_by_component_mb" in r.get("cold_start", {})]
    if memory_rows:
        lines += [
            "",
            "Resident memory of the fresh process after its answers, by component (MB): the index's "
            "files mapped from disk, then everything else (model weights, Python heap, FAISS structures read "
            "into memory); RSS as the model and as the index finished loading (side by side, so the second "
            "includes the first):",
            "",
            f"| passages | {' | '.join(labels)} | anonymous and other | RSS | peak (VmHWM) | "
            "RSS after imports | model loaded | index loaded |",
            "|---:|" + "---:|" * (len(labels) + 4) + "---|---|",
        ]
        for row in memory_rows:
            cold = row["cold_start"]
            parts = cold["memory_by_component_mb"]
            cells = " | ".join(_mb_cell(parts.get(key)) for key in [*COMPONENTS, ANONYMOUS])
            loaded = [
                f"{cold[f'rss_{what}_loaded_mb']:,.0f} MB at {cold[f'{what}_loaded_s']:.2f} s"
                if f"rss_{what}_loaded_mb" in cold
                else "-"
                for what in ("model", "index")
            ]
            lines.append(
                f"| {row['passages']:,} | {cells} | {_mb_cell(sum(parts.values()))} | "
                f"{_mb_cell(cold['peak_rss_mb'])} | {_mb_cell(cold.get('rss_after_imports_mb'))} | "
                f"{loaded[0]} | {loaded[1]} |"
            )
    return lines


def _plot_components(axis: Any, rows: list[dict[str, Any]]) -> None:
    """Stacked bars, two a size: the index on disk and the fresh process's resident memory."""
    keys = [*COMPONENTS, ANONYMOUS]
    labels = [*COMPONENTS.values(), "anonymous and other"]
    bars: list[tuple[str, dict[str, float]]] = []
    for row in rows:
        bars.append((f"{row['passages']:,}\ndisk", {k: v / 2**20 for k, v in row["index_bytes_by_component"].items()}))
        memory = row.get("cold_start", {}).get("memory_by_component_mb")
        if memory:
            bars.append((f"{row['passages']:,}\nmemory", dict(memory)))
    colours = _colours(len(keys))
    bottoms = [0.0] * len(bars)
    for key, label, colour in zip(keys, labels, colours, strict=True):
        heights = [parts.get(key, 0.0) for _, parts in bars]
        axis.bar(range(len(bars)), heights, bottom=bottoms, label=label, color=colour)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    axis.set_xticks(range(len(bars)), [name for name, _ in bars], fontsize=8)
    axis.set_ylabel("MB")
    axis.set_title("Disk and memory by component")
    axis.legend(fontsize=7, loc="upper left")
    axis.grid(alpha=0.3, axis="y")


def _colours(n: int) -> list[Any]:
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def plot_report(report: dict[str, Any], path: Path) -> None:
    """Latency (ask and floor, p50/p95), peak memory and disk against corpus size and, where the
    report has them, disk and memory by component, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["sizes"]
    sizes = [r["passages"] for r in rows]
    by_component = [r for r in rows if "index_bytes_by_component" in r]
    fig, axes = plt.subplots(1, 3 if by_component else 2, figsize=(16.5 if by_component else 11, 4.2))
    left, right = axes[0], axes[1]
    for key, style in (("ask_ms", "-o"), ("floor_ms", "--s")):
        for pct in ("p50", "p95"):
            left.plot(
                sizes,
                [r["latency"][key][pct] for r in rows],
                style,
                label=f"{'ask' if key == 'ask_ms' else 'floor'} {pct}",
            )
    left.set_xscale("log")
    left.set_xlabel("passages")
    left.set_ylabel("ms per question")
    left.set_title("Answer latency (one asker)")
    left.legend()
    left.grid(alpha=0.3)
    rss = [r.get("cold_start", {}).get("peak_rss_mb", float("nan")) for r in rows]
    right.plot(sizes, rss, "-o", label="peak RSS (fresh process)")
    right.plot(sizes, [r["index_bytes"] / 2**20 for r in rows], "--s", label="index on disk")
    right.set_xscale("log")
    right.set_xlabel("passages")
    right.set_ylabel("MB")
    right.set_title("Memory and disk")
    right.legend()
    right.grid(alpha=0.3)
    if by_component:
        _plot_components(axes[2], by_component)
    fig.suptitle(f"hoptac bench — {report['machine'].get('cpus')} CPU cores, {report['model']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
