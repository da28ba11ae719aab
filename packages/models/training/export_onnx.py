"""ONNX export (opset 13) of the trained networks."""

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn

from nets import HintExport, mirror
from weights_unsigned import resolve_initializer as _resolve, store_weights_unsigned

OPSET = 13


class SegExport(nn.Module):
    """Probability map, averaged with the mirrored map of the mirrored image (test-time flip)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(self.net(x)) + mirror(torch.sigmoid(self.net(mirror(x))))) / 2


def _export(module: nn.Module, size: int, path: str, output: str) -> None:
    module.eval()
    dummy = torch.rand(1, 1, size, size)
    torch.onnx.export(module, dummy, path, opset_version=OPSET, input_names=["image"], output_names=[output],
                      dynamic_axes={"image": {0: "n"}, output: {0: "n"}}, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def _self_check(module: nn.Module, size: int) -> dict:
    """torch's output on a fixed input; the TypeScript tests require onnxruntime to reproduce it."""
    with torch.no_grad():
        out = module.eval()(self_check_input(size)).flatten()
    step = max(1, len(out) // 64)
    return {"input": "((31*y + 17*x) mod 97) / 96", "outputSum": round(float(out.sum()), 5),
            "outputStride": step, "outputSample": [round(float(v), 5) for v in out[::step]]}


def export_hint(qat_net: nn.Module, size: int, int8_path: str, fp32_path: str) -> tuple[dict, dict]:
    """int8 QDQ graph from the fake-quantized net, and the same weights without fake quantization."""
    qat_net.apply(torch.ao.quantization.disable_observer)
    _export(HintExport(qat_net), size, int8_path, "box_score")
    fold_weight_quantization(int8_path)
    store_weights_unsigned(int8_path)  # exact sums on every CPU (see weights_unsigned.py)
    int8_check = _self_check(HintExport(qat_net), size)
    qat_net.apply(torch.ao.quantization.disable_fake_quant)
    _export(HintExport(qat_net), size, fp32_path, "box_score")
    fp32_check = _self_check(HintExport(qat_net), size)
    qat_net.apply(torch.ao.quantization.enable_fake_quant)
    return int8_check, fp32_check


def export_seg(net: nn.Module, size: int, path: str) -> dict:
    _export(SegExport(net), size, path, "prob")
    return _self_check(SegExport(net), size)


def count_ops(path: str) -> dict:
    counts: dict = {}
    for node in onnx.load(path).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def fold_weight_quantization(path: str) -> int:
    """Store QDQ weights as int8 initializers (DequantizeLinear only), so the file is ~1 byte/weight.

    torch exports fp32 weights followed by QuantizeLinear; QuantizeLinear rounds half to even, the same
    as np.rint, so precomputing it here changes no value. Returns the number of folded weights.
    """
    model = onnx.load(path)
    g = model.graph
    consumers = {}
    for n in g.node:
        for i, name in enumerate(n.input):
            consumers.setdefault(name, []).append((n, i))
    folded, drop_nodes, drop_inits = 0, [], set()
    for n in list(g.node):
        w = _resolve(g, n.input[0]) if n.op_type == "QuantizeLinear" else None
        if w is None or len(w.dims) < 2:
            continue
        scale = numpy_helper.to_array(_resolve(g, n.input[1]))
        zp_init = _resolve(g, n.input[2])
        zp = numpy_helper.to_array(zp_init)
        axis = next((a.i for a in n.attribute if a.name == "axis"), 1)
        wv = numpy_helper.to_array(w).astype(np.float32)
        shape = [1] * wv.ndim
        shape[axis] = -1
        s = scale.reshape(shape) if scale.size > 1 else scale
        z = zp.astype(np.int32).reshape(shape) if zp.size > 1 else zp.astype(np.int32)
        info = np.iinfo(zp.dtype)
        q = np.clip(np.rint(wv / s) + z, info.min, info.max).astype(zp.dtype)
        qname = w.name + "_quantized"
        g.initializer.append(numpy_helper.from_array(q, qname))
        for consumer, idx in consumers.get(n.output[0], []):
            consumer.input[idx] = qname
        drop_nodes.append(n)
        drop_inits.add(w.name)
        folded += 1
    for n in drop_nodes:
        g.node.remove(n)
    for init in [i for i in g.initializer if i.name in drop_inits]:
        g.initializer.remove(init)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return folded


def self_check_input(size: int) -> torch.Tensor:
    """Deterministic input reproduced by the TypeScript test: ((31 y + 17 x) mod 97) / 96."""
    y, x = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (((31 * y + 17 * x) % 97).float() / 96.0)[None, None]
