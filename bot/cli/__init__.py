"""The command line: `faqbot` and its subcommands (`cli`), `faqbot eval`
(`evaluate`, reading labelled files with `labels`) and `faqbot bench` (`bench`).
Other packages' commands (`faqbot import`, `learned`, `gaps`, `db`) live with
what they operate on; `cli` wires them.
"""
from ..exports import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, """
    cli: main
""")
