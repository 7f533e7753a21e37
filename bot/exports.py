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
from typing import Any, Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `exports` maps each public name to the submodule defining it."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    return __getattr__


def names(**modules: str) -> dict[str, str]:
    """`names(engine="Engine LearnedOverlay")` -> {"Engine": "engine", "LearnedOverlay": "engine"}."""
    return {name: module for module, spaced in modules.items() for name in spaced.split()}
