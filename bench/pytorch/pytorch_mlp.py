#!/usr/bin/python3
"""Times the networks of bench/FastBackprop.Benchmarks/NetworkBenchmarks.cs in PyTorch, for side-by-side numbers.

Install once:   apt-get install python3-torch        (Debian's PyTorch 1.13, float32, OpenBLAS for linear layers)
Run:            env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/pytorch/pytorch_mlp.py
                (this machine's environment presets both variables, which force OpenBLAS onto half-speed AVX2
                kernels; unset them for a fair peer. Use /usr/bin/python3: the python3 on PATH has no torch.)

Each case is timed as the median of several repeats of a timed loop, after a warm-up, for each
(torch threads, OpenBLAS threads) setting asked for; OpenBLAS's thread count is fixed per process, so
the script re-runs itself once per OpenBLAS setting.
"""
import os
import statistics
import subprocess
import sys
import time

CASES = [
    # name, sizes, hidden activation, output head, batch, kind
    ("784-512-256-10 relu/softmax-CE b128 train", [784, 512, 256, 10], "relu", "softmax-ce", 128, "train"),
    ("32-64-64-1 tanh/sigmoid-BCE b32 train", [32, 64, 64, 1], "tanh", "sigmoid-bce", 32, "train"),
    ("784-512-256-10 b1 predict", [784, 512, 256, 10], "relu", "softmax-ce", 1, "predict"),
    ("784-512-256-10 b128 predict", [784, 512, 256, 10], "relu", "softmax-ce", 128, "predict"),
]


def run_cases(torch_threads):
    import torch
    torch.set_num_threads(torch_threads)
    torch.manual_seed(1)
    results = []
    for name, sizes, hidden, head, batch, kind in CASES:
        layers = []
        for i in range(1, len(sizes)):
            layers.append(torch.nn.Linear(sizes[i - 1], sizes[i]))
            if i < len(sizes) - 1:
                layers.append(torch.nn.ReLU() if hidden == "relu" else torch.nn.Tanh())
        model = torch.nn.Sequential(*layers)
        x = torch.rand(batch, sizes[0])
        if head == "softmax-ce":
            loss_fn = torch.nn.CrossEntropyLoss()          # softmax + cross-entropy from the logits, mean
            y = torch.randint(0, sizes[-1], (batch,))
        else:
            loss_fn = torch.nn.BCEWithLogitsLoss()         # sigmoid + binary cross-entropy from the logits, mean
            y = torch.randint(0, 2, (batch, 1)).float()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.001)

        if kind == "train":
            def step():
                optimizer.zero_grad()  # PyTorch 1.13 default: zero the existing gradient buffers
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
        else:
            def step():
                with torch.no_grad():
                    torch.softmax(model(x), dim=1)

        for _ in range(50):
            step()
        # Size the timed loop to about 0.2 s, then take the median of 9 loops.
        start = time.perf_counter()
        for _ in range(20):
            step()
        per = (time.perf_counter() - start) / 20
        loops = max(10, int(0.2 / per))
        samples = []
        for _ in range(9):
            start = time.perf_counter()
            for _ in range(loops):
                step()
            samples.append((time.perf_counter() - start) / loops * 1e6)
        results.append((name, statistics.median(samples), min(samples), max(samples)))
    return results


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        torch_threads = int(sys.argv[2])
        import torch
        for name, median, low, high in run_cases(torch_threads):
            print(f"| {name} | {torch_threads} | {os.environ.get('OPENBLAS_NUM_THREADS')} | {median:,.1f} | {low:,.1f}–{high:,.1f} |", flush=True)
        return
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:
            print(f"warning: {var}={os.environ[var]} is set; OpenBLAS (and so PyTorch) runs at about half speed. "
                  "Run under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`.", file=sys.stderr)
    import torch
    print(f"PyTorch {torch.__version__}, {os.cpu_count()} CPUs")
    print("| case | torch threads | OpenBLAS threads | median µs | range µs |")
    print("|---|---|---|---|---|")
    for torch_threads, blas_threads in [(1, 1), (1, 2), (2, 2)]:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(torch_threads))
        subprocess.run([sys.executable, __file__, "--child", str(torch_threads)], env=env, check=True)


if __name__ == "__main__":
    main()
