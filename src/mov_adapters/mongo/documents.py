"""The MongoDB edge's converter: domain objects to documents and back.

Field names are camelCase (`client_msg_id` is `clientMsgId`) and a document's identity is `_id`
(a message's or notification's `id`, a user's `user_id` for preferences; a delivery is keyed by
(notificationId, channel) and its `_id` is MongoDB's own). Enums are stored by value. Dates are
BSON dates, so written in UTC to the millisecond: a stored object, read back, equals
`BSON.structure(BSON.unstructure(obj), cls)`, which is what the stores answer with.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.preconf.bson import BsonConverter, make_converter

from mov_adapters.serialization import configure_common, utc_millis
from mov_core.domain.chat import ChatMessage
from mov_core.domain.notifications import Delivery, Notification, Preferences

_KEYED_BY = {ChatMessage: "id", Notification: "id", Delivery: None, Preferences: "user_id"}
"""Every class stored as a document, and the field that is its `_id`."""


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def make_bson_converter() -> BsonConverter:
    """Documents are ours, so a failure is a bug to see plainly: no detailed validation."""
    converter = make_converter(detailed_validation=False)
    configure_common(converter)
    converter.register_unstructure_hook(datetime, utc_millis)
    for cls, key in _KEYED_BY.items():
        names = {a.name: "_id" if a.name == key else camel(a.name) for a in attrs.fields(cls)}
        renamed: dict[str, Any] = {n: override(rename=stored) for n, stored in names.items()}
        converter.register_unstructure_hook(
            cls, make_dict_unstructure_fn(cls, converter, **renamed)
        )
        converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **renamed))
    return converter


BSON = make_bson_converter()
"""The one MongoDB converter: its hooks are built once, at import."""
