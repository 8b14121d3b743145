"""Plain baselines: hand-checkable accuracies on a toy dataset, and the test split scored once."""

import copy
import json

import numpy as np
import pytest

from hhnas.baselines import BASELINES, evaluation, run_baseline
from hhnas.baselines.data import HIDDEN, load_splits
from hhnas.baselines.evaluation import Selection, score_test
from hhnas.config import Training
from hhnas.features.schema_linking import LINKING_CHANNELS
from hhnas.training.candidate import train_candidate
from hhnas.training.data import build_feature_set

# Three databases with disjoint vocabularies: four nouns each, three question templates each.
NOUNS = (
    ("farm", "horse", "barn", "cattle"),
    ("singer", "concert", "song", "stage"),
    ("flight", "airport", "airline", "pilot"),
)
TEMPLATES = ("how many {} records are there", "list every {} by name", "show the oldest {}")
# Per class: the first two templates (every noun twice) train, the third one val and test.
SPLIT_OF = ["train"] * 8 + ["val"] * 2 + ["test"] * 2
IDF = LINKING_CHANNELS.index("idf_coverage")
TABLE = LINKING_CHANNELS.index("table_token_frac")


def _records() -> list[dict]:
    rows = []
    for label, nouns in enumerate(NOUNS):
        questions = [t.format(n) for t in TEMPLATES for n in nouns]
        for text, split in zip(questions, SPLIT_OF, strict=True):
            rows.append({"text": text, "label": label, "split": split})
    return [{"id": i, **r} for i, r in enumerate(rows)]


def _rule(records: list[dict]) -> np.ndarray:
    """idf_coverage: 1.0 at the true class, except crafted misses; table_token_frac: always 0."""
    linking = np.zeros((len(records), len(LINKING_CHANNELS), 3), dtype=np.float32)
    linking[:, TABLE, 0] = 1.0
    first = {}  # (split, label) -> row of the first such question
    for i, r in enumerate(records):
        linking[i, IDF, r["label"]] = 1.0
        first.setdefault((r["split"], r["label"]), i)
    # val: 4 of 6 right. A class-1 question matching nothing (all zeros -> class 0) and a
    # class-2 question scored higher for class 1.
    linking[first["val", 1], IDF] = 0.0
    linking[first["val", 2], IDF] = [0.0, 0.9, 0.4]
    # test: 5 of 6 right. A class-2 question tied between classes 1 and 2 (-> 1, wrong) and a
    # class-0 question tied between classes 0 and 2 (-> 0, right).
    linking[first["test", 2], IDF] = [0.0, 0.5, 0.5]
    linking[first["test", 0], IDF] = [0.5, 0.0, 0.5]
    return linking


def _write(tmp_path, records: list[dict]) -> dict[str, str]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = {k: str(tmp_path / f"{k}.npy") for k in ("llm", "linking", "backbone")}
    paths["rows"] = str(tmp_path / "dataset.jsonl")
    paths["classes"] = str(tmp_path / "classes.json")
    with open(paths["rows"], "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    with open(paths["classes"], "w") as fh:
        json.dump({"classes": ["farm_1", "concert_1", "flight_1"], "schemas": [None] * 3}, fh)
    rng = np.random.default_rng(0)
    labels = np.array([r["label"] for r in records])
    backbone = rng.normal(size=(len(records), 8)).astype(np.float32)
    backbone[np.arange(len(records)), labels] += 2.0  # a weak class signal
    np.save(paths["backbone"], backbone)
    np.save(paths["llm"], rng.normal(size=(len(records), 2, 3)).astype(np.float32))
    np.save(paths["linking"], _rule(records))
    return paths


def _shuffled_test_labels(records: list[dict]) -> list[dict]:
    """The same dataset with every test question given another class (a derangement)."""
    return [
        {**r, "label": (r["label"] + 1) % 3} if r["split"] == "test" else dict(r) for r in records
    ]


@pytest.fixture
def toy(tmp_path) -> dict[str, str]:
    return _write(tmp_path / "toy", _records())


@pytest.fixture
def cfg(config) -> dict:
    cfg = copy.deepcopy(config)
    cfg["training"].update(epochs=4, batch_size=8, cnn_filters=2, threads=1)
    cfg["comparison"] = {"tfidf_c_grid": [10.0, 1.0], "linking_channel": "idf_coverage"}
    return cfg


@pytest.fixture
def spy(monkeypatch) -> list[float]:
    """Records every call of score_test (and still scores)."""
    calls: list[float] = []
    real = evaluation.score_test

    def counting(selection, test):
        calls.append(real(selection, test))
        return calls[-1]

    monkeypatch.setattr(evaluation, "score_test", counting)
    return calls


# ------------------------------------------------------------------ hand-checked scores


def test_linking_argmax_scores_the_crafted_channel(toy, cfg, spy) -> None:
    res = run_baseline("linking-argmax", toy, cfg, seed=0)
    assert res["selected"] == {"channel": "idf_coverage"}
    assert res["val_acc"] == pytest.approx(4 / 6)
    assert res["test_acc"] == pytest.approx(5 / 6)  # the 1-vs-2 tie goes to class 1
    assert (res["n_train"], res["n_val"], res["n_test"]) == (24, 6, 6)
    assert res["details"]["val_tied_rows"] == 1  # the all-zero row
    assert len(spy) == 1


def test_linking_channel_comes_from_the_config(toy, cfg) -> None:
    cfg["comparison"]["linking_channel"] = "table_token_frac"  # always class 0
    res = run_baseline("linking-argmax", toy, cfg, seed=0)
    assert res["val_acc"] == pytest.approx(1 / 3)
    assert res["test_acc"] == pytest.approx(1 / 3)
    cfg["comparison"]["linking_channel"] = "nope"
    with pytest.raises(ValueError, match="idf_coverage"):
        run_baseline("linking-argmax", toy, cfg, seed=0)


def test_tfidf_lr_separates_disjoint_vocabularies(toy, cfg, spy) -> None:
    res = run_baseline("tfidf-lr", toy, cfg, seed=0)
    assert res["val_acc"] == 1.0 and res["test_acc"] == 1.0
    assert res["details"]["val_by_c"] == {"10.0": 1.0, "1.0": 1.0}
    assert res["selected"] == {"C": 1.0}  # a validation tie goes to the smaller C
    assert len(spy) == 1


def test_model1_default_reports_its_best_validation_epoch(toy, cfg, spy) -> None:
    res = run_baseline("model1-default", toy, cfg, seed=0)
    curve = res["details"]["val_by_epoch"]
    assert len(curve) == 4
    assert res["val_acc"] == max(curve)
    assert res["selected"]["best_epoch"] == curve.index(max(curve)) + 1  # first best epoch
    assert res["selected"]["macro"] == [1, 0, 0]
    assert res["selected"]["params"]["layer_size1"] == 256  # the search space's initial value
    assert len(spy) == 1
    # The same numbers as one direct train_candidate call on the full split.
    records = _records()
    fs = build_feature_set(
        [r["split"] for r in records],
        [r["label"] for r in records],
        3,
        *(np.load(toy[k]) for k in ("backbone", "llm", "linking")),
    )
    tc = Training.from_mapping(cfg["training"])
    direct = train_candidate([1, 0, 0], res["selected"]["params"], fs, tc, seed=0)
    assert res["val_acc"] == direct["val_acc"]
    assert res["test_acc"] == direct["test_acc"]
    assert res["selected"]["best_epoch"] == direct["best_epoch"]


# ------------------------------------------------------------------ the test split, once


@pytest.mark.parametrize("name", BASELINES)
def test_selection_is_blind_to_test_labels(name, toy, tmp_path, cfg, spy) -> None:
    shuffled = _write(tmp_path / "shuffled", _shuffled_test_labels(_records()))
    a = run_baseline(name, toy, cfg, seed=0)
    b = run_baseline(name, shuffled, cfg, seed=0)
    assert len(spy) == 2  # once per run
    assert a["selected"] == b["selected"]
    assert a["val_acc"] == b["val_acc"]
    timeless = lambda d: {k: v for k, v in d.items() if not k.endswith("seconds")}  # noqa: E731
    assert timeless(a["details"]) == timeless(b["details"])


def test_tfidf_test_accuracy_does_follow_the_test_labels(toy, tmp_path, cfg) -> None:
    shuffled = _write(tmp_path / "shuffled", _shuffled_test_labels(_records()))
    assert run_baseline("tfidf-lr", shuffled, cfg, seed=0)["test_acc"] == 0.0


def test_model_selection_gets_no_test_labels(toy) -> None:
    dev, test = load_splits(toy)
    assert (dev.labels[dev.splits == "test"] == HIDDEN).all()
    assert (dev.labels[dev.splits != "test"] >= 0).all()
    with pytest.raises(ValueError, match="not available"):
        dev.y("test")
    assert test.labels.tolist() == [0, 0, 1, 1, 2, 2]


def test_a_selection_is_scored_at_most_once(toy) -> None:
    _, test = load_splits(toy)
    sel = Selection(selected={}, val_acc=1.0, scorer=lambda t: 0.5)
    assert score_test(sel, test) == 0.5
    with pytest.raises(RuntimeError, match="already scored"):
        score_test(sel, test)


def test_unknown_baseline_lists_the_allowed_names(toy, cfg) -> None:
    with pytest.raises(ValueError, match="tfidf-lr, linking-argmax, model1-default"):
        run_baseline("svm", toy, cfg, seed=0)


def test_tfidf_threads_do_not_change_the_result(toy, cfg) -> None:
    one = run_baseline("tfidf-lr", toy, cfg, seed=0, threads=1)
    two = run_baseline("tfidf-lr", toy, cfg, seed=0, threads=2)
    for key in ("selected", "val_acc", "test_acc"):
        assert one[key] == two[key]
    assert one["details"]["val_by_c"] == two["details"]["val_by_c"]
