#!/usr/bin/env bash
# The test suite on ARM64, on an x86-64 machine: publishes tests/FastBackprop.Arm64.Tests — the main test project's
# sources compiled against xunit.v3, whose test assembly is a program of its own — self-contained for linux-arm64 and
# runs it under QEMU's user-mode emulation.
#
#   tools/arm64/run-tests.sh            the ARM64 subset below
#   tools/arm64/run-tests.sh --all      every test (emulation is about 10x slower than native: most of an hour)
#   tools/arm64/run-tests.sh ARGS...    other arguments go to the test program, e.g. -class FastBackprop.Tests.GemmTests
#                                       or -method "*ArmDot*" (-? lists them; note that -class, -method and -namespace
#                                       together select what all of them match, while several -filter queries add up)
#
# Needs: qemu-user and the arm64 C libraries the .NET runtime loads (installed here with apt-get when missing, as root):
#   dpkg --add-architecture arm64 && apt-get update && apt-get install qemu-user libc6:arm64 libstdc++6:arm64 libssl3:arm64
# Without libssl the runtime aborts at the first SHA-256; do not set QEMU_LD_PREFIX (mixing the *-arm64-cross
# libraries with these hangs). On an ARM64 machine the same script runs the program natively.
#
# Prints every test as it passes, fails or is skipped (the log stays in artifacts/arm64/test.log), the runner's summary
# ("=== TEST EXECUTION SUMMARY ===" with Total/Errors/Failed/Skipped/Not Run/Time), the wall time, and last the line
# "N passed, N failed[, N skipped]"; exits with the runner's code.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# The subset: every ARM64 code path the library has, each specified once. The kernels' Vector128 path (GEMM, layer
# kernels, activations, the exponential, matrix-vector products), whole networks forward and backward (gradient checks,
# frozen networks, training, layer normalisation), the optimizers, the model file (SHA-256), int8 (the SDOT kernel,
# the quantized networks and their files), the CPU description, and one summation order: the same bits for a row alone
# and in a batch, under every tile height, block size and thread count the ARM64 path can take.
SUBSET=()
for query in \
  'FastBackprop.Tests/GemmTests/*' \
  'FastBackprop.Tests/LayerKernelTests/*' \
  'FastBackprop.Tests/ActivationNumericsTests/*' \
  'FastBackprop.Tests/FloatExpTests/*' \
  'FastBackprop.Tests/NetworkTests/*' \
  'FastBackprop.Tests/FrozenNetworkTests/*' \
  'FastBackprop.Tests/GradientCheckTests/*' \
  'FastBackprop.Tests/KernelConfigurationTests/*' \
  'FastBackprop.Tests/SummationOrderTests/*' \
  'FastBackprop.Tests.Networks/*/*' \
  'FastBackprop.Tests.Data/QuantizedModelFileTests/*' \
  'FastBackprop.Tests.Hardware/*/*' \
  'FastBackprop.Tests.Int8/*/*' \
  'FastBackprop.Tests.Training/OptimizerTests/*' \
  'FastBackprop.Tests.Data/ModelFileTests/*'; do
  SUBSET+=(-filter "/*/$query")   # xunit.v3 query filters (/assembly/namespace/class/method); several -filter add up
done

case "${1:-}" in
  --all) args=() ;;
  "") args=("${SUBSET[@]}") ;;
  *) args=("$@") ;;
esac

emulator=()
if [[ $(uname -m) != aarch64 ]]; then
  missing=()
  command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
  for lib in libc.so.6 libstdc++.so.6 libssl.so.3; do
    [[ -e /usr/lib/aarch64-linux-gnu/$lib ]] || missing+=("$lib")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "missing for ARM64 emulation: ${missing[*]}; installing (apt-get)" >&2
    if [[ $(id -u) -ne 0 ]]; then
      echo "run as root, or install: qemu-user libc6:arm64 libstdc++6:arm64 libssl3:arm64 (after dpkg --add-architecture arm64)" >&2
      exit 2
    fi
    dpkg --add-architecture arm64
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6:arm64 libstdc++6:arm64 libssl3:arm64 </dev/null
  fi
  emulator=(qemu-aarch64)
fi

# A build folder of its own (artifacts/arm64), so the publish for linux-arm64 neither restores over nor rebuilds the
# x86 build in the projects' bin and obj folders.
out="$root/artifacts/arm64"
echo "publishing tests/FastBackprop.Arm64.Tests for linux-arm64 (self-contained) into $out/publish"
rm -rf "$out/publish"   # a failed publish must not leave an older program to run
dotnet publish tests/FastBackprop.Arm64.Tests -c Release -r linux-arm64 --self-contained --nologo \
  --artifacts-path "$out/build" -o "$out/publish" -p:MSBUILDTERMINALLOGGER=off | grep -E 'error|warning|->' || true
[[ -x "$out/publish/FastBackprop.Tests" ]] || { echo "the publish produced no $out/publish/FastBackprop.Tests" >&2; exit 1; }

log="$out/test.log"
start=$(date +%s)
set +e
# The runtime's W^X mode writes generated code through a second mapping of the same memory, which QEMU's user-mode
# translation cache does not see: the program then runs stale code (access violations, crashes in reflection stubs).
# Turned off under emulation only; it is a hardening of the runtime, not of the library.
wx=()
[[ ${#emulator[@]} -gt 0 ]] && wx=(env DOTNET_EnableWriteXorExecute=0)
(cd "$out/publish" && "${wx[@]}" "${emulator[@]}" ./FastBackprop.Tests -noLogo -noColor -reporter verbose "${args[@]}") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
seconds=$(( $(date +%s) - start ))

# The runner's summary line: "   FastBackprop.Tests  Total: 300, Errors: 0, Failed: 0, Skipped: 0, Not Run: 0, Time: 80.1s"
read -r total errors failed skipped < <(sed -n 's/.*Total: \([0-9]*\), Errors: \([0-9]*\), Failed: \([0-9]*\), Skipped: \([0-9]*\),.*/\1 \2 \3 \4/p' "$log" | tail -n 1)
if [[ -z "${total:-}" ]]; then
  echo "the test program printed no summary (exit code $rc)" >&2
  exit $(( rc == 0 ? 1 : rc ))
fi
passed=$(( total - failed - skipped ))
line="$passed passed, $(( failed + errors )) failed"
(( skipped > 0 )) && line="$line, $skipped skipped"
echo "linux-arm64 test program${emulator[*]:+ under ${emulator[*]}}: ${seconds} s"
echo "$line"
exit "$rc"
