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
