"""Rule violations. One root, leaves named after the rule they enforce.

Expected outcomes (being waitlisted, an idempotent replay) are return values, not errors.
"""

from __future__ import annotations

from attrs import frozen


class DomainError(Exception):
    """Root of every broken business rule."""


@frozen
class FieldIssue:
    """One failing field of an input, with a message a person can act on."""

    field: str
    message: str


class ValidationFailed(DomainError):
    """An input broke one or more field rules; `issues` lists every one of them."""

    def __init__(self, issues: list[FieldIssue] | tuple[FieldIssue, ...]) -> None:
        self.issues = tuple(issues)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "; ".join(f"{i.field}: {i.message}" for i in self.issues) or "invalid input"


class _Explained(DomainError):
    """A leaf whose message is fixed at construction (subclasses pass it)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


# --- identity and access -------------------------------------------------------------------


class EmailTaken(_Explained):
    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__("User with this email already exists")


class InvalidCredentials(_Explained):
    def __init__(self) -> None:
        super().__init__("Invalid credentials")


class AccountDeactivated(_Explained):
    def __init__(self) -> None:
        super().__init__("Account is deactivated")


class InvalidToken(_Explained):
    def __init__(self, message: str = "Invalid token") -> None:
        super().__init__(message)


class TokenExpired(InvalidToken):
    def __init__(self) -> None:
        super().__init__("Token expired")


class TokenRevoked(InvalidToken):
    """Signed and unexpired, but no longer the account's: logged out, issued before the last
    password change, or carrying a role the account no longer has."""

    def __init__(self) -> None:
        super().__init__("Token revoked")


class TokenOfDeactivatedAccount(InvalidToken):
    def __init__(self) -> None:
        super().__init__("Account is deactivated")


class AuthenticationRequired(_Explained):
    def __init__(self) -> None:
        super().__init__("No token provided")


class RoleRequired(_Explained):
    """The actor's role may not perform this action."""

    def __init__(self, required: str) -> None:
        self.required = required
        super().__init__("Insufficient permissions")


class NotEventOwner(_Explained):
    def __init__(self, event_id: int, action: str = "manage this event") -> None:
        self.event_id = event_id
        super().__init__(f"Only the organizer can {action}")


class NotEnrollmentOwner(_Explained):
    def __init__(self, enrollment_id: int) -> None:
        self.enrollment_id = enrollment_id
        super().__init__("Only the enrolled participant may do this")


# --- event lifecycle -----------------------------------------------------------------------


class InvalidTransition(_Explained):
    def __init__(self, current: str, target: str) -> None:
        self.current, self.target = current, target
        super().__init__(f"Invalid state transition from {current} to {target}")


class EventNotEditable(_Explained):
    def __init__(self, status: str) -> None:
        self.status = status
        super().__init__("Cannot update event that has started, completed, or been canceled")


class EventNotDeletable(_Explained):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)


# --- enrollment ----------------------------------------------------------------------------


class EventFull(_Explained):
    def __init__(self, event_id: int) -> None:
        self.event_id = event_id
        super().__init__("Event is full and its waitlist is disabled")


class EventNotOpen(_Explained):
    def __init__(self, event_id: int, status: str) -> None:
        self.event_id, self.status = event_id, status
        super().__init__(f"Event is not open for enrollment (status {status})")


class NotOnRoster(_Explained):
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        super().__init__("User is neither enrolled nor waitlisted")


class CapacityBelowEnrolled(_Explained):
    def __init__(self, requested: int, enrolled: int) -> None:
        self.requested, self.enrolled = requested, enrolled
        super().__init__(
            f"maxParticipants cannot be lowered to {requested}: "
            f"{enrolled} participants are already enrolled"
        )


# --- chat ----------------------------------------------------------------------------------


class NotChatMember(_Explained):
    def __init__(self, event_id: int) -> None:
        self.event_id = event_id
        super().__init__("Only the organizer and enrolled participants may use this chat")


class AnnouncementClosed(_Explained):
    def __init__(self, event_id: int, status: str) -> None:
        self.event_id, self.status = event_id, status
        super().__init__(
            f"A {status} event has nobody enrolled to announce to: announcements are for "
            "Published, Running and Completed events"
        )


class ChatClosed(_Explained):
    def __init__(self, event_id: int, status: str) -> None:
        self.event_id, self.status = event_id, status
        super().__init__(f"The chat of a {status} event is read-only")
