#!/bin/sh
# Benchmark: vd-img map and compare against qemu-img on a large sparse
# qcow2 chain (not part of the test suite).  Prints the median of RUNS
# runs of each and the ratio vd-img / qemu-img (below 1: vd-img faster).
# Usage: bench/chain.sh [BUILD_DIR]   (default: build)
# Environment: RUNS (default 5), SIZE (virtual size, default 200G),
# STEP (distance between written clusters, default 32M).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
vd_img="$build/tools/vd-img"
runs=${RUNS:-5}
size=${SIZE:-200G}
step=${STEP:-32M}
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null || {
  echo "bench/chain.sh: needs qemu-img and qemu-io" >&2; exit 1; }
[ -x "$vd_img" ] || { echo "bench/chain.sh: build vd-img first" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/vdbench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"

# A base with a 4k write every STEP, an overlay with a write every
# 4*STEP (shifted), and a copy of the chain flattened into one image
# with the same content.
bytes=$(qemu-img info --output=json "$(qemu-img create -q -f qcow2 s.qcow2 "$size" && echo s.qcow2)" |
  sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
stepb=$(qemu-img info --output=json "$(qemu-img create -q -f qcow2 t.qcow2 "$step" && echo t.qcow2)" |
  sed -n 's/.*"virtual-size": \([0-9]*\).*/\1/p')
rm -f s.qcow2 t.qcow2
qemu-img create -q -f qcow2 base.qcow2 "$size"
cmds=""
off=0 i=0
while [ "$off" -lt "$bytes" ]; do
  printf 'write -P %d %d 4k\n' $((i % 200 + 1)) "$off"
  off=$((off + stepb)); i=$((i + 1))
done > base.cmds
qemu-io base.qcow2 < base.cmds >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
off=$((stepb / 2)); : > top.cmds
while [ "$off" -lt "$bytes" ]; do
  printf 'write -P 7 %d 64k\n' "$off" >> top.cmds
  off=$((off + 4 * stepb))
done
qemu-io top.qcow2 < top.cmds >/dev/null
qemu-img convert -O qcow2 top.qcow2 flat.qcow2
echo "chain: $size virtual, $i writes in the base, $(wc -l < top.cmds) in the overlay"

# median of RUNS timings (seconds) of a command
median () {
  _t=""
  for _r in $(seq "$runs"); do
    _s=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || [ $? -le 1 ]
    _e=$(date +%s.%N)
    _t="$_t $(echo "$_e - $_s" | bc -l)"
  done
  printf '%s\n' $_t | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
row () {
  _what=$1; shift
  a=$(median "$vd_img" "$@")
  b=$(median qemu-img "$@")
  printf '%-34s vd-img %8.4fs  qemu-img %8.4fs  ratio %5.2f\n' "$_what" \
    "$a" "$b" "$(echo "$a / $b" | bc -l)"
}
row "map --output=json top.qcow2" map --output=json top.qcow2
row "map top.qcow2 (human)" map top.qcow2
row "compare top.qcow2 flat.qcow2" compare top.qcow2 flat.qcow2
row "compare base.qcow2 top.qcow2" compare base.qcow2 top.qcow2
row "measure -O qcow2 top.qcow2" measure -O qcow2 top.qcow2
