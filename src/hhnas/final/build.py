"""Retrain the search's best candidates, weigh them with TF-IDF on validation, and write the
final model directory.

Each member is retrained with the seed its search iteration used (hhnas.jobs.iteration
.training_seed) on the same cached features, so it is the candidate the search scored: its
best-validation epoch's weights are kept, and the metrics record whether the retrained
validation and test accuracy equal the search's (``reproduced``). The pool is the top
``final.ensemble.candidates`` candidates by validation accuracy and, with ``tfidf``, TF-IDF +
logistic regression fitted on the training split (hhnas.final.lexical). Method ``greedy`` weighs
the pool by greedy ensemble selection on validation (hhnas.final.ensemble_selection), ``mean``
averages the candidates; members of weight 0 are not saved. Validation decides every choice;
test accuracy is only reported.
With ``final.finetune.enabled`` the best candidate's heads are trained again together with the
encoder (its own recipe, its searched optimiser, the search seed), the best-validation epoch's
encoder is saved in ``encoder/`` and replaces the named backbone at prediction.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import numpy as np

from hhnas.config import LLM, Backbone, Search, Training
from hhnas.config.job import FinalJob, FinalJobConfig
from hhnas.final.ensemble_selection import ensemble_weights
from hhnas.final.evaluation import SplitMetrics, split_metrics, topk_accuracy
from hhnas.final.inference import INPUTS, member_probabilities, weighted_mean
from hhnas.final.modeldir import (
    CLASSES,
    FEATURES,
    METRICS,
    WEIGHTS,
    FeatureIdentities,
    Manifest,
    feature_code_settings,
    model_weights_sha256,
    write_model_dir,
)
from hhnas.final.selection import select_candidates
from hhnas.io import read_json, write_json, write_npz
from hhnas.machine import machine
from hhnas.records import Classes, Metrics, Params, TrainResult
from hhnas.training.data import FeatureSet

if TYPE_CHECKING:
    import torch

    from hhnas.final.lexical import LexicalModel
    from hhnas.training.finetune import TokenCache

EVAL_SPLITS = ("val", "test")
# A member's probabilities on each of EVAL_SPLITS.
SplitProbs = dict[str, np.ndarray]


class FinetunedEpoch(TypedDict):
    epoch: int
    train_loss: float
    val_acc: float
    train_seconds: float


class MemberRecord(TypedDict):
    """A member in metrics.json: its provenance, the retraining's figures beside the
    search's, and whether they are equal (a fine-tuned member adds its epochs)."""

    experiment: int
    iteration: int
    model: int
    macro: list[int]
    params: Params
    seed: int
    best_epoch: int | None
    n_params: int | None
    search_val_acc: float
    search_test_acc: float
    val_acc: float
    test_acc: float
    reproduced: bool
    weight: float
    finetuned: NotRequired[bool]
    epochs: NotRequired[list[FinetunedEpoch]]


class LexicalRecord(TypedDict):
    """The TF-IDF + logistic regression member in metrics.json (when its weight is > 0)."""

    kind: str
    C: float
    val_acc: float
    test_acc: float
    weight: float


class PoolEntry(TypedDict):
    """A model greedy selection could choose: its accuracy alone and the weight it got."""

    name: str
    val_acc: float
    test_acc: float
    weight: float


class SelectionRecord(TypedDict):
    """Greedy ensemble selection: the pool, and the validation accuracy after each round."""

    rounds: int
    pool: list[PoolEntry]
    val_accuracy_by_round: list[float]


class FinalMetrics(TypedDict):
    """The final model's metrics.json (and results/<dataset>/analysis/final_metrics.json).
    ``ensemble``: the saved members, neural and lexical; ``members``: the neural ones. Their
    weights and the lexical member's sum to 1."""

    dataset: str
    method: str
    ensemble: int
    val: SplitMetrics
    test: SplitMetrics
    members: list[MemberRecord]
    lexical: NotRequired[LexicalRecord]
    selection: NotRequired[SelectionRecord]


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class BestEpoch:
    """``on_best`` hook of the training loops: keeps the model and a copy of its weights at
    the best validation epoch; ``model()`` gives it back with those weights, in eval mode."""

    def __init__(self) -> None:
        self.model: Any = None
        self.state: dict[str, torch.Tensor] | None = None

    def __call__(self, model: Any, epoch: int) -> None:
        self.model = model
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def restored(self) -> Any:
        assert self.state is not None
        self.model.load_state_dict(self.state)
        return self.model.eval()


def member_record(
    candidate: Metrics, result: TrainResult, params: Params, seed: int
) -> MemberRecord:
    """What metrics.json records of a member: its provenance, the retraining's figures beside
    the search's, and whether they are equal."""
    return {
        "experiment": int(candidate["experiment"]),
        "iteration": int(candidate["iteration"]),
        "model": int(candidate["model"]),
        "macro": list(candidate["macro"]),
        "params": dict(params),
        "seed": seed,
        "best_epoch": result["best_epoch"],
        "n_params": result["n_params"],
        "search_val_acc": float(candidate["val_acc"]),
        "search_test_acc": float(candidate["test_acc"]),
        "val_acc": float(result["val_acc"]),
        "test_acc": float(result["test_acc"]),
        "reproduced": result["val_acc"] == candidate["val_acc"]
        and result["test_acc"] == candidate["test_acc"],
        # Set when the ensemble's weights are chosen.
        "weight": 0.0,
    }


def retrain_member(
    candidate: Metrics, fs: FeatureSet, search: Search, training: Training
) -> tuple[Any, MemberRecord]:
    """The candidate's model at its best validation epoch, and the retraining's metrics."""
    from hhnas.jobs.iteration import training_seed
    from hhnas.training.candidate import train_candidate

    best = BestEpoch()
    seed = training_seed(search, int(candidate["experiment"]), int(candidate["iteration"]))
    result = train_candidate(
        candidate["macro"],
        candidate["params"],
        fs,
        training,
        seed=seed,
        progress=lambda m: _say(f"  {m}"),
        on_best=best,
    )
    if result["status"] != "ok" or best.state is None:
        raise RuntimeError(
            f"retraining candidate experiment {candidate['experiment']} iteration "
            f"{candidate['iteration']} failed ({result['error']}), although the search "
            "trained it: the features or the code changed since the search ran; re-run the "
            "search (delete results/<dataset>/search/)"
        )
    return best.restored(), member_record(candidate, result, candidate["params"], seed)


ENCODER_DIR = "encoder"


def finetune_config(training: Training, final: FinalJob) -> Training:
    """The training section a fine-tuned member trains with: the search's, with the recipe's
    epochs, batch size, schedule, warm-up, clipping and head rate over it, and the final job's
    threads."""
    ft = final.finetune
    return dataclasses.replace(
        training,
        epochs=ft.epochs,
        batch_size=ft.batch_size,
        lr_schedule=ft.lr_schedule,
        warmup_ratio=ft.warmup_ratio,
        grad_clip=ft.grad_clip,
        head_lr_scale=ft.head_lr_scale,
        threads=final.threads,
    )


def finetune_member(
    candidate: Metrics,
    fs: FeatureSet,
    search: Search,
    training: Training,
    backbone: Backbone,
    final: FinalJob,
    backbone_dir: str,
    tokens: TokenCache,
) -> tuple[Any, MemberRecord]:
    """The candidate's template with the encoder fine-tuned (hhnas.training.finetune) at its
    best validation epoch, and the metrics; the searched learning rate is replaced by the
    recipe's (``final.finetune.learning_rate``), ``training`` by :func:`finetune_config`'s.
    ``tokens``: every dataset row's token ids."""
    from hhnas.jobs.iteration import training_seed
    from hhnas.training.finetune import train_finetune_candidate

    best = BestEpoch()
    params = {**candidate["params"], "learning_rate": final.finetune.learning_rate}
    seed = training_seed(search, int(candidate["experiment"]), int(candidate["iteration"]))
    result = train_finetune_candidate(
        candidate["macro"],
        params,
        fs,
        tokens,
        backbone_dir,
        finetune_config(training, final),
        backbone,
        seed=seed,
        progress=lambda m: _say(f"  {m}"),
        on_best=best,
    )
    if result["status"] != "ok" or best.state is None:
        raise RuntimeError(
            f"fine-tuning candidate experiment {candidate['experiment']} iteration "
            f"{candidate['iteration']} failed ({result['error']}); try a smaller "
            "final.finetune.learning_rate, or final.finetune.enabled: false"
        )
    record: MemberRecord = {
        **member_record(candidate, result, params, seed),
        # Another model than the search's: the encoder trained too.
        "reproduced": False,
        "weight": 1.0,
        "finetuned": True,
        "epochs": [
            {k: e[k] for k in ("epoch", "train_loss", "val_acc", "train_seconds")}
            for e in result["epochs"]
        ],
    }
    return best.restored(), record


def finetuned_members(
    candidate: Metrics,
    fs: FeatureSet,
    job: FinalJobConfig,
    inputs: dict[str, str],
    backbone_dir: str,
) -> tuple[list[Any], list[MemberRecord], dict[str, np.ndarray]]:
    """The fine-tuned final member, its record, and its validation and test probabilities as
    ``hhnas predict`` computes them for those splits' texts (each split's rows alone, batched
    by length)."""
    import torch

    from hhnas.data.prepare import read_dataset
    from hhnas.features.tokens import tokenize_texts
    from hhnas.training.finetune import TokenCache, finetuned_probabilities

    texts = [r["text"] for r in read_dataset(inputs["rows"])]
    tokens = TokenCache(**tokenize_texts(backbone_dir, texts, job.backbone.max_length))
    final = job.final
    model, record = finetune_member(
        candidate, fs, job.search, job.training, job.backbone, final, backbone_dir, tokens
    )
    model = model.cpu()  # evaluated where hhnas predict runs
    torch.set_num_threads(final.threads)
    batch = final.finetune.batch_size
    probs = {
        s: finetuned_probabilities(
            model, tokens.subset(fs.rows[s]), fs.llm[s], fs.linking[s], batch
        )
        for s in EVAL_SPLITS
    }
    return [model], [record], probs


def retrained_members(
    candidates: list[Metrics],
    fs: FeatureSet,
    search: Search,
    training: Training,
    dataset: str,
    progress: Callable[[str], None],
) -> tuple[list[Any], list[MemberRecord], list[SplitProbs]]:
    """The frozen-mode members (the top candidates retrained), their records, and each one's
    validation and test probabilities (as `hhnas predict` computes them)."""
    import torch

    models, members = [], []
    for i, cand in enumerate(candidates, 1):
        progress(
            f"[{dataset}] retraining member {i}/{len(candidates)}: Model {cand['model']}, "
            f"experiment {cand['experiment']} iteration {cand['iteration']} "
            f"(search val {cand['val_acc']:.4f})"
        )
        model, record = retrain_member(cand, fs, search, training)
        progress(
            f"[{dataset}] member {i}: val {record['val_acc']:.4f} test {record['test_acc']:.4f} "
            f"(reproduces the search: {record['reproduced']})"
        )
        models.append(model)
        members.append(record)
    torch.set_num_threads(training.threads)
    probs = [
        {
            s: member_probabilities(model, [fs.backbone[s], fs.llm[s], fs.linking[s]])
            for s in EVAL_SPLITS
        }
        for model in models
    ]
    return models, members, probs


def lexical_member(
    fs: FeatureSet, job: FinalJobConfig, texts: list[str], progress: Callable[[str], None]
) -> tuple[LexicalModel, SplitProbs]:
    """TF-IDF + logistic regression fitted on the training rows (C chosen on validation), and
    its validation and test probabilities."""
    from hhnas.final.lexical import fit_lexical

    progress("fitting TF-IDF + logistic regression on the training split (C on validation)")
    model = fit_lexical(
        texts,
        fs.rows,
        {s: fs.y[s].numpy() for s in ("train", "val")},
        fs.n_classes,
        job.final.tfidf_c_grid,
        job.search.seed,
        job.final.threads,
    )
    return model, {s: model.probabilities([texts[i] for i in fs.rows[s]]) for s in EVAL_SPLITS}


def pool_name(member: MemberRecord) -> str:
    return (
        f"Model {member['model']} (experiment {member['experiment']}, "
        f"iteration {member['iteration']})"
    )


@dataclasses.dataclass
class Ensemble:
    """The saved members (weight > 0) and what metrics.json records of the choice."""

    models: list[Any]
    members: list[MemberRecord]
    lexical: LexicalModel | None
    lexical_record: LexicalRecord | None
    probs: SplitProbs
    selection: SelectionRecord | None


def choose_ensemble(
    models: list[Any],
    members: list[MemberRecord],
    member_probs: list[SplitProbs],
    lexical: tuple[LexicalModel, SplitProbs] | None,
    labels: dict[str, np.ndarray],
    method: str,
    rounds: int,
) -> Ensemble:
    """The pool (the neural members, then the lexical one) weighed on validation by ``method``;
    the members of weight 0 dropped; the saved members' weighted validation and test
    probabilities (:func:`weighted_mean`, as `hhnas predict` combines them). The weights see
    the validation labels only; the test labels give the figures reported beside them."""
    pool = list(member_probs) + ([lexical[1]] if lexical else [])
    weights, selection = ensemble_weights(method, [p["val"] for p in pool], labels["val"], rounds)
    keep = [i for i, w in enumerate(weights) if w > 0]
    probs = {
        s: weighted_mean([pool[i][s] for i in keep], [weights[i] for i in keep])
        for s in EVAL_SPLITS
    }
    acc = [{s: topk_accuracy(p[s], labels[s], 1) for s in EVAL_SPLITS} for p in pool]
    n = len(members)
    lexical_record: LexicalRecord | None = None
    if lexical is not None and weights[n] > 0:
        lexical_record = {
            "kind": "tfidf-lr",
            "C": lexical[0].c,
            "val_acc": acc[n]["val"],
            "test_acc": acc[n]["test"],
            "weight": float(weights[n]),
        }
    record: SelectionRecord | None = None
    if selection is not None:
        names = [pool_name(m) for m in members] + (["tfidf-lr"] if lexical else [])
        record = {
            "rounds": selection.rounds,
            "pool": [
                {"name": name, "val_acc": a["val"], "test_acc": a["test"], "weight": float(w)}
                for name, a, w in zip(names, acc, weights, strict=True)
            ],
            "val_accuracy_by_round": list(selection.val_accuracy_by_round),
        }
    return Ensemble(
        models=[models[i] for i in keep if i < n],
        members=[{**members[i], "weight": float(weights[i])} for i in keep if i < n],
        lexical=lexical[0] if lexical_record is not None and lexical else None,
        lexical_record=lexical_record,
        probs=probs,
        selection=record,
    )


def _report_choice(
    chosen: Ensemble, method: str, dataset: str, progress: Callable[[str], None]
) -> None:
    parts = [f"{pool_name(m)} {m['weight']:.3f}" for m in chosen.members]
    if chosen.lexical_record is not None:
        parts.append(f"tfidf-lr {chosen.lexical_record['weight']:.3f}")
    progress(f"[{dataset}] ensemble ({method}): " + ", ".join(parts))
    if chosen.selection is not None:
        by_round = chosen.selection["val_accuracy_by_round"]
        progress(
            f"[{dataset}] greedy selection: validation accuracy {by_round[0]:.4f} after round 1, "
            f"{by_round[-1]:.4f} after round {len(by_round)}"
        )


def model_name(path: str) -> str:
    """A readable name for a model directory: packages keep theirs in a `model` subfolder."""
    p = Path(path)
    return p.parent.name if p.name == "model" else p.name


def _identities(
    inputs: dict[str, str], backbone: Backbone, llm: LLM, features_threads: int
) -> FeatureIdentities:
    """The models the inputs were computed with, and how (modeldir's BACKBONE_SETTINGS and
    LLM_SETTINGS are the settings a prediction must share)."""
    backbone_dir = read_json(inputs["backbone_model"])["path"]
    llm_dir = str(Path(inputs["llm_model"]).resolve())
    return {
        "backbone": {
            "spec": backbone.path,
            "name": model_name(backbone_dir),
            "weights_sha256": model_weights_sha256(backbone_dir),
            "pooling": backbone.pooling,
            "max_length": backbone.max_length,
            "batch_size": backbone.batch_size,
        },
        "llm": {
            "gguf": llm.gguf,
            "name": llm.gguf.split(":", 1)[-1],
            "model_dir": llm_dir,
            "weights_sha256": model_weights_sha256(llm_dir),
            "layer": llm.layer,
            "max_length": llm.max_length,
            "batch_size": llm.batch_size,
        },
        "threads": features_threads,
        "code": feature_code_settings(),
    }


def build_final_model(
    metrics_paths: list[str],
    inputs: dict[str, str],
    config: dict[str, Any],
    dataset: str,
    out_dir: str,
    eval_out: str,
    commit: str = "unknown",
    progress: Callable[[str], None] = _say,
) -> FinalMetrics:
    """Write ``out_dir`` (hhnas.final.modeldir) and ``eval_out`` (the validation and test
    probabilities, for the error analysis); return the metrics. ``config``: the job's payload
    (:meth:`hhnas.config.Config.final_job_config`), parsed here once."""
    from safetensors.torch import save_file

    from hhnas.jobs.iteration import load_features, search_config_hash

    job = FinalJobConfig.from_mapping(config)
    if job.backbone.mode != "frozen":
        raise ValueError(
            "backbone.mode: the final model is built for the frozen mode only (the fine-tuned "
            "encoder would have to be saved with it); run the quick profile, or leave "
            "final.enabled false with backbone.mode finetune"
        )
    ens = job.final.ensemble
    finetune = job.final.finetune.enabled
    if finetune and (ens.method, ens.candidates) != ("mean", 1):
        raise ValueError(
            "final.finetune.enabled needs final.ensemble: {method: mean, candidates: 1}"
        )
    candidates = select_candidates(metrics_paths, ens.candidates)
    fs = load_features(inputs, with_backbone=not finetune)
    classes: Classes = read_json(inputs["classes"])
    backbone_dir = read_json(inputs["backbone_model"])["path"]
    labels = {s: fs.y[s].numpy() for s in EVAL_SPLITS}
    if finetune:
        cand = candidates[0]
        progress(
            f"[{dataset}] fine-tuning the encoder with Model {cand['model']}, experiment "
            f"{cand['experiment']} iteration {cand['iteration']} (search val {cand['val_acc']:.4f})"
        )
        models, members, probs = finetuned_members(cand, fs, job, inputs, backbone_dir)
        chosen = Ensemble(models, members, None, None, probs, None)
    else:
        models, members, member_probs = retrained_members(
            candidates, fs, job.search, job.training, dataset, progress
        )
        lexical = None
        if ens.method == "greedy" and ens.tfidf:
            from hhnas.data.prepare import read_dataset

            texts = [r["text"] for r in read_dataset(inputs["rows"])]
            lexical = lexical_member(fs, job, texts, lambda m: progress(f"[{dataset}] {m}"))
        chosen = choose_ensemble(
            models, members, member_probs, lexical, labels, ens.method, ens.rounds
        )
        _report_choice(chosen, ens.method, dataset, progress)
    models, members, probs = chosen.models, chosen.members, chosen.probs
    metrics: FinalMetrics = {
        "dataset": dataset,
        "method": ens.method,
        "ensemble": len(members) + (chosen.lexical is not None),
        **{s: split_metrics(probs[s], labels[s], classes["classes"]) for s in EVAL_SPLITS},
        "members": members,
    }
    if chosen.lexical_record is not None:
        metrics["lexical"] = chosen.lexical_record
    if chosen.selection is not None:
        metrics["selection"] = chosen.selection
    llm_classes = dict(np.load(inputs["llm_classes"], allow_pickle=False))
    manifest: Manifest = {
        "dataset": dataset,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit,
        "config_hash": search_config_hash(job.raw, dataset),
        "n_classes": fs.n_classes,
        "method": ens.method,
        "members": [
            {
                k: m[k]
                for k in ("model", "macro", "params", "experiment", "iteration", "seed", "weight")
            }
            for m in members
        ],
        "training": {
            "cnn_filters": job.training.cnn_filters,
            "class_readout": job.training.class_readout,
        },
        "inputs": {
            "backbone": [
                int(models[0].encoder.config.hidden_size) if finetune else fs.backbone_dim
            ],
            "llm": list(fs.llm_shape),
            "linking": list(fs.linking_shape),
        },
        "features": _identities(inputs, job.backbone, job.llm, job.final.features_threads),
        "machine": machine(job.final.threads),
    }
    if chosen.lexical is not None and chosen.lexical_record is not None:
        from hhnas.final.lexical import FILES as LEXICAL_FILES

        manifest["lexical"] = {
            "kind": chosen.lexical_record["kind"],
            "C": chosen.lexical_record["C"],
            "weight": chosen.lexical_record["weight"],
            "files": list(LEXICAL_FILES),
        }
    if finetune:
        manifest["encoder"] = {
            "dir": ENCODER_DIR,
            "recipe": dataclasses.asdict(job.final.finetune),
            "pooling": job.backbone.pooling,
            "max_length": job.backbone.max_length,
            "threads": job.final.threads,
        }

    def write_files(tmp: Path) -> None:
        heads = [m.head for m in models] if finetune else models
        state = {
            f"m{i}.{key}": t.contiguous()
            for i, model in enumerate(heads)
            for key, t in model.state_dict().items()
        }
        save_file(state, str(tmp / WEIGHTS))
        if finetune:
            from transformers import AutoTokenizer

            models[0].encoder.save_pretrained(str(tmp / ENCODER_DIR), safe_serialization=True)
            AutoTokenizer.from_pretrained(backbone_dir, local_files_only=True).save_pretrained(
                str(tmp / ENCODER_DIR)
            )
        stats = {}
        for name in INPUTS:
            if name not in fs.stats:
                continue  # the fine-tuned encoder's vector is not standardised
            stats[f"{name}_mean"] = fs.stats[name].mean
            stats[f"{name}_std"] = fs.stats[name].std
        write_npz(
            tmp / FEATURES,
            **stats,
            llm_databases=llm_classes["databases"],
            llm_question_mean=llm_classes["question_mean"],
        )
        write_json(tmp / CLASSES, classes)
        write_json(tmp / METRICS, metrics)
        if chosen.lexical is not None:
            chosen.lexical.write(tmp)

    write_model_dir(out_dir, manifest, write_files)
    write_npz(
        eval_out,
        **{f"{s}_probs": probs[s] for s in EVAL_SPLITS},
        **{f"{s}_labels": labels[s] for s in EVAL_SPLITS},
        **{f"{s}_rows": fs.rows[s] for s in EVAL_SPLITS},
    )
    progress(
        f"[{dataset}] final model: val {metrics['val']['accuracy']:.4f} "
        f"test {metrics['test']['accuracy']:.4f} top-3 test {metrics['test']['top3_accuracy']:.4f}"
        f" -> {out_dir}"
    )
    return metrics
