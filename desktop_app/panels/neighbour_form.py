"""The parameter form of the neighbour scatter (Yuan et al. ``001_e80f9d2c7d254978.txt`` eq. 5-8):
λ1, λ2, steps, k words, projection, perplexity and which locations to interpret. Every widget
starts at the default of :class:`~interp_engine.config.OptimizationConfig` /
:class:`~interp_engine.config.NeighbourConfig` (the only place those numbers are written)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from interp_engine.config import (
    OPTIMIZATION_STEPS,
    OPTIMIZATION_STEPS_OTHER,
    PAPER_LAMBDAS,
    PROJECTIONS,
    NeighbourConfig,
    OptimizationConfig,
)

#: combo text of each projection (:data:`interp_engine.config.PROJECTIONS` order)
PROJECTION_LABELS = {"tsne": "t-SNE", "pca": "PCA (faster)"}
#: the paper's m: most salient locations per layer (Yuan et al. "Interpretation")
MAX_TOP = 10


def _paper(i: int) -> str:
    return f"paper: MR {PAPER_LAMBDAS['mr'][i]:g}, AG News {PAPER_LAMBDAS['ag_news'][i]:g}"


def _dspin(lo, hi, value, decimals, step, tip) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setValue(value)
    s.setToolTip(tip)
    return s


def _spin(lo, hi, value, step, tip) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setSingleStep(step)
    s.setToolTip(tip)
    return s


class NeighbourForm(QWidget):
    """The widgets of the form (the panel exposes them under the same names)."""

    def __init__(self, small_font, parent: QWidget | None = None):
        super().__init__(parent)
        opt, nb = OptimizationConfig, NeighbourConfig
        self.lambda1_spin = _dspin(0.0, 10.0, opt.lambda1, 4, 0.001,
                                   f"λ1: weight of the L2 term ‖X̂0‖² (Yuan eq. 6) (default {opt.lambda1:g}; {_paper(0)})")
        self.lambda2_spin = _dspin(0.0, 10.0, opt.lambda2, 4, 0.005,
                                   f"λ2: weight of the similarity term Sim(X̂0) (eq. 6-7) (default {opt.lambda2:g}; "
                                   f"{_paper(1)})")
        b1, b2 = opt.betas
        fam = ", ".join(f"{name} {v}" for name, v in OPTIMIZATION_STEPS.items())
        self.steps_spin = _spin(1, 100000, OPTIMIZATION_STEPS_OTHER, 100,
                                f"maximum Adam steps (default: the model's family: {fam}, others "
                                f"{OPTIMIZATION_STEPS_OTHER}; lr {opt.lr:g}, β = {b1:g}, {b2:g}); a location stops "
                                f"early when its objective improved by less than {opt.tol:g} (relative) over "
                                f"{opt.patience} steps")
        self.k_spin = _spin(1, 100, nb.k, 1, f"nearest vocabulary words per location (cosine similarity to "
                                             f"x_overall, eq. 8; default {nb.k})")
        self.perplexity_spin = _dspin(1.0, 100.0, nb.perplexity, 1, 1.0,
                                      f"t-SNE perplexity (default {nb.perplexity:g}; capped at (points − 1) / 3)")
        self.projection_combo = QComboBox()
        for key in PROJECTIONS:
            self.projection_combo.addItem(PROJECTION_LABELS.get(key, key), key)
        self.projection_combo.setCurrentIndex(max(0, self.projection_combo.findData(nb.projection)))
        self.projection_combo.currentIndexChanged.connect(
            lambda _i: self.perplexity_spin.setEnabled(self.projection_combo.currentData() == "tsne"))
        self.perplexity_spin.setEnabled(self.projection_combo.currentData() == "tsne")
        self.selection_combo = QComboBox()
        self.selection_combo.addItem("most salient", "top")
        self.selection_combo.addItem("clicked cells", "cells")
        self.selection_combo.setToolTip("Which hidden locations to interpret")
        self.top_spin = _spin(1, MAX_TOP, nb.top, 1, f"m: the m most salient locations of the layer (the paper: {nb.top})")
        self.layer_combo = QComboBox()
        self.layer_combo.setToolTip("the layer whose most salient locations are interpreted (the paper: the first)")
        self.selection_label = QLabel()
        self.selection_label.setObjectName("neighbourSelection")
        self.selection_label.setFont(small_font)
        self.selection_label.setWordWrap(True)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Forget the cells clicked in the grid")

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(3)
        form.setHorizontalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("λ1 (L2)", self.lambda1_spin)
        form.addRow("λ2 (Sim)", self.lambda2_spin)
        form.addRow("Steps", self.steps_spin)
        form.addRow("k words", self.k_spin)
        form.addRow("Projection", self.projection_combo)
        form.addRow("Perplexity", self.perplexity_spin)
        form.addRow("Locations", self.selection_combo)
        sel = QHBoxLayout()
        sel.addWidget(QLabel("top"))
        sel.addWidget(self.top_spin)
        sel.addWidget(self.layer_combo, 1)
        form.addRow("", sel)
        srow = QHBoxLayout()
        srow.addWidget(self.selection_label, 1)
        srow.addWidget(self.clear_button)
        right = QVBoxLayout(self)
        right.setContentsMargins(0, 0, 0, 0)
        right.addLayout(form)
        right.addLayout(srow)
        right.addStretch(1)

    def spins(self) -> dict:
        """``{parameter: spin box}`` of the numeric parameters."""
        return {"lambda1": self.lambda1_spin, "lambda2": self.lambda2_spin, "steps": self.steps_spin,
                "k": self.k_spin, "perplexity": self.perplexity_spin, "top": self.top_spin}


__all__ = ["NeighbourForm", "PROJECTION_LABELS"]
