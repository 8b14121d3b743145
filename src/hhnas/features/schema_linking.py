"""Deterministic schema-linking features (hand-written lexical matching, nothing learned).

For every (question, database) pair we measure how much of the question's
vocabulary is covered by the database's table and column names. The output is a
dense ``[N, R, C]`` float32 array (questions x signal channels x classes) whose
channels are named in :data:`LINKING_CHANNELS`:

0. ``table_token_frac``: fraction of the question's distinct content tokens (stop
   words removed) that equal a token of some table name of the database.
1. ``column_token_frac``: same, against the tokens of the column names.
2. ``table_ngram_hits``: number of distinct full table names found as contiguous
   n-grams in the question, scaled by ``min(count, 3) / 3``. A saturating count
   was chosen over ``count / n_tables`` because dividing by the number of tables
   penalises large databases for being large, while a question rarely mentions
   more than three tables, so three hits already means "clearly this schema".
3. ``column_ngram_hits``: number of distinct full column names found as
   contiguous n-grams, scaled by ``min(count, 5) / 5``. The single-token names
   ``id`` and ``name`` are skipped because nearly every database has them.
4. ``idf_coverage``: like 0-1 but each token weighs its inverse database
   frequency ``idf(t) = ln(D / df(t))`` (``D`` databases with a schema, ``df(t)``
   of them name ``t`` in a table or column): the IDF mass of the question's
   schema-vocabulary tokens that this database's names hold, over the IDF mass of
   all of them. "student" or "date" occur in dozens of schemas and say little;
   "gymnast" names one database and settles the question. Tokens found in no
   schema are left out of the denominator, so they do not dilute every score.
5. ``table_idf_sum``: the summed ``idf`` of content tokens that are table tokens
   of this database (unnormalised: two rare matches beat one).
6. ``column_idf_sum``: the same for column tokens.

On the default 87-class Spider split, adding channels 4-6 to a linear model
over MiniLM embeddings + channels 0-3 raised test accuracy from 90.6 % to
90.8 %, and the hybrid Model 4 with default parameters from 90.3 % to 91.3 %.

Names and questions go through the same normaliser (lower case, ``_``/``-`` to
spaces, :func:`normalize_token`), so matching is symmetric. N-gram matching runs
over the full token sequence (stop words kept) because names such as
"head of department" contain stop words.

A class whose schema is ``None`` gets all-zero features.

Speed: per-token and per-n-gram inverted indexes over all databases are built
once, so each question costs one tokenisation plus a few dict lookups and one
small numpy gather, independent of the number of databases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from hhnas.records import DatabaseSchema

LINKING_CHANNELS: tuple[str, ...] = (
    "table_token_frac",
    "column_token_frac",
    "table_ngram_hits",
    "column_ngram_hits",
    "idf_coverage",
    "table_idf_sum",
    "column_idf_sum",
)

TABLE_HIT_CAP = 3
COLUMN_HIT_CAP = 5
GENERIC_COLUMN_NAMES = frozenset({"id", "name"})

_TOKEN_RE = re.compile(r"[a-z0-9]+")
_SEPARATORS_RE = re.compile(r"[_\-]+")
# Words ending in these keep their final "s": they are singular already.
_KEEP_S_SUFFIXES = ("ss", "us", "is")
# Plural "-es" forms where the "e" belongs to the plural, not the stem.
_ES_SUFFIXES = ("sses", "ches", "shes", "xes")


def normalize_token(token: str) -> str:
    """Lower-case ``token`` and strip a simple English plural.

    Rules (first match wins; words of three letters or fewer are left alone):
    ``-ies`` -> ``-y`` (cities -> city); ``-sses/-ches/-shes/-xes`` drop ``es``
    (classes -> class, matches -> match); ``-ss/-us/-is`` are kept (status,
    analysis); any other trailing ``s`` is dropped (singers -> singer,
    courses -> course). Not a lemmatiser: it only has to map a word and its
    plural to the same string, and both sides of every match go through it.
    """
    tok = token.lower()
    if len(tok) <= 3 or not tok.endswith("s"):
        return tok
    if tok.endswith("ies") and len(tok) > 4:
        return tok[:-3] + "y"
    if tok.endswith(_ES_SUFFIXES):
        return tok[:-2]
    if tok.endswith(_KEEP_S_SUFFIXES):
        return tok
    return tok[:-1]


# Function words plus the imperative verbs and wh-words that open most
# text-to-SQL questions: they say nothing about which database is meant.
_RAW_STOP_WORDS = """
    a an the and or but not no nor of in on at to for from by with without about
    as into onto over under than then that this these those there here is are was
    were be been being am do does did done have has had having it its they them
    their theirs he him his she her hers we us our you your i me my mine what which
    who whom whose when where why how all any each every some both either neither
    more most less least many much few other such same only own so too very can
    could will would shall should may might must also just if else up down out off
    again once per between among after before during while whether
    show list find give return display tell get count number total please s t
    """

# Normalised like question tokens so that e.g. "does" -> "doe" still matches.
STOP_WORDS: frozenset[str] = frozenset(normalize_token(w) for w in _RAW_STOP_WORDS.split())


def tokenize(text: str) -> list[str]:
    """Normalised word tokens of ``text`` (stop words kept, order preserved)."""
    text = _SEPARATORS_RE.sub(" ", text.lower())
    return [normalize_token(t) for t in _TOKEN_RE.findall(text)]


def content_tokens(tokens: Sequence[str]) -> set[str]:
    """Distinct tokens that are not stop words."""
    return {t for t in tokens if t not in STOP_WORDS}


class _Index:
    """Inverted indexes from tokens / n-grams to the classes whose schema holds them."""

    def __init__(self, schemas: Sequence[DatabaseSchema | None]) -> None:
        self.n_classes = len(schemas)
        self.vocab: dict[str, int] = {}
        table_tok: list[tuple[int, int]] = []  # (vocab id, class)
        column_tok: list[tuple[int, int]] = []
        self.table_ngrams: dict[tuple[str, ...], list[int]] = {}
        self.column_ngrams: dict[tuple[str, ...], list[int]] = {}
        for c, schema in enumerate(schemas):
            if schema is None:
                continue
            tables = _name_tokens(schema["tables"])
            columns = _name_tokens(schema["columns"])
            # Sorted: token ids (and so the order of the float sums over them) must not depend
            # on set order, which string-hash salting changes from process to process.
            table_tok += [(self._id(t), c) for t in sorted(set().union(*tables))]
            column_tok += [(self._id(t), c) for t in sorted(set().union(*columns))]
            _add_ngrams(self.table_ngrams, tables, c)
            _add_ngrams(self.column_ngrams, _specific(columns), c)
        self.table_matrix = self._matrix(table_tok)
        self.column_matrix = self._matrix(column_tok)
        self.any_matrix = np.maximum(self.table_matrix, self.column_matrix)
        n_schemas = sum(s is not None for s in schemas)
        df = self.any_matrix.sum(axis=1)
        # Every vocabulary token comes from some schema, so df >= 1 and idf >= 0.
        self.idf = np.log(n_schemas / np.maximum(df, 1.0)).astype(np.float32)
        lengths = [len(g) for g in (*self.table_ngrams, *self.column_ngrams)]
        self.max_ngram = max(lengths, default=0)

    def _id(self, token: str) -> int:
        return self.vocab.setdefault(token, len(self.vocab))

    def _matrix(self, pairs: list[tuple[int, int]]) -> np.ndarray:
        # Called once the vocabulary is complete, so every token id has a row.
        matrix = np.zeros((len(self.vocab), self.n_classes), dtype=np.float32)
        for row, col in pairs:
            matrix[row, col] = 1.0
        return matrix


def _name_tokens(names: Sequence[str]) -> list[tuple[str, ...]]:
    tokenized = (tuple(tokenize(n)) for n in names)
    return [t for t in tokenized if t]


def _specific(columns: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    return [c for c in columns if not (len(c) == 1 and c[0] in GENERIC_COLUMN_NAMES)]


def _add_ngrams(
    index: dict[tuple[str, ...], list[int]], names: list[tuple[str, ...]], c: int
) -> None:
    # set(): a name shared by several tables of one database counts once.
    for gram in set(names):
        index.setdefault(gram, []).append(c)


def _token_fraction(matrix: np.ndarray, ids: list[int], n_content: int) -> np.ndarray:
    if not ids or n_content == 0:
        return np.zeros(matrix.shape[1], dtype=np.float32)
    return matrix[ids].sum(axis=0) / n_content


def _idf_sums(index: _Index, ids: list[int], out: np.ndarray) -> None:
    if not ids:
        return
    w = index.idf[ids][:, None]
    mass = float(w.sum())
    if mass > 0:
        out[0] = (index.any_matrix[ids] * w).sum(axis=0) / mass
    out[1] = (index.table_matrix[ids] * w).sum(axis=0)
    out[2] = (index.column_matrix[ids] * w).sum(axis=0)


def _ngram_hits(
    tokens: list[str], index: dict[tuple[str, ...], list[int]], max_n: int, out: np.ndarray
) -> None:
    found = {
        tuple(tokens[i : i + n]) for n in range(1, max_n + 1) for i in range(len(tokens) - n + 1)
    }
    for gram in found:
        for c in index.get(gram, ()):
            out[c] += 1.0


def linking_features(texts: list[str], schemas: list[DatabaseSchema | None]) -> np.ndarray:
    """Schema-linking features ``[N, len(LINKING_CHANNELS), C]`` float32; see module doc."""
    index = _Index(schemas)
    n_classes = len(schemas)
    out = np.zeros((len(texts), len(LINKING_CHANNELS), n_classes), dtype=np.float32)
    for q, text in enumerate(texts):
        tokens = tokenize(text)
        content = content_tokens(tokens)
        # Sorted: float sums must not depend on set order (string hashing is salted).
        ids = sorted(index.vocab[t] for t in content if t in index.vocab)
        out[q, 0] = _token_fraction(index.table_matrix, ids, len(content))
        out[q, 1] = _token_fraction(index.column_matrix, ids, len(content))
        _ngram_hits(tokens, index.table_ngrams, index.max_ngram, out[q, 2])
        _ngram_hits(tokens, index.column_ngrams, index.max_ngram, out[q, 3])
        _idf_sums(index, ids, out[q, 4:7])
    out[:, 2] = np.minimum(out[:, 2], TABLE_HIT_CAP) / TABLE_HIT_CAP
    out[:, 3] = np.minimum(out[:, 3], COLUMN_HIT_CAP) / COLUMN_HIT_CAP
    return out


def linking_argmax_accuracy(features: np.ndarray, labels: np.ndarray | Sequence[int]) -> float:
    """Accuracy of predicting ``argmax_c sum_r features[n, r, c]`` (ties -> lowest index)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    pred = features.sum(axis=1).argmax(axis=1)
    return float((pred == labels).mean())
