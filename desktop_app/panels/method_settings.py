"""The settings form of an attribution method, generated from its config dataclass.

:class:`MethodSettingsForm` builds one editor per user-facing field of the method's config class
(:func:`interp_engine.attribution.registry.config_class`), initialised from that class's defaults
(:mod:`interp_engine.config` is the only place a default is written): a combo box for a field with
a fixed set of choices (``likelihood`` from :data:`~interp_engine.config.LIKELIHOODS`), a
validated line edit for a float, a spin box for an int, a check box + spin box for an optional
int (``top_n``: None = off). Fields that only change speed (chunk and batch sizes) get no editor.
:meth:`MethodSettingsForm.config` returns the config instance chosen.

:class:`MarginalizationForm` adds what marginalization needs (Kim et al. eq. 4): ``mlm`` is
disabled until a masked LM is open, ``prior`` until there are counts to build it from, and σ is
disabled while a fixed top-n is on.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QSpinBox, QWidget

from interp_engine.config import LIKELIHOODS, MarginalizationConfig

#: likelihood models of marginalization, with their combo-box text
LIKELIHOOD_NAMES = {"mlm": "masked LM", "uniform": "uniform", "prior": "prior (unigram)"}
NO_MLM_TOOLTIP = "No masked LM is open: File → Open Masked LM…"
NO_PRIOR_TOOLTIP = ("No training-data counts for the prior (Kim et al. §4.5): open a model trained by interp-studio "
                    "train (its folder records the training file), File → Count Prior From Training File…, "
                    "or a masked LM with unigram_prior.json")
#: the likelihood that needs no resource (chosen when the one in use becomes unavailable)
FALLBACK_LIKELIHOOD = "uniform"

#: fields that change only the speed, never the result: no editor
SPEED_ONLY_FIELDS = frozenset({"chunk_size", "batch_size", "internal_batch_size", "perturbations_per_eval",
                               "max_per_step"})
#: fields with a fixed set of values: ``{field: (keys, {key: combo text})}``
CHOICE_FIELDS = {"likelihood": (LIKELIHOODS, LIKELIHOOD_NAMES)}
#: the editors' labels (other fields: their name)
FIELD_LABELS = {"likelihood": "Likelihood:", "sigma": "σ:", "top_n": "top-n", "n_steps": "Steps:",
                "n_samples": "Samples:", "seed": "Seed:"}
FIELD_TIPS = {
    "likelihood": "Likelihood model p(x̃ᵢ | x₋ᵢ) of the candidates",
    "sigma": "σ: candidates with p(x̃ᵢ | x₋ᵢ) < σ are left out (0 = every candidate)",
    "top_n": "Keep the n most likely candidates instead of thresholding at σ",
    "n_steps": "Riemann steps of the integral from the zero-embedding baseline",
    "n_samples": "Perturbed sentences LIME fits its surrogate on",
    "seed": "Seed of the random draw",
}
#: the range a float field accepts (others: >= 0)
FLOAT_RANGES = {"sigma": (0.0, 1.0)}
#: value an optional int's spin box shows while the option is off (it has no default: None)
OPTIONAL_INT_START = 50
INT_MAX = 1_000_000


def _camel(name: str) -> str:
    """``top_n`` → ``topN`` (the editors' object names: ``topNCheck``, ``sigmaEdit``, ...)."""
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _kind(f: dataclasses.Field) -> str | None:
    """The editor kind of a config field: choice | float | int | optional_int | bool | None."""
    t = str(f.type).replace(" ", "")
    if f.name in CHOICE_FIELDS:
        return "choice"
    if t in ("float", "builtins.float"):
        return "float"
    if t in ("bool",):
        return "bool"
    if t in ("int",):
        return "int"
    if t in ("int|None", "Optional[int]", "None|int"):
        return "optional_int"
    return None


def editable_fields(config_cls) -> list[dataclasses.Field]:
    """The fields of ``config_cls`` that get an editor, in declaration order."""
    if config_cls is None:
        return []
    return [f for f in dataclasses.fields(config_cls) if f.name not in SPEED_ONLY_FIELDS and _kind(f) is not None]


class MethodSettingsForm(QWidget):
    """One row of editors for the user-facing fields of ``config_cls``, set to its defaults.

    Attributes:
        editors: ``{field: widget}`` (an optional int's widget is its spin box; its check box is
            in :attr:`checks`).

    Signals:
        sigChanged(): a setting changed (a float: when editing finishes).
    """

    sigChanged = Signal()

    def __init__(self, config_cls, parent: QWidget | None = None):
        super().__init__(parent)
        self.config_class = config_cls
        self._base = config_cls()
        self._floats: dict[str, float] = {}
        self.editors: dict[str, QWidget] = {}
        self.checks: dict[str, QCheckBox] = {}
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.title_label = QLabel()  # the method's name, shown when several forms are on screen
        self.title_label.setObjectName("methodSettingsTitle")
        self.title_label.setStyleSheet("font-weight: bold;")
        self.title_label.hide()
        lay.addWidget(self.title_label)
        for f in editable_fields(config_cls):
            self._add_editor(lay, f, getattr(self._base, f.name))

    # -- building ---------------------------------------------------------------------------
    def _add_editor(self, lay: QHBoxLayout, f: dataclasses.Field, default: Any) -> None:
        name, kind = f.name, _kind(f)
        label, tip = FIELD_LABELS.get(name, f"{name.replace('_', ' ')}:"), FIELD_TIPS.get(name, "")
        obj = _camel(name)
        if kind == "choice":
            keys, texts = CHOICE_FIELDS[name]
            w = QComboBox()
            w.setObjectName(f"{obj}Combo")
            for key in keys:
                w.addItem(texts.get(key, key), key)
            w.setCurrentIndex(max(0, w.findData(default)))
            w.currentIndexChanged.connect(lambda _i: self.sigChanged.emit())
        elif kind == "float":
            w = QLineEdit(f"{float(default):g}")
            w.setObjectName(f"{obj}Edit")
            v = QDoubleValidator(*FLOAT_RANGES.get(name, (0.0, 1e12)), 12, w)
            v.setNotation(QDoubleValidator.Notation.ScientificNotation)
            w.setValidator(v)
            w.setMaximumWidth(80)
            self._floats[name] = float(default)
            w.editingFinished.connect(lambda n=name: self._on_float(n))
        elif kind == "bool":
            w = QCheckBox(label.rstrip(":"))
            w.setObjectName(f"{obj}Check")
            w.setChecked(bool(default))
            w.toggled.connect(lambda _on: self.sigChanged.emit())
        else:  # int, optional int
            w = QSpinBox()
            w.setObjectName(f"{obj}Spin")
            w.setRange(0 if name == "seed" else 1, INT_MAX)
            if kind == "optional_int":
                check = QCheckBox(label)
                check.setObjectName(f"{obj}Check")
                self.checks[name] = check
                w.setValue(int(default) if default is not None else OPTIONAL_INT_START)
                check.setChecked(default is not None)
                w.setEnabled(default is not None)
                check.toggled.connect(lambda on, n=name: self._on_optional_toggled(n, on))
                if tip:
                    check.setToolTip(tip)
            else:
                w.setValue(int(default))
            w.valueChanged.connect(lambda _v: self.sigChanged.emit())
        if tip:
            w.setToolTip(tip)
        self.editors[name] = w
        if kind == "optional_int":
            lay.addWidget(self.checks[name])
        elif kind != "bool":
            lay.addWidget(QLabel(label))
        lay.addWidget(w)

    def has_editors(self) -> bool:
        return bool(self.editors)

    def set_title(self, text: str) -> None:
        """Show ``text`` (the method's name) before the editors; "" hides it."""
        self.title_label.setText(text)
        self.title_label.setVisible(bool(text))

    # -- values -----------------------------------------------------------------------------
    def value(self, name: str) -> Any:
        """The chosen value of field ``name``."""
        w = self.editors[name]
        if name in self._floats:
            return self._floats[name]
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if name in self.checks and not self.checks[name].isChecked():
            return None
        return int(w.value())

    def set_value(self, name: str, value: Any) -> None:
        """Set field ``name`` (emits :attr:`sigChanged` if it changes)."""
        w = self.editors[name]
        if name in self._floats:
            w.setText(f"{float(value):g}")
            self._on_float(name)
        elif isinstance(w, QComboBox):
            i = w.findData(value)
            if i >= 0:
                w.setCurrentIndex(i)
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif name in self.checks:
            self.checks[name].setChecked(value is not None)
            if value is not None:
                w.setValue(int(value))
        else:
            w.setValue(int(value))

    def config(self):
        """The config instance chosen (fields without an editor keep their defaults)."""
        return dataclasses.replace(self._base, **{n: self.value(n) for n in self.editors})

    def set_config(self, cfg) -> None:
        """Show the values of ``cfg`` (a ``config_class`` instance)."""
        self._base = cfg
        for name in self.editors:
            self.set_value(name, getattr(cfg, name))

    def _on_float(self, name: str) -> None:
        w = self.editors[name]
        old = self._floats[name]
        try:
            value = float(w.text())
        except ValueError:
            value = old
        if not (np.isfinite(value) and value >= 0):
            value = old
        w.setText(f"{value:g}")
        if value != old:
            self._floats[name] = value
            self.sigChanged.emit()

    def _on_optional_toggled(self, name: str, on: bool) -> None:
        self.editors[name].setEnabled(on)
        self.sigChanged.emit()


class MarginalizationForm(MethodSettingsForm):
    """Likelihood model (mlm | uniform | prior) and truncation (σ, or a fixed top-n) of
    marginalization (Kim et al. eq. 4), from :class:`~interp_engine.config.MarginalizationConfig`.
    ``mlm`` is disabled until a masked LM is open, ``prior`` until there are counts to build it from.

    Signals:
        sigChanged(): a setting changed (σ: when editing finishes).
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(MarginalizationConfig, parent)
        self.likelihood_combo: QComboBox = self.editors["likelihood"]
        self.sigma_edit: QLineEdit = self.editors["sigma"]
        self.topn_check: QCheckBox = self.checks["top_n"]
        self.topn_spin: QSpinBox = self.editors["top_n"]
        self.sigma_edit.setEnabled(not self.topn_check.isChecked())
        self.likelihood_combo.blockSignals(True)
        self.set_likelihood_available("mlm", False, NO_MLM_TOOLTIP)
        self.likelihood_combo.blockSignals(False)

    def _on_optional_toggled(self, name: str, on: bool) -> None:
        if name == "top_n":
            self.sigma_edit.setEnabled(not on)
        super()._on_optional_toggled(name, on)

    def likelihood(self) -> str:
        return self.likelihood_combo.currentData()

    def set_likelihood(self, key: str) -> bool:
        """Choose likelihood ``key`` if it is available; returns whether it is now chosen."""
        i = self.likelihood_combo.findData(key)
        if i < 0 or not self.is_likelihood_available(key):
            return False
        self.likelihood_combo.setCurrentIndex(i)
        return True

    def is_likelihood_available(self, key: str) -> bool:
        item = self.likelihood_combo.model().item(self.likelihood_combo.findData(key))
        return item is not None and item.isEnabled()

    def set_likelihood_available(self, key: str, available: bool, tooltip: str = "") -> None:
        """Enable or disable one likelihood option (a disabled one shows ``tooltip``); if the
        chosen one becomes unavailable, fall back to :data:`FALLBACK_LIKELIHOOD`."""
        i = self.likelihood_combo.findData(key)
        item = self.likelihood_combo.model().item(i)
        if item is None:
            return
        item.setEnabled(bool(available))
        self.likelihood_combo.setItemData(i, None if available else tooltip, Qt.ItemDataRole.ToolTipRole)
        if not available and self.likelihood() == key:
            self.likelihood_combo.setCurrentIndex(self.likelihood_combo.findData(FALLBACK_LIKELIHOOD))

    def sigma(self) -> float:
        return self.value("sigma")

    def set_sigma(self, value: float) -> None:
        self.set_value("sigma", value)

    def top_n(self) -> int | None:
        return self.value("top_n")

    def settings(self) -> MarginalizationConfig:
        """The :class:`~interp_engine.config.MarginalizationConfig` chosen (likelihood, σ, top-n
        from the form; the other fields at their defaults)."""
        return self.config()


__all__ = ["FALLBACK_LIKELIHOOD", "LIKELIHOOD_NAMES", "MarginalizationForm", "MethodSettingsForm", "NO_MLM_TOOLTIP",
           "NO_PRIOR_TOOLTIP", "editable_fields"]
