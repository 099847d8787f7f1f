#!/usr/bin/python3
"""PyTorch -> ONNX -> FastBackprop: exports random PyTorch MLPs with torch.onnx.export, imports each with
`fastbackprop import`, predicts with `fastbackprop predict` and compares with PyTorch's own outputs
(float32, |FastBackprop - PyTorch| <= 1e-5 * max(1, |PyTorch|)).

Install once:   apt-get install python3-torch      (Debian's PyTorch 1.13; the `onnx` Python package is not needed)
Run:            /usr/bin/python3 bench/onnx/torch_roundtrip.py      (from the repository root; builds the CLI first)

Opt-in: without torch it prints "skipped: ..." and exits 0, so CI can call it everywhere. Exit code 1 if any case
disagrees or fails to import, 0 otherwise; the last line is "N passed, N failed".
"""
import io
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.path.join(REPO, "tools", "FastBackprop.Cli", "bin", "Release", "net10.0", "fastbackprop-cli.dll")
TOLERANCE = 1e-5


def main():
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(f"skipped: PyTorch is not installed for {sys.executable} ({e}); apt-get install python3-torch")
        return 0
    subprocess.run(["dotnet", "build", "-c", "Release", "--nologo", "-v", "quiet", os.path.join(REPO, "tools", "FastBackprop.Cli")], check=True)

    class Standardize(nn.Module):
        """(x - mean) / std with fixed statistics: exports as Sub and Div, the input standardisation."""
        def __init__(self, features):
            super().__init__()
            self.register_buffer("mean", torch.randn(features) * 5)
            self.register_buffer("std", torch.rand(features) * 3 + 0.5)

        def forward(self, x):
            return (x - self.mean) / self.std

    activations = {
        "relu": nn.ReLU, "leakyrelu": lambda: nn.LeakyReLU(0.2), "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
        "silu": nn.SiLU, "identity": nn.Identity,
    }
    heads = {"softmax": lambda: nn.Softmax(dim=1), "sigmoid": nn.Sigmoid, "none": None}

    cases = []
    for opset in (11, 13, 17):
        for act in activations:
            for head in heads:
                cases.append(dict(opset=opset, act=act, head=head, bias=True, flatten=False, dropout=False, standardize=False,
                                  keep_inputs=False))
    # The other shapes exporters write: no bias (MatMul without Add), Flatten of a [batch, 2, 6] input, eval-mode
    # dropout, a standardisation prefix, initializers listed as graph inputs too (keep_initializers_as_inputs).
    cases.append(dict(opset=17, act="relu", head="softmax", bias=False, flatten=False, dropout=False, standardize=False, keep_inputs=False))
    cases.append(dict(opset=13, act="tanh", head="none", bias=True, flatten=True, dropout=True, standardize=False, keep_inputs=False))
    cases.append(dict(opset=17, act="silu", head="sigmoid", bias=True, flatten=False, dropout=True, standardize=True, keep_inputs=False))
    cases.append(dict(opset=11, act="leakyrelu", head="softmax", bias=True, flatten=False, dropout=False, standardize=True, keep_inputs=True))

    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="fbp-torch-") as tmp:
        for i, case in enumerate(cases):
            torch.manual_seed(100 + i)
            features, hidden, outputs = 12, [16, 8], (1 if case["head"] == "sigmoid" else 3)
            layers = [nn.Flatten()] if case["flatten"] else []
            if case["standardize"]:
                layers.append(Standardize(features))
            width = features
            for h in hidden:
                layers += [nn.Linear(width, h, bias=case["bias"]), activations[case["act"]]()]
                if case["dropout"]:
                    layers.append(nn.Dropout(0.3))
                width = h
            layers.append(nn.Linear(width, outputs, bias=case["bias"]))
            if heads[case["head"]] is not None:
                layers.append(heads[case["head"]]())
            model = nn.Sequential(*layers).eval()

            shape = (2, 6) if case["flatten"] else (features,)
            x = torch.randn(20, *shape) * 3
            with torch.no_grad():
                expected = model(x).tolist()
            name = f"opset{case['opset']}-{case['act']}-{case['head']}" + "".join(
                f"-{k}" for k in ("flatten", "dropout", "standardize", "keep_inputs") if case[k]) + ("" if case["bias"] else "-nobias")
            onnx_path, fbpm_path, csv_path = (os.path.join(tmp, name + ext) for ext in (".onnx", ".fbpm", ".csv"))
            torch.onnx.export(model, x[:1], onnx_path, opset_version=case["opset"], input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, keep_initializers_as_inputs=case["keep_inputs"])
            with open(csv_path, "w") as f:
                for row in x.reshape(len(x), -1).tolist():
                    f.write(",".join(repr(v) for v in row) + "\n")   # float32 values, printed exactly

            run = subprocess.run(["dotnet", CLI, "import", onnx_path, fbpm_path], capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL {name}: import: {run.stderr.strip()}")
                failed += 1
                continue
            run = subprocess.run(["dotnet", CLI, "predict", "--model", fbpm_path, "--csv", csv_path, "--header", "no", "--outputs"],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL {name}: predict: {run.stderr.strip()}")
                failed += 1
                continue
            got = [[float(v) for v in line.split(",")] for line in run.stdout.split()]
            worst = max(abs(g - e) / max(1.0, abs(e)) for gr, er in zip(got, expected) for g, e in zip(gr, er))
            if len(got) != len(expected) or worst > TOLERANCE:
                print(f"FAIL {name}: largest relative difference {worst:.2e} > {TOLERANCE:g}")
                failed += 1
            else:
                print(f"ok   {name}: largest relative difference {worst:.2e}")
                passed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
