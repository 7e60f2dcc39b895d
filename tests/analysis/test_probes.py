"""Linear probes of planted factors: a factor present in a representation is recovered, an absent one is not."""

import numpy as np

from mrdib.analysis.probes import planted_item_factors, probe_planted_factors


def test_probes_recover_present_factors_and_not_absent_ones(small_data):
    planted = small_data.planted
    factors = planted_item_factors(planted)
    assert set(factors) == {"unique/image", "unique/text", "redundant", "synergy/image", "synergy/text",
                            "noise/image", "noise/text"}
    rng = np.random.default_rng(0)
    image = np.concatenate([planted["unique/image"], planted["redundant"]], 1) @ rng.standard_normal((8, 16))
    text = planted["unique/text"] @ rng.standard_normal((4, 16)) + 0.05 * rng.standard_normal((200, 16))
    result = probe_planted_factors({"image": image, "text": text}, planted)
    r2 = result["r2"]
    assert r2["image"]["unique/image"] > 0.95 and r2["image"]["redundant"] > 0.95
    assert r2["image"]["noise/image"] < 0.1 and r2["image"]["unique/text"] < 0.1
    assert r2["text"]["unique/text"] > 0.95 and r2["text"]["redundant"] < 0.1
    summary = result["summary"]
    assert summary["modalities"]["image"]["unique"] == r2["image"]["unique/image"]
    # The redundant factor is in image only: not duplicated across modalities.
    assert summary["redundant_duplication"] == r2["text"]["redundant"]
    assert summary["noise_recoverable"] < 0.1
