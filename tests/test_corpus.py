"""The labelled corpus: every positive found where expected, no hard negative reported."""

from __future__ import annotations

import pytest

from kimi_secret_scan.content import Content
from kimi_secret_scan.windows import detect_all as detect
from tests.corpus import Case, evaluate, negatives, positives
from tests.corpus_containers import container_negatives, container_positives

POSITIVES = positives() + container_positives()
NEGATIVES = negatives() + container_negatives()


def test_corpus_is_large_enough() -> None:
    assert len(POSITIVES) >= 60
    assert len(NEGATIVES) >= 60
    assert len({c.name for c in POSITIVES + NEGATIVES}) == len(POSITIVES) + len(NEGATIVES)


@pytest.mark.parametrize("case", POSITIVES, ids=lambda c: c.name)
def test_positive_found(case: Case) -> None:
    outcome = evaluate(case, detect(Content(path=case.path, data=case.data)))
    assert not outcome.missed, [(m.rule, m.line, m.column, m.encoding) for m in outcome.missed]
    assert not outcome.wrong


@pytest.mark.parametrize("case", NEGATIVES, ids=lambda c: c.name)
def test_negative_not_reported(case: Case) -> None:
    outcome = evaluate(case, detect(Content(path=case.path, data=case.data)))
    assert not outcome.wrong
