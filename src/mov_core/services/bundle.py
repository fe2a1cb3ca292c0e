"""`Services`: every use case with its dependencies bound, built once by the composition root
and handed to the API, the Socket.IO server, the workers and the CLI."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from attrs import field, frozen

from mov_core.domain.chat import ChatMessage
from mov_core.domain.enrollments import (
    CancelOutcome,
    Enrollment,
    EnrollOutcome,
    Occupancy,
    RosterSnapshot,
)
from mov_core.domain.events import UNSET, EventPatch, NewEvent, Unset
from mov_core.domain.lifecycle import EventStatus
from mov_core.domain.notifications import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationType,
    Preferences,
)
from mov_core.domain.users import Principal, User
from mov_core.ports.chat import ChatPosting, ChatStore
from mov_core.ports.clock import Clock
from mov_core.ports.notifications import NotificationCursor, NotificationStore
from mov_core.ports.persistence import QuickEnrollment, QuickReads, UnitOfWork
from mov_core.ports.security import PasswordHasher, TokenService
from mov_core.services import auth, chat, enrollments, events, inbox
from mov_core.services.auth import Credentials, PasswordChange, RegisterUser, SignedIn
from mov_core.services.chat import Posted
from mov_core.services.enrollments import MyEnrollment
from mov_core.services.events import Entropy, EventFilter, EventPage, EventView
from mov_core.services.inbox import Announcement, NotificationPage
from mov_core.services.sessions import Sessions


@frozen
class Services:
    """The application's use cases. `uow` makes a fresh unit of work per call."""

    uow: Callable[[], UnitOfWork]
    clock: Clock
    hasher: PasswordHasher
    tokens: TokenService
    chat_store: ChatStore
    chat_posting: ChatPosting
    notification_store: NotificationStore
    sessions: Sessions
    """Whether a token's account still stands behind it (cached at most 5 s)."""
    quick_enrollment: QuickEnrollment | None = None
    """The common enrollment in one step of the database, where the adapter has one."""
    quick_reads: QuickReads | None = None
    """Reads in one step of the database, where the adapter has them."""
    entropy: Entropy = field(default=secrets.token_bytes, repr=False)
    """Where invite codes get their random bytes (a test may hand in its own)."""

    # --- accounts ---------------------------------------------------------------------------

    async def register_user(self, cmd: RegisterUser) -> User:
        return await auth.register_user(cmd, uow=self.uow(), hasher=self.hasher, clock=self.clock)

    def session_for(self, user: User) -> SignedIn:
        """A token for someone who just proved who they are by registering (no second hash)."""
        return SignedIn(user, self.tokens.issue(user.principal, now=self.clock.now()))

    async def authenticate(self, email: str, password: str) -> SignedIn:
        return await auth.authenticate(
            Credentials(email, password),
            uow=self.uow(),
            hasher=self.hasher,
            tokens=self.tokens,
            clock=self.clock,
        )

    def verify_token(self, token: str) -> Principal:
        """The signature and lifetime alone; requests use `authorize`."""
        return auth.verify_token(token, tokens=self.tokens, clock=self.clock)

    async def authorize(self, token: str) -> Principal:
        return await auth.authorize(
            token, tokens=self.tokens, sessions=self.sessions, clock=self.clock
        )

    async def logout(self, actor: Principal) -> None:
        await auth.logout(actor, uow=self.uow(), clock=self.clock)

    async def profile(self, actor: Principal) -> User:
        return await auth.profile(actor, uow=self.uow())

    async def update_profile(
        self,
        actor: Principal,
        *,
        first_name: str | Unset | None = UNSET,
        last_name: str | Unset | None = UNSET,
    ) -> User:
        return await auth.update_profile(
            actor, first_name=first_name, last_name=last_name, uow=self.uow(), clock=self.clock
        )

    async def change_password(self, actor: Principal, current: str, new: str) -> SignedIn:
        return await auth.change_password(
            actor,
            PasswordChange(current, new),
            uow=self.uow(),
            hasher=self.hasher,
            tokens=self.tokens,
            clock=self.clock,
        )

    # --- events -----------------------------------------------------------------------------

    async def create_event(self, actor: Principal, cmd: NewEvent) -> EventView:
        return await events.create_event(
            actor, cmd, uow=self.uow(), clock=self.clock, entropy=self.entropy
        )

    async def get_event(
        self, viewer: Principal | None, event_id: int, *, invite: str | None = None
    ) -> EventView:
        return await events.get_event(
            viewer, event_id, uow=self.uow(), invite=invite, reads=self.quick_reads
        )

    async def outbox_backlog(self) -> tuple[int, datetime | None]:
        """Changes waiting for the worker, and when the oldest was recorded (monitoring)."""
        async with self.uow() as uow:
            return await uow.outbox.backlog()

    async def delivery_counts(self) -> Mapping[DeliveryStatus, int]:
        """Deliveries by status (monitoring: a growing PENDING or FAILED is a mail problem)."""
        return await self.notification_store.delivery_counts()

    async def availability(
        self, viewer: Principal | None, event_id: int, *, invite: str | None = None
    ) -> Occupancy:
        return await events.availability(
            viewer, event_id, uow=self.uow(), invite=invite, reads=self.quick_reads
        )

    async def update_event(self, actor: Principal, event_id: int, patch: EventPatch) -> EventView:
        return await events.update_event(
            actor, event_id, patch, uow=self.uow(), clock=self.clock, entropy=self.entropy
        )

    async def rotate_invite_code(self, actor: Principal, event_id: int) -> EventView:
        return await events.rotate_invite_code(
            actor, event_id, uow=self.uow(), clock=self.clock, entropy=self.entropy
        )

    async def change_status(
        self, actor: Principal, event_id: int, target: EventStatus
    ) -> EventView:
        return await events.change_status(actor, event_id, target, uow=self.uow(), clock=self.clock)

    async def delete_event(self, actor: Principal, event_id: int) -> None:
        await events.delete_event(actor, event_id, uow=self.uow(), clock=self.clock)

    async def seats(self, event_id: int) -> Occupancy | None:
        return await events.seats(event_id, uow=self.uow())

    async def list_events(self, viewer: Principal | None, filters: EventFilter) -> EventPage:
        return await events.list_events(viewer, filters, uow=self.uow())

    async def organizer_events(self, actor: Principal, filters: EventFilter) -> EventPage:
        return await events.organizer_events(actor, filters, uow=self.uow())

    # --- enrollments ------------------------------------------------------------------------

    async def enroll(
        self, actor: Principal, event_id: int, *, invite: str | None = None
    ) -> EnrollOutcome:
        return await enrollments.enroll(
            actor, event_id, uow=self.uow(), clock=self.clock, invite=invite,
            quick=self.quick_enrollment,
        )  # fmt: skip

    async def get_enrollment(self, actor: Principal, enrollment_id: int) -> Enrollment:
        return await enrollments.get_enrollment(actor, enrollment_id, uow=self.uow())

    async def cancel_enrollment(self, actor: Principal, enrollment_id: int) -> CancelOutcome:
        return await enrollments.cancel_enrollment(
            actor, enrollment_id, uow=self.uow(), clock=self.clock
        )

    async def remove_participant(
        self, actor: Principal, event_id: int, user_id: int
    ) -> CancelOutcome:
        return await enrollments.remove_participant(
            actor, event_id, user_id, uow=self.uow(), clock=self.clock
        )

    async def roster(self, actor: Principal, event_id: int) -> RosterSnapshot:
        return await enrollments.roster(actor, event_id, uow=self.uow())

    async def my_enrollments(self, actor: Principal) -> Sequence[MyEnrollment]:
        return await enrollments.my_enrollments(actor, uow=self.uow())

    # --- chat -------------------------------------------------------------------------------

    async def post_message(
        self,
        actor: Principal,
        event_id: int,
        body: str,
        client_msg_id: str | None = None,
        *,
        online: Sequence[int] = (),
    ) -> Posted:
        return await chat.post_message(
            actor, event_id, body, client_msg_id, online=online,
            uow=self.uow(), posting=self.chat_posting, clock=self.clock,
        )  # fmt: skip

    async def chat_history(
        self, actor: Principal, event_id: int, *, before_seq: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        return await chat.history(
            actor, event_id, before_seq=before_seq, limit=limit,
            uow=self.uow(), chat=self.chat_store,
        )  # fmt: skip

    async def chat_last_seq(self, actor: Principal, event_id: int) -> int:
        return await chat.last_seq(actor, event_id, uow=self.uow(), chat=self.chat_store)

    async def display_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        """How people are shown in chat: their name, else the local part of their e-mail."""
        return await auth.display_names(user_ids, uow=self.uow())

    # --- notifications ----------------------------------------------------------------------

    async def notifications(
        self,
        actor: Principal,
        *,
        unread_only: bool = False,
        before: NotificationCursor | None = None,
        limit: int = 20,
    ) -> NotificationPage:
        return await inbox.list_notifications(
            actor, unread_only=unread_only, before=before, limit=limit,
            store=self.notification_store,
        )  # fmt: skip

    async def unread_count(self, actor: Principal) -> int:
        return await self.notification_store.unread_count(actor.user_id)

    async def mark_notification_read(self, actor: Principal, notification_id: str) -> Notification:
        return await inbox.mark_read(
            actor, notification_id, store=self.notification_store, clock=self.clock
        )

    async def mark_all_notifications_read(self, actor: Principal) -> int:
        return await self.notification_store.mark_all_read(actor.user_id, now=self.clock.now())

    async def notification_preferences(self, actor: Principal) -> Preferences:
        return await self.notification_store.preferences(actor.user_id)

    async def save_notification_preferences(
        self, actor: Principal, choices: Mapping[tuple[NotificationType, Channel], bool]
    ) -> Preferences:
        return await inbox.save_preferences(actor, choices, store=self.notification_store)

    async def unsubscribe(self, user_id: int, kind: NotificationType) -> None:
        await inbox.unsubscribe(user_id, kind, uow=self.uow(), store=self.notification_store)

    async def announce(
        self, actor: Principal, event_id: int, subject: str, body: str
    ) -> Announcement:
        return await inbox.announce(
            actor, event_id, subject, body, uow=self.uow(), clock=self.clock
        )
