"""Assemble everything the HTML report shows from the workflow's outputs."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from hhnas.config import Config
from hhnas.config.sections import Dataset
from hhnas.io import read_json
from hhnas.machine import cpu_info, describe_cpu
from hhnas.reporting.candidates import candidates_entry
from hhnas.reporting.captions import caption
from hhnas.reporting.failures import failure_regions
from hhnas.reporting.final_report import final_tables, verdict
from hhnas.reporting.html import embed_image, git_commit, render_report, software_versions
from hhnas.reporting.metrics import load_metrics
from hhnas.reporting.paper import TABLE1, TABLE3
from hhnas.reporting.records import (
    Choice,
    DatasetEntry,
    ErrorAnalysis,
    FailedCandidate,
    Figure,
    Inputs,
    Provenance,
    Reference,
    ReportContext,
    Runtime,
    Section,
    StudySection,
    StudySummary,
    Table,
    ThreadCount,
)
from hhnas.reporting.references import MeasuredReference, labelled, load_references, shown
from hhnas.reporting.tables import (
    best_candidate,
    best_per_model,
    table1,
    table2,
    table3,
    table_html,
)

if TYPE_CHECKING:
    from hhnas.data.prepare import Counts
    from hhnas.final.build import FinalMetrics

# Where the paper is ambiguous we chose; docs/algorithm.md gives the full argument.
CHOICES = {
    "search.q_update": "Q-update rule: the paper says the Q-table estimates 'the expected reward "
    "for performing an action' and that accuracy is the reward signal. additive = Q + q_alpha * "
    "reward floored at q_min (a running sum, the paper-literal reading of 2026-11, ablation "
    "hhnas-literal); "
    "multiplicative = Q * exp(q_alpha * reward); mean = running mean of the accuracy after the "
    "action with q_init as a prior; ema = Q + q_alpha (accuracy - Q).",
    "search.reward_baseline": "p_hat of the reward p - p_hat: all = mean of every earlier "
    "accuracy (failures included); ok = of the earlier successful ones; parent = the accuracy "
    "of the mutated candidate. Absent: all.",
    "search.credit": "When n features mutate together: full = each gets the whole reward; "
    "shared = each gets 1/n. Absent: full.",
    "search.q_alpha": "Step size of the Q update (not given in the paper).",
    "search.q_min": "Floor that keeps every Q(s,a) positive so P(s) and the direction ratio "
    "stay defined and no parameter is frozen for ever.",
    "search.mean_update": "signed = mu + k*sign(s-mu)*(p-p_hat), the paper's prose; literal = the "
    "printed formula without the sign.",
    "search.variance_update": "Which of the paper's two variance rules (distance or moment).",
    "search.variance_mean": "Whether the variance rule uses the mean before (old) or after (new) "
    "the mean update of the same iteration.",
    "search.parent": "Which architecture the next mutation starts from: the last evaluated one "
    "(the paper's 'previously evaluated model') or the best so far.",
    "search.require_mutation": "If no feature is drawn for mutation, mutate one drawn in "
    "proportion to P(s), so no iteration re-evaluates its parent.",
    "search.k": "Scale k of the mean and variance rules; continuous parameters live in [0,1] "
    "(log10 for the learning rate), so one k fits all.",
    "search.max_prob": "maxProb of P(s).",
    "search.macro.mutable": "p1 (backbone) fixed to 1 as in the paper; set true to search all 8 "
    "templates.",
    "backbone.mode": "frozen: cached embeddings, only heads train (quick profile); the paper "
    "fine-tunes RoBERTa-base.",
}


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def _choices(config: dict[str, Any]) -> list[Choice]:
    # The raw config: a choice may name any key, so it is walked as plain JSON.
    out: list[Choice] = []
    for key, reason in CHOICES.items():
        value: Any = config
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        out.append({"key": key, "value": value, "reason": reason})
    return out


def _dataset_entry(name: str, counts: Counts, ds: Dataset) -> DatasetEntry:
    """One dataset's sizes and notes; every drop or repeat that counts.json records is named
    (docs/algorithm.md, "Bad input data"). Keys missing from older counts.json read as 0; the
    keys a rule writes together (a count and its names) are there whenever its count is."""
    notes = []
    if counts.get("rows_dropped_excluded_label"):
        labels = ", ".join(f"{k} ({v})" for k, v in counts["excluded_labels"].items())
        notes.append(
            f"{counts['rows_dropped_excluded_label']} rows left out by exclude_labels: {labels}"
        )
    if counts.get("split_source", "").startswith("column:"):
        notes.append(f"split as published, from CSV column {counts['split_source'][7:]!r}")
    if counts.get("split_group_by"):
        fr = counts["split_fractions"]
        notes.append(
            f"split by groups ({counts['split_group_by']}): all questions of one group in one "
            f"part; {counts['groups']} groups, {counts['groups_multi_class']} of them spanning "
            f"several classes; train / val / test {100 * fr['train']:.1f} / "
            f"{100 * fr['val']:.1f} / {100 * fr['test']:.1f} % of the rows"
        )
    if counts.get("rows_dropped_empty"):
        notes.append(f"{counts['rows_dropped_empty']} empty questions dropped")
    if counts.get("rows_dropped_unknown_db"):
        ids = list(counts["unknown_db_ids"])
        more = counts["classes_unknown_db"] - len(ids)
        named = ", ".join(ids) + (f" and {more} more" if more > 0 else "")
        notes.append(
            f"{counts['rows_dropped_unknown_db']} questions dropped: their db_id has no schema "
            f"in tables.json ({named})"
        )
    notes.append(
        f"{counts['classes']} of {counts['classes_raw']} classes have at least "
        f"{ds.min_questions_per_class} questions; {counts['rows']} of {counts['rows_raw']} "
        f"rows kept"
    )
    if counts.get("classes_dropped_small"):
        n_small = counts["classes_dropped_small"]
        notes.append(
            f"{n_small} {'class' if n_small == 1 else 'classes'} with fewer than "
            f"{ds.min_questions_per_class} questions dropped "
            f"({counts['rows_dropped_small_class']} rows)"
        )
    if counts.get("rows_dropped_max_per_class"):
        notes.append(
            f"{counts['rows_dropped_max_per_class']} rows left out by max_questions_per_class="
            f"{ds.max_questions_per_class}"
        )
    if counts.get("rows_dropped_max_train_per_class"):
        notes.append(
            f"{counts['rows_dropped_max_train_per_class']} training rows left out by "
            f"max_train_per_class={ds.max_train_per_class} (validation and test kept)"
        )
    if counts.get("rows_duplicate_text"):
        n_dup = counts["rows_duplicate_text"]
        notes.append(
            f"{n_dup} {'question repeats' if n_dup == 1 else 'questions repeat'} an earlier "
            "question of the same database word for word; kept, as in the source data"
        )
    return {
        "name": name,
        "n_classes": counts["classes"],
        "n_rows": counts["rows"],
        "train": counts["train"],
        "val": counts["val"],
        "test": counts["test"],
        "notes": notes,
    }


def _threads(cfg: Config) -> list[ThreadCount]:
    """The thread counts the results depend on: a float sum split over another number of
    threads rounds differently (hhnas.machine)."""
    return [
        {
            "jobs": "search iteration jobs (training.threads)",
            "threads": int(cfg.raw["training"]["threads"]),
        },
        {
            "jobs": "feature jobs (resources.features.threads)",
            "threads": cfg.resources["features"].threads,
        },
        {
            "jobs": "final model jobs (training.threads; resources.features.threads when "
            "final.finetune trains the encoder)",
            "threads": cfg.final_threads,
        },
    ]


def _provenance(cfg: Config, basedir: str) -> Provenance:
    """``basedir``: the workflow's checkout (not the working directory, which holds the data);
    the raw config is shown as it is. The CPU is the one building the report: on a local run
    the one every job ran on."""
    config = cfg.raw
    return {
        "title": "HHNAS-AM reproduction report",
        "generated_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit(basedir),
        "software": software_versions(
            [
                "python",
                "hhnas",
                "torch",
                "transformers",
                "snakemake",
                "numpy",
                "pandas",
                "matplotlib",
                "optuna",
                "scikit-learn",
            ]
        ),
        "config_yaml": yaml.safe_dump(config, sort_keys=False),
        "cpu": describe_cpu(cpu_info()),
        "threads": _threads(cfg),
    }


def comparison_section(inputs: Inputs) -> Section:
    """The comparison table (read back from its CSV) and the best-so-far figure."""
    table = pd.read_csv(inputs["table_csv"], dtype=str, keep_default_na=False)
    return {
        "tables": [
            {
                "title": "Search strategies, ablations and plain baselines under one budget",
                "caption": caption("comparison_table"),
                "html": table_html(table),
            }
        ],
        "figures": [
            {
                "title": "Best-so-far validation accuracy per strategy",
                "caption": caption("comparison_figure"),
                "data_uri": embed_image(inputs["figure_png"]),
            }
        ],
    }


def build_comparison_report(
    cfg: Config, inputs: Inputs, template: str, out: str, basedir: str
) -> None:
    """results/comparison.html: the comparison alone, for `make compare`."""
    section = comparison_section(inputs)
    cmp = cfg.comparison
    context: ReportContext = {
        **_provenance(cfg, basedir),
        "title": f"HHNAS-AM: strategies and baselines compared ({cmp.dataset})",
        "datasets": [],
        "tables": section["tables"],
        "figures": section["figures"],
        "choices": _choices(cfg.raw),
        "failed": [],
        "runtimes": [],
        "notes": [
            f"Variants: {', '.join(cmp.strategies + cmp.ablations)}; each ran "
            f"{cfg.experiments} experiments x {cfg.iterations} iterations.",
            f"Baselines: {', '.join(cmp.baselines)}.",
        ],
    }
    render_report(template, out, context)


def _figure(path: str, title: str, text: str) -> Figure:
    return {"title": title, "caption": text, "data_uri": embed_image(path)}


def table2_with_final(table: pd.DataFrame, final: FinalMetrics | None) -> pd.DataFrame:
    """Table 2 with the final model's validation and test accuracy beside the search's best."""
    if final is None:
        return table
    out = table.copy()
    out["Final model (ours)"] = [
        round(100 * final["val"]["accuracy"], 2),
        round(100 * final["test"]["accuracy"], 2),
    ]
    out["Final model top-3 (ours)"] = [
        round(100 * final["val"]["top3_accuracy"], 2),
        round(100 * final["test"]["top3_accuracy"], 2),
    ]
    return out


def _paper_tables(
    frames: dict[str, pd.DataFrame],
    roles: dict[str, str],
    ref: Reference,
    finals: dict[str, FinalMetrics] | None = None,
) -> list[Table]:
    """The paper's tables for the datasets in its roles; reference numbers only beside the
    dataset in the spider role (they are Spider's). ``finals``: final models' metrics by
    dataset, shown beside Table 2."""
    finals = finals or {}
    made = [
        (
            "spider",
            "table3",
            "Table 3: validation accuracy per experiment and model",
            lambda df: table3(df, paper=TABLE3),
        ),
        (
            "heldout",
            "table1",
            "Table 1: test accuracy per experiment and model",
            lambda df: table1(df, paper=TABLE1),
        ),
        (
            "spider",
            "table2",
            "Table 2: comparison with the cited baseline and the paper",
            lambda df: table2_with_final(
                table2(df, ref["cited_baseline"], ref["paper"]), finals.get(roles["spider"])
            ),
        ),
    ]
    return [
        {
            "title": f"{title} ({roles[role]})",
            "caption": caption(name),
            "html": table_html(build(frames[roles[role]])),
        }
        for role, name, title, build in made
        if role in roles
    ]


def _spider_notes(
    cfg: Config, frame: pd.DataFrame, name: str, references: list[MeasuredReference]
) -> list[str]:
    """The best candidate of the dataset in the spider role, and the references about it, each
    labelled; a reference point says whether this run's best candidate is above it."""
    best = best_candidate(frame)
    notes = [
        f"Best {name} candidate: Model {best['model']} (experiment {best['experiment']}, "
        f"iteration {best['iteration']}): validation {_pct(best['val_acc'])} %, "
        f"test {_pct(best['test_acc'])} %.",
        "The paper's Spider set has 86 classes and 6,998 rows 'after merging' (not described); "
        "ours keeps the train_spider databases with at least "
        f"{cfg.datasets[name].min_questions_per_class} questions.",
    ]
    for ref in shown(references, name, "notes"):
        note = labelled(ref)
        if "test_accuracy" in ref:
            side = "above" if 100 * best["test_acc"] > ref["test_accuracy"] else "NOT above"
            note += (
                f" This run's best searched candidate ({_pct(best['test_acc'])} % test) is "
                f"{side} it."
            )
        notes.append(note)
    return notes


def _reference(cfg: Config) -> Reference:
    """Config `reference`: the paper's own figures (Table 2 labels them as the paper's)."""
    return cfg.raw.get("reference") or {}


def _references(inputs: Inputs) -> list[MeasuredReference]:
    """report/references.yaml, which rule report_html passes; a report built without it (a
    test, a tool) shows no reference."""
    path = inputs.get("references")
    return load_references(str(path)) if path else []


def build_report(cfg: Config, inputs: Inputs, template: str, out: str, basedir: str) -> None:
    """results/report.html; the paper's tables only for the datasets in its roles."""
    config, roles = cfg.raw, cfg.roles
    frames = {name: load_metrics(list(inputs[f"metrics_{name}"])) for name in cfg.run_datasets}
    ref = _reference(cfg)
    references = _references(inputs)
    finals: dict[str, FinalMetrics] = {
        d: read_json(inputs[f"final_metrics_{d}"])
        for d in cfg.final_datasets
        if f"final_metrics_{d}" in inputs
    }
    errors: dict[str, ErrorAnalysis] = {d: read_json(inputs[f"errors_{d}"]) for d in finals}
    tables = _paper_tables(frames, roles, ref, finals)
    for d in finals:
        tables += final_tables(d, finals[d], errors[d])
    lead = roles.get("spider") or next(iter(finals), None)
    opening = (
        verdict(
            lead,
            finals[lead],
            errors[lead],
            ref.get("paper") if lead == roles.get("spider") else None,
            [labelled(r) for r in shown(references, lead, "verdict")]
            if lead == roles.get("spider")
            else [],
        )
        if lead in finals
        else []
    )
    figures: list[Figure] = []
    for path in inputs["figures"]:
        if path.endswith(".png"):
            stem = Path(path).stem
            title = stem.replace("figure", "Figure ").replace("model", "Model ")
            figures.append(
                _figure(
                    path,
                    f"{title} ({roles['spider']})",
                    caption(stem if stem in ("figure3", "figure4") else "model_trend"),
                )
            )
    for name, df in frames.items():
        if roles.get("spider") != name:
            # Its Table 3 and trend figures, under its own name.
            tables.append(
                {
                    "title": f"Validation accuracy per experiment and model ({name})",
                    "caption": caption("dataset_table", dataset=name),
                    "html": table_html(table3(df)),
                }
            )
            for path in inputs.get(f"own_{name}", []):
                if path.endswith(".png"):
                    figures.append(
                        _figure(
                            path,
                            f"{Path(path).stem.replace('model', 'Model ')} ({name})",
                            caption("dataset_model_trend", dataset=name),
                        )
                    )
        tables.append(
            {
                "title": f"Best candidate of each model ({name})",
                "caption": "Chosen by validation accuracy; test accuracy of that candidate.",
                "html": table_html(best_per_model(df)),
            }
        )
    if "candidates" in inputs:
        tables.append(candidates_entry(str(inputs["candidates"]), out))
    if "table_csv" in inputs:
        section = comparison_section(inputs)
        tables += section["tables"]
        figures += section["figures"]
    study = study_section(inputs) if "study_html" in inputs else None
    if study is not None:
        tables.append(
            {
                "title": "Study: does adaptive mutation beat plain search?",
                "caption": "The whole study, with its datasets and settings, is in study.html "
                "beside this report; its tables and figures follow.",
                "html": '<p><a href="study.html">results/study.html</a></p>',
            }
        )
        tables += study["tables"]
        figures += study["figures"]
    regions = pd.concat([failure_regions(df) for df in frames.values()], ignore_index=True)
    if not regions.empty:
        tables.append(
            {
                "title": "Failed candidates by region of the search space",
                "caption": "Failures grouped by dataset, model, optimizer, learning-rate decade "
                "and error class, most first; 'Of evaluated': candidates of that model on that "
                "dataset. The list of every failure follows below.",
                "html": table_html(regions),
            }
        )
    failed: list[FailedCandidate] = []
    for name, df in frames.items():
        for _, row in df[df["status"] == "failed"].iterrows():
            failed.append(
                {
                    "dataset": name,
                    "experiment": int(row["experiment"]),
                    "iteration": int(row["iteration"]),
                    "model": int(row["model"]),
                    "error": row["error"],
                }
            )
    runtimes: list[Runtime] = [
        {
            "stage": f"search on {name}: {len(df)} candidates (sum of training time)",
            "seconds": round(float(df["seconds"].sum()), 1),
        }
        for name, df in frames.items()
    ]
    notes = []
    for name, df in frames.items():
        if roles.get("spider") != name:
            best = best_candidate(df)
            notes.append(
                f"Best {name} candidate: Model {best['model']} (experiment "
                f"{best['experiment']}, iteration {best['iteration']}): validation "
                f"{_pct(best['val_acc'])} %, test {_pct(best['test_acc'])} %."
            )
    if "spider" in roles:
        notes += _spider_notes(cfg, frames[roles["spider"]], roles["spider"], references)
    if study is not None:
        notes += study["verdict"] + study["notes"]
    notes.append(
        "The paper fine-tunes RoBERTa-base per candidate (about 5 days per experiment on a GPU); "
        f"this run used backbone '{config['backbone']['path']}' in mode "
        f"'{config['backbone']['mode']}'."
    )
    provenance = _provenance(cfg, basedir)
    if not roles:
        provenance["title"] = f"HHNAS-AM search report: {', '.join(cfg.run_datasets)}"
    context: ReportContext = {
        **provenance,
        "datasets": [
            _dataset_entry(n, read_json(inputs[f"counts_{n}"]), cfg.datasets[n])
            for n in cfg.run_datasets
        ],
        "tables": tables,
        "figures": figures,
        "choices": _choices(config),
        "failed": failed,
        "runtimes": runtimes,
        "notes": notes,
        "verdict": opening,
    }
    render_report(template, out, context)


def _study_datasets(inputs: Inputs) -> list[str]:
    return [k[len("study_summary_") :] for k in inputs if k.startswith("study_summary_")]


def _pts(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.2f}"


def study_notes(summary: StudySummary) -> list[str]:
    """What one dataset's study measured beside the conclusion, each figure from its summary:
    the surrogate's fidelity and whether it orders the variants as the real runs did, the noise
    floor and the smallest differences it lets the study see, and the Q-table analysis. No
    ranking of the variants: the conclusion (hhnas.reporting.study_conclusion) says what the
    tests allow."""
    d = summary["dataset"]
    sur, noise = summary["surrogate"], summary["noise"]
    fid = sur["fidelity"]
    hold = fid["holdout"]["val"]
    order = sur["order"]
    per_model = hold.get("per_model") or {}
    templates = "; ".join(
        f"M{m} {v['mae'] * 100:.2f} (n {v['n']})" for m, v in sorted(per_model.items())
    )
    notes = [
        f"{d}, surrogate: {fid['choice']} ({fid['reason']}); on {fid['n_holdout']} held-out "
        f"real candidates R² {hold['r2']:.3f}, Spearman {hold['spearman']:.3f}, mean absolute "
        f"error {hold['mae'] * 100:.2f} points of validation accuracy"
        + (f" (per template: {templates})" if templates else "")
        + ". Run at the confirmatory "
        f"runs' own seeds it orders the variants {', '.join(order['surrogate_order'])}; the "
        f"real runs ordered them {', '.join(order['real_order'])} (Kendall's tau "
        f"{_pts(order['kendall_tau'])}; same top variant: {'yes' if order['same_top'] else 'no'}).",
        f"{d}, noise floor: retraining one of the best configurations with another seed moves "
        f"its validation accuracy by a pooled sd of {_pts(noise['sd'])} points (test "
        f"{_pts(noise['test_sd_top'])}; over the best and the random configurations together "
        f"{_pts(noise['val_sd'])} and {_pts(noise['test_sd'])}). From that noise alone, with the "
        "confirmatory runs' "
        f"experiments a difference below {_pts(noise['detectable_real'])} points cannot be "
        f"seen (two-sided t-test at alpha {summary['settings']['alpha']}, 80 % power), and "
        f"with the surrogate's {sur['seeds']} seeds one below "
        f"{_pts(noise['detectable_surrogate'])} points.",
    ]
    observed = noise["observed"]
    if observed:
        notes.append(
            f"{d}, from the paired differences the confirmatory runs observed (search paths vary "
            "as well as training seeds), the smallest detectable differences are: "
            + "; ".join(f"{k} {_pts(v)} points" for k, v in observed.items())
            + "."
        )
    q = summary["qtable"]
    imp = q["importance"]
    top = sorted(imp, key=lambda n: -imp[n])[:3]
    parts = []
    for v, r in q["per_variant"].items():
        ci = r["ci"]
        parts.append(
            f"{v} mean rho {_pts(r['mean_rho'])}"
            + ("" if ci is None else f" (95 % t-CI [{ci[0]:.2f}, {ci[1]:.2f}], n {r['n']})")
        )
    for v, c in q["against_frozen"].items():
        if c["ci_low"] <= 0 <= c["ci_high"]:
            verdict = "not distinguishable from the frozen Q-table"
        else:
            verdict = "above" if c["mean_diff"] > 0 else "below"
            verdict += " the frozen Q-table's"
        parts.append(
            f"{v} minus random-mutation {c['mean_diff']:+.2f} "
            f"(95 % t-CI [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}], raw p {c['p']:.3f}: "
            f"{verdict})"
        )
    notes.append(
        f"{d}, Q-table: the surrogate's most important features are {', '.join(top)}. "
        "Spearman's rho between importance and how often a search mutated each feature in its "
        "second half: " + "; ".join(parts) + "."
    )
    return notes


def study_section(inputs: Inputs) -> StudySection:
    """The study's conclusion, tables, figures and notes for every dataset in `inputs`."""
    tables: list[Table] = []
    figures: list[Figure] = []
    notes: list[str] = []
    verdict: list[str] = []
    if "study_conclusion" in inputs:
        verdict = [p for p in read_json(inputs["study_conclusion"])["text"].split("\n\n") if p]
        table = pd.read_csv(inputs["study_conclusion_table"], dtype=str, keep_default_na=False)
        tables.append(
            {
                "title": "Study: conclusion, every comparison with raw and Holm-adjusted p",
                "caption": caption("study_conclusion"),
                "html": table_html(table),
            }
        )
    for d in _study_datasets(inputs):
        for key, title in (
            ("table", "confirmatory runs"),
            ("surrogate", "surrogate benchmark"),
            ("noise", "noise floor"),
            ("qtable", "does the Q-table mutate what matters?"),
        ):
            table = pd.read_csv(inputs[f"study_{key}_{d}"], dtype=str, keep_default_na=False)
            tables.append(
                {
                    "title": f"Study: {title} ({d})",
                    "caption": caption(f"study_{key}", dataset=d),
                    "html": table_html(table),
                }
            )
        figures.append(
            _figure(
                inputs[f"study_curves_{d}"],
                f"Study: best-so-far validation accuracy ({d})",
                caption("study_curves", dataset=d),
            )
        )
        figures.append(
            _figure(
                inputs[f"study_surrogate_curves_{d}"],
                f"Study: best-so-far validation accuracy, surrogate benchmark ({d})",
                caption("study_surrogate_curves", dataset=d),
            )
        )
        figures.append(
            _figure(
                inputs[f"study_cost_{d}"],
                f"Study: accuracy against cost ({d})",
                caption("study_cost", dataset=d),
            )
        )
        notes += study_notes(read_json(inputs[f"study_summary_{d}"]))
    return {"tables": tables, "figures": figures, "notes": notes, "verdict": verdict}


def build_study_report(cfg: Config, inputs: Inputs, template: str, out: str, basedir: str) -> None:
    """results/study.html: the study alone (`make study`)."""
    study = cfg.study
    section = study_section(inputs)
    shared = [f"{v} = {d}" for v, d in cfg.study_dirs.items() if v != d]
    context: ReportContext = {
        **_provenance(cfg, basedir),
        "title": "HHNAS-AM study: does adaptive mutation beat plain search?",
        "datasets": [
            _dataset_entry(d, read_json(inputs[f"study_counts_{d}"]), cfg.datasets[d])
            for d in _study_datasets(inputs)
        ],
        "tables": section["tables"],
        "figures": section["figures"],
        "choices": _choices(cfg.raw),
        "failed": [],
        "runtimes": [],
        "notes": [
            f"Confirmatory runs: {', '.join(study.variants)}; each ran {study.experiments} "
            f"experiments x {cfg.iterations} iterations on every dataset, experiment seeds "
            f"{study.search_seed * 1000 + 1}-{study.search_seed * 1000 + study.experiments} "
            f"(the default was chosen on search.seed {cfg.raw['search']['seed']}'s seeds). "
            "Variants that share another's configuration share its files: "
            + (", ".join(shared) or "none")
            + ".",
            f"Surrogate benchmark: {', '.join(study.surrogate_variants)}, "
            f"{study.surrogate.seeds} seeds each. Equivalence margin {study.margin} points, "
            f"alpha {study.alpha} (docs/study.md).",
        ]
        + section["notes"],
        # The generated conclusion (hhnas.reporting.study_conclusion), nothing written by hand.
        "verdict": section["verdict"],
    }
    render_report(template, out, context)
