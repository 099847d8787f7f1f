#!/usr/bin/env bash
# Jits every GEMM micro-kernel instantiation the GEMM, layer and network tests reach (fully optimised, no
# tiering) and checks the listings: a vector spill inside a kernel's k loop costs every step (it happened once,
# when a store variant raised register pressure). Opt-in, ~1 minute per ISA path; needs python3.
#   tools/kernel-listings/check-spills.sh                 # this machine's widest path
#   DOTNET_EnableAVX512=0 tools/kernel-listings/check-spills.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
listing=$(mktemp "${TMPDIR:-/tmp}/kernel-listings.XXXXXX")
trap 'rm -f "$listing"' EXIT
dotnet build tests/FastBackprop.Tests -c Release -v q -nologo > /dev/null
DOTNET_TieredCompilation=0 DOTNET_JitDisasm='*MicroKernel*:Run *RowDots*:Rows' DOTNET_JitStdOutFile="$listing" \
  dotnet test tests/FastBackprop.Tests -c Release --no-build \
  --filter "FullyQualifiedName~Gemm|FullyQualifiedName~Network|FullyQualifiedName~Layer" > /dev/null
python3 "$(dirname "${BASH_SOURCE[0]}")/check_spills.py" "$listing"
