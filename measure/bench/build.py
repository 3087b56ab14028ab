"""A size's index built in a fresh process, with the whole build's peak memory.

The build is the product's own (``LocalEngine.ingest`` of the size's articles file into an
empty folder), run in a new interpreter so that its peak resident set (``VmHWM``) is the
build's alone: not the benchmark's sample of articles, nor an earlier size's index. A
thread notes the resident set every 50 ms and keeps the highest for each step the build
reports (reading the articles, embedding, the lexical postings, the dense index, writing),
so a report says which step the peak belongs to.

    python -m measure.bench.build DATA_DIR FOLDER ARTICLES_JSONL [--synthetic]

prints one JSON object; :func:`build_in_fresh_process` runs it and reads that object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: The steps of a build, named from the progress the engine reports.
_STEP_OF_PROGRESS = {"ingest": "read articles", "embed": "embed"}
_STEP_OF_INDEX = {0: "lexical postings", 1: "dense index", 2: "write"}


def _status_mb(key: str) -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return int(next(line for line in status if line.startswith(key)).split()[1]) / 1024


class StepPeaks:
    """The highest resident set seen during each named step, sampled by a thread."""

    def __init__(self, first_step: str, interval_s: float = 0.05) -> None:
        self.step = first_step
        self.peaks: dict[str, float] = {}
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _note(self) -> None:
        rss = _status_mb("VmRSS:")
        step = self.step
        if rss > self.peaks.get(step, 0.0):
            self.peaks[step] = rss

    def _sample(self) -> None:
        while not self._stop.wait(self._interval_s):
            self._note()

    def progress(self, stage: str, done: int, total: int) -> None:
        """The engine's progress callback: the step it names begins."""
        self._note()  # the end of the step before, measured before it is relabelled
        if stage == "index":
            self.step = _STEP_OF_INDEX.get(done, "index")
        else:
            self.step = _STEP_OF_PROGRESS.get(stage.split(":")[0], stage)

    def __enter__(self) -> StepPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._note()
        self._stop.set()
        self._thread.join()


def build_in_fresh_process(data_dir: Path, folder: Path, articles_file: Path, synthetic: bool) -> dict[str, Any]:
    """Build ``folder``'s index from ``articles_file`` in a new interpreter; its report."""
    command = [sys.executable, "-m", "measure.bench.build", str(data_dir), str(folder), str(articles_file)]
    if synthetic:
        command.append("--synthetic")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the build of {folder} failed: {tail}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the data folder holding the model and the embedding cache")
    parser.add_argument("folder", type=Path, help="the size's work folder (corpus/ and data/ inside)")
    parser.add_argument("articles", type=Path, help="the JSONL of the size's articles")
    parser.add_argument("--synthetic", action="store_true", help="random vectors for what the cache lacks")
    args = parser.parse_args()

    from hoptac.settings import Settings
    from measure.bench.synthetic import SyntheticFillEmbedder
    from measure.bench.workspace import open_engine
    from retrieval.local.engine import LocalEngine

    base = Settings(data_dir=args.data_dir, _env_file=None)  # type: ignore[call-arg]
    embedder = LocalEngine(base.engine_config()).embedder()
    if args.synthetic:
        embedder = SyntheticFillEmbedder(embedder)
    engine = open_engine(base, args.folder, embedder)
    engine.config.corpus_dir.mkdir(parents=True, exist_ok=True)
    before = _status_mb("VmRSS:")
    started = time.perf_counter()
    with StepPeaks("read articles") as peaks:
        report = engine.ingest([args.articles], peaks.progress)
    build_s = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"{report.failures[0].path}: {report.failures[0].reason}")
    result = {
        "build_s": round(build_s, 1),
        "rss_before_mb": round(before),
        "peak_rss_mb": round(_status_mb("VmHWM:")),
        "peak_by_step_mb": {step: round(mb) for step, mb in peaks.peaks.items()},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
