import json

import pytest
from hypothesis import given
from tests.strategies import CHANGE_STRATEGIES, any_change

from mov_adapters.serialization import change_from_json, change_to_json
from mov_core.domain.changes import CHANGE_TYPES


def test_every_change_type_has_a_strategy():
    assert set(CHANGE_STRATEGIES) == set(CHANGE_TYPES)


@given(any_change)
def test_a_change_survives_a_json_round_trip(change):
    assert change_from_json(change_to_json(change)) == change


@given(any_change)
def test_the_json_names_the_change_type(change):
    assert json.loads(change_to_json(change))["type"] == type(change).__name__


def test_unknown_keys_and_types_are_refused():
    with pytest.raises(Exception):  # noqa: B017, PT011 - cattrs raises a ClassValidationError group
        change_from_json('{"type": "EventPublished", "event_id": 1, "extra": 2}')
    with pytest.raises(Exception):  # noqa: B017, PT011
        change_from_json('{"type": "NoSuchChange", "event_id": 1}')
