"""The MRdIB objective: a variational bottleneck per modality, a MINE redundancy penalty and
per-modality ranking terms, wrapped around any backbone that follows mrdib.backbones.base."""

from mrdib.objective.bottleneck import VariationalBottleneck, gaussian_kl
from mrdib.objective.mine import MineCritic, MineEstimator, donsker_varadhan_bound
from mrdib.objective.plugin import MRdIB, StepOutput

__all__ = [
    "VariationalBottleneck",
    "gaussian_kl",
    "MineCritic",
    "MineEstimator",
    "donsker_varadhan_bound",
    "MRdIB",
    "StepOutput",
]
