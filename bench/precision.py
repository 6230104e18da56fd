"""Precision and recall per rule on the labelled corpus (tests/corpus.py).

    python bench/precision.py [--seeds N]

The corpus is generated at run time; each seed gives a different set of keys in the same
leak shapes, so several seeds also exercise the randomness thresholds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kimi_secret_scan.content import Content
from kimi_secret_scan.windows import detect_all as detect  # detect(), and inside containers
from tests.corpus import Outcome, Tally, evaluate, negatives, positives, tally
from tests.corpus_containers import container_negatives, container_positives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="corpora to generate (default 1)")
    args = parser.parse_args()
    outcomes: list[Outcome] = []
    started = time.perf_counter()
    n_pos = n_neg = n_bytes = 0
    for seed in range(args.seeds):
        pos = positives(6 + seed * 1000) + container_positives(6 + seed * 1000)
        neg = negatives(60 + seed * 1000) + container_negatives(60 + seed * 1000)
        n_pos, n_neg = n_pos + len(pos), n_neg + len(neg)
        for case in pos + neg:
            n_bytes += len(case.data)
            outcomes.append(evaluate(case, detect(Content(path=case.path, data=case.data))))
    elapsed = time.perf_counter() - started
    per_rule = tally(outcomes)
    total = Tally(
        sum(t.true_positives for t in per_rule.values()),
        sum(t.false_positives for t in per_rule.values()),
        sum(t.false_negatives for t in per_rule.values()),
    )
    print(
        f"corpus: {n_pos} positive cases, {n_neg} hard negatives, {n_bytes / 1e6:.1f} MB, "
        f"{args.seeds} seed(s), scanned in {elapsed:.2f} s"
    )
    print(f"{'rule':<26} {'TP':>5} {'FP':>5} {'FN':>5} {'precision':>10} {'recall':>8}")
    for rule, t in [*sorted(per_rule.items()), ("all", total)]:
        print(
            f"{rule:<26} {t.true_positives:>5} {t.false_positives:>5} {t.false_negatives:>5} "
            f"{t.precision:>10.1%} {t.recall:>8.1%}"
        )
    for outcome in outcomes:
        for want in outcome.missed:
            print(f"missed: {outcome.case.name} ({want.rule} at line {want.line})")
        for text in outcome.wrong:
            print(f"false positive: {outcome.case.name}: {text}")


if __name__ == "__main__":
    main()
