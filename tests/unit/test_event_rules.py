"""Events: validation of what organizers describe, edits, deletion, ownership and visibility."""

from __future__ import annotations

import base64
import itertools
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain import events as events_module
from mov_core.domain.errors import (
    EventNotDeletable,
    EventNotEditable,
    InvalidTransition,
    NotEventOwner,
    ValidationFailed,
)
from mov_core.domain.events import (
    Event,
    EventDetails,
    EventPatch,
    Visibility,
    can_view,
    invite_code_from,
    to_utc_millis,
)
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.users import Principal, Role
from mov_core.domain.validation import field_label

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
START = NOW + timedelta(days=30)
END = START + timedelta(hours=3)
EVENT_ID = 42
ORGANIZER_ID = 1
PLUS_TWO = timezone(timedelta(hours=2))

PUBLIC_FIELDS = {
    "title",
    "description",
    "date",
    "endDate",
    "location",
    "category",
    "maxParticipants",
}


def details_input(**overrides) -> dict:
    return {
        "title": "PyCon Lisbon",
        "description": "Talks and sprints",
        "starts_at": START,
        "ends_at": END,
        "location": "Lisbon",
        "category": "Tech",
        "capacity": 50,
        "now": NOW,
    } | overrides


def make_details(**overrides) -> EventDetails:
    return EventDetails.validate(**details_input(**overrides))


def refusal(**overrides) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        make_details(**overrides)
    return caught.value


def issues_by_field(error: ValidationFailed) -> dict[str, str]:
    return {issue.field: issue.message for issue in error.issues}


def make_event(
    *, status: EventStatus = EventStatus.PLANNING, organizer_id: int = ORGANIZER_ID, **overrides
) -> Event:
    planned = Event.plan(make_details(**overrides), organizer_id=organizer_id, now=NOW)
    return evolve(planned, id=EVENT_ID, status=status)


def principal(user_id: int, role: Role = Role.PARTICIPANT) -> Principal:
    return Principal(user_id=user_id, email=f"user{user_id}@example.com", role=role)


# --- title ---------------------------------------------------------------------------------


@pytest.mark.parametrize("title", ["abc", "t" * 200, "  abc  ", " " + "t" * 200 + " "])
def test_a_title_of_3_to_200_characters_after_trimming_is_accepted(title: str) -> None:
    assert make_details(title=title).title == title.strip()


@pytest.mark.parametrize("title", ["", "ab", "  ab  ", "      "])
def test_a_title_shorter_than_3_characters_after_trimming_is_refused(title: str) -> None:
    assert issues_by_field(refusal(title=title)) == {
        "title": "Title must be at least 3 characters long"
    }


def test_a_title_longer_than_200_characters_is_refused() -> None:
    assert issues_by_field(refusal(title="t" * 201)) == {
        "title": "Title must be at most 200 characters long"
    }


# --- description ---------------------------------------------------------------------------


def test_a_description_is_optional() -> None:
    assert make_details(description=None).description is None


def test_a_description_of_5000_characters_is_accepted() -> None:
    assert make_details(description="d" * 5000).description == "d" * 5000


def test_a_description_longer_than_5000_characters_is_refused() -> None:
    assert issues_by_field(refusal(description="d" * 5001)) == {
        "description": "Description must be at most 5000 characters long"
    }


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_a_blank_description_is_stored_as_no_description(blank: str) -> None:
    assert make_details(description=blank).description is None


# --- date and endDate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "starts_at", [NOW + timedelta(milliseconds=1), NOW + timedelta(days=1), START]
)
def test_a_date_in_the_future_is_accepted(starts_at: datetime) -> None:
    assert make_details(starts_at=starts_at, ends_at=None).starts_at == starts_at


@pytest.mark.parametrize(
    "starts_at", [NOW, NOW - timedelta(milliseconds=1), NOW - timedelta(days=1)]
)
def test_a_date_that_is_not_strictly_in_the_future_is_refused(starts_at: datetime) -> None:
    assert issues_by_field(refusal(starts_at=starts_at, ends_at=None)) == {
        "date": "Event date must be in the future"
    }


def test_the_future_is_judged_in_utc_whatever_the_offset_given() -> None:
    # 10:00 at +14:00 on 1 January 2030 is 20:00 UTC on 31 December 2029: already past.
    local_morning = datetime(2030, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=14)))

    assert "date" in issues_by_field(refusal(starts_at=local_morning, ends_at=None))


def test_an_end_date_is_optional() -> None:
    assert make_details(ends_at=None).ends_at is None


def test_an_end_date_after_the_date_is_accepted() -> None:
    end = START + timedelta(milliseconds=1)

    assert make_details(ends_at=end).ends_at == end


@pytest.mark.parametrize("ends_at", [START, START - timedelta(milliseconds=1), NOW])
def test_an_end_date_not_after_the_date_is_refused(ends_at: datetime) -> None:
    assert issues_by_field(refusal(ends_at=ends_at)) == {
        "endDate": "End date must be after the event date"
    }


def test_a_date_without_a_time_zone_is_refused_with_a_clear_message() -> None:
    naive = datetime(2030, 6, 1, 9, 0)  # noqa: DTZ001 - the naive input under test

    assert issues_by_field(refusal(starts_at=naive, ends_at=None)) == {
        "date": "Date must include a time zone (e.g. Z)"
    }


def test_an_end_date_without_a_time_zone_is_refused_with_a_clear_message() -> None:
    naive = datetime(2030, 6, 1, 9, 0)  # noqa: DTZ001 - the naive input under test

    assert issues_by_field(refusal(ends_at=naive)) == {
        "endDate": "EndDate must include a time zone (e.g. Z)"
    }


def test_times_are_normalised_to_utc_with_millisecond_precision() -> None:
    starts_at = datetime(2030, 6, 1, 11, 0, 0, 123_456, tzinfo=PLUS_TWO)
    ends_at = datetime(2030, 6, 1, 13, 30, 0, 999_999, tzinfo=PLUS_TWO)

    details = make_details(starts_at=starts_at, ends_at=ends_at)

    assert details.starts_at == datetime(2030, 6, 1, 9, 0, 0, 123_000, tzinfo=UTC)
    assert details.starts_at.utcoffset() == timedelta(0)
    assert details.ends_at == datetime(2030, 6, 1, 11, 30, 0, 999_000, tzinfo=UTC)
    assert details.ends_at.utcoffset() == timedelta(0)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2),  # noqa: DTZ001 - hypothesis takes naive bounds
        max_value=datetime(2100, 1, 1),  # noqa: DTZ001
        timezones=st.sampled_from([UTC, PLUS_TWO, timezone(timedelta(hours=-9, minutes=-30))]),
    )
)
def test_utc_millis_keeps_the_instant_to_the_millisecond_for_any_time(moment: datetime) -> None:
    normalised = to_utc_millis(moment)

    assert normalised.utcoffset() == timedelta(0)
    assert normalised.microsecond % 1000 == 0
    assert timedelta(0) <= moment - normalised < timedelta(milliseconds=1)


# --- location, category, maxParticipants ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "public_name", "longest"),
    [("location", "location", 255), ("category", "category", 50)],
)
def test_location_and_category_are_trimmed_and_1_to_n_characters(
    field: str, public_name: str, longest: int
) -> None:
    assert getattr(make_details(**{field: "  x  "}), field) == "x"
    assert getattr(make_details(**{field: "x" * longest}), field) == "x" * longest
    assert issues_by_field(refusal(**{field: "x" * (longest + 1)})) == {
        public_name: f"{field_label(public_name)} must be at most {longest} characters long"
    }


@pytest.mark.parametrize("field", ["location", "category"])
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_location_or_category_is_required(field: str, blank: str) -> None:
    assert issues_by_field(refusal(**{field: blank})) == {
        field: f"{field_label(field)} is required"
    }


@pytest.mark.parametrize("capacity", [1, 2, 99_999, 100_000])
def test_max_participants_of_1_to_100000_is_accepted(capacity: int) -> None:
    assert make_details(capacity=capacity).capacity == capacity


@pytest.mark.parametrize("capacity", [-1, 0, 100_001, 10**9])
def test_max_participants_outside_1_to_100000_is_refused(capacity: int) -> None:
    assert issues_by_field(refusal(capacity=capacity)) == {
        "maxParticipants": "Maximum participants must be between 1 and 100000"
    }


@given(st.integers(min_value=-10, max_value=200_000))
def test_any_max_participants_is_accepted_exactly_when_between_1_and_100000(
    capacity: int,
) -> None:
    if 1 <= capacity <= 100_000:
        assert make_details(capacity=capacity).capacity == capacity
    else:
        assert set(issues_by_field(refusal(capacity=capacity))) == {"maxParticipants"}


@given(
    start_offset=st.integers(min_value=-5_000, max_value=5_000),
    length=st.one_of(st.none(), st.integers(min_value=-5_000, max_value=5_000)),
)
def test_any_dates_are_accepted_exactly_when_the_date_is_future_and_the_end_after_it(
    start_offset: int, length: int | None
) -> None:
    starts_at = NOW + timedelta(milliseconds=start_offset)
    ends_at = None if length is None else starts_at + timedelta(milliseconds=length)
    expected = set()
    if start_offset <= 0:
        expected.add("date")
    if length is not None and length <= 0:
        expected.add("endDate")

    if expected:
        assert set(issues_by_field(refusal(starts_at=starts_at, ends_at=ends_at))) == expected
    else:
        assert make_details(starts_at=starts_at, ends_at=ends_at).starts_at == starts_at


# --- all at once ---------------------------------------------------------------------------


def test_every_failing_field_is_reported_at_once_under_its_public_name() -> None:
    error = refusal(
        title="x",
        description="d" * 5001,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW - timedelta(days=2),
        location="",
        category="c" * 51,
        capacity=0,
    )

    fields = [issue.field for issue in error.issues]
    assert sorted(fields) == sorted(PUBLIC_FIELDS)
    assert len(fields) == 7


def test_naive_dates_are_reported_together_with_the_other_failures() -> None:
    naive = datetime(2030, 6, 1)  # noqa: DTZ001 - the naive input under test

    error = refusal(starts_at=naive, ends_at=naive, title="", capacity=0)

    assert set(issues_by_field(error)) == {"title", "date", "endDate", "maxParticipants"}


def test_visibility_defaults_to_public_and_the_waitlist_to_enabled() -> None:
    details = make_details()

    assert details.visibility is Visibility.PUBLIC
    assert details.waitlist_enabled is True


def test_visibility_and_waitlist_are_kept_as_given() -> None:
    details = make_details(visibility=Visibility.PRIVATE, waitlist_enabled=False)

    assert details.visibility is Visibility.PRIVATE
    assert details.waitlist_enabled is False


def test_visibility_values_are_the_api_strings() -> None:
    assert {v.value for v in Visibility} == {"PUBLIC", "PRIVATE"}


# --- plan and transition -------------------------------------------------------------------


def test_a_planned_event_is_in_planning_unstored_at_version_1() -> None:
    details = make_details()

    event = Event.plan(details, organizer_id=ORGANIZER_ID, now=NOW)

    assert event.status is EventStatus.PLANNING
    assert event.id == 0
    assert event.version == 1
    assert event.organizer_id == ORGANIZER_ID
    assert event.created_at == event.updated_at == NOW
    assert event.details == details


def test_a_transition_moves_the_status_and_bumps_version_and_updated_at() -> None:
    event = make_event()

    published = event.transition(EventStatus.PUBLISHED, now=LATER)

    assert published.status is EventStatus.PUBLISHED
    assert published.version == event.version + 1
    assert published.updated_at == LATER
    assert published.created_at == event.created_at
    assert published.details == event.details
    assert event.status is EventStatus.PLANNING


def test_a_transition_outside_the_table_is_refused_and_changes_nothing() -> None:
    event = make_event()

    with pytest.raises(
        InvalidTransition, match=r"^Invalid state transition from Planning to Running$"
    ):
        event.transition(EventStatus.RUNNING, now=LATER)

    assert event == make_event()


@given(st.lists(st.sampled_from(list(EventStatus)), max_size=10))
def test_the_version_counts_exactly_the_accepted_transitions(targets: list[EventStatus]) -> None:
    event = make_event()
    accepted = 0
    for target in targets:
        try:
            event = event.transition(target, now=LATER)
        except InvalidTransition:
            continue
        accepted += 1

    assert event.version == 1 + accepted


# --- revise --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [EventStatus.PLANNING, EventStatus.PUBLISHED])
def test_an_event_can_be_revised_while_planning_or_published(status: EventStatus) -> None:
    revised, changed = make_event(status=status).revise(EventPatch(title="New title"), now=LATER)

    assert revised.title == "New title"
    assert changed == ("title",)


@pytest.mark.parametrize(
    "status", [EventStatus.RUNNING, EventStatus.COMPLETED, EventStatus.CANCELED]
)
def test_an_event_cannot_be_revised_once_running_completed_or_canceled(
    status: EventStatus,
) -> None:
    with pytest.raises(EventNotEditable) as caught:
        make_event(status=status).revise(EventPatch(title="New title"), now=LATER)

    assert str(caught.value) == (
        "Cannot update event that has started, completed, or been canceled"
    )


def test_a_partial_patch_keeps_every_other_field() -> None:
    event = make_event()

    revised, changed = event.revise(EventPatch(location="  Porto "), now=LATER)

    assert changed == ("location",)
    assert revised.location == "Porto"
    assert evolve(revised.details, location=event.location) == event.details


def test_a_patch_of_several_fields_reports_each_changed_field() -> None:
    new_start = START + timedelta(days=1)

    revised, changed = make_event().revise(
        EventPatch(
            title="Renamed",
            starts_at=new_start,
            ends_at=new_start + timedelta(hours=1),
            capacity=10,
            visibility=Visibility.PRIVATE,
            waitlist_enabled=False,
        ),
        now=LATER,
    )

    assert set(changed) == {
        "title",
        "starts_at",
        "ends_at",
        "capacity",
        "visibility",
        "waitlist_enabled",
    }
    assert revised.capacity == 10
    assert revised.visibility is Visibility.PRIVATE
    assert revised.waitlist_enabled is False


def test_none_clears_the_description_and_the_end_date() -> None:
    revised, changed = make_event().revise(EventPatch(description=None, ends_at=None), now=LATER)

    assert revised.description is None
    assert revised.ends_at is None
    assert set(changed) == {"description", "ends_at"}


def test_a_revision_bumps_the_version_by_one_and_sets_updated_at() -> None:
    event = make_event()

    revised, _ = event.revise(EventPatch(category="Music"), now=LATER)

    assert revised.version == event.version + 1
    assert revised.updated_at == LATER
    assert revised.created_at == event.created_at
    assert revised.id == event.id
    assert revised.status is event.status


def test_an_empty_patch_returns_the_same_event_and_no_changes() -> None:
    event = make_event()

    revised, changed = event.revise(EventPatch(), now=LATER)

    assert revised is event
    assert changed == ()


def test_a_patch_repeating_the_current_values_changes_nothing() -> None:
    event = make_event()

    revised, changed = event.revise(
        EventPatch(
            title=f"  {event.title}  ",
            description=event.description,
            starts_at=event.starts_at.astimezone(PLUS_TWO),
            ends_at=event.ends_at,
            location=event.location,
            category=event.category,
            capacity=event.capacity,
            visibility=event.visibility,
            waitlist_enabled=event.waitlist_enabled,
        ),
        now=LATER,
    )

    assert revised is event
    assert changed == ()
    assert revised.version == event.version
    assert revised.updated_at == event.updated_at


def test_an_unchanged_date_that_has_passed_does_not_block_other_edits() -> None:
    after_start = START + timedelta(hours=1)
    event = make_event(status=EventStatus.PUBLISHED)

    revised, changed = event.revise(EventPatch(title="Still going"), now=after_start)

    assert changed == ("title",)
    assert revised.starts_at == START


def test_resending_the_same_past_date_is_accepted() -> None:
    after_start = START + timedelta(hours=1)

    revised, changed = make_event().revise(
        EventPatch(starts_at=START, title="Same date"), now=after_start
    )

    assert changed == ("title",)
    assert revised.starts_at == START


def test_a_new_date_in_the_past_is_refused() -> None:
    after_start = START + timedelta(hours=1)

    with pytest.raises(ValidationFailed) as caught:
        make_event().revise(
            EventPatch(starts_at=START - timedelta(minutes=1), ends_at=None), now=after_start
        )

    assert issues_by_field(caught.value) == {"date": "Event date must be in the future"}


def test_a_new_date_in_the_future_is_accepted_and_normalised() -> None:
    new_start = datetime(2030, 3, 1, 11, 0, 0, 500_999, tzinfo=PLUS_TWO)

    revised, changed = make_event().revise(EventPatch(starts_at=new_start, ends_at=None), now=LATER)

    assert set(changed) == {"starts_at", "ends_at"}
    assert revised.starts_at == datetime(2030, 3, 1, 9, 0, 0, 500_000, tzinfo=UTC)


def test_the_end_date_is_checked_against_the_kept_date() -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_event().revise(EventPatch(ends_at=START - timedelta(hours=1)), now=LATER)

    assert set(issues_by_field(caught.value)) == {"endDate"}


def test_a_naive_date_in_a_patch_is_reported_not_crashed_on() -> None:
    naive = datetime(2030, 6, 1)  # noqa: DTZ001 - the naive input under test

    with pytest.raises(ValidationFailed) as caught:
        make_event().revise(EventPatch(starts_at=naive, ends_at=None), now=LATER)

    assert set(issues_by_field(caught.value)) == {"date"}


def test_a_revision_reports_every_failing_field_at_once_and_changes_nothing() -> None:
    event = make_event()

    with pytest.raises(ValidationFailed) as caught:
        event.revise(
            EventPatch(title="x", location=" ", capacity=0, description="d" * 5001), now=LATER
        )

    assert set(issues_by_field(caught.value)) == {
        "title",
        "location",
        "maxParticipants",
        "description",
    }
    assert event == make_event()


# --- delete and ownership ------------------------------------------------------------------


def test_a_planning_event_without_enrollments_may_be_deleted() -> None:
    make_event().ensure_deletable(has_enrollments=False)


def test_a_planning_event_with_enrollments_may_not_be_deleted() -> None:
    with pytest.raises(EventNotDeletable, match="enrollments"):
        make_event().ensure_deletable(has_enrollments=True)


@pytest.mark.parametrize(
    "status",
    [EventStatus.PUBLISHED, EventStatus.RUNNING, EventStatus.COMPLETED, EventStatus.CANCELED],
)
@pytest.mark.parametrize("has_enrollments", [False, True])
def test_only_a_planning_event_may_be_deleted(status: EventStatus, has_enrollments: bool) -> None:
    with pytest.raises(EventNotDeletable, match="Can only delete events in Planning status"):
        make_event(status=status).ensure_deletable(has_enrollments=has_enrollments)


def test_the_organizer_owns_the_event() -> None:
    make_event().ensure_owner(principal(ORGANIZER_ID, Role.ORGANIZER))


@pytest.mark.parametrize("role", list(Role))
def test_anyone_else_does_not_own_the_event(role: Role) -> None:
    with pytest.raises(NotEventOwner) as caught:
        make_event().ensure_owner(principal(ORGANIZER_ID + 1, role))

    assert caught.value.event_id == EVENT_ID


# --- visibility ----------------------------------------------------------------------------

ANONYMOUS = "anonymous"
OWNER = "organizer who owns it"
OTHER_ORGANIZER = "another organizer"
ENROLLED = "participant enrolled in it"
NOT_ENROLLED = "participant not enrolled in it"
VIEWERS = (ANONYMOUS, OWNER, OTHER_ORGANIZER, ENROLLED, NOT_ENROLLED)
EVERYONE = frozenset(VIEWERS)

# Written from API.md: "anonymous users and participants see Published, Running and Completed
# events that are PUBLIC; a PRIVATE event is seen by its organizer and by users enrolled in it;
# a Planning event only by its organizer." API.md says nothing more about a Canceled PUBLIC
# event than that strangers don't see it; its enrolled participants keep seeing it, as they
# would a PRIVATE one (a PUBLIC event is never less visible than the same PRIVATE one).
VISIBLE_TO: dict[tuple[str, str], frozenset[str]] = {
    ("Planning", "PUBLIC"): frozenset({OWNER}),
    ("Planning", "PRIVATE"): frozenset({OWNER}),
    ("Published", "PUBLIC"): EVERYONE,
    ("Published", "PRIVATE"): frozenset({OWNER, ENROLLED}),
    ("Running", "PUBLIC"): EVERYONE,
    ("Running", "PRIVATE"): frozenset({OWNER, ENROLLED}),
    ("Completed", "PUBLIC"): EVERYONE,
    ("Completed", "PRIVATE"): frozenset({OWNER, ENROLLED}),
    ("Canceled", "PUBLIC"): frozenset({OWNER, ENROLLED}),
    ("Canceled", "PRIVATE"): frozenset({OWNER, ENROLLED}),
}


def viewer_of(kind: str) -> tuple[Principal | None, bool]:
    """The principal (None for anonymous) and whether they are enrolled in the event."""
    return {
        ANONYMOUS: (None, False),
        OWNER: (principal(ORGANIZER_ID, Role.ORGANIZER), False),
        OTHER_ORGANIZER: (principal(2, Role.ORGANIZER), False),
        ENROLLED: (principal(3), True),
        NOT_ENROLLED: (principal(4), False),
    }[kind]


def test_the_visibility_table_covers_every_status_and_visibility() -> None:
    assert set(VISIBLE_TO) == {
        (status.value, visibility.value)
        for status, visibility in itertools.product(EventStatus, Visibility)
    }


@pytest.mark.parametrize(
    ("status", "visibility", "viewer"),
    list(itertools.product(EventStatus, Visibility, VIEWERS)),
)
def test_who_may_see_an_event_follows_the_api_rule(
    status: EventStatus, visibility: Visibility, viewer: str
) -> None:
    event = make_event(status=status, visibility=visibility)
    who, is_enrolled = viewer_of(viewer)

    assert can_view(event, who, is_enrolled=is_enrolled) == (
        viewer in VISIBLE_TO[status.value, visibility.value]
    )


# --- one-line fields: no control characters ---------------------------------------------------

ONE_LINE_FIELDS = {"title": "title", "location": "location", "category": "category"}
"""Each one-line field of `EventDetails.validate`, by the public name its issue carries."""
CONTROL_CHARACTERS = ["\n", "\r", "\r\n", "\t", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b"]
LINE_SEPARATORS = ["\u2028", "\u2029"]


@pytest.mark.parametrize("name", list(ONE_LINE_FIELDS))
@pytest.mark.parametrize("control", CONTROL_CHARACTERS + LINE_SEPARATORS)
def test_a_control_character_inside_a_one_line_field_is_refused_on_that_field(
    name: str, control: str
) -> None:
    error = refusal(**{name: f"Line one{control}Line two"})

    assert issues_by_field(error) == {
        ONE_LINE_FIELDS[name]: f"{field_label(name)} must not contain control characters such "
        "as line breaks"
    }


@given(
    name=st.sampled_from(list(ONE_LINE_FIELDS)),
    control=st.characters(categories=["Cc"], exclude_characters="\x00"),
    before=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=3, max_size=20),
    after=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20),
)
def test_any_control_character_between_words_of_a_one_line_field_is_refused(
    name: str, control: str, before: str, after: str
) -> None:
    assert set(issues_by_field(refusal(**{name: before + control + after}))) == {name}


def test_one_line_fields_without_control_characters_are_accepted_as_before() -> None:
    details = make_details(title="Café — «PyCon» 2030", location="Rua 1, Porto", category="Tech")

    assert (details.title, details.location, details.category) == (
        "Café — «PyCon» 2030",
        "Rua 1, Porto",
        "Tech",
    )


def test_a_too_long_title_with_a_line_break_gets_one_issue() -> None:
    assert issues_by_field(refusal(title="t" * 150 + "\n" + "t" * 100)) == {
        "title": "Title must be at most 200 characters long"
    }


@pytest.mark.parametrize("text", ["Line one\nLine two", "Line one\r\nLine two", "Col 1\tCol 2"])
def test_a_description_keeps_its_line_breaks_and_tabs(text: str) -> None:
    assert make_details(description=text).description == text


@pytest.mark.parametrize("control", ["\x07", "\x1b", "\x7f", "\x85", "\x0b"])
def test_a_description_refuses_other_control_characters(control: str) -> None:
    assert set(issues_by_field(refusal(description=f"Before{control}after"))) == {"description"}


def test_an_edit_is_held_to_the_same_one_line_rule() -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_event().revise(EventPatch(location="Room 1\r\nX-Injected: yes"), now=LATER)

    assert set(issues_by_field(caught.value)) == {"location"}


# --- invite codes -----------------------------------------------------------------------------

ENTROPY = bytes(range(16))
OTHER_ENTROPY = bytes(range(100, 116))


def private_event(
    *, status: EventStatus = EventStatus.PUBLISHED, entropy: bytes = ENTROPY
) -> Event:
    planned = Event.plan(
        make_details(visibility=Visibility.PRIVATE),
        organizer_id=ORGANIZER_ID,
        now=NOW,
        entropy=entropy,
    )
    return evolve(planned, id=EVENT_ID, status=status)


def test_an_invite_code_is_the_url_safe_text_of_at_least_128_given_random_bits() -> None:
    code = invite_code_from(ENTROPY)

    assert code == base64.urlsafe_b64encode(ENTROPY).rstrip(b"=").decode()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", code)
    assert invite_code_from(OTHER_ENTROPY) != code
    with pytest.raises(ValueError, match="at least 16 random bytes"):
        invite_code_from(ENTROPY[:15])


def test_a_private_event_is_planned_with_a_code_and_a_public_one_without() -> None:
    assert private_event().invite_code == invite_code_from(ENTROPY)
    public = Event.plan(make_details(), organizer_id=ORGANIZER_ID, now=NOW, entropy=ENTROPY)
    assert public.invite_code is None


def test_the_code_stays_out_of_the_events_repr() -> None:
    event = private_event()

    assert event.invite_code is not None
    assert event.invite_code not in repr(event)


@pytest.mark.parametrize(
    "status", [EventStatus.PUBLISHED, EventStatus.RUNNING, EventStatus.COMPLETED]
)
def test_a_stranger_sees_a_private_event_with_its_code_only(status: EventStatus) -> None:
    event = private_event(status=status)
    code = event.invite_code
    assert code is not None
    for stranger in (None, principal(4), principal(2, Role.ORGANIZER)):
        assert can_view(event, stranger, is_enrolled=False, invite=code)
        assert not can_view(event, stranger, is_enrolled=False)
        assert not can_view(event, stranger, is_enrolled=False, invite=code[:-1] + "A")
        assert not can_view(
            event, stranger, is_enrolled=False, invite=invite_code_from(OTHER_ENTROPY)
        )
        assert not can_view(event, stranger, is_enrolled=False, invite="")


@pytest.mark.parametrize("status", [EventStatus.PLANNING, EventStatus.CANCELED])
def test_a_code_opens_no_plan_and_no_canceled_event(status: EventStatus) -> None:
    event = private_event(status=status)

    assert not can_view(event, principal(4), is_enrolled=False, invite=event.invite_code)


def test_members_and_the_owner_need_no_code() -> None:
    event = private_event()

    assert can_view(event, principal(3), is_enrolled=True)
    assert can_view(event, principal(ORGANIZER_ID, Role.ORGANIZER), is_enrolled=False)


def test_a_public_event_ignores_any_code() -> None:
    event = make_event(status=EventStatus.PUBLISHED)

    assert event.admits(None)
    assert event.admits("anything")
    assert can_view(event, None, is_enrolled=False, invite="wrong")


@pytest.mark.parametrize("given_code", ["é" * 22, "\ud800" * 22, "x" * 10_000, "\x00"])
def test_odd_codes_open_nothing_and_break_nothing(given_code: str) -> None:
    assert not private_event().admits(given_code)


def test_a_private_event_without_a_code_opens_to_no_code() -> None:
    event = evolve(private_event(), invite_code=None)

    assert not event.admits(None)
    assert not event.admits("")


def test_codes_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(events_module.hmac, "compare_digest", compare_digest)
    event = private_event()
    assert event.invite_code is not None

    assert event.admits(event.invite_code)
    assert not event.admits("wrong")
    assert compared == [
        (event.invite_code.encode(), event.invite_code.encode()),
        (b"wrong", event.invite_code.encode()),
    ]


def test_rotating_replaces_the_code_and_the_old_one_opens_nothing() -> None:
    event = private_event()

    rotated = event.rotate_invite_code(OTHER_ENTROPY, now=LATER)

    assert rotated.invite_code == invite_code_from(OTHER_ENTROPY)
    assert not rotated.admits(event.invite_code)
    assert rotated.admits(rotated.invite_code)
    assert (rotated.version, rotated.updated_at) == (event.version + 1, LATER)
    assert rotated.details == event.details


@pytest.mark.parametrize("status", list(EventStatus))
def test_a_code_can_be_rotated_in_every_status(status: EventStatus) -> None:
    assert private_event(status=status).rotate_invite_code(OTHER_ENTROPY, now=LATER).invite_code


def test_a_public_event_has_no_code_to_rotate() -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_event().rotate_invite_code(OTHER_ENTROPY, now=LATER)

    assert set(issues_by_field(caught.value)) == {"visibility"}


def test_rotating_needs_128_random_bits() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        private_event().rotate_invite_code(b"short", now=LATER)


def test_an_event_made_private_gets_a_fresh_code_and_made_public_loses_it() -> None:
    public = make_event()

    made_private, _ = public.revise(
        EventPatch(visibility=Visibility.PRIVATE), now=LATER, entropy=OTHER_ENTROPY
    )
    made_public, _ = made_private.revise(
        EventPatch(visibility=Visibility.PUBLIC), now=LATER, entropy=ENTROPY
    )
    private_again, _ = made_public.revise(
        EventPatch(visibility=Visibility.PRIVATE), now=LATER, entropy=ENTROPY
    )

    assert made_private.invite_code == invite_code_from(OTHER_ENTROPY)
    assert made_public.invite_code is None
    assert private_again.invite_code == invite_code_from(ENTROPY)


def test_other_edits_keep_the_code() -> None:
    event = private_event(status=EventStatus.PLANNING)

    revised, _ = event.revise(EventPatch(title="Renamed"), now=LATER, entropy=OTHER_ENTROPY)

    assert revised.invite_code == event.invite_code
