"""`python -m mrdib analyze RUN`: analyse a finished run, print the tables, write analysis.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from mrdib.commands.main import Handler, command, default_artifacts
from mrdib.core.errors import RunError
from mrdib.runs.layout import runs_dir


def resolve_run_dir(run: str, artifacts: str | None) -> Path:
    """RUN is a run folder, or a run id under <artifacts>/runs."""
    path = Path(run)
    if path.is_dir():
        return path
    candidate = runs_dir(artifacts or default_artifacts()) / run
    if candidate.is_dir():
        return candidate
    raise RunError(f"{run}: no such run folder (nor {candidate}); pass a run folder or a run id "
                   "with --artifacts DIR")


@command("analyze", "measure redundancy, unique information, compression and planted factors of a run")
def _analyze_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("run", metavar="RUN", help="run folder, or run id under <artifacts>/runs")
    parser.add_argument("--artifacts", help="artifacts folder for a run id (default artifacts/ or $MRDIB_ARTIFACTS)")
    parser.add_argument("--data", help="data set to use instead of the one in the run's config")
    parser.add_argument("--steps", type=int,
                        help="most MINE critic steps per restart; the best on validation pairs is kept (default 600)")
    parser.add_argument("--restarts", type=int,
                        help="MINE restarts, for the estimate's spread (default 2; each also fits the shuffled "
                             "control)")
    parser.add_argument("--mine-batch-size", dest="mine_batch_size", type=int, help="MINE batch size (default 512)")
    parser.add_argument("--no-mine", dest="use_mine", action="store_false", help="skip MINE (Gaussian MI and CKA only)")
    parser.add_argument("--no-probes", dest="probes", action="store_false", help="skip the planted-factor probes")
    parser.add_argument("--no-pid", dest="pid", action="store_false",
                        help="skip the partial information decomposition (docs/pid.md)")
    parser.add_argument("--pid-bins", dest="pid_bins", type=int, default=8,
                        help="equal-frequency bins per modality score for the PID (default 8)")
    parser.add_argument("--pid-measure", dest="pid_measure", default="broja", choices=["broja", "mmi", "imin"],
                        help="the PID measure (default broja)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(args: argparse.Namespace) -> int:
        import torch

        from mrdib.analysis.analyze import AnalysisSettings, analyze_run
        from mrdib.analysis.summaries import analysis_table
        from mrdib.runs.writer import ANALYSIS_FILE

        if args.threads is not None and args.threads < 1:
            raise RunError(f"--threads must be at least 1, got {args.threads}")
        if args.threads:
            torch.set_num_threads(args.threads)
        run_dir = resolve_run_dir(args.run, args.artifacts)
        if args.pid_bins < 2:
            raise RunError(f"--pid-bins must be at least 2, got {args.pid_bins}")
        settings = AnalysisSettings(use_mine=args.use_mine, probes=args.probes, seed=args.seed, pid=args.pid,
                                    pid_bins=args.pid_bins, pid_measure=args.pid_measure)
        for option, name, value in (("--steps", "steps", args.steps), ("--restarts", "restarts", args.restarts),
                                    ("--mine-batch-size", "batch_size", args.mine_batch_size)):
            if value is not None:
                if value < 1:
                    raise RunError(f"{option} must be at least 1, got {value}")
                setattr(settings.mine, name, value)
        analysis = analyze_run(run_dir, settings, data_spec=args.data, progress=False if args.quiet else None)
        print(analysis_table(analysis))
        print(f"\nwritten: {run_dir / ANALYSIS_FILE}")
        return 0

    return handle
