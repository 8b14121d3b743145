"""Prediction with a final model directory: new text -> the inputs training saw -> probabilities.

Every input is computed as the feature jobs computed it for the dataset (hhnas.features), then
standardised with the training rows' statistics saved in the directory:

* backbone: the frozen encoder's L2-normalised pooled embedding (same pooling, length, batch);
* LLM: the question's embedding against the saved database vectors, centred with the saved
  mean question vector (a batch of one question cannot be centred on itself);
* linking: schema linking against the classes' saved schemas.

Inputs no member reads are not computed (a Model 1 ensemble never loads the LLM). The
probabilities are the weighted mean of the members' (the weights the final job chose, in the
manifest), the TF-IDF member's (hhnas.final.lexical) last, summed in the order and by the
function the final job used (:func:`weighted_mean`), so that its recorded accuracy is
reproduced exactly. A directory with a fine-tuned encoder (``encoder/``, final.finetune)
computes the backbone vector with that encoder inside the model, from token ids, batched as
training evaluated.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hhnas.final.modeldir import (
    CLASSES,
    FEATURES,
    WEIGHTS,
    BackboneIdentity,
    LLMIdentity,
    Manifest,
    Member,
    ModelDirError,
    ModelIdentity,
    model_weights_sha256,
    read_manifest,
)
from hhnas.io import read_json
from hhnas.records import Classes, DatabaseSchema
from hhnas.training.data import Standardisation

if TYPE_CHECKING:
    import torch

    from hhnas.final.lexical import LexicalModel

INPUTS = ("backbone", "llm", "linking")
EVAL_BATCH = 1024


def used_inputs(members: Sequence[Member]) -> set[str]:
    """Inputs some member's template reads (macro bits p1, p2, p3)."""
    return {name for m in members for name, bit in zip(INPUTS, m["macro"], strict=True) if bit}


def build_members(manifest: Manifest, state: Mapping[str, torch.Tensor]) -> list[Any]:
    """The members' heads in eval mode, weights from ``state`` (keys "m<i>.<param>")."""
    from hhnas.models.hybrid import HybridClassifier

    shapes = manifest["inputs"]
    n_classes = int(manifest["n_classes"])
    models = []
    for i, member in enumerate(manifest["members"]):
        model = HybridClassifier(
            member["macro"],
            member["params"],
            n_classes,
            int(shapes["backbone"][0]),
            tuple(shapes["llm"]),
            tuple(shapes["linking"]),
            int(manifest["training"]["cnn_filters"]),
            bool(manifest["training"]["class_readout"]),
        )
        prefix = f"m{i}."
        own = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        model.load_state_dict(own, strict=True)
        models.append(model.eval())
    return models


def member_probabilities(model: Any, inputs: Sequence[Any]) -> np.ndarray:
    """One member's softmax probabilities, ``[N, C]`` float64, in batches of EVAL_BATCH rows."""
    import torch

    rows = int(inputs[0].shape[0])
    with torch.no_grad():
        parts = [
            torch.softmax(model(*(x[i : i + EVAL_BATCH] for x in inputs)), dim=1)
            for i in range(0, rows, EVAL_BATCH)
        ]
    return torch.cat(parts).double().numpy() if parts else np.zeros((0, 0))


def weighted_mean(parts: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """``sum_i weights[i] * parts[i]``, accumulated in list order: the final job and
    `hhnas predict` both combine members here, so their sums round alike."""
    if not parts or len(parts) != len(weights):
        raise ValueError(f"{len(parts)} members' probabilities for {len(weights)} weights")
    total = np.zeros_like(parts[0], dtype=np.float64)
    for probs, weight in zip(parts, weights, strict=True):
        total += float(weight) * probs
    return total


def _same_weights(kind: str, path: str, features: ModelIdentity, fix: str) -> str:
    """``path`` if its weights are the ones the model was trained with, else what differs."""
    found = model_weights_sha256(path)
    if found != features["weights_sha256"]:
        raise ModelDirError(
            f"{kind} {path}: its weights differ from the ones this model was trained with "
            f"({features['name']}, weights sha256 {features['weights_sha256'][:12]}..., found "
            f"{found[:12]}...); pass {fix}"
        )
    return path


def _find_backbone(features: BackboneIdentity, override: str | None, manifest_path: Path) -> str:
    from hhnas.features.encoder import resolve_model_path

    spec = override or features["spec"]
    key = "--backbone" if override else f"features.backbone.spec of {manifest_path}"
    try:
        path = resolve_model_path(spec, key)
    except FileNotFoundError as exc:
        raise ModelDirError(str(exc)) from None
    return _same_weights("backbone", path, features, f"--backbone with {features['name']}")


def _find_llm(features: LLMIdentity, override: str | None, manifest_path: Path) -> str:
    """The converted LLM directory: --llm-dir, the one the workflow used, or a conversion of
    the GGUF the directory names into the user's cache (done once)."""
    from hhnas.features.llm import ensure_converted

    candidates = [override] if override else [features.get("model_dir")]
    path = next((p for p in candidates if p and (Path(p) / "config.json").is_file()), None)
    if path is None and override:
        raise ModelDirError(f"--llm-dir {override}: not a model directory with config.json")
    if path is None:
        cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hhnas" / "llm"
        path = str(cache / features["weights_sha256"][:16])
        print(f"converting the LLM {features['gguf']} into {path} (once)", file=sys.stderr)
        try:
            ensure_converted(features["gguf"], f"features.llm.gguf of {manifest_path}", path)
        except FileNotFoundError as exc:
            raise ModelDirError(str(exc)) from None
    return _same_weights("LLM", path, features, f"--llm-dir with the converted {features['gguf']}")


class Predictor:
    """A loaded final model: ``predict_proba(texts)`` and ``top_k(texts, k)``."""

    def __init__(
        self,
        model_dir: str | os.PathLike,
        backbone: str | None = None,
        llm_dir: str | None = None,
        threads: int | None = None,
        progress: bool = False,
    ) -> None:
        from safetensors.torch import load_file

        root = Path(model_dir)
        self.manifest = read_manifest(root)
        # The feature jobs' thread count by default: another count changes the embeddings'
        # last bits (benchmarks/README.md), and with them a near-tie's prediction.
        self.threads = threads or int(self.manifest["features"]["threads"])
        self.progress = progress
        classes: Classes = read_json(root / CLASSES)
        self.labels: list[str] = list(classes["classes"])
        self.schemas: list[DatabaseSchema | None] = list(classes["schemas"])
        stats = dict(np.load(root / FEATURES, allow_pickle=False))
        self.stats = {
            name: Standardisation(stats[f"{name}_mean"], stats[f"{name}_std"])
            for name in INPUTS
            if f"{name}_mean" in stats
        }
        self.llm_databases = stats["llm_databases"]
        self.llm_question_mean = stats["llm_question_mean"]
        self.models = build_members(self.manifest, load_file(str(root / WEIGHTS)))
        self.weights = [float(m["weight"]) for m in self.manifest["members"]]
        lexical = self.manifest.get("lexical")
        self.lexical: LexicalModel | None = None
        if lexical:
            # scikit-learn is imported only for a model that has a lexical member.
            from hhnas.final.lexical import LexicalModel

            self.lexical = LexicalModel.read(root)
            self.weights.append(float(lexical["weight"]))
        self.used = used_inputs(self.manifest["members"])
        features = self.manifest["features"]
        where = root / "hhnas-model.json"
        self.encoder = self.manifest.get("encoder")
        self.finetuned = None
        if self.encoder is not None:
            # The backbone vector comes from the saved fine-tuned encoder, not the named one.
            from hhnas.training.finetune import FineTunedHybrid, load_encoder

            self.used.discard("backbone")
            self.encoder_dir = str(root / self.encoder["dir"])
            self.finetuned = FineTunedHybrid(
                load_encoder(self.encoder_dir), self.models[0], str(self.encoder["pooling"])
            ).eval()
        self.backbone_dir = (
            _find_backbone(features["backbone"], backbone, where)
            if "backbone" in self.used
            else None
        )
        self.llm_dir = _find_llm(features["llm"], llm_dir, where) if "llm" in self.used else None
        self._llm = None

    # -- inputs
    def raw_inputs(self, texts: list[str]) -> dict[str, np.ndarray | None]:
        """Each used input before standardisation, as the feature jobs compute it."""
        features = self.manifest["features"]
        out: dict[str, np.ndarray | None] = dict.fromkeys(INPUTS)
        if "backbone" in self.used:
            from hhnas.features.encoder import encode_texts

            bb = features["backbone"]
            out["backbone"] = encode_texts(
                str(self.backbone_dir),
                texts,
                batch_size=int(bb["batch_size"]),
                max_length=int(bb["max_length"]),
                pooling=str(bb["pooling"]),
                threads=self.threads,
                progress=self.progress,
            )
        if "llm" in self.used:
            from hhnas.features.llm import ClassVectors, question_vectors

            q = question_vectors(self._provider(), texts)
            out["llm"] = ClassVectors(self.llm_databases, self.llm_question_mean).signals(q)
        if "linking" in self.used:
            from hhnas.features.schema_linking import linking_features

            out["linking"] = linking_features(texts, self.schemas)
        return out

    def _provider(self) -> Any:
        if self._llm is None:
            from hhnas.features.llm import HFCausalLMProvider

            llm = self.manifest["features"]["llm"]
            self._llm = HFCausalLMProvider(
                str(self.llm_dir),
                layer=int(llm["layer"]),
                batch_size=int(llm["batch_size"]),
                max_length=int(llm["max_length"]),
                threads=self.threads,
                progress=self.progress,
            )
        return self._llm

    def model_inputs(self, raw: dict[str, np.ndarray | None], rows: int) -> list[Any]:
        """Standardised tensors in the heads' argument order; an unused input is empty."""
        import torch

        out = []
        for name in INPUTS:
            x = raw.get(name)
            if x is None:
                out.append(torch.empty((rows, 0), dtype=torch.float32))
            else:
                out.append(torch.from_numpy(self.stats[name].apply(x)))
        return out

    # -- predictions
    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """``[N, C]`` class probabilities (the members' weighted mean), columns in
        ``self.labels`` order."""
        import torch

        from hhnas.features.encoder import torch_threads

        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, len(self.labels)))
        if self.finetuned is not None:
            return self._finetuned_proba(texts)
        parts = []
        if self.models:
            with torch_threads(self.threads), torch.inference_mode():
                inputs = self.model_inputs(self.raw_inputs(texts), len(texts))
                parts = [member_probabilities(model, inputs) for model in self.models]
        if self.lexical is not None:
            parts.append(self.lexical.probabilities(texts))
        return weighted_mean(parts, self.weights)

    def _finetuned_proba(self, texts: list[str]) -> np.ndarray:
        from hhnas.features.encoder import torch_threads
        from hhnas.features.tokens import tokenize_texts
        from hhnas.training.finetune import TokenCache, finetuned_probabilities

        enc = self.encoder
        assert enc is not None and self.finetuned is not None
        # LLM and schema-linking inputs with the feature jobs' threads (as cached for training), the
        # encoder and heads with the final job's (as its metrics were computed).
        with torch_threads(self.threads):
            llm, linking = self.model_inputs(self.raw_inputs(texts), len(texts))[1:]
        tokens = TokenCache(**tokenize_texts(self.encoder_dir, texts, int(enc["max_length"])))
        with torch_threads(int(enc["threads"])):
            return finetuned_probabilities(
                self.finetuned, tokens, llm, linking, int(enc["recipe"]["batch_size"])
            )

    def top_k(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        probs = self.predict_proba(texts)
        k = min(k, len(self.labels))
        order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [
            [(self.labels[c], float(p[c])) for c in row]
            for row, p in zip(order, probs, strict=True)
        ]
