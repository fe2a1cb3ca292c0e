"""Properties of notification preferences and of delivery retries, for all inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain.notifications import (
    Channel,
    Delivery,
    DeliveryStatus,
    NotificationType,
    Preferences,
    RetryPolicy,
)

kinds = st.sampled_from(NotificationType)
channels = st.sampled_from(Channel)
choices = st.dictionaries(st.tuples(kinds, channels), st.booleans())
user_ids = st.integers(min_value=1, max_value=2**31 - 1)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001 - Hypothesis wants naive bounds; timezones= makes them UTC
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
durations = st.timedeltas(min_value=timedelta(milliseconds=1), max_value=timedelta(days=2))
policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(min_value=1, max_value=12),
    base=durations,
    cap=durations,
)
errors = st.text(min_size=1, max_size=50)


def pending(notification_id: str, channel: Channel, now: datetime) -> Delivery:
    return Delivery.plan(notification_id, channel, allowed=True, now=now)


# --- preferences ---------------------------------------------------------------------------------


@given(kinds, channels)
def test_defaults_allow_everything_but_chat_messages_by_email(
    kind: NotificationType, channel: Channel
):
    expected = not (kind is NotificationType.CHAT_MESSAGE and channel is Channel.EMAIL)

    assert Preferences.defaults(7).allows(kind, channel) is expected


@given(user_ids, choices)
def test_a_chosen_value_is_what_allows_returns(user_id: int, updates):
    prefs = Preferences.defaults(user_id).with_choices(updates)

    for (kind, channel), chosen in updates.items():
        assert prefs.allows(kind, channel) is chosen


@given(user_ids, choices)
def test_untouched_choices_keep_their_defaults(user_id: int, updates):
    defaults = Preferences.defaults(user_id)
    prefs = defaults.with_choices(updates)

    for kind in NotificationType:
        for channel in Channel:
            if (kind, channel) not in updates:
                assert prefs.allows(kind, channel) is defaults.allows(kind, channel)


@given(user_ids, choices, choices)
def test_later_choices_override_earlier_ones(user_id: int, first, second):
    prefs = Preferences.defaults(user_id).with_choices(first).with_choices(second)

    assert prefs == Preferences.defaults(user_id).with_choices({**first, **second})
    assert prefs.user_id == user_id


# --- retry policy and deliveries -----------------------------------------------------------------


@given(policies)
def test_delays_never_decrease_nor_exceed_the_cap(policy: RetryPolicy):
    # the attempts a delivery can reach before the policy gives up
    delays = [policy.delay_after(attempts) for attempts in range(policy.max_attempts + 1)]

    assert delays == sorted(delays)
    assert all(timedelta(0) < delay <= policy.cap for delay in delays)
    assert delays[0] == min(policy.base, policy.cap)


@given(policies, channels, moments, errors)
def test_failing_every_attempt_gives_up_exactly_at_max_attempts(
    policy: RetryPolicy, channel: Channel, start: datetime, error: str
):
    delivery, now = pending("n-1", channel, start), start

    for attempt in range(1, policy.max_attempts):
        delivery = delivery.attempt_failed(error, now=now, policy=policy)
        assert delivery.status is DeliveryStatus.PENDING
        assert delivery.attempts == attempt
        assert delivery.last_error == error
        assert delivery.next_attempt_at == now + policy.delay_after(attempt)
        assert not delivery.is_due(now)
        now = delivery.next_attempt_at
        assert delivery.is_due(now)

    delivery = delivery.attempt_failed(error, now=now, policy=policy)

    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.attempts == policy.max_attempts
    assert delivery.next_attempt_at is None
    assert not delivery.is_due(now + policy.cap)


@given(policies, channels, moments, st.integers(min_value=0, max_value=11), errors)
def test_success_is_sent_with_one_more_attempt(
    policy: RetryPolicy, channel: Channel, start: datetime, failures: int, error: str
):
    delivery = pending("n-1", channel, start)
    for _ in range(min(failures, policy.max_attempts - 1)):
        delivery = delivery.attempt_failed(error, now=start, policy=policy)

    sent = delivery.succeeded(now=start + timedelta(seconds=1))

    assert sent.status is DeliveryStatus.SENT
    assert sent.attempts == delivery.attempts + 1
    assert sent.last_error is None
    assert sent.next_attempt_at is None
    assert sent.updated_at == start + timedelta(seconds=1)
    assert not sent.is_due(start + policy.cap)


@given(channels, moments, durations)
def test_an_opted_out_delivery_is_skipped_and_never_due(
    channel: Channel, now: datetime, later: timedelta
):
    skipped = Delivery.plan("n-1", channel, allowed=False, now=now)

    assert skipped.status is DeliveryStatus.SKIPPED
    assert skipped.attempts == 0
    assert not skipped.is_due(now + later)


@given(channels, moments)
def test_an_allowed_delivery_is_pending_and_due_at_once(channel: Channel, now: datetime):
    planned = Delivery.plan("n-1", channel, allowed=True, now=now)

    assert planned.status is DeliveryStatus.PENDING
    assert planned.is_due(now)
    assert not planned.is_due(now - timedelta(milliseconds=1))


@given(policies, channels, moments, errors, durations)
def test_retrying_a_failed_delivery_makes_it_due_and_keeps_its_attempts(
    policy: RetryPolicy, channel: Channel, start: datetime, error: str, later: timedelta
):
    failed = pending("n-1", channel, start)
    while failed.status is DeliveryStatus.PENDING:
        failed = failed.attempt_failed(error, now=start, policy=policy)

    retried = failed.retried(now=start + later)

    assert retried.status is DeliveryStatus.PENDING
    assert retried.attempts == failed.attempts
    assert retried.is_due(start + later)
    assert pending("n-1", channel, start).retried(now=start + later) == pending(
        "n-1", channel, start
    )
