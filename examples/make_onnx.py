"""Writes examples/fcn.onnx: a small fully convolutional net built with onnx.helper (no PyTorch),
for `rfsearch inspect examples/fcn.onnx`. Conv + ReLU, max pooling, a dilated conv, nearest
2x Resize back up, a skip connection concatenated, a 1x1 conv head. Input 1x3x64x64."""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def weights(name, out, inp, k):
    return numpy_helper.from_array(np.full((out, inp, k, k), 0.01, np.float32), name)


nodes = [
    helper.make_node("Conv", ["x", "w1"], ["a"], name="/stem/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["a"], ["b"], name="/stem_act/Relu"),
    helper.make_node("MaxPool", ["b"], ["c"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["c", "w2"], ["d"], name="/context/Conv", kernel_shape=[3, 3], pads=[2, 2, 2, 2],
                     dilations=[2, 2]),
    helper.make_node("Resize", ["d", "", "scales"], ["e"], name="/up/Resize", mode="nearest",
                     coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    helper.make_node("Concat", ["b", "e"], ["f"], name="/skip/Concat", axis=1),
    helper.make_node("Conv", ["f", "w3"], ["y"], name="/head/Conv", kernel_shape=[1, 1]),
]
graph = helper.make_graph(
    nodes, "fcn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 64])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 64, 64])],
    [weights("w1", 8, 3, 3), weights("w2", 8, 8, 3), weights("w3", 2, 16, 1),
     numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="rfsearch examples")
model.ir_version = 8
onnx.checker.check_model(model)
if __name__ == "__main__":
    path = Path(__file__).with_name("fcn.onnx")
    onnx.save(model, path)
    print(f"wrote {path.name}: {len(nodes)} nodes")
