"""Read and write data sets in the MMRec folder layout.

A folder holds exactly one `<name>.inter` (tab-separated, header `userID itemID x_label`,
x_label 0=train 1=valid 2=test, optional rating/timestamp columns that are ignored) and
one `<modality>_feat.npy` per modality, row i = item i. The synthetic generator adds a
`planted_factors.npz` with its ground truth. Every problem is reported as one DataError
line naming the file, because a half-valid data set silently skews every metric.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable, IO

import numpy as np
import pandas as pd

from mrdib.data.dataset import InteractionData
from mrdib.data.split import split_per_user
from mrdib.core.errors import DataError

USER_COLUMN = "userID"
ITEM_COLUMN = "itemID"
LABEL_COLUMN = "x_label"
FEATURE_SUFFIX = "_feat.npy"
PLANTED_FILE = "planted_factors.npz"
LABEL_NAMES = {0: "train", 1: "valid", 2: "test"}
# Well-known modalities first, in this order; any others follow alphabetically.
MODALITY_ORDER = ("image", "text", "audio")


def modality_sort_key(modality: str) -> tuple[int, str]:
    """Stable modality order: image, text, audio, then the rest alphabetically."""
    if modality in MODALITY_ORDER:
        return MODALITY_ORDER.index(modality), ""
    return len(MODALITY_ORDER), modality


def require_folder(folder: Path) -> None:
    """A missing data folder, in one line that says what it should hold."""
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found; pass a folder holding "
                        "<name>.inter and <modality>_feat.npy files")


def load_mmrec(path: str | Path, split_seed: int = 0) -> InteractionData:
    """Load and validate an MMRec-layout folder; split 8:1:1 per user if x_label is absent."""
    folder = Path(path)
    require_folder(folder)
    inter_file = _find_inter_file(folder)
    users, items, labels = _read_inter(inter_file)
    n_users, n_items = _check_ids(inter_file, users, items)
    pairs = np.stack([users, items], axis=1)  # [n, 2]
    _check_duplicates(inter_file, pairs, n_items)
    if labels is None:
        train, valid, test = split_per_user(pairs, n_users, split_seed)
    else:
        train, valid, test = _split_by_label(inter_file, pairs, labels, n_users)
    features = _read_features(folder, inter_file, n_items)
    planted = _read_planted(folder / PLANTED_FILE)
    return InteractionData(name=inter_file.stem, n_users=n_users, n_items=n_items,
                           train=train, valid=valid, test=test, features=features,
                           source=str(folder.resolve()), planted=planted)


def _find_inter_file(folder: Path) -> Path:
    inter_files = sorted(p for p in folder.glob("*.inter") if p.is_file())
    if not inter_files:
        raise DataError(f"{folder}: no .inter file; add <name>.inter (tab-separated, "
                        "header userID itemID x_label)")
    if len(inter_files) > 1:
        names = ", ".join(p.name for p in inter_files)
        raise DataError(f"{folder}: several .inter files ({names}); keep exactly one")
    return inter_files[0]


def _read_inter(inter_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return int64 user ids, item ids and x_labels (None when the column is absent)."""
    try:
        header = pd.read_csv(inter_file, sep="\t", nrows=0).columns
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{inter_file}: not a tab-separated table with a header "
                        f"({_first_line(exc)})") from exc
    columns = [str(c).strip() for c in header]
    for required in (USER_COLUMN, ITEM_COLUMN):
        if required not in columns:
            raise DataError(f"{inter_file}: missing column {required!r} (header is "
                            f"{columns}); the header must be tab-separated "
                            f"'{USER_COLUMN}<TAB>{ITEM_COLUMN}<TAB>{LABEL_COLUMN}'")
    wanted = [USER_COLUMN, ITEM_COLUMN] + ([LABEL_COLUMN] if LABEL_COLUMN in columns else [])
    wanted_raw = [header[columns.index(c)] for c in wanted]
    try:
        table = pd.read_csv(inter_file, sep="\t", usecols=wanted_raw, engine="c",
                            dtype={c: np.int64 for c in wanted_raw})
    except (ValueError, TypeError, OverflowError) as exc:  # ParserError is a ValueError
        _raise_first_non_integer(inter_file, wanted_raw)
        raise DataError(f"{inter_file}: cannot read as integers ({_first_line(exc)})") from exc
    if len(table) == 0:
        raise DataError(f"{inter_file}: no interactions below the header")
    arrays = [table[c].to_numpy(dtype=np.int64) for c in wanted_raw]
    return arrays[0], arrays[1], arrays[2] if len(arrays) == 3 else None


def _raise_first_non_integer(inter_file: Path, columns: list[str]) -> None:
    """The fast typed read failed: find the first offending cell and name it."""
    try:
        table = pd.read_csv(inter_file, sep="\t", usecols=columns, dtype=str,
                            keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{inter_file}: malformed table ({_first_line(exc)})") from exc
    for column in columns:
        is_integer = table[column].str.fullmatch(r"\s*[+-]?\d+\s*")
        bad_rows = np.flatnonzero(~is_integer.to_numpy(dtype=bool))
        if len(bad_rows):
            row = int(bad_rows[0])
            raise DataError(f"{inter_file}: column {column!r} holds {len(bad_rows)} "
                            f"non-integer values, e.g. {table[column].iloc[row]!r} on "
                            f"line {row + 2}; ids and x_label must be integers")


def _check_ids(inter_file: Path, users: np.ndarray, items: np.ndarray) -> tuple[int, int]:
    """Ids must be 0-based and contiguous; return (n_users, n_items) = max id + 1."""
    sizes = []
    for column, ids in ((USER_COLUMN, users), (ITEM_COLUMN, items)):
        negative = int((ids < 0).sum())
        if negative:
            raise DataError(f"{inter_file}: {negative} negative {column} values "
                            f"(e.g. {int(ids[ids < 0][0])}); ids must be 0-based")
        size = int(ids.max()) + 1
        if size <= len(ids):
            missing = int((np.bincount(ids, minlength=size) == 0).sum())
        else:  # cannot be contiguous; avoid a huge bincount for a stray large id
            missing = size - len(np.unique(ids))
        if missing:
            raise DataError(f"{inter_file}: {column} ids are not contiguous: {missing} of "
                            f"the ids 0..{size - 1} never appear; remap ids to 0..n-1")
        sizes.append(size)
    return sizes[0], sizes[1]


def _check_duplicates(inter_file: Path, pairs: np.ndarray, n_items: int) -> None:
    keys = np.sort(pairs[:, 0] * n_items + pairs[:, 1])
    repeated = keys[1:][keys[1:] == keys[:-1]]
    if len(repeated):
        user, item = divmod(int(repeated[0]), n_items)
        raise DataError(f"{inter_file}: {len(repeated)} duplicate user-item rows, e.g. "
                        f"userID {user} itemID {item}; keep one row per pair")


def _split_by_label(inter_file: Path, pairs: np.ndarray, labels: np.ndarray, n_users: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split by x_label, dropping valid/test rows of users with no training row (as MMRec)."""
    unknown = np.setdiff1d(np.unique(labels), list(LABEL_NAMES))
    if len(unknown):
        raise DataError(f"{inter_file}: {LABEL_COLUMN} has values {unknown.tolist()}; "
                        "allowed are 0=train, 1=valid, 2=test")
    is_train = labels == 0
    if not is_train.any():
        raise DataError(f"{inter_file}: no training rows ({LABEL_COLUMN} 0)")
    has_train = np.zeros(n_users, dtype=bool)
    has_train[pairs[is_train, 0]] = True
    cold = ~is_train & ~has_train[pairs[:, 0]]
    if cold.any():
        n_cold_users = len(np.unique(pairs[cold, 0]))
        warnings.warn(f"{inter_file}: dropped {int(cold.sum())} valid/test rows of "
                      f"{n_cold_users} user{'s' if n_cold_users > 1 else ''} with no training "
                      "interaction (as MMRec does)",
                      stacklevel=3)
    return pairs[is_train], pairs[(labels == 1) & ~cold], pairs[(labels == 2) & ~cold]


def _read_features(folder: Path, inter_file: Path, n_items: int) -> dict[str, np.ndarray]:
    """Every `<modality>_feat.npy` as float32 [n_items, dim], in modality_sort_key order."""
    files = {p.name[: -len(FEATURE_SUFFIX)]: p for p in folder.glob("*" + FEATURE_SUFFIX)
             if p.is_file() and len(p.name) > len(FEATURE_SUFFIX)}
    if not files:
        raise DataError(f"{folder}: no feature files; add one <modality>_feat.npy per "
                        "modality (e.g. image_feat.npy), row i = item i")
    features = {}
    for modality in sorted(files, key=modality_sort_key):
        features[modality] = _read_feature_file(files[modality], inter_file, n_items)
    return features


def _read_feature_file(feature_file: Path, inter_file: Path, n_items: int) -> np.ndarray:
    matrix = _load_npy(feature_file)
    if matrix.ndim != 2:
        raise DataError(f"{feature_file}: array has shape {matrix.shape}; expected 2-D "
                        "[n_items, dim]")
    if not np.issubdtype(matrix.dtype, np.floating):
        raise DataError(f"{feature_file}: dtype is {matrix.dtype}; save float32 (or "
                        "float16) features")
    if matrix.shape[0] != n_items:
        raise DataError(f"{feature_file}: {matrix.shape[0]} rows but {inter_file.name} "
                        f"has {n_items} items (max itemID + 1); row i must hold item i")
    matrix = matrix.astype(np.float32, copy=False)
    bad_rows = int((~np.isfinite(matrix).all(axis=1)).sum())
    if bad_rows:
        raise DataError(f"{feature_file}: {bad_rows} rows contain NaN or Inf; fill or "
                        "recompute those items' features")
    return matrix


def _load_npy(feature_file: Path) -> np.ndarray:
    try:
        return np.load(feature_file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{feature_file}: cannot read as a numeric .npy array "
                        f"({_first_line(exc)})") from exc


def _read_planted(planted_file: Path) -> dict[str, np.ndarray]:
    if not planted_file.is_file():
        return {}
    try:
        with np.load(planted_file, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{planted_file}: cannot read the planted factors "
                        f"({_first_line(exc)}); delete the folder to regenerate it") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def save_mmrec(data: InteractionData, folder: str | Path, name: str | None = None) -> Path:
    """Write `data` in the MMRec layout (every file atomically); return the folder.

    Refuses a folder that already holds another data set's files, since load_mmrec
    would then see two .inter files or extra modalities.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or data.name
    _check_no_foreign_files(folder, data, name)
    parts = [(data.train, 0), (data.valid, 1), (data.test, 2)]
    table = pd.DataFrame({
        USER_COLUMN: np.concatenate([p[:, 0] for p, _ in parts]).astype(np.int64),
        ITEM_COLUMN: np.concatenate([p[:, 1] for p, _ in parts]).astype(np.int64),
        LABEL_COLUMN: np.concatenate([np.full(len(p), label, np.int64) for p, label in parts]),
    })
    table = table.sort_values([USER_COLUMN, LABEL_COLUMN, ITEM_COLUMN], kind="stable")
    _write_atomically(folder / f"{name}.inter",
                      lambda f: table.to_csv(f, sep="\t", index=False, lineterminator="\n"),
                      text=True)
    for modality, matrix in data.features.items():
        matrix32 = np.ascontiguousarray(matrix, dtype=np.float32)
        _write_atomically(folder / f"{modality}{FEATURE_SUFFIX}",
                          lambda f, m=matrix32: np.save(f, m, allow_pickle=False))
    if data.planted:
        planted = {key: np.asarray(values) for key, values in data.planted.items()}
        _write_atomically(folder / PLANTED_FILE, lambda f: np.savez(f, **planted))
    return folder


def _check_no_foreign_files(folder: Path, data: InteractionData, name: str) -> None:
    foreign = [p.name for p in folder.glob("*.inter") if p.name != f"{name}.inter"]
    foreign += [p.name for p in folder.glob("*" + FEATURE_SUFFIX)
                if p.name[: -len(FEATURE_SUFFIX)] not in data.features]
    if not data.planted and (folder / PLANTED_FILE).exists():
        foreign.append(PLANTED_FILE)
    if foreign:
        raise DataError(f"{folder}: already holds {', '.join(sorted(foreign))} from another "
                        "data set; save into an empty folder")


def _write_atomically(target: Path, write: Callable[[IO], None], text: bool = False) -> None:
    """Write to a temporary file beside `target`, then os.replace, so readers never see half."""
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    try:
        stream = open(handle, "w", newline="") if text else open(handle, "wb")
        with stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; data files are meant to be shared
        os.replace(temp_name, target)
    except BaseException:
        if os.path.exists(temp_name):
            os.unlink(temp_name)
        raise
