"""Dataset-level faithfulness evaluation (``interp-studio evaluate``); work in progress (issue 4)."""
from __future__ import annotations

from .errors import InputError


def evaluate_from_args(args, progress=None) -> dict:
    """Run ``interp-studio evaluate`` for a faithfulness metric (not implemented yet)."""
    raise InputError(f"--metric {args.metric}: not implemented yet")
