"""Final model: which pool and how many rounds for greedy ensemble selection (final.ensemble)?

Run on the results of a finished `make run` (its search metrics, features and data), here or in
another clone, without touching that clone's code:

    .venv/bin/python benchmarks/bench_final_selection.py --results /work/bench2/results \
        --candidates 1 3 5 10 20 --rounds 10 25 50 100

The top max(--candidates) search candidates by validation accuracy are retrained once with their
search seeds (hhnas.final.build.retrained_members: the final job's code) and TF-IDF + logistic
regression is fitted once on the training split (C from comparison.tfidf_c_grid, on
validation). Then, for every setting, the final job's own choice (hhnas.final.build
.choose_ensemble) gives the ensemble: method mean over the top k, and method greedy over the top
k with and without TF-IDF, for each number of rounds. Each row prints validation and test
accuracy; the setting with the highest validation accuracy is marked (ties: fewer candidates,
then fewer rounds, then without TF-IDF: the cheaper model). Test accuracy is printed, never
used.

The greedy selection climbs on validation, so the validation accuracy of what it picks is
optimistic, the more so the larger the pool: choosing the pool size by it favours the largest.
Each row therefore also prints "val CV": the selection run on one half of the validation
questions and scored on the other half, both ways, over --splits random halvings (seeded), the
mean accuracy on the halves it did not see. The setting with the highest val CV is marked as
well; that is the fair way to pick a pool size and rounds (the pool's ranking and TF-IDF's C
still see all of validation, a smaller optimism shared by every row).
"""

from __future__ import annotations

import argparse
import glob
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default=str(ROOT / "results"), help="a finished run's results/")
    ap.add_argument("--dataset", default="spider")
    ap.add_argument("--candidates", type=int, nargs="+", default=[1, 3, 5, 10, 20])
    ap.add_argument("--rounds", type=int, nargs="+", default=[10, 25, 50, 100])
    ap.add_argument("--config", nargs="*", default=[], help="config files over config.yaml")
    ap.add_argument("--splits", type=int, default=10, help="random halvings of validation")
    args = ap.parse_args()

    from hhnas.config import load, merged
    from hhnas.config.job import FinalJobConfig
    from hhnas.data.prepare import read_dataset
    from hhnas.final.build import choose_ensemble, retrained_members
    from hhnas.final.ensemble_selection import ensemble_weights
    from hhnas.final.evaluation import topk_accuracy
    from hhnas.final.inference import weighted_mean
    from hhnas.final.lexical import fit_lexical
    from hhnas.final.selection import select_candidates
    from hhnas.jobs.iteration import load_features

    cfg = load(merged(ROOT / "config" / "config.yaml", *args.config))
    d = args.dataset
    base = Path(args.results) / d
    variant = cfg.variant_dir.get(cfg.main_variant, cfg.main_variant)
    metrics = sorted(glob.glob(str(base / "search" / variant / "exp*" / "metrics_*.json")))
    inputs = {
        "rows": str(base / "data" / "dataset.jsonl"),
        "classes": str(base / "data" / "classes.json"),
        "backbone": str(base / "features" / "backbone.npy"),
        "llm": str(base / "features" / "llm.npy"),
        "linking": str(base / "features" / "linking.npy"),
    }
    fj = FinalJobConfig.from_mapping(cfg.final_job_config(d))
    print(f"{d}: {len(metrics)} candidates of the main search ({variant}) in {base}", flush=True)
    fs = load_features(inputs, with_backbone=True)
    labels = {s: fs.y[s].numpy() for s in ("val", "test")}
    top = select_candidates(metrics, max(args.candidates))
    start = time.perf_counter()
    models, members, probs = retrained_members(
        top, fs, fj.search, fj.training, d, progress=lambda _m: None
    )
    print(
        f"retrained {len(models)} candidates in {time.perf_counter() - start:.0f} s; all "
        f"reproduce the search: {all(m['reproduced'] for m in members)}",
        flush=True,
    )
    texts = [r["text"] for r in read_dataset(inputs["rows"])]
    start = time.perf_counter()
    lexical = fit_lexical(
        texts,
        fs.rows,
        {s: fs.y[s].numpy() for s in ("train", "val")},
        fs.n_classes,
        fj.final.tfidf_c_grid,
        fj.search.seed,
        fj.final.threads,
    )
    lex = (lexical, {s: lexical.probabilities([texts[i] for i in fs.rows[s]]) for s in labels})
    alone = {s: 100 * topk_accuracy(lex[1][s], labels[s], 1) for s in labels}
    print(
        f"TF-IDF + LR: C = {lexical.c:g}, val {alone['val']:.2f} test {alone['test']:.2f} "
        f"({time.perf_counter() - start:.0f} s)",
        flush=True,
    )

    rng = np.random.default_rng(0)
    n_val = len(labels["val"])
    halves = []
    for _ in range(args.splits):
        order = rng.permutation(n_val)
        a, b = np.sort(order[: n_val // 2]), np.sort(order[n_val // 2 :])
        halves += [(a, b), (b, a)]

    def val_cv(pool: list[np.ndarray], method: str, rounds: int) -> float:
        """Mean accuracy on the unseen half of validation, the weights chosen on the other."""
        scores = []
        for fit, held in halves:
            fit_probs = [p[fit] for p in pool]
            weights, _ = ensemble_weights(method, fit_probs, labels["val"][fit], rounds)
            keep = [i for i, w in enumerate(weights) if w > 0]
            mix = weighted_mean([pool[i][held] for i in keep], [weights[i] for i in keep])
            scores.append(topk_accuracy(mix, labels["val"][held], 1))
        return float(np.mean(scores))

    rows = []
    for k in args.candidates:
        sub = (models[:k], members[:k], probs[:k])
        settings = [("mean", None, False)] + [
            ("greedy", r, t) for t in (False, True) for r in args.rounds
        ]
        for method, rounds, tfidf in settings:
            chosen = choose_ensemble(*sub, lex if tfidf else None, labels, method, rounds or 1)
            acc = {s: topk_accuracy(chosen.probs[s], labels[s], 1) for s in labels}
            lexw = chosen.lexical_record["weight"] if chosen.lexical_record else 0.0
            pool = [p["val"] for p in probs[:k]] + ([lex[1]["val"]] if tfidf else [])
            rows.append(
                {
                    "k": k,
                    "method": method,
                    "rounds": rounds,
                    "tfidf": tfidf,
                    "val": acc["val"],
                    "val_cv": val_cv(pool, method, rounds or 1),
                    "test": acc["test"],
                    "members": len(chosen.members),
                    "tfidf_weight": lexw,
                }
            )

    def cheaper(r: dict) -> tuple:
        return (r["k"], r["rounds"] or 0, r["tfidf"], r["method"])

    best = min(rows, key=lambda r: (-r["val"], *cheaper(r)))
    best_cv = min(rows, key=lambda r: (-r["val_cv"], *cheaper(r)))
    print(
        "| candidates | method | rounds | TF-IDF | val (%) | val CV (%) | test (%) | members "
        "| TF-IDF weight |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mark = " **(highest val)**" if r is best else ""
        mark += " **(highest val CV)**" if r is best_cv else ""
        print(
            f"| {r['k']} | {r['method']} | {r['rounds'] or '-'} | {'yes' if r['tfidf'] else 'no'} "
            f"| {100 * r['val']:.2f} | {100 * r['val_cv']:.2f} | {100 * r['test']:.2f} "
            f"| {r['members']} "
            f"| {r['tfidf_weight']:.2f} |{mark}",
            flush=True,
        )


if __name__ == "__main__":
    main()
