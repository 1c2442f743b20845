"""The engine facade the app's worker thread and the CLI call. No Qt.

An :class:`Engine` holds the opened classifier and dataset and turns requests into the frozen
result objects of :mod:`interp_engine.results`. Long methods take ``progress(done, total, msg)``
and ``cancel`` (a ``threading.Event``) and raise :class:`~interp_engine.errors.Cancelled`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .attribution import registry
from .attribution.marginalization import WOE_UNITS
from .config import (
    LIKELIHOODS,
    ActivationMaximizationConfig,
    DeletionConfig,
    HiddenConfig,
    MarginalizationConfig,
    MatchingRateConfig,
    NeighbourConfig,
    OptimizationConfig,
    PredictConfig,
    SearchConfig,
    SimilarityConfig,
)
from .errors import InputError, ModelLoadError, check_cancel
from .hidden import hidden_saliency_batch, top_locations
from .inputs import TextInput
from .models import Classifier, load_classifier
from .results import (
    MODEL_LETTERS,
    CandidateTable,
    DatasetPredictions,
    HiddenSaliency,
    ModelComparison,
    ModelInfo,
    Prediction,
    SpanAttribution,
    TokenAttribution,
)

#: ``{method: units}`` of the built-in attribution methods (a view of
#: :mod:`interp_engine.attribution.registry`, the one table; read the registry for plug-ins)
ATTRIBUTION_METHODS = registry.units_by_method()


class Engine:
    """Opened model + dataset, and every interpretation method, on one device.

    Args:
        device: ``"auto"`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, device: str = "auto"):
        from .models import resolve_device

        resolve_device(device)  # raises InputError for an unusable device
        self.device = device
        self.classifier: Classifier | None = None
        #: the comparison model (B) beside ``classifier`` (A), or None (:meth:`load_compare_model`)
        self.compare_classifier: Classifier | None = None
        self._compare_lik: dict = {}  # likelihood models built for the comparison model
        self._prior_texts: list[str] | None = None  # what the prior was counted from (B counts it too)
        self.dataset = None
        #: marginalization settings of the keyword API (Kim et al. 004_ eq. 4): likelihood model,
        #: σ, fixed top-n; requests carry their own :class:`MarginalizationConfig`
        self.likelihood = MarginalizationConfig.likelihood
        self.sigma = MarginalizationConfig.sigma
        self.top_n: int | None = MarginalizationConfig.top_n
        self.chunk_size = MarginalizationConfig.chunk_size
        self._mlm_path: Path | None = None
        self._mlm = None  # (mlm model, tokenizer)
        self._lik_cache: dict = {}
        from .cache import ResultCache

        #: attributions and saliency grids already computed (cleared when the model changes)
        self.cache = ResultCache()

    # -- opening ----------------------------------------------------------------------------
    def load_model(self, path: str | Path, *, allow_pickle: bool = False) -> ModelInfo:
        """Open a saved classifier directory (see :func:`~interp_engine.models.load_classifier`).

        Raises:
            ModelLoadError: the directory cannot be opened; the previous model stays loaded.
        """
        self.classifier = load_classifier(path, device=self.device, allow_pickle=allow_pickle)
        self._neighbour_space = None  # loaded word vectors were mapped to the previous model's vocabulary
        self._lik_cache.clear()
        self.cache.clear()
        return self.model_info()

    def set_classifier(self, classifier: Classifier) -> ModelInfo:
        self.classifier = classifier
        self._lik_cache.clear()
        self.cache.clear()
        return self.model_info()

    # -- likelihood models for marginalization ----------------------------------------------
    def load_mlm(self, path: str | Path) -> dict:
        """Open a local masked-LM directory as the likelihood model (``AutoModelForMaskedLM``,
        local files only, no remote code) and select ``likelihood = "mlm"``.

        Returns:
            ``{"path", "shared_tokens", "identical_vocabulary", "hash"}`` for the open classifier;
            ``hash`` is :func:`interp_engine.hashing.model_folder_hash` of the MLM folder, computed
            here (the engine worker) so that figure sidecars need not read the folder again on the
            GUI thread ("" when ``path`` is not a folder of model files).

        Raises:
            ModelLoadError: not a masked LM, or no vocabulary shared with the classifier (the
                previous MLM stays loaded).
        """
        from .attribution.likelihood import MaskedLMLikelihood, load_mlm_likelihood

        c = self.require_model()
        lik = load_mlm_likelihood(path, c)
        self._mlm_path = Path(path).expanduser()
        self._mlm = (lik.mlm, lik.mlm_tokenizer)
        self._lik_cache = {k: v for k, v in self._lik_cache.items() if not isinstance(v, MaskedLMLikelihood)}
        self._lik_cache["mlm"] = lik
        self._compare_lik.clear()
        self.likelihood = "mlm"
        self.cache.clear()
        from .hashing import model_folder_hash

        try:
            mlm_hash = model_folder_hash(self._mlm_path) if self._mlm_path.is_dir() else ""
        except (InputError, OSError):  # not a folder of model files: the sidecar hashes nothing either
            mlm_hash = ""
        return {"path": str(self._mlm_path), "shared_tokens": lik.shared_tokens, "identical_vocabulary": lik.identical,
                "hash": mlm_hash}

    @property
    def mlm_path(self) -> Path | None:
        """The open masked LM's folder, or None."""
        return self._mlm_path

    def has_mlm(self) -> bool:
        """True when a masked LM is open as the likelihood model."""
        return self._mlm_path is not None or "mlm" in self._lik_cache

    def training_data_path(self) -> str | None:
        """The training file recorded in the open model's folder (``training.json`` ``train_data``,
        written by ``interp-studio train``) when it still exists, else None."""
        import json

        c = self.require_model()
        meta = Path(c.path) / "training.json" if c.path else None
        if meta is None or not meta.is_file():
            return None
        try:
            path = json.loads(meta.read_text(encoding="utf-8")).get("train_data")
        except (OSError, ValueError):
            return None
        if not path:
            return None
        p = Path(path).expanduser()
        if not p.is_absolute():
            p = (Path(c.path) / p).resolve()
        return str(p) if p.is_file() else None

    def set_prior_data(self, texts, *, progress=None, cancel=None) -> None:
        """Count the unigram prior (Kim et al. §4.5 "Prior") from ``texts`` (a list, or a Dataset).
        Raises Cancelled (the previous prior stays)."""
        from .attribution.likelihood import PriorLikelihood

        c = self.require_model()
        texts = list(getattr(texts, "texts", texts))
        self._lik_cache["prior"] = PriorLikelihood.from_texts(c, texts, progress=progress, cancel=cancel)
        self._prior_texts = texts
        self._compare_lik.clear()
        self.cache.clear()

    def set_marginalization(self, *, likelihood: str | None = None, sigma: float | None = None,
                            top_n: int | None = None) -> None:
        """Choose the likelihood model (``mlm``/``uniform``/``prior``), the threshold σ (0 = full
        marginalization) or a fixed top-n (which then replaces σ). Raises InputError for bad values."""
        if likelihood is not None:
            if likelihood not in LIKELIHOODS:
                raise InputError(f"unknown likelihood model {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
            self.likelihood = likelihood
        if sigma is not None:
            if not sigma >= 0:
                raise InputError(f"sigma must be >= 0, got {sigma}")
            self.sigma = float(sigma)
            self.top_n = None
        if top_n is not None:
            if top_n < 1:
                raise InputError(f"top-n must be >= 1, got {top_n}")
            self.top_n = int(top_n)

    def likelihood_model(self, name: str | None = None):
        """The :class:`~interp_engine.attribution.likelihood.LikelihoodModel` for the open classifier.

        ``prior`` uses counts from :meth:`set_prior_data`, else ``unigram_prior.json`` in the MLM folder.

        Raises:
            InputError: ``mlm``/``prior`` asked for but nothing to build it from.
        """
        from .attribution.likelihood import PriorLikelihood, UniformLikelihood, load_mlm_likelihood

        c = self.require_model()
        name = name or self.likelihood
        if name not in LIKELIHOODS:
            raise InputError(f"unknown likelihood model {name!r}; choose one of {', '.join(LIKELIHOODS)}")
        lik = self._lik_cache.get(name)
        if lik is not None and lik.classifier is c:
            return lik
        if name == "uniform":
            lik = UniformLikelihood(c)
        elif name == "prior":
            if self._mlm_path is None:
                raise InputError("the prior likelihood needs training data (--data TRAIN) or an MLM folder with unigram_prior.json")
            lik = PriorLikelihood.from_dir(c, self._mlm_path)
        else:
            if self._mlm_path is None:
                raise InputError("marginalization with the mlm likelihood needs a masked LM: open one (--mlm DIR, "
                                 "train it with interp-studio train-mlm) or choose --likelihood uniform|prior")
            lik = load_mlm_likelihood(self._mlm_path, c)
        self._lik_cache[name] = lik
        return lik

    def _cut(self, sigma=None, top_n=None) -> tuple[float, int | None]:
        """``(σ, top-n)`` a call resolves to: its own σ (then no top-n), its own top-n, or the
        engine's settings."""
        if sigma is not None and top_n is None:
            return float(sigma), None
        if top_n is not None:
            return self.sigma, int(top_n)
        return self.sigma, self.top_n

    def marginalization_config(self, likelihood=None, sigma=None, top_n=None) -> MarginalizationConfig:
        """The :class:`MarginalizationConfig` a keyword call resolves to (its own σ, top-n and
        likelihood, else the engine's settings)."""
        s, n = self._cut(sigma, top_n)
        return MarginalizationConfig(likelihood=likelihood or self.likelihood, sigma=s, top_n=n,
                                     chunk_size=self.chunk_size)

    def _marginalizer(self, likelihood=None, sigma=None, top_n=None, config: MarginalizationConfig | None = None):
        from .attribution.marginalization import InputMarginalization

        cfg = (config or self.marginalization_config(likelihood, sigma, top_n)).validate()
        return InputMarginalization(self.require_model(), self.likelihood_model(cfg.likelihood), sigma=cfg.sigma,
                                    top_n=cfg.top_n, chunk_size=cfg.chunk_size)

    def model_info(self) -> ModelInfo:
        """The :class:`ModelInfo` of the open model (A). Raises ModelLoadError when none is open."""
        return self._info(self.require_model())

    @staticmethod
    def _info(c: Classifier) -> ModelInfo:
        return ModelInfo(
            path=str(c.path) if c.path else "",
            kind=c.kind,
            class_names=c.class_names,
            vocab_size=len(c.tokenizer),
            max_length=c.max_length,
            device=str(c.device),
            content_hash=c.content_hash,
            layer_names=tuple(s.name for s in c.hidden_layers()),
            segment_names=c.segment_names,
            word_pieces=c.word_pieces,
        )

    def load_dataset(self, path: str | Path, **kwargs):
        """Open a dataset file (see :func:`interp_engine.data.load_dataset`); returns the Dataset.

        Raises:
            DatasetError: the file cannot be read; the previous dataset stays loaded.
        """
        from .data import load_dataset

        self.dataset = load_dataset(path, **kwargs)
        return self.dataset

    def set_device(self, device: str) -> str:
        """Move the model to ``device``; returns the resolved device name.

        Raises:
            InputError: the device is unknown or unavailable; nothing changes then.
        """
        from .models import resolve_device

        resolved = resolve_device(device)
        self.device = device
        self.cache.clear()
        if self.classifier is not None:
            self.classifier.to(resolved)
        if self.compare_classifier is not None:
            self.compare_classifier.to(resolved)
            self._compare_lik.clear()
        return str(resolved)

    def require_model(self) -> Classifier:
        if self.classifier is None:
            raise ModelLoadError("no model is open: open a model folder first (File → Open Model…, or --model DIR)")
        return self.classifier

    # -- the comparison model (Kim et al. 2020 Fig. 4a: two models on one sentence) -------------
    def load_compare_model(self, path: str | Path, *, allow_pickle: bool = False) -> ModelInfo:
        """Open a second classifier folder (model B) beside the open one (model A), to explain the
        same sentences with both (:meth:`compare_models`). The masked LM stays shared: B gets its
        own likelihood models over its own vocabulary (:meth:`_compare_likelihood`).

        Returns:
            B's :class:`ModelInfo` (its content hash computed here, in the engine worker).

        Raises:
            ModelLoadError: no model is open, B's folder cannot be opened, or B reads a pair of
                texts where A reads one (or the reverse). Model A and any previous comparison
                model stay open.
        """
        a = self.require_model()
        b = load_classifier(path, device=self.device, allow_pickle=allow_pickle)
        check_same_inputs(a, b)
        self.compare_classifier = b
        self._compare_lik.clear()
        return self._info(b)

    def close_compare_model(self) -> None:
        """Close the comparison model (no-op when none is open)."""
        self.compare_classifier = None
        self._compare_lik.clear()

    def compare_model_info(self) -> ModelInfo | None:
        """The comparison model's :class:`ModelInfo`, or None when none is open."""
        return None if self.compare_classifier is None else self._info(self.compare_classifier)

    def require_compare_model(self) -> Classifier:
        """The comparison model. Raises ModelLoadError when none is open."""
        if self.compare_classifier is None:
            raise ModelLoadError("no comparison model is open: open one first (File → Compare With Model…, "
                                 "or --compare-model DIR)")
        return self.compare_classifier

    def _compare_likelihood(self, c: Classifier, name: str | None = None):
        """The likelihood model ``name`` (``uniform``/``prior``/``mlm``) of the comparison model
        ``c``, over ``c``'s own vocabulary: the open masked LM is shared (its tokens mapped to
        ``c``'s by string, as for model A), the prior is counted again from the same texts.

        Raises:
            InputError: ``mlm``/``prior`` asked for but nothing to build it from.
            ModelLoadError: the masked LM shares no token with ``c``'s vocabulary.
        """
        from .attribution.likelihood import MaskedLMLikelihood, PriorLikelihood, UniformLikelihood

        name = name or self.likelihood
        if name not in LIKELIHOODS:
            raise InputError(f"unknown likelihood model {name!r}; choose one of {', '.join(LIKELIHOODS)}")
        lik = self._compare_lik.get(name)
        if lik is not None and lik.classifier is c:
            return lik
        if name == "uniform":
            lik = UniformLikelihood(c)
        elif name == "prior":
            if self._prior_texts is not None:
                lik = PriorLikelihood.from_texts(c, self._prior_texts)
            elif self._mlm_path is not None:
                lik = PriorLikelihood.from_dir(c, self._mlm_path)
            else:
                raise InputError("the prior likelihood needs training data (--data TRAIN) or an MLM folder with "
                                 "unigram_prior.json")
        else:
            if self._mlm is None:
                if self._mlm_path is None:
                    raise InputError("marginalization with the mlm likelihood needs a masked LM: open one (--mlm DIR) "
                                     "or choose --likelihood uniform|prior")
                self.likelihood_model("mlm")  # loads it for model A; its weights are shared
                primary = self._lik_cache["mlm"]
                self._mlm = (primary.mlm, primary.mlm_tokenizer)
            mlm, tok = self._mlm
            try:
                lik = MaskedLMLikelihood(c, mlm, tok)
            except ModelLoadError as e:
                raise ModelLoadError(f"marginalization with the masked LM is not possible on this model: {e}") from e
        self._compare_lik[name] = lik
        return lik

    def compare_models(self, text, method: str = registry.get("grad").name, target: int | None = None, *,
                       config=None, progress=None, cancel=None) -> ModelComparison:
        """One attribution method on ``text`` by model A (the open model) and model B (the
        comparison model), one row each (Kim et al. 2020 ``004_137d387c767c1e08.txt`` Fig. 4a).

        Each row is what :meth:`attribute` gives on that model alone (same cache), with the
        model's own tokens. ``target`` is a class index of A (None: each model explains its own
        predicted class); B explains the class of the same *name* when it has one, else its own
        predicted class (``notes`` says so). A row B that cannot be computed (e.g. the masked LM
        shares no token with B's vocabulary) is None with its message in ``row_errors``; A's
        failure is the request's.

        Returns:
            :class:`~interp_engine.results.ModelComparison` with ``shared_scale`` from
            :func:`~interp_engine.attribution.registry.shares_scale_across_models`.

        Raises:
            InputError: bad input, method or target; the models read different inputs.
            ModelLoadError: no model or no comparison model is open. Cancelled.
        """
        from .errors import Cancelled

        a, b = self.require_model(), self.require_compare_model()
        check_same_inputs(a, b, InputError)
        cls = registry.get(method)
        inputs = TextInput.of(text)
        if config is None and method == "marginalization":
            config = self.marginalization_config()
        names = model_display_names([a, b])
        notes: list[str] = []
        targets = [target, None]
        if target is not None:
            if not 0 <= int(target) < len(a.class_names):
                raise InputError(f"target class {target} does not exist: model A has classes 0..{len(a.class_names) - 1}")
            wanted = a.class_names[int(target)]
            if wanted in b.class_names:
                targets[1] = b.class_names.index(wanted)
            else:
                notes.append(f"B has no class “{wanted}”: it explains its own predicted class")
        rows, errors = [], []
        for k, (c, t) in enumerate(zip((a, b), targets)):
            check_cancel(cancel)
            letter = MODEL_LETTERS[k]

            def step(done, total, message="", k=k, letter=letter):
                if progress is not None:
                    progress(int(1000 * (k + (done / total if total else 0.0))), 2000,
                             f"model {letter}: {message}".rstrip(": "))

            try:
                rows.append(self._attribute(inputs, cls, t, config, classifier=c, progress=step, cancel=cancel))
                errors.append("")
            except Cancelled:
                raise
            except (InputError, ModelLoadError) as e:
                if k == 0:
                    raise
                rows.append(None)
                errors.append(f"{letter} ({names[k]}): {e}")
            if cls.needs_likelihood and rows[-1] is not None:
                note = self._likelihood_note(c, letter, config)
                if note:
                    notes.append(note)
        if progress is not None:
            progress(2000, 2000, "done")
        class_note = ""
        if tuple(a.class_names) != tuple(b.class_names):
            class_note = (f"models disagree on classes: A has {{{', '.join(a.class_names)}}}, "
                          f"B has {{{', '.join(b.class_names)}}}")
        return ModelComparison(
            text=str(inputs), method=cls.name, rows=tuple(rows), model_names=tuple(names),
            model_paths=tuple(str(c.path) if c.path else "" for c in (a, b)),
            model_hashes=tuple(c.content_hash for c in (a, b)), row_errors=tuple(errors),
            shared_scale=registry.shares_scale_across_models(cls.name), scale_note=registry.model_scale_note(cls.name),
            class_note=class_note, notes=tuple(notes))

    def _likelihood_note(self, c: Classifier, letter: str, config) -> str:
        """A sentence about the masked LM's vocabulary overlap with model ``c`` when it is not the
        model's own vocabulary ("" otherwise, and for the uniform and prior likelihoods)."""
        if getattr(config, "likelihood", None) != "mlm":
            return ""
        lik = self._lik_cache.get("mlm") if c is self.classifier else self._compare_lik.get("mlm")
        if lik is None or getattr(lik, "identical", True):
            return ""
        return (f"the masked LM's vocabulary differs from {letter}'s: {lik.shared_tokens} of its "
                f"{lik.vocab_size} tokens are shared; the likelihood of the others is dropped (dropped mass)")

    # -- predictions ------------------------------------------------------------------------
    def predict(self, text: str) -> Prediction:
        """The model's prediction for one sentence. Raises InputError for an empty sentence."""
        c = self.require_model()
        enc = c.encode([text])
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids).double(), -1)[0].cpu().numpy()
        return Prediction(p, int(p.argmax()), c.class_names)

    def predict_dataset(self, texts=None, *, batch_size: int = PredictConfig.batch_size, progress=None,
                        cancel=None, classifier: Classifier | None = None) -> DatasetPredictions:
        """Predictions for every text of ``texts`` (default: the open dataset), batched.

        For the open dataset the probabilities come from the search index's prediction cache
        (one computation per model and file content, kept on disk), which the training-set search
        shares: reopening a dataset, or searching it, never predicts it twice. ``classifier``:
        another model than the open one (the comparison model), default the open one.
        """
        c = classifier if classifier is not None else self.require_model()
        if texts is None:
            if self.dataset is None:
                raise InputError("no dataset is open")
            ix = self.search_index(progress=progress, cancel=cancel)
            p = ix.predictions(c, batch_size=batch_size, progress=progress, cancel=cancel).astype(np.float64)
        else:
            p = c.predict_proba(list(texts), batch_size=batch_size, progress=progress, cancel=cancel)
        ok = ~np.isnan(p).any(1)
        pred = np.where(ok, np.nan_to_num(p, nan=-1).argmax(1), -1)
        conf = np.where(ok, np.nan_to_num(p, nan=0).max(1), np.nan)
        return DatasetPredictions(p, pred.astype(np.int64), conf)

    # -- attribution ------------------------------------------------------------------------
    def _target(self, logits: torch.Tensor, target: int | None) -> torch.Tensor:
        C = logits.shape[-1]
        if target is None:
            return logits.argmax(-1)
        if not 0 <= int(target) < C:
            raise InputError(f"target class {target} does not exist: the model has classes 0..{C - 1}")
        return torch.full((logits.shape[0],), int(target), device=logits.device, dtype=torch.long)

    def attribute(self, text, method: str = registry.get("grad").name, target: int | None = None, *,
                  likelihood: str | None = None, sigma: float | None = None, top_n: int | None = None,
                  config=None, progress=None, cancel=None) -> TokenAttribution:
        """Per-token attribution of ``text`` (a string or :class:`TextInput`) to ``target``
        (default: the predicted class).

        Args:
            method: a key of :mod:`interp_engine.attribution.registry`: ``grad``, ``grad_input``
                (logit units); ``marginalization`` (Kim et al. 004_ eq. 1-4), ``zero``/``unk``
                erasure (WoE bits); ``integrated_gradients``, ``lime`` (Captum).
            likelihood, sigma, top_n: override the marginalization settings for this call
                (see :meth:`set_marginalization`); ``config``: the method's config instead.
            progress: ``progress(done, total, message)``; cancel: ``threading.Event``.

        Returns:
            :class:`TokenAttribution`, ``scores`` (n,) in the method's units; WoE methods fill
            ``n_candidates`` and ``dropped_mass``; every method fills ``seconds``.

        Raises:
            InputError: empty sentence, unknown method or target, no likelihood model.
            Cancelled: ``cancel`` was set.
        """
        cls = registry.get(method)
        if config is None and method == "marginalization":
            config = self.marginalization_config(likelihood, sigma, top_n)
        return self._attribute(TextInput.of(text), cls, target, config, progress=progress, cancel=cancel)

    def _attribute(self, inputs: TextInput, cls, target, config, *, progress=None, cancel=None,
                   classifier: Classifier | None = None) -> TokenAttribution:
        """One method on one input through the result cache (key: model hash, input, method,
        target and the method's config). ``classifier``: the model explained (default the open
        one; the comparison model gets its own likelihood models). The result records the model's
        folder and content hash (``model_path``, ``model_hash``)."""
        c = classifier if classifier is not None else self.require_model()
        if config is None and cls.config_class is not None:
            config = cls.config_class()
        if isinstance(config, MarginalizationConfig):
            config = config.validate()
        key = self._cache_key(c, str(inputs) if not inputs.is_pair else inputs.to_json(), cls.name, target, config)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        lik = None
        if cls.needs_likelihood:
            lik = (self.likelihood_model(config.likelihood) if c is self.classifier
                   else self._compare_likelihood(c, config.likelihood))
        result = cls(c, config, likelihood=lik).attribute(inputs, target, progress=progress, cancel=cancel)
        import dataclasses

        result = dataclasses.replace(result, model_path=str(c.path) if c.path else "", model_hash=c.content_hash)
        self.cache.put(key, result)
        return result

    def _cache_key(self, c: Classifier, text, method: str, target, config=None):
        """Key of :attr:`cache`: model hash, text, method and the settings that change the result
        (for marginalization the likelihood model, σ and top-n)."""
        params: dict = {"target": None if target is None else int(target)}
        if isinstance(config, MarginalizationConfig):
            params.update(likelihood=config.likelihood, sigma=config.sigma, top_n=config.top_n)
        elif config is not None and hasattr(config, "to_json"):
            params.update(config.to_json())
        return self.cache.key(c.content_hash, text if isinstance(text, str) else repr(text), method, params)

    def candidate_table(self, text: str, position: int, target: int | None = None, *, likelihood: str | None = None,
                        sigma: float | None = None, top_n: int | None = None, config: MarginalizationConfig | None = None,
                        cancel=None) -> CandidateTable:
        """The marginalization candidates of token ``position`` (Kim et al. 004_ Fig. 1), most likely first.

        Raises:
            InputError: bad position/target, empty sentence, no likelihood model.
        """
        c = self.require_model()
        m = self._marginalizer(likelihood, sigma, top_n, config)
        d = m.candidate_table(text, position, target, cancel=cancel)
        enc = d["enc"]
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids).double(), -1)[0].cpu().numpy()
        ids = d["candidate_ids"]
        return CandidateTable(
            text=str(text), tokens=tuple(enc.tokens[0]),
            **enc.segment_fields(), position=int(position), token=enc.tokens[0][position],
            candidates=tuple(c.tokenizer.convert_ids_to_tokens([int(i) for i in ids])),
            candidate_ids=ids.astype(np.int64), likelihood=d["likelihood"], target_probability=d["target_probability"],
            target=d["target"], p_target=d["p_target"], p_marginal=d["p_marginal"], woe=d["woe"],
            dropped_mass=d["dropped_mass"], likelihood_name=m.likelihood.name, prediction=Prediction(p, int(p.argmax()), c.class_names),
            params=m.params,
        )

    def attribute_span(self, text: str, span, target: int | None = None, *, likelihood: str | None = None,
                       sigma: float | None = None, top_n: int | None = None,
                       max_per_step: int | None = MarginalizationConfig.max_per_step,
                       config: MarginalizationConfig | None = None, progress=None, cancel=None) -> SpanAttribution:
        """Joint WoE (bits) of a span of 2-3 tokens by multi-token marginalization (Kim et al. 004_ §3.3, eq. 3).

        Raises:
            InputError: bad span/target, empty sentence, no likelihood model.
        """
        c = self.require_model()
        m = self._marginalizer(likelihood, sigma, top_n, config)
        out = m.attribute_span(text, span, target, max_per_step=max_per_step, progress=progress, cancel=cancel)
        enc = c.encode([text])
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids).double(), -1)[0].cpu().numpy()
        return SpanAttribution(text=str(text), tokens=tuple(enc.tokens[0]), positions=out.positions,
                               **enc.segment_fields(), score=out.score,
                               units=WOE_UNITS, target=out.target, p_target=out.p_target, p_marginal=out.p_marginal,
                               n_candidates=out.n_candidates, prediction=Prediction(p, int(p.argmax()), c.class_names),
                               params={**m.params, "max_per_step": max_per_step}, seconds=out.seconds)

    def deletion_curves(self, text: str, methods, *, strategy: str = DeletionConfig.strategy,
                        x_max: float = DeletionConfig.x_max, seed: int = DeletionConfig.seed,
                        target: int | None = None, insertion: bool = DeletionConfig.insertion,
                        exclude_original: bool = DeletionConfig.exclude_original,
                        likelihood: str | None = None, sigma: float | None = None, top_n: int | None = None,
                        configs=None, progress=None, cancel=None):
        """Deletion curves and AUC_rep of ``methods`` on ``text`` (Kim et al. 004_ §3.5; see
        :func:`interp_engine.faithfulness.deletion_curves`): each method's attribution comes from
        :meth:`attribute` (cached; ``likelihood``/``sigma``/``top_n`` as there), then every step of
        every method runs in one batched pass.

        Raises:
            InputError: empty sentence, unknown method/strategy, ``mlm`` strategy without a masked LM.
            Cancelled: ``cancel`` was set.
        """
        from .faithfulness import deletion_curves

        c = self.require_model()
        methods = list(methods)
        if not methods:
            raise InputError("choose at least one attribution method")
        lik = None
        if strategy == "mlm":
            if self._mlm_path is None and "mlm" not in self._lik_cache:
                raise InputError("the MLM-sample strategy needs a masked LM: open one (--mlm DIR) or choose zero, [UNK] or removal")
            lik = self.likelihood_model("mlm")
        scores = {}
        for i, m in enumerate(methods):
            sub = None
            if progress is not None:
                sub = (lambda d, t, msg, i=i, m=m: progress(i * 100 + int(100 * d / max(t, 1)), 100 * (len(methods) + 1), f"{m}: {msg}"))
            cfg = (configs or {}).get(m)
            a = self.attribute(text, m, target, likelihood=likelihood, sigma=sigma, top_n=top_n, config=cfg,
                               progress=sub, cancel=cancel)
            scores[m] = a.scores
            target = a.target if target is None else target
        sub = None
        if progress is not None:
            sub = lambda d, t, msg: progress(len(methods) * 100 + int(100 * d / max(t, 1)), 100 * (len(methods) + 1), msg)  # noqa: E731
        return deletion_curves(c, text, scores, target=target, strategy=strategy, likelihood=lik, x_max=x_max,
                               insertion=insertion, seed=seed, exclude_original=exclude_original, progress=sub,
                               cancel=cancel)

    def hidden_saliency(self, text: str, target: int | None = None, top: int = HiddenConfig.top, *, progress=None,
                        cancel=None) -> HiddenSaliency:
        """The saliency grid of ``text`` (Yuan et al. eq. 3), with receptive fields and the
        ``top`` locations per layer.

        Raises:
            InputError: empty sentence or bad target.
        """
        c = self.require_model()
        key = self._cache_key(c, text, "hidden", target) + (int(top),)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        enc = c.encode([text])
        with torch.no_grad():
            logits = c.logits(enc.input_ids, enc.attention_mask, enc.token_type_ids)
        t = self._target(logits, target)
        check_cancel(cancel)
        scores, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, t, enc.token_type_ids)
        n = enc.lengths()[0]
        grid = scores[0, :, :n].double().cpu().numpy()
        specs = c.hidden_layers()
        rf = np.stack([s.receptive_fields(n, enc.segments[0]) for s in specs])
        p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
        result = HiddenSaliency(
            text=str(text),
            **enc.segment_fields(),
            tokens=tuple(enc.tokens[0]),
            offsets=np.asarray(enc.offsets[0], dtype=np.int64).reshape(-1, 2),
            special=np.asarray(enc.special[0], dtype=bool),
            layer_names=tuple(s.name for s in specs),
            scores=grid,
            receptive_fields=rf,
            top_locations=top_locations(grid, n, top),
            receptive_field_note=c.family.receptive_field_note,
            target=int(t[0]),
            prediction=Prediction(p, int(p.argmax()), c.class_names),
            truncated=enc.truncated[0],
        )
        self.cache.put(key, result)
        return result

    # -- what hidden locations detect (Yuan et al. eq. 5-8; Lopes §3) ---------------------------
    def load_neighbour_vectors(self, path: str | Path | None, fmt: str | None = None) -> str:
        """Search x_overall's neighbours in loaded gensim ``KeyedVectors`` (word2vec/GloVe/fastText,
        see :func:`interp_engine.vectors.load_vectors`) instead of the model's embedding matrix;
        None goes back to the model's. Returns the space's name. Raises InputError."""
        from .neighbours import VectorSpace
        from .vectors import load_vectors

        if path is None:
            self._neighbour_space = None
            return "model"
        kv = load_vectors(path, fmt)
        self._neighbour_space = VectorSpace.from_keyed_vectors(kv, self.classifier, name=Path(path).name)
        return self._neighbour_space.name

    def neighbour_scatter(self, text: str, locations=None, *, top: int = NeighbourConfig.top, layers=None,
                          target: int | None = None, lambda1: float = OptimizationConfig.lambda1,
                          lambda2: float = OptimizationConfig.lambda2, steps: int | None = OptimizationConfig.steps,
                          lr: float = OptimizationConfig.lr, seed: int = OptimizationConfig.seed,
                          k: int = NeighbourConfig.k, projection: str = NeighbourConfig.projection,
                          perplexity: float = NeighbourConfig.perplexity, progress=None, cancel=None):
        """Input optimization of the selected hidden locations (Yuan eq. 6-7, one batch), x_overall
        (eq. 8), its k nearest words by cosine and their t-SNE/PCA projection. ``locations``: (grid
        row, location) pairs, or None for the ``top`` most salient locations of ``layers`` (default
        the first layer). See :func:`interp_engine.neighbours.neighbour_scatter`.

        Returns:
            :class:`~interp_engine.results.NeighbourScatter`.

        Raises:
            InputError: empty sentence, bad location/row/target/parameters. Cancelled.
        """
        from .neighbours import neighbour_scatter

        c = self.require_model()
        cfg = OptimizationConfig(lambda1=float(lambda1), lambda2=float(lambda2),
                                 steps=None if steps is None else int(steps), lr=float(lr), seed=int(seed))
        return neighbour_scatter(c, text, locations, top=top, layers=layers, target=target, config=cfg, k=int(k),
                                 projection=projection, perplexity=float(perplexity),
                                 space=getattr(self, "_neighbour_space", None), progress=progress, cancel=cancel)

    def matching_rate(self, texts, *, k: int = MatchingRateConfig.k, m: int = MatchingRateConfig.m,
                      layer: int = MatchingRateConfig.layer, lambda1: float = OptimizationConfig.lambda1,
                      lambda2: float = OptimizationConfig.lambda2, steps: int | None = OptimizationConfig.steps,
                      lr: float = OptimizationConfig.lr, seed: int = OptimizationConfig.seed,
                      progress=None, cancel=None):
        """Matching rate of Yuan et al. ("Evaluation of Interpretability") on ``texts``; see
        :func:`interp_engine.neighbours.matching_rate`. Returns :class:`~interp_engine.results.MatchingRate`."""
        from .neighbours import matching_rate

        c = self.require_model()
        cfg = OptimizationConfig(lambda1=float(lambda1), lambda2=float(lambda2),
                                 steps=None if steps is None else int(steps), lr=float(lr), seed=int(seed))
        return matching_rate(c, list(texts), k=k, m=m, layer=layer, config=cfg,
                             space=getattr(self, "_neighbour_space", None), progress=progress, cancel=cancel)

    def activation_maximization(self, unit: tuple, *, k: int = ActivationMaximizationConfig.k,
                                steps: int = ActivationMaximizationConfig.steps,
                                lr: float = ActivationMaximizationConfig.lr, l2: float = ActivationMaximizationConfig.l2,
                                seed: int = ActivationMaximizationConfig.seed, progress=None, cancel=None):
        """Activation maximization (Lopes §3.1) next to corpus search (§3.2) for ``unit`` =
        ``("class", c)`` or ``("hidden", row, channel)``. Returns
        :class:`~interp_engine.results.ActivationMaximization`. Raises InputError, Cancelled."""
        from .neighbours import activation_maximization_vs_corpus

        return activation_maximization_vs_corpus(self.require_model(), tuple(unit), k=k, steps=steps, lr=lr, l2=l2,
                                                 seed=seed, progress=progress, cancel=cancel)

    # -- training-set search (Lopes et al. §4) -----------------------------------------------
    def search_index(self, *, progress=None, cancel=None):
        """The :class:`~interp_engine.search.SearchIndex` of the open dataset (built once per file
        content, then reused from the cache). Raises InputError without a dataset; Cancelled."""
        from .search import SearchIndex

        if self.dataset is None:
            raise InputError("no dataset is open: open a dataset first (File → Open Dataset…, or --data FILE)")
        ix = getattr(self, "_search", None)
        if ix is None or ix.dataset is not self.dataset:
            ix = SearchIndex.open(self.dataset, progress=progress, cancel=cancel)
            self._search = ix
        return ix

    def search(self, query: str, *, mode: str = SearchConfig.mode, limit: int | None = SearchConfig.limit,
               chosen_class: int = SearchConfig.chosen_class, bins: int = SearchConfig.bins, column: str = "",
               progress=None, cancel=None):
        """Every example of the open dataset containing ``query`` (Lopes §4.2), with gold labels and,
        when a model is open, its cached predictions and the histogram of p(``chosen_class``)
        (see :meth:`SearchIndex.search`; ``column``: one text of a pair dataset, "" = either).
        Returns a :class:`~interp_engine.results.TokenSearchResult`."""
        ix = self.search_index(progress=progress, cancel=cancel)
        probs, mh, names, pieces = None, "", (), None
        if self.classifier is not None:
            probs = ix.predictions(self.classifier, progress=progress, cancel=cancel)
            mh, names = self.classifier.content_hash, self.classifier.class_names
            if probs.shape[1] <= chosen_class:
                chosen_class = probs.shape[1] - 1
            # a model that reads word pieces is searched in its own tokens (unit "word pieces")
            pieces = self.classifier.tokenizer if self.classifier.word_pieces else None
        return ix.search(query, mode=mode, limit=limit, probabilities=probs, chosen_class=chosen_class, bins=bins,
                         model_hash=mh, model_class_names=names, column=column, tokenizer=pieces,
                         progress=progress, cancel=cancel)

    def similar(self, text: str, span, *, layer=SimilarityConfig.layer, k: int = SimilarityConfig.k,
                metric: str = SimilarityConfig.metric, progress=None, cancel=None):
        """The ``k`` training n-grams whose activation at ``layer`` is nearest to that of ``text``'s
        token span ``[start, end)`` (Lopes §4.1). Returns a :class:`~interp_engine.results.SimilarityResult`."""
        c = self.require_model()
        ix = self.search_index(progress=progress, cancel=cancel)
        return ix.similar(c, text, tuple(span), layer=layer, k=k, metric=metric, progress=progress, cancel=cancel)

    # -- one entry point for every operation ------------------------------------------------
    def run(self, request, progress=None, cancel=None):
        """Run one request of :mod:`interp_engine.requests` and return its result, which carries
        the request (``result.request``, for results that are dataclasses; each element of a
        tuple).

        Args:
            request: any request type of :data:`RUNNERS`.
            progress: ``progress(done, total, message)`` or None.
            cancel: a ``threading.Event`` (default: the request's own ``cancel``).

        Raises:
            InputError: an unknown request type or bad parameters; ModelLoadError, DatasetError;
            Cancelled: ``cancel`` was set.
        """
        fn = RUNNERS.get(type(request))
        if fn is None:
            for cls, f in RUNNERS.items():  # a subclass of a known request
                if isinstance(request, cls):
                    fn = f
                    break
        if fn is None:
            raise InputError(f"the engine cannot run a {type(request).__name__}")
        result = fn(self, request, progress, request.cancel if cancel is None else cancel)
        return _with_request(result, request)


def check_same_inputs(a: Classifier, b: Classifier, error=ModelLoadError) -> None:
    """Raise ``error`` (one sentence) when model ``b`` reads a pair of texts where model ``a``
    reads one, or the reverse (a model that reads either, e.g. a plain BERT, fits both)."""
    na, nb = a.segment_names, b.segment_names
    if na is None or nb is None or len(na) == len(nb):
        return

    def what(names) -> str:
        return f"a pair of texts ({names[0]} and {names[1]})" if len(names) == 2 else "one text"

    raise error(f"the comparison model reads {what(nb)} but the open model reads {what(na)}: both models must "
                "read the same input to explain it side by side")


def model_display_names(classifiers) -> list[str]:
    """A short, distinct display name per classifier: its folder name, with the parent folder
    when two are the same; a model without a folder: its architecture."""
    paths = [Path(c.path) if c.path else None for c in classifiers]
    names = [p.name if p is not None else c.kind for p, c in zip(paths, classifiers)]
    if len(set(names)) < len(names):
        names = [f"{p.parent.name}/{p.name}" if p is not None else n for p, n in zip(paths, names)]
    return names


def _with_request(result, request):
    import dataclasses

    if isinstance(result, tuple) and result and all(dataclasses.is_dataclass(r) for r in result):
        return tuple(_with_request(r, request) for r in result)
    if dataclasses.is_dataclass(result) and not isinstance(result, type) and any(
            f.name == "request" for f in dataclasses.fields(result)):
        return dataclasses.replace(result, request=request)
    return result


# -- the dispatch table: request type -> fn(engine, request, progress, cancel) ------------------
from . import requests as rq  # noqa: E402


def _run_attribution(e: Engine, r: "rq.AttributionRequest", progress, cancel):
    cls = registry.get(r.method)
    return e._attribute(r.input, cls, r.target, r.config_for(r.method), progress=progress, cancel=cancel)


def _run_compare(e: Engine, r: "rq.CompareRequest", progress, cancel):
    """Every method of ``r`` in turn; progress counts methods (and steps within one)."""
    from .errors import Cancelled

    out = []
    n = len(r.methods)
    for k, method in enumerate(r.methods):
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        name = method.replace("_", " ")

        def step(done, total, message="", k=k, name=name):
            if progress is not None:
                frac = (done / total) if total else 0.0
                progress(int(1000 * (k + frac)), 1000 * n, f"{name} ({k + 1}/{n})")

        step(0, 1)
        out.append(e._attribute(r.input, registry.get(method), r.target, r.config_for(method), progress=step,
                                cancel=cancel))
    if progress is not None:
        progress(1000 * n, 1000 * n, "done")
    return tuple(out)


def _run_compare_models(e: Engine, r: "rq.CompareModelsRequest", progress, cancel):
    return e.compare_models(r.input, r.method, r.target, config=r.config_for(r.method), progress=progress,
                            cancel=cancel)


def _run_load_compare_model(e: Engine, r: "rq.LoadCompareModelRequest", progress, cancel):
    return e.load_compare_model(r.path, allow_pickle=r.allow_pickle)


def _run_close_compare_model(e: Engine, r: "rq.CloseCompareModelRequest", progress, cancel):
    e.close_compare_model()


def _run_compare_predict(e: Engine, r: "rq.ComparePredictDatasetRequest", progress, cancel):
    return e.predict_dataset(batch_size=r.batch_size, progress=progress, cancel=cancel,
                             classifier=e.require_compare_model())


def _run_candidates(e: Engine, r: "rq.CandidateTableRequest", progress, cancel):
    return e.candidate_table(r.input, r.position, r.target, config=r.marginalization, cancel=cancel)


def _run_span(e: Engine, r: "rq.SpanAttributionRequest", progress, cancel):
    return e.attribute_span(r.input, tuple(r.span), r.target, config=r.marginalization,
                            max_per_step=r.marginalization.max_per_step, progress=progress, cancel=cancel)


def _run_hidden(e: Engine, r: "rq.HiddenSaliencyRequest", progress, cancel):
    return e.hidden_saliency(r.input, r.target, r.top, progress=progress, cancel=cancel)


def _run_neighbours(e: Engine, r: "rq.NeighbourScatterRequest", progress, cancel):
    nb, opt = r.neighbours, r.optimization
    layers = None
    if r.locations is None:
        rows = r.layers if r.layers is not None else (nb.layer,)
        n_rows = len(e.require_model().hidden_layers())
        layers = list(dict.fromkeys(j for row in rows for j in ([row] if row >= 0 else range(n_rows))))
    res = e.neighbour_scatter(r.input, [tuple(x) for x in r.locations] if r.locations is not None else None,
                              top=nb.top, layers=layers, target=r.target, lambda1=opt.lambda1, lambda2=opt.lambda2,
                              steps=opt.steps, lr=opt.lr, seed=opt.seed, k=nb.k, projection=nb.projection,
                              perplexity=nb.perplexity, progress=progress, cancel=cancel)
    ranks = r.ranks
    if ranks and len(ranks) == len(res.locations) and any(int(a) != loc.rank for a, loc in zip(ranks, res.locations)):
        from dataclasses import replace

        res = replace(res, locations=tuple(replace(loc, rank=int(a)) for a, loc in zip(ranks, res.locations)))
    return res


def _run_deletion(e: Engine, r: "rq.DeletionCurvesRequest", progress, cancel):
    d = r.deletion
    return e.deletion_curves(r.input, list(r.methods), strategy=d.strategy, x_max=d.x_max, seed=d.seed,
                             target=r.target, insertion=d.insertion, exclude_original=d.exclude_original,
                             configs={m: r.config_for(m) for m in r.methods}, progress=progress, cancel=cancel)


def _run_activation_maximization(e: Engine, r: "rq.ActivationMaximizationRequest", progress, cancel):
    c = r.config
    return e.activation_maximization(tuple(r.unit), k=c.k, steps=c.steps, lr=c.lr, l2=c.l2, seed=c.seed,
                                     progress=progress, cancel=cancel)


def _run_search(e: Engine, r: "rq.SearchRequest", progress, cancel):
    return e.search(r.query, mode=r.mode, limit=r.limit, chosen_class=r.chosen_class, bins=r.bins, column=r.column,
                    progress=progress, cancel=cancel)


def _run_similar(e: Engine, r: "rq.SimilarityRequest", progress, cancel):
    return e.similar(r.input, tuple(r.span), layer=r.layer, k=r.k, metric=r.metric, progress=progress,
                     cancel=cancel)


def _run_predict(e: Engine, r: "rq.PredictDatasetRequest", progress, cancel):
    return e.predict_dataset(batch_size=r.batch_size, progress=progress, cancel=cancel)


def _run_evaluate(e: Engine, r: "rq.EvaluateRequest", progress, cancel):
    from .evaluation import evaluate_request

    return evaluate_request(e, r, progress=progress, cancel=cancel)


def _run_attribute_dataset(e: Engine, r: "rq.AttributeDatasetRequest", progress, cancel) -> dict:
    """The open model, masked LM and dataset file into an attribution store
    (:func:`interp_engine.store.attribute_dataset`)."""
    from .store import attribute_dataset, spec_of_engine

    spec = spec_of_engine(e, methods=r.methods, configs={m: r.config_for(m) for m in r.methods}, n=r.n,
                          seed=r.seed, metrics=r.metrics, encoding=r.encoding)
    return attribute_dataset(spec, r.out, backend=r.backend, batch_size=r.batch_size, workers=r.workers,
                             address=r.address, progress=progress, cancel=cancel, device=e.device)


def _run_open_store(e: Engine, r: "rq.OpenStoreRequest", progress, cancel):
    from .store import open_store

    return open_store(r.path)


def _run_sanity(e: Engine, r: "rq.SanityCheckRequest", progress, cancel):
    """The model-parameter randomization cascade of one method on one input (Adebayo et al. 2018
    §3.1; :func:`interp_engine.sanity.sanity_check`)."""
    from .sanity import sanity_check

    cls = registry.get(r.method)
    cfg = r.config_for(r.method)
    if isinstance(cfg, MarginalizationConfig):
        cfg = cfg.validate()
    lik = e.likelihood_model(cfg.likelihood) if cls.needs_likelihood else None
    return sanity_check(e.require_model(), r.input, r.method, target=r.target, config=r.sanity, method_config=cfg,
                        likelihood=lik, progress=progress, cancel=cancel)


def _run_load_model(e: Engine, r: "rq.LoadModelRequest", progress, cancel):
    return e.load_model(r.path, allow_pickle=r.allow_pickle)


def _run_load_dataset(e: Engine, r: "rq.LoadDatasetRequest", progress, cancel):
    return e.load_dataset(r.path, text_column=r.text_column, pair_column=r.pair_column or None,
                          label_column=r.label_column, encoding=r.encoding, progress=progress, cancel=cancel)


def _run_load_mlm(e: Engine, r: "rq.LoadMLMRequest", progress, cancel):
    return e.load_mlm(r.path)


def _run_prior(e: Engine, r: "rq.PriorRequest", progress, cancel) -> str:
    """Count the unigram prior (Kim et al. §4.5: training-data frequencies) from ``r.path`` or,
    when None, from the training file recorded in the model's folder (``training.json``, written
    by ``interp-studio train``); returns where the counts came from.

    Raises:
        InputError: no path and no recorded training file that exists (never the open dataset,
        which is often the test set).
    """
    from .data import load_dataset

    path, what = r.path, ""
    if path is None:
        path = e.training_data_path()
        if path is None:
            raise InputError("the prior likelihood counts training-data frequencies (Kim et al. §4.5), and this "
                             "model's folder records no training file that exists (training.json): choose one "
                             "(File → Count Prior From Training File…, or --data TRAIN)")
        what = "the model's training file, "
    texts = list(load_dataset(path, progress=progress, cancel=cancel).texts)
    e.set_prior_data(texts, progress=progress, cancel=cancel)
    return f"{Path(path).name} ({what}{len(texts)} sentences)"


def _run_set_device(e: Engine, r: "rq.SetDeviceRequest", progress, cancel) -> str:
    previous = e.device
    try:
        return str(e.set_device(r.device))
    except Exception:
        e.device = previous
        raise


#: the one dispatch table of :meth:`Engine.run`
RUNNERS = {
    rq.AttributionRequest: _run_attribution,
    rq.CompareRequest: _run_compare,
    rq.CompareModelsRequest: _run_compare_models,
    rq.LoadCompareModelRequest: _run_load_compare_model,
    rq.CloseCompareModelRequest: _run_close_compare_model,
    rq.ComparePredictDatasetRequest: _run_compare_predict,
    rq.CandidateTableRequest: _run_candidates,
    rq.SpanAttributionRequest: _run_span,
    rq.HiddenSaliencyRequest: _run_hidden,
    rq.NeighbourScatterRequest: _run_neighbours,
    rq.DeletionCurvesRequest: _run_deletion,
    rq.ActivationMaximizationRequest: _run_activation_maximization,
    rq.SearchRequest: _run_search,
    rq.SimilarityRequest: _run_similar,
    rq.PredictDatasetRequest: _run_predict,
    rq.EvaluateRequest: _run_evaluate,
    rq.SanityCheckRequest: _run_sanity,
    rq.AttributeDatasetRequest: _run_attribute_dataset,
    rq.OpenStoreRequest: _run_open_store,
    rq.LoadModelRequest: _run_load_model,
    rq.LoadDatasetRequest: _run_load_dataset,
    rq.LoadMLMRequest: _run_load_mlm,
    rq.PriorRequest: _run_prior,
    rq.SetDeviceRequest: _run_set_device,
}
