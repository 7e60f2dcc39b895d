"""Device selection: CPU default, auto falls back to the CPU, and a missing GPU is a clear error."""

import pytest
import torch

from mrdib.core.device import resolve_device
from mrdib.core.errors import ConfigError
from mrdib.core.io import to_cpu


def test_cpu_and_auto_resolve_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("") == torch.device("cpu")


def test_cuda_without_a_gpu_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="sees no CUDA GPU"):
        resolve_device("cuda")


@pytest.mark.parametrize("name", ["gpu0", "mps", "tpu"])
def test_unknown_devices_are_rejected(name):
    with pytest.raises(ConfigError, match="train.device"):
        resolve_device(name)


def test_to_cpu_keeps_the_nesting():
    state = {"a": torch.ones(2), "b": [torch.zeros(1), 3], "c": {"d": (torch.ones(1),)}, "e": "x"}
    moved = to_cpu(state)
    assert moved["b"][1] == 3 and moved["e"] == "x" and isinstance(moved["c"]["d"], tuple)
    assert torch.equal(moved["a"], state["a"]) and moved["a"].device.type == "cpu"


def test_asking_for_a_missing_gpu_writes_no_run_folder(tmp_path, monkeypatch, capsys):
    from mrdib.commands.main import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["train", "--data", "synthetic", "--device", "cuda", "--epochs", "1", "--artifacts", str(tmp_path),
                 "--quiet"])
    assert code == 2 and "sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
