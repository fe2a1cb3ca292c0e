"""One JSON converter for what adapters persist or ship as JSON (outbox changes, cached
views). Conversion stays at the edges: the core never imports cattrs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cattrs.preconf.json import JsonConverter, make_converter
from cattrs.strategies import configure_tagged_union

from mov_core.domain.changes import Change


def _datetime_out(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _datetime_in(value: Any, _: type) -> datetime:  # noqa: ANN401 - cattrs hook signature
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        msg = f"timestamp without a time zone: {value!r}"
        raise ValueError(msg)
    return moment.astimezone(UTC)


def make_json_converter() -> JsonConverter:
    """Changes as a tagged union (`"type": "<ClassName>"`), datetimes as ISO-8601 UTC,
    enums by value, tuples as lists; unknown keys refused."""
    converter = make_converter(forbid_extra_keys=True)
    converter.register_unstructure_hook(datetime, _datetime_out)
    converter.register_structure_hook(datetime, _datetime_in)
    configure_tagged_union(Change, converter, tag_name="type")
    return converter


_CONVERTER = make_json_converter()


def change_to_json(change: Change) -> str:
    return json.dumps(_CONVERTER.unstructure(change, Change), separators=(",", ":"))


def change_from_json(text: str) -> Change:
    return _CONVERTER.structure(json.loads(text), Change)
