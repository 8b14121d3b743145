"""Schema similarity, groups of similar databases, and the dataset option that merges them."""

import pytest

from hhnas.data.prepare import merge_similar_classes
from hhnas.data.schemas import (
    jaccard,
    merge_schemas,
    schema_names,
    similar_groups,
    similarity_matrix,
)

# Hand-made: music and music_copy have the same names (written differently); shop shares 2 of
# its 4 names with music_plus; zoo shares nothing.
SCHEMAS = {
    "music": {"tables": ["Album", "Artist"], "columns": ["title", "name"]},
    "music_copy": {"tables": ["album", "ARTIST"], "columns": ["Title", "name"]},
    "music_plus": {"tables": ["album", "artist", "track"], "columns": ["title", "name"]},
    "zoo": {"tables": ["animal"], "columns": ["species"]},
}


def test_names_are_normalised_and_tables_kept_apart_from_columns():
    assert schema_names({"tables": ["Singer_In-Concert"], "columns": ["singer"]}) == {
        "table:singer in concert",
        "column:singer",
    }
    assert schema_names(None) == frozenset()


def test_jaccard_by_hand():
    music, plus = schema_names(SCHEMAS["music"]), schema_names(SCHEMAS["music_plus"])
    assert jaccard(music, schema_names(SCHEMAS["music_copy"])) == 1.0
    assert jaccard(music, plus) == 4 / 5  # 4 shared of 5 distinct
    assert jaccard(music, schema_names(SCHEMAS["zoo"])) == 0.0
    assert jaccard(frozenset(), frozenset()) == 0.0  # no schemas: not alike


def test_groups_are_transitive_and_named_by_their_first_class():
    sim = similarity_matrix(list(SCHEMAS.values()))
    assert sim[0, 1] == 1.0 and sim[0, 2] == pytest.approx(0.8)
    assert similar_groups(sim, 1.0) == [0, 0, 2, 3]
    assert similar_groups(sim, 0.8) == [0, 0, 0, 3]
    # a chain: a~b and b~c at 0.6, a~c below it, still one group
    chain = [
        {"tables": ["t1", "t2", "t3"], "columns": []},
        {"tables": ["t2", "t3", "t4"], "columns": []},  # J(a,b) = 2/4
        {"tables": ["t3", "t4", "t5"], "columns": []},  # J(b,c) = 2/4, J(a,c) = 1/5
    ]
    assert similar_groups(similarity_matrix(chain), 0.5) == [0, 0, 0]


def test_merged_schema_keeps_every_name_once_in_first_seen_order():
    merged = merge_schemas([SCHEMAS["music"], None, SCHEMAS["music_plus"]])
    assert merged == {
        "tables": ["Album", "Artist", "album", "artist", "track"],
        "columns": ["title", "name"],
    }
    assert merge_schemas([None]) is None


def test_merge_option_relabels_rows_and_joins_schemas():
    rows = [{"text": f"q{i}", "label": name} for i, name in enumerate(sorted(SCHEMAS))]
    rows.append({"text": "another", "label": "music"})
    out, schemas, merged = merge_similar_classes(rows, SCHEMAS, 0.8)
    group = "music+music_copy+music_plus"
    assert merged == {group: ["music", "music_copy", "music_plus"]}
    assert [r["label"] for r in out] == [group, group, group, "zoo", group]
    assert [r["text"] for r in out] == [r["text"] for r in rows]
    assert set(schemas[group]["tables"]) == {
        "Album",
        "Artist",
        "album",
        "ARTIST",
        "artist",
        "track",
    }
    # at 1.0 only the identical pair merges
    _, _, merged = merge_similar_classes(rows, SCHEMAS, 1.0)
    assert merged == {"music+music_copy": ["music", "music_copy"]}
