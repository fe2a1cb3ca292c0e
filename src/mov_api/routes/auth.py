"""/api/v1/auth: register, login, profile, token check, password change."""

import msgspec
from litestar import Controller, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import JSONBody

from mov_api.routes.deps import ActorDep, ServicesDep
from mov_api.schemas import (
    Done,
    LoginData,
    LoginIn,
    Ok,
    PasswordIn,
    ProfileIn,
    ProfileOut,
    RegisterIn,
    TokenData,
    TokenUserOut,
    UserData,
    UserOut,
    done,
    ok,
    profile_out,
    token_user_out,
    user_out,
)
from mov_core.domain.events import UNSET
from mov_core.domain.users import Role, check_email
from mov_core.domain.validation import Issues
from mov_core.services.auth import RegisterUser


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    # answers carry tokens and profiles: no cache (a browser's, a proxy's) may keep them
    cache_control = CacheControlHeader(no_store=True)

    @post("/register", status_code=201)
    async def register(
        self, data: JSONBody[RegisterIn], services: ServicesDep
    ) -> Ok[UserData[UserOut]]:
        """Create an account (e-mail unique case-insensitively; password 8–128 characters)."""
        cmd = RegisterUser(
            data.email, data.password, Role(data.role), data.first_name, data.last_name
        )
        user = await services.register_user(cmd)
        return ok("User registered successfully", UserData(user_out(user)))

    @post("/login", status_code=200)
    async def login(self, data: JSONBody[LoginIn], services: ServicesDep) -> Ok[LoginData]:
        """Exchange e-mail and password for a bearer token (24 h by default)."""
        issues = Issues()
        check_email(issues, data.email)
        if not data.password:
            issues.add("password", "Password is required")
        issues.raise_if_any()
        signed_in = await services.authenticate(data.email, data.password)
        return ok("Login successful", LoginData(signed_in.token, user_out(signed_in.user)))

    @get("/me")
    async def me(self, actor: ActorDep, services: ServicesDep) -> Ok[UserData[ProfileOut]]:
        user = await services.profile(actor)
        return ok("Profile retrieved successfully", UserData(profile_out(user)))

    @get("/verify")
    async def verify(self, actor: ActorDep) -> Ok[UserData[TokenUserOut]]:
        return ok("Token is valid", UserData(token_user_out(actor)))

    @patch("/me")
    async def update_me(
        self, data: JSONBody[ProfileIn], actor: ActorDep, services: ServicesDep
    ) -> Ok[UserData[ProfileOut]]:
        """Change first and/or last name; `null` clears one."""
        user = await services.update_profile(
            actor,
            first_name=UNSET if data.first_name is msgspec.UNSET else data.first_name,
            last_name=UNSET if data.last_name is msgspec.UNSET else data.last_name,
        )
        return ok("Profile updated successfully", UserData(profile_out(user)))

    @post("/change-password", status_code=200)
    async def change_password(
        self, data: JSONBody[PasswordIn], actor: ActorDep, services: ServicesDep
    ) -> Ok[TokenData]:
        """Prove the current password; the new one meets the policy. Every token issued before
        is refused from now on: the answer carries a fresh one."""
        changed = await services.change_password(actor, data.current_password, data.new_password)
        return ok("Password changed successfully", TokenData(changed.token))

    @post("/logout", status_code=200)
    async def logout(self, actor: ActorDep, services: ServicesDep) -> Done:
        """This token is refused from now on (on every process within 5 s)."""
        await services.logout(actor)
        return done("Logged out")
