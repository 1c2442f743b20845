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
  weights + config + tokenizer files), the masked LM and dataset used, the sentence (a sentence
  pair: ``"premise ‖ hypothesis"``, plus both texts as ``texts`` and their names as ``segments``),
  the target, the seed, the style and the app version, and the request that computes the result
  (``request.to_json()`` of :mod:`interp_engine.requests`, see :mod:`interp_engine.sidecar`).
  :func:`remake` runs that request again (``engine.run(Request.from_json(...))``, older
  ``{"panel": ...}`` requests converted first) and renders the figure again; it refuses
  (:class:`ModelChangedError`) when the model folder's hash differs from the recorded one, unless
  ``force=True``.
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
from typing import Any, Mapping

from .config import DatasetConfig
from .errors import InputError, InterpError, InterpWarning
from .figures import FigureStyle, heatmap_latex, latex, panel_of, render  # noqa: F401 - heatmap_latex re-exported
from .hashing import MODEL_FILE_SUFFIXES, model_folder_hash  # noqa: F401 - re-exported; the one definition
from .results import MODEL_LETTERS, ModelComparison
from .sidecar import (  # noqa: F401
    MODEL_TRAINING_FILE,
    legacy_request,
    parameters_of,
    recompute,
    request_for,
    sidecar_request,
    uses_prior,
)

FORMATS = ("pdf", "svg", "png", "tex")
PANELS = ("heatmap", "grid", "scatter", "deletion", "search", "sanity", "activation", "evaluation")
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
    text_column: str = DatasetConfig.text_column
    label_column: str = DatasetConfig.label_column
    device: str = "cpu"
    seed: int = 0
    likelihood: str | None = None
    sigma: float | None = None
    top_n: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _first(result):
    return result[0] if isinstance(result, (list, tuple)) else result


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
    """The sidecar dict of an exported figure (see the module docstring); its ``request`` is
    :func:`~interp_engine.sidecar.request_for` ``(result).to_json()``."""
    request = request_for(result, provenance)
    panel = panel_of(result)
    r0 = _first(result)
    method: Any
    compare_model = None
    if isinstance(result, ModelComparison):  # two models' rows: the parameters of each, both models named
        method = result.method
        parameters = {letter: _jsonable(dict(r.params or {})) if r is not None else None
                      for letter, r in zip(MODEL_LETTERS, result.rows)}
        cp = result.model_paths[1]
        compare_model = {"name": result.model_names[1], "path": str(Path(cp).expanduser().resolve()) if cp else "",
                         "hash": result.model_hashes[1]}
    elif panel == "heatmap":
        rows = list(result) if isinstance(result, (list, tuple)) else [result]
        methods = [r.method for r in rows]
        method = methods[0] if len(methods) == 1 else methods
        params = [_jsonable(dict(r.params or {})) for r in rows]
        parameters = params[0] if len(params) == 1 else dict(zip(methods, params))
    else:
        method = {"grid": "hidden_saliency", "search": "token_search", "scatter": "input_optimization",
                  "deletion": list(getattr(r0, "methods", ())), "sanity": getattr(r0, "method", None),
                  "activation": "activation_maximization", "evaluation": list(getattr(r0, "methods", ()))}[panel]
        parameters = parameters_of(request, r0)
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
    inp = getattr(request, "input", None)
    pair = {"texts": list(inp.texts), "segments": list(inp.segments)} if getattr(inp, "is_pair", False) else {}
    return _jsonable({
        "sidecar_version": SIDECAR_VERSION,
        "app": "Interp Studio",
        "app_version": app_version(),
        "panel": panel,
        "method": method,
        "parameters": parameters,
        "model": {"path": str(Path(provenance.model_path).expanduser().resolve()) if provenance.model_path else "",
                  "hash": mh},
        "mlm": mlm,
        **({"compare_model": compare_model, **_models_of(result)} if compare_model else {}),
        "dataset": ds,
        "sentence": sentence,
        **pair,  # a sentence pair: both texts and their names (the request's input holds them too)
        "query": getattr(r0, "query", None),
        "target": getattr(r0, "target", None),
        "seed": int(provenance.seed),
        "device": provenance.device,
        "request": request.to_json(),
        "figure": {"file": Path(figure_path).name, "format": fmt, "dpi": float(dpi), "style": style.to_json(),
                   "options": dict(options or {})},
        **({"extra": dict(provenance.extra)} if provenance.extra else {}),
    })


def _models_of(result) -> dict:
    """A model comparison's sidecar fields: ``models`` (per row its letter, name, folder, content
    hash and error) and ``notes`` (the scale and class notes the figure shows)."""
    return {"models": [{"letter": MODEL_LETTERS[i], "name": result.model_names[i], "path": result.model_paths[i],
                        "hash": result.model_hashes[i], "error": result.row_errors[i] or None}
                       for i in range(len(result.rows))],
            "notes": {"scale": result.scale_note, "shared_scale": bool(result.shared_scale),
                      "classes": result.class_note or None, "other": list(result.notes)}}


# -- export ----------------------------------------------------------------------------------
class MissingGlyphsWarning(InterpWarning):
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
        return latex(result, style).encode("utf-8")
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


# -- remaking ---------------------------------------------------------------------------------
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


def check_compare_model(meta: Mapping[str, Any], *, compare_model_path: str | Path | None = None,
                        force: bool = False) -> str | None:
    """The comparison model folder of a model-comparison sidecar (None: the sidecar has none);
    raises :class:`ModelChangedError` when its hash is not the recorded one (a warning with
    ``force``) and InputError when the folder is gone."""
    cm = meta.get("compare_model")
    if not cm:
        return None
    path = Path(compare_model_path or cm.get("path") or "").expanduser()
    if not path.is_dir():
        raise InputError(f"the comparison model folder {path} recorded in the sidecar does not exist "
                         "(give --compare-model DIR)")
    recorded = cm.get("hash", "")
    now = model_folder_hash(path)
    if recorded and now != recorded:
        msg = (f"the comparison model in {path} changed since the figure was made (content hash {now[:12]}…, "
               f"sidecar {recorded[:12]}…): the figure would not be the same")
        if not force:
            raise ModelChangedError(msg + "; use --force to remake it anyway")
        warnings.warn(msg, stacklevel=2)
    return str(path)


def remake(sidecar: str | Path, out: str | Path | None = None, *, model_path: str | Path | None = None,
           device: str | None = None, force: bool = False, engine=None, progress=None,
           compare_model_path: str | Path | None = None) -> tuple[Path, Path | None]:
    """Recompute the result a sidecar describes and export its figure again.

    Args:
        sidecar: the ``.json`` written beside a figure.
        out: where to write (default: the recorded figure file beside the sidecar). A new sidecar
            is written beside ``out``.
        model_path: use this folder instead of the recorded model path (its hash must match).
        device: engine device (default: the recorded one, ``cpu`` if that is unavailable).
        force: remake even if the model's hash changed (with a warning).
        compare_model_path: a model comparison's second model, instead of the recorded folder.

    Raises:
        InputError: bad sidecar; ModelChangedError: the model changed and not ``force``.
    """
    sp = Path(sidecar).expanduser()
    meta = read_sidecar(sp)
    mpath = check_model(meta, model_path=model_path, force=force)
    cpath = check_compare_model(meta, compare_model_path=compare_model_path, force=force)
    request = sidecar_request(meta)
    if engine is None:
        from .engine import Engine

        dev = device or meta.get("device") or "cpu"
        try:
            engine = Engine(dev)
        except InterpError:
            engine = Engine("cpu")
    engine.load_model(mpath)
    if cpath is not None:
        engine.load_compare_model(cpath)
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
        engine.load_dataset(dp, text_column=ds.get("text_column", DatasetConfig.text_column),
                            label_column=ds.get("label_column", DatasetConfig.label_column))
        if uses_prior(request) and not (meta.get("extra") or {}).get("prior_data"):
            engine.set_prior_data(engine.dataset.texts)  # sidecars before the prior had its own source
    prior_data = (meta.get("extra") or {}).get("prior_data")
    if uses_prior(request) and prior_data:
        from .requests import PriorRequest

        engine.run(PriorRequest(path=None if prior_data == MODEL_TRAINING_FILE else prior_data))
    result = recompute(request, engine, seed=int(meta.get("seed", 0)), progress=progress)
    fig = meta["figure"]
    target = Path(out).expanduser() if out else sp.with_name(fig["file"])
    # the engine hashed the folder (model_folder_hash) when it loaded it: not read a third time
    prov = Provenance(model_path=mpath, model_hash=engine.classifier.content_hash, seed=int(meta.get("seed", 0)),
                      mlm_path=(mlm or {}).get("path"), mlm_hash=mlm_hash,
                      dataset_path=(ds or {}).get("path"),
                      text_column=(ds or {}).get("text_column", DatasetConfig.text_column),
                      label_column=(ds or {}).get("label_column", DatasetConfig.label_column),
                      device=str(meta.get("device", "cpu")))
    fmt = format_of(target, fig["format"] if not out else None)
    return export_figure(result, target, fmt=fmt, style=FigureStyle.from_json(fig.get("style")),
                         dpi=float(fig.get("dpi", 300)), provenance=prov, options=fig.get("options") or {})


__all__ = ["FORMATS", "PANELS", "ModelChangedError", "Provenance", "atomic_write", "figure_bytes", "encode",
           "export_figure", "export_all", "build_sidecar", "sidecar_path", "read_sidecar", "remake", "recompute", "check_compare_model",
           "model_folder_hash", "request_for", "legacy_request", "sidecar_request", "app_version"]
