"""Cold start and peak memory, measured in a fresh Python process.

A new interpreter runs what the bot and the CLI run at start (``AnswerEngine.open``: the
model and the verified index, side by side) on a size's folders and times three steps:
imports, model and index load, first answer. It then answers the remaining questions and
reports its own peak resident memory (``VmHWM`` from ``/proc/self/status``; ``ru_maxrss``
would include the forked parent's memory), so the figure is one process serving questions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from retrieval.config import EngineConfig

_COLD_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from hoptac.settings import Settings
from retrieval.engine import AnswerEngine
t1 = time.perf_counter()
settings = Settings(corpus_dir=sys.argv[1], data_dir=sys.argv[2], _env_file=None)
engine = AnswerEngine.open(settings.engine_config())  # what the bot and the CLI run: model and index side by side
t2 = time.perf_counter()
questions = json.loads(sys.argv[3])
engine.ask(questions[0])
t3 = time.perf_counter()
for q in questions[1:]:
    engine.ask(q)
# VmHWM is this process's own peak; ru_maxrss would include the forked parent's memory.
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"imports_s": t1 - t0, "model_and_index_s": t2 - t1, "first_answer_s": t3 - t2,
                  "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024}))
"""


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
    result = {k: round(v, 3) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    result["ready_s"] = round(result["imports_s"] + result["model_and_index_s"], 3)
    result["process_s"] = round(wall, 3)
    result["questions_answered"] = len(questions)
    return result
