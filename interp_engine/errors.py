"""Exceptions the engine raises; the app and the CLI turn them into clear messages."""
from __future__ import annotations


class InterpError(Exception):
    """Base class: an error whose message is meant for the user (no traceback needed)."""


class ModelLoadError(InterpError):
    """A model directory cannot be opened (no config, unknown architecture, bad weights,
    tokenizer that does not match the model, pickle-only weights not allowed)."""


class InputError(InterpError, ValueError):
    """The user's input cannot be interpreted (empty sentence, bad target class, ...)."""


class Cancelled(InterpError):
    """A job was cancelled through its ``threading.Event`` before it finished."""


def check_cancel(cancel) -> None:
    """Raise :class:`Cancelled` if ``cancel`` (a ``threading.Event`` or None) is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled")


class InterpWarning(UserWarning):
    """Base class of the project's own warnings (e.g. missing font glyphs in a figure); tests
    turn them into errors (``pyproject.toml`` ``filterwarnings``) unless a test expects one."""


class StoreError(InterpError):
    """An attribution store (:mod:`interp_engine.store`) cannot be opened, or a run may not append
    to it (it was made with another model, masked LM, data file or parameter set)."""


class BackendError(InterpError):
    """A compute backend of ``attribute-dataset`` cannot run (Ray not installed, cluster
    unreachable)."""
