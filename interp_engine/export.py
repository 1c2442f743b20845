"""Saving figures for papers: formats, atomic writes, JSON sidecars, and remaking a figure from
its sidecar. No Qt.

- Formats (:data:`FORMATS`): PDF and SVG keep text as text (TrueType fonts embedded in the PDF,
  ``pdf.fonttype = 42``; ``<text>`` elements in the SVG, ``svg.fonttype = 'none'``), PNG at a
  chosen DPI, and LaTeX (``\\colorbox`` per token) for sentence heatmaps. Outputs carry no date
  and SVG ids come from a fixed salt, so the same result gives the same bytes.
- :func:`atomic_write`: a temporary file in the target folder, flushed and fsynced, then
  :func:`os.replace`: an interrupted export never leaves a broken file in place of a good one.
- Every export writes ``<figure>.json`` beside the figure (:func:`sidecar_path`): the panel, the
  method(s) and their parameters, the model's path and content hash (:func:`model_folder_hash`:
  weights + config + tokenizer files), the masked LM and dataset used, the sentence, the target,
  the seed, the style and the app version. :func:`remake` recomputes the result from the model and
  renders the figure again; it refuses (:class:`ModelChangedError`) when the model folder's hash
  differs from the recorded one, unless ``force=True``.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import InputError, InterpError
from .figures import FigureStyle, heatmap_latex, panel_of, render
from .hashing import MODEL_FILE_SUFFIXES, model_folder_hash  # noqa: F401 - re-exported; the one definition

FORMATS = ("pdf", "svg", "png", "tex")
PANELS = ("heatmap", "grid", "scatter", "deletion", "search")
SIDECAR_VERSION = 1


class ModelChangedError(InterpError):
    """The model folder's content hash is not the one recorded in the sidecar."""


def app_version() -> str:
    """The installed interp-studio version (``0.0.0+unknown`` when not installed)."""
    try:
        from importlib.metadata import version

        return version("interp-studio")
    except Exception:  # noqa: BLE001 - a source checkout without metadata
        return "0.0.0+unknown"


# -- hashing ---------------------------------------------------------------------------------
def file_hash(path: str | Path) -> str:
    """sha256 (hex) of one file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- writing ---------------------------------------------------------------------------------
def _write_all(fh, data: bytes) -> None:
    """Write ``data`` in 64 KiB chunks (a seam for tests that interrupt a write)."""
    view = memoryview(data)
    for i in range(0, len(view), 1 << 16):
        fh.write(view[i:i + (1 << 16)])


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsynced, then
    renamed over ``path``. On any error the temporary file is removed and ``path`` is untouched.

    Raises:
        InputError: the folder does not exist. OSError: the write itself failed.
    """
    path = Path(path).expanduser()
    if not path.parent.is_dir():
        raise InputError(f"cannot write {path}: folder {path.parent} does not exist")
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            try:
                os.chmod(tmp, path.stat().st_mode & 0o777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def figure_bytes(fig, fmt: str, *, dpi: float = 300, style: FigureStyle | None = None) -> bytes:
    """Encode a Figure as ``pdf``/``svg``/``png`` bytes with text kept as text and no date.

    Raises:
        InputError: unknown format or a DPI out of 10..2400.
    """
    import matplotlib as mpl

    fmt = fmt.lower()
    if fmt not in ("pdf", "svg", "png"):
        raise InputError(f"a figure cannot be saved as {fmt!r}; choose pdf, svg or png")
    if not 10 <= float(dpi) <= 2400:
        raise InputError(f"DPI must be between 10 and 2400, got {dpi}")
    style = style or FigureStyle()
    meta = {"pdf": {"CreationDate": None, "Producer": None, "Creator": "Interp Studio"},
            "svg": {"Date": None, "Creator": "Interp Studio"},
            "png": {"Software": "Interp Studio"}}[fmt]
    buf = io.BytesIO()
    with mpl.rc_context(style.rc()):
        fig.savefig(buf, format=fmt, dpi=float(dpi), metadata=meta, facecolor="white")
    return buf.getvalue()


def sidecar_path(figure_path: str | Path) -> Path:
    """``fig.pdf`` → ``fig.pdf.json`` (so a PDF and an SVG of one stem keep their own sidecars)."""
    p = Path(figure_path)
    return p.with_name(p.name + ".json")


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else the file suffix. Raises InputError."""
    f = (fmt or Path(path).suffix.lstrip(".")).lower()
    if f not in FORMATS:
        raise InputError(f"unknown format {f or '(none)'!r} for {path}; choose one of {', '.join(FORMATS)}")
    return f


# -- provenance ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Provenance:
    """Where a result came from (what the sidecar needs to recompute it).

    Attributes:
        model_path: the classifier folder; model_hash: :func:`model_folder_hash` of it ("" =
            computed on export).
        mlm_path: the masked LM folder of marginalization, if any; mlm_hash:
            :func:`model_folder_hash` of it ("" = computed on export), e.g. the ``hash`` that
            :meth:`~interp_engine.engine.Engine.load_mlm` returned.
        dataset_path, text_column, label_column: the dataset (search results, prior counts).
        device: the engine device used. seed: the seed set before computing.
        likelihood, sigma, top_n: marginalization settings the result was computed with.
    """

    model_path: str = ""
    model_hash: str = ""
    mlm_path: str | None = None
    mlm_hash: str = ""
    dataset_path: str | None = None
    text_column: str = "text"
    label_column: str = "label"
    device: str = "cpu"
    seed: int = 0
    likelihood: str | None = None
    sigma: float | None = None
    top_n: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _first(result):
    return result[0] if isinstance(result, (list, tuple)) else result


def request_of(result, options: Mapping[str, Any] | None = None, provenance: "Provenance | None" = None) -> dict:
    """What to recompute to get ``result`` again: the panel and the engine call's arguments.

    Heatmap: text, methods, target, marginalization settings. Grid: text, target, top. Search:
    query, mode, class, limit. Deletion curves and the scatter: their results' own ``request``
    dict (or ``params``) when they carry one.
    """
    panel = panel_of(result)
    r0 = _first(result)
    if panel == "heatmap":
        results = list(result) if isinstance(result, (list, tuple)) else [result]
        params = [dict(r.params or {}) for r in results]
        marg = next((p for r, p in zip(results, params) if r.method == "marginalization"), {})
        return {"panel": "heatmap", "text": r0.text, "methods": [r.method for r in results], "target": int(r0.target),
                "likelihood": marg.get("likelihood"), "sigma": marg.get("sigma"), "top_n": marg.get("top_n")}
    if panel == "grid":
        top = max((len(t) for t in r0.top_locations), default=3)
        return {"panel": "grid", "text": r0.text, "target": int(r0.target), "top": int(top)}
    if panel == "search":
        return {"panel": "search", "query": r0.query, "mode": r0.mode, "chosen_class": int(r0.chosen_class),
                "limit": int(len(r0.rows)) if len(r0.rows) < r0.n_matches else max(int(len(r0.rows)), 200),
                "bins": int(len(r0.hist_edges) - 1)}
    if panel == "deletion":
        params = dict(getattr(r0, "params", {}) or {})
        prov = provenance or Provenance()
        return {"panel": "deletion", "text": r0.text, "methods": list(r0.methods), "strategy": r0.strategy,
                "x_max": float(r0.x_max), "seed": int(r0.seed or 0), "target": int(r0.target),
                "insertion": r0.p_insertion is not None, "exclude_original": bool(params.get("exclude_original", False)),
                "likelihood": prov.likelihood, "sigma": prov.sigma, "top_n": prov.top_n}
    if panel == "scatter":
        params = dict(getattr(r0, "params", {}) or {})
        return {"panel": "scatter", "text": r0.text, "target": int(r0.target),
                "locations": [[int(loc.layer), int(loc.position)] for loc in r0.locations],
                "ranks": [int(loc.rank) for loc in r0.locations], "projection": str(r0.projection),
                **{k: _jsonable(params[k]) for k in ("lambda1", "lambda2", "steps", "lr", "seed", "k", "perplexity",
                                                     "vectors") if k in params}}
    req = getattr(r0, "request", None)
    if callable(req):
        req = req()
    if req is None:
        req = dict(getattr(r0, "params", {}) or {})
    return {"panel": panel, **_jsonable(dict(req))}


def _jsonable(obj):
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def build_sidecar(result, provenance: Provenance, *, figure_path: str | Path, fmt: str, dpi: float,
                  style: FigureStyle, options: Mapping[str, Any] | None = None) -> dict:
    """The sidecar dict of an exported figure (see the module docstring)."""
    req = request_of(result, options, provenance)
    r0 = _first(result)
    method: Any
    if req["panel"] == "heatmap":
        method = req["methods"][0] if len(req["methods"]) == 1 else list(req["methods"])
        params = [_jsonable(dict(r.params or {})) for r in (result if isinstance(result, (list, tuple)) else [result])]
        parameters = params[0] if len(params) == 1 else dict(zip(req["methods"], params))
    else:
        method = {"grid": "hidden_saliency", "search": "token_search", "scatter": "input_optimization"}.get(req["panel"], getattr(r0, "method", req["panel"]))
        if req["panel"] == "deletion":
            method = list(req["methods"])
        parameters = {k: v for k, v in req.items() if k not in ("panel", "text")}
    mh = provenance.model_hash or (model_folder_hash(provenance.model_path) if provenance.model_path else "")
    ds = None
    if provenance.dataset_path:
        dp = Path(provenance.dataset_path).expanduser()
        ds = {"path": str(dp.resolve()) if dp.exists() else str(dp), "text_column": provenance.text_column,
              "label_column": provenance.label_column, "hash": file_hash(dp) if dp.is_file() else ""}
    mlm = None
    if provenance.mlm_path:
        mp = Path(provenance.mlm_path).expanduser()
        mlm = {"path": str(mp.resolve()) if mp.exists() else str(mp),
               "hash": provenance.mlm_hash or (model_folder_hash(mp) if mp.is_dir() else "")}
    sentence = getattr(r0, "text", None)
    return _jsonable({
        "sidecar_version": SIDECAR_VERSION,
        "app": "Interp Studio",
        "app_version": app_version(),
        "panel": req["panel"],
        "method": method,
        "parameters": parameters,
        "model": {"path": str(Path(provenance.model_path).expanduser().resolve()) if provenance.model_path else "",
                  "hash": mh},
        "mlm": mlm,
        "dataset": ds,
        "sentence": sentence,
        "query": getattr(r0, "query", None),
        "target": getattr(r0, "target", None),
        "seed": int(provenance.seed),
        "device": provenance.device,
        "request": req,
        "figure": {"file": Path(figure_path).name, "format": fmt, "dpi": float(dpi), "style": style.to_json(),
                   "options": dict(options or {})},
        **({"extra": dict(provenance.extra)} if provenance.extra else {}),
    })


# -- export ----------------------------------------------------------------------------------
class MissingGlyphsWarning(UserWarning):
    """Some characters of a figure have no glyph in the chosen or any fallback font."""


_MISSING_GLYPH = re.compile(r"Glyph (\d+) .*missing from font")


def missing_glyphs(caught) -> list[str]:
    """The characters matplotlib's "Glyph N … missing from font(s)" warnings name, in order, once
    each (``caught``: the records of :func:`warnings.catch_warnings(record=True)`)."""
    out: dict[str, None] = {}
    for w in caught:
        m = _MISSING_GLYPH.search(str(w.message))
        if m:
            out[chr(int(m.group(1)))] = None
    return list(out)


def missing_glyphs_message(chars, style: FigureStyle) -> str:
    """One sentence for the user about characters no installed font can draw."""
    shown = " ".join(repr(c) for c in list(chars)[:12]) + (" …" if len(chars) > 12 else "")
    return (f"no installed font has a glyph for {len(chars)} character(s) of this figure ({shown}): they are "
            f"drawn as empty boxes; install a font that has them (e.g. Noto Sans CJK) or choose another font "
            f"(tried: {', '.join(style.font_families)})")


def encode(result, fmt: str, *, style: FigureStyle | None = None, dpi: float = 300,
           options: Mapping[str, Any] | None = None) -> bytes:
    """The bytes of ``result``'s figure in ``fmt`` (``tex``: heatmaps only).

    Raises:
        InputError: unknown format, or ``tex`` for a panel other than the heatmap.
    """
    style = style or FigureStyle()
    fmt = fmt.lower()
    if fmt == "tex":
        if panel_of(result) != "heatmap":
            raise InputError("LaTeX export is for sentence heatmaps only; choose pdf, svg or png")
        return heatmap_latex(result, style).encode("utf-8")
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = render(result, style, **dict(options or {}))
        data = figure_bytes(fig, fmt, dpi=dpi, style=style)
    missing = missing_glyphs(caught)
    for w in caught:
        if not _MISSING_GLYPH.search(str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing:
        warnings.warn(MissingGlyphsWarning(missing_glyphs_message(missing, style)), stacklevel=2)
    return data


def export_figure(result, out: str | Path, *, fmt: str | None = None, style: FigureStyle | None = None,
                  dpi: float = 300, provenance: Provenance | None = None,
                  options: Mapping[str, Any] | None = None, sidecar: bool = True) -> tuple[Path, Path | None]:
    """Render ``result`` and write it to ``out`` (atomically), plus its JSON sidecar.

    Args:
        result: a result object (or a sequence of TokenAttributions for side-by-side rows).
        fmt: ``pdf``/``svg``/``png``/``tex`` (default: ``out``'s suffix).
        dpi: PNG resolution (and of any raster part of PDF/SVG).
        provenance: where the result came from (model path etc.); without it no sidecar is written.

    Returns:
        ``(figure path, sidecar path or None)``.

    Raises:
        InputError: bad format/DPI/folder.
    """
    out = Path(out).expanduser()
    fmt = format_of(out, fmt)
    style = style or FigureStyle()
    data = encode(result, fmt, style=style, dpi=dpi, options=options)
    meta = None
    if sidecar and provenance is not None:
        meta = build_sidecar(result, provenance, figure_path=out, fmt=fmt, dpi=dpi, style=style, options=options)
    atomic_write(out, data)
    side = None
    if meta is not None:
        side = atomic_write(sidecar_path(out), json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return out, side


def export_all(results: Mapping[str, Any], folder: str | Path, stem: str, *, fmt: str = "pdf",
               style: FigureStyle | None = None, dpi: float = 300, provenance: Provenance | None = None,
               options: Mapping[str, Mapping[str, Any]] | None = None) -> list[Path]:
    """Export every panel's result of one sentence as ``<folder>/<stem>_<panel>.<fmt>`` (+ sidecars).

    ``tex`` falls back to ``pdf`` for panels other than the heatmap. Returns the figure paths.
    """
    folder = Path(folder).expanduser()
    paths = []
    for panel, res in results.items():
        if res is None:
            continue
        f = fmt if (fmt != "tex" or panel == "heatmap") else "pdf"
        p, _ = export_figure(res, folder / f"{stem}_{panel}.{f}", fmt=f, style=style, dpi=dpi, provenance=provenance,
                             options=(options or {}).get(panel))
        paths.append(p)
    return paths


# -- recomputing -----------------------------------------------------------------------------
def _seed(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def compute(request: Mapping[str, Any], engine, *, seed: int = 0, progress=None, cancel=None):
    """Recompute a panel's result with an :class:`~interp_engine.engine.Engine` that has the model
    (and MLM / dataset) open. ``request``: :func:`request_of`'s dict.

    Raises:
        InputError: unknown panel, or a panel whose engine call this build lacks.
    """
    panel = request.get("panel")
    _seed(seed)
    if panel == "heatmap":
        kw = {k: request.get(k) for k in ("likelihood", "sigma", "top_n")}
        if kw["top_n"] is not None:
            kw["sigma"] = None
        out = []
        for m in request["methods"]:
            extra = kw if m == "marginalization" else {}
            _seed(seed)
            out.append(engine.attribute(request["text"], m, request.get("target"), progress=progress, cancel=cancel,
                                        **extra))
        return out[0] if len(out) == 1 else out
    if panel == "grid":
        return engine.hidden_saliency(request["text"], request.get("target"), int(request.get("top", 3)))
    if panel == "search":
        return engine.search(request["query"], mode=request.get("mode", "phrase"), limit=request.get("limit", 200),
                             chosen_class=int(request.get("chosen_class", 1)), bins=int(request.get("bins", 10)),
                             progress=progress, cancel=cancel)
    if panel == "deletion":
        kw = {k: request.get(k) for k in ("likelihood", "sigma", "top_n")}
        if kw["top_n"] is not None:
            kw["sigma"] = None
        return engine.deletion_curves(request["text"], list(request["methods"]), strategy=request.get("strategy", "mlm"),
                                      x_max=float(request.get("x_max", 0.2)), seed=int(request.get("seed", 0)),
                                      target=request.get("target"), insertion=bool(request.get("insertion", False)),
                                      exclude_original=bool(request.get("exclude_original", False)), progress=progress,
                                      cancel=cancel, **kw)
    if panel == "scatter":
        fn = getattr(engine, "neighbour_scatter", None)
        if fn is None:
            raise InputError("this build cannot recompute the neighbour scatter")
        vec = request.get("vectors", "model")
        if vec not in (None, "model"):
            raise InputError(f"the scatter used the word vectors {vec!r}: remake it in the app after loading them "
                             "(only the model's own embeddings are reloaded from a sidecar)")
        kw = {k: request[k] for k in ("lambda1", "lambda2", "steps", "lr", "seed", "k", "perplexity") if k in request}
        res = fn(request["text"], [tuple(x) for x in request["locations"]], target=request.get("target"),
                 projection=request.get("projection", "tsne"), progress=progress, cancel=cancel, **kw)
        ranks = request.get("ranks")
        if ranks and len(ranks) == len(res.locations) and any(int(a) != loc.rank for a, loc in zip(ranks, res.locations)):
            from dataclasses import replace

            res = replace(res, locations=tuple(replace(loc, rank=int(a)) for a, loc in zip(ranks, res.locations)))
        return res
    fn = _EXTRA_COMPUTE.get(str(panel))
    if fn is None:
        raise InputError(f"cannot recompute a {panel!r} figure in this build")
    return fn(request, engine, progress=progress, cancel=cancel)


#: recompute functions of panels added by other modules: ``{panel: fn(request, engine, progress=, cancel=)}``
_EXTRA_COMPUTE: dict[str, Callable] = {}


def register_compute(panel: str, fn: Callable) -> None:
    """Let :func:`compute` recompute ``panel`` results with ``fn(request, engine, progress=, cancel=)``."""
    _EXTRA_COMPUTE[panel] = fn


def read_sidecar(path: str | Path) -> dict:
    """Read and check a sidecar. Raises InputError for a missing or malformed file."""
    p = Path(path).expanduser()
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"sidecar {p} does not exist") from None
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read sidecar {p}: {e}") from None
    if not isinstance(meta, dict) or "request" not in meta or "model" not in meta or "figure" not in meta:
        raise InputError(f"{p} is not an Interp Studio figure sidecar (no request/model/figure)")
    if int(meta.get("sidecar_version", 0)) > SIDECAR_VERSION:
        raise InputError(f"{p} was written by a newer Interp Studio (sidecar version {meta['sidecar_version']})")
    return meta


def check_model(meta: Mapping[str, Any], *, model_path: str | Path | None = None, force: bool = False) -> str:
    """The model folder to use for a sidecar; raises :class:`ModelChangedError` when its hash is
    not the recorded one (a warning instead with ``force``)."""
    path = Path(model_path or meta["model"]["path"]).expanduser()
    recorded = meta["model"].get("hash", "")
    if not path.is_dir():
        raise InputError(f"the model folder {path} recorded in the sidecar does not exist (give --model DIR)")
    now = model_folder_hash(path)
    if recorded and now != recorded:
        msg = (f"the model in {path} changed since the figure was made (content hash {now[:12]}…, "
               f"sidecar {recorded[:12]}…): the figure would not be the same")
        if not force:
            raise ModelChangedError(msg + "; use --force to remake it anyway")
        warnings.warn(msg, stacklevel=2)
    return str(path)


def remake(sidecar: str | Path, out: str | Path | None = None, *, model_path: str | Path | None = None,
           device: str | None = None, force: bool = False, engine=None, progress=None) -> tuple[Path, Path | None]:
    """Recompute the result a sidecar describes and export its figure again.

    Args:
        sidecar: the ``.json`` written beside a figure.
        out: where to write (default: the recorded figure file beside the sidecar). A new sidecar
            is written beside ``out``.
        model_path: use this folder instead of the recorded model path (its hash must match).
        device: engine device (default: the recorded one, ``cpu`` if that is unavailable).
        force: remake even if the model's hash changed (with a warning).

    Raises:
        InputError: bad sidecar; ModelChangedError: the model changed and not ``force``.
    """
    sp = Path(sidecar).expanduser()
    meta = read_sidecar(sp)
    mpath = check_model(meta, model_path=model_path, force=force)
    if engine is None:
        from .engine import Engine

        dev = device or meta.get("device") or "cpu"
        try:
            engine = Engine(dev)
        except InterpError:
            engine = Engine("cpu")
    engine.load_model(mpath)
    mlm = meta.get("mlm")
    mlm_hash = ""
    if mlm and mlm.get("path"):
        mp = Path(mlm["path"])
        if mlm.get("hash") and mp.is_dir() and model_folder_hash(mp) != mlm["hash"] and not force:
            raise ModelChangedError(f"the masked LM in {mp} changed since the figure was made; use --force to remake it anyway")
        mlm_hash = (engine.load_mlm(mp) or {}).get("hash", "")  # hashed by the engine at load
    ds = meta.get("dataset")
    if ds and ds.get("path"):
        dp = Path(ds["path"])
        if ds.get("hash") and dp.is_file() and file_hash(dp) != ds["hash"]:
            msg = f"the dataset {dp} changed since the figure was made"
            if not force:
                raise ModelChangedError(msg + "; use --force to remake it anyway")
            warnings.warn(msg, stacklevel=2)
        engine.load_dataset(dp, text_column=ds.get("text_column", "text"), label_column=ds.get("label_column", "label"))
        req = meta["request"]
        if req.get("panel") in ("heatmap", "deletion") and req.get("likelihood") == "prior":
            engine.set_prior_data(engine.dataset.texts)  # the app counts the prior on the open dataset
    result = compute(meta["request"], engine, seed=int(meta.get("seed", 0)), progress=progress)
    fig = meta["figure"]
    target = Path(out).expanduser() if out else sp.with_name(fig["file"])
    # the engine hashed the folder (model_folder_hash) when it loaded it: not read a third time
    prov = Provenance(model_path=mpath, model_hash=engine.classifier.content_hash, seed=int(meta.get("seed", 0)),
                      mlm_path=(mlm or {}).get("path"), mlm_hash=mlm_hash,
                      dataset_path=(ds or {}).get("path"),
                      text_column=(ds or {}).get("text_column", "text"), label_column=(ds or {}).get("label_column", "label"),
                      device=str(meta.get("device", "cpu")))
    fmt = format_of(target, fig["format"] if not out else None)
    return export_figure(result, target, fmt=fmt, style=FigureStyle.from_json(fig.get("style")),
                         dpi=float(fig.get("dpi", 300)), provenance=prov, options=fig.get("options") or {})


__all__ = ["FORMATS", "PANELS", "ModelChangedError", "Provenance", "atomic_write", "figure_bytes", "encode",
           "export_figure", "export_all", "build_sidecar", "sidecar_path", "read_sidecar", "remake", "compute",
           "model_folder_hash", "request_of", "register_compute", "app_version"]
