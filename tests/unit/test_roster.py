"""The roster: seats first, then a first-come-first-served waitlist, never overbooked."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain.enrollments import Enrollment, EnrollmentStatus, Occupancy
from mov_core.domain.errors import (
    CapacityBelowEnrolled,
    EventFull,
    EventNotOpen,
    NotOnRoster,
    ValidationFailed,
)
from mov_core.domain.roster import Placement, Promotion, Roster

EVENT_ID = 9
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def make_roster(
    capacity: int = 2,
    *,
    enrolled: Iterable[int] = (),
    waitlist: Iterable[int] = (),
    waitlist_enabled: bool = True,
    is_open: bool = True,
    status: str = "Published",
) -> Roster:
    return Roster(
        event_id=EVENT_ID,
        capacity=capacity,
        waitlist_enabled=waitlist_enabled,
        is_open=is_open,
        status=status,
        enrolled=list(enrolled),
        waitlist=list(waitlist),
    )


def state(roster: Roster) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    return roster.capacity, roster.enrolled, roster.waitlist


# --- enroll --------------------------------------------------------------------------------


def test_a_participant_takes_a_free_seat() -> None:
    roster = make_roster(2, enrolled=[1])

    assert roster.enroll(2) is Placement.ENROLLED
    assert roster.enrolled == (1, 2)
    assert roster.free_seats == 0


def test_seats_are_given_in_order_of_arrival() -> None:
    roster = make_roster(3)

    placements = [roster.enroll(user) for user in (5, 3, 4)]

    assert placements == [Placement.ENROLLED] * 3
    assert roster.enrolled == (5, 3, 4)


def test_a_participant_joins_the_end_of_the_waitlist_when_seats_are_gone() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2])

    assert roster.enroll(3) is Placement.WAITLISTED
    assert roster.enrolled == (1,)
    assert roster.waitlist == (2, 3)


def test_a_full_event_without_a_waitlist_refuses_the_participant() -> None:
    roster = make_roster(1, enrolled=[1], waitlist_enabled=False)

    with pytest.raises(EventFull) as caught:
        roster.enroll(2)

    assert caught.value.event_id == EVENT_ID
    assert state(roster) == (1, (1,), ())


def test_an_event_not_open_refuses_new_participants() -> None:
    roster = make_roster(5, is_open=False, status="Planning")

    with pytest.raises(EventNotOpen, match=r"\(status Planning\)"):
        roster.enroll(1)

    assert state(roster) == (5, (), ())


@pytest.mark.parametrize("is_open", [True, False])
def test_enrolling_again_while_enrolled_is_a_replay_that_changes_nothing(is_open: bool) -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2], is_open=is_open)

    assert roster.enroll(1) is Placement.ALREADY_ENROLLED
    assert state(roster) == (1, (1,), (2,))


@pytest.mark.parametrize("is_open", [True, False])
def test_enrolling_again_while_waitlisted_is_a_replay_that_changes_nothing(is_open: bool) -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2, 3], is_open=is_open)

    assert roster.enroll(2) is Placement.ALREADY_WAITLISTED
    assert state(roster) == (1, (1,), (2, 3))
    assert roster.position(2) == 1


def test_a_waitlisted_replay_is_answered_even_when_the_waitlist_is_now_disabled() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2], waitlist_enabled=False)

    assert roster.enroll(2) is Placement.ALREADY_WAITLISTED


@pytest.mark.parametrize(
    ("placement", "is_new", "holds_seat"),
    [
        (Placement.ENROLLED, True, True),
        (Placement.WAITLISTED, True, False),
        (Placement.ALREADY_ENROLLED, False, True),
        (Placement.ALREADY_WAITLISTED, False, False),
    ],
)
def test_a_placement_says_whether_it_is_new_and_whether_it_holds_a_seat(
    placement: Placement, is_new: bool, holds_seat: bool
) -> None:
    assert placement.is_new is is_new
    assert placement.holds_seat is holds_seat


# --- cancel --------------------------------------------------------------------------------


def test_canceling_a_seat_promotes_the_first_waiter() -> None:
    roster = make_roster(2, enrolled=[1, 2], waitlist=[3, 4, 5])

    promotion = roster.cancel(1)

    assert promotion == Promotion(3)
    assert roster.enrolled == (2, 3)
    assert roster.waitlist == (4, 5)


def test_canceling_a_seat_with_nobody_waiting_frees_it() -> None:
    roster = make_roster(2, enrolled=[1, 2])

    assert roster.cancel(2) is None
    assert roster.enrolled == (1,)
    assert roster.free_seats == 1


def test_canceling_a_waitlist_place_promotes_nobody_and_keeps_the_order() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2, 3, 4])

    assert roster.cancel(3) is None
    assert roster.enrolled == (1,)
    assert roster.waitlist == (2, 4)
    assert roster.position(4) == 2


def test_canceling_someone_not_on_the_roster_is_refused() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2])

    with pytest.raises(NotOnRoster) as caught:
        roster.cancel(99)

    assert caught.value.user_id == 99
    assert state(roster) == (1, (1,), (2,))


@pytest.mark.parametrize("user", [1, 2])
def test_a_closed_roster_refuses_cancellations_and_changes_nothing(user: int) -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2], is_open=False, status="Running")

    with pytest.raises(EventNotOpen):
        roster.cancel(user)

    assert state(roster) == (1, (1,), (2,))


# --- resize --------------------------------------------------------------------------------


def test_raising_capacity_promotes_waiters_in_fifo_order_one_per_new_seat() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2, 3, 4, 5])

    promotions = roster.resize(3)

    assert promotions == [Promotion(2), Promotion(3)]
    assert roster.enrolled == (1, 2, 3)
    assert roster.waitlist == (4, 5)
    assert roster.capacity == 3


def test_raising_capacity_beyond_the_waitlist_promotes_everyone_and_leaves_seats_free() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2])

    assert roster.resize(10) == [Promotion(2)]
    assert roster.waitlist == ()
    assert roster.free_seats == 8


def test_lowering_capacity_down_to_the_enrolled_count_is_allowed() -> None:
    roster = make_roster(5, enrolled=[1, 2])

    assert roster.resize(2) == []
    assert roster.capacity == 2
    assert roster.free_seats == 0


def test_lowering_capacity_below_the_enrolled_count_is_refused_and_changes_nothing() -> None:
    roster = make_roster(3, enrolled=[1, 2, 3])

    with pytest.raises(CapacityBelowEnrolled) as caught:
        roster.resize(2)

    assert (caught.value.requested, caught.value.enrolled) == (2, 3)
    assert str(caught.value) == (
        "maxParticipants cannot be lowered to 2: 3 participants are already enrolled"
    )
    assert state(roster) == (3, (1, 2, 3), ())


@pytest.mark.parametrize("capacity", [-1, 0, 100_001])
def test_a_capacity_outside_1_to_100000_is_refused_and_changes_nothing(capacity: int) -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2])

    with pytest.raises(ValidationFailed) as caught:
        roster.resize(capacity)

    assert [issue.field for issue in caught.value.issues] == ["maxParticipants"]
    assert state(roster) == (1, (1,), (2,))


def test_a_capacity_of_100000_is_allowed() -> None:
    roster = make_roster(1)

    roster.resize(100_000)

    assert roster.free_seats == 100_000


# --- cancel_all and position ---------------------------------------------------------------


def test_cancel_all_empties_the_roster_and_returns_enrolled_then_waitlist_in_order() -> None:
    roster = make_roster(2, enrolled=[7, 3], waitlist=[9, 1])

    assert roster.cancel_all() == [7, 3, 9, 1]
    assert roster.enrolled == ()
    assert roster.waitlist == ()


def test_waitlist_positions_are_one_based_and_none_off_the_waitlist() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[5, 6, 7])

    assert [roster.position(user) for user in (5, 6, 7)] == [1, 2, 3]
    assert roster.position(1) is None
    assert roster.position(99) is None


def test_the_exposed_lists_are_read_only_views() -> None:
    roster = make_roster(1, enrolled=[1], waitlist=[2])

    assert isinstance(roster.enrolled, tuple)
    assert isinstance(roster.waitlist, tuple)


# --- enrollment records --------------------------------------------------------------------


def test_enrollment_statuses_are_the_api_strings() -> None:
    assert [s.value for s in EnrollmentStatus] == ["ENROLLED", "WAITLISTED", "CANCELED"]


@pytest.mark.parametrize(
    ("status", "is_active"),
    [
        (EnrollmentStatus.ENROLLED, True),
        (EnrollmentStatus.WAITLISTED, True),
        (EnrollmentStatus.CANCELED, False),
    ],
)
def test_only_a_canceled_enrollment_is_inactive(status: EnrollmentStatus, is_active: bool) -> None:
    enrollment = Enrollment(
        id=1, event_id=EVENT_ID, user_id=2, status=status, created_at=NOW, updated_at=NOW
    )

    assert enrollment.is_active is is_active


@pytest.mark.parametrize(
    ("capacity", "enrolled", "available"), [(10, 0, 10), (10, 7, 3), (10, 10, 0), (3, 5, 0)]
)
def test_available_seats_are_capacity_minus_enrolled_and_never_negative(
    capacity: int, enrolled: int, available: int
) -> None:
    assert Occupancy(capacity=capacity, enrolled=enrolled, waitlisted=4).available == available


# --- impossible rosters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("capacity", "enrolled", "waitlist", "reason"),
    [
        (3, [1, 1], [], "appears twice"),
        (1, [1], [2, 2], "appears twice"),
        (1, [1], [1], "appears twice"),
        (1, [1, 2], [], "more participants enrolled than seats"),
        (2, [1], [2], "a seat is free while people wait"),
        (1, [], [2], "a seat is free while people wait"),
    ],
)
def test_an_impossible_roster_cannot_be_built(
    capacity: int, enrolled: list[int], waitlist: list[int], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        make_roster(capacity, enrolled=enrolled, waitlist=waitlist)


# --- for any sequence of operations --------------------------------------------------------

user_ids = st.integers(min_value=1, max_value=15)
capacities = st.integers(min_value=1, max_value=6)
enroll = st.tuples(st.just("enroll"), user_ids)
# Enrolls are drawn twice as often, in long runs, so that seats fill and a waitlist of several
# people forms in most examples: only then can a promotion out of order be seen.
operations = st.lists(
    st.one_of(
        enroll,
        enroll,
        st.tuples(st.just("cancel"), user_ids),
        st.tuples(st.just("resize"), capacities),
    ),
    min_size=30,
    max_size=80,
)


def assert_invariants(roster: Roster, *, waitlist_enabled: bool) -> None:
    roster.check_invariants()
    people = [*roster.enrolled, *roster.waitlist]
    assert len(people) == len(set(people)), "nobody appears twice"
    assert len(roster.enrolled) <= roster.capacity, "never overbooked"
    if roster.waitlist:
        assert roster.free_seats == 0, "no seat stays free while people wait"
    if not waitlist_enabled:
        assert roster.waitlist == (), "nobody waits when the waitlist is disabled"


@given(capacity=capacities, waitlist_enabled=st.booleans(), ops=operations)
def test_for_any_operations_the_invariants_hold_and_waiters_are_promoted_first_come_first_served(
    capacity: int, waitlist_enabled: bool, ops: list[tuple[str, int]]
) -> None:
    roster = make_roster(capacity, waitlist_enabled=waitlist_enabled)
    joined: list[int] = []  # one ticket per WAITLISTED placement, in order of arrival
    withdrawn: set[int] = set()  # tickets given up by canceling from the waitlist
    promoted: list[int] = []
    on_roster: set[int] = set()

    for op, arg in ops:
        people_before = {*roster.enrolled, *roster.waitlist}
        try:
            if op == "enroll":
                placement = roster.enroll(arg)
                if placement is Placement.WAITLISTED:
                    joined.append(arg)
                on_roster.add(arg)
            elif op == "cancel":
                was_waiting = arg in roster.waitlist
                promotion = roster.cancel(arg)
                if was_waiting:
                    withdrawn.add(max(i for i, user in enumerate(joined) if user == arg))
                if promotion is not None:
                    promoted.append(promotion.user_id)
                on_roster.discard(arg)
            else:
                promoted.extend(p.user_id for p in roster.resize(arg))
        except EventFull:
            assert roster.free_seats == 0
            assert not waitlist_enabled
        except NotOnRoster:
            assert arg not in people_before
        except CapacityBelowEnrolled:
            assert arg < len(roster.enrolled)

        assert_invariants(roster, waitlist_enabled=waitlist_enabled)
        assert {*roster.enrolled, *roster.waitlist} == on_roster, "nobody is lost or invented"
        still_waiting = [user for i, user in enumerate(joined) if i not in withdrawn]
        assert promoted == still_waiting[: len(promoted)], "promotions follow the join order"
        assert list(roster.waitlist) == still_waiting[len(promoted) :], "the line keeps its order"
