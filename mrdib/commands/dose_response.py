"""`python -m mrdib dose-response`: train small sweeps of one alpha and report what each term moved."""

from __future__ import annotations

import argparse

from mrdib.commands.main import Handler, add_train_options, command, default_artifacts, parse_params, train_options


@command("dose-response", "vary one alpha (or each in turn) and report the quantity it targets beside accuracy")
def _dose_response_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--data", default="synthetic", help="'synthetic' (default) or an MMRec-layout folder")
    parser.add_argument("--backbone", default="vbpr", help="backbone name (default vbpr)")
    parser.add_argument("--term", default="a2", choices=["a1", "a2", "a3", "all"],
                        help="alpha to vary (all: each in turn, the others at --base)")
    parser.add_argument("--values", type=float, nargs="+", help="alpha values (default 0 0.0001 0.001 0.01 0.05)")
    parser.add_argument("--base", type=float, nargs=3, metavar=("A1", "A2", "A3"),
                        help="the fixed alphas (default 0.001 0.01 0.01)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    add_train_options(parser)
    parser.add_argument("--mine", action="store_true",
                        help="also estimate redundancy with MINE and its shuffled control (slower)")
    parser.add_argument("--k", type=int, default=5, help="recall@k reported (default 5; must be in train.topk)")
    parser.add_argument("--param", action="append", metavar="KEY=VALUE", help="backbone parameter, repeatable")
    parser.add_argument("--mrdib-param", dest="mrdib_param", action="append", metavar="KEY=VALUE",
                        help="other mrdib setting held fixed (e.g. critic_lr=0.01), repeatable")
    parser.add_argument("--artifacts", help="artifacts folder (default artifacts/ or $MRDIB_ARTIFACTS)")
    parser.add_argument("--name", help="result folder name under <artifacts>/dose_response (default from the data, "
                                       "backbone and term)")
    parser.add_argument("--out", help="result folder (default <artifacts>/dose_response/<name>)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes training the runs, each with its share of the cores (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(args: argparse.Namespace) -> int:
        from mrdib.core.io import atomic_write_bytes
        from mrdib.dose_response.core import (
            DEFAULT_BASE,
            DEFAULT_VALUES,
            DoseResponseSpec,
            report_text,
            run_dose_response,
            summary_frame,
        )
        from mrdib.figures.dose_response import dose_response_figure

        spec = DoseResponseSpec(
            data=args.data, backbone=args.backbone, terms=[args.term],
            values=list(args.values) if args.values else list(DEFAULT_VALUES),
            base=list(args.base) if args.base else list(DEFAULT_BASE), seeds=list(args.seeds),
            train=train_options(args), mrdib=parse_params(args.mrdib_param),
            backbone_params=parse_params(args.param), use_mine=args.mine, k=args.k,
            artifacts=args.artifacts or default_artifacts(), name=args.name or "", out=args.out or "",
            workers=args.workers)
        result = run_dose_response(spec, progress=False if args.quiet else None)
        figure = dose_response_figure(summary_frame(result), spec.k, spec.terms)
        atomic_write_bytes(spec.out_dir / "dose_response.html", figure.to_html(include_plotlyjs=True).encode())
        print(report_text(result))
        return 0

    return handle
