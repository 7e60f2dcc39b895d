"""What makes two runs the same: one identity, from which the run id's hash, the configuration key
(every seed of one configuration) and the setting key (every seed and alpha of one training
setting) are all derived, so a sweep, the report and the dashboard group runs alike.

The identity is everything in a resolved config that decides what a run computes: paths, the run
id, the thread count and the device are left out (they change how fast a run goes, not what it
learns: tests/training check the thread count on every backbone), and so are a baseline's alphas,
which it never uses.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Keys of a config (and of its `train` section) that do not change what a run computes.
EXECUTION_ONLY = frozenset({"artifacts", "run_id"})
EXECUTION_ONLY_TRAIN = frozenset({"num_threads", "device"})
# What a run folder's config.json adds that is about the folder, not the run: never identity.
FOLDER_ONLY = frozenset({"created", "env", "format_version"})
ALPHA_KEYS = ("a1", "a2", "a3")


def identity_dict(config: dict[str, Any]) -> dict[str, Any]:
    """The parts of a resolved config that decide what a run computes (no paths, no thread counts)."""
    identity = {k: v for k, v in config.items() if k not in EXECUTION_ONLY}
    identity["train"] = {k: v for k, v in config["train"].items() if k not in EXECUTION_ONLY_TRAIN}
    if not config["mrdib"].get("enabled", False):
        identity["mrdib"] = {"enabled": False}  # alphas of a baseline are never used
    return identity


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def config_hash(config: dict[str, Any], length: int = 10) -> str:
    """The short hash in a run id: the identity, seed included."""
    return hashlib.sha1(_text(identity_dict(config)).encode()).hexdigest()[:length]


def config_key(config: dict[str, Any]) -> str:
    """One configuration across seeds, as JSON: the identity without the seed, with the data set
    by name (the resolved `dataset` section holds machine-specific paths) and alphas as floats."""
    raw = {k: v for k, v in config.items() if k not in FOLDER_ONLY and k != "dataset"}
    identity = identity_dict({**raw, "train": dict(raw.get("train", {})), "mrdib": dict(raw.get("mrdib", {}))})
    identity["train"].pop("seed", None)
    identity["dataset_name"] = config.get("dataset", {}).get("name", "?")
    if identity["mrdib"].get("enabled"):
        for name in ALPHA_KEYS:
            identity["mrdib"][name] = float(identity["mrdib"].get(name, 0.0))
    return _text(identity)


def settings_from_key(key: str) -> dict[str, Any]:
    """The run settings a `config_key` holds, as `mrdib train --config` takes them: the key less the
    data set label it adds (the seed, which the key leaves out, is given apart)."""
    return {k: v for k, v in json.loads(key).items() if k != "dataset_name"}


def setting_key(config: dict[str, Any]) -> str:
    """Short hash of a configuration less its MRdIB section: a baseline and its +MRdIB runs share
    it (they differ only in seed and the plug-in), so they can be averaged and set side by side."""
    identity = json.loads(config_key(config))
    identity.pop("mrdib", None)
    return hashlib.sha1(_text(identity).encode()).hexdigest()[:10]
