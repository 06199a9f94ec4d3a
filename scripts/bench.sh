#!/usr/bin/env bash
# Whole-process benchmark of check and diff on large synthetic snapshots (docs/performance.md).
# Usage: scripts/bench.sh [SCALE...]   (default: 0.1 1; 1 = 20k users, 100k groups, 200k instances)
# Prints, per scale: snapshot bytes, the parse-only floor, check (wall, peak RSS), their
# ratios, and diff of two snapshots of that scale (2% drift) against one check; then how
# the floor, check, its memory and diff grew from each scale to the next.
# BENCH_NO_DIFF=1 skips diff (and the second snapshot): at 10×, two snapshots need ~26 GB.
set -euo pipefail
cd "$(dirname "$0")/.."
scales=("$@")
[ ${#scales[@]} -eq 0 ] && scales=(0.1 1)
cargo build --release --quiet --example synth --example parse_floor
cargo build --release --quiet
bin=target/release
work=${BENCH_DIR:-/tmp/snapaudit-bench}
mkdir -p "$work"
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
measure() { # command... → "seconds peak_kb" (exit codes 1 and 2 are results here, not failures)
    local t
    t=$(mktemp)
    /usr/bin/time -o "$t" -f "%e %M" "$@" > /dev/null 2>&1 || true
    tail -1 "$t"
    rm -f "$t"
}
printf '%-6s %12s %9s %9s %10s %7s %8s %9s %7s\n' scale bytes floor_s check_s check_rss check/fl rss/bytes diff_s diff/chk
for s in "${scales[@]}"; do
    a="$work/a-$s"; b="$work/b-$s"
    [ -f "$a/manifest.json" ] || "$bin/examples/synth" --out "$a" --scale "$s" 2>/dev/null
    if [ -z "${BENCH_NO_DIFF:-}" ]; then
        [ -f "$b/manifest.json" ] || "$bin/examples/synth" --out "$b" --scale "$s" --drift 0.02 2>/dev/null
    fi
    bytes=$(du -sb "$a" | cut -f1)
    # Warm the page cache once, then time.
    "$bin/examples/parse_floor" "$a" 2>/dev/null
    read -r floor _ < <(measure "$bin/examples/parse_floor" "$a")
    read -r check rss < <(measure "$bin/snapaudit" check "$a" --format json)
    diff=0
    if [ -z "${BENCH_NO_DIFF:-}" ]; then
        read -r diff _ < <(measure "$bin/snapaudit" diff "$a" "$b" --format json)
    fi
    echo "$s $bytes $floor $check $rss $diff" >> "$rows"
    python3 - "$s" "$bytes" "$floor" "$check" "$rss" "$diff" <<'PY'
import sys
s, b, fl, ch, rss, df = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
d = f"{df:>9.2f} {df/ch:>7.2f}" if df > 0 else f"{'-':>9} {'-':>7}"
print(f"{s:<6} {b:>12} {fl:>9.2f} {ch:>9.2f} {rss*1024:>10} {ch/fl:>7.2f} {rss*1024/b:>8.2f} {d}")
PY
done
# Growth between consecutive scales: linear means each ratio is close to the bytes ratio.
python3 - "$rows" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
if len(rows) > 1:
    print()
    print(f"{'growth':<13} {'bytes':>7} {'floor':>7} {'check':>7} {'rss':>7} {'diff':>7}")
    for a, b in zip(rows, rows[1:]):
        r = lambda i: float(b[i]) / float(a[i]) if float(a[i]) > 0 and float(b[i]) > 0 else float("nan")
        print(f"{a[0] + ' -> ' + b[0]:<13} {r(1):>7.2f} {r(2):>7.2f} {r(3):>7.2f} {r(4):>7.2f} {r(5):>7.2f}")
PY
