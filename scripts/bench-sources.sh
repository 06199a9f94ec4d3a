#!/usr/bin/env bash
# Throughput of `snapaudit check --source` on a large synthetic tree, against ripgrep on the
# same tree, then on one file that is a single 1 MB line of key IDs (docs/sources.md,
# "Speed"). Usage: scripts/bench-sources.sh [FILES] [BYTES_PER_FILE]
# Needs a release build (cargo build --release) and rg on PATH. SNAPAUDIT=PATH times another
# binary (an older build, to compare); PARTS=tree or PARTS=long runs one part only.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SNAPAUDIT:-target/release/snapaudit}
files=${1:-100000}
size=${2:-10000}
tree=${TREE:-/tmp/snapaudit-bench-tree}
parts=${PARTS:-tree,long}
if [[ $parts == *tree* ]]; then
if [ ! -f "$tree/.done-$files-$size" ]; then
    rm -rf "$tree"
    python3 - "$tree" "$files" "$size" <<'PY'
import os, random, sys
root, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
words = ["def", "return", "import", "config", "value", "region", "bucket", "self", "None",
         "client", "session", "key", "token", "user", "policy", "for", "in", "if", "else"]
keys = ["AKIAEXAMPLEALICE0001", "AKIAEXAMPLECAROL0001", "AKIAZZZZZZZZZZZZZZZZ"]
for i in range(files):
    d = os.path.join(root, f"pkg{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))
        if rng.random() < 0.0005:
            line += " " + rng.choice(keys)
        out.append(line)
        n += len(line) + 1
    with open(os.path.join(d, f"mod{i}.py"), "w") as f:
        f.write("\n".join(out) + "\n")
open(os.path.join(root, f".done-{files}-{size}"), "w").close()
PY
fi
bytes=$(du -sb "$tree" | cut -f1)
echo "tree: $files files, $bytes bytes in $tree"
sync
echo "--- rg -c 'AKIA[0-9A-Z]{16}' (warm cache, second run timed)"
rg -c 'AKIA[0-9A-Z]{16}' "$tree" > /dev/null || true
/usr/bin/time -f "rg: %e s wall, %M KB max RSS" rg -c 'AKIA[0-9A-Z]{16}' "$tree" > /dev/null || true
echo "--- snapaudit check snapshots/example --source (warm cache, second run timed)"
"$bin" check snapshots/example --source "$tree" --format json > /dev/null || true
/usr/bin/time -f "snapaudit: %e s wall, %M KB max RSS" "$bin" check snapshots/example --source "$tree" --format json > /tmp/snapaudit-bench.json || true
python3 -c "import json; d=json.load(open('/tmp/snapaudit-bench.json'))['sources']; print('snapaudit scanned', d['files_scanned'], 'files,', d['bytes_scanned'], 'bytes,', d['key_ids_found'], 'key IDs')"
echo "--- snapaudit check snapshots/example (no --source), for the check itself"
/usr/bin/time -f "check alone: %e s wall" "$bin" check snapshots/example --format json > /dev/null || true
fi

# One file, one line of 1 MB: 47,619 key IDs separated by commas. Each ID's line and column
# and its secret window must cost the same as in a file of short lines (a scan quadratic in
# the line's length took minutes here). The source rules end in error on so many hits (a
# rule's strings are limited to 1 MiB in all), so this times the scan, not the findings.
if [[ $parts == *long* ]]; then
long=${LONG_TREE:-/tmp/snapaudit-bench-long}
if [ ! -f "$long/keys.txt" ]; then
    mkdir -p "$long"
    python3 - "$long/keys.txt" <<'PY'
import sys
n = 1_000_000 // 21
open(sys.argv[1], "w").write(",".join(f"AKIA{i:016d}" for i in range(n)) + "\n")
PY
fi
echo "--- snapaudit check snapshots/example --source (one 1 MB line of key IDs, warm cache)"
cat "$long/keys.txt" > /dev/null
/usr/bin/time -o /tmp/snapaudit-bench-long.time -f "snapaudit, one long line: %e s wall, %M KB max RSS" \
    "$bin" check snapshots/example --source "$long" --format json > /tmp/snapaudit-bench-long.json 2> /dev/null || true
cat /tmp/snapaudit-bench-long.time
python3 -c "import json; d=json.load(open('/tmp/snapaudit-bench-long.json'))['sources']; print('snapaudit scanned', d['files_scanned'], 'file,', d['bytes_scanned'], 'bytes,', d['key_ids_found'], 'key IDs')"
fi
