"""What each MRdIB term targets: the analysis quantities (keys of a dose-response row, measured by
`mrdib analyze`) that its alpha should move, and the direction the paper says they move in as
the alpha grows. The dose-response check judges them; its figure draws them."""

from __future__ import annotations

from dataclasses import dataclass

TERMS = ("a1", "a2", "a3")
TERM_TITLES = {"a1": "α1 (KL compression)", "a2": "α2 (MINE redundancy)", "a3": "α3 (unique BPR)"}


@dataclass(frozen=True)
class Target:
    """A quantity a term acts on, and the direction the paper says it should move as alpha grows."""

    column: str
    label: str
    direction: str  # "down" | "up"
    primary: bool = True  # primary targets decide the verdict


# Shown beside a term's targets in its table, never judged: the estimator's zero.
CONTROLS: dict[str, tuple[str, ...]] = {"a1": (), "a2": ("mine_shuffled_samples",), "a3": ()}
# Per term what it targets, in the order the table and figure show them.
TARGETS: dict[str, tuple[Target, ...]] = {
    "a1": (Target("mean_log_var", "mean posterior log-variance", "up"),
           Target("noise_probe_samples", "planted-noise probe R² (sample)", "down"),
           Target("channel_information", "channel information I(X;Z) per modality (nats)", "down", primary=False)),
    "a2": (Target("mi_gaussian_samples", "Gaussian MI between modalities (sample, nats)", "down"),
           Target("mine_samples", "MINE between modalities (sample, nats)", "down", primary=False),
           Target("mi_gaussian_means", "Gaussian MI between modalities (means, nats)", "down", primary=False),
           Target("pid_redundant", "PID: redundant information about interaction (bits)", "down", primary=False)),
    "a3": (Target("standalone_samples", "standalone recall (sample, mean over modalities)", "up"),
           Target("standalone_means", "standalone recall (means, mean over modalities)", "up", primary=False),
           Target("pid_unique", "PID: unique information about interaction (bits, mean of the two)", "up",
                  primary=False)),
}
