"""The final model's TF-IDF member (hhnas.final.lexical): saved as JSON and npz, read back into
vectorizers and arrays that give scikit-learn's own probabilities, bit for bit."""

import json

import numpy as np
import pytest

from hhnas.final.lexical import FILES, LexicalModel, fit_lexical, lr_probabilities

TOPICS = {
    0: ["how many singers are there", "list the singers by age", "which singer is oldest"],
    1: ["show all flights from boston", "how many flights land in denver", "list flight numbers"],
    2: ["name the cars with most horsepower", "how many car makers", "list car models by year"],
}


def _data(classes=(0, 1, 2), copies=4):
    """Paraphrases of each class's questions; the splits take every copy in turn."""
    texts, labels, splits = [], [], []
    for c in classes:
        for i in range(copies):
            for q in TOPICS[c]:
                texts.append(f"{q} please" if i % 2 else q)
                labels.append(c)
                splits.append(("train", "train", "val", "test")[i % 4])
    y = np.asarray(labels)
    s = np.asarray(splits)
    rows = {k: np.flatnonzero(s == k) for k in ("train", "val", "test")}
    return texts, rows, y


def _fit(classes=(0, 1, 2), n_classes=3):
    texts, rows, y = _data(classes)
    model = fit_lexical(
        texts, rows, {s: y[rows[s]] for s in ("train", "val")}, n_classes, (1.0, 10.0), 0
    )
    return model, texts, rows


def _sklearn(model, texts):
    """The fitted LogisticRegression's predict_proba on the same features."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression()
    lr.classes_, lr.coef_, lr.intercept_ = model.classes, model.coef, model.intercept
    lr.n_features_in_ = model.coef.shape[1]
    return lr.predict_proba(model.features.transform(texts))


@pytest.mark.parametrize("classes", [(0, 1, 2), (0, 2)], ids=["multinomial", "binary"])
def test_probabilities_equal_scikit_learns_bit_for_bit(classes):
    model, texts, rows = _fit(classes)
    test = [texts[i] for i in rows["test"]]
    ours = model.probabilities(test)
    theirs = _sklearn(model, test)
    assert ours.shape == (len(test), 3)
    np.testing.assert_array_equal(ours[:, model.classes], theirs)
    # A class without training rows gets probability 0.
    absent = sorted({0, 1, 2} - set(classes))
    assert (ours[:, absent] == 0).all()


def test_the_fitted_model_s_own_predict_proba_is_matched():
    """Against the estimator fit_tfidf fitted itself, not one rebuilt from its arrays."""
    from hhnas.baselines.tfidf import fit_tfidf

    texts, rows, y = _data()
    fit = fit_tfidf(
        [texts[i] for i in rows["train"]],
        y[rows["train"]],
        [texts[i] for i in rows["val"]],
        y[rows["val"]],
        [10.0],
        0,
    )
    x = fit.features.transform([texts[i] for i in rows["test"]])
    np.testing.assert_array_equal(
        lr_probabilities(x, fit.model.coef_, fit.model.intercept_), fit.model.predict_proba(x)
    )


def test_written_and_read_back_it_predicts_the_same_bits(tmp_path):
    model, texts, _ = _fit()
    model.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    doc = json.loads((tmp_path / "lexical.json").read_text())
    assert doc["kind"] == "tfidf-lr" and doc["C"] == model.c
    assert doc["vectorizers"]["char"]["settings"]["analyzer"] == "char_wb"
    assert doc["vectorizers"]["word"]["settings"]["ngram_range"] == [1, 2]
    # No pickled object anywhere: every array loads with pickles refused.
    assert set(np.load(tmp_path / "lexical.npz", allow_pickle=False)) == {
        "word_idf",
        "char_idf",
        "coef",
        "intercept",
        "classes",
    }
    back = LexicalModel.read(tmp_path)
    new = ["how many singers", "flights to boston", "an unseen question entirely", ""]
    np.testing.assert_array_equal(back.probabilities(texts), model.probabilities(texts))
    np.testing.assert_array_equal(back.probabilities(new), model.probabilities(new))
    assert back.probabilities([]).shape == (0, 3)


def test_a_setting_the_directory_would_not_save_is_refused(tmp_path):
    model, _, _ = _fit()
    model.features.word.set_params(stop_words="english")
    with pytest.raises(ValueError, match=r"sets \['stop_words'\].*TRANSFORM_SETTINGS"):
        model.write(tmp_path)


def test_a_bad_grid_is_named():
    texts, rows, y = _data()
    with pytest.raises(ValueError, match="comparison.tfidf_c_grid"):
        fit_lexical(texts, rows, {s: y[rows[s]] for s in ("train", "val")}, 3, (0.0,), 0)
