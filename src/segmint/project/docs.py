"""Markdown for docs/data-model.md, generated from the entity catalogue so the two agree."""

from __future__ import annotations

from segmint.project.entities import ENTITIES, Column


def _constraints(column: Column) -> str:
    parts = []
    if column.required:
        parts.append("required")
    if column.identifier:
        parts.append("identifier")
    if column.enum_values:
        parts.append("one of " + ", ".join(f"`{v}`" for v in column.enum_values))
    if column.min_value is not None:
        parts.append(f"≥ {column.min_value:g}")
    if column.max_value is not None:
        parts.append(f"≤ {column.max_value:g}")
    return "; ".join(parts)


def entity_reference_markdown() -> str:
    """One section per canonical entity with a table of its columns."""
    lines: list[str] = []
    for entity in ENTITIES.values():
        lines.append(f"### `{entity.name}`")
        lines.append("")
        lines.append(entity.description)
        lines.append("")
        key = ", ".join(f"`{k}`" for k in entity.primary_key)
        lines.append(f"Primary key: {key}.")
        if entity.time_column:
            lines.append(f"Event time (freshness, future check): `{entity.time_column}`.")
        if entity.version_column:
            lines.append(
                f"On key conflicts the row with the latest `{entity.version_column}` wins."
            )
        if entity.references_customers:
            lines.append("Rows get `has_customer_record` (orphans are kept and flagged).")
        lines.append("")
        lines.append("| column | type | constraints | meaning |")
        lines.append("|---|---|---|---|")
        for column in entity.columns:
            lines.append(
                f"| `{column.name}` | {column.type.value} | {_constraints(column)} | "
                f"{column.description} |"
            )
        lines.append("")
    return "\n".join(lines)


def trait_reference_markdown() -> str:
    """The `profiles` columns: group, type, sensitivity and meaning of every trait."""
    from segmint.traits.catalog import TRAITS

    lines = ["| trait | group | type | sensitivity | meaning |", "|---|---|---|---|---|"]
    for t in TRAITS:
        lines.append(f"| `{t.name}` | {t.group} | {t.dtype} | {t.sensitivity} | {t.description} |")
    return "\n".join(lines) + "\n"


def prediction_reference_markdown() -> str:
    """The `customer_predictions` columns: type, sensitivity and meaning."""
    from segmint.predict.columns import PREDICTION_COLUMNS

    lines = ["| column | type | sensitivity | meaning |", "|---|---|---|---|"]
    for c in PREDICTION_COLUMNS:
        lines.append(f"| `{c.name}` | {c.dtype} | {c.sensitivity} | {c.description} |")
    return "\n".join(lines) + "\n"


def tag_reference_markdown() -> str:
    """The default tag catalogue: name, type, sensitivity, rule and meaning."""
    from segmint.project.spec_predict import PredictSettings
    from segmint.project.spec_profile import LayerSettings
    from segmint.tags.catalogue import DEFAULT_TAGS, generated_tags, predictive_tags

    lines = ["| tag | type | sensitivity | rule | meaning |", "|---|---|---|---|---|"]
    generated = (*generated_tags(LayerSettings()), *predictive_tags(PredictSettings()))
    for t in (*DEFAULT_TAGS, *generated):
        rule = (t.rule or "").replace("|", "\\|")
        lines.append(
            f"| `{t.name}` | {t.type} | {t.sensitivity} | `{rule}` | {t.description} "
            f"({t.label_zh}) |"
        )
    return "\n".join(lines) + "\n"
