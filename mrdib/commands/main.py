"""Command line: `python -m mrdib train ...` and friends. Errors print as one line, exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Sequence

from mrdib.core.errors import MrdibError

Handler = Callable[[argparse.Namespace], int]
CommandSetup = Callable[[argparse.ArgumentParser], Handler]
_COMMANDS: dict[str, tuple[CommandSetup, str]] = {}


def command(name: str, help_text: str) -> Callable[[CommandSetup], CommandSetup]:
    """Register a sub-command: the decorated function adds its arguments and returns its handler."""

    def decorator(add_arguments: CommandSetup) -> CommandSetup:
        _COMMANDS[name] = (add_arguments, help_text)
        return add_arguments

    return decorator


TRAIN_OPTIONS = ("epochs", "patience", "batch_size", "learning_rate", "embedding_size", "num_threads", "device",
                 "topk", "stop_metric")


def add_train_options(parser: argparse.ArgumentParser, threads_help: str | None = None) -> None:
    """The `train:` settings every training command takes (train, tune); read back by `train_options`."""
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--patience", type=int)
    parser.add_argument("--batch-size", dest="batch_size", type=int)
    parser.add_argument("--lr", dest="learning_rate", type=float)
    parser.add_argument("--embedding-size", dest="embedding_size", type=int)
    parser.add_argument("--threads", dest="num_threads", type=int, help=threads_help)
    parser.add_argument("--device", help="cpu (default), cuda, cuda:N or auto")
    parser.add_argument("--topk", type=int, nargs="+", metavar="K", help="ranking cut-offs (default 5 10 20)")
    parser.add_argument("--stop-metric", dest="stop_metric",
                        help="valid metric early stopping watches (default recall@5; its k must be in --topk)")


def train_options(args: argparse.Namespace) -> dict[str, Any]:
    """The `train:` settings given on the command line (see `add_train_options`)."""
    return {k: getattr(args, k) for k in TRAIN_OPTIONS if getattr(args, k) is not None}


def _train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Only what the user typed, so config files and backbone defaults are not overwritten."""
    values: dict[str, Any] = {}
    if args.data is not None:
        values["data"] = args.data
    if args.backbone is not None:
        values["backbone"] = args.backbone
    if args.artifacts is not None:
        values["artifacts"] = args.artifacts
    if args.run_id is not None:
        values["run_id"] = args.run_id
    mrdib = {k: getattr(args, k) for k in ("a1", "a2", "a3", "critic_lr", "aux_batch_size", "mine_batch_size",
                                           "critic_steps", "critic_warmup_steps", "mine_bound", "unique_mode")
             if getattr(args, k) is not None}
    if args.mrdib:
        mrdib["enabled"] = True
    if mrdib:
        values["mrdib"] = mrdib
    train = train_options(args)
    if args.seed is not None:
        train["seed"] = args.seed
    if train:
        values["train"] = train
    params = parse_params(args.param)
    if params:
        values["backbone_params"] = params
    return values


def parse_params(items: Sequence[str] | None) -> dict[str, Any]:
    """`--param KEY=VALUE` pairs; VALUE is read as JSON when it parses (numbers, lists), else a string."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise MrdibError(f"--param expects KEY=VALUE, got '{item}'")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


@command("train", "train one backbone, with or without MRdIB, and write a run folder")
def _train_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--data", help="'synthetic' (default) or an MMRec-layout folder")
    parser.add_argument("--backbone", help="backbone name (default vbpr)")
    parser.add_argument("--config", help="YAML or JSON config file (layered under the command line)")
    parser.add_argument("--mrdib", action="store_true", help="switch the MRdIB objective on")
    parser.add_argument("--a1", type=float, help="KL compression weight")
    parser.add_argument("--a2", type=float, help="MINE redundancy weight")
    parser.add_argument("--a3", type=float, help="per-modality (unique information) weight")
    parser.add_argument("--critic-lr", dest="critic_lr", type=float, help="the MINE critic's learning rate (3e-3)")
    parser.add_argument("--critic-steps", dest="critic_steps", type=int,
                        help="critic updates per encoder step (5; extra ones reuse the step's z)")
    parser.add_argument("--critic-warmup-steps", dest="critic_warmup_steps", type=int,
                        help="steps the critic trains alone before a2 ramps up over as many (100)")
    parser.add_argument("--mine-bound", dest="mine_bound", choices=("dv", "nwj"),
                        help="the MI lower bound: dv (the paper's, default) or nwj")
    parser.add_argument("--unique-mode", dest="unique_mode", choices=("standalone", "conditional"),
                        help="the a3 term: standalone (the paper's, default) or conditional on the other modalities")
    parser.add_argument("--aux-batch-size", dest="aux_batch_size", type=int,
                        help="triples per step for the KL and unique terms (default 0: the whole batch)")
    parser.add_argument("--mine-batch-size", dest="mine_batch_size", type=int, help="item pairs per step for MINE (512)")
    parser.add_argument("--seed", type=int)
    add_train_options(parser)
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="backbone parameter, repeatable")
    parser.add_argument("--artifacts", help="artifacts folder (default artifacts/ or $MRDIB_ARTIFACTS)")
    parser.add_argument("--run-id", dest="run_id")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.core.config import read_config_file, resolve_config
        from mrdib.training.runner import resume_run, train_run

        progress = False if args.quiet else None
        if args.resume:
            run_dir, result = resume_run(args.resume, progress=progress, device=args.device)
        else:
            file_values = read_config_file(args.config) if args.config else {}
            cli_values = _train_overrides(args)
            cli_values.setdefault("artifacts", file_values.get("artifacts") or default_artifacts())
            cfg = resolve_config("vbpr", file_values, cli_values)
            run_dir, result = train_run(cfg, progress=progress)
        print(f"run folder: {run_dir}")
        print(f"best epoch {result.best_epoch} of {result.epochs_run}; "
              f"{result.seconds_per_epoch:.2f} s per epoch")
        print("test: " + ", ".join(f"{k}={v:.4f}" for k, v in result.test.items()))
        return 0

    return handle


def default_artifacts() -> str:
    return os.environ.get("MRDIB_ARTIFACTS", "artifacts")


def build_parser() -> argparse.ArgumentParser:
    _load_optional_commands()
    parser = argparse.ArgumentParser(prog="mrdib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add_arguments, help_text) in _COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(handler=add_arguments(command_parser))
    return parser


def _load_optional_commands() -> None:
    """Other modules register sub-commands (demo, dashboard, analyze, sweep, tune, report) on import."""
    import importlib
    import importlib.util

    for module in ("mrdib.commands.demo", "mrdib.commands.dashboard", "mrdib.commands.analyze", "mrdib.commands.experiments",
                   "mrdib.commands.dose_response"):
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            importlib.import_module(module)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except MrdibError as error:
        print(f"mrdib: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mrdib: interrupted (resume with --resume RUN_DIR)", file=sys.stderr)
        return 130
    except FileNotFoundError as error:
        print(f"mrdib: error: {error.filename or error}: file not found", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
