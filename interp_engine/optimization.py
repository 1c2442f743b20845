"""Input optimization for hidden spatial locations (Yuan et al. ``001_e80f9d2c7d254978.txt``,
"Input Generation via Optimization" eq. 5, "Regularization" eq. 6-7, "Visualization of
Optimized Inputs" eq. 8) and activation maximization (Lopes ``002_1461283d665fa092.txt`` §3.1).

For spatial location i of layer j, a_ij is its activation vector on the real sentence X. A
second input X0 of the same length, Xavier-initialised, is fed to the fixed network and updated
by Adam to maximise (eq. 6)

    a_ij · a'_ij − λ1 ‖X̂0‖²₂ + λ2 Sim(X̂0),

where a'_ij is the location's activation vector on X0, X̂0 the receptive-field columns of X0
and Sim (eq. 7) = (1/N) Σ_{i,j ∈ [l, r]} x̂_0i · x̂_0j (unit columns, N = r − l + 1). Eq. 7 is
implemented as printed: the double sum includes i = j (a constant 1 per column) and is divided
by N, not N², so Sim = N × (mean over all N² column pairs of the cosine); its gradient is that
of the mean pairwise cosine scaled by N. x_overall (eq. 8) is the mean of the optimised X̂0
columns.

All selected locations (of one sentence or of many) are optimised together as one batch: every
location owns one row of the batch, the objective is summed over rows, and because the network
is in eval mode a row's gradient depends on that row only, so a location gives the same result
alone or in a batch (Adam is element-wise). A location whose objective has converged is frozen
(its row no longer changes) and leaves the batch, so early stopping is per location too.

A step computes only what the objective needs: a location of layer j depends on layers <= j,
so its activation a'_ij comes from a forward pass stopped after layer j (transformers, BiLSTMs:
:func:`hidden_upto`, the family's ``truncated_hidden``; TextCNN: the receptive-field window), and
locations of different layers run one truncated forward per layer (each location pays for its own
depth, not for the deepest one's).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .errors import InputError, check_cancel

ProgressFn = Callable[[int, int, str], None]

from .config import PAPER_LAMBDAS, ActivationMaximizationConfig, OptimizationConfig  # noqa: E402,F401 - the one home


@dataclass(frozen=True)
class LocationRequest:
    """One hidden location to optimise, as the batch functions take it.

    Attributes:
        sentence: row of the encoded batch the location belongs to.
        hidden_index: index into the model's ``hidden_states`` (``HiddenLayerSpec.hidden_index``).
        channels: the channel slice of the grid row (``HiddenLayerSpec.channels``).
        position: spatial location i.
        receptive_field: inclusive (first, last) token of the receptive field.
    """

    sentence: int
    hidden_index: int
    channels: slice
    position: int
    receptive_field: tuple[int, int]


@dataclass(frozen=True)
class OptimizedLocations:
    """What :func:`optimize_locations` returns (numpy, K locations).

    Attributes:
        x0: (K, L, D) float32 optimised inputs (rows padded to the longest sentence).
        x_overall: (K, D) float32 mean of each location's optimised receptive-field columns (eq. 8).
        trace: (T, K) float64 objective (eq. 6, logit-activation units) of the input after t Adam
            steps, t = 0 .. T − 1 (T = steps + 1 when some location ran every step); a frozen
            (converged) location repeats its last value, so ``trace[:steps_run[k] + 1, k]`` is
            location k's own trace.
        activation_dot, l2, similarity: (K,) float64 final a·a', ‖X̂0‖²₂ and Sim(X̂0) (eq. 7), of
            the returned ``x0``.
        converged: (K,) bool, True when the location stopped early on convergence.
        steps_run: (K,) int64 Adam steps applied to the location (``steps`` unless converged).
        objective: (K,) float64 final objective (eq. 6) of the returned ``x0``:
            ``activation_dot − λ1·l2 + λ2·similarity`` = ``trace[steps_run[k], k]``.
    """

    x0: np.ndarray
    x_overall: np.ndarray
    trace: np.ndarray
    activation_dot: np.ndarray
    l2: np.ndarray
    similarity: np.ndarray
    converged: np.ndarray
    steps_run: np.ndarray
    objective: np.ndarray


@contextmanager
def cpu_threads(n: int | None):
    """Within the block torch uses ``n`` intra-op CPU threads (None: unchanged); the previous
    number is restored afterwards, also on error (``OptimizationConfig.threads`` says why)."""
    old = torch.get_num_threads()
    if n is not None and n != old:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


@contextmanager
def frozen_parameters(model: torch.nn.Module):
    """Within the block no model parameter requires a gradient (only the optimised input does);
    each parameter's ``requires_grad`` is restored afterwards, also on error."""
    was = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, w in zip(model.parameters(), was):
            p.requires_grad_(w)


def similarity_term(x: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
    """Sim(X̂0) of Yuan eq. 7 for a batch, exactly as printed.

    Args:
        x: (K, L, D) inputs.
        columns: (K, L) bool, True for the receptive-field columns X̂0 of each row.

    Returns:
        (K,) (1/N) Σ_{i,j ∈ X̂0} x_i·x_j / (‖x_i‖‖x_j‖), N = number of columns (i = j included).
        A zero column counts as cosine 0 with everything.
    """
    m = columns.to(x.dtype)
    unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    s = (unit * m.unsqueeze(-1)).sum(1)  # (K, D): Σ_i x̂_i over the receptive field
    n = m.sum(1).clamp_min(1.0)
    return (s * s).sum(-1) / n  # Σ_{i,j} x̂_i·x̂_j = ‖Σ_i x̂_i‖²


def xavier_rows(lengths: Sequence[int], L: int, D: int, seed: int, keys: Sequence[tuple] | None = None) -> torch.Tensor:
    """(K, L, D) Xavier-uniform (Glorot & Bengio 2010) inputs: row k's first ``lengths[k]``
    columns are drawn from U(−b, b), b = sqrt(6 / (n_k + D)); the rest is 0.

    Each row has its own generator, seeded from ``seed`` and the row's ``keys[k]`` (for input
    optimization: the location's layer, channel slice and position, :func:`location_seed`), so a
    row does not depend on the others and two locations do not start from the same X0 (Yuan et al.
    eq. 6 optimises each location from its own random start). Without ``keys`` every row uses
    ``seed`` alone.
    """
    out = torch.zeros(len(lengths), L, D)
    for k, n in enumerate(lengths):
        g = torch.Generator().manual_seed(location_seed(seed, keys[k]) if keys is not None else int(seed))
        b = float(np.sqrt(6.0 / (n + D)))
        out[k, :n] = (torch.rand(n, D, generator=g) * 2 - 1) * b
    return out


def location_seed(seed: int, key: tuple) -> int:
    """A 63-bit seed from ``seed`` and a location key of non-negative integers (numpy's
    ``SeedSequence``: well mixed, the same on every machine)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *(int(v) & 0xFFFFFFFF for v in key)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def hidden_upto(classifier, embeds: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None, *, upto: int, truncate: bool = True) -> tuple:
    """``hidden_states[0 .. upto]`` (each (B, L, C_k)) of ``classifier.hidden_forward``, computed
    without the layers above ``upto`` and without the head where the model's family has a
    truncated forward (:meth:`~interp_engine.models.family.ModelFamily.truncated_hidden`:
    transformers of the BERT family, stacked BiLSTMs); otherwise (or with ``truncate=False``) by
    the full forward pass. A location of layer j depends on layers <= j only, so both give the
    same values (up to float rounding; the tests check atol 1e-5).

    Returns:
        a tuple of at least ``upto + 1`` tensors (the full forward returns all of them).
    """
    if truncate:
        out = classifier.family.truncated_hidden(classifier, embeds, attention_mask, token_type_ids, upto=upto)
        if out is not None:
            return out
    return classifier.hidden_forward(embeds, attention_mask, token_type_ids)[1]


def _truncation_matches(classifier, embeds, mask, types, hidden, uptos, *, rtol: float = 1e-4,
                        atol: float = 1e-4) -> bool:
    """True when the family's truncated forward gives ``hidden`` (the full forward's
    hidden_states on the same inputs) at every layer in ``uptos``; False (and a log line) when it
    does not, e.g. a model whose ``hidden_states[k]`` is not the output of layer k."""
    import logging

    for h in uptos:
        out = classifier.family.truncated_hidden(classifier, embeds, mask, types, upto=h)
        if out is None:
            continue
        if len(out) <= h or out[h].shape != hidden[h].shape or not torch.allclose(out[h].float(), hidden[h].float(),
                                                                               rtol=rtol, atol=atol):
            logging.getLogger(__name__).warning(
                "the truncated forward of %s differs from the full forward at hidden index %d: input "
                "optimization runs full forward passes", type(classifier.model).__name__, h)
            return False
    return True


def _groups(locations, active: torch.Tensor, device) -> dict:
    """The active locations by (hidden index, channel start, channel stop): ``key -> (out_rows,
    x_rows, positions)`` tensors, where ``out_rows`` index the active batch (0 .. A−1, in the
    order of ``active``) and ``x_rows`` the K rows of the optimised input."""
    groups: dict = {}
    for a, k in enumerate(active.tolist()):
        loc = locations[k]
        val = groups.setdefault((loc.hidden_index, loc.channels.start, loc.channels.stop), ([], [], []))
        val[0].append(a)
        val[1].append(k)
        val[2].append(loc.position)
    return {key: tuple(torch.tensor(v, device=device) for v in val) for key, val in groups.items()}


def _place(parts, A: int, device) -> torch.Tensor:
    """Stack ``(out_rows, (G, C_g) activations)`` parts into one (A, C_max) tensor, zero padded
    (channel counts may differ between grid rows)."""
    if len(parts) == 1 and parts[0][1].shape[0] == A:
        rows, h = parts[0]
        return h[torch.argsort(rows)]
    C = max(h.shape[1] for _, h in parts)
    out = torch.zeros(A, C, device=device, dtype=parts[0][1].dtype)
    for rows, h in parts:
        out = out.index_put((rows,), torch.nn.functional.pad(h, (0, C - h.shape[1])))
    return out


def _location_activations(hidden, groups, A: int, device, *, rows_of=lambda g: g[1]) -> torch.Tensor:
    """Gather a'_ij per location from ``hidden`` (hidden_states of a batch) into an (A, C_max)
    tensor; ``rows_of(group)`` gives the batch rows of a group's locations (default: ``x_rows``)."""
    parts = []
    for (hidx, start, stop), g in groups.items():
        parts.append((g[0], hidden[hidx][rows_of(g), g[2]][:, slice(start, stop)]))
    return _place(parts, A, device)


def _forward_activations(classifier, x, mask, types, groups, A: int, *, truncate: bool,
                         by_layer: bool) -> torch.Tensor:
    """a'_ij (A, C_max) of the active locations from forward passes of their rows of ``x`` (K, L, D).

    ``by_layer`` (with ``truncate``): one truncated forward per hidden index, over the rows of
    that layer's locations only, so a location of layer j costs j layers (Σ_j A_j·j layer-rows
    per step). Otherwise one forward of all active rows up to the highest layer needed (A·j_max),
    or the full model when the family has no truncated forward.
    """
    dev = x.device
    if by_layer and truncate:
        layers: dict[int, list] = {}
        for key in groups:
            layers.setdefault(key[0], []).append(key)
        parts = []
        for hidx, keys in layers.items():
            rows = torch.cat([groups[k][1] for k in keys])
            hs = hidden_upto(classifier, x[rows], mask[rows], None if types is None else types[rows], upto=hidx)
            off = 0
            for k in keys:
                out_rows, _x_rows, pos = groups[k]
                n = len(out_rows)
                parts.append((out_rows, hs[hidx][torch.arange(off, off + n, device=dev), pos][:, slice(k[1], k[2])]))
                off += n
        return _place(parts, A, dev)
    rows = torch.empty(A, dtype=torch.long, device=dev)
    for out_rows, x_rows, _pos in groups.values():
        rows[out_rows] = x_rows
    top = max(key[0] for key in groups)
    whole = A == x.shape[0] and bool((rows == torch.arange(A, device=dev)).all())
    xb, mb = (x, mask) if whole else (x[rows], mask[rows])
    tb = types if whole or types is None else types[rows]
    hs = hidden_upto(classifier, xb, mb, tb, upto=top, truncate=truncate)
    return _location_activations(hs, groups, A, dev, rows_of=lambda g: g[0])


def _textcnn_window_plan(model, first: torch.Tensor, last: torch.Tensor, groups, L: int) -> list:
    """Index tensors of :func:`_textcnn_window_activations`, built once per set of active
    locations (:func:`_groups`). ``first``/``last`` (K,): the first and last token of the text each
    location belongs to (the sentence, or its segment of a pair: a pair TextCNN's location sees
    only its own text)."""
    hh = (model.config.kernel_size - 1) // 2
    plan = []
    for (hidx, start, stop), (out_rows, x_rows, pos) in groups.items():
        R = hidx * hh
        offs = torch.arange(-R, R + 1, device=pos.device)
        p = pos[:, None] + offs[None]
        valid = (p >= first[x_rows][:, None]) & (p <= last[x_rows][:, None])
        W = 2 * R + 1
        masks = [valid[:, (layer + 1) * hh : W - (layer + 1) * hh, None].float() for layer in range(hidx)]
        plan.append((out_rows, x_rows[:, None], p.clamp(0, L - 1), valid[..., None].float(), masks, slice(start, stop)))
    return plan


def _text_bounds(mask: torch.Tensor, types: torch.Tensor | None, locations) -> tuple[torch.Tensor, torch.Tensor]:
    """(K,) first and last token of the text each location's token belongs to: [0, n − 1] for one
    text; for a pair the run of tokens of the location's segment (``types`` (K, L))."""
    n = mask.sum(1)
    if types is None:
        return torch.zeros_like(n), n - 1
    pos_idx = torch.arange(mask.shape[1], device=mask.device)
    pos = torch.tensor([loc.position for loc in locations], device=mask.device)
    seg = types.gather(1, pos.view(-1, 1))
    same = (types == seg) & mask.bool()
    big = mask.shape[1]
    first = torch.where(same, pos_idx[None], torch.full_like(types, big)).amin(1)
    last = torch.where(same, pos_idx[None], torch.full_like(types, -1)).amax(1)
    return first, last


def _textcnn_window_activations(model, x: torch.Tensor, plan: list, A: int) -> torch.Tensor:
    """a'_ij of TextCNN conv locations from their receptive-field windows only (A, C_max).

    Conv layer j at location i depends on the input columns [i − j·h, i + j·h] (h = (k − 1)/2,
    'same' padding). Running the conv stack *without* padding on that window, with columns (and
    intermediate activations) outside the sentence set to zero as the full model's padding and
    masking do, gives exactly the full model's activation at i, for a fraction of the work.
    ``x`` (K, L, D) is the whole optimised input; ``plan`` comes from :func:`_textcnn_window_plan`
    and picks the active rows.
    """
    parts = []
    for out_rows, rows_col, idx, validf, masks, chans in plan:
        h = x[rows_col, idx] * validf
        for layer, v in enumerate(masks):
            conv = model.convs[layer]
            k = conv.weight.shape[-1]
            # valid convolution as one matmul over the unfolded windows (faster than conv1d's
            # backward for these tiny widths): (G, W', D, k) · (C, D, k) -> (G, W', C)
            patches = h.unfold(1, k, 1)
            G, Wn = patches.shape[0], patches.shape[1]
            flat = patches.reshape(G * Wn, -1) @ conv.weight.reshape(conv.weight.shape[0], -1).T
            h = torch.relu(flat + conv.bias).reshape(G, Wn, -1) * v
        parts.append((out_rows, h[:, 0, chans]))
    return _place(parts, A, x.device)


def optimize_locations(
    classifier,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    locations: Sequence[LocationRequest],
    config: OptimizationConfig = OptimizationConfig(),
    *,
    special: torch.Tensor | None = None,
    fast: bool = True,
    progress: ProgressFn | None = None,
    cancel=None,
    token_type_ids: torch.Tensor | None = None,
    group_layers: bool = True,
) -> OptimizedLocations:
    """Optimise one input X0 per location (Yuan eq. 6), all locations as one batch.

    Each step runs only what the active locations need: a location of layer j depends on layers
    <= j only, so its activation comes from a forward pass stopped after layer j (transformers,
    BiLSTMs: :func:`hidden_upto`; TextCNN: its receptive-field window,
    :func:`_textcnn_window_activations`), and a location that has converged (its objective
    changed by less than ``config.tol · (1 + |objective|)`` over the last ``config.patience``
    steps) is frozen and leaves the batch. The batch ends when every location has converged or
    after the maximum number of steps.

    When the batch runs out of GPU memory the locations are split into halves (and so on, down
    to one location) that are optimised one after the other
    (:func:`interp_engine.batching.for_each_chunk`). Each location's optimisation is independent
    of the others (own batch row, own seeded initialisation, element-wise Adam, per-location
    early stopping), so the split run gives the unsplit run's result; ``trace`` rows past a
    part's last step repeat its last value, as a frozen location's do in one batch.

    Args:
        classifier: a :class:`~interp_engine.models.Classifier` (TextCNN, BiLSTM, transformer).
        input_ids, attention_mask: (B, L) the encoded sentences the locations belong to.
        locations: K :class:`LocationRequest`; ``sentence`` indexes the B rows.
        config: λ1, λ2, steps (None: the model family's default,
            :meth:`~interp_engine.config.OptimizationConfig.resolved`), lr, betas, seed,
            convergence test, CPU threads during the optimisation.
        special: (B, L) bool, True at special tokens ([CLS]/[SEP]): those columns keep the real
            embeddings, are not optimised and are left out of X̂0 and x_overall. None: none.
        fast: compute a'_ij without the layers above the location's (TextCNN: from its window;
            transformers of the BERT family and BiLSTMs: a truncated forward, checked once
            against the full forward on the real sentence), exactly the full model's value up to
            float rounding; False: full forward passes.
        progress: ``progress(step, steps, message)``; cancel: ``threading.Event``.
        token_type_ids: (B, L) segments of pairs (0 premise, 1 hypothesis), or None.
        group_layers: with locations of several layers, one truncated forward per layer over its
            locations (each location costs its own depth; the default, see
            ``benchmarks/optimization_transformer.py``); False: one forward of all locations up
            to the highest layer.

    Returns:
        :class:`OptimizedLocations`.

    Raises:
        InputError: no location, a position or receptive field outside its sentence, bad config.
        Cancelled: ``cancel`` was set (checked between steps).
        torch.OutOfMemoryError: a single location does not fit.
    """
    from .batching import for_each_chunk

    config = config.resolved(classifier.family.name).validate()
    if not locations:
        raise InputError("select at least one hidden location to optimise")
    K = len(locations)

    def part(a: int, b: int) -> OptimizedLocations:
        def prog(step, steps, msg):  # the part's steps as a share of all K locations' work
            if progress is not None:
                progress(int((a * steps + (b - a) * step) / K), steps, msg)

        return _optimize_batch(classifier, input_ids, attention_mask, locations[a:b], config, special=special,
                               fast=fast, progress=prog if progress is not None else None, cancel=cancel,
                               token_type_ids=token_type_ids, group_layers=group_layers)

    with cpu_threads(config.threads if input_ids.device.type == "cpu" else None):
        parts, _ = for_each_chunk(K, part, K, cancel=cancel)
    if len(parts) == 1:
        return parts[0]
    T = max(r.trace.shape[0] for r in parts)
    L = max(r.x0.shape[1] for r in parts)
    return OptimizedLocations(
        x0=np.concatenate([np.pad(r.x0, ((0, 0), (0, L - r.x0.shape[1]), (0, 0))) for r in parts]),
        x_overall=np.concatenate([r.x_overall for r in parts]),
        trace=np.concatenate([np.concatenate([r.trace, np.repeat(r.trace[-1:], T - r.trace.shape[0], 0)])
                              for r in parts], axis=1),
        activation_dot=np.concatenate([r.activation_dot for r in parts]),
        l2=np.concatenate([r.l2 for r in parts]),
        similarity=np.concatenate([r.similarity for r in parts]),
        converged=np.concatenate([r.converged for r in parts]),
        steps_run=np.concatenate([r.steps_run for r in parts]),
        objective=np.concatenate([r.objective for r in parts]),
    )


def _optimize_batch(classifier, input_ids, attention_mask, locations, config, *, special, fast, progress,
                    cancel, token_type_ids=None, group_layers=True) -> OptimizedLocations:
    """:func:`optimize_locations` of one batch of locations (no out-of-memory handling);
    ``config.steps`` is resolved."""
    dev = input_ids.device
    K = len(locations)
    steps = int(config.steps)
    lengths_b = attention_mask.sum(1).tolist()
    for loc in locations:
        n = lengths_b[loc.sentence]
        lo, hi = loc.receptive_field
        if not (0 <= loc.position < n and 0 <= lo <= hi < n):
            raise InputError(f"location {loc.position} (receptive field {lo}-{hi}) lies outside the sentence of {n} tokens")
    sent = torch.tensor([loc.sentence for loc in locations], device=dev)
    ids, mask = input_ids[sent], attention_mask[sent]
    types = None if token_type_ids is None else token_type_ids.to(dev)[sent]
    L = ids.shape[1]
    spec = (special[sent] if special is not None else torch.zeros_like(mask, dtype=torch.bool)).to(dev)
    pos_idx = torch.arange(L, device=dev)
    lo = torch.tensor([loc.receptive_field[0] for loc in locations], device=dev)
    hi = torch.tensor([loc.receptive_field[1] for loc in locations], device=dev)
    columns = (pos_idx[None] >= lo[:, None]) & (pos_idx[None] <= hi[:, None]) & ~spec & mask.bool()
    if not bool(columns.any(1).all()):
        raise InputError("a selected location's receptive field holds only special tokens")
    everyone = torch.arange(K, device=dev)
    groups = _groups(locations, everyone, dev)
    uptos = sorted({loc.hidden_index for loc in locations})

    model = classifier.model
    window = fast and classifier.family.window_optimization
    with frozen_parameters(model):
        with classifier.grad_mode():
            with torch.no_grad():
                real = classifier.embed(ids).float()
                _, hidden = classifier.hidden_forward(real, mask, types)
                target = _location_activations(hidden, groups, K, dev).float()  # a_ij, (K, C)
                truncate = fast and not window and _truncation_matches(classifier, real, mask, types, hidden, uptos)
            D = real.shape[-1]
            bounds = _text_bounds(mask, types, locations) if window else None

            plans: dict = {}  # the TextCNN window plan of the current set of active locations

            def activations(xx, grp, A):
                if window:
                    if plans.get("groups") is not grp:
                        plans.update(groups=grp, plan=_textcnn_window_plan(model, *bounds, grp, L))
                    return _textcnn_window_activations(model, xx, plans["plan"], A)
                return _forward_activations(classifier, xx, mask, types, grp, A, truncate=truncate,
                                            by_layer=group_layers)

            # every location its own start, seeded from (seed, layer, channels, location): Yuan eq. 6
            keys = [(loc.hidden_index, loc.channels.start or 0, loc.position) for loc in locations]
            x0 = xavier_rows([int(n) for n in mask.sum(1).tolist()], L, D, config.seed, keys).to(dev)
            x0 = torch.where(spec.unsqueeze(-1), real, x0)
            x = torch.nn.Parameter(x0)
            opt = torch.optim.Adam([x], lr=config.lr, betas=tuple(config.betas))
            keep = spec.unsqueeze(-1) | ~mask.bool().unsqueeze(-1)
            has_special = bool(spec.any())
            frozen = np.zeros(K, dtype=bool)
            steps_run = np.full(K, steps, dtype=np.int64)
            colf = columns.to(torch.float32).unsqueeze(-1)
            trace: list[np.ndarray] = []
            last = np.full((3, K), np.nan)  # a·a', ‖X̂0‖², Sim of each location's last evaluation
            active = everyone

            def evaluate(act_rows, grp):
                """Objective (eq. 6) of the rows ``act_rows`` of x: (obj, dot, l2, sim), each (A,)."""
                A = len(act_rows)
                whole = A == K
                xa = x if whole else x[act_rows]
                act = activations(x, grp, A).float()
                dot = (target[act_rows] * act).sum(-1)
                l2 = (xa * xa * colf[act_rows]).sum((1, 2))
                sim = similarity_term(xa, columns[act_rows])
                return dot - config.lambda1 * l2 + config.lambda2 * sim, dot, l2, sim

            def record(act_np, obj, dot, l2, sim):
                row = trace[-1].copy() if trace else np.zeros(K)
                row[act_np] = obj.detach().double().cpu().numpy()
                trace.append(row)
                last[:, act_np] = torch.stack([dot.detach(), l2.detach(), sim.detach()]).double().cpu().numpy()

            for step in range(steps + 1):
                check_cancel(cancel)
                act_np = active.cpu().numpy()
                if step == steps:  # the objective of the final inputs (no update follows)
                    with torch.no_grad():
                        record(act_np, *evaluate(active, groups))
                    break
                opt.zero_grad(set_to_none=True)
                obj, dot, l2, sim = evaluate(active, groups)
                record(act_np, obj, dot, l2, sim)
                if len(trace) > config.patience:
                    cur, old = trace[-1][act_np], trace[-1 - config.patience][act_np]
                    newly = act_np[np.abs(cur - old) <= config.tol * (1.0 + np.abs(cur))]
                    if len(newly):
                        steps_run[newly] = step
                        frozen[newly] = True
                        if frozen.all():
                            break
                (-obj.sum()).backward()
                # padding columns and rows outside the active batch get no gradient, but Adam's
                # momentum would still move them: special-token columns and converged locations
                # are put back after the step
                restore = has_special or bool(frozen.any())
                saved = x.detach().clone() if restore else None
                opt.step()
                if restore:
                    with torch.no_grad():
                        freeze = keep | torch.from_numpy(frozen).to(dev).view(-1, 1, 1)
                        x.copy_(torch.where(freeze, saved, x))
                if frozen[act_np].any():  # converged locations leave the batch
                    active = torch.from_numpy(np.flatnonzero(~frozen)).to(dev)
                    groups = _groups(locations, active, dev)
                if progress is not None and (step % 25 == 0 or step == steps - 1):
                    progress(step + 1, steps, "optimising inputs")
            with torch.no_grad():
                xd = x.detach()
                xo = (xd * colf).sum(1) / colf.sum(1)
    tr = np.stack(trace)
    return OptimizedLocations(
        x0=xd.float().cpu().numpy(),
        x_overall=xo.float().cpu().numpy(),
        trace=tr,
        activation_dot=last[0].copy(),
        l2=last[1].copy(),
        similarity=last[2].copy(),
        converged=frozen.copy(),
        steps_run=steps_run,
        objective=tr[np.minimum(steps_run, len(tr) - 1), np.arange(K)],
    )


# -- Lopes §3.1: activation maximization ----------------------------------------------------
def wrap_special(tokenizer, ids: list[int]) -> list[int]:
    """``ids`` with the transformer's sentence markers around them: [CLS] … [SEP] (BERT), <s> … </s>
    (RoBERTa), or unchanged when the tokenizer has neither."""
    cls_, sep = getattr(tokenizer, "cls_token_id", None), getattr(tokenizer, "sep_token_id", None)
    if cls_ is not None and sep is not None:
        return [cls_, *ids, sep]
    bos, eos = getattr(tokenizer, "bos_token_id", None), getattr(tokenizer, "eos_token_id", None)
    return [*([bos] if bos is not None else []), *ids, *([eos] if eos is not None else [])]


def single_word_inputs(classifier, word_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Inputs holding one vocabulary word each: (W, 1) for our word-level models, (W, 3)
    ``[CLS] w [SEP]`` for transformers. Returns ``(input_ids, attention_mask, word position)``."""
    word_ids = word_ids.view(-1, 1)
    if not classifier.special_tokens:
        return word_ids, torch.ones_like(word_ids), 0
    wrapped = wrap_special(classifier.tokenizer, [-1])
    pos = wrapped.index(-1)
    ids = torch.tensor(wrapped, device=word_ids.device).repeat(len(word_ids), 1)
    ids[:, pos] = word_ids[:, 0]
    return ids, torch.ones_like(ids), pos


def unit_value(classifier, unit: tuple, embeds: torch.Tensor, mask: torch.Tensor, position: int) -> torch.Tensor:
    """The chosen unit on a batch: ``("class", c)`` → logit c (B,); ``("hidden", row, channel)`` →
    activation of that channel of grid row ``row`` at ``position`` (B,)."""
    logits, hidden = classifier.hidden_forward(embeds, mask)
    if unit[0] == "class":
        return logits[:, int(unit[1])]
    spec = classifier.hidden_layers()[int(unit[1])]
    h = hidden[spec.hidden_index][:, position, spec.channels]
    return h[:, int(unit[2])]


def check_unit(classifier, unit: tuple) -> str:
    """Validate a unit and return its description. Raises InputError for a unit that does not exist."""
    if unit and unit[0] == "class":
        c = int(unit[1])
        if not 0 <= c < classifier.num_labels:
            raise InputError(f"class {c} does not exist: the model has classes 0..{classifier.num_labels - 1}")
        return f"class {classifier.class_names[c]} (logit)"
    if unit and unit[0] == "hidden":
        specs = classifier.hidden_layers()
        r, ch = int(unit[1]), int(unit[2])
        if not 0 <= r < len(specs):
            raise InputError(f"layer {r} does not exist: the model has grid rows 0..{len(specs) - 1}")
        with torch.no_grad():
            ids, mask, pos = single_word_inputs(classifier, torch.tensor([1], device=classifier.device))
            _, hidden = classifier.hidden_forward(classifier.embed(ids), mask)
        n = hidden[specs[r].hidden_index][..., specs[r].channels].shape[-1]
        if not 0 <= ch < n:
            raise InputError(f"channel {ch} does not exist: {specs[r].name} has channels 0..{n - 1}")
        return f"{specs[r].name} channel {ch}"
    raise InputError(f"unknown unit {unit!r}: use ('class', c) or ('hidden', row, channel)")


def activation_maximization(
    classifier,
    unit: tuple,
    *,
    steps: int = ActivationMaximizationConfig.steps,
    lr: float = ActivationMaximizationConfig.lr,
    l2: float = ActivationMaximizationConfig.l2,
    seed: int = ActivationMaximizationConfig.seed,
    progress: ProgressFn | None = None,
    cancel=None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Gradient ascent on a single-word input (Lopes §3.1, eq. 1: x* = argmax_x h(θ, x)), with a
    small L2 penalty ``l2 · ‖x‖²`` so that the ascent converges (without it the unit grows
    without bound for a ReLU/linear unit).

    Args:
        unit: ``("class", c)`` or ``("hidden", row, channel)`` (see :func:`unit_value`).
        steps, lr: Adam steps and learning rate; seed: Xavier initialisation of x.

    Returns:
        ``(x* (D,) float32, trace (T,) float64 unit value per step, final unit value)``.

    Raises:
        InputError: unknown unit; Cancelled.
    """
    check_unit(classifier, unit)
    if steps < 1 or not lr > 0 or l2 < 0:
        raise InputError("activation maximization needs steps >= 1, lr > 0 and l2 >= 0")
    dev = classifier.device
    ids, mask, pos = single_word_inputs(classifier, torch.tensor([1], device=dev))
    model = classifier.model
    with frozen_parameters(model):
        with classifier.grad_mode():
            with torch.no_grad():
                base = classifier.embed(ids).float()
            D = base.shape[-1]
            x = torch.nn.Parameter(xavier_rows([1], 1, D, seed)[0, 0].to(dev))
            opt = torch.optim.Adam([x], lr=lr)
            trace = []
            for step in range(steps):
                check_cancel(cancel)
                opt.zero_grad(set_to_none=True)
                emb = base.clone()
                emb[0, pos] = x
                v = unit_value(classifier, unit, emb, mask, pos)[0]
                trace.append(float(v.detach()))
                (-(v - l2 * (x * x).sum())).backward()
                opt.step()
                if progress is not None and step % 25 == 0:
                    progress(step + 1, steps, "activation maximization")
            with torch.no_grad():
                emb = base.clone()
                emb[0, pos] = x
                final = float(unit_value(classifier, unit, emb, mask, pos)[0])
    return x.detach().float().cpu().numpy(), np.asarray(trace, dtype=np.float64), final


def corpus_search(classifier, unit: tuple, word_ids: np.ndarray, *, batch_size: int = 4096,
                  progress: ProgressFn | None = None, cancel=None) -> np.ndarray:
    """Corpus search (Lopes §3.2): the unit's value when each vocabulary word is fed alone.

    Args:
        word_ids: (W,) int64 vocabulary ids to try (usually every non-special word).

    Returns:
        (W,) float64 unit value per word (batched forward passes of ``batch_size`` words, halved
        and retried on out-of-memory by :func:`interp_engine.batching.run_chunked`).

    Raises:
        InputError: unknown unit. Cancelled. torch.OutOfMemoryError: a single word does not fit.
    """
    from .batching import run_chunked

    check_unit(classifier, unit)
    word_ids = np.asarray(word_ids)

    def fn(a: int, b: int) -> torch.Tensor:
        w = torch.as_tensor(word_ids[a:b], device=classifier.device)
        ids, mask, pos = single_word_inputs(classifier, w)
        with torch.inference_mode():
            return unit_value(classifier, unit, classifier.embed(ids), mask, pos).double().cpu()

    out, _ = run_chunked(len(word_ids), fn, batch_size, progress=progress, cancel=cancel, message="corpus search")
    return out.numpy().astype(np.float64, copy=False)
