"""The training-set search dock (Lopes et al. §4): token / phrase search and activation
similarity of a heatmap span."""
from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from interp_engine.requests import SearchRequest, SimilarityRequest

from ..engine_client import EngineClient, Job
from .base import DockController


class TokenSearchController(DockController):
    """Wires the training-set search dock to the engine client and the heatmap.

    A clicked heatmap token fills the query box with its text; a shift-clicked span fills it with
    the span's words (and becomes the span of "Find similar"). Search and similarity requests run
    in the worker; a double-clicked result opens its sentence through the main controller.
    """

    def __init__(self, client: EngineClient, main, panel, parent: QObject | None = None):
        super().__init__(client, parent)
        self.main = main
        self.panel = panel
        self.span: tuple[int, int] | None = None  # [start, end) token indices of the heatmap
        main.heatmap.sigTokenClicked.connect(self.on_token_clicked)
        main.heatmap.sigSpanSelected.connect(self.on_span_selected)
        main.sigCurrentTextChanged.connect(lambda _t: setattr(self, "span", None))
        panel.sigSearchRequested.connect(self.search)
        panel.sigSimilarRequested.connect(self.find_similar)
        panel.sigSentenceActivated.connect(self._open_sentence)
        if hasattr(panel, "sigRowActivated"):
            panel.sigRowActivated.connect(self._open_row)

    def _pair_dataset(self) -> bool:
        return bool(getattr(self.main.dataset, "is_pair", False))

    @Slot(str)
    def _open_sentence(self, text: str) -> None:
        """A double-clicked match: its sentence (a pair dataset's row opens from its row, see _open_row)."""
        if not self._pair_dataset():
            self.main.set_text(text)

    @Slot(int)
    def _open_row(self, row: int) -> None:
        """A double-clicked match of a pair dataset: the row's pair (premise and hypothesis)."""
        ds = self.main.dataset
        if self._pair_dataset() and 0 <= row < len(ds):
            self.main.set_text(ds.input(row))

    def _tokens(self) -> tuple[str, ...]:
        toks = self.main.heatmap.view.tokens
        return tuple(toks() if callable(toks) else toks)

    @Slot(int)
    def on_token_clicked(self, index: int) -> None:
        toks = self._tokens()
        if 0 <= index < len(toks):
            view = self.main.heatmap.view  # "Merge ## pieces into words": the clicked word, all its pieces
            first, last = view.word_span(index) if hasattr(view, "word_span") else (index, index)
            self.span = (int(first), int(last) + 1)
            self.panel.set_query(view.shown_token(index) if hasattr(view, "shown_token") else toks[index])

    @Slot(int, int)
    def on_span_selected(self, first: int, last: int) -> None:
        toks = self._tokens()
        if 0 <= first <= last < len(toks):
            self.span = (int(first), int(last) + 1)
            self.panel.set_query(" ".join(toks[first : last + 1]))

    @staticmethod
    def _percent(show):
        def progress(done: int, total: int, message: str) -> None:
            if total > 0:
                show(f"{message} {100 * done // total}%")

        return progress

    def search(self, query: str) -> Job | None:
        if self.main.dataset is None:
            self.panel.set_busy("Open a dataset first (File → Open Dataset…).")
            return None
        self.panel.set_busy(f"Searching for “{query}”…")
        if self.main.model_info is not None:
            self.panel.set_class_names(self.main.model_info.class_names)
        return self.submit(SearchRequest(query=query, mode=self.panel.mode(), chosen_class=self.panel.chosen_class()),
                           self.panel.set_result, on_failed=self.panel.set_busy,
                           on_progress=self._percent(self.panel.set_busy))

    def find_similar(self) -> Job | None:
        main = self.main
        if main.dataset is None or main.model_info is None or not main.current_text:
            self.panel.set_similar_busy("Open a model and a dataset, explain a sentence and click a token first.")
            return None
        span = self.span or (0, min(2, len(self._tokens()) or 1))
        self.panel.set_similar_busy("Computing activations of the training n-grams (first time only)…")
        return self.submit(SimilarityRequest(input=main.current_input, span=span), self.panel.set_similar_result,
                           on_failed=self.panel.set_similar_busy,
                           on_progress=self._percent(self.panel.set_similar_busy))
