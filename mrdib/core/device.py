"""Which torch device a run trains on, with a clear error when the asked-for one is absent."""

from __future__ import annotations

import torch

from mrdib.core.errors import ConfigError

# Torch and BLAS threads for the demo runs and the notebooks' walkthroughs: tiny fits on a busy
# machine run fastest on one thread (a second spinning thread slowed them up to 17x under load).
WALKTHROUGH_THREADS = 1


def pin_threads(threads: int = WALKTHROUGH_THREADS) -> None:
    """Use `threads` threads for torch and for the BLAS/OpenMP pools numpy and scikit-learn use."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)


def resolve_device(name: str) -> torch.device:
    """"auto" picks the first GPU when torch sees one; "cuda"/"cuda:N" must exist."""
    name = (name or "cpu").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"train.device: '{name}' is not a torch device (use cpu, cuda, cuda:N or auto)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: '{name}' asked for, but this torch build sees no CUDA GPU "
                              "(use --device cpu or auto)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: '{name}' asked for, but only {torch.cuda.device_count()} GPU(s) exist")
    elif device.type != "cpu":
        raise ConfigError(f"train.device: '{name}' is not supported (use cpu, cuda, cuda:N or auto)")
    return device
