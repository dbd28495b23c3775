"""docs/ stays in step with the code."""

from __future__ import annotations

from pathlib import Path

from segmint.ingest.parse import RULES
from segmint.project.docs import entity_reference_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_data_model_lists_every_entity_column_as_the_code_defines_it() -> None:
    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- BEGIN GENERATED ENTITIES")) + 4
    end = text.index("<!-- END GENERATED ENTITIES")
    assert text[begin:end].strip() == entity_reference_markdown().strip(), (
        "regenerate: python -c 'from segmint.project.docs import entity_reference_markdown "
        "as m; print(m())'"
    )


def test_data_model_documents_every_rule() -> None:
    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    missing = [rule for rule in RULES if f"`{rule}`" not in text]
    assert not missing


def _generated_block(text: str, marker: str) -> str:
    begin = text.index("-->\n", text.index(f"<!-- BEGIN GENERATED {marker}")) + 4
    return text[begin : text.index(f"<!-- END GENERATED {marker}")].strip()


def test_data_model_lists_every_profile_trait() -> None:
    from segmint.project.docs import trait_reference_markdown

    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    assert _generated_block(text, "TRAITS") == trait_reference_markdown().strip()


def test_data_model_lists_every_prediction_column() -> None:
    from segmint.project.docs import prediction_reference_markdown

    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    assert _generated_block(text, "PREDICTIONS") == prediction_reference_markdown().strip()


def test_tag_docs_list_the_default_catalogue() -> None:
    from segmint.project.docs import tag_reference_markdown

    text = (DOCS / "tags.md").read_text(encoding="utf-8")
    assert _generated_block(text, "TAGS") == tag_reference_markdown().strip()


def _yaml_blocks(text: str, key: str) -> list[str]:
    """The ```yaml blocks of `text` whose first line is `key:`."""
    blocks = text.split("```yaml\n")[1:]
    return [b[: b.index("```")] for b in blocks if b.startswith(f"{key}:")]


def test_project_file_documents_every_clustering_and_segments_key() -> None:
    from pydantic import BaseModel

    from segmint.project.spec_clustering import (
        ClusterFeature,
        ClusteringSettings,
        default_feature_sets,
    )
    from segmint.project.spec_segments import (
        SegmentFamily,
        SegmentRuleSpec,
        SegmentSettings,
        SegmentValidationSettings,
    )

    text = (DOCS / "project-file.md").read_text(encoding="utf-8")
    for key in ("clustering", "segments"):
        assert f"| `{key}` |" in text, f"no top-level row for `{key}`"
        assert f"## `{key}`" in text, f"no section for `{key}`"
    # only the two sections count: `name` or `enabled` elsewhere in the file prove nothing
    start = text.index("## `clustering`")
    sections = text[start : text.index("\n## ", text.index("## `segments`"))]
    models: list[type[BaseModel]] = [
        ClusteringSettings,
        ClusterFeature,
        SegmentSettings,
        SegmentRuleSpec,
        SegmentFamily,
        SegmentValidationSettings,
    ]
    missing = [
        f"{model.__name__}.{field}"
        for model in models
        for field in model.model_fields
        if f"`{field}`" not in sections and f".{field}`" not in sections
    ]
    assert not missing, f"docs/project-file.md's clustering / segments sections lack {missing}"
    built_in = sections[sections.index("The built-in sets:") :]
    b2c, b2b = built_in[: built_in.index("`b2b` (")], built_in[built_in.index("`b2b` (") :]
    for name, prose in (("b2c", b2c), ("b2b", b2b.split("\n\n")[0])):
        columns = [f.column for f in default_feature_sets()[name]]
        absent = [c for c in columns if f"`{c}`" not in prose]
        assert not absent, f"the built-in {name} feature set's columns {absent} are not listed"


def test_project_file_examples_of_clustering_and_segments_are_valid() -> None:
    import yaml

    from segmint.project.spec_clustering import ClusteringSettings
    from segmint.project.spec_predict import PredictSettings
    from segmint.project.spec_profile import LayerSettings, TagSettings
    from segmint.project.spec_segments import SegmentSettings
    from segmint.segments.rules import check_project_rules
    from segmint.tags.catalogue import project_tags

    text = (DOCS / "project-file.md").read_text(encoding="utf-8")
    (clustering,) = _yaml_blocks(text, "clustering")
    ClusteringSettings.model_validate(yaml.safe_load(clustering)["clustering"])
    (segments,) = _yaml_blocks(text, "segments")
    settings = SegmentSettings.model_validate(yaml.safe_load(segments)["segments"])
    layers = LayerSettings()
    tags = project_tags(TagSettings(), layers, PredictSettings())
    check_project_rules(
        settings.rules, [t.name for t in tags], [layer.name for layer in layers.definitions]
    )


def test_data_model_lists_every_segment_table() -> None:
    from segmint.segments.queries import CLUSTER_EVALUATION
    from segmint.segments.stage import SEGMENT_TABLES

    text = (DOCS / "data-model.md").read_text(encoding="utf-8")
    published = text[text.index("## Published tables") : text.index("## Profile traits")]
    missing = [
        name
        for name in (*SEGMENT_TABLES, f"{CLUSTER_EVALUATION}` (log")
        if f"| `{name}" not in published
    ]
    assert not missing, f"docs/data-model.md's Published tables lacks {missing}"
