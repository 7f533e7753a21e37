"""Operations: configuration and the running process.

Owns the configuration file (`config`), logging (`logsetup`), what one bot
process shares (`runtime`: `BotContext`, `Metrics`), building it and its
services (`serve`), `faqbot run` (`app`, `runner`), the health endpoint and
probe (`health`, `python -m bot.ops.health`), and hot pack reloads (`reload`).
"""

from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    config: Config ConfigError Learning Maintainers QQConfig RateLimit SlackConfig load_config packs_for
    runtime: BotContext Metrics Service
    serve: build_context
    runner: Runner
""")
