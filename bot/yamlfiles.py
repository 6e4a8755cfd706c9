"""YAML files validated into pydantic models, with errors that name the file, the field and the line."""

import re
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError

from bot.errors import TandemError
from bot.userinput import read_user_text


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, minus what it accepts without a word: a key given twice (the last one used to
    win), a string that is not valid Unicode, a value Python cannot hold; each is an error at its line.
    It also reads 1e-4 as a number, as YAML 1.2 and every other parser do (YAML 1.1 made it a string)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`, whose keys may be given again
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if duplicate:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as problem:  # an int of 5,000 digits, a 13th month
            raise ConstructorError(None, None, f"cannot read this value: {str(problem).split(';')[0]}",
                                   node.start_mark) from None

    def construct_unicode_str(self, node):
        value = self.construct_scalar(node)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConstructorError(None, None, "a string that is not valid Unicode (a lone surrogate escape "
                                               "such as \\ud800)", node.start_mark) from None
        return value


StrictLoader.add_constructor("tag:yaml.org,2002:str", StrictLoader.construct_unicode_str)
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                   re.compile(r"^[-+]?[0-9][0-9_]*(\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def _mentions_path(annotation) -> bool:
    return annotation is Path or any(_mentions_path(argument) for argument in typing.get_args(annotation))


def _strings_as_paths(kind: type[BaseModel], data: dict) -> dict:
    """`data` with the strings (and lists of strings) given to `kind`'s Path fields made Paths."""
    converted = dict(data)
    for name, info in kind.model_fields.items():
        value = data.get(name)
        if not _mentions_path(info.annotation):
            continue
        if isinstance(value, str):
            converted[name] = Path(value)
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            converted[name] = [Path(item) for item in value]
    return converted


def load_yaml_model(path: Path, kind: type[BaseModel], error: type[TandemError] = TandemError, strict: bool = False):
    """The YAML file at `path` validated into `kind`; any problem is one `error` naming file:line and field.

    `strict`: a value must have its field's type as written (`max_words: "120"` or `max_words: true` is an
    error, not 120 or 1). YAML has no path type, so a string given to a Path field is taken as a path.
    """
    text = read_user_text(path, error)
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise error(f"{where}: invalid YAML: {getattr(problem, 'problem', None) or problem}") from None
    except RecursionError:
        raise error(f"{path}: invalid YAML: nested too deeply") from None
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    if strict:
        data = _strings_as_paths(kind, data)
    try:
        return kind.model_validate(data, strict=strict)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        line = _line_of(yaml.compose(text, Loader=StrictLoader), first["loc"])
        where = f"{path}:{line}" if line else str(path)
        message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        more = f" (and {len(invalid.errors()) - 1} more)" if len(invalid.errors()) > 1 else ""
        raise error(f"{where}: field '{field}': {message}{more}") from None


def line_of(path: Path, loc: tuple) -> int | None:
    """The 1-based line of the field at `loc` (("style", "max_words")) in a YAML file that has loaded."""
    return _line_of(yaml.compose(read_user_text(path), Loader=StrictLoader), loc)


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
