#!/usr/bin/python3
"""Small data sets at int8: each model the CLI trains with its defaults, quantized, scored on the same test rows.

For iris, wine, breast_cancer and diabetes (compare.py's splits: 80/20, stratified for classes, seeds 0-4):
`fastbackprop train --csv train.csv --test-csv test.csv --target target --seed SEED --save fp32.fbpm` (plus
--regression), then `fastbackprop quantize fp32.fbpm int8.fbpm --csv test.csv --target target`, which scores both models
on the test rows. Prints per data set the fp32 and int8 test accuracy (or R^2), and the largest difference over the seeds
in test samples (classification) or in R^2 (regression): issue's targets are one test sample and 0.01.

Usage (build the CLI first: dotnet build -c Release tools/FastBackprop.Cli):
    /usr/bin/python3 bench/smalldata/int8.py [--seeds 0,1,2,3,4] [--cli PATH.dll]
Needs Debian's python3-sklearn (apt-get install python3-sklearn) for the data sets.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(__file__))
from compare import DEFAULT_CLI, SETS, write_csv  # noqa: E402  (the same splits and files as compare.py)


def run(command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--cli", default=DEFAULT_CLI)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    folder = tempfile.mkdtemp(prefix="fbp-int8-")
    print(f"seeds {','.join(map(str, seeds))}; test = 20% (stratified for classes); CLI defaults, then quantize")
    print()
    print("| data set | test rows | metric | fp32 (mean, min–max) | int8 (mean, min–max) | largest difference over the seeds | int8 file / fp32 file |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, load, regression in SETS:
        bunch = load()
        x, y = bunch.data, bunch.target
        names = None if regression else [str(n) for n in bunch.target_names]
        fp32, int8, gaps, ratios = [], [], [], []
        rows = 0
        for seed in seeds:
            x_train, x_test, y_train, y_test = train_test_split(
                x, y, test_size=0.2, random_state=seed, stratify=None if regression else y)
            rows = len(y_test)
            train, test = os.path.join(folder, "train.csv"), os.path.join(folder, "test.csv")
            model, quantized = os.path.join(folder, "fp32.fbpm"), os.path.join(folder, "int8.fbpm")
            write_csv(train, x_train, y_train, regression, names)
            write_csv(test, x_test, y_test, regression, names)
            command = ["dotnet", args.cli, "train", "--csv", train, "--test-csv", test, "--target", "target",
                       "--seed", str(seed), "--save", model]
            run(command + (["--regression"] if regression else []))
            out = run(["dotnet", args.cli, "quantize", model, quantized, "--csv", test, "--target", "target"])
            ratios.append(float(re.search(r"^size: .*\(([\d.]+)%\)", out, re.M).group(1)))
            if regression:
                a, b = map(float, re.search(r"^R²: +fp32 (-?[\d.]+), int8 (-?[\d.]+)", out, re.M).groups())
                gaps.append(abs(a - b))
            else:
                m = re.search(r"^accuracy: fp32 ([\d.]+)% \((\d+)/\d+\), int8 ([\d.]+)% \((\d+)/\d+\)", out, re.M)
                a, b = float(m.group(1)) / 100, float(m.group(3)) / 100
                gaps.append(abs(int(m.group(2)) - int(m.group(4))))
            fp32.append(a)
            int8.append(b)

        def text(values):
            scale, fmt = (1, "{:.4f}") if regression else (100, "{:.1f}%")
            return f"{fmt.format(sum(values) / len(values) * scale)} ({fmt.format(min(values) * scale)}–{fmt.format(max(values) * scale)})"
        gap = f"{max(gaps):.4f} R²" if regression else f"{max(gaps)} test sample(s)"
        print(f"| {name} | {rows} | {'R²' if regression else 'accuracy'} | {text(fp32)} | {text(int8)} | {gap} | "
              f"{min(ratios):.1f}–{max(ratios):.1f}% |", flush=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    os.rmdir(folder)


if __name__ == "__main__":
    main()
