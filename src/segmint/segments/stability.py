"""How much to trust the clusters: bootstrap stability, and recovery of planted personas.

Stability (`segmint.segments.cluster.bootstrap_ari`, beside the k-means it refits): refit
on B bootstrap resamples of the sample, label the whole sample with each refit's centroids,
and compare with the main fit by the adjusted Rand index (ARI).

Recovery (generated companies only): the contingency table of (cluster, planted persona) is
counted in the engine; ARI and normalised mutual information come from that small table
(the same formulas scikit-learn uses, on counts), so no customer list is pulled.
"""

from __future__ import annotations

import math
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from segmint.errors import SourceReadError


def _comb2(x: np.ndarray) -> float:
    return float(np.sum(x * (x - 1) / 2.0))


def scores_from_counts(table: pd.DataFrame) -> tuple[float, float]:
    """ARI and NMI (arithmetic mean normalisation) from a contingency table of counts."""
    n = table.to_numpy(float)
    total = n.sum()
    if total < 2:
        return float("nan"), float("nan")
    rows, cols = n.sum(axis=1), n.sum(axis=0)
    index = _comb2(n)
    expected = _comb2(rows) * _comb2(cols) / (total * (total - 1) / 2.0)
    maximum = (_comb2(rows) + _comb2(cols)) / 2.0
    ari = 1.0 if maximum == expected else (index - expected) / (maximum - expected)
    nz = n > 0
    outer = np.outer(rows, cols)
    mi = float(np.sum(n[nz] / total * np.log(n[nz] * total / outer[nz])))
    h_rows = -float(np.sum((rows / total) * np.log(np.where(rows > 0, rows / total, 1.0))))
    h_cols = -float(np.sum((cols / total) * np.log(np.where(cols > 0, cols / total, 1.0))))
    mean_h = (h_rows + h_cols) / 2.0
    nmi = 1.0 if mean_h == 0 else mi / mean_h
    return float(ari), float(min(max(nmi, 0.0), 1.0)) if not math.isnan(nmi) else nmi


def read_record_personas(truth_dir: Path) -> pa.Table:
    """The generator's truth/records.csv: source, record_key, persona."""
    columns = ["source", "record_key", "persona"]
    try:
        return pacsv.read_csv(
            truth_dir / "records.csv",
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types={c: pa.string() for c in columns}
            ),
        )
    except (OSError, pa.ArrowInvalid) as exc:
        raise SourceReadError(f"{truth_dir}: cannot read planted personas: {exc}") from exc


def customer_personas(identity_map: ir.Table, record_personas: ir.Table) -> ir.Table:
    """customer_id and its planted persona (the persona most of its records carry)."""
    ids = identity_map.filter(identity_map.customer_id.notnull())
    joined = ids.join(record_personas, ["source", "record_key"])
    counts = joined.group_by(["customer_id", "persona"]).aggregate(n=joined.count())
    ranked = counts.mutate(
        _rank=ibis.row_number().over(
            group_by=counts.customer_id, order_by=[ibis.desc(counts.n), counts.persona]
        )
    )
    return ranked.filter(ranked._rank == 0).select("customer_id", "persona")


def contingency(assigned: ir.Table, truth: ir.Table) -> ir.Table:
    """Customers per (cluster, persona), for customers with both."""
    joined = assigned.join(truth, "customer_id")
    return joined.group_by(["cluster", "persona"]).aggregate(n=joined.count())


def recovery_scores(counts: pd.DataFrame) -> tuple[float, float, int]:
    """ARI, NMI and customers of a fetched `contingency` table."""
    if counts.empty:
        return float("nan"), float("nan"), 0
    table = counts.pivot_table(index="cluster", columns="persona", values="n", fill_value=0)
    ari, nmi = scores_from_counts(table)
    return ari, nmi, int(counts["n"].sum())
