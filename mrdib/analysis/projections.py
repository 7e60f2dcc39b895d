"""2-D projections of the per-modality item representations and how separated the modalities are.

The paper's Figure 4 shows t-SNE of z_image and z_text stacked together: a baseline's
modalities overlap, MRdIB's form separate clusters. Here the same picture for any run,
plus numbers that say it without looking: the silhouette of the modality labels (in z, or
in a 2-D view) and a nearest-neighbour modality-mixing rate in z (independent of any
projection). t-SNE and UMAP are slow, so each run's projections are
cached beside it in `<run_dir>/projections/<method>.npz`, keyed by the embeddings file's
modification time; PCA is cheap and computed on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrdib.core.errors import RunError
from mrdib.core.io import atomic_save_npz
from mrdib.runs.reader import embedded_modalities, load_embeddings
from mrdib.runs.writer import EMBEDDINGS_FILE

METHODS = ("pca", "tsne", "umap")
SLOW_METHODS = ("tsne", "umap")
PROJECTIONS_DIR = "projections"


@dataclass
class StackedModalities:
    """Per-modality item representations stacked row-wise: modality m's items come as one block."""

    points: np.ndarray  # [n_items * n_modalities, d]
    modality: np.ndarray  # [n_points] modality name of each row
    item: np.ndarray  # [n_points] item index of each row
    modalities: list[str]


def stack_modalities(embeddings: dict[str, np.ndarray], source: str = "embeddings") -> StackedModalities:
    """Stack `modal/<m>` arrays; they must share a width to live in one space."""
    modalities = embedded_modalities(embeddings)
    if len(modalities) < 2:
        raise RunError(f"{source}: needs at least two modal/<modality> arrays, found {modalities}")
    blocks = [np.asarray(embeddings[f"modal/{m}"], dtype=np.float32) for m in modalities]
    widths = {block.shape[1] for block in blocks}
    if len(widths) != 1:
        raise RunError(f"{source}: modal representations have different widths {sorted(widths)}; "
                       "they cannot be projected into one space")
    n_items = blocks[0].shape[0]
    return StackedModalities(
        points=np.concatenate(blocks, axis=0),
        modality=np.repeat(np.array(modalities), n_items),
        item=np.tile(np.arange(n_items), len(modalities)),
        modalities=modalities,
    )


def project(points: np.ndarray, method: str, seed: int = 0, threads: int = 1) -> np.ndarray:
    """[n, d] -> [n, 2] by PCA, t-SNE or UMAP (UMAP is imported only when asked for: numba is slow to load).

    `threads` caps OpenMP/BLAS: on a busy two-core machine t-SNE with two spinning OpenMP
    threads ran over ten times slower than with one.
    """
    if method not in METHODS:
        raise ValueError(f"unknown projection method '{method}' (known: {', '.join(METHODS)})")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return _project(np.asarray(points, dtype=np.float32), method, seed)


def _project(points: np.ndarray, method: str, seed: int) -> np.ndarray:
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(points).astype(np.float32)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (len(points) - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                    n_jobs=1).fit_transform(points).astype(np.float32)
    import umap  # noqa: PLC0415  (lazy: the first import compiles numba code)

    n_neighbors = int(min(15, max(2, len(points) - 1)))
    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, random_state=seed, n_jobs=1)
    return reducer.fit_transform(points).astype(np.float32)


def modality_silhouette(points: np.ndarray, modality: np.ndarray, max_points: int = 3000, seed: int = 0) -> float:
    """Silhouette of the modality labels: near 1 = modalities well apart, near 0 or below = overlapping.
    Computed on a random sample of `max_points` points (exact below that)."""
    from sklearn.metrics import silhouette_score

    sample = min(max_points, len(points))
    return float(silhouette_score(points, modality, sample_size=sample, random_state=seed))


def modality_mixing(points: np.ndarray, modality: np.ndarray, k: int = 10) -> float:
    """Share of each point's k nearest neighbours from another modality, over that share under random
    labels: 1 = modalities fully mixed, 0 = fully separated."""
    from sklearn.neighbors import NearestNeighbors

    k = int(min(k, len(points) - 1))
    _, neighbours = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    neighbour_modality = modality[neighbours[:, 1:]]  # [n, k], first neighbour is the point itself
    observed = float(np.mean(neighbour_modality != modality[:, None]))
    _, counts = np.unique(modality, return_counts=True)
    n = len(modality)
    expected = float(np.sum(counts / n * (n - counts) / (n - 1)))
    return observed / expected if expected > 0 else float("nan")


def view_silhouette(coords: np.ndarray, modality: np.ndarray, threads: int = 1) -> float:
    """Silhouette of the modality labels in a 2-D projection: how apart the modalities look in that plot.

    It can differ a lot from the silhouette in z itself: two modalities in different subspaces
    around the same centre have a z silhouette near 0 although no point's neighbours mix.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return modality_silhouette(coords, modality)


def separation_scores(stacked: StackedModalities, threads: int = 1) -> dict[str, float]:
    """Silhouette and kNN mixing of the modality labels in the representation space."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return {"silhouette": modality_silhouette(stacked.points, stacked.modality),
                "mixing": modality_mixing(stacked.points, stacked.modality)}


def projection_path(run_dir: str | Path, method: str) -> Path:
    return Path(run_dir) / PROJECTIONS_DIR / f"{method}.npz"


def _embeddings_mtime(run_dir: Path) -> float:
    path = run_dir / EMBEDDINGS_FILE
    return path.stat().st_mtime if path.exists() else 0.0


def read_cached_projection(run_dir: str | Path, method: str) -> np.ndarray | None:
    """The cached [n_points, 2] coordinates, or None when missing, unreadable or older than the embeddings."""
    run_dir = Path(run_dir)
    path = projection_path(run_dir, method)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            if float(archive["embeddings_mtime"]) != _embeddings_mtime(run_dir):
                return None
            return archive["coords"]
    except (OSError, ValueError, KeyError):
        return None


def run_projection(run_dir: str | Path, method: str, seed: int = 0, use_cache: bool = True) -> np.ndarray:
    """Coordinates of the run's stacked modal representations, computed once and cached (PCA is not cached)."""
    run_dir = Path(run_dir)
    if use_cache and method in SLOW_METHODS:
        cached = read_cached_projection(run_dir, method)
        if cached is not None:
            return cached
    stacked = stack_modalities(load_embeddings(run_dir), str(run_dir / EMBEDDINGS_FILE))
    coords = project(stacked.points, method, seed)
    if method in SLOW_METHODS:
        atomic_save_npz(projection_path(run_dir, method),
                        {"coords": coords, "embeddings_mtime": np.float64(_embeddings_mtime(run_dir)),
                         "seed": np.int64(seed)})
    return coords


def missing_projections(run_dirs: list[str | Path], methods: tuple[str, ...] = SLOW_METHODS) -> list[tuple[Path, str]]:
    """(run folder, method) pairs whose slow projection is not cached yet."""
    return [(Path(run_dir), method) for run_dir in run_dirs for method in methods
            if method in SLOW_METHODS and read_cached_projection(run_dir, method) is None]


def item_clusters(representation: np.ndarray, n_clusters: int = 8, seed: int = 0) -> np.ndarray:
    """K-means cluster of each item (e.g. on a run's fused item representation), for colouring plots."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    n_clusters = int(min(n_clusters, len(representation)))
    with threadpool_limits(limits=1):
        labels = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit_predict(representation)
    return labels.astype(np.int64)
