#!/bin/sh
# Time vd-edit -e against virt-edit -e: the same substitution on fresh
# copies of the same fixture guest (tests/fixtures/make-guests.sh linux),
# alternating the two tools, ROUNDS times each (default 3); print each
# wall time, the medians and their ratio.  Both results are checked to be
# the same bytes (debugfs, no launch), so the two did the same work.
#
# Usage: bench/edit.sh [BUILDDIR]       (default: build)
# Environment: ROUNDS, LIBGUESTFS_BACKEND (default direct),
# LIBGUESTFS_BACKEND_SETTINGS (default force_tcg; set it empty for KVM).
# Almost all of either tool's time is the appliance's boot, so the ratio
# says how much vd-edit adds or saves around it (inspection, mounts,
# remount, syncs), not how fast it edits.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
rounds=${ROUNDS:-3}
vd_edit=$build/tools/vd-edit
export PATH="$PATH:/usr/sbin:/sbin"
: "${LIBGUESTFS_BACKEND:=direct}"
: "${LIBGUESTFS_BACKEND_SETTINGS=force_tcg}"
export LIBGUESTFS_BACKEND LIBGUESTFS_BACKEND_SETTINGS

[ -x "$vd_edit" ] || { echo "bench/edit.sh: $vd_edit is not built" >&2; exit 1; }
command -v virt-edit >/dev/null ||
  { echo "bench/edit.sh: virt-edit is not installed (the anchor)" >&2; exit 1; }
fixdir=$(sh "$top/tests/fixtures/make-guests.sh" "$build/tests/fixtures/cache" linux)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vd-bench-edit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
img=$tmp/guest.img
# The same edit in both languages (sed ERE / Perl) on /etc/hosts.
expr='s/^(127\.0\.1\.1)\t.*/$1\tbench/'
vd_expr='s/^(127\.0\.1\.1)\t.*/\1\tbench/'

# now: seconds since the epoch, with nanoseconds.
now () { date +%s.%N; }
# dump_hosts: /etc/hosts of $img (root is partition 2) into $tmp/$1.
dump_hosts () {
  start=$(sfdisk -d "$img" | sed -n "s|^${img}2 : start= *\([0-9]*\),.*|\1|p")
  debugfs -R "dump /etc/hosts $tmp/$1" "$img?offset=$((start * 512))" 2>/dev/null
}
# run TOOL: one timed run on a fresh copy; prints the seconds.
run () {
  rm -f "$img"
  cp --sparse=always "$fixdir/linux.img" "$img"
  sync
  t0=$(now)
  case $1 in
  vd-edit) "$vd_edit" --format=raw -a "$img" -e "$vd_expr" /etc/hosts ;;
  virt-edit) virt-edit --format=raw -a "$img" -e "$expr" /etc/hosts ;;
  esac
  t1=$(now)
  dump_hosts "$1.hosts"
  echo "$t0 $t1" | awk '{ printf "%.2f\n", $2 - $1 }'
}
median () { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "bench/edit.sh: vd-edit -e vs virt-edit -e on /etc/hosts of the linux fixture,"
echo "  $rounds round(s), backend $LIBGUESTFS_BACKEND${LIBGUESTFS_BACKEND_SETTINGS:+ ($LIBGUESTFS_BACKEND_SETTINGS)}, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$tmp/vd.times"
: > "$tmp/virt.times"
i=0
while [ "$i" -lt "$rounds" ]; do
  i=$((i + 1))
  v=$(run vd-edit)
  w=$(run virt-edit)
  echo "$v" >> "$tmp/vd.times"
  echo "$w" >> "$tmp/virt.times"
  echo "  round $i: vd-edit ${v} s, virt-edit ${w} s"
done
printf '127.0.0.1\tlocalhost\n127.0.1.1\tbench\n' > "$tmp/expected"
cmp -s "$tmp/expected" "$tmp/vd-edit.hosts" ||
  { echo "bench/edit.sh: vd-edit's result is not the expected /etc/hosts" >&2; exit 1; }
cmp -s "$tmp/expected" "$tmp/virt-edit.hosts" ||
  { echo "bench/edit.sh: virt-edit's result is not the expected /etc/hosts" >&2; exit 1; }
vm=$(median < "$tmp/vd.times")
wm=$(median < "$tmp/virt.times")
echo "median: vd-edit $vm s, virt-edit $wm s, ratio vd-edit/virt-edit $(echo "$vm $wm" | awk '{ printf "%.2f", $1 / $2 }')"
echo "(both produced the same /etc/hosts)"
