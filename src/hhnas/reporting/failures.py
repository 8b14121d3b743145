"""Failed candidates grouped by where in the search space they failed."""

from __future__ import annotations

import math

import pandas as pd

OPTIMIZERS = {0: "AdamW", 1: "SGD", 2: "RMSprop"}


def _lr_decade(lr: float | None) -> str:
    if lr is None or not isinstance(lr, (int, float)) or lr <= 0 or math.isnan(lr):
        return "?"
    e = math.floor(math.log10(lr))
    return f"[1e{e}, 1e{e + 1})"


def failure_regions(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, model, optimizer, learning-rate decade, error class) with at least
    one failed candidate, most failures first: a region that fails again and again shows up as
    one row with a large count instead of scattered lines in the list of failures."""
    cols = ["Dataset", "Model", "Optimizer", "Learning rate", "Error", "Failed", "Of evaluated"]
    failed = df[df["status"] == "failed"]
    if failed.empty:
        return pd.DataFrame(columns=cols)
    error_class = failed["error"].fillna("?").astype(str).str.split(":").str[0]
    keyed = pd.DataFrame(
        {
            "Dataset": failed["dataset"],
            "Model": "M" + failed["model"].astype(str),
            "Optimizer": failed.get("criterion_num", pd.Series(index=failed.index)).map(
                lambda c: OPTIMIZERS.get(int(c), "?") if pd.notna(c) else "?"
            ),
            "Learning rate": failed.get("learning_rate", pd.Series(index=failed.index)).map(
                lambda v: _lr_decade(None if pd.isna(v) else float(v))
            ),
            "Error": error_class,
        }
    )
    groups = keyed.groupby(cols[:5], sort=False).size().reset_index(name="Failed")
    evaluated = df.groupby(["dataset", "model"]).size()
    pairs = zip(groups["Dataset"], groups["Model"], strict=True)
    groups["Of evaluated"] = [int(evaluated[(d, int(m[1:]))]) for d, m in pairs]
    groups = groups.sort_values(["Failed", "Dataset", "Model"], ascending=[False, True, True])
    return groups.reset_index(drop=True)[cols]
