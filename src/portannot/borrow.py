"""`borrow(array)`: the same array for a compiled loop, without reference counting.

numba counts references to every array a compiled function binds, with an atomic
add and an atomic subtract (behind a memory fence) per binding. Inside a per-packet
loop the analyzers bind the packet buffer and the output columns again for every
packet, and those atomics were more than half of the decoder's time (perf: 56 % on
two instructions of NRT_incref/NRT_decref). A borrowed array has no memory-info
pointer, so each count becomes a null test. It is safe where the kernel's caller
holds the array for the whole call, which is how the kernels here are called;
a borrowed array must not be returned or stored past the call.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def borrow(typingctx, array):  # noqa: ARG001 - numba's intrinsic signature
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        out = context.make_array(signature.return_type)(context, builder)
        out.meminfo = cgutils.get_null_value(out.meminfo.type)
        out.parent = cgutils.get_null_value(out.parent.type)
        out.nitems = ary.nitems
        out.itemsize = ary.itemsize
        out.data = ary.data
        out.shape = ary.shape
        out.strides = ary.strides
        return out._getvalue()

    return array(array), codegen
