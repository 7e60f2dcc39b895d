"""Tables of analyses: a readable terminal report of one run, and baseline-vs-MRdIB comparisons
as pandas DataFrames (the dashboard and notebooks show the same frames)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mrdib.errors import RunError
from mrdib.runs.reader import read_analysis

Analysis = dict[str, Any]
SECTIONS = ("redundancy", "unique information", "compression", "planted factors R2 (means)",
            "planted factors R2 (sample)")
SUMMARY_LABELS = {"unique_kept": "own unique factor kept", "noise_recoverable": "own noise recoverable",
                  "redundant_duplication": "redundant in every modality (min)"}


def flatten_analysis(analysis: Analysis) -> list[tuple[str, str, float]]:
    """(section, quantity, value) for every number a comparison should show, in report order."""
    rows: list[tuple[str, str, float]] = []
    for pair, entry in analysis.get("redundancy", {}).items():
        if entry.get("mine"):
            rows.append(("redundancy", f"MINE I({pair}) nats", entry["mine"]["mean"]))
            rows.append(("redundancy", f"MINE I({pair}) std", entry["mine"]["std"]))
        rows.append(("redundancy", f"CKA({pair})", entry["cka"]))
    ranking = analysis.get("ranking") or {}
    for modality, metrics in ranking.get("modalities", {}).items():
        rows.extend(("unique information", f"{modality} alone {key}", value) for key, value in metrics.items())
    for part, label in (("fused", "fused (run's score)"), ("fused_probe", "fused (ridge probe)"),
                        ("synergy_gain", "synergy gain"), ("synergy_gain_probe", "synergy gain (probe)")):
        rows.extend(("unique information", f"{label} {key}", value)
                    for key, value in ranking.get(part, {}).items())
    for modality, stats in (analysis.get("compression") or {}).items():
        rows.append(("compression", f"KL {modality} nats", stats["kl"]))
        rows.append(("compression", f"active dims {modality} (of {stats['dims']})", float(stats["active_dims"])))
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
    redundancy = analysis.get("redundancy", {})
    if redundancy:
        frame = pd.DataFrame({
            "MINE I (nats)": [f"{e['mine']['mean']:.3f} ± {e['mine']['std']:.3f}" if e.get("mine") else "skipped"
                              for e in redundancy.values()],
            "linear CKA": [f"{e['cka']:.3f}" for e in redundancy.values()],
        }, index=list(redundancy))
        parts.append(_section("Redundancy between modality representations (MINE on held-out items)", frame))
    ranking = analysis.get("ranking")
    if ranking:
        rows = {f"{m} alone": v for m, v in ranking["modalities"].items()}
        rows["fused (run's score)"] = ranking["fused"]
        rows["fused (ridge probe)"] = ranking["fused_probe"]
        rows["synergy gain"] = ranking["synergy_gain"]
        rows["synergy gain (probe)"] = ranking["synergy_gain_probe"]
        parts.append(_section("Unique information: valid ranking from each representation",
                              pd.DataFrame(rows).T))
    compression = analysis.get("compression")
    if compression:
        frame = pd.DataFrame({"KL (nats)": [f"{s['kl']:.3f}" for s in compression.values()],
                              "active dims": [f"{s['active_dims']} / {s['dims']}" for s in compression.values()]},
                             index=list(compression))
        threshold = analysis.get("settings", {}).get("active_threshold", 0.5)
        parts.append(_section(f"Compression (active: mean posterior variance < {threshold})", frame))
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
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items() if k != "total")
    parts.append(f"Seconds: {timing}")
    return "\n\n".join(parts)
