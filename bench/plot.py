"""The PNG: one answer's visible text and its staleness over time, for each edit policy."""

from __future__ import annotations

from pathlib import Path

from bench.metrics import delta_positions, staleness_curve
from bench.observe import Trace
from bench.scenarios import Outcome
from bench.spec import POLICIES

SAMPLE_S = 0.02
COLORS = {"time": "tab:blue", "every_delta": "tab:red", "every_20_deltas": "tab:orange"}


def traces_of(outcome: Outcome) -> dict[str, Trace]:
    """The traced answer of the single-answer run of each policy."""
    found: dict[str, Trace] = {}
    for policy in POLICIES:
        run = outcome.find("single", policy, 1)
        if run is not None and run.traces:
            found[policy] = run.traces[0]
    return found


def plot(outcome: Outcome, path: Path, title: str) -> bool:
    """Write the PNG; False when there is nothing to plot or matplotlib is not installed."""
    traces = traces_of(outcome)
    if not traces:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    figure, (chars, stale) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for policy, trace in traces.items():
        color = COLORS.get(policy, "tab:gray")
        if policy == "time" or len(traces) == 1:
            sent = delta_positions(trace.deltas)
            chars.step(
                [t - trace.sent_at for t, _ in trace.deltas],
                sent,
                where="post",
                color="black",
                linestyle=":",
                label="sent by Claude",
            )
        chars.step(
            [t - trace.sent_at for t, _ in trace.timeline],
            [shown for _, shown in trace.timeline],
            where="post",
            color=color,
            label=f"visible in Slack, {policy}",
        )
        end = max([t for t, _ in trace.timeline] + [t for t, _ in trace.deltas]) + 0.5
        curve = staleness_curve(trace.deltas, trace.timeline, trace.sent_at, end, SAMPLE_S)
        stale.plot([t for t, _ in curve], [age for _, age in curve], color=color, label=policy)
    chars.set_ylabel("answer characters (no whitespace)")
    chars.legend(loc="upper left", fontsize="small")
    chars.set_title(title)
    stale.axhline(1.5, color="gray", linestyle="--", linewidth=0.8, label="goal p95 ≤ 1.5 s")
    stale.set_ylabel("staleness (s): age of the oldest\nsent text not yet visible")
    stale.set_xlabel("seconds since the question's envelope")
    stale.legend(loc="upper left", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
