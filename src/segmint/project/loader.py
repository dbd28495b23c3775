"""Load `segmint.yml`: YAML → typed ProjectSpec, with errors that name file, field and line."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from segmint.errors import ConfigError
from segmint.project import spec as spec_module
from segmint.project.entities import ENTITIES
from segmint.project.spec import ProjectSpec

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedProject:
    """A validated project file together with where it lives."""

    spec: ProjectSpec
    path: Path
    config_hash: str

    @property
    def root(self) -> Path:
        """The folder relative paths in the project file are resolved against."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path from the project file, made absolute."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate


def _line_map(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*loc, key)] = key_node.start_mark.line + 1
            _line_map(value_node, (*loc, key), out)
            out[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*loc, index), out)


def _known_names() -> list[str]:
    names: set[str] = set()
    for obj in vars(spec_module).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for field_name, info in obj.model_fields.items():
                names.add(info.alias or field_name)
    for entity in ENTITIES.values():
        names.update(entity.columns_by_name)
    return sorted(names)


def _line_for(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _messages(exc: ValidationError, path: Path, lines: dict[Loc, int]) -> list[str]:
    known = _known_names()
    out = []
    for error in exc.errors():
        # Drop pydantic's union-branch tags (e.g. 'duckdb', 'str', 'ColumnMapping').
        loc: Loc = tuple(
            p
            for p in error["loc"]
            if not (isinstance(p, str) and (p in ("duckdb", "spark", "ibis") or p[:1].isupper()))
            and p not in ("str", "function-after[_check(), Source]")
        )
        line = _line_for(loc, lines)
        where = f"{path}:{line}" if line else str(path)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            guess = difflib.get_close_matches(loc[-1], known, n=1)
            message = f"unknown key {loc[-1]!r}" + (
                f"; did you mean {guess[0]!r}?" if guess else ""
            )
        out.append(f"{where}: {_format_loc(loc)}: {message}")
    return list(dict.fromkeys(out))


def load_project(path: str | Path) -> LoadedProject:
    """Read and validate a project file; every problem is reported at once in a ConfigError."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise ConfigError(f"project file {file} does not exist; create one with 'segmint init'")
    text = file.read_text(encoding="utf-8-sig")
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: the project file must be a mapping of settings")
    lines: dict[Loc, int] = {}
    if node is not None:
        _line_map(node, (), lines)
    try:
        spec = ProjectSpec.model_validate(raw)
    except ValidationError as exc:
        problems = _messages(exc, file, lines)
        head = f"{len(problems)} problem(s) in {file.name}:\n" if len(problems) > 1 else ""
        raise ConfigError(head + "\n".join(problems)) from None
    canonical = json.dumps(spec.model_dump(mode="json", by_alias=True), sort_keys=True)
    config_hash = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return LoadedProject(spec=spec, path=file, config_hash=config_hash)


def project_json_schema() -> dict[str, Any]:
    """The JSON Schema of segmint.yml, for editors and validation tools."""
    schema = ProjectSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "segmint project file (segmint.yml)"
    return schema
