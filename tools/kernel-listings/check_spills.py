#!/usr/bin/env python3
"""Reads a JIT listing file (DOTNET_JitStdOutFile) of micro-kernel instantiations and reports, per listing,
the vector stack accesses inside FMA loops (spills that cost every k step) and in the whole method.
Exit status 1 if any loop spills. Used by check-spills.sh."""
import re
import sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
bad = 0
seen = set()
for listing in text.split("; Assembly listing for method ")[1:]:
    head = listing.split("\n")[0]
    name = re.sub(r"FastBackprop\.Kernels\.\w+\.|System\.Runtime\.Intrinsics\.", "", head.split(" (")[0])
    lines = listing.split("\n")
    labels = {m.group(1): i for i, l in enumerate(lines) if (m := re.match(r"(G_M\d+_IG\d+):", l))}
    spill = re.compile(r"[xyz]mmword ptr \[rbp-")
    in_loops = 0
    for i, l in enumerate(lines):
        m = re.match(r"\s+j\w+\s+(G_M\d+_IG\d+)", l)
        # A backward jump over a short block of FMAs is an inner k loop.
        if m and m.group(1) in labels and labels[m.group(1)] < i:
            body = lines[labels[m.group(1)]:i]
            if len(body) < 90 and any("vfmadd231p" in b for b in body):
                in_loops += sum(1 for b in body if spill.search(b))
    total = sum(1 for l in lines if spill.search(l))
    size = re.search(r"; Total bytes of code (\d+)", listing)
    key = (name, in_loops, total)
    if key in seen:
        continue
    seen.add(key)
    bad += in_loops > 0
    print(f"{'SPILLS' if in_loops else 'ok    '} loop {in_loops:3d}, method {total:3d} stack vector accesses, "
          f"{size.group(1) if size else '?':>5} bytes  {name}")
print(f"{len(seen)} listings, {bad} with spills in a k loop")
sys.exit(1 if bad else 0)
