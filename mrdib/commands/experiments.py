"""Sub-commands `sweep`, `tune` and `report` (registered on import by `mrdib.commands.main`).

Heavy imports (torch, optuna, plotly) happen inside the handlers, so `mrdib --help` stays fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from mrdib.commands.main import Handler, add_train_options, command, default_artifacts, parse_params, train_options
from mrdib.core.errors import MrdibError


def _invocation(name: str, args: argparse.Namespace, positional: tuple[str, ...] = (),
                options: tuple[str, ...] = ()) -> str:
    """The command line that reproduces this call (rebuilt from the parsed arguments, so it is the
    same whether the command came from a shell or from `main([...])`)."""
    words = ["python", "-m", "mrdib", name, *(str(getattr(args, p)) for p in positional)]
    for option in options:
        value = getattr(args, option)
        if value is None or value is False:
            continue
        flag = "--" + option.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            words += [flag] if item is True else [flag, str(item)]
    return " ".join(shlex.quote(w) for w in words)


@command("sweep", "run (or resume) a sweep: data sets x backbones x alphas x ablations x seeds")
def _sweep_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("config", help="sweep YAML (see configs/sweeps/)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes on this machine (default 1)")
    parser.add_argument("--artifacts", help="artifacts folder (default: the config's, else artifacts/)")
    parser.add_argument("--threads", type=int, help="torch threads per worker (default: cores // workers)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N or auto for every run (default: the config's, else cpu); "
                                         "cuda with several workers spreads them over the visible GPUs")
    _add_engine_options(parser, "sqlite in <artifacts>/sweeps/<name>.db")
    parser.add_argument("--replan", action="store_true",
                        help="the config was changed on purpose (e.g. a grid): store its settings in place of the "
                             "sweep's; finished runs the new plan shares are kept")
    parser.add_argument("--restore-from", dest="restore_from", metavar="RUNS_CSV",
                        help="a runs.csv that `mrdib report` wrote (e.g. committed docs/fair/runs.csv): the points "
                             "its rows match count as done, so a machine without the sweep's artifacts trains only "
                             "what the table lacks (no checkpoints come back)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan's size and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.experiments.plan import first_stage, read_sweep_config, second_stage_size
        from mrdib.experiments.sweep import run_sweep
        from mrdib.runs.layout import runs_dir
        from mrdib.training.lifecycle import run_state

        sweep = read_sweep_config(args.config)
        artifacts = args.artifacts or sweep.artifacts or default_artifacts()
        if args.dry_run and args.restore_from:
            raise MrdibError("--restore-from writes the restored runs into the sweep's study; a --dry-run writes "
                             "nothing: run without --dry-run")
        if args.dry_run:
            from mrdib.experiments.plan import check_sweep_runs
            from mrdib.experiments.sweep import sweep_started

            check_sweep_runs(sweep, artifacts, args.device)  # the plan a real run would refuse, refused here too
            if sweep_started(artifacts, sweep.name, args.storage):  # every machine's runs, from the study
                return _print_progress(sweep, artifacts, args.storage)
            total_runs = 0  # not started: the plan's size, and runs another sweep already made here
            for dataset in sweep.datasets:
                for backbone in sweep.backbones:
                    points = first_stage(sweep, artifacts, dataset, backbone)
                    done = sum(run_state(runs_dir(artifacts) / p.run_id) == "done" for p in points)
                    later = second_stage_size(sweep, dataset, backbone)
                    total_runs += len(points) + later
                    print(f"{dataset} / {backbone}: stage 1 {len(points)} runs ({done} done), "
                          f"later stages up to {later} runs")
            print(f"{sweep.name}: up to {total_runs} runs")
            return 0
        result = run_sweep(sweep, artifacts, workers=args.workers, progress=False if args.quiet else None,
                           command=_invocation("sweep", args, ("config",),
                                               ("workers", "threads", "device", "artifacts", "replan",
                                                "restore_from")),
                           config_path=args.config, threads=args.threads, device=args.device, storage=args.storage,
                           heartbeat=args.heartbeat, grace=args.grace, replan=args.replan,
                           restore_from=args.restore_from)
        if result.restored is not None:
            print(f"sweep {sweep.name}: restored {result.restored.restored} finished runs from "
                  f"{result.restored.path} ({result.restored.unmatched} of its rows match no planned point)")
        counts = ", ".join(f"{v} {k}" for k, v in sorted(result.counts.items())) or "nothing to do"
        print(f"sweep {sweep.name}: {counts}; plan: {result.plan_path}")
        for key, chosen in result.selections.items():
            if chosen.get("baseline_params") is not None:
                print(f"  {key}: baseline {chosen['baseline_params']} chosen on valid {chosen.get('metric')}")
            if chosen.get("alphas") is not None:
                print(f"  {key}: alphas {chosen['alphas']} chosen on valid {chosen.get('metric')}")
            else:
                print(f"  {key}: no alphas chosen ({chosen.get('reason')})")
        for failure in result.failed:
            print(f"  failed: {failure['run_id']}: {failure['error']}", file=sys.stderr)
        if result.interrupted:
            print("mrdib: sweep interrupted; rerun the same command to resume", file=sys.stderr)
            return 130
        if result.unfinished:
            print(f"  {result.unfinished} points are not finished; rerun the same command to continue", file=sys.stderr)
        return 0 if result.complete else 1

    return handle


def _add_engine_options(parser: argparse.ArgumentParser, default: str) -> None:
    from mrdib.runs.database import DEFAULT_GRACE, DEFAULT_HEARTBEAT

    parser.add_argument("--storage", help=f"database URL every worker joins, e.g. postgresql://USER:PASSWORD@HOST/DB "
                                          f"(default {default})")
    parser.add_argument("--heartbeat", type=int, default=DEFAULT_HEARTBEAT,
                        help=f"seconds between a running point's heartbeats (default {DEFAULT_HEARTBEAT})")
    parser.add_argument("--grace", type=int, default=DEFAULT_GRACE,
                        help=f"seconds without a heartbeat before another worker takes a point over "
                             f"(default {DEFAULT_GRACE})")


def _print_progress(sweep: Any, artifacts: str, storage: str | None) -> int:
    """Where each pair of a started sweep stands, read from its study (every machine's runs), with
    the training time its remaining runs would take at the pace of its finished ones."""
    from mrdib.experiments.sweep import SweepStudy, pair_progress

    study = SweepStudy(sweep, artifacts, storage)
    state = study.state()
    rows = pair_progress(sweep, artifacts, state)
    total_hours, total_left = 0.0, 0
    for row in rows:
        extra = "".join(f", {row[k]} {k}" for k in ("running", "failed") if row[k])
        if row["open"]:
            state_text = "open: " + ", ".join(f"{name} {done} of {size} done" for name, done, size in row["open"])
        else:
            state_text = "stopped by failed runs (a rerun retries them)" if row["failed"] else "finished"
        left = row["planned"] - row["done"]
        hours = _run_hours(artifacts, [p.run_id for p in state.points if (p.dataset, p.backbone)
                                       == (row["dataset"], row["backbone"]) and state.status[p.run_id] == "done"]
                           ) if left else []  # a finished pair's summaries are not read
        pace = ""
        if hours:
            per_run = sorted(hours)[len(hours) // 2]
            total_hours, total_left = total_hours + left * per_run, total_left + left
            pace = f"; up to {left} runs left, about {left * per_run:.1f} h at {per_run * 60:.0f} min a run so far"
        print(f"{row['dataset']} / {row['backbone']}: {row['done']} of up to {row['planned']} runs done{extra}; "
              f"{state_text}{pace}")
    print(f"{sweep.name}: {sum(r['done'] for r in rows)} of up to {sum(r['planned'] for r in rows)} runs done"
          + (f"; about {total_hours:.1f} h of training left on one worker for the {total_left} runs whose pair has "
             "a finished run here (the median run's training time; +MRdIB runs take longer than baselines)"
             if total_left else ""))
    return 0


def _run_hours(artifacts: str, run_ids: list[str]) -> list[float]:
    """Training hours (seconds per epoch x epochs) of each run whose folder is here and readable."""
    from mrdib.core.errors import RunError
    from mrdib.runs.layout import runs_dir
    from mrdib.runs.reader import read_json_object

    hours = []
    for run_id in run_ids:
        try:
            summary = read_json_object(runs_dir(artifacts) / run_id / "summary.json")
            hours.append(float(summary["seconds_per_epoch"]) * int(summary["epochs_run"]) / 3600)
        except (RunError, KeyError, TypeError, ValueError):
            continue  # restored from a runs table, or unreadable: no pace from it
    return hours


def _run_values(args: argparse.Namespace) -> dict[str, Any]:
    """Fixed run settings of every trial, from --config and the command line."""
    from mrdib.core.config import read_config_file

    values: dict[str, Any] = read_config_file(args.config) if args.config else {}
    for key in ("data", "backbone", "artifacts", "run_id"):
        values.pop(key, None)
    train = train_options(args)
    if train:
        values["train"] = {**values.get("train", {}), **train}
    params = parse_params(args.param)
    if params:
        values["backbone_params"] = {**values.get("backbone_params", {}), **params}
    return values


@command("tune", "tune the three alphas with Optuna (TPE, per-epoch pruning) on validation Recall@5")
def _tune_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--data", default="synthetic", help="'synthetic' or an MMRec-layout folder")
    parser.add_argument("--backbone", default="vbpr")
    parser.add_argument("--config", help="run config file (YAML/JSON) with fixed settings for every trial")
    parser.add_argument("--trials", type=int, help="study-wide trial budget (default 30 unless --minutes)")
    parser.add_argument("--minutes", type=float, help="this worker's wall-clock budget")
    parser.add_argument("--study", help="study name (default <data>-<backbone>)")
    _add_engine_options(parser, "sqlite in <artifacts>/studies/<study>.db")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes on this machine (default 1), each with its own sampler seed")
    parser.add_argument("--seed", type=int, default=0, help="training seed of every trial")
    parser.add_argument("--sampler-seed", dest="sampler_seed", type=int, help="TPE seed (one per worker)")
    parser.add_argument("--low", type=float, default=1e-4, help="smallest alpha (log-uniform)")
    parser.add_argument("--high", type=float, default=0.05, help="largest alpha")
    parser.add_argument("--startup-trials", dest="startup_trials", type=int, default=10,
                        help="random trials before TPE")
    parser.add_argument("--no-prune", dest="prune", action="store_false", help="never stop a trial early")
    parser.add_argument("--prune-percentile", dest="prune_percentile", type=float, default=25.0,
                        help="prune trials in this bottom percentile of earlier trials (default 25)")
    parser.add_argument("--prune-warmup", dest="prune_warmup_epochs", type=int, default=5,
                        help="epochs every trial runs before it can be pruned (default 5)")
    add_train_options(parser, threads_help="torch threads per trial")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="backbone parameter, repeatable")
    parser.add_argument("--match-sweep", dest="match_sweep", metavar="NAME",
                        help="also report how many trials it took to match this sweep's best grid point")
    parser.add_argument("--artifacts")
    parser.add_argument("--quiet", action="store_true")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.experiments.tune import TuneConfig, compare_with_sweep, open_study, run_tuning_workers

        trials = args.trials if args.trials is not None or args.minutes is not None else 30
        cfg = TuneConfig(data=args.data, backbone=args.backbone, study=args.study, storage=args.storage,
                         trials=trials, minutes=args.minutes, low=args.low, high=args.high, seed=args.seed,
                         sampler_seed=args.sampler_seed, startup_trials=args.startup_trials, prune=args.prune,
                         prune_percentile=args.prune_percentile, prune_warmup_epochs=args.prune_warmup_epochs,
                         run_values=_run_values(args), artifacts=args.artifacts or default_artifacts(),
                         heartbeat=args.heartbeat, grace=args.grace)
        summary = run_tuning_workers(cfg, args.workers, progress=not args.quiet)
        print(f"study {summary['study']} ({summary['storage']}): trials {summary['trials']}")
        best = summary["best"]
        if best:
            alphas = best["alphas"]
            print(f"best valid {summary['metric']} {best['valid']:.4f} at trial {best['trial']}: "
                  + ", ".join(f"{k}={v:.3g}" for k, v in alphas.items()) + f" (run {best['run_id']})")
            print("train it on more seeds: python -m mrdib train --data {} --backbone {} --mrdib {} --seed 1".format(
                shlex.quote(cfg.data), cfg.backbone, " ".join(f"--{k} {v:.4g}" for k, v in alphas.items())))
        if args.match_sweep:
            match = compare_with_sweep(open_study(cfg), cfg, cfg.artifacts, args.match_sweep)
            tuner_best = match["tuner_best_valid"]
            print(f"grid ({match['grid_points']} points, {match['grid_epochs']} epochs): best valid "
                  f"{match['grid_best_valid']:.4f} at {match['grid_best_alphas']}; tuner ({match['tuner_trials']} "
                  f"trials, {match['tuner_epochs']} epochs): best {'n/a' if tuner_best is None else f'{tuner_best:.4f}'}")
            print(f"trials to match the grid's best: {match['trials_to_match'] or 'not reached'} "
                  f"({match['epochs_to_match'] or '-'} epochs); to come within {match['tolerance']:.0%}: "
                  f"{match['trials_to_near_match'] or 'not reached'} ({match['epochs_to_near_match'] or '-'} epochs)")
        return 0

    return handle


@command("report", "paper-style tables (Markdown, CSV, LaTeX) and figures from the run folders")
def _report_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--sweep", action="append", metavar="NAME",
                        help="only the runs of this sweep (repeatable); default: every finished run")
    parser.add_argument("--artifacts")
    parser.add_argument("--storage", help="read the runs from this study database (sweeps' and tuning studies' "
                                          "trials, from every machine) instead of the artifacts folder")
    parser.add_argument("--study", action="append", metavar="NAME",
                        help="with --storage: only this tuning study's runs (repeatable)")
    parser.add_argument("--runs-csv", metavar="PATH",
                        help="rebuild every table from a runs.csv an earlier report wrote (no run folders needed)")
    parser.add_argument("--out", default="report", help="output folder (e.g. docs/)")
    parser.add_argument("--name", default="results.md", help="Markdown file name (default results.md)")
    parser.add_argument("--title", default="Results: MRdIB reproduction")
    parser.add_argument("--metric", default="recall@5", help="validation metric that selects (default recall@5)")
    parser.add_argument("--no-png", dest="png", action="store_false", help="skip the PNG figures")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.experiments.sweep_report import build_report
        from mrdib.results.render import write_report
        from mrdib.results.report import report_from_runs_table

        if args.study and not args.storage:
            raise MrdibError("--study needs --storage (the database the study lives in)")
        if args.runs_csv:
            if args.sweep or args.storage or args.study:
                raise MrdibError("--runs-csv holds the runs already; drop --sweep, --storage and --study")
            report = report_from_runs_table(args.runs_csv, args.metric)
        else:
            report = build_report(args.artifacts or default_artifacts(), args.sweep or (), args.metric,
                                  storage=args.storage, studies=args.study or ())
        command_line = _invocation("report", args, (), ("sweep", "study", "artifacts", "runs_csv", "out", "metric"))
        files = write_report(report, args.out, args.title, args.name, command_line, png=args.png)
        print(f"{len(files)} files in {args.out} (from {report.n_runs} runs): "
              + ", ".join(p.name for p in files))
        return 0

    return handle
