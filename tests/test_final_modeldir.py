"""The final model directory's checks, without a workflow: complete-or-nothing writes, the
manifest's version and hashes, and the feature settings a prediction must share."""

import json

import pytest

from hhnas.final.modeldir import (
    FILES,
    MANIFEST,
    ModelDirError,
    config_differences,
    feature_code_settings,
    read_manifest,
    write_model_dir,
)


def _manifest():
    return {
        "features": {
            "backbone": {
                "spec": "package:m",
                "pooling": "mean",
                "max_length": 128,
                "batch_size": 64,
            },
            "llm": {"gguf": "package:g", "layer": 10, "max_length": 96, "batch_size": 32},
            "code": feature_code_settings(),
        }
    }


def _files(tmp):
    for name in FILES:
        (tmp / name).write_text(f"content of {name}")


def test_a_written_directory_reads_back(tmp_path):
    out = tmp_path / "final"
    write_model_dir(out, _manifest(), _files)
    manifest = read_manifest(out)
    assert manifest["format"] == "hhnas-final-model" and manifest["version"] == 3
    assert set(manifest["files"]) == set(FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]  # no temp dir left


def test_a_failed_write_leaves_the_previous_directory(tmp_path):
    out = tmp_path / "final"
    write_model_dir(out, _manifest(), _files)
    before = (out / MANIFEST).read_text()

    def broken(tmp):
        (tmp / FILES[0]).write_text("half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_model_dir(out, _manifest(), broken)
    assert (out / MANIFEST).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "metrics.json").write_text("edited"), "metrics.json: its content differs"),
        (lambda d: (d / "classes.json").unlink(), "classes.json is missing"),
        (lambda d: (d / MANIFEST).unlink(), "not an hhnas model directory"),
        (lambda d: (d / MANIFEST).write_text("{"), "not valid JSON"),
    ],
)
def test_damage_is_named(tmp_path, damage, message):
    out = tmp_path / "final"
    write_model_dir(out, _manifest(), _files)
    damage(out)
    with pytest.raises(ModelDirError, match=message):
        read_manifest(out)


def test_another_version_or_format_is_refused(tmp_path):
    out = tmp_path / "final"
    write_model_dir(out, _manifest(), _files)
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "version": 2, "commit": "abc"}))
    with pytest.raises(ModelDirError, match=r"version 2, this hhnas reads version 3.*abc"):
        read_manifest(out)
    (out / MANIFEST).write_text(json.dumps({**manifest, "format": "something-else"}))
    with pytest.raises(ModelDirError, match="not an hhnas final model"):
        read_manifest(out)
    with pytest.raises(ModelDirError, match="no such directory"):
        read_manifest(tmp_path / "absent")


def test_a_config_with_other_feature_settings_is_named_key_by_key():
    config = {
        "backbone": {"path": "package:m", "pooling": "mean", "max_length": 128, "batch_size": 64},
        "llm": {"gguf": "package:g", "layer": 10, "max_length": 96, "batch_size": 32},
    }
    assert config_differences(_manifest(), config) == []
    config["llm"]["layer"] = 12
    config["backbone"]["path"] = "/models/other"
    assert config_differences(_manifest(), config) == [
        "backbone.path: model directory 'package:m', here '/models/other'",
        "llm.layer: model directory 10, here 12",
    ]


def test_a_lexical_member_s_files_must_be_hashed(tmp_path):
    """Version 3: a manifest naming a TF-IDF member must record its files' hashes."""
    out = tmp_path / "final"
    manifest = {**_manifest(), "lexical": {"kind": "tfidf-lr", "C": 10.0, "weight": 0.5}}
    manifest["lexical"]["files"] = ["lexical.json", "lexical.npz"]

    def with_lexical(tmp):
        _files(tmp)
        (tmp / "lexical.json").write_text("{}")
        (tmp / "lexical.npz").write_bytes(b"npz")

    write_model_dir(out, manifest, with_lexical)
    assert {"lexical.json", "lexical.npz"} <= set(read_manifest(out)["files"])
    write_model_dir(out, manifest, _files)  # the member's files left out
    with pytest.raises(ModelDirError, match="records no hash for lexical.json, lexical.npz"):
        read_manifest(out)
