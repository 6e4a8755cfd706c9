"""YAML files validated into pydantic models, with errors that name the file, the field and the line."""

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import TandemError


def load_yaml_model(path: Path, kind: type[BaseModel], error: type[TandemError] = TandemError):
    """The YAML file at `path` validated into `kind`; any problem is one `error` naming file:line and field."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{path}: cannot read: {problem}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise error(f"{where}: invalid YAML: {getattr(problem, 'problem', None) or problem}") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    try:
        return kind.model_validate(data)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        line = _line_of(yaml.compose(text), first["loc"])
        where = f"{path}:{line}" if line else str(path)
        message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        more = f" (and {len(invalid.errors()) - 1} more)" if len(invalid.errors()) > 1 else ""
        raise error(f"{where}: field '{field}': {message}{more}") from None


def _line_of(node, loc) -> int | None:
    """The 1-based line of the YAML node at `loc`, or of its nearest parent that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
            if node is None:  # a missing field: point at the mapping that lacks it
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return line
        # For an unknown key the loc ends at the key itself; the value's line is the key's line.
        line = node.start_mark.line + 1
    return line
