#!/usr/bin/env python3
"""PyTorch's nn.LayerNorm as the reference for FastBackprop's layer normalisation (tests/.../Networks/LayerNormTests.cs).

A 4-7-3 network, Linear(4, 7) -> tanh -> LayerNorm(7, eps) -> Linear(7, 3), in float64, on 5 samples; loss = 1/2 * sum of
squared errors (FastBackprop's Loss.SumSquaredError). Every value comes from a formula the C# test repeats, so nothing
but this script's printed results is copied into the test. Prints the outputs and every parameter's gradient as C#
array literals (17 significant digits).

Run with Debian's PyTorch:  apt-get install python3-torch && /usr/bin/python3 tools/reference/layernorm_pytorch.py
"""
import math
import torch

torch.set_default_dtype(torch.float64)

def values(count, seed, scale):
    # The C# test's Values(count, seed, scale): sin(0.37*i + seed) * scale * (1 + 0.5*(i mod 3)).
    return torch.tensor([math.sin(0.37 * i + seed) * scale * (1 + 0.5 * (i % 3)) for i in range(count)])

samples, inputs, width, outputs, eps = 5, 4, 7, 3, 1e-3
x = values(samples * inputs, 0.1, 1.0).reshape(samples, inputs)
target = values(samples * outputs, 0.7, 0.8).reshape(samples, outputs)

first = torch.nn.Linear(inputs, width)
norm = torch.nn.LayerNorm(width, eps=eps)
last = torch.nn.Linear(width, outputs)
with torch.no_grad():
    first.weight.copy_(values(width * inputs, 0.2, 0.6).reshape(width, inputs))
    first.bias.copy_(values(width, 0.3, 0.2))
    norm.weight.copy_(1 + values(width, 0.4, 0.3))
    norm.bias.copy_(values(width, 0.5, 0.25))
    last.weight.copy_(values(outputs * width, 0.6, 0.5).reshape(outputs, width))
    last.bias.copy_(values(outputs, 0.8, 0.1))

y = last(norm(torch.tanh(first(x))))
loss = 0.5 * ((y - target) ** 2).sum()
loss.backward()

def literal(name, t):
    flat = t.detach().reshape(-1).tolist()
    print(f"    private static readonly double[] {name} = [{', '.join(repr(v) if abs(v) >= 1e-300 else '0' for v in flat)}];")

print(f"    private const double TorchLoss = {loss.item()!r};")
literal("TorchOutputs", y)
for name, p in [("TorchFirstWeightGradient", first.weight.grad), ("TorchFirstBiasGradient", first.bias.grad),
                ("TorchGammaGradient", norm.weight.grad), ("TorchBetaGradient", norm.bias.grad),
                ("TorchLastWeightGradient", last.weight.grad), ("TorchLastBiasGradient", last.bias.grad)]:
    literal(name, p)
print(f"    // PyTorch {torch.__version__}")
