"""How much would a second opinion add to the final model? Its probabilities averaged with a TF-IDF
+ logistic regression's (the issue's lever: TF-IDF ranks the right database among its first
three for about 97 % of Spider's test questions).

Run after `make run` (reads results/<dataset>/analysis/final_probabilities.npz):

    .venv/bin/python benchmarks/bench_final_fusion.py --dataset spider

Fits TF-IDF (word 1-2 + char 2-5 grams) + logistic regression on the training split, C chosen on
validation from the comparison grid, then p = (1 - w) p_final + w p_tfidf for w in 0, 0.1, ..., 1,
and prints validation and test accuracy (top-1 and top-3) for each w, marking the w that
validation picks. A measurement, not a model the workflow saves.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="spider")
    args = ap.parse_args()

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from hhnas.baselines.tfidf import TfidfFeatures
    from hhnas.config.schema import section_defaults
    from hhnas.data.prepare import read_dataset
    from hhnas.final.evaluation import topk_accuracy

    base = ROOT / "results" / args.dataset
    rows = read_dataset(str(base / "data" / "dataset.jsonl"))
    z = np.load(base / "analysis" / "final_probabilities.npz")
    texts = np.asarray([r["text"] for r in rows], dtype=object)
    labels = np.asarray([r["label"] for r in rows])
    split = np.asarray([r["split"] for r in rows])
    n_classes = z["val_probs"].shape[1]
    train = np.flatnonzero(split == "train")
    feats = TfidfFeatures().fit(list(texts[train]))
    x = {s: feats.transform(list(texts[z[f"{s}_rows"]])) for s in ("val", "test")}
    x_train = feats.transform(list(texts[train]))
    best = None
    for c in section_defaults("comparison")["tfidf_c_grid"]:
        model = LogisticRegression(C=c, max_iter=1000).fit(x_train, labels[train])
        acc = (model.predict(x["val"]) == z["val_labels"]).mean()
        if best is None or acc > best[0]:
            best = (acc, c, model)
    _, c, model = best
    tfidf = {}
    for s in ("val", "test"):
        p = np.zeros((x[s].shape[0], n_classes))
        p[:, model.classes_] = model.predict_proba(x[s])
        tfidf[s] = p
    print(f"{args.dataset}: TF-IDF + LR with C = {c:g} (chosen on validation)")
    print("   w   val top-1  val top-3  test top-1  test top-3")
    results = []
    for w in np.linspace(0, 1, 11):
        row = [w]
        for s in ("val", "test"):
            p = (1 - w) * z[f"{s}_probs"] + w * tfidf[s]
            row += [topk_accuracy(p, z[f"{s}_labels"], k) for k in (1, 3)]
        results.append(row)
    pick = max(results, key=lambda r: (r[1], -r[0]))
    for r in results:
        mark = "  <- chosen on validation" if r is pick else ""
        print(
            f"{r[0]:4.1f}   {100 * r[1]:7.2f}  {100 * r[2]:9.2f}  {100 * r[3]:10.2f}  "
            f"{100 * r[4]:10.2f}{mark}"
        )


if __name__ == "__main__":
    main()
