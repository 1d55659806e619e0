"""Routing torch's initialization through fastinit: patch(), install().

What is replaced, and given back on leaving:

- the functions of ``torch.nn.init`` (and torch's deprecated spellings);
- the same functions where torch's own modules bound them by name at
  import (``torch.nn.modules.activation`` for ``nn.MultiheadAttention``,
  ``torch.nn.modules.transformer`` for ``nn.Transformer``, and any other
  ``torch.nn.modules.*`` module holding one of torch's originals);
- Hugging Face transformers' registry ``transformers.initialization.
  TORCH_INIT_FUNCTIONS`` (torch's originals taken at its import, called by
  every model's ``_init_weights``), when transformers is installed.  It is
  imported then, so that a model built inside the block cannot capture the
  patched functions as its "originals"; when transformers is not installed
  nothing is imported.

Not routed, on purpose: ``torch.Tensor.normal_``, ``uniform_`` and the
other Tensor methods.  They are not initialization functions: data
augmentation, noise and dropout-like code on every thread of the process
draw from them, a patch is process-wide, and replacing them would change
those draws (and what ``torch.manual_seed`` reproduces) for code that never
asked for fastinit.  Model code that calls ``weight.normal_()`` directly is
better served by ``init_module_``, which fills every tensor by name.

The patch is reference-counted under a lock: nested blocks and blocks in
several threads share one patch, applied when the first enters and undone
when the last leaves (also on an exception); ``install()`` keeps it until
``uninstall()``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading

from torch.nn import init as _tinit

from . import _nn_init
from ._nn_init import DEPRECATED, FUNCTIONS, ORIGINAL

_NAMES = FUNCTIONS + DEPRECATED
_OURS = {name: getattr(_nn_init, name) for name in _NAMES}
_BY_ORIGINAL = {id(fn): name for name, fn in ORIGINAL.items()}

_lock = threading.RLock()
_depth = 0  # patch() blocks open, in all threads
_for_good = False  # install() called and no uninstall() since
_saved: list = []  # (setter, restore) pairs of the active patch

_transformers_checked = False


def _transformers_registry():
    """transformers.initialization.TORCH_INIT_FUNCTIONS, or None where
    transformers is not installed (then it is not imported)."""
    global _transformers_checked
    mod = sys.modules.get("transformers.initialization")
    if mod is None and not _transformers_checked:
        _transformers_checked = True
        if "transformers" in sys.modules or importlib.util.find_spec("transformers") is not None:
            try:
                import transformers.initialization as mod
            except Exception:  # a broken install must not break torch users
                mod = None
    registry = getattr(mod, "TORCH_INIT_FUNCTIONS", None)
    return registry if isinstance(registry, dict) else None


def _torch_modules():
    yield _tinit
    for name, mod in list(sys.modules.items()):
        if mod is not None and name.startswith("torch.nn.modules."):
            yield mod


def _apply() -> None:
    registry = _transformers_registry()  # imported first: it takes torch.nn.init's functions at import
    for name in _NAMES:
        _saved.append((_tinit, name, getattr(_tinit, name)))
        setattr(_tinit, name, _OURS[name])
    for mod in _torch_modules():
        if mod is _tinit:
            continue
        for attr, value in list(vars(mod).items()):
            name = _BY_ORIGINAL.get(id(value))
            if name is not None and value is ORIGINAL[name]:
                _saved.append((mod, attr, value))
                setattr(mod, attr, _OURS[name])
    if registry is not None:
        for key, value in list(registry.items()):
            if key in _OURS and callable(value):
                # imported while another thread's block or an install() was active: torch's own goes back
                _saved.append((registry, key, ORIGINAL[key] if value is _OURS[key] else value))
                registry[key] = _OURS[key]


def _restore() -> None:
    while _saved:
        where, name, value = _saved.pop()
        if isinstance(where, dict):
            where[name] = value
        else:
            setattr(where, name, value)


def installed() -> bool:
    """Whether torch's initialization is routed through fastinit now."""
    return _tinit.kaiming_uniform_ is _OURS["kaiming_uniform_"]


def install() -> None:
    """Route torch's initialization through fastinit until uninstall()."""
    global _for_good
    with _lock:
        if not _for_good and _depth == 0:
            _apply()
        _for_good = True


def uninstall() -> None:
    """Undo install(); open patch() blocks keep the routing until they end."""
    global _for_good
    with _lock:
        if _for_good and _depth == 0:
            _restore()
        _for_good = False


@contextlib.contextmanager
def patch():
    """Within the block, torch's initialization (torch.nn.init, the modules
    that bound its functions, transformers' registry) runs through fastinit,
    so nn.Linear, nn.Conv*, nn.Embedding, nn.MultiheadAttention,
    nn.Transformer and Hugging Face models' _init_weights fill through it."""
    global _depth
    with _lock:
        if _depth == 0 and not _for_good:
            _apply()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and not _for_good:
                _restore()
