"""Secrets from the environment, everything else from SlackConfig, checked
before anything connects; and the one WebClient the App and the Socket Mode
client share (so `apps.connections.open` follows SLACK_API_URL too)."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Mapping

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.ops import ConfigError, SlackConfig

DEFAULT_API_URL = "https://slack.com/api/"
REQUEST_TIMEOUT_S = 10
RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


@dataclass(frozen=True)
class SlackSettings:
    mode: str  # socket | http
    bot_token: str
    app_token: str = ""
    signing_secret: str = ""
    api_url: str = DEFAULT_API_URL
    host: str = "0.0.0.0"
    port: int = 3000
    workers: int = 8

    @classmethod
    def resolve(cls, config: SlackConfig, env: Mapping[str, str] = os.environ) -> "SlackSettings":
        """Settings for `config`, or a ConfigError naming the missing or wrong variable."""
        bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
        app_token = env.get("SLACK_APP_TOKEN", "").strip()
        secret = env.get("SLACK_SIGNING_SECRET", "").strip()
        api_url = (env.get("SLACK_API_URL", "").strip() or config.api_url or DEFAULT_API_URL)
        if not bot_token:
            raise ConfigError("SLACK_BOT_TOKEN", "is not set: export the app's Bot User OAuth Token (xoxb-…)")
        if config.mode == "socket" and not app_token:
            raise ConfigError("SLACK_APP_TOKEN", "is not set: Socket Mode needs an app-level token (xapp-…) with connections:write")
        if config.mode == "http" and not secret:
            raise ConfigError("SLACK_SIGNING_SECRET", "is not set: HTTP mode verifies every request with the app's signing secret")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError("SLACK_API_URL", f"must be an http(s) URL such as http://127.0.0.1:8888/api/, not {api_url!r}")
        if config.workers < 1:
            raise ConfigError("slack.workers", f"must be at least 1, not {config.workers}")
        return cls(
            mode=config.mode, bot_token=bot_token, app_token=app_token, signing_secret=secret,
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            host=config.host, port=config.port, workers=config.workers,
        )


def web_client(settings: SlackSettings) -> WebClient:
    """The bot's Web API client: honours 429 Retry-After and retries dropped connections."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        timeout=REQUEST_TIMEOUT_S,
        logger=logging.getLogger("faqbot.slack.web"),
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )
