"""What one replica counts, for Prometheus (``GET /metrics``, served by :mod:`bot.ops_server`).

    metrics = BotMetrics("bot-1")
    metrics.observe_answer(answer, seconds)     # EngineClient.on_answer: each first answer
    metrics.set_backlog(12); metrics.set_held({"outbox-sender": True})
    metrics.set_dislikes({FeedbackReason.OUTDATED: 2, None: 1})   # 👎 by reason, from the state store
    body = metrics.render()                     # the text exposition format

Each replica has its own registry (tests run several in one process). The shares a
dashboard wants are ratios of counters: found share =
``rate(hoptac_answers_found_total[5m]) / rate(hoptac_questions_total[5m])``, confident
share = ``rate(hoptac_answers_confident_total[5m]) / rate(hoptac_questions_total[5m])``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from retrieval.models import Answer
from storage.records import FeedbackReason

__all__ = ["CONTENT_TYPE_LATEST", "BotMetrics"]

#: Answer latency buckets, seconds (a question takes ~0.05-0.5 s on 2 cores; a queue, more).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class BotMetrics:
    def __init__(self, replica: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        Info("hoptac_replica", "This replica", registry=self.registry).info({"name": replica})
        self.questions = Counter("hoptac_questions", "Questions answered (first page only)", registry=self.registry)
        self.found = Counter(
            "hoptac_answers_found", "Questions whose answer quotes at least one sentence", registry=self.registry
        )
        self.confident = Counter(
            "hoptac_answers_confident",
            "Questions answered with confidence high (the rest of the found ones are only related)",
            registry=self.registry,
        )
        self.latency = Histogram(
            "hoptac_answer_seconds",
            "Time to answer a question, queueing for an engine thread included",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.backlog = Gauge(
            "hoptac_outbox_backlog", "Notifications waiting to be sent (all replicas)", registry=self.registry
        )
        self.ingest_queue = Gauge(
            "hoptac_ingest_queue_depth",
            "Ingest jobs queued or being worked on (all workers; 0 without a database)",
            registry=self.registry,
        )
        self.dislikes = Gauge(
            "hoptac_feedback_dislikes",
            "Answers given 👎, by the reason the user chose (none: no reason given); all replicas",
            ["reason"],
            registry=self.registry,
        )
        self.held = Gauge(
            "hoptac_singleton_held", "1 when this replica holds the singleton", ["name"], registry=self.registry
        )

    def observe_answer(self, answer: Answer, seconds: float) -> None:
        self.questions.inc()
        if answer.found:
            self.found.inc()
        if answer.confidence == "high":
            self.confident.inc()
        self.latency.observe(seconds)

    def set_backlog(self, pending: int) -> None:
        self.backlog.set(pending)

    def set_ingest_queue(self, depth: int) -> None:
        self.ingest_queue.set(depth)

    def set_dislikes(self, counts: dict[FeedbackReason | None, int]) -> None:
        for reason, count in counts.items():
            self.dislikes.labels(reason=reason.value if reason else "none").set(count)

    def set_held(self, held: dict[str, bool]) -> None:
        for name, ours in held.items():
            self.held.labels(name=name).set(1 if ours else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
