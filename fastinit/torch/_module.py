"""init_module_: fill an existing torch module's tensors in place, by name."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .. import model as _model
from .._initializers.generator import as_generator
from ._fill import bump_version, check_writable, host_only, write


def _to_torch(arr):
    if arr.dtype.name == "bfloat16":
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(arr)


def _np_dtype(tensor):
    """The NumPy dtype of a tensor's, or None where NumPy has none (float8, ...)."""
    if tensor.dtype is torch.bfloat16:
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(str(tensor.dtype).replace("torch.", ""))
    except TypeError:
        return None


def _materialize(module, device):
    """to_empty() a module that holds meta tensors; the non-persistent
    buffers it held on meta (rotary tables, ...) are recomputed where the
    module knows how (a Hugging Face model's _init_weights), else named in a
    warning: they are not the model's tensors and hold garbage."""
    meta = [(n, t) for n, t in list(module.named_parameters()) + list(module.named_buffers()) if t.is_meta]
    if not meta:
        return
    if device is None:
        raise ValueError(f"device: the module has tensors on the meta device ({meta[0][0]!r}, ...); "
                         "name the device to materialize them on, e.g. device='cpu'")
    lost, owners = [], {}
    for mod_name, mod in module.named_modules(remove_duplicate=False):
        bufs = [b for b in mod._non_persistent_buffers_set if mod._buffers.get(b) is not None and mod._buffers[b].is_meta]
        if bufs and all(m is not mod for _, m, _ in lost):
            lost.append((mod_name, mod, bufs))
        for attr, p in mod._parameters.items():
            if p is not None:
                owners.setdefault(id(p), []).append((mod, attr))
    module.to_empty(device=device)
    for places in owners.values():  # to_empty gives each module its own tensor: tie them again
        first_mod, first_attr = places[0]
        for mod, attr in places[1:]:
            setattr(mod, attr, getattr(first_mod, first_attr))
    hf_init = getattr(module, "_init_weights", None)
    unknown = []
    for mod_name, mod, bufs in lost:
        if callable(hf_init) and not list(mod.parameters(recurse=False)):
            with torch.no_grad():
                hf_init(mod)
        else:
            unknown += [f"{mod_name}.{b}" if mod_name else b for b in bufs]
    if unknown:
        warnings.warn(f"init_module_: non-persistent buffers of {unknown[:5]} were on the meta device and are left "
                      "uninitialized (set them yourself)", RuntimeWarning, stacklevel=3)


def init_module_(module, rules=None, *, rng, dtype=None, names=None, device=None):
    """Fill every parameter and persistent buffer of a torch module in place,
    by name: the values of ``fastinit.init_model(module, rules=rules,
    rng=rng, dtype=dtype, names=names)``, bit for bit, whatever the order,
    subset or sharding.

    rules: as init_model's, glob pattern -> initializer text, first match
    wins (``{"*.bias": "zeros", "*": "normal(std=0.02)"}``), a preset's name
    ("gpt2", "tinyllama-1.1b", ...) for its rules, or ``hf_rules(config)``.
    Every tensor draws from the stream of its qualified name.  rng: an int
    seed, a SeedSequence or a fastinit.Generator (its key only).  dtype: the
    dtype the values are drawn in (default: each tensor's own), then cast
    to the tensor's dtype.  names: only these tensors.  device: where to
    materialize a module built on the meta device (``to_empty``); required
    then.

    A DTensor parameter (``distribute_tensor`` with Shard/Replicate, FSDP2's
    ``fully_shard``) gets only its local part, so the gathered module equals
    the single-process one.  Tensors tied to one another (an lm_head sharing
    the embedding's weight) are filled once, under the first of their names
    in state-dict order that is selected.  Integer tensors (``num_batches_tracked``) are left as they
    are.  Returns the module.
    """
    g = as_generator(rng)
    if device is not None:
        device = torch.device(device)  # a bad name fails here, before anything changes
    tensors = _model.resolve(module, rules, dtype, names)  # the rule language and checks of init_model
    # every tensor checked before any is written (or a meta module materialized): a bad rule, fans
    # of a 1-d tensor, a tensor torch would not write in place fail with the module as it was
    for target, t in _targets(module, tensors):
        _check_tensor(target, t, g)
    _materialize(module, device)
    for target, t in _targets(module, tensors):
        _fill_tensor(target, t, g)
    return module


def _targets(module, tensors):
    """(tensor, its resolved spec) of each tensor to fill, tied ones once."""
    state = module.state_dict(keep_vars=True)
    seen = set()
    for t in tensors:
        target = state[t.name]
        if id(target) in seen:  # tied: the same tensor under a second name
            continue
        seen.add(id(target))
        yield target, t


def _is_dtensor(t):
    from torch.distributed.tensor import DTensor

    return isinstance(t, DTensor)


def _local(target):
    """(tensor written, global shape, index of it or None) of a target."""
    if _is_dtensor(target):
        from ._shards import local_part

        return local_part(target)
    return target, tuple(target.shape), None


def _check_tensor(target, t, g):
    """Raise what filling target with t would raise, writing nothing: the
    initializer's checks (fans, parameters, dtype) on a part of no element
    of the same global shape, and torch's refusals of an in-place write."""
    local, shape, _ = _local(target)
    if not local.is_meta:  # a meta tensor is replaced by a fresh one before the fill
        check_writable(local)
    _model.check_tensor(t, g, shape, where=False)


def _fill_tensor(target, t, g):
    """Fill target (a tensor, parameter or DTensor) with its part of t."""
    name, kwargs = t.init
    fn = _model._INITS[name]
    local, shape, index = _local(target)
    part = _model.part_arguments(t, g, index, shape)

    def fill(view):
        fn(out=view, **part, **kwargs)

    if _np_dtype(local) == t.dtype and write(local, fill, host_only=host_only(fn)):
        pass
    else:  # drawn in another dtype, or a tensor fastinit cannot write in place: fill on the CPU, copy over
        tmp = np.empty(tuple(local.shape), dtype=t.dtype)
        fill(tmp)
        with torch.no_grad():
            local.copy_(_to_torch(tmp))
    if local is not target:
        bump_version(target)
