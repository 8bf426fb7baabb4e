"""Count the floating-point operations of a call: the matrix products and convolutions torch runs,
by the rules of torch.utils.flop_counter (a multiply-add is 2 FLOP). Unlike FlopCounterMode it
installs no module hooks, so it also counts a gradient penalty's
torch.autograd.grad(create_graph=True) and the double backward after it."""

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.flop_counter import flop_registry


def _shape(value):
    return value.shape if isinstance(value, torch.Tensor) else value


class _Counter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        rule = flop_registry.get(func._overloadpacket)
        if rule is not None:
            self.flops += rule(
                *tree_map(_shape, args), **tree_map(_shape, kwargs), out_val=tree_map(_shape, out)
            )
        return out


def count_flops(fn) -> int:
    """FLOP of the matrix products and convolutions of one call of ``fn()`` (forward and backward
    passes)."""
    with _Counter() as counter:
        fn()
    return counter.flops
