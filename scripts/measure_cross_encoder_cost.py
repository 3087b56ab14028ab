"""What a cross-encoder over the default model would cost on this machine, per question.

    OMP_NUM_THREADS=2 .venv/bin/python scripts/measure_cross_encoder_cost.py

A cross-encoder reads the question and a candidate sentence together, so it runs once per
candidate at question time (a bi-encoder's sentence vectors are computed at index time).
This times the default model (multilingual-e5-small, 12 layers) reading ``--candidates``
(question, sentence) pairs padded to ``--tokens`` tokens, through all its layers and
through its first few only (a smaller reader), and one training step on ``--batch`` pairs
(forward, backward, AdamW). Issue 21's answer-time budget is p95 at most twice the floor
(the question's embedding and the search, about 55-65 ms on this machine): see
docs/quality.md, "the answer selector", for the figures and what they mean. Development
tool: prints milliseconds, writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch

from hoptac.settings import Settings
from retrieval.embedding.bert_encoder import BertEncoder
from retrieval.embedding.offline_model import ensure_default_model

QUESTION = "query: Hội nghị giữa Ban Thường vụ hai tỉnh diễn ra ở đâu?"
SENTENCE = (
    "passage: Chiều 5.10, tại TP Chí Linh, các đồng chí Ủy viên Trung ương Đảng: Nguyễn Mạnh Hiển, Bí thư Tỉnh ủy, "
    "Chủ tịch HĐND tỉnh Hải Dương; Bùi Văn Hải, Bí thư Tỉnh ủy Bắc Giang chủ trì hội nghị."
)


def _median_ms(run: object, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=8, help="pairs read per question")
    parser.add_argument("--tokens", type=int, default=96, help="tokens per pair (question + sentence)")
    parser.add_argument("--layers", default="12,6,4,2", help="reader depths to time (first layers of the model)")
    parser.add_argument("--batch", type=int, default=16, help="pairs per training step")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    folder = ensure_default_model(Settings().engine_config().models_dir)
    encoder = BertEncoder.load(folder)
    if encoder is None:
        raise SystemExit(f"{folder} is not the plain BERT encoder this script times")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))

    def pairs_of(count: int) -> Any:
        """``count`` copies of the (question, sentence) pair, padded to ``--tokens``."""
        return tokenizer(
            [QUESTION] * count, [SENTENCE] * count, padding="max_length", truncation=True,
            max_length=args.tokens, return_tensors="pt",
        )  # fmt: skip

    pairs = pairs_of(args.candidates)
    ids, mask = pairs["input_ids"], pairs["attention_mask"]
    print(f"torch threads {torch.get_num_threads()}; {args.candidates} pairs of {args.tokens} tokens a question")
    with torch.inference_mode():
        embedded = encoder.embeddings(ids)
        for depth in (int(d) for d in args.layers.split(",")):
            layers = list(encoder.encoder.layer[:depth])
            BertEncoder.run_layers(layers, embedded, mask)  # warm-up
            ms = _median_ms(lambda layers=layers: BertEncoder.run_layers(layers, embedded, mask), args.repeat)
            print(f"read with {depth:2d} layers: {ms:7.1f} ms a question (median of {args.repeat})")
    encoder.train()
    optimiser = torch.optim.AdamW(encoder.parameters(), lr=1e-5)
    batch = pairs_of(args.batch)

    def step() -> None:
        hidden = encoder(batch["input_ids"], batch["attention_mask"])
        hidden[:, 0].pow(2).mean().backward()
        optimiser.step()
        optimiser.zero_grad()

    step()
    ms = _median_ms(step, max(3, args.repeat // 2))
    print(f"training step, {args.batch} pairs, 12 layers: {ms:7.1f} ms ({args.batch * 1000 / ms:.1f} pairs/s)")


if __name__ == "__main__":
    main()
