"""Cold start and peak memory, measured in a fresh Python process.

A new interpreter runs what the bot and the CLI run at start (``LocalEngine.open``: the
model and the verified index, side by side) on a size's folders and times three steps:
imports, model and index load, first answer. It then answers the remaining questions and
reports its own peak resident memory (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss``
would include the forked parent's memory), so the figure is one process serving questions.

It also notes its resident set (``VmRSS``) after the imports, as the model and as the index
finish loading (they load side by side, so the one finishing second includes the first),
after ``LocalEngine.open`` and after the answers; and then, from ``/proc/self/smaps``, what
is resident by component (:mod:`measure.bench.footprint`).
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from measure.bench.footprint import memory_by_component, smaps_rss
from retrieval.config import EngineConfig

_COLD_PROBE = """
import json, sys, time
t0 = time.perf_counter()
def rss_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS:")) / 1024
from hoptac.settings import Settings
from retrieval.local.engine import LocalEngine
t1 = time.perf_counter()
rss_imports = rss_mb()
# The model and the index load side by side: note the resident set as each one returns.
loaded = {}
def note_when_done(owner, name, what):
    original = owner.__dict__.get(name)
    if original is None:
        return
    func = original.__func__ if isinstance(original, classmethod) else original
    def noted(*args, **kwargs):
        result = func(*args, **kwargs)
        loaded[what] = (time.perf_counter() - t1, rss_mb())
        return result
    setattr(owner, name, classmethod(noted) if isinstance(original, classmethod) else noted)
from retrieval.embedding.embedder import Embedder
from retrieval.local.index import IndexStore
note_when_done(Embedder, "load", "model")
note_when_done(IndexStore, "load", "index")
settings = Settings(corpus_dir=sys.argv[1], data_dir=sys.argv[2], _env_file=None)
engine = LocalEngine.open(settings.engine_config())  # what the bot and the CLI run: model and index side by side
t2 = time.perf_counter()
rss_open = rss_mb()
questions = json.loads(sys.argv[3])
engine.ask(questions[0])
t3 = time.perf_counter()
for q in questions[1:]:
    engine.ask(q)
# VmHWM is this process's own peak; ru_maxrss would include the forked parent's memory.
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
peak = int(status["VmHWM"].split()[0]) / 1024
rss_answers = int(status["VmRSS"].split()[0]) / 1024
# smaps_rss
print(json.dumps({"imports_s": t1 - t0, "model_and_index_s": t2 - t1, "first_answer_s": t3 - t2,
                  "peak_rss_mb": peak, "rss_after_imports_mb": rss_imports, "rss_after_open_mb": rss_open,
                  "rss_after_answers_mb": rss_answers,
                  "loaded": {k: {"s": v[0], "rss_mb": v[1]} for k, v in loaded.items()},
                  "smaps_kb": smaps_rss()}))
""".replace("# smaps_rss\n", inspect.getsource(smaps_rss))


def measure_cold_start(settings: EngineConfig, questions: Sequence[str]) -> dict[str, Any]:
    """A fresh process: imports, model load, index load (verified), first answer, peak RSS."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _COLD_PROBE,
            str(settings.corpus_dir),
            str(settings.data_dir),
            json.dumps(list(questions)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"cold-start probe failed: {done.stderr.strip().splitlines()[-1:]}")
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    smaps_kb, loaded = probe.pop("smaps_kb"), probe.pop("loaded")
    result: dict[str, Any] = {k: round(v, 3) for k, v in probe.items()}
    # Which of model and index finished loading first, and the resident set at that moment.
    for what, mark in sorted(loaded.items(), key=lambda item: item[1]["s"]):
        result[f"{what}_loaded_s"] = round(mark["s"], 3)
        result[f"rss_{what}_loaded_mb"] = round(mark["rss_mb"], 1)
    memory = memory_by_component(smaps_kb, settings.index_root)
    result["memory_by_component_mb"] = {k: round(v / 2**20, 1) for k, v in memory.items()}
    result["ready_s"] = round(result["imports_s"] + result["model_and_index_s"], 3)
    result["process_s"] = round(wall, 3)
    result["questions_answered"] = len(questions)
    return result
