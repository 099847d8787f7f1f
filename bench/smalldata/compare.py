#!/usr/bin/python3
"""Small data sets: FastBackprop's CLI with its defaults against scikit-learn's MLP defaults, on the same splits.

For iris, wine, breast_cancer (classification) and diabetes (regression) from scikit-learn's bundled data, and for each
seed: a stratified (classification) 80/20 train/test split with that seed, written to train.csv / test.csv; then

  * scikit-learn: make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)) (MLPRegressor for diabetes), every
    other setting at its default, fitted on train.csv's rows and scored on test.csv's (accuracy, or R^2);
  * FastBackprop: `fastbackprop train --csv train.csv --test-csv test.csv --target target --seed SEED`
    (plus --regression for diabetes) and no other flag, reading the final line (accuracy, or R^2).

Prints a Markdown table: the mean over the seeds (min-max in brackets) of the test score, and the mean training time
(scikit-learn: fit(); ours: the CLI's "training time" line, validation included, and the process's wall time).

Usage (build the CLI first: dotnet build -c Release tools/FastBackprop.Cli):
    /usr/bin/python3 bench/smalldata/compare.py [--seeds 0,1,2,3,4] [--cli PATH.dll] [--keep DIR] [-- extra CLI flags]
Needs Debian's python3-sklearn (apt-get install python3-sklearn); the data sets ship with it.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_CLI = os.path.join(ROOT, "tools", "FastBackprop.Cli", "bin", "Release", "net10.0", "fastbackprop-cli.dll")

SETS = [
    ("iris", datasets.load_iris, False),
    ("wine", datasets.load_wine, False),
    ("breast_cancer", datasets.load_breast_cancer, False),
    ("diabetes", datasets.load_diabetes, True),
]


def write_csv(path, x, y, regression, names):
    with open(path, "w") as f:
        f.write(",".join(f"f{j}" for j in range(x.shape[1])) + ",target\n")
        for row, target in zip(x, y):
            label = repr(float(target)) if regression else names[int(target)].replace(",", " ")
            f.write(",".join(repr(float(v)) for v in row) + "," + label + "\n")


def run_sklearn(x_train, y_train, x_test, y_test, regression, seed, scale_targets=False):
    model = make_pipeline(StandardScaler(), MLPRegressor(random_state=seed) if regression else MLPClassifier(random_state=seed))
    if scale_targets:
        model = TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the defaults stop at max_iter=200 on some sets
        start = time.perf_counter()
        model.fit(x_train, y_train)
        seconds = time.perf_counter() - start
    predicted = model.predict(x_test)
    score = r2_score(y_test, predicted) if regression else accuracy_score(y_test, predicted)
    return score, seconds


def run_ours(cli, train, test, regression, seed, extra):
    command = ["dotnet", cli, "train", "--csv", train, "--test-csv", test, "--target", "target", "--seed", str(seed)]
    if regression:
        command.append("--regression")
    command += extra
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    out = done.stdout
    if regression:
        score = float(re.search(r"^final held-out MSE: .*R² (-?[\d.]+)", out, re.M).group(1))
    else:
        score = float(re.search(r"^final held-out accuracy: ([\d.]+)%", out, re.M).group(1)) / 100
    train_seconds = float(re.search(r"^training time: ([\d.]+) s for (\d+) epochs", out, re.M).group(1))
    epochs = int(re.search(r"^training time: [\d.]+ s for (\d+) epochs", out, re.M).group(1))
    return score, train_seconds, wall, epochs


def summary(values, percent):
    scale, fmt = (100, "{:.1f}%") if percent else (1, "{:.3f}")
    mean = fmt.format(np.mean(values) * scale)
    if len(values) == 1:
        return mean
    return f"{mean} ({fmt.format(min(values) * scale)}–{fmt.format(max(values) * scale)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--cli", default=DEFAULT_CLI)
    parser.add_argument("--keep", help="write the CSV files here (default: a temporary folder, removed)")
    parser.add_argument("extra", nargs="*", help="flags passed on to the CLI (after --)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if not os.path.exists(args.cli):
        sys.exit(f"{args.cli} not found: dotnet build -c Release tools/FastBackprop.Cli")

    folder = args.keep or tempfile.mkdtemp(prefix="fbp-smalldata-")
    os.makedirs(folder, exist_ok=True)
    print(f"seeds {','.join(map(str, seeds))}; test = 20% (stratified for classes); "
          f"scikit-learn {__import__('sklearn').__version__}; CLI flags: {' '.join(args.extra) or '(none)'}")
    print()
    print("| data set | rows | features | metric | scikit-learn MLP defaults | FastBackprop CLI defaults | epochs (ours) "
          "| fit time sklearn | training time ours | wall time ours |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    footnotes = []
    for name, load, regression in SETS:
        bunch = load()
        x, y = bunch.data, bunch.target
        names = None if regression else [str(n) for n in bunch.target_names]
        theirs, ours, their_times, our_times, walls, epochs, scaled = [], [], [], [], [], [], []
        for seed in seeds:
            x_train, x_test, y_train, y_test = train_test_split(
                x, y, test_size=0.2, random_state=seed, stratify=None if regression else y)
            train = os.path.join(folder, f"{name}-{seed}-train.csv")
            test = os.path.join(folder, f"{name}-{seed}-test.csv")
            write_csv(train, x_train, y_train, regression, names)
            write_csv(test, x_test, y_test, regression, names)
            score, seconds = run_sklearn(x_train, y_train, x_test, y_test, regression, seed)
            theirs.append(score)
            their_times.append(seconds)
            if regression:
                scaled.append(run_sklearn(x_train, y_train, x_test, y_test, regression, seed, scale_targets=True)[0])
            score, seconds, wall, e = run_ours(args.cli, train, test, regression, seed, args.extra)
            ours.append(score)
            our_times.append(seconds)
            walls.append(wall)
            epochs.append(e)
        metric = "R²" if regression else "accuracy"
        epoch_text = str(epochs[0]) if min(epochs) == max(epochs) else f"{min(epochs)}–{max(epochs)}"
        print(f"| {name} | {x.shape[0]} | {x.shape[1]} | {metric} | {summary(theirs, not regression)} | "
              f"{summary(ours, not regression)} | {epoch_text} | {np.mean(their_times):.2f} s | {np.mean(our_times):.2f} s | "
              f"{np.mean(walls):.2f} s |", flush=True)
        if scaled:
            footnotes.append(f"{name}: scikit-learn's MLPRegressor does not scale the targets; with standardised targets "
                             f"(TransformedTargetRegressor(transformer=StandardScaler()), otherwise the same) it reaches R² "
                             f"{summary(scaled, False)}.")
    for note in footnotes:
        print()
        print(note)
    if not args.keep:
        for f in os.listdir(folder):
            os.remove(os.path.join(folder, f))
        os.rmdir(folder)


if __name__ == "__main__":
    main()
