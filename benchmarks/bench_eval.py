"""Seconds per full-ranking evaluation on Baby with random 128-d dot-product scores.

Usage: python benchmarks/bench_eval.py [--data ../shared/data/baby] [--dim 128] [--threads N]
Prints the median of 3 runs for the valid and the test evaluator, and the matmul alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, uninstalled
from mrdib.data.dataset import InteractionData
from mrdib.evaluation.ranking import EvalConfig, RankingEvaluator

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "baby"


def load_interactions(folder: Path) -> InteractionData:
    """The project loader when present, else a minimal read of `<name>.inter` (no features)."""
    try:
        from mrdib.data.loader import load_mmrec
    except ImportError:
        pass
    else:
        return load_mmrec(folder)
    inter = pd.read_csv(folder / f"{folder.name}.inter", sep="\t")
    pairs = {
        label: inter.loc[inter["x_label"] == label, ["userID", "itemID"]].to_numpy(np.int64)
        for label in (0, 1, 2)
    }
    return InteractionData(
        name=folder.name,
        n_users=int(inter["userID"].max()) + 1,
        n_items=int(inter["itemID"].max()) + 1,
        train=pairs[0],
        valid=pairs[1],
        test=pairs[2],
        features={},
        source=str(folder),
    )


def median_seconds(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=EvalConfig.batch_size)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if not (args.data / f"{args.data.name}.inter").exists():
        print(f"no data at {args.data}; pass --data FOLDER (MMRec layout)")
        return 1
    if args.threads:
        torch.set_num_threads(args.threads)

    data = load_interactions(args.data)
    generator = torch.Generator().manual_seed(0)
    user_emb = torch.randn(data.n_users, args.dim, generator=generator)  # [n_users, d]
    item_emb = torch.randn(data.n_items, args.dim, generator=generator)  # [n_items, d]

    def score_fn(users: torch.Tensor) -> torch.Tensor:
        return user_emb[users] @ item_emb.T  # [b, n_items]

    config = EvalConfig(batch_size=args.batch_size)
    print(
        f"{data.name}: {data.n_users} users, {data.n_items} items, d={args.dim}, "
        f"batch {config.batch_size}, {torch.get_num_threads()} threads"
    )
    for split in ("valid", "test"):
        start = time.perf_counter()
        evaluator = RankingEvaluator(data, split, config)
        build = time.perf_counter() - start
        seconds = median_seconds(lambda: evaluator.evaluate(score_fn))
        batches = torch.split(evaluator.users, config.batch_size)
        matmul_only = median_seconds(lambda: [score_fn(users) for users in batches])
        result = evaluator.evaluate(score_fn)
        print(
            f"{split:5s}: {seconds:.3f} s per evaluation ({evaluator.n_users} users; "
            f"scoring alone {matmul_only:.3f} s; built in {build:.3f} s) "
            f"recall@20={result['recall@20']:.4f} ndcg@20={result['ndcg@20']:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
