#!/bin/sh
# vd-df against virt-df on the same guests: N copies of the "linux"
# fixture guest (tests/fixtures/make-guests.sh), each a domain of a
# libvirt test-driver node (no daemon), examined by both tools with
# `-c test:///NODE --csv`, alternating, RUNS times each.  Prints per
# guest count the median wall time and the appliance launches of each
# tool and the ratio virt-df / vd-df, and checks that both print the
# same numbers.  Launches are counted in the libguestfs trace (-x: virt-df's
# handles ignore LIBGUESTFS_TRACE).
#
# Usage: bench/df.sh [BUILD-DIR]         (default: build)
# Environment: GUESTS (guest counts, default "1 4 8"), RUNS (default 1:
#   an appliance launch takes 15-70 s under TCG, so a run is slow),
#   LIBGUESTFS_BACKEND (default direct), LIBGUESTFS_BACKEND_SETTINGS
#   (default force_tcg; set it empty to use KVM where it works).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
vd_df=$build/tools/vd-df
[ -x "$vd_df" ] || { echo "bench/df.sh: $vd_df is not built" >&2; exit 1; }
command -v virt-df >/dev/null || { echo "bench/df.sh: virt-df is not installed" >&2; exit 1; }
: "${GUESTS:=1 4 8}" "${RUNS:=1}"
: "${LIBGUESTFS_BACKEND:=direct}"
: "${LIBGUESTFS_BACKEND_SETTINGS=force_tcg}"
export LIBGUESTFS_BACKEND LIBGUESTFS_BACKEND_SETTINGS

fixdir=$(sh "$top/tests/fixtures/make-guests.sh" "$build/tests/fixtures/cache" linux)
work=$(mktemp -d "${TMPDIR:-/tmp}/vd-df-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

max=0
for n in $GUESTS; do [ "$n" -gt "$max" ] && max=$n; done
i=1
while [ "$i" -le "$max" ]; do
  cp --sparse=always "$fixdir/linux.img" "$work/guest$i.img"
  i=$((i + 1))
done

# node N: a node of guests 1..N.
node () {
  echo "<node>"
  i=1
  while [ "$i" -le "$1" ]; do
    cat <<EOF
  <domain type='test'><name>guest$i</name><memory>1048576</memory>
    <os><type>hvm</type></os>
    <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='$work/guest$i.img'/><target dev='vda' bus='virtio'/></disk>
    </devices></domain>
EOF
    i=$((i + 1))
  done
  echo "</node>"
}

# timed TOOL N: run TOOL on the node of N guests; prints "SECONDS LAUNCHES"
# and leaves its output in $work/TOOL.csv.
timed () {
  sync
  t0=$(date +%s.%N)
  "$1" -x -c "test://$work/node$2.xml" --csv \
    > "$work/$(basename "$1").csv" 2> "$work/err" ||
    { echo "bench/df.sh: $1 failed:" >&2; grep -v 'trace:' "$work/err" >&2; exit 1; }
  t1=$(date +%s.%N)
  printf '%s %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "$(grep -c 'trace: launch = ' "$work/err")"
}
median () { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "vd-df vs virt-df ($(virt-df --version)), $RUNS run(s) each, alternating;"
echo "backend $LIBGUESTFS_BACKEND ${LIBGUESTFS_BACKEND_SETTINGS:-(KVM)}, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
printf '%-7s %12s %9s %12s %9s %8s\n' guests "vd-df s" launches "virt-df s" launches ratio
for n in $GUESTS; do
  node "$n" > "$work/node$n.xml"
  : > "$work/vd.times"
  : > "$work/virt.times"
  r=0
  while [ "$r" -lt "$RUNS" ]; do
    timed "$vd_df" "$n" >> "$work/vd.times"
    timed virt-df "$n" >> "$work/virt.times"
    r=$((r + 1))
  done
  # The same rows (virt-df examines guests in parallel: its order varies).
  sort "$work/virt-df.csv" > "$work/virt-df.sorted"
  if ! sort "$work/vd-df.csv" | cmp -s - "$work/virt-df.sorted"; then
    echo "bench/df.sh: vd-df and virt-df disagree on $n guests:" >&2
    sort "$work/vd-df.csv" | diff - "$work/virt-df.sorted" >&2 || :
    exit 1
  fi
  vd=$(cut -d' ' -f1 "$work/vd.times" | median)
  virt=$(cut -d' ' -f1 "$work/virt.times" | median)
  printf '%-7s %12.1f %9s %12.1f %9s %7.2fx\n' "$n" "$vd" \
    "$(cut -d' ' -f2 "$work/vd.times" | sort -u | tr '\n' ' ' | sed 's/ $//')" \
    "$virt" "$(cut -d' ' -f2 "$work/virt.times" | sort -u | tr '\n' ' ' | sed 's/ $//')" \
    "$(awk -v a="$virt" -v b="$vd" 'BEGIN { print a / b }')"
done
echo "(ratio: virt-df's median wall time / vd-df's; above 1 means vd-df is faster)"
