"""Versioned search-state files: what one iteration job hands to the next."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from hhnas.io import read_json, write_json
from hhnas.records import SearchState

FORMAT = "hhnas-search-state"
VERSION = 2


def body_hash(state: SearchState) -> str:
    """Checksum of the strategy's state: a hand-edited or damaged body no longer matches it."""
    blob = json.dumps(state, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def file_fingerprint(*paths: str | os.PathLike) -> str:
    """Content hash of the dataset files a search trains on (a re-made split changes it)."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:16]


def config_hash(*sections: Any) -> str:
    """Hash of the config sections that decide a search's outcome (order-independent keys)."""
    blob = json.dumps(sections, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def save_state(
    path: str | os.PathLike,
    state: SearchState,
    *,
    strategy: str,
    cfg_hash: str,
    dataset: str,
    experiment: int,
    fingerprint: str = "",
) -> None:
    write_json(
        path,
        {
            "format": FORMAT,
            "version": VERSION,
            "strategy": strategy,
            "config_hash": cfg_hash,
            "dataset": dataset,
            "dataset_fingerprint": fingerprint,
            "experiment": experiment,
            "iteration": state["iteration"],
            "state_sha256": body_hash(state),
            "state": state,
        },
    )


def load_state(
    path: str | os.PathLike,
    *,
    strategy: str,
    cfg_hash: str,
    dataset: str,
    experiment: int,
    iteration: int,
    fingerprint: str = "",
) -> SearchState:
    """Read a state file and refuse one that belongs to another run, naming the fix."""
    doc = read_json(path)
    restart = f"delete {os.path.dirname(os.fspath(path)) or '.'}/ to start this experiment again"
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not an hhnas search-state file; {restart}")
    if doc.get("version") != VERSION:
        raise ValueError(
            f"{path}: state format version {doc.get('version')} but this hhnas reads "
            f"version {VERSION}; {restart}"
        )
    expected = {
        "strategy": strategy,
        "config_hash": cfg_hash,
        "dataset": dataset,
        "dataset_fingerprint": fingerprint,
        "experiment": experiment,
        "iteration": iteration,
    }
    for key, want in expected.items():
        if doc.get(key) != want:
            what = {
                "config_hash": "the config changed since",
                "dataset_fingerprint": "the dataset files were re-made or changed since",
            }.get(key, f"{key} differs")
            raise ValueError(
                f"{path}: {key} is {doc.get(key)!r}, expected {want!r} ({what} this state was "
                f"written); {restart}, or restore the config it was run with"
            )
    state = doc.get("state")
    if not isinstance(state, dict) or state.get("iteration") != iteration:
        raise ValueError(f"{path}: state body is damaged; {restart}")
    if doc.get("state_sha256") != body_hash(state):
        raise ValueError(
            f"{path}: the state body does not match its checksum (edited by hand or damaged); "
            f"{restart}, or delete this file to recompute it from the one before"
        )
    return state
