"""The web UI's Litestar application: pages, static files, sessions, CSRF, error pages."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from mov_adapters.bootstrap import Runtime
from mov_web import display
from mov_web.assets import static_router, static_url
from mov_web.errors import error_pages
from mov_web.headers import security_headers
from mov_web.pages.accounts import AccountPages
from mov_web.pages.common import event_number, form_data
from mov_web.pages.events import EventPages
from mov_web.pages.me import MyPages
from mov_web.pages.organize import OrganizerPages
from mov_web.session import provide_organizer, provide_user, provide_viewer

HERE = Path(__file__).parent
CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "_csrf_token"
"""The hidden field every form carries (Litestar's CSRF middleware reads it)."""


def _engine(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.globals.update(display.GLOBALS)
    env.filters.update(display.FILTERS)
    env.globals["static_url"] = static_url


def create_web(runtime: Runtime) -> Litestar:
    """The pages of UI.md over this process's services."""
    settings = runtime.settings
    # The CSRF tokens' key, derived from the token secret (no second secret to keep).
    csrf_key = hmac.new(settings.token_secret().encode(), b"mov-web-csrf", hashlib.sha256)
    constants = {
        "services": runtime.services,
        "calendar": runtime.calendar,
        "presence": runtime.presence,
        "sockets": runtime.sockets,
        "limiter": runtime.rate_limiter,
        "settings": settings,
    }
    return Litestar(
        route_handlers=[
            EventPages,
            AccountPages,
            MyPages,
            OrganizerPages,
            static_router(),
        ],
        dependencies={
            **{name: _constant(value) for name, value in constants.items()},
            "viewer": Provide(provide_viewer),
            "user": Provide(provide_user),
            "organizer": Provide(provide_organizer),
            "number": Provide(event_number, sync_to_thread=False),
            "fields": Provide(form_data),
        },
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_engine
        ),
        csrf_config=CSRFConfig(
            secret=csrf_key.hexdigest(),
            cookie_name=CSRF_COOKIE,
            cookie_httponly=True,
            cookie_samesite="lax",
        ),
        before_send=[security_headers],
        exception_handlers=error_pages(),
        openapi_config=None,
        request_max_body_size=256 * 1024,
        logging_config=None,
    )


def _constant(value: object) -> Provide:
    def provide() -> object:
        return value

    return Provide(provide, use_cache=True, sync_to_thread=False)
