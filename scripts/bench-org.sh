#!/usr/bin/env bash
# Whole-process benchmark of `check` over an organisation directory (docs/performance.md).
# Usage: scripts/bench-org.sh [ACCOUNTS:SCALE...]   (default: 1000:0.001 100:0.01)
# For each case, one synthetic account (examples/synth.rs at SCALE) is copied ACCOUNTS times
# under distinct 12-digit IDs, with an organization.json; then it prints the bytes, the
# parse-only floor over the whole directory, `check ORGDIR --format json` (wall, peak RSS),
# and the sum of `check ACCOUNT --format json` run once per account (wall; peak RSS is the
# largest single run).
set -euo pipefail
cd "$(dirname "$0")/.."
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(1000:0.001 100:0.01)
cargo build --release --quiet --example synth --example parse_floor
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release
work=${BENCH_DIR:-/tmp/snapaudit-bench-org}
mkdir -p "$work"
measure() { # command... → "seconds peak_kb" (exit codes 1 and 2 are results here)
    local t
    t=$(mktemp)
    /usr/bin/time -o "$t" -f "%e %M" "$@" > /dev/null 2>&1 || true
    tail -1 "$t"
    rm -f "$t"
}
printf '%-12s %12s %9s %9s %11s %9s %11s %8s\n' case bytes floor_s check_s check_rss sum_s sum_max_rss chk/sum
for c in "${cases[@]}"; do
    n=${c%%:*}; s=${c##*:}
    org="$work/org-$n-$s"
    if [ ! -f "$org/organization.json" ]; then
        rm -rf "$org"; mkdir -p "$org"
        one="$work/one-$s"
        [ -f "$one/manifest.json" ] || "$bin/examples/synth" --out "$one" --scale "$s" 2>/dev/null
        python3 - "$org" "$one" "$n" <<'PY'
import json, os, shutil, sys
org, one, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
accounts = []
for i in range(n):
    aid = f"{100000000000 + i:012d}"
    shutil.copytree(one, os.path.join(org, aid))
    m = os.path.join(org, aid, "manifest.json")
    doc = json.load(open(m))
    doc["account_id"] = aid
    json.dump(doc, open(m, "w"), indent=2)
    accounts.append({"id": aid, "name": f"member-{i}", "ou_path": ["Root", f"OU{i % 10}"],
                     "outcome": "collected", "message": None})
json.dump({"schema_version": 1, "organization_id": "o-benchmark01", "management_account_id": accounts[0]["id"],
           "captured_at": "2026-12-01T10:00:00Z", "shard": None, "accounts": accounts},
          open(os.path.join(org, "organization.json"), "w"), indent=2)
PY
    fi
    bytes=$(du -sb "$org" | cut -f1)
    "$bin/examples/parse_floor" "$org" > /dev/null 2>&1
    read -r floor _ < <(measure "$bin/examples/parse_floor" "$org")
    read -r check rss < <(measure "$bin/snapaudit" check "$org" --format json)
    read -r sum sum_rss < <(measure bash -c "for d in '$org'/[0-9]*/; do '$bin/snapaudit' check \"\$d\" --format json > /dev/null 2>&1 || true; done")
    python3 - "$n:$s" "$bytes" "$floor" "$check" "$rss" "$sum" "$sum_rss" <<'PY'
import sys
c, b, fl, ch, rss, sm, srss = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
print(f"{c:<12} {b:>12} {fl:>9.2f} {ch:>9.2f} {rss*1024:>11} {sm:>9.2f} {srss*1024:>11} {ch/sm:>8.2f}")
PY
done
