"""The workflow's configuration, owned in one place.

`load` (tests, tools) and the workflow (rules/common.smk: `check_unknown_keys`, Snakemake's
`validate`, then `from_validated`) build one typed :class:`Config` from the merged YAML:

1. unknown keys are refused with the closest valid key (:func:`check_unknown_keys`), before the
   schema's own message, which only says "Additional properties are not allowed";
2. the JSON schema (config/schema/config.schema.yaml) checks types and ranges and fills in its
   defaults, the only place defaults live;
3. :func:`check` applies every rule that spans keys (split fractions, ranges and initial values,
   dataset, role and variant references, sizes against the search's budget, the workflow's
   size), collecting all problems in one :class:`ConfigError` so a user fixes them in one go,
   before any job.

The package sits on the ground floor: it imports no other hhnas package (tests/test_layers.py).
What needs the files on disk (datasets, CSV headers and rows, the backbone, the LLM's number of
blocks) is hhnas.preflight's, a layer above.

Modules: `schema` (the schema, its defaults, unknown keys), `sections` (the typed sections and
:class:`Config`), `checks` (the cross-key rules, :func:`from_validated`, :func:`load`),
`variants` (the main search, strategies and ablations side by side) and `templates` (the
paper's model numbers).
"""

from hhnas.config.checks import (
    check,
    from_validated,
    load,
    merged,
    parameter_problems,
    split_problems,
)
from hhnas.config.schema import (
    ConfigError,
    check_unknown_keys,
    read_schema,
    schema_validator,
    section_defaults,
)
from hhnas.config.sections import (
    LLM,
    SEARCH_ADDED,
    Backbone,
    Config,
    Search,
    StudyNoise,
    StudySurrogate,
    Training,
    hashed_search,
    searched_datasets,
    shared_dirs,
)

__all__ = [
    "LLM",
    "SEARCH_ADDED",
    "Backbone",
    "Config",
    "ConfigError",
    "Search",
    "StudyNoise",
    "StudySurrogate",
    "Training",
    "check",
    "check_unknown_keys",
    "from_validated",
    "hashed_search",
    "load",
    "merged",
    "parameter_problems",
    "read_schema",
    "schema_validator",
    "searched_datasets",
    "section_defaults",
    "shared_dirs",
    "split_problems",
]
