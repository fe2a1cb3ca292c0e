"""Every failing field at once. Litestar (msgspec) stops at the first error; when it refuses a
request, the raw JSON body is checked again here field by field against the route's schema."""

from __future__ import annotations

import enum
import functools
import typing
from typing import Any, get_args, get_origin

import msgspec
from litestar.exceptions import ValidationException

MALFORMED = "Malformed JSON body"


def field_label(name: str) -> str:
    return name[:1].upper() + name[1:]


def _expected(annotation: Any) -> str:  # noqa: ANN401 - any type annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    target = (
        args[0]
        if get_origin(annotation) in (typing.Union, type(int | None)) and args
        else annotation
    )
    if isinstance(target, type) and issubclass(target, enum.Enum):
        return "one of " + ", ".join(str(m.value) for m in target)
    if get_origin(target) is typing.Literal:
        return "one of " + ", ".join(str(a) for a in get_args(target))
    names = {bool: "a boolean", int: "an integer", str: "a string", float: "a number"}
    return names.get(target, "valid")


@functools.cache
def _fields(
    struct_type: type[msgspec.Struct],
) -> tuple[dict[str, msgspec.inspect.Field], dict[str, Any]]:
    """A body schema's fields by JSON name, and its type hints (computed once per schema)."""
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)  # noqa: S101 - schemas are Structs
    hints = typing.get_type_hints(struct_type, include_extras=False)
    return {f.encode_name: f for f in info.fields}, hints


def check_fields(struct_type: type[msgspec.Struct], raw: object) -> list[dict[str, str]]:
    """Unknown keys, missing required fields and wrong types: all of them, by JSON name."""
    if not isinstance(raw, dict):
        return [{"field": "body", "message": "Request body must be a JSON object"}]
    known, hints = _fields(struct_type)
    issues = [
        {"field": key, "message": f'"{key}" is not allowed'} for key in raw if key not in known
    ]
    for name, spec in known.items():
        if name not in raw:
            if spec.required:
                issues.append({"field": name, "message": f"{field_label(name)} is required"})
            continue
        try:
            msgspec.convert(raw[name], hints[spec.name], strict=True)
        except msgspec.ValidationError:
            message = f'"{name}" must be {_expected(hints[spec.name])}'
            issues.append({"field": name, "message": message})
    return issues


def issues_from_litestar(error: ValidationException) -> list[dict[str, str]]:
    """Query, path and header errors as Litestar reports them (one per parameter)."""
    found = []
    for item in error.extra if isinstance(error.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key", "request"))
            found.append({"field": key, "message": f'"{key}" is invalid'})
    return found or [{"field": "request", "message": str(error.detail)}]
