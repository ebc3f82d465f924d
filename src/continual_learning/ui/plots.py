"""Charts saved as PNG (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def forgetting_curve(records: Sequence[Any], path: Path) -> None:
    """Anchor perplexity before and after every refresh cycle, and the KRS after it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cycles = [r.index for r in records]
    figure, (ppl, krs) = plt.subplots(1, 2, figsize=(11, 4))
    ppl.plot(cycles, [r.anchor_before for r in records], marker="o", label="before the cycle")
    ppl.plot(cycles, [r.anchor_after for r in records], marker="o", label="after the cycle")
    for r in records:
        if r.rolled_back:
            ppl.annotate("rolled back", (r.index, r.anchor_after), fontsize=8, color="red")
    ppl.set_xlabel("cycle")
    ppl.set_ylabel("anchor perplexity")
    ppl.set_title("Forgetting: anchor perplexity")
    ppl.legend()
    krs.plot(cycles, [r.krs for r in records], marker="o", color="green")
    krs.set_ylim(0, 105)
    krs.set_xlabel("cycle")
    krs.set_ylabel("KRS")
    krs.set_title("Knowledge retention score")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
