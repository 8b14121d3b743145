"""The final model's lexical member: TF-IDF word and character n-grams + logistic regression
(hhnas.baselines.tfidf, C chosen on validation), saved without pickle.

A pickled scikit-learn object runs code when it is loaded and is tied to the library version
that wrote it. The directory holds data instead: ``lexical.json`` (each vectorizer's settings and
its vocabulary, terms in column order) and ``lexical.npz`` (each vectorizer's idf vector, the
regression's coefficients, intercepts and classes). Reading rebuilds the vectorizers with their
fixed vocabularies and idf vectors, and the probabilities are computed here as scikit-learn's
``predict_proba`` computes them (tests/test_final_lexical.py checks the bits), so `hhnas predict`
gives the probabilities the final job recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from hhnas.baselines.tfidf import TfidfFeatures, TfidfFit, fit_tfidf
from hhnas.io import read_json, write_json, write_npz

KIND = "tfidf-lr"
JSON_FILE = "lexical.json"
ARRAYS_FILE = "lexical.npz"
FILES = (JSON_FILE, ARRAYS_FILE)
VECTORIZERS = ("word", "char")
# What a vectorizer's transform depends on, saved and passed back; every other setting must be
# scikit-learn's default (checked when saving), so that nothing else needs saving.
TRANSFORM_SETTINGS = (
    "analyzer",
    "binary",
    "lowercase",
    "ngram_range",
    "norm",
    "smooth_idf",
    "strip_accents",
    "sublinear_tf",
    "token_pattern",
    "use_idf",
)
# Settings of the fit alone (the vocabulary they made is saved): recorded, not passed back.
FIT_SETTINGS = ("min_df", "max_df")


def lr_probabilities(x: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray) -> np.ndarray:
    """scikit-learn's LogisticRegression.predict_proba from its arrays: the softmax of the
    decision function with more than two classes; with two (one row of coefficients) the
    logistic function of the one score, ``[1 - p, p]``."""
    from scipy.special import expit

    scores = np.asarray(x @ coef.T) + intercept
    if coef.shape[0] == 1:
        p = expit(scores.reshape(-1))
        return np.stack([1 - p, p], axis=1)
    # In place and in this order, as sklearn.utils.extmath.softmax: the same bits.
    scores -= scores.max(axis=1).reshape(-1, 1)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1).reshape(-1, 1)
    return scores


def _vectorizer_settings(vec: Any) -> dict[str, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = vec.get_params()
    defaults = TfidfVectorizer().get_params()
    other = sorted(
        k for k in params if k not in TRANSFORM_SETTINGS + FIT_SETTINGS and params[k] != defaults[k]
    )
    if other:
        raise ValueError(
            f"hhnas.baselines.tfidf.TfidfFeatures sets {other}, which the final model's "
            "directory does not save (hhnas.final.lexical.TRANSFORM_SETTINGS): add them there"
        )
    settings = {k: params[k] for k in TRANSFORM_SETTINGS + FIT_SETTINGS}
    settings["ngram_range"] = list(settings["ngram_range"])
    return settings


def _rebuilt_vectorizer(settings: dict[str, Any], vocabulary: list[str], idf: np.ndarray) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    kwargs = {k: settings[k] for k in TRANSFORM_SETTINGS}
    kwargs["ngram_range"] = tuple(kwargs["ngram_range"])
    vec = TfidfVectorizer(**kwargs, vocabulary={t: i for i, t in enumerate(vocabulary)})
    vec.idf_ = idf
    return vec


@dataclass(frozen=True)
class LexicalModel:
    """TF-IDF + logistic regression over ``n_classes`` dataset classes; ``classes``: the class
    of each coefficient row (a class without training rows has none, and probability 0)."""

    features: TfidfFeatures
    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    n_classes: int
    c: float

    @classmethod
    def from_fit(cls, fit: TfidfFit, n_classes: int) -> LexicalModel:
        m = fit.model
        return cls(
            fit.features,
            np.asarray(m.classes_, dtype=np.int64),
            np.asarray(m.coef_, dtype=np.float64),
            np.asarray(m.intercept_, dtype=np.float64),
            int(n_classes),
            float(fit.c),
        )

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """``[N, n_classes]`` float64 class probabilities."""
        out = np.zeros((len(texts), self.n_classes))
        if texts:
            x = self.features.transform(list(texts))
            out[:, self.classes] = lr_probabilities(x, self.coef, self.intercept)
        return out

    def write(self, directory: str | Path) -> None:
        """FILES into ``directory`` (through hhnas.io)."""
        root = Path(directory)
        vecs = {"word": self.features.word, "char": self.features.char}
        doc = {
            "kind": KIND,
            "C": self.c,
            "n_classes": self.n_classes,
            "vectorizers": {
                name: {
                    "settings": _vectorizer_settings(vec),
                    "vocabulary": [
                        t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])
                    ],
                }
                for name, vec in vecs.items()
            },
        }
        write_json(root / JSON_FILE, doc)
        write_npz(
            root / ARRAYS_FILE,
            **{f"{name}_idf": np.asarray(vec.idf_, dtype=np.float64) for name, vec in vecs.items()},
            coef=self.coef,
            intercept=self.intercept,
            classes=self.classes,
        )

    @classmethod
    def read(cls, directory: str | Path) -> LexicalModel:
        """The model :meth:`write` saved in ``directory``; a ValueError names what is wrong."""
        root = Path(directory)
        doc = read_json(root / JSON_FILE)
        if not isinstance(doc, dict) or doc.get("kind") != KIND:
            raise ValueError(f"{root / JSON_FILE}: not a {KIND} member (kind {doc.get('kind')!r})")
        arrays = dict(np.load(root / ARRAYS_FILE, allow_pickle=False))
        features = TfidfFeatures()
        for name in VECTORIZERS:
            spec = doc["vectorizers"][name]
            vec = _rebuilt_vectorizer(spec["settings"], spec["vocabulary"], arrays[f"{name}_idf"])
            setattr(features, name, vec)
        return cls(
            features,
            arrays["classes"].astype(np.int64),
            arrays["coef"],
            arrays["intercept"],
            int(doc["n_classes"]),
            float(doc["C"]),
        )


def fit_lexical(
    texts: list[str],
    rows: dict[str, np.ndarray],
    labels: dict[str, np.ndarray],
    n_classes: int,
    grid: tuple[float, ...],
    seed: int,
    threads: int = 1,
) -> LexicalModel:
    """Fitted on the training rows, C chosen by validation accuracy (``labels``: train and val
    only). ``grid``: `comparison.tfidf_c_grid`."""
    if not grid or any(not c > 0 for c in grid):
        raise ValueError(f"comparison.tfidf_c_grid must be a non-empty list of C > 0, got {grid}")
    fit = fit_tfidf(
        [texts[i] for i in rows["train"]],
        labels["train"],
        [texts[i] for i in rows["val"]],
        labels["val"],
        list(grid),
        seed,
        threads,
    )
    return LexicalModel.from_fit(fit, n_classes)
