"""Backbone registry: find a backbone class by name; modules register themselves on import."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Callable

from mrdib.backbones.base import Backbone, BPRBatch, Encoded, Fused
from mrdib.core.errors import ConfigError

_REGISTRY: dict[str, type[Backbone]] = {}

# Modules imported lazily on first lookup, so importing mrdib.backbones stays cheap.
_BUILTIN_MODULES = {
    "vbpr": "mrdib.backbones.vbpr",
    "mmgcn": "mrdib.backbones.mmgcn",
    "dualgnn": "mrdib.backbones.dualgnn",
    "freedom": "mrdib.backbones.freedom",
    "mgcn": "mrdib.backbones.mgcn",
    "soil": "mrdib.backbones.soil",
}


def register(name: str) -> Callable[[type[Backbone]], type[Backbone]]:
    def decorator(cls: type[Backbone]) -> type[Backbone]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def available_backbones() -> list[str]:
    """Names of every backbone whose module exists, built-in or registered."""
    names = set(_REGISTRY)
    for name, module in _BUILTIN_MODULES.items():
        if importlib.util.find_spec(module) is not None:
            names.add(name)
    return sorted(names, key=lambda n: list(_BUILTIN_MODULES).index(n) if n in _BUILTIN_MODULES else 99)


def get_backbone(name: str) -> type[Backbone]:
    key = name.lower()
    if key not in _REGISTRY and key in _BUILTIN_MODULES:
        if importlib.util.find_spec(_BUILTIN_MODULES[key]) is not None:
            importlib.import_module(_BUILTIN_MODULES[key])
    if key not in _REGISTRY:
        raise ConfigError(f"unknown backbone '{name}' (available: {', '.join(available_backbones())})")
    return _REGISTRY[key]


__all__ = ["Backbone", "BPRBatch", "Encoded", "Fused", "register", "get_backbone", "available_backbones"]
