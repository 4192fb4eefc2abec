#!/usr/bin/env bash
# CPU profile of the scheduling path: 3 library replicas x 1000 tasks firing every second, on a
# private redis-server, for 25 s under --cpu-prof; then self time per function in µs per fire.
# Usage: bash bench/profile/run.sh [replicas] [tasks] [seconds]   (needs npm run build first)
set -euo pipefail
cd "$(dirname "$0")"
replicas=${1:-3} tasks=${2:-1000} seconds=${3:-25}
out=$(mktemp -d)
port=$(node -e "const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})")
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$out" >/dev/null
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true' EXIT
sleep 0.5
for i in $(seq 1 "$replicas"); do
  node --cpu-prof --cpu-prof-dir="$out" --cpu-prof-name="r$i.cpuprofile" replica.mjs "$port" "r$i" "$tasks" "$seconds" &
done
wait
node top.mjs $((tasks * seconds)) "$out"/*.cpuprofile
echo "profiles in $out"
