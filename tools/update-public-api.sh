#!/usr/bin/env bash
# Regenerates src/FastBackprop/PublicAPI.Unshipped.txt: the library's public API that PublicAPI.Shipped.txt (the last
# release) does not already list. Run it after an intended API change, then review `git diff src/FastBackprop/PublicAPI.*`:
# every line is a symbol users see. Removing or changing a shipped symbol is a breaking change: delete its line from
# PublicAPI.Shipped.txt by hand (RS0017 names it) so the diff shows the break. Released: see docs/RELEASING.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
project=src/FastBackprop/FastBackprop.csproj
unshipped=src/FastBackprop/PublicAPI.Unshipped.txt

# Start from an empty list so entries for symbols that are gone or changed (RS0017) disappear too, then let the
# analyzer's own code fix add every public symbol the shipped list lacks (RS0016).
printf '#nullable enable\n' >"$unshipped"
dotnet format analyzers "$project" --diagnostics RS0016 --severity warn --no-restore 2>/dev/null \
    || dotnet format analyzers "$project" --diagnostics RS0016 --severity warn
# The code fix appends in the order it meets symbols; sort (ordinal, as the analyzer compares) for stable diffs.
{ head -n 1 "$unshipped"; tail -n +2 "$unshipped" | LC_ALL=C sort -u; } >"$unshipped.tmp"
mv "$unshipped.tmp" "$unshipped"
dotnet build "$project" -c Release --nologo -v quiet
echo "$(($(wc -l <"$unshipped") - 1)) unshipped symbols in $unshipped"
