"""A synthetic multimodal data set with planted ground truth, so MRdIB's claims are testable.

Every item carries four kinds of latent factors: unique to one modality, redundant
(shared by all modalities), synergistic (one factor per modality for the first two,
whose elementwise product drives preference, so neither modality alone predicts it) and
pure noise no user cares about. Each modality's feature is a random projection of its
factors plus Gaussian noise. Users pick items by Gumbel-top-k sampling from a softmax over
their affinities. The planted factors travel with the data (`data.planted`) and with the
folder (`planted_factors.npz`), so analyses can check what a representation captured.

Planted keys (m = a modality name; the first two modalities are the synergy pair):
  item factors [n_items, k]: unique/m, redundant, synergy/m (first two only), noise/m,
    popularity (k=1);
  user preferences [n_users, k]: user_pref/unique/m, user_pref/redundant, user_pref/synergy;
  projection/m [latent_dim, feature_dim]: rows in the order unique, redundant, synergy, noise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mrdib.data.dataset import InteractionData
from mrdib.data.loader import save_mmrec
from mrdib.data.split import split_per_user
from mrdib.core.errors import ConfigError, DataError

# Bump when the generator's output for a given config changes, so cached folders are rebuilt.
GENERATOR_VERSION = 1
CONFIG_FILE = "synthetic_config.json"
DATASET_NAME = "synthetic"
# Users (or items) per chunk are chosen so one [users, items] float32 buffer is ~32 MB;
# sampling runs in float32, which halves time and memory and is ample for a softmax draw.
_CHUNK_CELLS = 8_000_000


@dataclass(frozen=True)
class SyntheticConfig:
    """Sizes, factor dimensions, signal strengths and noise of the synthetic data set.

    Each affinity term is scaled to unit variance before its strength multiplies it, so
    strengths compare directly: strength_synergy=2 means the synergy term's std is 2.
    Feature noise is relative to the projected signal, whose per-dimension variance is 1.
    """

    n_users: int = 1500
    n_items: int = 1000
    n_modalities: int = 2
    modality_names: tuple[str, ...] = ("image", "text", "audio", "video")
    feature_dim: int = 64
    dim_unique: int = 4        # per modality
    dim_redundant: int = 4     # shared by every modality
    dim_synergy: int = 4       # per factor: s_img and s_txt each have this many dims
    dim_noise: int = 8         # per modality, ignored by every user
    strength_unique: float = 1.0
    strength_redundant: float = 1.0
    strength_synergy: float = 1.0
    popularity_std: float = 0.5  # std of a per-item bias added to every user's affinity
    noise_std: float = 0.1
    temperature: float = 0.5
    min_interactions: int = 5
    mean_interactions: float = 12.0  # min + geometric extra; clipped at max
    max_interactions: int = 60
    seed: int = 0
    # Whose unique factors users care about: None, every modality's; else the named modalities'
    # only (e.g. ("image",): a preference one modality alone explains, for validating the PID).
    unique_modalities: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        # A list from YAML/JSON would break equality with the same config as a tuple.
        object.__setattr__(self, "modality_names", tuple(self.modality_names))
        if self.unique_modalities is not None:
            object.__setattr__(self, "unique_modalities", tuple(self.unique_modalities))
            unknown = [m for m in self.unique_modalities if m not in self.modalities]
            if unknown:
                raise ConfigError(f"unique_modalities names '{unknown[0]}', which is not among the modalities "
                                  f"{self.modalities}")
        if not 2 <= self.n_modalities <= len(self.modality_names):
            raise ConfigError(f"n_modalities={self.n_modalities} must be between 2 and "
                              f"len(modality_names)={len(self.modality_names)}")
        if len(set(self.modality_names)) != len(self.modality_names):
            raise ConfigError(f"modality_names {self.modality_names} repeat a name")
        if min(self.n_users, self.n_items, self.feature_dim, self.min_interactions) < 1:
            raise ConfigError("n_users, n_items, feature_dim and min_interactions must be >= 1")
        if min(self.dim_unique, self.dim_redundant, self.dim_synergy, self.dim_noise) < 0:
            raise ConfigError("factor dimensions must be >= 0")
        if self.feature_dim < self.latent_dim(0):
            raise ConfigError(f"feature_dim={self.feature_dim} is below the "
                              f"{self.latent_dim(0)} latent factors per modality; the "
                              "projection would lose planted information")
        if not self.min_interactions <= self.mean_interactions <= self.max_interactions:
            raise ConfigError("need min_interactions <= mean_interactions <= max_interactions")
        if self.min_interactions > self.n_items:
            raise ConfigError(f"min_interactions={self.min_interactions} exceeds "
                              f"n_items={self.n_items}")
        if self.temperature <= 0 or self.noise_std < 0 or self.popularity_std < 0:
            raise ConfigError("temperature must be > 0; noise_std, popularity_std >= 0")

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.modality_names[: self.n_modalities])

    def latent_dim(self, modality_index: int) -> int:
        """Factors projected into one modality's feature; synergy only in the first two."""
        synergy = self.dim_synergy if modality_index < 2 else 0
        return self.dim_unique + self.dim_redundant + synergy + self.dim_noise

    def short_hash(self) -> str:
        """Ten hex digits naming this config (and generator version) in cache folders."""
        settings = asdict(self)
        if settings["unique_modalities"] is None:  # the default: earlier configs keep their names
            del settings["unique_modalities"]
        payload = json.dumps({"generator_version": GENERATOR_VERSION, **settings}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:10]


def generate_synthetic(cfg: SyntheticConfig) -> InteractionData:
    """Build the data set for `cfg`: same config, same arrays, bit for bit."""
    rng = np.random.default_rng(cfg.seed)
    planted = _plant_factors(cfg, rng)
    features = {modality: _project_features(cfg, planted, index, rng)
                for index, modality in enumerate(cfg.modalities)}
    pairs = _sample_interactions(cfg, planted, rng)
    train, valid, test = split_per_user(pairs, cfg.n_users, seed=int(rng.integers(2**31)))
    return InteractionData(name=DATASET_NAME, n_users=cfg.n_users, n_items=cfg.n_items,
                           train=train, valid=valid, test=test, features=features,
                           source=f"generated:synthetic-{cfg.short_hash()}", planted=planted)


def _plant_factors(cfg: SyntheticConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Standard-normal item factors [n_items, k], user preferences [n_users, k], biases."""
    first, second = cfg.modalities[:2]

    def items(k: int) -> np.ndarray:
        return rng.standard_normal((cfg.n_items, k))

    def users(k: int) -> np.ndarray:
        return rng.standard_normal((cfg.n_users, k))

    planted: dict[str, np.ndarray] = {}
    for modality in cfg.modalities:
        planted[f"unique/{modality}"] = items(cfg.dim_unique)
    planted["redundant"] = items(cfg.dim_redundant)
    planted[f"synergy/{first}"] = items(cfg.dim_synergy)
    planted[f"synergy/{second}"] = items(cfg.dim_synergy)
    for modality in cfg.modalities:
        planted[f"noise/{modality}"] = items(cfg.dim_noise)
    planted["popularity"] = cfg.popularity_std * items(1)  # [n_items, 1]
    for modality in cfg.modalities:
        planted[f"user_pref/unique/{modality}"] = users(cfg.dim_unique)
    planted["user_pref/redundant"] = users(cfg.dim_redundant)
    planted["user_pref/synergy"] = users(cfg.dim_synergy)
    return planted


def _project_features(cfg: SyntheticConfig, planted: dict[str, np.ndarray],
                      modality_index: int, rng: np.random.Generator) -> np.ndarray:
    """[unique, redundant, synergy (first two only), noise] @ random projection + noise."""
    modality = cfg.modalities[modality_index]
    blocks = [planted[f"unique/{modality}"], planted["redundant"]]
    if modality_index < 2:
        blocks.append(planted[f"synergy/{modality}"])
    blocks.append(planted[f"noise/{modality}"])
    latent = np.concatenate(blocks, axis=1)  # [n_items, latent_dim]
    projection = rng.standard_normal((latent.shape[1], cfg.feature_dim)) / np.sqrt(
        max(latent.shape[1], 1))  # unit variance per output dim
    planted[f"projection/{modality}"] = projection  # [latent_dim, feature_dim]
    noise = cfg.noise_std * rng.standard_normal((cfg.n_items, cfg.feature_dim))
    return (latent @ projection + noise).astype(np.float32)


def affinity_components(cfg: SyntheticConfig, planted: dict[str, np.ndarray],
                        users: np.ndarray | slice = slice(None)) -> dict[str, np.ndarray]:
    """Each term of affinity(u, i) for the chosen users, already scaled by its strength.

    Returns "unique", "redundant", "synergy" as [n_chosen_users, n_items] and "popularity"
    as [1, n_items]; their sum is the affinity the generator sampled from. Analyses use
    this to ask which part of the preference signal a model recovered.
    """
    first, second = cfg.modalities[:2]
    cared = cfg.modalities if cfg.unique_modalities is None else cfg.unique_modalities
    unique = sum(planted[f"user_pref/unique/{m}"][users] @ planted[f"unique/{m}"].T for m in cared)
    synergy_product = planted[f"synergy/{first}"] * planted[f"synergy/{second}"]
    return {
        "unique": cfg.strength_unique * unique
        / _unit_scale(cfg.dim_unique * len(cared)),
        "redundant": cfg.strength_redundant
        * (planted["user_pref/redundant"][users] @ planted["redundant"].T)
        / _unit_scale(cfg.dim_redundant),
        "synergy": cfg.strength_synergy
        * (planted["user_pref/synergy"][users] @ synergy_product.T)
        / _unit_scale(cfg.dim_synergy),
        "popularity": planted["popularity"].T,
    }


def _unit_scale(n_terms: int) -> float:
    """Std of a sum of n products of independent standard normals (1 if there are none)."""
    return float(np.sqrt(max(n_terms, 1)))


def _sample_interactions(cfg: SyntheticConfig, planted: dict[str, np.ndarray],
                         rng: np.random.Generator) -> np.ndarray:
    """Per user, draw k_u items without replacement from softmax(affinity / temperature).

    Gumbel-top-k: adding Gumbel noise to the logits and keeping the k largest is an exact
    draw without replacement (float32 uniforms cap the Gumbel tail near 17, immaterial).
    Users go in chunks through reused buffers, which bounds memory and avoids page-faulting
    fresh arrays per chunk. Items nobody drew get one interaction from a user drawn by that
    item's column softmax, so ids stay contiguous as load_mmrec requires.
    """
    counts = _interaction_counts(cfg, rng)
    user_side, item_side, bias = _logit_factors(cfg, planted)
    item_side_t = np.ascontiguousarray(item_side.T)  # [k, n_items]
    chunk = max(1, min(cfg.n_users, _CHUNK_CELLS // cfg.n_items))
    k_max = int(counts.max())
    neg_score_buffer = np.empty((chunk, cfg.n_items), dtype=np.float32)
    gumbel_buffer = np.empty((chunk, cfg.n_items), dtype=np.float32)
    users_out, items_out = [], []
    for start in range(0, cfg.n_users, chunk):
        users = np.arange(start, min(start + chunk, cfg.n_users))
        neg_score = neg_score_buffer[: len(users)]
        minus_gumbel = gumbel_buffer[: len(users)]
        np.matmul(user_side[users], item_side_t, out=neg_score)
        neg_score += bias  # now the logits, [chunk, n_items]
        _fill_minus_gumbel(rng, minus_gumbel)
        np.subtract(minus_gumbel, neg_score, out=neg_score)  # -(logits + gumbel)
        top = np.argpartition(neg_score, k_max - 1, axis=1)[:, :k_max]  # unordered
        top = np.take_along_axis(
            top, np.argsort(np.take_along_axis(neg_score, top, axis=1), axis=1), axis=1)
        keep = np.arange(k_max)[None, :] < counts[users][:, None]
        users_out.append(np.broadcast_to(users[:, None], top.shape)[keep])
        items_out.append(top[keep])
    pairs = np.stack([np.concatenate(users_out), np.concatenate(items_out)], axis=1)
    return np.concatenate([pairs, _cover_unseen_items(cfg, planted, pairs, rng)])


def _logit_factors(cfg: SyntheticConfig, planted: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All affinity terms folded into one product: logits = user_side @ item_side.T + bias.

    Same value as the sum of `affinity_components` over temperature, in a single matmul;
    float32 because sampling is the only consumer.
    """
    first, second = cfg.modalities[:2]
    user_blocks, item_blocks = [], []
    cared = cfg.modalities if cfg.unique_modalities is None else cfg.unique_modalities
    for modality in cared:
        user_blocks.append(planted[f"user_pref/unique/{modality}"] * (
            cfg.strength_unique / _unit_scale(cfg.dim_unique * len(cared))))
        item_blocks.append(planted[f"unique/{modality}"])
    user_blocks.append(planted["user_pref/redundant"] * (
        cfg.strength_redundant / _unit_scale(cfg.dim_redundant)))
    item_blocks.append(planted["redundant"])
    user_blocks.append(planted["user_pref/synergy"] * (
        cfg.strength_synergy / _unit_scale(cfg.dim_synergy)))
    item_blocks.append(planted[f"synergy/{first}"] * planted[f"synergy/{second}"])
    user_side = np.concatenate(user_blocks, axis=1) / cfg.temperature  # [n_users, k]
    item_side = np.concatenate(item_blocks, axis=1)  # [n_items, k]
    bias = planted["popularity"].T / cfg.temperature  # [1, n_items]
    return (user_side.astype(np.float32), item_side.astype(np.float32),
            bias.astype(np.float32))


def _fill_minus_gumbel(rng: np.random.Generator, out: np.ndarray) -> None:
    """Fill `out` in place with log(-log(U)), i.e. minus a standard Gumbel sample."""
    rng.random(out=out, dtype=out.dtype)
    with np.errstate(divide="ignore"):  # U == 0 (p = 2**-24 in float32) gives -inf: never chosen
        np.log(out, out=out)
        np.negative(out, out=out)
        np.log(out, out=out)


def _interaction_counts(cfg: SyntheticConfig, rng: np.random.Generator) -> np.ndarray:
    """min + (geometric - 1) with mean `mean_interactions` before clipping at the max."""
    extra_mean = cfg.mean_interactions - cfg.min_interactions
    extra = rng.geometric(1.0 / (extra_mean + 1.0), size=cfg.n_users) - 1
    upper = min(cfg.max_interactions, cfg.n_items)
    return np.minimum(cfg.min_interactions + extra, upper).astype(np.int64)


def _cover_unseen_items(cfg: SyntheticConfig, planted: dict[str, np.ndarray],
                        pairs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    unseen = np.flatnonzero(np.bincount(pairs[:, 1], minlength=cfg.n_items) == 0)
    if len(unseen) == 0:
        return np.empty((0, 2), dtype=np.int64)
    user_side, item_side, bias = _logit_factors(cfg, planted)
    chunk = max(1, _CHUNK_CELLS // cfg.n_users)
    chosen_users = []
    for start in range(0, len(unseen), chunk):
        items = unseen[start: start + chunk]
        logits = user_side @ item_side[items].T + bias[:, items]  # [n_users, len(items)]
        minus_gumbel = np.empty_like(logits)
        _fill_minus_gumbel(rng, minus_gumbel)
        chosen_users.append(np.argmax(logits - minus_gumbel, axis=0))
    return np.stack([np.concatenate(chosen_users), unseen], axis=1).astype(np.int64)


def synthetic_cache_dir(cfg: SyntheticConfig, root: Path) -> Path:
    """Where `materialize_synthetic` keeps the folder for `cfg`."""
    return Path(root) / "data" / f"synthetic-{cfg.short_hash()}"


def materialize_synthetic(cfg: SyntheticConfig, root: Path) -> Path:
    """Generate `cfg` once and save it in MMRec layout; return the (complete) folder.

    The folder is built under a temporary name and renamed into place, so a crash never
    leaves a half-written data set and two processes racing each end with a whole one.
    """
    folder = synthetic_cache_dir(cfg, root)
    if (folder / CONFIG_FILE).is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        save_mmrec(generate_synthetic(cfg), staging, name=DATASET_NAME)
        config_record = {"generator_version": GENERATOR_VERSION, **asdict(cfg)}
        (staging / CONFIG_FILE).write_text(json.dumps(config_record, indent=2) + "\n")
        os.chmod(staging, 0o755)  # mkdtemp makes 0700
        try:
            os.rename(staging, folder)
        except OSError:
            if not (folder / CONFIG_FILE).is_file():  # not a lost race: a real failure
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def read_synthetic_config(folder: Path) -> SyntheticConfig:
    """The config a materialized folder was generated from (for analyses of planted truth)."""
    config_file = Path(folder) / CONFIG_FILE
    try:
        record = json.loads(config_file.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{config_file}: cannot read the synthetic config ({exc}); "
                        "only folders made by materialize_synthetic have one") from exc
    record.pop("generator_version", None)
    record["modality_names"] = tuple(record["modality_names"])
    return SyntheticConfig(**record)
