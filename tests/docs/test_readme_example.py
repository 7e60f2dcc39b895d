"""The README's "plug MRdIB into your backbone" block runs as written: baseline and +MRdIB."""

from __future__ import annotations

import re
from pathlib import Path

from testing_support import backbone_config
from mrdib.backbones import _REGISTRY
from mrdib.training.runner import train_run

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_backbone_trains_with_and_without_mrdib(small_data, tmp_path):
    text = README.read_text().split("## Plug MRdIB into your backbone", 1)[1]
    [block] = re.findall(r"```python\n(.*?)```", text, re.S)[:1]
    try:
        exec(compile(block, "README.md", "exec"), {})
        for enabled in (False, True):
            cfg = backbone_config("vbpr", tmp_path / str(enabled), enabled=enabled)
            cfg.backbone, cfg.backbone_params = "mine", {}
            _, result = train_run(cfg, progress=False, data=small_data)
            assert result.epochs_run == 2 and 0.0 <= result.test["recall@5"] <= 1.0
    finally:
        _REGISTRY.pop("mine", None)
