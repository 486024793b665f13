"""A small registry for deploy and gateway tests: one model, three versions, a gate dataset."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlops_desk.core import registry
from mlops_desk.core.datasets import Dataset
from mlops_desk.core.registry import Version
from mlops_desk.core.store import Store
from tests.support.run_factory import make_test_dataset, make_test_run

LABELS = ["bug", "billing", "other"]
N_ROWS = 40


@dataclass
class World:
    store: Store
    tmp: Path
    dataset: Dataset
    expected: list[str]

    def version(self, number: int) -> Version:
        return registry.get_version(self.store, "triage", number)

    def run(self, number: int, wrong: Iterable[int] = (), *, latency_ms: float = 100.0,
            status: str = "completed", dataset: Dataset | None = None,
            limit: int | None = None, stored: int | None = None) -> int:
        """A run of triage:N on the gate dataset, right on every row but ``wrong``.

        ``limit``: the run covers only the first rows (like ``run --limit``); ``stored``: it
        covers every row but only the first ``stored`` results were written.
        """
        wrong = set(wrong)
        results = [{"expected": exp, "prediction": _other(exp) if i in wrong else exp,
                    "latency_ms": latency_ms, "cost": 0.001}
                   for i, exp in enumerate(self.expected)]
        n_total = len(results[:limit])
        return make_test_run(self.store, self.version(number), dataset or self.dataset,
                             results[:limit][:stored], status=status, n_total=n_total)


def _other(label: str) -> str:
    return LABELS[(LABELS.index(label) + 1) % len(LABELS)]


def build_world(store: Store, tmp: Path, base_url: str = "http://127.0.0.1:9/v1") -> World:
    registry.add_endpoint(store, "fake", base_url=base_url, prices={"*": [1.0, 2.0]})
    registry.create_model(store, "triage", labels=LABELS)
    for n in (1, 2, 3):
        config = registry.make_config(endpoint="fake", model_id="fake-model",
                                      system_prompt=f"You are version {n}.",
                                      template="Ticket: {text}", parser="label",
                                      params={"temperature": 0})
        registry.register_version(store, "triage", config)
    expected = [LABELS[i % 3] for i in range(N_ROWS)]
    rows = [{"text": f"ticket {i} ANSWER: {label}", "expected": label}
            for i, label in enumerate(expected)]
    dataset = make_test_dataset(store, tmp, "gate-set", rows)
    return World(store, tmp, dataset, expected)
