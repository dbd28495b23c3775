"""Pairwise accuracy of an identity map against ground truth, computed in the engine.

Two records form a *pair* when they share a cluster. Precision is the share of the pairs
segmint put in one customer that truly are one person; recall is the share of true
same-person pairs segmint put in one customer. Counts come from the contingency table of
(customer_id, person_id), so no pair is ever materialised: a cell of n records holds
n·(n−1)/2 pairs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from segmint.engine.engine import Engine
from segmint.errors import SourceReadError

TRUTH_COLUMNS = ("source", "record_key", "person_id")
OVERALL = "overall"  # the logged scope of the scores over every record
_ALL = ""  # its scope inside the query: no source has an empty name


@dataclass(frozen=True)
class PairwiseScores:
    """Pair counts and the scores derived from them."""

    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    customers: int
    persons: int

    @property
    def precision(self) -> float:
        """Correct pairs / predicted pairs (1.0 when nothing was linked)."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Correct pairs / true pairs (1.0 when no two records share a person)."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, Any]:
        """Counts and scores as one JSON-ready dict."""
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def read_truth(path: Path) -> pa.Table:
    """The generator's `truth/records.csv` (source, record_key, person_id, ...) as Arrow."""
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                include_columns=list(TRUTH_COLUMNS),
                column_types={c: pa.string() for c in TRUTH_COLUMNS},
            ),
        )
    except (OSError, pa.ArrowInvalid) as exc:
        raise SourceReadError(f"{path}: cannot read ground truth: {exc}") from exc
    return table


def _pairs(counts: ir.IntegerColumn) -> ir.IntegerScalar:
    return (counts * (counts - 1) / 2).cast("int64").sum().fill_null(0)


def pairwise_scores(mapped: ir.Table, engine: Engine) -> dict[str, PairwiseScores]:
    """Scores per `scope` of a table with one row per record in each scope it counts in.

    Columns: `scope`, `cluster` and `truth`. All scopes are scored in one query.
    """
    cells = mapped.group_by(["scope", "cluster", "truth"]).aggregate(n=mapped.count())
    clusters = cells.group_by(["scope", "cluster"]).aggregate(n=cells.n.sum())
    persons = cells.group_by(["scope", "truth"]).aggregate(n=cells.n.sum())
    by_cell = cells.group_by("scope").aggregate(records=cells.n.sum(), correct=_pairs(cells.n))
    by_cluster = clusters.group_by("scope").aggregate(
        predicted=_pairs(clusters.n), customers=clusters.count()
    )
    by_person = persons.group_by("scope").aggregate(true=_pairs(persons.n), persons=persons.count())
    frame = engine.to_pandas(
        by_cell.join(by_cluster, "scope").join(by_person, "scope").order_by("scope")
    )
    return {
        row.scope: PairwiseScores(
            records=int(row.records),
            true_pairs=int(row.true),
            predicted_pairs=int(row.predicted),
            correct_pairs=int(row.correct),
            customers=int(row.customers),
            persons=int(row.persons),
        )
        for row in frame.itertuples(index=False)
    }


def evaluate_identity_map(
    engine: Engine, identity_map: ir.Table, truth: ir.Table, by_source: bool = True
) -> tuple[PairwiseScores, dict[str, PairwiseScores]]:
    """Overall scores, and per source (pairs within that source's records only).

    Records the map holds but the truth does not (or the reverse: quarantined rows) are
    left out of both sides; the overall `records` count says how many were compared.
    Unresolved records (null customer_id) count as customers of their own.
    """
    joined = identity_map.join(truth, ["source", "record_key"]).select(
        source=identity_map.source,
        # an unresolved record (no customer_id) is a cluster of its own
        cluster=identity_map.customer_id.fill_null(
            "~" + identity_map.source + ":" + identity_map.record_key
        ),
        truth=truth.person_id,
    )
    scoped = joined.mutate(scope=ibis.literal(_ALL)).drop("source")
    if by_source:
        scoped = ibis.union(scoped, joined.rename(scope="source"))
    scores = pairwise_scores(scoped, engine)
    overall = scores.pop(_ALL, PairwiseScores(0, 0, 0, 0, 0, 0))
    return overall, scores


IDENTITY_EVALUATION = "identity_evaluation"


def record_evaluation(
    engine: Engine, truth_path: Path, run_id: str
) -> tuple[PairwiseScores, dict[str, PairwiseScores]]:
    """Score the published identity map against a truth file and log it for the report.

    Appends one row per scope ('overall' and each source) to `identity_evaluation`.
    """
    truth = engine.materialize(f"_truth_{run_id}", read_truth(truth_path), temporary=True)
    try:
        overall, per_source = evaluate_identity_map(engine, engine.table("identity_map"), truth)
    finally:
        engine.drop(f"_truth_{run_id}")
    evaluated_at = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    rows = [
        {"run_id": run_id, "scope": scope, **scores.to_json()}
        for scope, scores in [(OVERALL, overall), *per_source.items()]
    ]
    frame = pd.DataFrame(rows).assign(truth_file=str(truth_path), evaluated_at=evaluated_at)
    engine.append(IDENTITY_EVALUATION, frame)
    return overall, per_source
