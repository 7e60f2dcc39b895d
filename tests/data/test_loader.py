"""MMRec folder loading: round trips, every validation error, cold rows, real data sets."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from mrdib.data import InteractionData, load_mmrec, save_mmrec
from mrdib.core.errors import DataError
from testing_support import shared_data_folder

# (user, item, x_label) for 3 users and 4 items; every user has training rows.
TOY_ROWS = [(0, 0, 0), (0, 1, 0), (0, 2, 1), (0, 3, 2), (1, 1, 0), (1, 2, 0), (1, 0, 2),
            (2, 3, 0), (2, 0, 0), (2, 1, 1)]
HEADER = "userID\titemID\tx_label"


def write_inter(folder: Path, rows, header: str = HEADER, name: str = "toy") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.inter"
    lines = [header] + ["\t".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_features(folder: Path, n_items: int = 4, dims: dict | None = None,
                   dtype=np.float32) -> dict[str, np.ndarray]:
    dims = dims or {"image": 3, "text": 5}
    rng = np.random.default_rng(0)
    features = {}
    for modality, dim in dims.items():
        features[modality] = rng.standard_normal((n_items, dim)).astype(dtype)
        np.save(folder / f"{modality}_feat.npy", features[modality])
    return features


@pytest.fixture
def toy_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "toy"
    write_inter(folder, TOY_ROWS)
    write_features(folder)
    return folder


def _pairs(rows, label: int) -> list[tuple[int, int]]:
    return sorted((u, i) for u, i, x in rows if x == label)


def _as_set(pairs: np.ndarray) -> list[tuple[int, int]]:
    return sorted(map(tuple, pairs.tolist()))


def test_hand_made_folder_loads(toy_folder: Path):
    data = load_mmrec(toy_folder)
    assert isinstance(data, InteractionData)
    assert (data.name, data.n_users, data.n_items) == ("toy", 3, 4)
    assert _as_set(data.train) == _pairs(TOY_ROWS, 0)
    assert _as_set(data.valid) == _pairs(TOY_ROWS, 1)
    assert _as_set(data.test) == _pairs(TOY_ROWS, 2)
    assert data.train.dtype == np.int64 and data.train.shape[1] == 2
    assert data.modalities == ["image", "text"]
    assert data.features["text"].shape == (4, 5)
    assert data.features["image"].dtype == np.float32
    assert data.planted == {}
    assert data.source == str(toy_folder.resolve())


def test_save_then_load_round_trips(toy_folder: Path, tmp_path: Path):
    data = load_mmrec(toy_folder)
    data.planted = {"unique/image": np.arange(8.0).reshape(4, 2)}
    out = save_mmrec(data, tmp_path / "copy")
    again = load_mmrec(out)
    assert (again.name, again.n_users, again.n_items) == ("toy", 3, 4)
    for part in ("train", "valid", "test"):
        assert _as_set(getattr(again, part)) == _as_set(getattr(data, part))
    for modality in data.features:
        assert np.array_equal(again.features[modality], data.features[modality])
    assert np.array_equal(again.planted["unique/image"], data.planted["unique/image"])
    assert sorted(os.listdir(out)) == ["image_feat.npy", "planted_factors.npz",
                                       "text_feat.npy", "toy.inter"]  # no temp files left


def test_save_under_another_name_and_overwrite(toy_folder: Path, tmp_path: Path):
    data = load_mmrec(toy_folder)
    save_mmrec(data, tmp_path / "copy", name="renamed")
    save_mmrec(data, tmp_path / "copy", name="renamed")  # same data set again is fine
    assert load_mmrec(tmp_path / "copy").name == "renamed"
    assert (tmp_path / "copy" / "renamed.inter").read_text().splitlines()[0] == HEADER


def test_save_refuses_a_folder_holding_another_data_set(toy_folder: Path, tmp_path: Path):
    data = load_mmrec(toy_folder)
    save_mmrec(data, tmp_path / "copy")
    with pytest.raises(DataError, match="toy.inter"):
        save_mmrec(data, tmp_path / "copy", name="other")


def test_float16_features_load_as_float32(tmp_path: Path):
    folder = tmp_path / "half"
    write_inter(folder, TOY_ROWS)
    written = write_features(folder, dtype=np.float16)
    data = load_mmrec(folder)
    assert data.features["image"].dtype == np.float32
    assert np.array_equal(data.features["image"], written["image"].astype(np.float32))


def test_modalities_sorted_image_text_audio_then_alphabetical(tmp_path: Path):
    folder = tmp_path / "many"
    write_inter(folder, TOY_ROWS)
    write_features(folder, dims={"zeta": 2, "audio": 2, "text": 2, "depth": 2, "image": 2})
    assert load_mmrec(folder).modalities == ["image", "text", "audio", "depth", "zeta"]


def test_rating_and_timestamp_columns_are_ignored(tmp_path: Path):
    folder = tmp_path / "extra"
    rows = [(u, i, 5, 1_600_000_000 + k, x) for k, (u, i, x) in enumerate(TOY_ROWS)]
    write_inter(folder, rows, header="userID\titemID\trating\ttimestamp\tx_label")
    write_features(folder)
    assert _as_set(load_mmrec(folder).train) == _pairs(TOY_ROWS, 0)


def test_missing_x_label_splits_per_user_by_seed(tmp_path: Path):
    folder = tmp_path / "unsplit"
    rows = [(u, i) for u in range(30) for i in range(u % 7, u % 7 + 10)]
    write_inter(folder, rows, header="userID\titemID")
    write_features(folder, n_items=16)
    first, again, other = (load_mmrec(folder, split_seed=s) for s in (0, 0, 1))
    assert (len(first.train), len(first.valid), len(first.test)) == (240, 30, 30)
    assert np.array_equal(first.valid, again.valid)
    assert not np.array_equal(first.valid, other.valid)


def test_cold_valid_and_test_rows_are_dropped_with_a_warning(tmp_path: Path):
    folder = tmp_path / "cold"
    write_inter(folder, TOY_ROWS + [(3, 2, 1), (3, 3, 2)])  # user 3 has no training row
    write_features(folder)
    with pytest.warns(UserWarning, match=r"toy.inter: dropped 2 valid/test rows of 1 user"):
        data = load_mmrec(folder)
    assert data.n_users == 4
    assert 3 not in data.valid[:, 0] and 3 not in data.test[:, 0]
    assert _as_set(data.valid) == _pairs(TOY_ROWS, 1)


def test_planted_factors_are_read(toy_folder: Path):
    np.savez(toy_folder / "planted_factors.npz", **{"redundant": np.ones((4, 2))})
    assert load_mmrec(toy_folder).planted["redundant"].shape == (4, 2)


# --- every validation error: one DataError line naming the offending file ---------------

def _rows_without(rows, user: int):
    return [r for r in rows if r[0] != user]


def _case_missing_folder(tmp_path):
    return tmp_path / "nope", "nope"


def _case_no_inter(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    write_features(folder)
    return folder, "empty"


def _case_several_inter(tmp_path):
    folder = tmp_path / "two"
    write_inter(folder, TOY_ROWS, name="a")
    write_inter(folder, TOY_ROWS, name="b")
    write_features(folder)
    return folder, "a.inter, b.inter"


def _inter_case(name, rows, header=HEADER, expect=None, n_items=4):
    def make(tmp_path):
        folder = tmp_path / name
        write_inter(folder, rows, header=header, name=name)
        write_features(folder, n_items=n_items)
        return folder, expect or f"{name}.inter"
    return make


def _feature_case(name, array):
    def make(tmp_path):
        folder = tmp_path / name
        write_inter(folder, TOY_ROWS)
        write_features(folder)
        np.save(folder / "image_feat.npy", array, allow_pickle=True)
        return folder, "image_feat.npy"
    return make


def _case_no_features(tmp_path):
    folder = tmp_path / "nofeat"
    write_inter(folder, TOY_ROWS)
    return folder, "nofeat"


def _case_not_npy(tmp_path):
    folder = tmp_path / "garbage"
    write_inter(folder, TOY_ROWS)
    write_features(folder)
    (folder / "text_feat.npy").write_bytes(b"not an npy file at all")
    return folder, "text_feat.npy"


def _case_bad_planted(tmp_path):
    folder = tmp_path / "badplanted"
    write_inter(folder, TOY_ROWS)
    write_features(folder)
    (folder / "planted_factors.npz").write_bytes(b"broken zip")
    return folder, "planted_factors.npz"


_nan_rows = np.ones((4, 3), dtype=np.float32)
_nan_rows[1, 0] = np.nan
_nan_rows[3, 2] = np.inf

ERROR_CASES = {
    "missing folder": (_case_missing_folder, "not found"),
    "no .inter": (_case_no_inter, "no .inter"),
    "several .inter": (_case_several_inter, "several"),
    "missing userID": (_inter_case("nouser", TOY_ROWS, "user\titemID\tx_label"), "userID"),
    "missing itemID": (_inter_case("noitem", TOY_ROWS, "userID\titem\tx_label"), "itemID"),
    "comma separated": (_inter_case("commas", [], "userID,itemID,x_label"), "tab-separated"),
    "header only": (_inter_case("headeronly", []), "no interactions"),
    "non-integer id": (_inter_case("textid", TOY_ROWS + [("bob", 1, 0)]), "non-integer"),
    "float id": (_inter_case("floatid", TOY_ROWS + [(1, 2.5, 0)]), "'2.5' on line 12"),
    "empty cell": (_inter_case("emptycell", TOY_ROWS + [(1, "", 0)]), "non-integer"),
    "negative id": (_inter_case("negid", TOY_ROWS + [(-1, 2, 0)]), "1 negative userID"),
    "user gap": (_inter_case("usergap", _rows_without(TOY_ROWS, 1)), "1 of the ids 0..2"),
    "item gap": (_inter_case("itemgap", TOY_ROWS + [(1, 7, 0)], n_items=8),
                 "3 of the ids 0..7"),
    "huge id": (_inter_case("hugeid", TOY_ROWS + [(10**12, 1, 0)]), "not contiguous"),
    "bad x_label": (_inter_case("badlabel", TOY_ROWS + [(1, 3, 3), (2, 2, -1)]),
                    "[-1, 3]"),
    "no train rows": (_inter_case("notrain", [(u, i, 2) for u, i, _ in TOY_ROWS]),
                      "no training rows"),
    "duplicates": (_inter_case("dups", TOY_ROWS + [(0, 1, 1), (2, 3, 2), (2, 3, 0)]),
                   "3 duplicate user-item rows, e.g. userID 0 itemID 1"),
    "no features": (_case_no_features, "no feature files"),
    "row count": (_feature_case("rows", np.ones((5, 3), np.float32)), "5 rows but"),
    "not 2-D": (_feature_case("threed", np.ones((4, 3, 2), np.float32)), "2-D"),
    "one-D": (_feature_case("oned", np.ones(4, np.float32)), "2-D"),
    "NaN and Inf": (_feature_case("nan", _nan_rows), "2 rows contain NaN or Inf"),
    "integer dtype": (_feature_case("ints", np.ones((4, 3), np.int64)), "int64"),
    "pickled objects": (_feature_case("objects", np.array([[{}]] * 4, dtype=object)),
                        "cannot read"),
    "not an npy": (_case_not_npy, "cannot read"),
    "bad planted": (_case_bad_planted, "cannot read"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_each_problem_is_one_data_error_line_naming_the_file(case: str, tmp_path: Path):
    make_folder, fragment = ERROR_CASES[case]
    folder, file_name = make_folder(tmp_path)
    with pytest.raises(DataError) as caught:
        load_mmrec(folder)
    message = str(caught.value)
    assert file_name in message
    assert fragment in message
    assert "\n" not in message


# --- real data sets (../shared/data) ------------------------------------------------------

# name: (n_users, n_items, n_train, n_valid, n_test) as published with the files.
REAL_SIZES = {
    "baby": (19445, 7050, 118551, 20559, 21682),
    "sports": (35598, 18357, 218409, 37899, 40029),
    "clothing": (39387, 23033, 197338, 40150, 41189),
    "tiktok": (9308, 6710, 59541, 3051, 6130),
}


@pytest.mark.real_data
@pytest.mark.parametrize("name", list(REAL_SIZES))
def test_real_data_set_sizes(name: str):
    folder = shared_data_folder(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_mmrec(folder)
    n_users, n_items, n_train, n_valid, n_test = REAL_SIZES[name]
    assert (data.n_users, data.n_items, len(data.train)) == (n_users, n_items, n_train)
    dropped_cold_rows = any("dropped" in str(w.message) for w in caught)
    if dropped_cold_rows:  # cold valid/test rows go, as in MMRec: allow a small shortfall
        assert n_valid * 0.99 <= len(data.valid) <= n_valid
        assert n_test * 0.99 <= len(data.test) <= n_test
    else:
        assert (len(data.valid), len(data.test)) == (n_valid, n_test)
    assert all(f.dtype == np.float32 and f.shape[0] == n_items
               for f in data.features.values())
