#!/usr/bin/env python3
"""Converts face-api's uint8-quantised TF.js weights of dlib's face recognition ResNet
(npm @vladmandic/face-api, model/face_recognition_model.bin + -weights_manifest.json) into an
ONNX model Booth runs with onnxruntime.

Input `input`: [N, 3, 150, 150] float RGB 0-255 (an aligned 150x150 face chip); dlib's mean
subtraction and /256 scaling are inside. Output `embedding`: [N, 128].

The network is face-api's FaceRecognitionNet: conv biases and dlib's affine "scale" layers are
folded into the convolutions; residualDown's zero padding (channels, and one row/column at the
bottom/right where the shortcut is larger) is rebuilt with Pad. Needs only numpy and onnx.

usage: faceapi_to_onnx.py MODEL_DIR OUT.onnx
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def load_weights(model_dir):
    with open(os.path.join(model_dir, "face_recognition_model-weights_manifest.json")) as f:
        manifest = json.load(f)
    weights = {}
    for group in manifest:
        data = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                assert q["dtype"] == "uint8", q
                raw = np.frombuffer(data, dtype=np.uint8, count=n, offset=offset)
                offset += n
                values = raw.astype(np.float64) * q["scale"] + q["min"]
            else:
                raw = np.frombuffer(data, dtype=np.float32, count=n, offset=offset)
                offset += 4 * n
                values = raw.astype(np.float64)
            weights[w["name"]] = values.reshape(w["shape"])
    return weights


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, array, dtype=np.float32):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def node(self, op, inputs, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def conv(self, x, prefix, stride, same, relu):
        filters = self.w[f"{prefix}/conv/filters"]  # [kh, kw, in, out]
        bias = self.w[f"{prefix}/conv/bias"]
        scale = self.w[f"{prefix}/scale/weights"]
        shift = self.w[f"{prefix}/scale/biases"]
        kernel = filters.transpose(3, 2, 0, 1) * scale[:, None, None, None]
        folded_bias = bias * scale + shift
        k = filters.shape[0]
        pad = (k - 1) // 2 if same else 0
        out = self.node(
            "Conv",
            [x, self.const("W", kernel), self.const("B", folded_bias)],
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad, pad, pad, pad],
        )
        return self.node("Relu", [out]) if relu else out

    def residual(self, x, prefix):
        out = self.conv(x, f"{prefix}/conv1", 1, True, True)
        out = self.conv(out, f"{prefix}/conv2", 1, True, False)
        return self.node("Relu", [self.node("Add", [out, x])])

    def residual_down(self, x, prefix, size_in, ch_in, ch_out):
        out = self.conv(x, f"{prefix}/conv1", 2, False, True)
        out = self.conv(out, f"{prefix}/conv2", 1, True, False)
        size_out = (size_in - 3) // 2 + 1
        pooled = self.node("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
        size_pooled = size_in // 2
        if size_pooled != size_out:
            grow = size_pooled - size_out
            out = self.node("Pad", [out, self.const("pads", [0, 0, 0, 0, 0, 0, grow, grow], np.int64)])
        if ch_in != ch_out:
            pooled = self.node("Pad", [pooled, self.const("pads", [0, 0, 0, 0, 0, ch_out - ch_in, 0, 0], np.int64)])
        return self.node("Relu", [self.node("Add", [pooled, out])]), size_pooled


def build(weights):
    g = Graph(weights)
    mean = np.array([122.782, 117.001, 104.298]).reshape(1, 3, 1, 1)
    x = g.node("Sub", ["input", g.const("mean", mean)])
    x = g.node("Mul", [x, g.const("scale", np.array(1.0 / 256.0))])
    x = g.conv(x, "conv32_down", 2, False, True)  # 150 -> 72
    x = g.node("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])  # 72 -> 35
    size = 35
    for p in ["conv32_1", "conv32_2", "conv32_3"]:
        x = g.residual(x, p)
    x, size = g.residual_down(x, "conv64_down", size, 32, 64)
    for p in ["conv64_1", "conv64_2", "conv64_3"]:
        x = g.residual(x, p)
    x, size = g.residual_down(x, "conv128_down", size, 64, 128)
    for p in ["conv128_1", "conv128_2"]:
        x = g.residual(x, p)
    x, size = g.residual_down(x, "conv256_down", size, 128, 256)
    for p in ["conv256_1", "conv256_2"]:
        x = g.residual(x, p)
    x, size = g.residual_down(x, "conv256_down_out", size, 256, 256)
    x = g.node("GlobalAveragePool", [x])
    x = g.node("Flatten", [x], axis=1)
    x = g.node("MatMul", [x, g.const("fc", weights["fc"])])
    g.nodes.append(helper.make_node("Identity", [x], ["embedding"]))
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_v1",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 150, 150])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="booth")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = build(load_weights(sys.argv[1]))
    onnx.save(model, sys.argv[2])


if __name__ == "__main__":
    main()
