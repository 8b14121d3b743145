"""Damaged, foreign and hand-edited state files: each stops with an error that names the file,
what is wrong and what to do, and the file is left as it was."""

import json
from pathlib import Path

import pytest

from hhnas.config import Search
from hhnas.search.state import load_state, save_state
from hhnas.search.strategy import make_strategy

IDENT = dict(strategy="hhnas", cfg_hash="abc", dataset="spider", experiment=1, fingerprint="fp1")
RESTART = "delete {dir}/ to start this experiment again"


@pytest.fixture
def state_file(tmp_path, search_cfg) -> Path:
    strategy = make_strategy(Search.from_mapping(search_cfg))
    state = strategy.initial_state(7)
    cand, state = strategy.propose(state)
    state = strategy.observe(state, cand, 0.5)
    path = tmp_path / "exp1" / "state_0.json"
    save_state(path, state, **IDENT)
    return path


def _load(path: Path, **over):
    return load_state(path, iteration=over.pop("iteration", 0), **{**IDENT, **over})


def _fails(path: Path, *needles: str, **over) -> None:
    before = path.read_bytes()
    with pytest.raises(ValueError) as err:
        _load(path, **over)
    msg = str(err.value)
    assert msg.startswith(str(path)), msg
    for needle in needles:
        assert needle in msg, msg
    assert path.read_bytes() == before  # never rewritten by the check


def test_a_good_state_loads(state_file):
    assert _load(state_file)["iteration"] == 0


def test_truncated_state(state_file):
    data = state_file.read_bytes()
    state_file.write_bytes(data[: len(data) // 2])
    _fails(state_file, "not valid JSON", "truncated or was edited by hand", "delete it")


def test_empty_state(state_file):
    state_file.write_bytes(b"")
    _fails(state_file, "not valid JSON")


def test_garbage_bytes(state_file):
    state_file.write_bytes(b"\x00\xff\xfe garbage")
    _fails(state_file, "not UTF-8 text (byte 0xff at offset 1)", "delete it")


def test_hand_edited_accuracy_is_caught_by_the_checksum(state_file):
    doc = json.loads(state_file.read_text())
    doc["state"]["accuracies"][0] = 0.99
    state_file.write_text(json.dumps(doc))
    _fails(
        state_file,
        "does not match its checksum",
        "edited by hand",
        RESTART.format(dir=state_file.parent),
    )


def test_state_of_another_config(state_file):
    _fails(
        state_file,
        "config_hash is 'abc', expected 'xyz'",
        "the config changed",
        RESTART.format(dir=state_file.parent),
        cfg_hash="xyz",
    )


def test_state_of_another_dataset_version(state_file):
    _fails(
        state_file,
        "dataset_fingerprint is 'fp1', expected 'fp2'",
        "dataset files were re-made or changed",
        fingerprint="fp2",
    )


def test_state_of_another_experiment_dataset_or_strategy(state_file):
    _fails(state_file, "experiment is 1, expected 2", experiment=2)
    _fails(state_file, "dataset is 'spider', expected 'other'", dataset="other")
    _fails(state_file, "strategy is 'hhnas', expected 'random'", strategy="random")


def test_wrong_iteration(state_file):
    _fails(state_file, "iteration is 0, expected 3", iteration=3)


def test_body_iteration_disagreeing_with_header(state_file):
    doc = json.loads(state_file.read_text())
    doc["state"]["iteration"] = 5
    state_file.write_text(json.dumps(doc))
    _fails(state_file, "state body is damaged")


def test_not_a_state_file_and_old_format(state_file):
    state_file.write_text(json.dumps({"hello": 1}))
    _fails(state_file, "not an hhnas search-state file")
    state_file.write_text(json.dumps({"format": "hhnas-search-state", "version": 1}))
    _fails(state_file, "state format version 1 but this hhnas reads version 2")
