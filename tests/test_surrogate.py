"""hhnas.study.surrogate: candidates, encoding, fidelity, sampling and importances of the
surrogate benchmark, on a synthetic ground truth over the real default search space."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import load_config
from sklearn.model_selection import KFold, cross_val_score

from hhnas.config.templates import model_number
from hhnas.io import write_json
from hhnas.search.space import BINARY, CONTINUOUS, MACRO_BITS, space_from_config
from hhnas.study.surrogate import (
    REGRESSORS,
    Surrogate,
    cross_validate,
    encode,
    encode_many,
    feature_names,
    load_candidates,
)

NOISE = {"val": 0.0, "test": 0.0}


@pytest.fixture(scope="module")
def space():
    return space_from_config(load_config()["search"])


def _truth(macro, params) -> float:
    """Accuracy driven by the learning rate, a little by p3 and SGD; kernel_size, layer sizes
    and dropout play no part."""
    lr = math.log10(params["learning_rate"]) + 3
    return 0.9 - 0.05 * lr**2 + 0.02 * macro[2] - 0.03 * (params["criterion_num"] == 1)


def _configs(space, n: int, seed: int) -> list[tuple[list[int], dict]]:
    """n configurations uniform over the space (learning_rate log-uniform)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        macro, params = list(space.macro_initial), dict(space.initial)
        for p in space.features:
            if p.type == BINARY:
                macro[MACRO_BITS.index(p.name)] = int(rng.integers(0, 2))
            elif p.type == CONTINUOUS:
                params[p.name] = p.from_unit(float(rng.random()))
            else:
                params[p.name] = p.choices[int(rng.integers(0, len(p.choices)))]
        out.append((macro, params))
    return out


def _candidates(space, n=400, seed=0, noise=0.005, fails=None) -> list[dict]:
    """Records as load_candidates returns them; `fails(macro, params)` marks failures."""
    rng = np.random.default_rng(seed + 1)
    out = []
    for macro, params in _configs(space, n, seed):
        failed = bool(fails and fails(macro, params))
        val = None if failed else _truth(macro, params) + noise * rng.standard_normal()
        test = None if failed else _truth(macro, params) - 0.01 + noise * rng.standard_normal()
        out.append(
            {
                "macro": macro,
                "params": params,
                "model": model_number(macro),
                "n": 1,
                "failed": float(failed),
                "val_acc": val,
                "test_acc": test,
                "n_params": None if failed else 1000.0,
            }
        )
    return out


@pytest.fixture(scope="module")
def cands(space):
    return _candidates(space)


@pytest.fixture(scope="module")
def surrogate(space, cands):
    return Surrogate.fit(cands, space, NOISE, seed=0)


# --- load_candidates -------------------------------------------------------------------------


def test_load_candidates_averages_repeats_in_first_seen_order(tmp_path):
    a = {"macro": [1, 0, 0], "params": {"learning_rate": 0.002, "kernel_size": 3}}
    b = {"macro": [1, 1, 0], "params": {"kernel_size": 3, "learning_rate": 0.002}}
    rows = [
        {**b, "model": 2, "status": "ok", "val_acc": 0.5, "test_acc": 0.4, "n_params": 10},
        {**a, "model": 1, "status": "ok", "val_acc": 0.8, "test_acc": 0.7, "n_params": 5},
        # b again, params in another key order: the same configuration
        {**b, "model": 2, "status": "failed", "val_acc": 0.0, "test_acc": 0.0, "n_params": None},
        {**b, "model": 2, "status": "ok", "val_acc": 0.7, "test_acc": 0.6, "n_params": 10},
        # a learning rate one ulp away is another configuration (floats compared exactly)
        {**a, "params": {"learning_rate": math.nextafter(0.002, 1), "kernel_size": 3},
         "model": 1, "status": "failed", "val_acc": 0.0, "test_acc": 0.0, "n_params": None},
    ]  # fmt: skip
    paths = []
    for i, r in enumerate(rows):
        write_json(tmp_path / f"m{i}.json", r)
        paths.append(str(tmp_path / f"m{i}.json"))
    got = load_candidates(paths)
    assert [c["macro"] for c in got] == [[1, 1, 0], [1, 0, 0], [1, 0, 0]]
    first, second, third = got
    assert first["n"] == 3 and first["failed"] == pytest.approx(1 / 3)
    assert first["val_acc"] == pytest.approx(0.6) and first["test_acc"] == pytest.approx(0.5)
    assert first["n_params"] == 10 and first["model"] == 2
    assert second == {
        "macro": [1, 0, 0],
        "params": a["params"],
        "model": 1,
        "n": 1,
        "failed": 0.0,
        "val_acc": 0.8,
        "test_acc": 0.7,
        "n_params": 5,
    }
    assert third["failed"] == 1.0 and third["val_acc"] is None and third["test_acc"] is None


# --- encoding --------------------------------------------------------------------------------


def test_encode_hand_checked(space):
    # Default space: p1 is immutable, so the bits are p2, p3.
    assert feature_names(space) == [
        "p2",
        "p3",
        "log10(learning_rate)",
        "criterion_num=0",
        "criterion_num=1",
        "criterion_num=2",
        "layer_size1",
        "layer_size2",
        "dropout_rate",
        "kernel_size",
    ]
    params = {
        "learning_rate": 1e-3,
        "criterion_num": 1,
        "layer_size1": 512,
        "layer_size2": 64,
        "dropout_rate": 0.25,
        "kernel_size": 5,
    }
    x = encode(space, [1, 0, 1], params)
    np.testing.assert_allclose(x, [0, 1, -3, 0, 1, 0, 512, 64, 0.25, 5])
    X = encode_many(space, [[1, 0, 1], [1, 1, 0]], [params, {**params, "criterion_num": 2}])
    assert X.shape == (2, 10)
    np.testing.assert_array_equal(X[0], x)
    np.testing.assert_array_equal(X[1, :6], [1, 0, -3, 0, 0, 1])
    assert encode_many(space, [], []).shape == (0, 10)
    with pytest.raises(ValueError, match="criterion_num"):
        encode(space, [1, 0, 1], {**params, "criterion_num": 7})


def test_encode_leaves_out_immutable_parameters(space):
    frozen = dataclasses.replace(
        space,
        params=tuple(
            dataclasses.replace(p, mutable=False) if p.name == "kernel_size" else p
            for p in space.params
        ),
    )
    assert "kernel_size" not in feature_names(frozen)
    assert len(feature_names(frozen)) == len(feature_names(space)) - 1


# --- fidelity --------------------------------------------------------------------------------


def test_fidelity_on_held_out_configurations(surrogate, cands):
    f = surrogate.fidelity
    assert f["n_candidates"] == len(cands) == f["n_ok"] and f["n_failed"] == 0
    assert f["n_holdout"] == 80 and f["n_train"] == 320
    for key in ("val", "test"):
        held = f["holdout"][key]
        assert held["r2"] > 0.8 and held["spearman"] > 0.8, (key, held)
        assert sum(m["n"] for m in held["per_model"].values()) == 80
        assert set(held["per_model"]) <= {"1", "2", "3", "4"}
    assert f["failure_model"] == "constant" and surrogate.p_fail_const == 0.0
    assert set(f["cv"]) == set(REGRESSORS)


def test_fidelity_of_a_shuffled_target_is_near_zero(space, cands):
    """The fidelity test can fail: with the accuracies shuffled over configurations there is
    nothing to learn, and the held-out scores say so."""
    rng = np.random.default_rng(5)
    perm = rng.permutation(len(cands))
    shuffled = [
        {**c, "val_acc": cands[j]["val_acc"], "test_acc": cands[j]["test_acc"]}
        for c, j in zip(cands, perm, strict=True)
    ]
    # Half held out: Spearman's sd under no association is then 1/sqrt(199) = 0.07.
    f = Surrogate.fit(shuffled, space, NOISE, seed=0, holdout=0.5).fidelity
    assert all(s["r2"] < 0.05 for s in f["cv"].values()), f["cv"]
    for key in ("val", "test"):
        assert f["holdout"][key]["r2"] < 0.1, f["holdout"][key]
        assert abs(f["holdout"][key]["spearman"]) < 0.25, f["holdout"][key]


def test_choice_is_the_argmax_of_cv_r2(surrogate, space, cands):
    f = surrogate.fidelity
    held = set(np.random.default_rng(0).permutation(len(cands))[:80].tolist())
    train = [c for i, c in enumerate(cands) if i not in held]
    X = encode_many(space, [c["macro"] for c in train], [c["params"] for c in train])
    y = np.array([c["val_acc"] for c in train])
    cv = cross_validate(X, y, folds=5, seed=0)
    assert cv == f["cv"]
    best = max(REGRESSORS, key=lambda n: cv[n]["r2"])
    assert surrogate.regressor == f["choice"] == best
    # the chosen regressor's score, by scikit-learn's own cross-validation
    folds = KFold(5, shuffle=True, random_state=0)
    r2 = cross_val_score(REGRESSORS[best](0), X, y, cv=folds, scoring="r2").mean()
    assert r2 == pytest.approx(cv[best]["r2"], rel=1e-12)
    assert f["reason"].startswith(best) and "\n" not in f["reason"]


def test_fit_is_deterministic(surrogate, space, cands):
    again = Surrogate.fit(cands, space, NOISE, seed=0)
    assert again.fidelity == surrogate.fidelity
    macros = [c["macro"] for c in cands[:50]]
    params = [c["params"] for c in cands[:50]]
    for k, v in surrogate.predict(macros, params).items():
        np.testing.assert_array_equal(v, again.predict(macros, params)[k])


def test_fit_refuses_too_few_configurations(space, cands):
    with pytest.raises(ValueError, match="at least"):
        Surrogate.fit(cands[:20], space, NOISE)


# --- sampling --------------------------------------------------------------------------------


def test_sample_without_noise_is_predict(surrogate, cands):
    macros = [c["macro"] for c in cands[:30]]
    params = [c["params"] for c in cands[:30]]
    pred = surrogate.predict(macros, params)
    got = surrogate.sample(macros, params, np.random.default_rng(1))
    assert all(r["status"] == "ok" for r in got)
    np.testing.assert_array_equal([r["val_acc"] for r in got], pred["val"])
    np.testing.assert_array_equal([r["test_acc"] for r in got], pred["test"])


def test_sample_noise_sd_and_reproducibility(surrogate, cands):
    noisy = dataclasses.replace(surrogate, noise_sd={"val": 0.02, "test": 0.01})
    n = 4000
    macro, params = cands[0]["macro"], {**cands[0]["params"], "learning_rate": 0.01}
    pred = noisy.predict([macro], [params])
    assert 0.1 < pred["val"][0] < 0.9  # far from the clip
    got = noisy.sample([macro] * n, [params] * n, np.random.default_rng(2))
    val = np.array([r["val_acc"] for r in got])
    test = np.array([r["test_acc"] for r in got])
    assert val.std(ddof=1) == pytest.approx(0.02, rel=0.1)
    assert test.std(ddof=1) == pytest.approx(0.01, rel=0.1)
    assert val.mean() == pytest.approx(pred["val"][0], abs=0.002)
    again = noisy.sample([macro] * n, [params] * n, np.random.default_rng(2))
    assert again == got
    other = noisy.sample([macro] * n, [params] * n, np.random.default_rng(3))
    assert other != got


def test_sample_failures_follow_p_fail(space):
    def high_lr(macro, params):
        return params["learning_rate"] > 0.02

    cands = _candidates(space, n=400, seed=3, fails=high_lr)
    s = Surrogate.fit(cands, space, {"val": 0.01, "test": 0.01}, seed=0)
    assert s.fidelity["failure_model"] == "random-forest-classifier"
    assert s.fidelity["n_failed"] == sum(c["failed"] > 0.5 for c in cands) > 0
    configs = _configs(space, 300, seed=9)
    deep = [(m, {**p, "learning_rate": 0.08}) for m, p in configs]
    safe = [(m, {**p, "learning_rate": 1e-3}) for m, p in configs]
    p_deep = s.predict(*zip(*deep, strict=True))["p_fail"]
    p_safe = s.predict(*zip(*safe, strict=True))["p_fail"]
    assert p_deep.mean() > 0.95 and p_safe.mean() < 0.05
    rng = np.random.default_rng(4)
    got = s.sample(*zip(*deep, strict=True), rng)
    certain = [r for r, p in zip(got, p_deep, strict=True) if p == 1.0]
    assert certain and all(r["status"] == "failed" for r in certain)
    assert all(r["val_acc"] == 0.0 == r["test_acc"] for r in got if r["status"] == "failed")
    # p_fail 1 everywhere: every evaluation fails; 0: none does.
    always = dataclasses.replace(s, fail_model=None, p_fail_const=1.0)
    assert all(r["status"] == "failed" for r in always.sample(*zip(*safe, strict=True), rng))
    never = dataclasses.replace(s, fail_model=None, p_fail_const=0.0)
    assert all(r["status"] == "ok" for r in never.sample(*zip(*deep, strict=True), rng))


# --- importances -----------------------------------------------------------------------------


def test_importances_rank_the_learning_rate_first(surrogate, space):
    imp = surrogate.importances(space, n_samples=500, seed=0)
    assert list(imp) == [p.name for p in space.features]
    assert sum(imp.values()) == pytest.approx(1.0)
    ranked = sorted(imp, key=imp.get, reverse=True)
    assert ranked[0] == "learning_rate" and imp["learning_rate"] > 0.5
    assert imp["kernel_size"] < 0.02 and ranked.index("kernel_size") >= 3
    assert imp == surrogate.importances(space, n_samples=500, seed=0)
