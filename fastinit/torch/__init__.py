"""A torch.nn.init drop-in: the same functions, signatures and defaults,
filling CPU tensors in place through fastinit (no copy of the tensor), and
whole-module initialization by name.

    import fastinit.torch as fit
    fit.kaiming_normal_(w)                 # like torch.nn.init.kaiming_normal_
    with fit.patch():                      # route torch's initialization through fastinit,
        model = MyModel()                  # so nn.Linear, nn.Conv*, nn.Embedding, Hugging Face models too
    fit.install(); fit.uninstall()         # ... for good, and back
    fit.init_module_(model, rules, rng=0)  # every tensor in place, by name (as fastinit.init_model)

float32, float64, float16 and bfloat16 CPU tensors, contiguous or not, are
filled in place, and CUDA tensors too where Triton is installed (Triton
kernels, the same values as on the CPU); anything else (another device, the
meta device, other dtypes, sparse or DTensor parameters) goes to torch's own
function.  Every
fill bumps the tensor's version counter as torch's in-place ops do.

``generator=`` takes a ``torch.Generator`` (or None: torch's default
generator), a ``fastinit.Generator`` or an int seed.  A torch generator is
used the way torch uses it, one draw per call: each call takes the next
integer ``s = torch.randint(0, 2**63 - 1, (), generator=g)`` and fills with
``fastinit.default_rng(s)`` (key ``SeedSequence(s).generate_state(2)``), so
``torch.manual_seed(0)`` makes a fastinit-initialized model reproducible and
reseeding starts over.  Values differ from torch's (another generator); the
distributions are torch's.  Bad input raises what torch raises
(``InitValueError`` and ``InitOverflowError`` are also RuntimeErrors;
``NotATensorError``, for a NumPy array or a list where a tensor belongs, is
an AttributeError as torch's and a TypeError).  Before any byte is written,
an inference tensor outside inference mode, and for random fills a tensor
whose elements share memory (``expand``, zero strides), raise torch's
RuntimeError.

Sharded initialization: ``init_module_`` fills DTensor parameters' local
shards, ``init_dtensor_`` one DTensor, and ``init_shard_`` with
``shard_index`` a plain rank/world-size part, so that the assembled tensor
equals the single-process initialization.

Layout: _fill (the one place a tensor becomes a fill target), _nn_init (the
torch.nn.init functions), _patch (patch/install), _shards, _module
(init_module_), _hf (hf_rules).
"""

from __future__ import annotations

from ._fill import NotATensorError, _as_numpy  # noqa: F401  (the dispatch point)
from ._hf import hf_rules
from ._module import init_module_
from ._nn_init import (DEPRECATED, FUNCTIONS, ORIGINAL as _ORIGINAL, InitOverflowError, InitValueError,  # noqa: F401
                       calculate_gain, constant, constant_, dirac, dirac_, eye, eye_, kaiming_normal,
                       kaiming_normal_, kaiming_uniform, kaiming_uniform_, normal, normal_, ones_, orthogonal,
                       orthogonal_, sparse, sparse_, trunc_normal_, uniform, uniform_, xavier_normal,
                       xavier_normal_, xavier_uniform, xavier_uniform_, zeros_)
from ._patch import install, installed, patch, uninstall
from ._shards import init_dtensor_, init_shard_, shard_index

__all__ = FUNCTIONS + DEPRECATED + ["patch", "install", "uninstall", "installed", "shard_index", "init_shard_",
                                    "init_dtensor_", "init_module_", "hf_rules", "InitValueError",
                                    "InitOverflowError", "NotATensorError"]
