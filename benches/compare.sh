#!/usr/bin/env bash
# Haven and Janus side by side on this machine, same load generator, same
# media, one run. Each server is pinned to CPU 0, the load generator to CPU 1.
#
#   benches/compare.sh [--steps "1 2 4 6"] [--size 6] [--seconds 15] [--warmup 3] [--runs 3]
#
# Prints a table (medians, with min–max over the runs) and writes every run's
# JSON line to target/compare/results.jsonl. See docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."

args=("$@")  # parsing below shifts them away; the namespace run needs them
steps="1 2 4 6"; size=6; seconds=15; warmup=3; runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

# (Run again inside its own network namespace below: installed and built by then.)
if [ -z "${HAVEN_COMPARE_IN_NETNS:-}" ]; then
need=()
command -v janus >/dev/null 2>&1 || need+=(janus)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
pkg-config --exists opus 2>/dev/null || need+=(pkg-config libopus-dev)
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
cargo build --release -p haven -p haven-benches --bin haven --bin loadgen
fi

# Janus skips loopback when gathering candidates, so both servers need a
# non-loopback address. Never the machine's own: the whole comparison runs in
# a network namespace of its own with a veth pair carrying 192.0.2.101
# (TEST-NET-1); nothing leaves the namespace.
if [ -z "${HAVEN_COMPARE_IN_NETNS:-}" ]; then
  netns=(unshare -n)
  [ "$(id -u)" = 0 ] || netns=(unshare -rn)
  exec "${netns[@]}" env HAVEN_COMPARE_IN_NETNS=1 "$0" "${args[@]}"
fi
ip link set lo up
ip link add hv0 type veth peer name hv1
ip addr add 192.0.2.101/24 dev hv0
ip link set hv0 up
ip link set hv1 up
iface=hv0
ip=192.0.2.101

out=target/compare
rm -rf "$out"; mkdir -p "$out"
cpus=$(nproc)
server_cpu=0; gen_cpu=$(( cpus > 1 ? 1 : 0 ))

benches/janus/configure.sh "$out/janus" "$iface"
taskset -c $server_cpu janus -F "$out/janus" -C "$out/janus/janus.jcfg" -o > "$out/janus.log" 2>&1 &
janus_pid=$!
printf '%s\n' loadgen-password | target/release/haven facilitator add loadgen --password-stdin --data-dir "$out/haven-data" > /dev/null
HAVEN_LOG=warn taskset -c $server_cpu target/release/haven serve --data-dir "$out/haven-data" --listen 127.0.0.1:18480 \
  --media-port 0 --media-workers 1 --metrics-listen off --knocks-per-minute 1000000 > "$out/haven.log" 2>&1 &
haven_pid=$!
trap 'kill $janus_pid $haven_pid 2>/dev/null || true' EXIT
sleep 2

for step in $steps; do
  for run in $(seq 1 "$runs"); do
    for server in haven janus; do
      if [ $server = haven ]; then pid=$haven_pid; target=(haven --url http://127.0.0.1:18480); else pid=$janus_pid; target=(janus --url http://127.0.0.1:8088/janus); fi
      line=$(taskset -c $gen_cpu target/release/loadgen --rooms "$step" --size "$size" --seconds "$seconds" --warmup "$warmup" \
               --ip "$ip" --server-pid "$pid" --label "$server" "${target[@]}" 2>>"$out/loadgen.err" | grep '^{' || true)
      if [ -n "$line" ]; then echo "$line" >> "$out/results.jsonl"; echo "$server rooms=$step run=$run: done" >&2
      else echo "$server rooms=$step run=$run: FAILED (see $out/loadgen.err)" >&2; fi
      sleep 2
    done
  done
done

python3 - "$out/results.jsonl" "$size" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
size = int(sys.argv[2])
def med(xs): xs = [x for x in xs if x is not None and x == x]; return statistics.median(xs) if xs else float('nan')
def span(xs): xs = [x for x in xs if x is not None and x == x]; return f"{min(xs):.2f}–{max(xs):.2f}" if xs else "n/a"
print(f"\nrooms of {size}; medians over runs (min–max)\n")
hdr = ["server", "rooms", "people", "fwd pps", "CPU-µs/pkt", "loss %", "lat p50 ms", "p99", "p99.9", "RSS MB/pers", "join audio p95 ms", "join video p95 ms", "loadgen CPU %"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
held = {}
for server in ("haven", "janus"):
    for rooms in sorted({r["rooms"] for r in rows}):
        rs = [r for r in rows if r["label"] == server and r["rooms"] == rooms]
        if not rs: continue
        loss = med([r["loss"] * 100 for r in rs]); p99 = med([r["latency_ms"]["p99"] for r in rs])
        if loss <= 0.1 and p99 <= 10: held[server] = max(held.get(server, 0), rooms)
        print("| " + " | ".join([server, str(rooms), str(rooms * size),
              f"{med([r['received_pps'] for r in rs]):.0f}",
              f"{med([r['server_cpu_us_per_packet'] for r in rs]):.2f} ({span([r['server_cpu_us_per_packet'] for r in rs])})",
              f"{loss:.3f}", f"{med([r['latency_ms']['p50'] for r in rs]):.2f}", f"{p99:.2f}", f"{med([r['latency_ms']['p999'] for r in rs]):.2f}",
              f"{med([r['server_rss_mb_per_participant'] for r in rs]):.2f}",
              f"{med([r['join_ms']['audio_p95'] for r in rs]):.0f}", f"{med([r['join_ms']['video_p95'] for r in rs]):.0f}",
              f"{med([r['loadgen_cpu_percent'] for r in rs]):.0f}"]) + " |")
print()
for server in ("haven", "janus"):
    print(f"{server}: held {held.get(server, 0)} rooms of {size} within 0.1% loss and p99 ≤ 10 ms (largest step tried: {max(r['rooms'] for r in rows)})")
h = [r["server_cpu_us_per_packet"] for r in rows if r["label"] == "haven"]
j = [r["server_cpu_us_per_packet"] for r in rows if r["label"] == "janus"]
if h and j:
    print(f"CPU-µs per forwarded packet, median over all steps: haven {med(h):.2f}, janus {med(j):.2f} (janus/haven = {med(j)/med(h):.1f}×)")
PY
