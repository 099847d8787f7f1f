#!/usr/bin/env python3
"""Lists the mutants a Stryker run left undetected, one line each (file:line [status] mutator: replacement | the original
line), from its JSON report.

Usage: tools/mutation/survivors.py artifacts/mutation/FOLDER/TIME/reports/mutation-report.json [Survived,NoCoverage,...]
"""
import json, sys, collections
rep = json.load(open(sys.argv[1]))
want = sys.argv[2].split(',') if len(sys.argv) > 2 else ['Survived','NoCoverage']
for path, f in sorted(rep['files'].items()):
    src = f['source'].split('\n')
    for m in sorted(f['mutants'], key=lambda m: m['location']['start']['line']):
        if m['status'] in want:
            l = m['location']['start']['line']
            print(f"{path.split('/src/FastBackprop/')[-1]}:{l} [{m['status']}] {m['mutatorName']}: {m.get('replacement','')[:90]!r} | {src[l-1].strip()[:110]}")
