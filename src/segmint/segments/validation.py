"""Segment validation: size, separation, stability, value; flags, recommendations, coverage.

The engine computes small summaries (per segment: size, revenue, the mean of each
separation trait, customers held by no other segment; the base's totals, means and standard
deviations; the overlap matrix; the intersection with the previous run); the checks run in
plain Python on those summaries (`assess`). Definitions, per segment:

- ``size``, ``share``: members; members / customers in the base (``profiles``).
- ``revenue_share``: the members' ``monetary`` (total paid spend up to the as-of time) over
  the base's; ``value_index`` = revenue_share / share (1 = the base average per customer).
- ``separation``: distance to the nearest other segment — the root mean square, over the
  separation traits, of the difference of the two segments' means, each trait taken as
  ``log1p(max(x, 0))`` and divided by its standard deviation over the base (an effect size:
  0.2 small, 0.5 medium, 0.8 large). ``nearest`` names that segment.
- ``exclusive_share``: share of members that belong to no other segment (reported).
- ``stability``: Jaccard similarity of this run's members with the previous run's (null
  without a previous run, or for a segment the previous run did not have).
- ``max_overlap`` / ``overlaps_with``: the largest Jaccard similarity with another segment.

Flags (a JSON list per row): ``too_small`` (size < min_size or share < min_share), ``low_value``
(value_index < min_value_index), ``overlapping_with:X`` (Jaccard with X > max_overlap),
``not_separated`` (separation < min_separation), ``unstable`` (stability < min_stability).
``recommendation`` is ``drop`` for a segment too small or low value, ``merge`` (partners in
``merge_with``) for two kept segments that overlap too much, else ``keep``; the summary says
them as ``drop C`` and ``merge A+B``. The kept segments (all but the dropped) must together carry
at least ``revenue_coverage`` of the base's revenue, counting each customer once.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.project.spec_segments import SegmentValidationSettings
from segmint.segments.overlap import overlap

SEGMENT_VALIDATION = "segment_validation"
Execute = Callable[[ir.Expr], pd.DataFrame]
COLUMNS = (
    "segment",
    "size",
    "share",
    "revenue",
    "revenue_share",
    "value_index",
    "exclusive_share",
    "separation",
    "nearest",
    "stability",
    "max_overlap",
    "overlaps_with",
    "flags",
    "recommendation",
    "merge_with",
    "kept",
)


@dataclass
class SegmentValidation:
    """The ``segment_validation`` frame (one row per segment) and its summary."""

    frame: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Summaries:
    """The engine's small results the checks read."""

    base: pd.Series  # customers, revenue, mean_<t>, std_<t>
    segments: pd.DataFrame  # segment, customers, revenue, exclusive, mean_<t>
    overlap: pd.DataFrame  # the overlap matrix
    stability: pd.DataFrame | None  # segment, both, previous


def _value(x: ir.NumericValue) -> ir.FloatingValue:
    """A separation trait on the scale it is compared on: log1p of its non-negative part.

    NULL stays NULL (left out of means and deviations); ``greatest`` would turn it into 0.
    """
    v = x.cast("float64")
    return (ibis.ifelse(v < 0.0, 0.0, v) + 1.0).ln()


def _check_traits(profiles: ir.Table, traits: Sequence[str]) -> None:
    for trait in traits:
        if trait not in profiles.columns:
            close = difflib.get_close_matches(trait, list(profiles.columns), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"segments.validation.separation_traits: no trait '{trait}'{hint}")
        if not profiles[trait].type().is_numeric():
            raise ConfigError(
                f"segments.validation.separation_traits: '{trait}' is "
                f"{profiles[trait].type()}, not a number"
            )


def base_expr(profiles: ir.Table, traits: Sequence[str]) -> ir.Table:
    """One row: customers, revenue and, per trait, mean_<t> and std_<t> over the base."""
    stats: dict[str, Any] = {}
    for t in traits:
        v = _value(profiles[t])
        stats[f"mean_{t}"] = v.mean()
        stats[f"std_{t}"] = v.std()
    return profiles.aggregate(
        customers=profiles.count(),
        revenue=profiles.monetary.cast("float64").fill_null(0.0).sum(),
        **stats,
    )


def segments_expr(members: ir.Table, profiles: ir.Table, traits: Sequence[str]) -> ir.Table:
    """Per segment: customers, revenue, exclusive (in no other segment) and mean_<t>."""
    held = members.group_by(cid_=members.customer_id).aggregate(held_=members.count())
    cols = profiles.select(
        cid_p_=profiles.customer_id,
        rev_=profiles.monetary,
        **{f"t_{t}": profiles[t] for t in traits},
    )
    joined = members.join(held, members.customer_id == held.cid_).join(
        cols, members.customer_id == cols.cid_p_
    )
    return joined.group_by("segment").aggregate(
        customers=joined.count(),
        revenue=joined.rev_.cast("float64").fill_null(0.0).sum(),
        exclusive=(joined.held_ == 1).cast("int64").sum(),
        **{f"mean_{t}": _value(joined[f"t_{t}"]).mean() for t in traits},
    )


def stability_expr(members: ir.Table, previous: ir.Table) -> ir.Table:
    """Per segment of the previous run: its size then and the customers still in it."""
    keys = ["segment", "customer_id"]
    prev = previous.select(*keys)
    stayed = prev.join(members.select(*keys), keys, how="semi")
    kept = stayed.group_by("segment").aggregate(both=stayed.count())
    sizes = prev.group_by("segment").aggregate(previous=prev.count())
    joined = sizes.left_join(kept, sizes.segment == kept.segment)
    return joined.select(
        segment=joined.segment, previous=joined.previous, both=joined.both.fill_null(0)
    )


def coverage_expr(members: ir.Table, profiles: ir.Table, kept: Sequence[str]) -> ir.Table:
    """One row: the revenue of the customers in any of `kept` (each counted once)."""
    chosen = members.filter(members.segment.isin(list(kept))) if kept else members.limit(0)
    ids = chosen.select(cid_=chosen.customer_id).distinct()
    joined = profiles.join(ids, profiles.customer_id == ids.cid_)
    return joined.aggregate(
        customers=joined.count(), revenue=joined.monetary.cast("float64").fill_null(0.0).sum()
    )


def _to_pandas(expr: ir.Expr) -> pd.DataFrame:
    return expr.to_pandas()


def summaries(
    members: ir.Table,
    profiles: ir.Table,
    settings: SegmentValidationSettings,
    previous: ir.Table | None = None,
    execute: Execute = _to_pandas,
) -> Summaries:
    """Run the summary queries (each returns at most segments² rows)."""
    traits = list(settings.separation_traits)
    _check_traits(profiles, traits)
    return Summaries(
        base=execute(base_expr(profiles, traits)).iloc[0],
        segments=execute(segments_expr(members, profiles, traits)),
        overlap=execute(overlap(members)),
        stability=None if previous is None else execute(stability_expr(members, previous)),
    )


def _num(value: Any) -> float:
    return math.nan if value is None or pd.isna(value) else float(value)


def _separation(
    seg: pd.DataFrame, base: pd.Series, traits: Sequence[str]
) -> dict[str, tuple[float, str | None]]:
    """Segment → (distance to the nearest other segment, its name)."""
    usable = [t for t in traits if _num(base.get(f"std_{t}")) > 0]
    z = {
        str(row.segment): [
            (_num(getattr(row, f"mean_{t}")) - _num(base[f"mean_{t}"])) / _num(base[f"std_{t}"])
            for t in usable
        ]
        for row in seg.itertuples(index=False)
    }
    out: dict[str, tuple[float, str | None]] = {}
    for name, vec in z.items():
        best: tuple[float, str | None] = (math.nan, None)
        for other, ovec in z.items():
            pairs = [
                (a, b)
                for a, b in zip(vec, ovec, strict=True)
                if not (math.isnan(a) or math.isnan(b))
            ]
            if other == name or not pairs:
                continue
            d = math.sqrt(sum((a - b) ** 2 for a, b in pairs) / len(pairs))
            if math.isnan(best[0]) or d < best[0]:
                best = (d, other)
        out[name] = best
    return out


def assess(
    stats: Summaries,
    settings: SegmentValidationSettings,
    segments: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The validation frame (without the coverage), from the summaries alone.

    `segments` lists the defined segments in order (an empty one still gets a row, flagged
    too small); by default, the segments that have members.
    """
    base_n = _num(stats.base["customers"])
    base_rev = _num(stats.base["revenue"])
    seg = stats.segments.set_index("segment")
    names = list(segments) if segments is not None else sorted(map(str, seg.index))
    sep = _separation(stats.segments, stats.base, settings.separation_traits)
    ov = stats.overlap[stats.overlap.segment_a != stats.overlap.segment_b]
    stab = stats.stability.set_index("segment") if stats.stability is not None else None
    rows = []
    for name in names:
        n = int(seg.loc[name, "customers"]) if name in seg.index else 0
        rev = _num(seg.loc[name, "revenue"]) if name in seg.index else 0.0
        share = n / base_n if base_n else math.nan
        rev_share = rev / base_rev if base_rev else math.nan
        mine = ov[ov.segment_a == name].sort_values(
            ["jaccard", "segment_b"], ascending=[False, True]
        )
        top = mine.iloc[0] if len(mine) else None
        stability = math.nan
        if stab is not None and name in stab.index:
            prev, both = _num(stab.loc[name, "previous"]), _num(stab.loc[name, "both"])
            union = prev + n - both
            stability = both / union if union else math.nan
        distance, nearest = sep.get(name, (math.nan, None))
        value_index = rev_share / share if share and not math.isnan(share) else math.nan
        flags = []
        if n < settings.min_size or (not math.isnan(share) and share < settings.min_share):
            flags.append("too_small")
        if not math.isnan(value_index) and value_index < settings.min_value_index:
            flags.append("low_value")
        flags += [
            f"overlapping_with:{o}"
            for o in mine[mine.jaccard > settings.max_overlap].segment_b.astype(str)
        ]
        if not math.isnan(distance) and distance < settings.min_separation:
            flags.append("not_separated")
        if not math.isnan(stability) and stability < settings.min_stability:
            flags.append("unstable")
        rows.append(
            {
                "segment": name,
                "size": n,
                "share": share,
                "revenue": rev,
                "revenue_share": rev_share,
                "value_index": value_index,
                "exclusive_share": int(seg.loc[name, "exclusive"]) / n if n else math.nan,
                "separation": distance,
                "nearest": nearest,
                "stability": stability,
                "max_overlap": _num(top.jaccard) if top is not None else math.nan,
                "overlaps_with": str(top.segment_b) if top is not None else None,
                "flags": json.dumps(flags),
            }
        )
    frame = pd.DataFrame(rows, columns=list(COLUMNS[:-3]))
    return _recommend(frame, settings)


def flag_list(value: str) -> list[str]:
    """The flags of one row (published as a JSON list)."""
    return [str(f) for f in json.loads(value)] if value else []


def _recommend(frame: pd.DataFrame, settings: SegmentValidationSettings) -> pd.DataFrame:
    """Add recommendation (keep, merge, drop), merge_with and kept.

    Too small or low value: drop. Overlapping too much with a segment that is not dropped:
    merge (merge_with names the partners, comma-separated).
    """
    flags = {str(r.segment): flag_list(str(r.flags)) for r in frame.itertuples(index=False)}
    drop = {name for name, fl in flags.items() if {"too_small", "low_value"} & set(fl)}
    merge_with: dict[str, list[str]] = {}
    for name, fl in flags.items():
        for flag in fl:
            other = flag.removeprefix("overlapping_with:")
            if other != flag and name not in drop and other not in drop:
                merge_with.setdefault(name, []).append(other)
    names = [str(s) for s in frame.segment]
    return frame.assign(
        recommendation=[
            "drop" if n in drop else "merge" if n in merge_with else "keep" for n in names
        ],
        merge_with=[", ".join(merge_with[n]) if n in merge_with else None for n in names],
        kept=[n not in drop for n in names],
    )


def recommendations(frame: pd.DataFrame) -> list[str]:
    """Readable actions: 'drop C', 'merge A+B' (each pair once)."""
    out = [f"drop {s}" for s in frame.loc[frame.recommendation == "drop", "segment"]]
    pairs: set[tuple[str, str]] = set()
    for r in frame.itertuples(index=False):
        if r.recommendation == "merge":
            for other in str(r.merge_with).split(", "):
                a, b = sorted((str(r.segment), other))
                pairs.add((a, b))
    return out + [f"merge {a}+{b}" for a, b in sorted(pairs)]


def validate_segments(
    members: ir.Table,
    profiles: ir.Table,
    settings: SegmentValidationSettings,
    *,
    previous: ir.Table | None = None,
    segments: Sequence[str] | None = None,
    execute: Execute = _to_pandas,
) -> SegmentValidation:
    """Validate segments: the ``segment_validation`` frame and a summary dict.

    `members` and `previous` are (segment, customer_id) for this and the last run;
    `profiles` has customer_id, monetary and the separation traits; `execute` runs an Ibis
    expression (default: its own backend; the pipeline passes its engine's). The summary
    holds customers, revenue, the kept and dropped segments, the recommendations,
    ``kept_revenue_share`` (revenue share of the customers in any kept segment, each counted
    once), ``all_revenue_share`` (the same over all segments), ``threshold``
    (settings.revenue_coverage) and ``passed``.
    """
    stats = summaries(members, profiles, settings, previous, execute)
    frame = assess(stats, settings, segments)
    kept = [str(s) for s in frame.loc[frame.kept, "segment"]]
    base_rev = _num(stats.base["revenue"])

    def covered(names: Sequence[str]) -> float:
        if not names:  # no segment kept: none of the revenue is covered
            return 0.0 if base_rev else math.nan
        row = execute(coverage_expr(members, profiles, names)).iloc[0]
        return _num(row["revenue"]) / base_rev if base_rev else math.nan

    coverage = covered(kept)
    all_names = [str(s) for s in frame.segment]
    coverage_all = coverage if kept == all_names else covered(all_names)
    target = settings.revenue_coverage
    summary: dict[str, Any] = {
        "customers": int(_num(stats.base["customers"])),
        "revenue": base_rev,
        "segments": len(frame),
        "kept": kept,
        "dropped": [str(s) for s in frame.loc[~frame.kept, "segment"]],
        "recommendations": recommendations(frame),
        "kept_revenue_share": coverage,
        "all_revenue_share": coverage_all,
        "threshold": target,
        "passed": bool(not math.isnan(coverage) and coverage >= target),
        "stability_available": previous is not None,
    }
    return SegmentValidation(frame=frame, summary=summary)
