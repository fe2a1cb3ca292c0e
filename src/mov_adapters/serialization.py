"""What every converter at a storage or wire edge shares, and the outbox's JSON converter.

Conversion stays at the edges: the core never imports cattrs. Each edge builds its own converter
(`make_json_converter` here, `sql.rows.make_sql_converter`, `mongo.documents.make_bson_converter`)
from a fresh one, never the global `cattrs` converter, and starts with `configure_common`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cattrs import BaseConverter
from cattrs.preconf.json import JsonConverter, make_converter
from cattrs.strategies import configure_tagged_union

from mov_core.domain.changes import Change
from mov_core.domain.notifications import Channel, NotificationType

Choices = Mapping[tuple[NotificationType, Channel], bool]
"""`Preferences.choices`, stored by both databases as a list of {type, channel, enabled}."""


def utc(moment: datetime) -> datetime:
    """Aware UTC. A naive value is one a driver decoded as UTC (pymongo without `tz_aware`)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_millis(moment: datetime) -> datetime:
    """`moment` in UTC, to the millisecond: what a BSON date holds, and API.md's precision."""
    moment = utc(moment)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _datetime_in(value: Any, _: type) -> datetime:  # noqa: ANN401 - cattrs hook signature
    if isinstance(value, datetime):  # from a database driver
        return utc(value)
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # text without a zone names no instant
        msg = f"timestamp without a time zone: {value!r}"
        raise ValueError(msg)
    return moment.astimezone(UTC)


def _is_enum(cls: Any) -> bool:  # noqa: ANN401 - cattrs predicate signature
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def _choices_out(choices: Choices) -> list[dict[str, Any]]:
    return [
        {"type": kind.value, "channel": channel.value, "enabled": enabled}
        for (kind, channel), enabled in choices.items()
    ]


_KNOWN_TYPES = frozenset(t.value for t in NotificationType)


def _choices_in(stored: Any, _: type) -> dict[tuple[NotificationType, Channel], bool]:  # noqa: ANN401
    return {
        (NotificationType(c["type"]), Channel(c["channel"])): bool(c["enabled"])
        for c in stored
        if c["type"] in _KNOWN_TYPES  # a type since retired is no longer a choice
    }


def configure_common(converter: BaseConverter) -> None:
    """Hooks every edge shares: datetimes structured as aware UTC (each edge decides how it
    writes them), enums by value, a user's notification choices as a list of records."""
    converter.register_structure_hook(datetime, _datetime_in)
    converter.register_unstructure_hook_factory(_is_enum, lambda _: lambda member: member.value)
    converter.register_structure_hook_factory(_is_enum, lambda cls: lambda value, _: cls(value))
    # a parametrized Mapping is no class for the hooks' single dispatch: match it exactly
    converter.register_unstructure_hook_func(lambda t: t == Choices, _choices_out)
    converter.register_structure_hook_func(lambda t: t == Choices, _choices_in)


def _datetime_out(moment: datetime) -> str:
    return utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_json_converter() -> JsonConverter:
    """Changes as a tagged union (`"type": "<ClassName>"`), datetimes as ISO-8601 UTC to the
    microsecond, enums by value, tuples as lists; unknown keys refused."""
    converter = make_converter(forbid_extra_keys=True)
    configure_common(converter)
    converter.register_unstructure_hook(datetime, _datetime_out)
    configure_tagged_union(Change, converter, tag_name="type")
    return converter


_CONVERTER = make_json_converter()


def change_to_json(change: Change) -> str:
    return json.dumps(_CONVERTER.unstructure(change, Change), separators=(",", ":"))


def change_from_json(text: str) -> Change:
    # cattrs types its `cl` as a class; the changes' union is one of the types it takes
    return _CONVERTER.structure(json.loads(text), Change)  # type: ignore[arg-type]
