"""`datasets.<name>.max_train_per_class`: at most N training rows per class after the split,
validation and test untouched, the dropped rows counted."""

from __future__ import annotations

from pathlib import Path

from hhnas.data.prepare import build_dataset, cap_train_rows


def test_cap_keeps_val_and_test_and_at_most_n_train_rows():
    labels = [0, 0, 0, 1, 1, 0, 1]
    parts = ["train", "train", "train", "train", "val", "test", "test"]
    rows = [{"i": i} for i in range(len(labels))]
    kept, lab, par = cap_train_rows(rows, labels, parts, 2, seed=0)
    ids = [r["i"] for r in kept]
    # Class 0 keeps 2 of its 3 training rows; class 1's single one, and every val/test row stay.
    assert sum(1 for i in ids if parts[i] == "train" and labels[i] == 0) == 2
    assert {3, 4, 5, 6} <= set(ids)
    assert len(ids) == 6
    assert ids == sorted(ids)  # order kept
    assert lab == [labels[i] for i in ids] and par == [parts[i] for i in ids]
    # Seeded: the same draw every time, another seed may differ.
    assert cap_train_rows(rows, labels, parts, 2, seed=0)[0] == kept


def test_cap_above_the_class_sizes_changes_nothing():
    labels, parts = [0, 0, 1], ["train", "val", "train"]
    rows = [{"i": i} for i in range(3)]
    assert cap_train_rows(rows, labels, parts, 5, seed=1)[0] == rows


def test_build_dataset_counts_the_capped_rows(tmp_path: Path):
    lines = ["text,label,split"]
    for c in ("a", "b"):
        lines += [f"q{i} {c},{c},train" for i in range(6)]
        lines += [f"v{i} {c},{c},val" for i in range(2)] + [f"t{i} {c},{c},test" for i in range(3)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = {
        "format": "csv",
        "text_column": "text",
        "label_column": "label",
        "path": str(path),
        "min_questions_per_class": 3,
        "split_column": "split",
        "max_train_per_class": 4,
    }
    data = {"spider_dir": "", "split_seed": 0, "split": {"train": 0.7, "val": 0.15, "test": 0.15}}
    built = build_dataset("toy", spec, data)
    c = built["counts"]
    assert (c["train"], c["val"], c["test"]) == (8, 4, 6)
    assert c["rows_dropped_max_train_per_class"] == 4
    assert c["rows_dropped_max_per_class"] == 0
    assert c["rows_raw"] == c["rows"] + c["rows_dropped_max_train_per_class"] == 22
    assert [r["id"] for r in built["records"]] == list(range(18))
    # Without the key the counts keep their earlier keys only.
    del spec["max_train_per_class"]
    assert "rows_dropped_max_train_per_class" not in build_dataset("toy", spec, data)["counts"]
