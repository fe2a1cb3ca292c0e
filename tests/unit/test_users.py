"""Users: e-mail normalisation, the password policy, names, roles and account state."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from mov_core.domain.errors import AccountDeactivated, RoleRequired, ValidationFailed
from mov_core.domain.users import Principal, Registration, Role, User, normalize_email
from mov_core.domain.validation import field_label

NOW = datetime(2030, 1, 1, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
GOOD_PASSWORD = "correct horse"


def register(**overrides) -> Registration:
    fields = {
        "email": "ada@example.com",
        "password": GOOD_PASSWORD,
        "role": Role.PARTICIPANT,
    } | overrides
    return Registration.validate(**fields)


def refusal(**overrides) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        register(**overrides)
    return caught.value


def issues_by_field(error: ValidationFailed) -> dict[str, str]:
    return {issue.field: issue.message for issue in error.issues}


def make_user(**overrides) -> User:
    user = User.register(
        register(first_name="Ada", last_name="Lovelace"), password_hash="hash-1", now=NOW
    )
    return evolve(user, id=7, **overrides)


def assert_same_identity(before: User, after: User) -> None:
    assert after.id == before.id
    assert after.email == before.email
    assert after.created_at == before.created_at


# --- e-mail --------------------------------------------------------------------------------


def test_an_email_is_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Ada.Lovelace@Example.COM \t") == "ada.lovelace@example.com"


def test_a_registration_stores_the_normalised_email() -> None:
    assert register(email="A@Example.COM ").email == "a@example.com"


@given(
    local=st.text(string.ascii_letters + string.digits + "._+-", min_size=1, max_size=20),
    domain=st.text(string.ascii_letters, min_size=2, max_size=10),
    before=st.sampled_from(["", " ", "  ", "\t", "\n "]),
    after=st.sampled_from(["", " ", "  ", "\t", " \n"]),
)
def test_emails_differing_only_in_case_and_surrounding_spaces_normalise_to_the_same(
    local: str, domain: str, before: str, after: str
) -> None:
    email = f"{local}@{domain}.com"
    variant = f"{before}{email.swapcase()}{after}"

    assert normalize_email(variant) == normalize_email(email) == email.lower()


@pytest.mark.parametrize(
    "email",
    [
        "a@example.com",
        "A@Example.COM ",
        "first.last+tag@sub.example.co.uk",
        "ada@my-site.io",
        "x1@a1.museum",
        "a" * 242 + "@example.com",  # 254 characters: the longest address allowed
    ],
)
def test_a_well_formed_email_is_accepted(email: str) -> None:
    assert register(email=email).email == email.strip().lower()


@pytest.mark.parametrize(
    "email",
    [
        "a@localhost",
        "a b@x.com",
        "no-at-sign.example.com",
        "a@@x.com",
        "a@b@x.com",
        "@x.com",
        "a@x.c",
        "a@-x.com",
        "a@x-.com",
        "a@x..com",
        "a@.x.com",
        "a@x.com.",
        "a@1.2.3.4",
        "a@x.c0m",
        "a" * 243 + "@example.com",  # 255 characters
    ],
)
def test_a_malformed_email_is_refused(email: str) -> None:
    error = refusal(email=email)

    assert issues_by_field(error) == {"email": "Please provide a valid email address"}


@pytest.mark.parametrize("email", ["", "   ", "\t\n"])
def test_a_missing_email_is_reported_as_required(email: str) -> None:
    assert issues_by_field(refusal(email=email)) == {"email": "Email is required"}


# --- password ------------------------------------------------------------------------------


def test_a_password_of_seven_characters_is_refused_with_a_clear_message() -> None:
    error = refusal(password="1234567")

    assert issues_by_field(error) == {"password": "Password must be at least 8 characters long"}


@pytest.mark.parametrize("password", ["123456", "abcdef"])
def test_the_six_character_passwords_the_node_version_allowed_are_refused(password: str) -> None:
    assert "password" in issues_by_field(refusal(password=password))


def test_a_password_of_129_characters_is_refused() -> None:
    error = refusal(password="p" * 129)

    assert issues_by_field(error) == {"password": "Password must be at most 128 characters long"}


@pytest.mark.parametrize("length", [8, 9, 64, 127, 128])
def test_a_password_of_8_to_128_characters_is_accepted(length: int) -> None:
    assert register(password="p" * length).password == "p" * length


@pytest.mark.parametrize(
    "password",
    [
        "\u00e9" * 8,  # 8 characters, 16 UTF-8 bytes
        "\u65e5\u672c\u8a9e\u30d1\u30b9\u30ef\u30fc\u30c9",  # 8 CJK characters, 24 bytes
        "\U0001f600" * 128,  # 128 emoji, 512 bytes
    ],
)
def test_multibyte_passwords_are_measured_in_characters_not_bytes(password: str) -> None:
    assert register(password=password).password == password


@pytest.mark.parametrize(
    "password",
    [
        "\u00e9" * 7,  # 14 bytes but only 7 characters
        "\U0001f600" * 129,
    ],
)
def test_multibyte_passwords_outside_the_policy_are_refused(password: str) -> None:
    assert "password" in issues_by_field(refusal(password=password))


def test_a_password_is_kept_exactly_as_typed_spaces_included() -> None:
    assert register(password=" secret 1 ").password == " secret 1 "


@given(st.text(max_size=140))
def test_any_password_is_accepted_exactly_when_it_has_8_to_128_characters(password: str) -> None:
    if 8 <= len(password) <= 128:
        assert register(password=password).password == password
    else:
        assert set(issues_by_field(refusal(password=password))) == {"password"}


# --- names ---------------------------------------------------------------------------------


def test_names_are_optional() -> None:
    registration = register()

    assert registration.first_name is None
    assert registration.last_name is None


def test_names_are_trimmed() -> None:
    registration = register(first_name="  Ada ", last_name="\tLovelace  ")

    assert registration.first_name == "Ada"
    assert registration.last_name == "Lovelace"


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("length", [1, 100])
def test_a_name_of_1_to_100_characters_is_accepted(field: str, length: int) -> None:
    registration = register(**{field: " " + "n" * length + " "})

    assert getattr(registration, field) == "n" * length


@pytest.mark.parametrize(
    ("field", "public_name"), [("first_name", "firstName"), ("last_name", "lastName")]
)
def test_a_name_of_101_characters_is_refused(field: str, public_name: str) -> None:
    error = refusal(**{field: "n" * 101})

    assert issues_by_field(error) == {
        public_name: f"{field_label(public_name)} must be at most 100 characters long"
    }


@pytest.mark.parametrize(
    ("field", "public_name"), [("first_name", "firstName"), ("last_name", "lastName")]
)
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_given_but_blank_name_is_refused(field: str, public_name: str, blank: str) -> None:
    error = refusal(**{field: blank})

    assert issues_by_field(error) == {public_name: f"{field_label(public_name)} is required"}


# --- registration --------------------------------------------------------------------------


def test_a_registration_reports_every_failing_field_at_once() -> None:
    error = refusal(email="not-an-email", password="short", first_name="n" * 101)

    assert [issue.field for issue in error.issues] == ["email", "password", "firstName"]


def test_a_registration_reports_both_names_when_both_fail() -> None:
    error = refusal(email="", password="", first_name="", last_name="n" * 101)

    assert [issue.field for issue in error.issues] == [
        "email",
        "password",
        "firstName",
        "lastName",
    ]


def test_the_validation_message_names_every_failing_field() -> None:
    message = str(refusal(email="x", password="short"))

    assert "email: Please provide a valid email address" in message
    assert "password: Password must be at least 8 characters long" in message


@pytest.mark.parametrize("role", list(Role))
def test_a_registration_keeps_the_chosen_role(role: Role) -> None:
    assert register(role=role).role is role


def test_roles_are_the_api_strings() -> None:
    assert {role.value for role in Role} == {"ORGANIZER", "PARTICIPANT"}


# --- principal -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_a_principal_with_the_required_role_passes(role: Role) -> None:
    Principal(user_id=1, email="a@example.com", role=role).require(role)


def test_a_principal_without_the_required_role_is_refused() -> None:
    participant = Principal(user_id=1, email="a@example.com", role=Role.PARTICIPANT)

    with pytest.raises(RoleRequired) as caught:
        participant.require(Role.ORGANIZER)

    assert caught.value.required == "ORGANIZER"
    assert str(caught.value) == "Insufficient permissions"


def test_an_organizer_may_not_act_as_a_participant() -> None:
    organizer = Principal(user_id=1, email="a@example.com", role=Role.ORGANIZER)

    with pytest.raises(RoleRequired):
        organizer.require(Role.PARTICIPANT)


# --- user ----------------------------------------------------------------------------------


def test_a_registered_user_is_active_unstored_and_created_now() -> None:
    registration = register(email="Ada@Example.com", first_name="Ada")

    user = User.register(registration, password_hash="hash-1", now=NOW)

    assert user.id == 0
    assert user.email == "ada@example.com"
    assert user.role is Role.PARTICIPANT
    assert user.first_name == "Ada"
    assert user.last_name is None
    assert user.password_hash == "hash-1"
    assert user.is_active
    assert user.created_at == user.updated_at == NOW


def test_a_user_s_principal_carries_id_email_and_role() -> None:
    user = make_user(role=Role.ORGANIZER)

    assert user.principal == Principal(7, "ada@example.com", Role.ORGANIZER)


def test_an_active_user_may_sign_in() -> None:
    make_user().ensure_active()


def test_a_deactivated_user_may_not_sign_in() -> None:
    with pytest.raises(AccountDeactivated, match=r"^Account is deactivated$"):
        make_user(is_active=False).ensure_active()


def test_renaming_trims_the_names_keeps_identity_and_bumps_updated_at() -> None:
    user = make_user()

    renamed = user.renamed(first_name="  Augusta ", last_name=" King ", now=LATER)

    assert_same_identity(user, renamed)
    assert renamed.first_name == "Augusta"
    assert renamed.last_name == "King"
    assert renamed.password_hash == user.password_hash
    assert renamed.role is user.role
    assert renamed.updated_at == LATER


def test_renaming_with_none_clears_the_names() -> None:
    renamed = make_user().renamed(first_name=None, last_name=None, now=LATER)

    assert renamed.first_name is None
    assert renamed.last_name is None


def test_renaming_reports_every_invalid_name_and_leaves_the_user_unchanged() -> None:
    user = make_user()

    with pytest.raises(ValidationFailed) as caught:
        user.renamed(first_name="  ", last_name="n" * 101, now=LATER)

    assert [issue.field for issue in caught.value.issues] == ["firstName", "lastName"]
    assert user == make_user()


def test_changing_the_role_keeps_identity_and_bumps_updated_at() -> None:
    user = make_user()

    promoted = user.with_role(Role.ORGANIZER, now=LATER)

    assert_same_identity(user, promoted)
    assert promoted.role is Role.ORGANIZER
    assert promoted.updated_at == LATER
    assert user.role is Role.PARTICIPANT


def test_deactivating_keeps_identity_and_bumps_updated_at() -> None:
    user = make_user()

    deactivated = user.deactivated(now=LATER)

    assert_same_identity(user, deactivated)
    assert not deactivated.is_active
    assert deactivated.updated_at == LATER
    assert user.is_active


def test_changing_the_password_hash_keeps_identity_and_bumps_updated_at() -> None:
    user = make_user()

    changed = user.with_password_hash("hash-2", now=LATER)

    assert_same_identity(user, changed)
    assert changed.password_hash == "hash-2"
    assert changed.updated_at == LATER


@pytest.mark.parametrize(
    ("first", "last", "shown"),
    [
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("Ada", None, "Ada"),
        (None, "Lovelace", "Lovelace"),
        (None, None, "ada"),
    ],
)
def test_the_display_name_falls_back_to_the_email_s_local_part(
    first: str | None, last: str | None, shown: str
) -> None:
    assert make_user(first_name=first, last_name=last).display_name == shown
