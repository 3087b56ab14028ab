"""The benchmark's report for people: Markdown tables and a PNG chart of a ``run_bench`` report.

:func:`format_report` writes one table row a corpus size (answer latency and its floor,
throughput by askers, HNSW recall, new-article ingest, cold start, peak memory, index size),
then the ingest-throughput sentences, the bot's table by number of askers, and notes on
synthetic vectors, recall on real vectors and skipped sizes. :func:`plot_report` draws
latency (ask and floor, p50 and p95) and memory and disk against corpus size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


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


def plot_report(report: dict[str, Any], path: Path) -> None:
    """Latency (ask and floor, p50/p95) and peak memory against corpus size, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["sizes"]
    sizes = [r["passages"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
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
    fig.suptitle(f"hoptac bench — {report['machine'].get('cpus')} CPU cores, {report['model']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
