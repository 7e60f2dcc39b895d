"""How recommendations are scored: ranking metrics, full-ranking evaluation with seen items masked,
and the most-popular reference ranking. Sits above `mrdib.data`, below the backbones."""
