"""Command-line flags made from a typed config: one flag per field, so every field is a flag, a new field is
a new flag with nothing else to write, and a flag's help is the field's own description."""

import argparse
import types
import typing
from pathlib import Path

from pydantic import BaseModel, ValidationError

from bot.errors import TandemError


def add_field_flags(parser, model: type[BaseModel], prefix: str, custom: dict[str, dict] | None = None) -> None:
    """`--field-name VALUE` for every field of `model`, stored as `args.<prefix><field>` (None when not given).

    A list of paths is a repeatable flag (a path may hold a comma); any other list is one comma-separated
    value. `custom` maps a field to another flag name (`"flag"`), `"metavar"` or argparse `"group"`.
    """
    for name, info in model.model_fields.items():
        settings = (custom or {}).get(name, {})
        repeatable = _is_list_of_paths(info.annotation)
        suffix = "; repeatable" if repeatable else "; comma-separated" if _takes_list(info.annotation) else ""
        settings.get("group", parser).add_argument(
            "--" + settings.get("flag", name).replace("_", "-"), dest=prefix + name, default=None,
            action="append" if repeatable else "store", metavar=settings.get("metavar", _metavar(name, info.annotation)),
            help=info.description + suffix if info.description else None)


def apply_field_flags(config: BaseModel, args: argparse.Namespace, prefix: str, error: type[TandemError] = TandemError,
                      custom: dict[str, dict] | None = None, **extra) -> BaseModel:
    """`config` with the fields given on the command line (and `extra` fields) replaced, validated again;
    a value that does not validate is one line naming its flag."""
    given = {name: _value(info.annotation, getattr(args, prefix + name))
             for name, info in type(config).model_fields.items() if getattr(args, prefix + name, None) is not None}
    return validated(type(config), {**config.model_dump(), **given, **extra}, error, custom)


def validated(model: type[BaseModel], fields: dict, error: type[TandemError] = TandemError,
              custom: dict[str, dict] | None = None) -> BaseModel:
    """`fields` as a `model`, or `error` naming the flag of the first field that does not validate."""
    try:
        return model.model_validate(fields)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        name = str(first["loc"][0])
        flag = (custom or {}).get(name, {}).get("flag", name)
        raise error(f"--{flag.replace('_', '-')}: {first['msg']}") from None


def _value(annotation, value):
    """A flag's text as the field takes it; pydantic turns "8" into 8 and "false" into False when validating."""
    if isinstance(value, list) or not _takes_list(annotation) or value in _literal_values(annotation):
        return value  # target_modules: "all-linear" is a value of its own, not a list of one module
    return [item.strip() for item in value.split(",") if item.strip()]


def _metavar(name: str, annotation) -> str:
    """The values a field takes where they are few (auto|on|off, true|false), else a word from its name."""
    if annotation is bool:
        return "true|false"
    values = _literal_values(annotation)
    if values and not _takes_list(annotation):
        return "|".join(map(str, values))
    return name.split("_")[-1].upper()


def _members(annotation) -> list:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [member for arg in typing.get_args(annotation) for member in _members(arg)]
    return [annotation]


def _takes_list(annotation) -> bool:
    return any(typing.get_origin(member) is list for member in _members(annotation))


def _is_list_of_paths(annotation) -> bool:
    return any(typing.get_origin(member) is list and typing.get_args(member) == (Path,) for member in _members(annotation))


def _literal_values(annotation) -> list:
    return [value for member in _members(annotation) if typing.get_origin(member) is typing.Literal
            for value in typing.get_args(member)]
