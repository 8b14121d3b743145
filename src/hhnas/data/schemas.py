"""How alike two databases' schemas are, and which databases are alike enough to merge.

A schema's names are its table names and column names, each normalised word by word as the
linking features read them (hhnas.features.schema_linking.tokenize: lower case, `_`/`-` as spaces,
simple plurals stripped, so Spider's chinook_1 "invoice lines" and store_1 "invoice_lines" are
one name); tables and columns are kept apart (a table "singer" and a column "singer" differ).
Two schemas' similarity is the Jaccard index of their name sets; databases at or above a
threshold are grouped transitively (single linkage), so each database belongs to one group.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hhnas.features.schema_linking import tokenize
from hhnas.records import DatabaseSchema


def _norm(name: str) -> str:
    return " ".join(tokenize(str(name)))


def schema_names(schema: DatabaseSchema | None) -> frozenset[str]:
    """``table:<name>`` and ``column:<name>`` for every name of the schema (empty if None)."""
    if not schema:
        return frozenset()
    tables = {f"table:{_norm(t)}" for t in schema["tables"]}
    columns = {f"column:{_norm(c)}" for c in schema["columns"]}
    return frozenset(tables | columns)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b|; two empty sets (no schemas) have similarity 0, not 1: nothing says
    that two schema-less classes are alike."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def similarity_matrix(schemas: Sequence[DatabaseSchema | None]) -> np.ndarray:
    """``[C, C]`` Jaccard similarities; the diagonal is 1 for a class with a schema."""
    names = [schema_names(s) for s in schemas]
    n = len(names)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            out[i, j] = out[j, i] = jaccard(names[i], names[j])
    return out


def similar_groups(similarity: np.ndarray, threshold: float) -> list[int]:
    """Group id of each class: classes linked by a chain of similarities >= threshold share
    one. A group's id is the index of its first class, so ids follow the class order."""
    n = similarity.shape[0]
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if similarity[i, j] >= threshold:
                a, b = find(i), find(j)
                parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def merge_schemas(schemas: Sequence[DatabaseSchema | None]) -> DatabaseSchema | None:
    """One schema with every table and column of ``schemas`` (first occurrence order)."""
    present = [s for s in schemas if s]
    if not present:
        return None
    tables = list(dict.fromkeys(t for s in present for t in s["tables"]))
    columns = list(dict.fromkeys(c for s in present for c in s["columns"]))
    return {"tables": tables, "columns": columns}
