"""The vocabulary of run variants: a baseline, the full +MRdIB, the paper's ablations (Table 2)
and the control (every term off), told apart by a run's MRdIB settings alone."""

from __future__ import annotations

from typing import Any

from mrdib.core.errors import ConfigError
from mrdib.core.names import ALPHA_NAMES

Alphas = tuple[float, float, float]
# The paper's Table 2 variants (names as in its CSV): which alphas are switched off.
ABLATIONS: dict[str, tuple[str, ...]] = {
    "no_kl_a1": ("a1",),
    "no_mine_a2": ("a2",),
    "no_unique_a3": ("a3",),
    "kl_only": ("a2", "a3"),
}
ABLATION_ALIASES: dict[str, str] = {"a1=0": "no_kl_a1", "a2=0": "no_mine_a2", "a3=0": "no_unique_a3",
                                    "a2=a3=0": "kl_only", "a3=a2=0": "kl_only"}
# +MRdIB with every term off, at the baseline's chosen settings: the plug-in's own effect, which
# must be none (a sweep's `control: true` runs it on every seed; docs/results.md's control row).
CONTROL = "control"


def canonical_ablation(name: str) -> str:
    """`a2=a3=0` and `kl_only` name the same variant; returns the paper's name."""
    key = str(name).replace(" ", "")
    key = ABLATION_ALIASES.get(key, key)
    if key not in ABLATIONS:
        raise ConfigError(f"unknown ablation '{name}' (known: {', '.join(list(ABLATIONS) + list(ABLATION_ALIASES))})")
    return key


def variant_of(mrdib: dict[str, Any]) -> str:
    """'baseline', 'full' (every alpha on), an ablation name, 'control' (every alpha off) or 'other'
    for a run's mrdib settings."""
    if not mrdib.get("enabled", False):
        return "baseline"
    off = tuple(name for name in ALPHA_NAMES if float(mrdib.get(name, 0.0)) == 0.0)
    if not off:
        return "full"
    if off == ALPHA_NAMES:
        return CONTROL
    for ablation, switched_off in ABLATIONS.items():
        if off == switched_off:
            return ablation
    return "other"


def alphas_of(mrdib: dict[str, Any]) -> Alphas:
    return tuple(float(mrdib.get(name, 0.0)) for name in ALPHA_NAMES)  # type: ignore[return-value]


def ablate(alphas: Alphas, ablation: str) -> Alphas:
    off = ABLATIONS[canonical_ablation(ablation)]
    return tuple(0.0 if name in off else value for name, value in zip(ALPHA_NAMES, alphas))  # type: ignore
