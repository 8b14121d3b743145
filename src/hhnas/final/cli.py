"""``hhnas predict``: top-k labels with probabilities for new text, from a final model directory.

hhnas predict results/spider/final --text "How many singers are there?"
hhnas predict results/spider/final --input questions.csv --output predictions.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hhnas.final.modeldir import ModelDirError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hhnas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "predict",
        help="predict labels for new text with a final model directory",
        description="Top-k labels with probabilities. The inputs are computed as training "
        "computed them (backbone, LLM signals, schema linking against the dataset's schemas).",
    )
    p.add_argument("model_dir", help="a final model directory, e.g. results/spider/final")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", action="append", help="a text to classify (repeatable)")
    src.add_argument("--input", help="a CSV file with a column of texts")
    p.add_argument("--output", help="CSV to write (with --input); default: standard output")
    p.add_argument("--text-column", default="text", help="the CSV's text column (default: text)")
    p.add_argument("--top-k", type=int, default=3, help="labels per text (default: 3)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument("--backbone", help="the encoder directory, if not where training found it")
    p.add_argument("--llm-dir", help="the converted LLM directory, if not where training had it")
    p.add_argument("--threads", type=int, help="CPU threads (default: the feature jobs' count)")
    return parser


def read_texts(path: str, column: str) -> tuple[list[dict[str, str]], list[str]]:
    """The CSV's rows and their texts, read as the workflow reads a dataset's CSV
    (hhnas.data.loaders): bytes that are not UTF-8, a column named twice, a row of another
    field count and an empty text each stop with the file, the line and the fix. Blank lines
    are skipped."""
    from hhnas.data.loaders import DataError, csv_data_rows, read_csv_header, read_text

    file = Path(path)
    if not file.is_file():
        raise ValueError(f"--input {path}: no such file")
    try:
        text = read_text(file)
    except OSError as exc:
        raise ValueError(f"--input {path}: cannot read it ({exc.strerror})") from None
    header = read_csv_header(file)
    if column not in header:
        raise ValueError(
            f"{path}: no column {column!r} (columns: {', '.join(header)}); name the text column "
            "with --text-column"
        )
    reader = csv.reader(io.StringIO(text, newline=""))
    # The header is the first non-empty row, as read_csv_header takes it (checked there).
    while not next(reader):
        pass
    at = header.index(column)
    rows: list[dict[str, str]] = []
    texts: list[str] = []
    for line, fields in csv_data_rows(reader, path, len(header)):
        if not fields[at].strip():
            raise DataError(
                f"{path}:{line}: empty text in column {column!r}; fill it in or remove the row"
            )
        rows.append(dict(zip(header, fields, strict=True)))
        texts.append(fields[at])
    return rows, texts


def checked_texts(texts: list[str]) -> list[str]:
    """``--text`` values, each with something to classify."""
    for i, text in enumerate(texts, 1):
        if not text.strip():
            raise ValueError(
                f"--text number {i} is empty (or only whitespace): give a text to classify"
            )
    return texts


def prediction_columns(k: int) -> list[str]:
    return [c for i in range(1, k + 1) for c in (f"label_{i}", f"prob_{i}")]


def _rows_out(
    rows: list[dict[str, str]], preds: list[list[tuple[str, float]]]
) -> list[dict[str, str]]:
    out = []
    for row, top in zip(rows, preds, strict=True):
        extra: dict[str, str] = {}
        for i, (label, prob) in enumerate(top, 1):
            extra[f"label_{i}"], extra[f"prob_{i}"] = label, f"{prob:.6f}"
        out.append({**row, **extra})
    return out


def write_predictions(
    path: str | None, rows: list[dict[str, str]], preds: list[list[tuple[str, float]]], k: int
) -> None:
    """The input's columns, then label_i / prob_i for i = 1..k (written whole or not at all)."""
    from hhnas.io import write_text

    fields = list(rows[0]) if rows else []
    fields += [c for c in prediction_columns(k) if c not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(_rows_out(rows, preds))
    if path is None:
        sys.stdout.write(buf.getvalue())
    else:
        write_text(path, buf.getvalue())


def predict_command(args: argparse.Namespace) -> int:
    from hhnas.final.inference import Predictor

    if args.top_k < 1:
        raise ValueError(f"--top-k must be >= 1, got {args.top_k}")
    if args.output and not args.input:
        raise ValueError("--output goes with --input (a CSV of texts)")
    # Refused before the model loads: a bad input costs no model loading.
    if args.input:
        rows, texts = read_texts(args.input, args.text_column)
    else:
        texts = checked_texts(args.text)
    predictor = Predictor(
        args.model_dir,
        backbone=args.backbone,
        llm_dir=args.llm_dir,
        threads=args.threads,
        progress=bool(args.input),
    )
    k = min(args.top_k, len(predictor.labels))
    if args.input:
        preds = predictor.top_k(texts, k)
        write_predictions(args.output, rows, preds, k)
        if args.output:
            print(f"{len(rows)} predictions -> {args.output}", file=sys.stderr)
        return 0
    preds = predictor.top_k(texts, k)
    for text, top in zip(texts, preds, strict=True):
        if args.json:
            print(json.dumps({"text": text, "labels": [{"label": lb, "prob": p} for lb, p in top]}))
        else:
            print(text)
            for label, prob in top:
                print(f"  {prob:7.4f}  {label}")
    return 0


def _quiet_model_loading() -> None:
    """transformers draws a progress bar for every model it loads: noise on a prediction's
    output, and on every call."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = _parser().parse_args(argv)
    _quiet_model_loading()
    try:
        return predict_command(args)
    except (ModelDirError, ValueError, FileNotFoundError) as exc:
        if os.environ.get("HHNAS_DEBUG") == "1":
            raise
        print(f"hhnas predict: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
