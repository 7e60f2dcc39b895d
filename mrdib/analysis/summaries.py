"""Tables of analyses: a readable terminal report of one run, and baseline-vs-MRdIB comparisons
as pandas DataFrames (the dashboard and notebooks show the same frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mrdib.core.errors import RunError
from mrdib.runs.reader import read_analysis

Analysis = dict[str, Any]
SECTIONS = ("redundancy", "unique information", "compression", "planted factors R2 (means)",
            "planted factors R2 (sample)")
SUMMARY_LABELS = {"unique_kept": "own unique factor kept", "noise_recoverable": "own noise recoverable",
                  "redundant_duplication": "redundant in every modality (min)"}


VIEWS = ("samples", "means")


def redundancy_views(analysis: Analysis) -> dict[str, dict[str, dict]]:
    """{"samples": {pair: entry}, "means": {pair: entry}}; a version 1 analysis (means only) gives
    its pairs as "means"."""
    redundancy = analysis.get("redundancy") or {}
    if set(redundancy) & set(VIEWS):
        return {view: redundancy[view] for view in VIEWS if view in redundancy}
    return {"means": redundancy} if redundancy else {}


def flatten_analysis(analysis: Analysis) -> list[tuple[str, str, float]]:
    """(section, quantity, value) for every number a comparison should show, in report order."""
    rows: list[tuple[str, str, float]] = []
    for view, pairs in redundancy_views(analysis).items():
        for pair, entry in pairs.items():
            if entry.get("gaussian_mi"):
                rows.append(("redundancy", f"Gaussian MI I({pair}) nats ({view})", entry["gaussian_mi"]["mean"]))
            if entry.get("mine"):
                rows.append(("redundancy", f"MINE I({pair}) nats ({view})", entry["mine"]["mean"]))
                rows.append(("redundancy", f"MINE I({pair}) std ({view})", entry["mine"]["std"]))
                if entry["mine"].get("shuffled"):
                    rows.append(("redundancy", f"MINE shuffled control ({pair}) nats ({view})",
                                 entry["mine"]["shuffled"]["mean"]))
            rows.append(("redundancy", f"CKA({pair}) ({view})", entry["cka"]))
    ranking = analysis.get("ranking") or {}
    for modality, metrics in ranking.get("modalities", {}).items():
        rows.extend(("unique information", f"{modality} alone {key}", value) for key, value in metrics.items())
    for modality, metrics in (ranking.get("samples") or {}).get("modalities", {}).items():
        rows.extend(("unique information", f"{modality} alone {key} (sample)", value)
                    for key, value in metrics.items())
    for part, label in (("fused", "fused (run's score)"), ("fused_probe", "fused (ridge probe)"),
                        ("synergy_gain", "synergy gain"), ("synergy_gain_probe", "synergy gain (probe)")):
        rows.extend(("unique information", f"{label} {key}", value)
                    for key, value in ranking.get(part, {}).items())
    for modality, stats in (analysis.get("compression") or {}).items():
        rows.append(("compression", f"KL {modality} nats", stats["kl"]))
        if "channel_information" in stats:
            rows.append(("compression", f"mean log-variance {modality}", stats["mean_log_var"]))
            rows.append(("compression", f"channel information {modality} nats", stats["channel_information"]))
            rows.append(("compression", f"dims > 0.1 nats {modality} (of {stats['dims']})",
                         float(stats["informative_dims"])))
    probes = analysis.get("probes") or {}
    for r2_key, summary_key, where in (("r2", "summary", "means"), ("r2_sampled", "summary_sampled", "sample")):
        summary = probes.get(summary_key) or {}
        for key, label in SUMMARY_LABELS.items():
            if key in summary:
                rows.append((f"planted factors R2 ({where})", label, summary[key]))
        for representation, by_factor in (probes.get(r2_key) or {}).items():
            rows.extend((f"planted factors R2 ({where})", f"{factor} from {representation}", value)
                        for factor, value in by_factor.items())
    return rows


def run_label(analysis: Analysis) -> str:
    variant = "+MRdIB" if analysis.get("mrdib_enabled") else "baseline"
    return f"{analysis.get('backbone', '?')} {variant}"


def _as_analysis(value: Analysis | str | Path) -> Analysis:
    if isinstance(value, dict):
        return value
    analysis = read_analysis(value)
    if analysis is None:
        raise RunError(f"{value}: no analysis.json; run `python -m mrdib analyze {value}` first")
    return analysis


def compare_runs(analysis_a: Analysis | str | Path, analysis_b: Analysis | str | Path) -> pd.DataFrame:
    """One row per quantity: section, quantity, A's value, B's value and B - A.

    Arguments are analysis dicts or run folders holding analysis.json. Columns are named
    after the runs ("vbpr baseline", "vbpr +MRdIB"; run ids when those coincide). A
    quantity only one run has (a baseline has no KL) shows NaN for the other.
    """
    a, b = _as_analysis(analysis_a), _as_analysis(analysis_b)
    label_a, label_b = run_label(a), run_label(b)
    if label_a == label_b:
        label_a, label_b = a.get("run_id", "A"), b.get("run_id", "B")
    if label_a == label_b:
        label_a, label_b = f"{label_a} (A)", f"{label_b} (B)"
    rows_a = {(s, q): v for s, q, v in flatten_analysis(a)}
    rows_b = {(s, q): v for s, q, v in flatten_analysis(b)}
    # Union in report order: section by section, then order of first appearance.
    appearance = list(dict.fromkeys(list(rows_a) + list(rows_b)))
    keys = sorted(appearance, key=lambda key: (SECTIONS.index(key[0]), appearance.index(key)))
    frame = pd.DataFrame({
        "section": [s for s, _ in keys],
        "quantity": [q for _, q in keys],
        label_a: [rows_a.get(key, float("nan")) for key in keys],
        label_b: [rows_b.get(key, float("nan")) for key in keys],
    })
    frame["change"] = frame[label_b] - frame[label_a]
    return frame


def _section(title: str, frame: pd.DataFrame, float_format: str = "{:.4f}") -> str:
    body = frame.to_string(float_format=lambda v: float_format.format(v), na_rep="n/a")
    return f"{title}\n" + "\n".join("  " + line for line in body.splitlines())


def analysis_table(analysis: Analysis) -> str:
    """A plain-text report of one analysis for the terminal."""
    seconds = analysis.get("seconds", {})
    parts = [f"Analysis of {analysis.get('run_id')} ({run_label(analysis)}, {analysis.get('dataset')}) "
             f"in {seconds.get('total', float('nan')):.1f} s"]
    views = redundancy_views(analysis)
    if views:
        index, rows = [], []
        for view, pairs in views.items():
            for pair, entry in pairs.items():
                mine, gaussian = entry.get("mine"), entry.get("gaussian_mi")
                shuffled = (mine or {}).get("shuffled")
                index.append(f"{pair} ({view})")
                rows.append({
                    "Gaussian MI (nats)": f"{gaussian['mean']:.3f} ± {gaussian['std']:.3f}" if gaussian else "n/a",
                    "MINE I (nats)": f"{mine['mean']:.3f} ± {mine['std']:.3f}" if mine else "skipped",
                    "MINE shuffled (nats)": f"{shuffled['mean']:.3f}" if shuffled else "n/a",
                    "linear CKA": f"{entry['cka']:.3f}",
                })
        note = (analysis.get("representations") or {}).get("samples", "")
        parts.append(_section("Redundancy between modality representations (held-out items; MINE early-stopped, "
                              f"beside its shuffled-pair zero)\n  samples: {note}", pd.DataFrame(rows, index=index)))
    ranking = analysis.get("ranking")
    if ranking:
        rows = {f"{m} alone": v for m, v in ranking["modalities"].items()}
        rows["fused (run's score)"] = ranking["fused"]
        rows["fused (ridge probe)"] = ranking["fused_probe"]
        rows["synergy gain"] = ranking["synergy_gain"]
        rows["synergy gain (probe)"] = ranking["synergy_gain_probe"]
        rows.update({f"{m} alone (sample)": v for m, v in (ranking.get("samples") or {}).get("modalities", {}).items()
                     if not (analysis.get("representations") or {}).get("deterministic")})
        parts.append(_section("Unique information: valid ranking from each representation",
                              pd.DataFrame(rows).T))
    compression = analysis.get("compression")
    if compression:
        frame = pd.DataFrame({
            "KL (nats)": [f"{s['kl']:.3f}" for s in compression.values()],
            "mean log-variance": [f"{s['mean_log_var']:.3f}" if "mean_log_var" in s else "n/a"
                                  for s in compression.values()],
            "channel information (nats)": [f"{s['channel_information']:.3f}" if "channel_information" in s else "n/a"
                                           for s in compression.values()],
            "dims > 0.1 nats": [f"{s['informative_dims']} / {s['dims']}" if "informative_dims" in s else "n/a"
                                for s in compression.values()],
        }, index=list(compression))
        source = (analysis.get("representations") or {}).get("log_var_source") or "checkpoint"
        parts.append(_section("Compression (channel information: sum_d 0.5 log(1 + Var(mu_d) / E[sigma_d^2]); "
                              f"log-variances from {source})", frame))
    else:
        parts.append("Compression\n  n/a (baseline run: no bottleneck)")
    probes = analysis.get("probes")
    if probes:
        parts.append(_section("Planted factors: held-out R^2 of a linear probe on the means (rows: representation)",
                              pd.DataFrame(probes["r2"]).T, "{:.3f}"))
        if probes.get("sampled_from", "").startswith("one sample"):
            parts.append(_section("... and on one sample z ~ q(z|x) of the bottleneck posterior",
                                  pd.DataFrame(probes["r2_sampled"]).T, "{:.3f}"))
        summary = pd.DataFrame({
            "means": {label: probes["summary"].get(key) for key, label in SUMMARY_LABELS.items()},
            "sample": {label: (probes.get("summary_sampled") or {}).get(key) for key, label in SUMMARY_LABELS.items()},
        }).astype(float)
        parts.append(_section("Planted-factor summary (R^2; a baseline's sample is its mean)", summary, "{:.3f}"))
    pid = analysis.get("pid")
    if pid:
        rows = {}
        for row in pid["pairs"]:
            a, b = row["modality_a"], row["modality_b"]
            for part, label in (("unique_a", f"unique to {a}"), ("unique_b", f"unique to {b}"),
                                ("redundant", "redundant"), ("synergistic", "synergistic"), ("total", "total")):
                share = row.get(f"share/{part}") if part != "total" else 1.0
                rows[(f"{a}~{b}", label)] = {
                    "bits": f"{row[part]:.4f}",
                    "95% interval": f"[{row[f'{part}_low']:.4f}, {row[f'{part}_high']:.4f}]",
                    "share": f"{share:.0%}" if share == share else "n/a"}
        first = pid["pairs"][0] if pid["pairs"] else {}
        frame = pd.DataFrame(rows).T
        parts.append(_section(f"PID of what each modality pair says about interaction ({first.get('measure', '?')}, "
                              f"{first.get('bins', '?')} bins, {first.get('n', '?')} held-out pairs; "
                              f"on the {pid['view']})", frame))
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items() if k != "total")
    parts.append(f"Seconds: {timing}")
    return "\n\n".join(parts)
