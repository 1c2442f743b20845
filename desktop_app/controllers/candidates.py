"""The candidate-table dock: which words input marginalization puts in place of a clicked token
(Kim et al. 2020 Fig. 1), and the joint WoE of a shift-clicked span of 2-3 tokens (eq. 3)."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal, Slot

from interp_engine.attribution import registry
from interp_engine.requests import CandidateTableRequest, SpanAttributionRequest

from ..engine_client import EngineClient, Job
from .base import DockController, marginalization_config

#: what the dock shows while the heatmap's method has no candidates (and how to get them)
NOT_WOE_HINT = ("Click a token to see which words input marginalization would put in its place (Kim et al. "
                "Fig. 1): choose Marginalization or an erasure method.")
CLICK_HINT = "Click a token of the heatmap to see its candidates."


class CandidatesController(DockController):
    """Computes the candidate table of a clicked token and the joint WoE of a selected span.

    Args:
        main: the :class:`~desktop_app.controllers.analysis.AnalysisController` (current
            sentence, model, what the heatmap shows).
        panel: the :class:`~desktop_app.panels.candidates.CandidateTablePanel`.

    Signals:
        sigCandidatesReady(object): a ``CandidateTable`` is shown.
        sigSpanReady(object): a ``SpanAttribution`` is shown.
    """

    sigCandidatesReady = Signal(object)
    sigSpanReady = Signal(object)

    def __init__(self, client: EngineClient, main, panel, parent: QObject | None = None):
        super().__init__(client, parent)
        self.main = main
        self.panel = panel
        self.candidate_table = None
        self.span = None
        main.sigExplaining.connect(self.clear)
        main.heatmap.sigTokenClicked.connect(self.on_token_clicked)
        main.heatmap.sigSpanSelected.connect(self.on_span_selected)
        main.heatmap.sigMethodChanged.connect(lambda _m: self.show_hint())
        main.heatmap.sigCompareChanged.connect(self.show_hint)
        self.show_hint()

    def _shows_woe(self) -> bool:
        """Whether the heatmap shows a WoE method (whose tokens have candidates)."""
        h = self.main.heatmap
        woe = set(registry.woe_methods())
        if h.compare_enabled():
            return bool(woe & set(h.compare_methods()))
        return h.method() in woe

    def _compare_marginalization(self) -> bool:
        h = self.main.heatmap
        return h.compare_enabled() and "marginalization" in h.compare_methods()

    @Slot()
    def show_hint(self) -> None:
        """The placeholder of an empty table: what it will show, and how to get it."""
        if self.candidate_table is None and not self.pending("candidates"):
            self.panel.show_message(CLICK_HINT if self._shows_woe() else NOT_WOE_HINT)

    @Slot()
    def clear(self) -> None:
        """The sentence (or the method) changed: the token details are stale."""
        self.drop("candidates", "span")
        self.candidate_table = self.span = None
        self.panel.set_span(None)
        self.show_hint()

    @Slot(int)
    def on_token_clicked(self, index: int) -> None:
        self.request_candidates(index)

    def request_candidates(self, index: int) -> Job | None:
        """Compute the candidate table of token ``index`` of the current sentence."""
        main = self.main
        if main.model_info is None or not main.current_text:
            return None
        shown = main._shown()
        method = main.heatmap.method()
        compare_woe = self._compare_marginalization()
        if shown is not None and 0 <= index < len(shown.special) and shown.special[index]:
            self.panel.show_message(f"“{shown.tokens[index]}” is a special token: it is never marginalized.")
            return None
        woe = registry.woe_methods()
        if not compare_woe and method in woe and method != "marginalization":
            word = registry.get(method).replacement or "one fixed token"
            tok = shown.tokens[index] if shown is not None and index < len(shown.tokens) else str(index)
            score = (f" Its WoE: {shown.scores[index]:+.3f} bits." if shown is not None
                     and index < len(shown.scores) else "")
            self.panel.show_message(f"{registry.label(method)} replaces “{tok}” by {word} (one candidate).{score} "
                                    "Choose Marginalization to see the likelihood model's candidates.")
            return None
        if not compare_woe and method not in woe:
            self.panel.show_message(NOT_WOE_HINT)
            return None
        target = shown.target if shown is not None else main.heatmap.target()
        job = self.submit(CandidateTableRequest(
            input=main.current_input, position=int(index), target=target,
            marginalization=marginalization_config(main.heatmap.marginalization_settings())),
            self._finished_candidates, on_failed=lambda m: self._failed("candidates", m),
            on_cancelled=lambda: self.panel.show_message("Cancelled."))
        self.panel.set_computing(f"Computing the candidates of token {index}…")
        return job

    @Slot(int, int)
    def on_span_selected(self, first: int, last: int) -> None:
        """A span of 2-3 tokens (``first..last``) was shift-clicked: compute its joint WoE."""
        self.request_span(range(int(first), int(last) + 1))

    def request_span(self, span) -> Job | None:
        """Compute the joint WoE of the adjacent positions ``span`` by multi-token marginalization."""
        main = self.main
        span = tuple(int(i) for i in span)
        if main.model_info is None or not main.current_text or len(span) < 2:
            return None
        shown = main._shown()
        if shown is not None and any(shown.special[i] for i in span if i < len(shown.special)):
            main.sigStatus.emit("A span cannot include special tokens")
            return None
        target = shown.target if shown is not None else main.heatmap.target()
        job = self.submit(SpanAttributionRequest(
            input=main.current_input, span=span, target=target,
            marginalization=marginalization_config(main.heatmap.marginalization_settings())),
            self._finished_span, on_failed=lambda m: self._failed("span", m),
            on_cancelled=lambda: self.panel.show_message("Cancelled."))
        self.panel.show_span_message(f"Marginalizing tokens {span[0]}–{span[-1]} jointly…")
        main.sigStatus.emit(f"Span {span[0]}–{span[-1]} selected")
        return job

    def _finished_candidates(self, table) -> None:
        if table.text != self.main.current_text:
            return
        self.candidate_table = table
        self.panel.set_result(table)
        self.sigCandidatesReady.emit(table)
        self.main.sigStateChanged.emit()

    def _finished_span(self, span) -> None:
        main = self.main
        if span.text != main.current_text:
            return
        self.span = span
        if main.heatmap.result is not None:
            main.heatmap.set_span_info(span)
        self.panel.set_span(span)
        self.sigSpanReady.emit(span)
        main.sigStatus.emit(f"Span WoE {span.score:+.3f} bits ({span.n_candidates} candidate combinations)")
        main.sigStateChanged.emit()

    def _failed(self, kind: str, message: str) -> None:
        if kind == "candidates":
            self.panel.show_message(f"Could not compute the candidates: {message}")
        else:
            self.panel.show_span_message(f"Could not marginalize the span: {message}")
        self.main.sigStatus.emit(f"Error: {message}")
        self.main.sigError.emit(kind, message)
        self.main.sigStateChanged.emit()
