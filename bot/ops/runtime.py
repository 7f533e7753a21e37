"""What every adapter is handed: the shared engine, configuration, metrics and
the per-message log. One BotContext per process, shared by all adapters.

An adapter service implements the `Service` protocol: `start()` returns once
it is running (its own threads or event loop), `stop(timeout)` stops taking
events, finishes what is in flight and returns within the timeout.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, Protocol

from ..matching.engine import Engine
from ..matching.types import MatchResult
from .config import Config

log = logging.getLogger("faqbot.messages")

LATENCY_BUCKETS_S = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Service(Protocol):
    name: str

    def start(self) -> None: ...

    def stop(self, timeout: float) -> None: ...


@dataclass
class Metrics:
    """Process counters, exposed as Prometheus text at /metrics. Thread-safe."""

    counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_S) + 1))
    latency_sum: float = 0.0
    latency_count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = (name, tuple(sorted((k, str(v)) for k, v in labels.items())))
        with self._lock:
            self.counters[key] = self.counters.get(key, 0.0) + amount

    def observe_latency(self, seconds: float) -> None:
        with self._lock:
            for i, bound in enumerate(LATENCY_BUCKETS_S):
                if seconds <= bound:
                    self.latency_buckets[i] += 1
                    break
            else:
                self.latency_buckets[-1] += 1
            self.latency_sum += seconds
            self.latency_count += 1

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            if labels:
                return self.counters.get((name, tuple(sorted((k, str(v)) for k, v in labels.items()))), 0.0)
            return sum(v for (n, _), v in self.counters.items() if n == name)

    def render(self) -> str:
        """Prometheus text exposition format."""
        lines: list[str] = []
        with self._lock:
            names = sorted({n for n, _ in self.counters})
            for name in names:
                lines.append(f"# TYPE faqbot_{name}_total counter")
                for (n, labels), value in sorted(self.counters.items()):
                    if n == name:
                        lab = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels)
                        lines.append(f"faqbot_{name}_total{{{lab}}} {value:g}" if lab else f"faqbot_{name}_total {value:g}")
            lines.append("# TYPE faqbot_reply_latency_seconds histogram")
            cumulative = 0
            for bound, count in zip(LATENCY_BUCKETS_S, self.latency_buckets):
                cumulative += count
                lines.append(f'faqbot_reply_latency_seconds_bucket{{le="{bound}"}} {cumulative}')
            cumulative += self.latency_buckets[-1]
            lines.append(f'faqbot_reply_latency_seconds_bucket{{le="+Inf"}} {cumulative}')
            lines.append(f"faqbot_reply_latency_seconds_sum {self.latency_sum:.6f}")
            lines.append(f"faqbot_reply_latency_seconds_count {self.latency_count}")
        return "\n".join(lines) + "\n"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class BotContext:
    config: Config
    engine: Engine
    metrics: Metrics = field(default_factory=Metrics)
    learner: Optional[object] = None  # bot.learning.learning.Learner once teaching is configured
    suggestions: Optional[object] = None  # bot.learning.suggestions.SuggestionBook: picks, votes and shares (learning from use)
    question_log: Optional[object] = None  # bot.learning.question_log.QuestionLog while services run
    json_logs: bool = False

    def observe(
        self, platform: str, channel: str, result: Optional[MatchResult], started: float, replied: bool, user: str = ""
    ) -> None:
        """Count and log one handled message (one line per message); the question log's one hook."""
        if self.question_log is not None and result is not None:
            self.question_log.observe(platform, channel, result, replied, user)
        latency = time.perf_counter() - started
        outcome = result.decision.value if result else "command"
        self.metrics.inc("messages", platform=platform)
        if result is not None:
            if replied and result.answered:
                self.metrics.inc("answers", platform=platform)
            elif not result.answered:
                self.metrics.inc("abstentions", platform=platform)
        self.metrics.observe_latency(latency)
        record = {
            "platform": platform,
            "channel": channel,
            "entry": result.top.id if result and result.top else None,
            "score": round(result.score, 3) if result else None,
            "decision": outcome,
            "replied": replied,
            "latency_ms": round(latency * 1000, 2),
        }
        if self.json_logs:
            log.info(json.dumps(record, ensure_ascii=False))
        else:
            log.info(" ".join(f"{k}={v}" for k, v in record.items()))
