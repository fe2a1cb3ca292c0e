"""The event lifecycle: exactly the transition table of API.md, nothing more, nothing less."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain.errors import InvalidTransition
from mov_core.domain.lifecycle import (
    CHAT_WRITABLE,
    EDITABLE,
    OPEN_FOR_ENROLLMENT,
    PUBLICLY_LISTED,
    EventStatus,
    ensure_transition,
    is_terminal,
)

# Written from API.md, independently of `lifecycle.TRANSITIONS`:
# Planning -> Published | Canceled; Published -> Running | Canceled; Running -> Completed.
STATUS_NAMES = ("Planning", "Published", "Running", "Completed", "Canceled")
ALLOWED_MOVES = frozenset(
    {
        ("Planning", "Published"),
        ("Planning", "Canceled"),
        ("Published", "Running"),
        ("Published", "Canceled"),
        ("Running", "Completed"),
    }
)
ALL_PAIRS = list(itertools.product(STATUS_NAMES, repeat=2))  # all 25 (current, target)


def test_the_statuses_are_exactly_the_five_api_strings() -> None:
    assert [status.value for status in EventStatus] == list(STATUS_NAMES)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED_MOVES))
def test_a_move_of_the_api_table_is_allowed(current: str, target: str) -> None:
    ensure_transition(EventStatus(current), EventStatus(target))


@pytest.mark.parametrize(
    ("current", "target"), [pair for pair in ALL_PAIRS if pair not in ALLOWED_MOVES]
)
def test_a_move_outside_the_api_table_is_an_invalid_transition(current: str, target: str) -> None:
    with pytest.raises(InvalidTransition) as caught:
        ensure_transition(EventStatus(current), EventStatus(target))

    assert str(caught.value) == f"Invalid state transition from {current} to {target}"
    assert caught.value.current == current
    assert caught.value.target == target


@pytest.mark.parametrize("status", STATUS_NAMES)
def test_staying_in_the_same_state_is_not_a_move(status: str) -> None:
    with pytest.raises(InvalidTransition, match=f"^Invalid state transition from {status} to"):
        ensure_transition(EventStatus(status), EventStatus(status))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_ensure_transition_agrees_with_the_api_table_on_every_pair(
    current: str, target: str
) -> None:
    try:
        ensure_transition(EventStatus(current), EventStatus(target))
    except InvalidTransition:
        allowed = False
    else:
        allowed = True

    assert allowed == ((current, target) in ALLOWED_MOVES)


@pytest.mark.parametrize("status", ["Completed", "Canceled"])
def test_completed_and_canceled_are_terminal(status: str) -> None:
    assert is_terminal(EventStatus(status))


@pytest.mark.parametrize("status", ["Planning", "Published", "Running"])
def test_planning_published_and_running_are_not_terminal(status: str) -> None:
    assert not is_terminal(EventStatus(status))


@pytest.mark.parametrize("status", ["Completed", "Canceled"])
def test_nothing_leaves_a_terminal_state(status: str) -> None:
    for target in EventStatus:
        with pytest.raises(InvalidTransition):
            ensure_transition(EventStatus(status), target)


def test_details_are_editable_only_while_planning_or_published() -> None:
    assert {status.value for status in EDITABLE} == {"Planning", "Published"}


def test_only_a_published_event_is_open_for_enrollment() -> None:
    assert {status.value for status in OPEN_FOR_ENROLLMENT} == {"Published"}


def test_public_events_are_listed_while_published_running_or_completed() -> None:
    assert {status.value for status in PUBLICLY_LISTED} == {"Published", "Running", "Completed"}


def test_the_chat_takes_messages_while_published_or_running() -> None:
    assert {status.value for status in CHAT_WRITABLE} == {"Published", "Running"}


@given(st.lists(st.sampled_from(STATUS_NAMES), max_size=20))
def test_any_walk_from_planning_follows_the_table_and_ends_after_at_most_three_moves(
    targets: list[str],
) -> None:
    current = "Planning"
    moves = 0
    for target in targets:
        try:
            ensure_transition(EventStatus(current), EventStatus(target))
        except InvalidTransition:
            assert (current, target) not in ALLOWED_MOVES
        else:
            assert (current, target) in ALLOWED_MOVES
            current = target
            moves += 1

    assert moves <= 3
    assert is_terminal(EventStatus(current)) == (current in {"Completed", "Canceled"})
