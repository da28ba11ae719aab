"""Store an int8 QDQ graph's weights as uint8 with zero point 128: the same numbers, every CPU the same.

Why: onnxruntime's int8 kernels on x86-64 CPUs with AVX2 but without VNNI (AMD EPYC Zen 2/3, older Xeons)
multiply uint8 activations by int8 weights with `vpmaddubsw`, which saturates its 16-bit pair sums, so
the hint's outputs there differed from every other CPU (ribeye-hint 3.3.0's self-check sum -6.29 against
torch's -6.89; a golden scan's hint score 0.9109 against 0.9049). With uint8 weights onnxruntime takes
its uint8 × uint8 kernels, which widen to 16 bits first and sum exactly on every x86-64 CPU (ARM's
kernels are exact either way). A weight w with zero point 0 becomes w + 128 with zero point 128:
(w + 128 − 128) × scale is the same dequantized value, so the graph computes exactly what it did.

Usage: python3 weights_unsigned.py MODEL.onnx [OUT.onnx]   (in place without OUT)
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def resolve_initializer(graph, name: str):
    """Initializer behind `name`, following Identity nodes that torch emits for shared constants."""
    inits = {i.name: i for i in graph.initializer}
    idents = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    while name not in inits and name in idents:
        name = idents[name]
    return inits.get(name)


def store_weights_unsigned(path: str, out: str | None = None) -> int:
    """Rewrites every DequantizeLinear of an int8 weight (an initializer of 2+ dims) as uint8 + 128 with
    its zero point + 128; returns how many. Refuses a zero point that is not all 0 (symmetric weights are
    what the trainer exports; +128 would overflow otherwise)."""
    model = onnx.load(path)
    g = model.graph
    converted = 0
    for n in g.node:
        if n.op_type != "DequantizeLinear" or len(n.input) < 3:
            continue
        w = resolve_initializer(g, n.input[0])
        if w is None or w.data_type != onnx.TensorProto.INT8 or len(w.dims) < 2:
            continue
        zp = numpy_helper.to_array(resolve_initializer(g, n.input[2]))
        if np.any(zp != 0):
            raise ValueError(f"{w.name}: zero point not 0 (asymmetric int8 weights): refusing to shift by 128")
        wv = numpy_helper.to_array(w).astype(np.int16)
        unsigned = numpy_helper.from_array((wv + 128).astype(np.uint8), w.name + "_u8")
        zero = numpy_helper.from_array(np.full(zp.shape, 128, dtype=np.uint8), w.name + "_u8_zero_point")
        g.initializer.extend([unsigned, zero])
        n.input[0] = unsigned.name
        n.input[2] = zero.name
        converted += 1
    # Drop what nothing reads any more (the int8 weights, their zero points, Identity nodes passing them).
    while True:
        used = {i for node in g.node for i in node.input} | {o.name for o in g.output}
        idle = [node for node in g.node if node.op_type == "Identity" and node.output[0] not in used]
        for node in idle:
            g.node.remove(node)
        if not idle:
            break
    used = {i for node in g.node for i in node.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)
    onnx.checker.check_model(model)
    onnx.save(model, out or path)
    return converted


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[-1])
    n = store_weights_unsigned(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
    print(f"{n} weights stored as uint8 + 128")
