"""The maintainers' page (issue 13): views (`app`), sign-in (`auth`), the cached
queries behind them (`data`), and how `faqbot run` serves it (`service`: `WebService`)."""

from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    service: WebService
""")
