"""Each model's reference dataset: the one its figures are shown on, so like is compared
with like (accuracy on an easy 30-row set is not comparable with accuracy on the gate set).

Rule, first that applies:
1. the dataset chosen for the model (``set_reference``);
2. its gate dataset: the production gate policy's, else the first other environment's
   by name (the dataset a deploy is judged on);
3. the dataset most of its completed runs used (a tie goes to the one run most recently).
A model without a choice, a gate policy or a completed run has no reference dataset.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from mlops_desk.core import audit
from mlops_desk.core.datasets import get_dataset
from mlops_desk.core.registry import get_model
from mlops_desk.core.store import Store

CHOSEN, GATE, MOST_RUNS = "chosen", "gate dataset", "most runs"
# How each source reads in a sentence: "reference dataset reviews (its gate dataset)".
SOURCE_TEXT = {CHOSEN: "chosen", GATE: "its gate dataset",
               MOST_RUNS: "the dataset most of its runs used"}

_GATE_SQL = """
SELECT m.name, d.name FROM gate_policies g
JOIN models m ON m.id = g.model_id JOIN datasets d ON d.id = g.dataset_id
ORDER BY m.name, g.environment != 'production', g.environment
"""
_MOST_RUNS_SQL = """
SELECT m.name, d.name FROM runs r
JOIN models m ON m.id = r.model_id JOIN datasets d ON d.id = r.dataset_id
WHERE r.status = 'completed' AND r.metrics IS NOT NULL
GROUP BY m.name, d.name
ORDER BY m.name, count(*) DESC, max(coalesce(r.finished_at, r.created_at)) DESC
"""


@dataclass(frozen=True)
class Reference:
    model: str
    dataset: str
    source: str  # CHOSEN, GATE or MOST_RUNS

    def describe(self) -> str:
        """``reviews (its gate dataset)``: the dataset and why it is the reference."""
        return f"{self.dataset} ({SOURCE_TEXT[self.source]})"


def reference_datasets(store: Store, *, chosen: bool = True) -> dict[str, Reference]:
    """Model name -> its reference dataset, for every model that has one (three queries).

    ``chosen=False``: what the rule alone gives (offered beside a choice, to go back to)."""
    conn = store.conn
    found: dict[str, Reference] = {}
    sources = ((CHOSEN, "SELECT m.name, d.name FROM models m JOIN datasets d "
                        "ON d.id = m.reference_dataset_id"),
               (GATE, _GATE_SQL), (MOST_RUNS, _MOST_RUNS_SQL))
    for source, sql in sources[0 if chosen else 1:]:
        try:
            rows = conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # a schema without deploys: the other sources still work
            continue
        for model, dataset in rows:
            found.setdefault(model, Reference(model, dataset, source))
    return found


def reference_dataset(store: Store, model_name: str, *, chosen: bool = True) -> Reference | None:
    get_model(store, model_name)  # a clear "no model named ..." for a typo
    return reference_datasets(store, chosen=chosen).get(model_name)


def set_reference(store: Store, model_name: str, dataset_name: str | None) -> Reference | None:
    """Choose ``dataset_name`` as the model's reference; None goes back to the rule."""
    with store.transaction() as db:
        model = get_model(store, model_name)
        dataset_id = get_dataset(store, dataset_name).id if dataset_name is not None else None
        db.conn.execute("UPDATE models SET reference_dataset_id = ? WHERE id = ?",
                        [dataset_id, model.id])
        audit.append(store, "model.reference", f"model:{model_name}",
                     {"dataset": dataset_name})
    return reference_dataset(store, model_name)
