"""What the analysis shows, as data: the current input and the settings the docks use.

:class:`AnalysisState` has no Qt: the controllers keep it up to date from the panels' choices,
the session module saves it with :func:`dataclasses.asdict` and rebuilds it with
:meth:`AnalysisState.from_dict`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from interp_engine.config import (
    AttributionConfig,
    DeletionConfig,
    MarginalizationConfig,
    NeighbourConfig,
    OptimizationConfig,
)
from interp_engine.inputs import TextInput

#: the likelihood model the GUI starts with (a masked LM is not open yet)
GUI_LIKELIHOOD = "uniform"

_CONFIGS = {"marginalization": MarginalizationConfig, "deletion": DeletionConfig, "neighbours": NeighbourConfig,
            "optimization": OptimizationConfig}


@dataclass
class AnalysisState:
    """The current input and the choices of the docks.

    Attributes:
        text: the current sentence ("" = none; a pair: ``"premise ‖ hypothesis"``, ``str(TextInput)``).
        texts, segments: a sentence pair's two texts and their names (``()`` for one sentence);
            :attr:`input` is the current :class:`~interp_engine.inputs.TextInput`.
        method: the heatmap's attribution method; target: class index, None = predicted.
        marginalization: the marginalization form's choice (Kim et al. eq. 4).
        compare: side-by-side mode on; compare_methods: its methods, in order.
        deletion: the deletion-curve dock's strategy, x-range and seed (Kim et al. §3.5).
        neighbours, optimization: the neighbour-scatter dock's parameters (Yuan et al. eq. 5-8).
    """

    text: str = ""
    texts: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    method: str = AttributionConfig.gui_method
    target: int | None = None
    marginalization: MarginalizationConfig = field(
        default_factory=lambda: MarginalizationConfig(likelihood=GUI_LIKELIHOOD))
    compare: bool = False
    compare_methods: tuple[str, ...] = ()
    deletion: DeletionConfig = field(default_factory=DeletionConfig)
    neighbours: NeighbourConfig = field(default_factory=NeighbourConfig)
    optimization: OptimizationConfig = field(default_factory=OptimizationConfig)

    @property
    def input(self) -> TextInput | None:
        """The current input: a pair when :attr:`texts` holds two texts, else :attr:`text` (None: none)."""
        if len(self.texts) == 2:
            return TextInput(tuple(self.texts), tuple(self.segments) or ("premise", "hypothesis"))
        return TextInput.single(self.text) if self.text else None

    def set_input(self, value) -> None:
        """Make ``value`` (a string, a (first, second) pair or a TextInput; "" = none) current."""
        if isinstance(value, str) and not value:
            self.text, self.texts, self.segments = "", (), ()
            return
        inp = TextInput.of(value)
        self.text = str(inp)
        self.texts = tuple(inp.texts) if inp.is_pair else ()
        self.segments = tuple(inp.segments) if inp.is_pair else ()

    def to_dict(self) -> dict:
        """:func:`dataclasses.asdict`, with tuples as lists (JSON)."""
        return _lists(asdict(self))

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "AnalysisState":
        """Rebuild from :meth:`to_dict` (unknown keys are ignored; configs are validated by type)."""
        d = dict(d or {})
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, v in d.items():
            if k not in names:
                continue
            if k in _CONFIGS:
                v = _CONFIGS[k].from_json(v) if isinstance(v, dict) else _CONFIGS[k]()
            elif k in ("compare_methods", "texts", "segments"):
                v = tuple(str(m) for m in (v or ()))
            kw[k] = v
        return cls(**kw)

    def replace(self, **changes) -> "AnalysisState":
        return replace(self, **changes)


def _lists(v):
    if isinstance(v, dict):
        return {k: _lists(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_lists(x) for x in v]
    return v
