"""Lazy package exports: a package's `__init__` names its public names without importing them.

Why lazy: the packages use one another (the engine reads the /faq grammar's
numbers, the grammar normalises text, the store reports to the runtime's
metrics), so eager re-exports would import in circles; and `python -m
bot.ops.health` or `faqbot --help` must not pay for scikit-learn or SQLAlchemy
just because a package named a class that needs them.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def lazy_exports(package: str, table: str) -> tuple[list[str], Callable[[str], Any]]:
    """`__all__` and a module `__getattr__` for `package`.

    `table` has a line per submodule, `module: Name other_name` (long ones go on
    over indented lines without a colon), naming the public names that submodule
    defines; each is imported on first use.
    """
    exports: dict[str, str] = {}
    module = ""
    for line in table.strip().splitlines():
        if ":" in line:  # a line without one continues the module above
            module, _, line = line.partition(":")
            module = module.strip()
        exports.update((name, module) for name in line.split())

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    return sorted(exports), __getattr__
