"""The engine facade the app's worker thread and the CLI call. No Qt.

An :class:`Engine` holds the opened classifier and dataset and turns requests into the frozen
result objects of :mod:`interp_engine.results`. Long methods take ``progress(done, total, msg)``
and ``cancel`` (a ``threading.Event``) and raise :class:`~interp_engine.errors.Cancelled`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .attribution.captum_methods import IG_UNITS, LIME_UNITS
from .attribution.gradient import gradient_scores
from .attribution.marginalization import WOE_UNITS
from .errors import InputError, ModelLoadError, check_cancel
from .hidden import RECEPTIVE_FIELD_NOTES, hidden_saliency_batch, top_locations
from .models import Classifier, load_classifier
from .results import (
    CandidateTable,
    DatasetPredictions,
    HiddenSaliency,
    ModelInfo,
    Prediction,
    SpanAttribution,
    TokenAttribution,
)

#: heatmap methods available in this build, with the units of their scores
ATTRIBUTION_METHODS = {
    "grad": "logit gradient (summed over embedding dims)",
    "grad_input": "logit gradient · embedding",
    "marginalization": WOE_UNITS,
    "zero": WOE_UNITS,
    "unk": WOE_UNITS,
    "integrated_gradients": IG_UNITS,
    "lime": LIME_UNITS,
}

#: likelihood models p(x̃_i | x_−i) for ``marginalization`` (Kim et al. 004_ §4.5)
LIKELIHOODS = ("mlm", "uniform", "prior")


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
        self.dataset = None
        #: marginalization settings (Kim et al. 004_ eq. 4): likelihood model, σ, fixed top-n
        self.likelihood = "mlm"
        self.sigma = 1e-5
        self.top_n: int | None = None
        self.chunk_size = 4096
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
        self.likelihood = "mlm"
        self.cache.clear()
        from .hashing import model_folder_hash

        try:
            mlm_hash = model_folder_hash(self._mlm_path) if self._mlm_path.is_dir() else ""
        except (InputError, OSError):  # not a folder of model files: the sidecar hashes nothing either
            mlm_hash = ""
        return {"path": str(self._mlm_path), "shared_tokens": lik.shared_tokens, "identical_vocabulary": lik.identical,
                "hash": mlm_hash}

    def set_prior_data(self, texts, *, progress=None, cancel=None) -> None:
        """Count the unigram prior (Kim et al. §4.5 "Prior") from ``texts`` (a list, or a Dataset).
        Raises Cancelled (the previous prior stays)."""
        from .attribution.likelihood import PriorLikelihood

        c = self.require_model()
        texts = getattr(texts, "texts", texts)
        self._lik_cache["prior"] = PriorLikelihood.from_texts(c, list(texts), progress=progress, cancel=cancel)
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

    def likelihood_model(self, kind: str | None = None):
        """The :class:`~interp_engine.attribution.likelihood.LikelihoodModel` for the open classifier.

        ``prior`` uses counts from :meth:`set_prior_data`, else ``unigram_prior.json`` in the MLM folder.

        Raises:
            InputError: ``mlm``/``prior`` asked for but nothing to build it from.
        """
        from .attribution.likelihood import PriorLikelihood, UniformLikelihood, load_mlm_likelihood

        c = self.require_model()
        kind = kind or self.likelihood
        if kind not in LIKELIHOODS:
            raise InputError(f"unknown likelihood model {kind!r}; choose one of {', '.join(LIKELIHOODS)}")
        lik = self._lik_cache.get(kind)
        if lik is not None and lik.classifier is c:
            return lik
        if kind == "uniform":
            lik = UniformLikelihood(c)
        elif kind == "prior":
            if self._mlm_path is None:
                raise InputError("the prior likelihood needs training data (--data TRAIN) or an MLM folder with unigram_prior.json")
            lik = PriorLikelihood.from_dir(c, self._mlm_path)
        else:
            if self._mlm_path is None:
                raise InputError("marginalization with the mlm likelihood needs a masked LM: open one (--mlm DIR, "
                                 "train it with interp-studio train-mlm) or choose --likelihood uniform|prior")
            lik = load_mlm_likelihood(self._mlm_path, c)
        self._lik_cache[kind] = lik
        return lik

    def _cut(self, sigma=None, top_n=None) -> tuple[float, int | None]:
        """``(σ, top-n)`` a call resolves to: its own σ (then no top-n), its own top-n, or the
        engine's settings."""
        if sigma is not None and top_n is None:
            return float(sigma), None
        if top_n is not None:
            return self.sigma, int(top_n)
        return self.sigma, self.top_n

    def _marginalizer(self, likelihood=None, sigma=None, top_n=None):
        from .attribution.marginalization import InputMarginalization

        s, n = self._cut(sigma, top_n)
        return InputMarginalization(self.require_model(), self.likelihood_model(likelihood), sigma=s, top_n=n,
                                    chunk_size=self.chunk_size)

    def model_info(self) -> ModelInfo:
        c = self.require_model()
        return ModelInfo(
            path=str(c.path) if c.path else "",
            kind=c.kind,
            class_names=c.class_names,
            vocab_size=len(c.tokenizer),
            max_length=c.max_length,
            device=str(c.device),
            content_hash=c.content_hash,
            layer_names=tuple(s.name for s in c.hidden_layers()),
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
        return str(resolved)

    def require_model(self) -> Classifier:
        if self.classifier is None:
            raise ModelLoadError("no model is open: open a model folder first (File → Open Model…, or --model DIR)")
        return self.classifier

    # -- predictions ------------------------------------------------------------------------
    def predict(self, text: str) -> Prediction:
        """The model's prediction for one sentence. Raises InputError for an empty sentence."""
        c = self.require_model()
        enc = c.encode([text])
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask).double(), -1)[0].cpu().numpy()
        return Prediction(p, int(p.argmax()), c.class_names)

    def predict_dataset(self, texts=None, *, batch_size: int = 256, progress=None, cancel=None) -> DatasetPredictions:
        """Predictions for every text of ``texts`` (default: the open dataset), batched.

        For the open dataset the probabilities come from the search index's prediction cache
        (one computation per model and file content, kept on disk), which the training-set search
        shares: reopening a dataset, or searching it, never predicts it twice.
        """
        c = self.require_model()
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

    def attribute(self, text: str, method: str = "grad", target: int | None = None, *, likelihood: str | None = None,
                  sigma: float | None = None, top_n: int | None = None, progress=None, cancel=None) -> TokenAttribution:
        """Per-token attribution of ``text`` to ``target`` (default: the predicted class).

        Args:
            method: one of :data:`ATTRIBUTION_METHODS`: ``grad``, ``grad_input`` (logit units);
                ``marginalization`` (Kim et al. 004_ eq. 1-4), ``zero``/``unk`` erasure (WoE bits);
                ``integrated_gradients``, ``lime`` (Captum).
            likelihood, sigma, top_n: override the marginalization settings for this call
                (see :meth:`set_marginalization`).
            progress: ``progress(done, total, message)``; cancel: ``threading.Event``.

        Returns:
            :class:`TokenAttribution`; WoE methods fill ``n_candidates`` and ``dropped_mass``;
            every method fills ``seconds``.

        Raises:
            InputError: empty sentence, unknown method or target, no likelihood model.
            Cancelled: ``cancel`` was set.
        """
        import time

        if method not in ATTRIBUTION_METHODS:
            raise InputError(f"unknown attribution method {method!r}; choose one of {', '.join(ATTRIBUTION_METHODS)}")
        c = self.require_model()
        key = self._cache_key(c, text, method, target, likelihood, sigma, top_n)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        t0 = time.perf_counter()
        extra: dict = {}
        params: dict = {}
        if method in ("marginalization", "zero", "unk"):
            if method == "marginalization":
                m = self._marginalizer(likelihood, sigma, top_n)
                params = m.params
                out, enc = m.attribute(text, target, progress=progress, cancel=cancel)
            else:
                from .attribution.erasure import ErasureAttribution

                out, enc = ErasureAttribution(c, method).attribute(text, target, progress=progress, cancel=cancel)
            scores, t = out.scores, out.target
            p = None
            extra = dict(n_candidates=out.n_candidates, dropped_mass=out.dropped_mass)
        elif method in ("integrated_gradients", "lime"):
            from .attribution import captum_methods

            if method == "integrated_gradients":
                scores, t, p, enc, delta = captum_methods.integrated_gradients(c, text, target, cancel=cancel)
                params = {"n_steps": 50, "baseline": "zero embedding", "convergence_delta": delta}
            else:
                scores, t, p, enc = captum_methods.lime(c, text, target, cancel=cancel)
                params = {"n_samples": 200, "baseline": "zero embedding", "seed": 0}
        else:
            enc = c.encode([text])
            with torch.no_grad():
                logits = c.logits(enc.input_ids, enc.attention_mask)
            tt = self._target(logits, target)
            check_cancel(cancel)
            sc, _ = gradient_scores(c, enc.input_ids, enc.attention_mask, tt, times_input=(method == "grad_input"))
            scores, t = sc[0, : enc.lengths()[0]].double().cpu().numpy(), int(tt[0])
            p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
        if p is None:
            with torch.inference_mode():
                p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask).double(), -1)[0].cpu().numpy()
        result = TokenAttribution(
            text=text,
            tokens=tuple(enc.tokens[0]),
            offsets=np.asarray(enc.offsets[0], dtype=np.int64).reshape(-1, 2),
            special=np.asarray(enc.special[0], dtype=bool),
            scores=np.asarray(scores, dtype=np.float64),
            units=ATTRIBUTION_METHODS[method],
            method=method,
            target=int(t),
            prediction=Prediction(p, int(p.argmax()), c.class_names),
            truncated=enc.truncated[0],
            params=params,
            seconds=time.perf_counter() - t0,
            unknown=(enc.input_ids[0, : len(enc.tokens[0])] == c.tokenizer.unk_token_id).cpu().numpy()
            if c.tokenizer.unk_token_id is not None else None,
            **extra,
        )
        self.cache.put(key, result)
        return result

    def _cache_key(self, c: Classifier, text: str, method: str, target, likelihood=None, sigma=None, top_n=None):
        """Key of :attr:`cache`: model hash, text, method and the settings that change the result
        (for marginalization the likelihood model, σ and top-n this call resolves to)."""
        params: dict = {"target": None if target is None else int(target)}
        if method == "marginalization":
            s, n = self._cut(sigma, top_n)
            params.update(likelihood=likelihood or self.likelihood, sigma=s, top_n=n)
        return self.cache.key(c.content_hash, text, method, params)

    def candidate_table(self, text: str, position: int, target: int | None = None, *, likelihood: str | None = None,
                        sigma: float | None = None, top_n: int | None = None, cancel=None) -> CandidateTable:
        """The marginalization candidates of token ``position`` (Kim et al. 004_ Fig. 1), most likely first.

        Raises:
            InputError: bad position/target, empty sentence, no likelihood model.
        """
        c = self.require_model()
        m = self._marginalizer(likelihood, sigma, top_n)
        d = m.candidate_table(text, position, target, cancel=cancel)
        enc = d["enc"]
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask).double(), -1)[0].cpu().numpy()
        ids = d["candidate_ids"]
        return CandidateTable(
            text=text, tokens=tuple(enc.tokens[0]), position=int(position), token=enc.tokens[0][position],
            candidates=tuple(c.tokenizer.convert_ids_to_tokens([int(i) for i in ids])),
            candidate_ids=ids.astype(np.int64), likelihood=d["likelihood"], target_probability=d["target_probability"],
            target=d["target"], p_target=d["p_target"], p_marginal=d["p_marginal"], woe=d["woe"],
            dropped_mass=d["dropped_mass"], likelihood_name=m.likelihood.name, prediction=Prediction(p, int(p.argmax()), c.class_names),
            params=m.params,
        )

    def attribute_span(self, text: str, span, target: int | None = None, *, likelihood: str | None = None,
                       sigma: float | None = None, top_n: int | None = None, max_per_step: int | None = 64,
                       progress=None, cancel=None) -> SpanAttribution:
        """Joint WoE (bits) of a span of 2-3 tokens by multi-token marginalization (Kim et al. 004_ §3.3, eq. 3).

        Raises:
            InputError: bad span/target, empty sentence, no likelihood model.
        """
        c = self.require_model()
        m = self._marginalizer(likelihood, sigma, top_n)
        out = m.attribute_span(text, span, target, max_per_step=max_per_step, progress=progress, cancel=cancel)
        enc = c.encode([text])
        with torch.inference_mode():
            p = torch.softmax(c.logits(enc.input_ids, enc.attention_mask).double(), -1)[0].cpu().numpy()
        return SpanAttribution(text=text, tokens=tuple(enc.tokens[0]), positions=out.positions, score=out.score,
                               units=WOE_UNITS, target=out.target, p_target=out.p_target, p_marginal=out.p_marginal,
                               n_candidates=out.n_candidates, prediction=Prediction(p, int(p.argmax()), c.class_names),
                               params={**m.params, "max_per_step": max_per_step}, seconds=out.seconds)

    def deletion_curves(self, text: str, methods, *, strategy: str = "mlm", x_max: float = 0.2, seed: int = 0,
                        target: int | None = None, insertion: bool = False, exclude_original: bool = False,
                        likelihood: str | None = None, sigma: float | None = None, top_n: int | None = None,
                        progress=None, cancel=None):
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
            a = self.attribute(text, m, target, likelihood=likelihood, sigma=sigma, top_n=top_n, progress=sub,
                               cancel=cancel)
            scores[m] = a.scores
            target = a.target if target is None else target
        sub = None
        if progress is not None:
            sub = lambda d, t, msg: progress(len(methods) * 100 + int(100 * d / max(t, 1)), 100 * (len(methods) + 1), msg)  # noqa: E731
        return deletion_curves(c, text, scores, target=target, strategy=strategy, likelihood=lik, x_max=x_max,
                               insertion=insertion, seed=seed, exclude_original=exclude_original, progress=sub,
                               cancel=cancel)

    def hidden_saliency(self, text: str, target: int | None = None, top: int = 3, *, progress=None, cancel=None) -> HiddenSaliency:
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
            logits = c.logits(enc.input_ids, enc.attention_mask)
        t = self._target(logits, target)
        check_cancel(cancel)
        scores, _ = hidden_saliency_batch(c, enc.input_ids, enc.attention_mask, t)
        n = enc.lengths()[0]
        grid = scores[0, :, :n].double().cpu().numpy()
        specs = c.hidden_layers()
        rf = np.stack([s.receptive_fields(n) for s in specs])
        p = torch.softmax(logits.double(), -1)[0].cpu().numpy()
        result = HiddenSaliency(
            text=text,
            tokens=tuple(enc.tokens[0]),
            offsets=np.asarray(enc.offsets[0], dtype=np.int64).reshape(-1, 2),
            special=np.asarray(enc.special[0], dtype=bool),
            layer_names=tuple(s.name for s in specs),
            scores=grid,
            receptive_fields=rf,
            top_locations=top_locations(grid, n, top),
            receptive_field_note=RECEPTIVE_FIELD_NOTES[c.kind],
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

    def neighbour_scatter(self, text: str, locations=None, *, top: int = 3, layers=None, target: int | None = None,
                          lambda1: float = 0.004, lambda2: float = 0.02, steps: int = 1000, lr: float = 2e-4,
                          seed: int = 0, k: int = 10, projection: str = "tsne", perplexity: float = 5.0,
                          progress=None, cancel=None):
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
        from .optimization import OptimizationConfig

        c = self.require_model()
        cfg = OptimizationConfig(lambda1=float(lambda1), lambda2=float(lambda2), steps=int(steps), lr=float(lr),
                                 seed=int(seed))
        return neighbour_scatter(c, text, locations, top=top, layers=layers, target=target, config=cfg, k=int(k),
                                 projection=projection, perplexity=float(perplexity),
                                 space=getattr(self, "_neighbour_space", None), progress=progress, cancel=cancel)

    def matching_rate(self, texts, *, k: int = 3, m: int = 5, layer: int = 0, lambda1: float = 0.004,
                      lambda2: float = 0.02, steps: int = 1000, lr: float = 2e-4, seed: int = 0,
                      progress=None, cancel=None):
        """Matching rate of Yuan et al. ("Evaluation of Interpretability") on ``texts``; see
        :func:`interp_engine.neighbours.matching_rate`. Returns :class:`~interp_engine.results.MatchingRate`."""
        from .neighbours import matching_rate
        from .optimization import OptimizationConfig

        c = self.require_model()
        cfg = OptimizationConfig(lambda1=float(lambda1), lambda2=float(lambda2), steps=int(steps), lr=float(lr),
                                 seed=int(seed))
        return matching_rate(c, list(texts), k=k, m=m, layer=layer, config=cfg,
                             space=getattr(self, "_neighbour_space", None), progress=progress, cancel=cancel)

    def activation_maximization(self, unit: tuple, *, k: int = 10, steps: int = 300, lr: float = 0.01,
                                l2: float = 0.01, seed: int = 0, progress=None, cancel=None):
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

    def search(self, query: str, *, mode: str = "phrase", limit: int | None = 200, chosen_class: int = 1,
               bins: int = 10, progress=None, cancel=None):
        """Every example of the open dataset containing ``query`` (Lopes §4.2), with gold labels and,
        when a model is open, its cached predictions and the histogram of p(``chosen_class``)
        (see :meth:`SearchIndex.search`). Returns a :class:`~interp_engine.results.TokenSearchResult`."""
        ix = self.search_index(progress=progress, cancel=cancel)
        probs, mh, names = None, "", ()
        if self.classifier is not None:
            probs = ix.predictions(self.classifier, progress=progress, cancel=cancel)
            mh, names = self.classifier.content_hash, self.classifier.class_names
            if probs.shape[1] <= chosen_class:
                chosen_class = probs.shape[1] - 1
        return ix.search(query, mode=mode, limit=limit, probabilities=probs, chosen_class=chosen_class, bins=bins,
                         model_hash=mh, model_class_names=names)

    def similar(self, text: str, span, *, layer=None, k: int = 10, metric: str = "l2", progress=None, cancel=None):
        """The ``k`` training n-grams whose activation at ``layer`` is nearest to that of ``text``'s
        token span ``[start, end)`` (Lopes §4.1). Returns a :class:`~interp_engine.results.SimilarityResult`."""
        c = self.require_model()
        ix = self.search_index(progress=progress, cancel=cancel)
        return ix.similar(c, text, tuple(span), layer=layer, k=k, metric=metric, progress=progress, cancel=cancel)
