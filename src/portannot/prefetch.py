"""A software prefetch for compiled loops: `prefetch(array, index)` asks the CPU to
bring the cache line holding array[index] in ahead of use.

Hash-table loops (the flow table) stall on a cache miss per packet because the
slot each packet needs is only known from its key; hashing a few packets ahead
and prefetching their slots overlaps those misses. It is a hint: it never
faults, and an index outside the array is not dereferenced.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)
_PREFETCH = ir.FunctionType(ir.VoidType(), [_I8P, _I32, _I32, _I32])


@intrinsic
def prefetch(typingctx, array, index):  # noqa: ARG001 - numba's intrinsic signature
    """llvm.prefetch(read, high locality, data cache) of &array[index]; index is an
    integer or a tuple of integers, one per dimension."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        if isinstance(idxty, types.BaseTuple):
            indices = cgutils.unpack_tuple(builder, args[1], len(idxty))
        else:
            indices = [args[1]]
        ptr = cgutils.get_item_pointer2(
            context, builder, data=ary.data,
            shape=cgutils.unpack_tuple(builder, ary.shape),
            strides=cgutils.unpack_tuple(builder, ary.strides),
            layout=aryty.layout, inds=indices, wraparound=False, boundscheck=False,
        )
        fn = cgutils.get_or_insert_function(builder.module, _PREFETCH, "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, _I8P), _I32(0), _I32(3), _I32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen
