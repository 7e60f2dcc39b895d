"""Training steps with the C library's allocator settings vs `mrdib.training.allocator`'s retained memory.

Usage: python benchmarks/bench_allocator.py [--data baby] [--backbones vbpr mgcn] [--mrdib]
                                            [--turns 8] [--steps 10] [--threads 2]

The allocator is a process-wide setting, so each side runs in its own worker process (the
"system" one with MRDIB_SYSTEM_ALLOCATOR=1); the workers build the same trainer and take turns,
`--steps` training steps per turn, so a machine whose speed drifts slows both alike; then
three validation passes each, also in turns. Prints the median milliseconds per step, the
minor page faults per step, each worker's peak resident memory after training (data, model
and training steps) and the median validation pass. Not a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

SIDES = ("system", "retained")


def worker(args: argparse.Namespace) -> None:
    """Build a trainer, warm it up, then run `--steps` steps per line read from stdin."""
    import torch

    from mrdib.core.config import resolve_config
    from mrdib.training.runner import build_trainer

    from bench_training import dataset

    torch.set_num_threads(args.threads)
    data = dataset(args.data)
    trainer = build_trainer(resolve_config(args.backbones[0], cli_values={"mrdib": {"enabled": args.mrdib}}), data)
    trainer.model.train()
    trainer.model.backbone.pre_epoch(1)

    def batches():
        epoch = 1
        while True:
            yield from trainer.sampler.epoch()
            epoch += 1
            trainer.model.backbone.pre_epoch(epoch)

    stream = batches()
    for _ in range(3):
        trainer.train_step(next(stream))
    print("ready", flush=True)
    for line in sys.stdin:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started = time.perf_counter()
        if line.strip() == "eval":
            trainer.evaluate("valid")  # returns the model to training mode
            print((time.perf_counter() - started) * 1000, flush=True)
            continue
        for _ in range(args.steps):
            trainer.train_step(next(stream))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print((time.perf_counter() - started) / args.steps * 1000, (usage.ru_minflt - faults) / args.steps,
              usage.ru_maxrss / 1024, flush=True)  # ru_maxrss is in KiB on Linux


def compare(args: argparse.Namespace, backbone: str) -> tuple[dict[str, list[list[float]]], dict[str, list[float]]]:
    """Start both workers for one backbone, alternate their turns; return each side's training
    readings (ms/step, faults/step, peak MB) and its validation passes (ms)."""
    workers = {}
    for side in SIDES:
        env = {k: v for k, v in os.environ.items() if k != "MRDIB_SYSTEM_ALLOCATOR"}
        if side == "system":
            env["MRDIB_SYSTEM_ALLOCATOR"] = "1"
        command = [sys.executable, __file__, "--worker", "--data", args.data, "--backbones", backbone,
                   "--steps", str(args.steps), "--threads", str(args.threads)] + (["--mrdib"] if args.mrdib else [])
        workers[side] = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        for side, process in workers.items():
            if process.stdout.readline().strip() != "ready":
                raise SystemExit(f"error: the {side} worker for {backbone} failed to start (see its output above)")
        readings: dict[str, list[list[float]]] = {side: [] for side in SIDES}
        evaluations: dict[str, list[float]] = {side: [] for side in SIDES}
        for turn in range(args.turns + 3):  # three validation passes after the training turns
            for side, process in workers.items():
                process.stdin.write("train\n" if turn < args.turns else "eval\n")
                process.stdin.flush()
                values = [float(value) for value in process.stdout.readline().split()]
                if turn < args.turns:
                    readings[side].append(values)
                else:
                    evaluations[side].append(values[0])
        return readings, evaluations
    finally:
        for process in workers.values():
            process.stdin.close()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="baby")
    parser.add_argument("--backbones", nargs="+", default=["vbpr", "mgcn"])
    parser.add_argument("--mrdib", action="store_true", help="train with the MRdIB objective switched on")
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="training steps per turn")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(f"{args.data}, {'+MRdIB' if args.mrdib else 'baselines'}, {args.threads} threads, "
          f"{args.turns} turns of {args.steps} steps per side")
    print(f"{'backbone':9} {'system ms/step':>15} {'retained':>9} {'ratio':>6} {'faults/step':>12} {'retained':>9} "
          f"{'peak MB':>8} {'retained':>9} {'valid pass ms':>14} {'retained':>9}")
    for backbone in args.backbones:
        readings, evaluations = compare(args, backbone)
        ms = {side: statistics.median(r[0] for r in readings[side]) for side in SIDES}
        faults = {side: statistics.median(r[1] for r in readings[side]) for side in SIDES}
        peak = {side: readings[side][-1][2] for side in SIDES}
        print(f"{backbone:9} {ms['system']:15.2f} {ms['retained']:9.2f} {ms['retained'] / ms['system']:6.2f} "
              f"{faults['system']:12.0f} {faults['retained']:9.0f} {peak['system']:8.0f} {peak['retained']:9.0f} "
              f"{statistics.median(evaluations['system']):14.0f} {statistics.median(evaluations['retained']):9.0f}",
              flush=True)


if __name__ == "__main__":
    main()
