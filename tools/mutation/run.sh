#!/usr/bin/env bash
# Mutation testing (Stryker.NET, the local tool in dotnet-tools.json) of src/FastBackprop, scored per folder.
#
#   tools/mutation/run.sh [FOLDER...]     FOLDER: Hardware Data Serialization Training Networks (default: all five)
#   tools/mutation/run.sh --since[=REF] [FOLDER...]
#                                         only the files of those folders that differ from REF (default: main)
#
# Opt-in, not part of .ci/run: it takes minutes on two cores. It mutates only the folders' files (--mutate) and
# runs only the tests that specify those folders (FILTERS below), one test process at a time
# (concurrency 1, from tests/FastBackprop.Tests/stryker-config.json). Tests left out: the fuzz suite (Category=Fuzz,
# minutes of random cases), and per folder the GEMM/kernel property suites, which execute much of the code under
# Hardware/ and Networks/ but were written to pin the numeric kernels; a mutant they alone would kill counts as
# surviving here, which keeps the score honest about the specification tests. MUTATION_TEST_FILTER overrides the
# filter (dotnet test --filter syntax).
#
# Reports: artifacts/mutation/FOLDER[-FOLDER...]/TIME/reports/mutation-report.{html,json} (git-ignored); one line per folder:
#   Hardware       score  84.1%  killed 120  survived 20  timeout 2  no-coverage 3  (ignored 0, compile errors 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

declare -A FILTERS=(
  [Hardware]="FullyQualifiedName~KernelConfigurationTests|FullyQualifiedName~FastBackprop.Tests.Hardware."
  [Data]="FullyQualifiedName~FastBackprop.Tests.Data.|FullyQualifiedName~BadInputTests"
  [Serialization]="FullyQualifiedName~FastBackprop.Tests.Data.ModelFile|FullyQualifiedName~FastBackprop.Tests.Data.QuantizedModelFile|FullyQualifiedName~FastBackprop.Tests.Int8.|FullyQualifiedName~FastBackprop.Tests.Onnx.|FullyQualifiedName~FastBackprop.Tests.Serialization.|FullyQualifiedName~ModelCommandTests|FullyQualifiedName~OnnxCommandTests|FullyQualifiedName~QuantizeCommandTests"
  [Training]="FullyQualifiedName~FastBackprop.Tests.Training.|FullyQualifiedName~DropoutTests|FullyQualifiedName~LearningTests"
  [Networks]="FullyQualifiedName~NetworkTests|FullyQualifiedName~FrozenNetworkTests|FullyQualifiedName~DropoutTests|FullyQualifiedName~DropoutMaskSpecTests|FullyQualifiedName~InferenceAndAllocationTests|FullyQualifiedName~GradientCheckTests|FullyQualifiedName~FastBackprop.Tests.BadInputTests|FullyQualifiedName~NonFiniteOutputTests|FullyQualifiedName~FastBackprop.Tests.Networks."
)

since=""
folders=()
while [ $# -gt 0 ]; do
  case "$1" in
    --since) since=main ;;
    --since=*) since="${1#--since=}" ;;
    *) folders+=("${1%/}") ;;
  esac
  shift
done
[ ${#folders[@]} -eq 0 ] && folders=(Hardware Data Serialization Training Networks)

dotnet tool restore >/dev/null
for folder in "${folders[@]}"; do
  if [ -z "${FILTERS[$folder]+x}" ]; then
    echo "run.sh: unknown folder '$folder' (Hardware Data Serialization Training Networks)" >&2
    exit 2
  fi
done

# One Stryker run for all the folders asked for: Stryker builds the test project, compiles every mutant of the library
# and runs the tests once before it tests a single mutant (minutes on two cores), so one run of five folders is much
# cheaper than five runs. The scores are then counted per folder from the JSON report.
mutate=()
filter=""
for folder in "${folders[@]}"; do
  if [ -n "$since" ]; then
    mapfile -t changed < <(git diff --name-only --diff-filter=AM "$since" -- "src/FastBackprop/$folder/" | grep '\.cs$' || true)
    for file in "${changed[@]}"; do mutate+=("--mutate" "**/$file"); done
  else
    mutate+=("--mutate" "**/src/FastBackprop/$folder/**/*.cs")
  fi
  filter="${filter:+$filter|}${FILTERS[$folder]}"
done
if [ ${#mutate[@]} -eq 0 ]; then
  echo "no changed files under src/FastBackprop/{$(IFS=,; echo "${folders[*]}")} since $since"
  exit 0
fi

# A new folder per run, so an earlier report stays for comparison.
name=$(IFS=-; echo "${folders[*]}")
out="$root/artifacts/mutation/$name/$(date -u +%Y-%m-%dT%H%M%S)"
mkdir -p "$out"
start=$(date +%s)
(cd tests/FastBackprop.Tests &&
  dotnet stryker --skip-version-check ${STRYKER_ARGS:-} --output "$out" "${mutate[@]}" \
    --test-case-filter "${MUTATION_TEST_FILTER:-$filter}") >"$out/stryker.log" 2>&1 \
  || { echo "Stryker failed, see $out/stryker.log" >&2; tail -20 "$out/stryker.log" >&2; exit 1; }
seconds=$(( $(date +%s) - start ))

python3 - "$out/reports/mutation-report.json" "$seconds" "${folders[@]}" <<'PY'
import json, sys
report, seconds, folders = sys.argv[1], sys.argv[2], sys.argv[3:]
counts = {f: {} for f in folders}
for path, f in json.load(open(report))["files"].items():
    folder = next((x for x in folders if f"/src/FastBackprop/{x}/" in path), None)
    if folder is None:
        continue
    for m in f["mutants"]:
        counts[folder][m["status"]] = counts[folder].get(m["status"], 0) + 1
print(f"Stryker.NET {seconds} s for {', '.join(folders)}; report: {report.rsplit('/', 1)[0]}/mutation-report.html")
for folder in folders:
    c = counts[folder]
    killed, survived, timeout, nocov = (c.get(k, 0) for k in ("Killed", "Survived", "Timeout", "NoCoverage"))
    tested = killed + survived + timeout + nocov
    score = 100.0 * (killed + timeout) / tested if tested else float("nan")
    print(f"{folder:<14} score {score:5.1f}%  killed {killed}  survived {survived}  timeout {timeout}  no-coverage {nocov}"
          f"  (ignored {c.get('Ignored', 0)}, compile errors {c.get('CompileError', 0)})")
PY
