"""Signing up, in and out. Login and registration count against the same per-address limit as
the API's (`MOV_RATE_LIMIT_AUTH`, keyed by the client's address), and never say which of
e-mail or password was wrong."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from typing import Any

from attrs import frozen
from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromQuery, SkipValidation
from litestar.response import Template

from mov_adapters.forwarding import client_address
from mov_adapters.settings import Settings
from mov_core.domain.errors import DomainError, EmailTaken, InvalidCredentials, ValidationFailed
from mov_core.domain.users import Role
from mov_core.ports.errors import Unavailable
from mov_core.ports.infra import RateLimiter
from mov_core.services.auth import RegisterUser
from mov_web.pages.common import FieldsDep, field_errors, page
from mov_web.session import ServicesDep, ViewerDep, safe_next, see_other, session_cookie, signed_in


@frozen
class Gate:
    """What signing in through a form needs beyond the form: the login limit the API shares
    (`auth:<address>`), and the session cookie on the way out."""

    request: Request[Any, Any, Any]
    limiter: RateLimiter
    settings: Settings

    async def refused(self) -> str | None:
        """None when this attempt may go on; else what to tell the visitor."""
        settings = self.settings
        if not settings.rate_limit_enabled:
            return None
        client = client_address(self.request.scope, settings.trusted_proxies)
        try:
            decision = await self.limiter.hit(f"auth:{client}", settings.rate_limit_auth)
        except Unavailable:
            return None  # as the API does: serve rather than refuse everyone
        if decision.allowed:
            return None
        wait = max(1, math.ceil(decision.reset_after.total_seconds()))
        return f"Too many attempts from your address. Please try again in {wait} seconds."

    def signed_in(self, token: str, back_to: str) -> Response[Any]:
        """Where the visitor goes next, holding the session."""
        lifetime = int(self.settings.jwt_ttl.total_seconds())
        return signed_in(self.request, token, lifetime, back_to)


def _gate(
    request: Request[Any, Any, Any],
    limiter: SkipValidation[RateLimiter],
    settings: SkipValidation[Settings],
) -> Gate:
    return Gate(request, limiter, settings)


GateDep = SkipValidation[Gate]


class AccountPages(Controller):
    dependencies = {"gate": Provide(_gate, sync_to_thread=False)}

    @get("/login", name="login")
    async def login_form(
        self,
        viewer: ViewerDep,
        services: ServicesDep,
        next: FromQuery[str | None] = None,  # noqa: A002
    ) -> Template:
        return await page(
            "login.html", viewer=viewer, services=services, next=safe_next(next), values={}
        )

    @post("/login", name="login-post")
    async def login(
        self, fields: FieldsDep, services: ServicesDep, gate: GateDep
    ) -> Response[Any] | Template:
        back_to = safe_next(fields.get("next"))

        def again(status: int, error: str) -> Awaitable[Template]:
            """The form once more, with what was typed (never the password) and why."""
            values = {"email": fields.get("email", "")}
            return page(
                "login.html", viewer=None, services=services, status=status,
                next=back_to, values=values, error=error,
            )  # fmt: skip

        refused = await gate.refused()
        if refused is not None:
            return await again(429, refused)
        try:
            session = await services.authenticate(
                fields.get("email", ""), fields.get("password", "")
            )
        except (InvalidCredentials, ValidationFailed):
            return await again(400, "Invalid email or password.")
        except DomainError as error:  # e.g. a deactivated account
            return await again(403, str(error))
        return gate.signed_in(session.token, back_to)

    @get("/register", name="register")
    async def register_form(self, viewer: ViewerDep, services: ServicesDep) -> Template:
        return await page(
            "register.html", viewer=viewer, services=services, values={"role": "PARTICIPANT"}
        )

    @post("/register", name="register-post")
    async def register(
        self, fields: FieldsDep, services: ServicesDep, gate: GateDep
    ) -> Response[Any] | Template:
        values = {k: fields.get(k, "") for k in ("email", "firstName", "lastName", "role")}

        def again(status: int, **why: object) -> Awaitable[Template]:
            """The form once more, with what was typed (never the password) and why."""
            return page(
                "register.html", viewer=None, services=services, status=status, values=values,
                **why,
            )  # fmt: skip

        refused = await gate.refused()
        if refused is not None:
            return await again(429, error=refused)
        role = Role.ORGANIZER if values["role"] == "ORGANIZER" else Role.PARTICIPANT
        try:
            user = await services.register_user(
                RegisterUser(
                    fields.get("email", ""),
                    fields.get("password", ""),
                    role,
                    values["firstName"].strip() or None,
                    values["lastName"].strip() or None,
                )
            )
            session = services.session_for(user)
        except ValidationFailed as error:
            return await again(400, errors=field_errors(error.issues))
        except EmailTaken as error:
            return await again(409, errors={"email": str(error)})
        return gate.signed_in(session.token, "/")

    @post("/logout", name="logout")
    async def logout(
        self, request: Request[Any, Any, Any], viewer: ViewerDep, services: ServicesDep
    ) -> Response[Any]:
        """Revokes the session's token (it is refused everywhere from now), drops the cookie."""
        if viewer is not None:
            await services.logout(viewer)
        return see_other("/", cookies=[session_cookie(request, None, 0)])
