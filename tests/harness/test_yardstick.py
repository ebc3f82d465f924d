"""The knowledge-editing yardstick on the real model: paraphrases and neighbours of a shipped
document asked beside its facts, and locality measured against what closed-book answers."""

from __future__ import annotations

import dataclasses

import pytest

from continual_learning.core.backbone import Backbone
from continual_learning.harness import compare, fictional_fact_inputs

from helpers import make_config

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def test_a_comparison_reports_paraphrases_and_locality(real_backbone: Backbone) -> None:
    shipped = fictional_fact_inputs(heldout=0)
    velmoria = shipped.documents[:1]
    inputs = dataclasses.replace(
        shipped,
        documents=velmoria,
        questions=tuple(q for q in shipped.questions if q.doc_id == "velmoria"),
        probes=shipped.probes_for(velmoria),
    )
    assert sorted({p.kind for p in inputs.probes}) == ["neighbour", "paraphrase"]
    config = make_config(generation={"max_new_tokens": 16})  # the neighbours' answers fit
    report = compare([], inputs, real_backbone, config)  # the baselines: the yardstick's plumbing
    rows = {r.label: r for r in report.engines}
    assert report.questions == 4  # the facts; the scores are theirs alone
    # The three Velmoria neighbours (Japan's capital and currency) are answered closed-book.
    assert rows["closed-book"].locality == 1.0 and rows["closed-book"].locality_neighbours == 3
    for row in rows.values():
        assert row.locality is not None and row.locality_interval is not None
        assert row.paraphrase_contains is not None
        assert {a.kind for a in row.answers} == {"fact", "paraphrase", "neighbour"}
    # Reading the document, in-context answers the facts in other words too.
    assert rows["in-context"].paraphrase_contains >= 0.5
