#!/bin/sh
# bench/inspect.sh: wall time of vd-inspect against virt-inspector on the
# same image (the "linux" fixture guest of tests/fixtures/make-guests.sh),
# both printing the same XML with the installed applications.
#
# Usage: bench/inspect.sh [BUILDDIR]      (default: build)
# Environment: RUNS (timed runs of each, default 3), IMAGE (another raw
# image to inspect in place of the fixture), LIBGUESTFS_BACKEND and
# LIBGUESTFS_BACKEND_SETTINGS (default direct, force_tcg as in the tests;
# set LIBGUESTFS_BACKEND_SETTINGS= to use KVM).
#
# One untimed warm-up of each (supermin's appliance cache, page cache),
# then the two tools alternate, run after run, so that drift on a shared
# machine hits both alike.  Prints every run, the medians and the ratio
# vd-inspect / virt-inspector (below 1: vd-inspect is faster).  Almost
# all of either tool's time is the appliance's boot, which both share.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:-$top/build}" && pwd)
runs=${RUNS:-3}
vd_inspect=$builddir/tools/vd-inspect
: "${LIBGUESTFS_BACKEND:=direct}"
: "${LIBGUESTFS_BACKEND_SETTINGS=force_tcg}"
export LIBGUESTFS_BACKEND LIBGUESTFS_BACKEND_SETTINGS

[ -x "$vd_inspect" ] || { echo "$0: $vd_inspect is not built" >&2; exit 1; }
command -v virt-inspector >/dev/null ||
  { echo "$0: virt-inspector is not installed (guestfs-tools)" >&2; exit 1; }
case $runs in '' | *[!0-9]* | 0) echo "$0: RUNS must be a positive number" >&2; exit 1 ;; esac

if [ -n "${IMAGE:-}" ]; then
  image=$IMAGE
else
  fixdir=$(sh "$top/tests/fixtures/make-guests.sh" \
    "$builddir/tests/fixtures/cache" linux) ||
    { echo "$0: the fixture guest could not be built" >&2; exit 1; }
  image=$fixdir/linux.img
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# timed NAME COMMAND...: run it, output to a file, print the seconds.
timed () {
  _name=$1
  shift
  _t0=$(date +%s.%N)
  "$@" > "$tmp/$_name.out" 2> "$tmp/$_name.err" ||
    { echo "$0: $_name failed:" >&2; cat "$tmp/$_name.err" >&2; exit 1; }
  _t1=$(date +%s.%N)
  awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.3f\n", b - a }'
}
run_vd () { timed vd-inspect "$vd_inspect" --xml --format=raw -a "$image"; }
run_vi () { timed virt-inspector virt-inspector --format=raw -a "$image"; }

median () { sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2);
  if (NR % 2) print v[m]; else printf "%.3f\n", (v[m] + v[m + 1]) / 2 }'; }

echo "image: $image ($(du -h --apparent-size "$image" | cut -f1) virtual," \
  "$(du -h "$image" | cut -f1) allocated)"
echo "backend: $LIBGUESTFS_BACKEND ${LIBGUESTFS_BACKEND_SETTINGS:-(kvm)}," \
  "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "warm-up ..."
run_vd > /dev/null
run_vi > /dev/null
# Both must print the same thing, or the times mean nothing.  (The
# fixture has no icon; another image might: leave virt-inspector's out.)
sed '/<icon>/,/<\/icon>/d' "$tmp/virt-inspector.out" > "$tmp/vi.xml"
if cmp -s "$tmp/vi.xml" "$tmp/vd-inspect.out"; then
  echo "outputs: identical XML ($(wc -c < "$tmp/vd-inspect.out") bytes)"
else
  echo "outputs: DIFFER (the times below compare unlike work)"
fi

: > "$tmp/vd.times"
: > "$tmp/vi.times"
i=1
while [ "$i" -le "$runs" ]; do
  a=$(run_vd) || exit 1
  b=$(run_vi) || exit 1
  printf 'run %d: vd-inspect %6.2f s   virt-inspector %6.2f s\n' "$i" "$a" "$b"
  echo "$a" >> "$tmp/vd.times"
  echo "$b" >> "$tmp/vi.times"
  i=$((i + 1))
done
vd=$(median < "$tmp/vd.times")
vi=$(median < "$tmp/vi.times")
printf 'median of %d: vd-inspect %.2f s, virt-inspector %.2f s, ratio %.2f\n' \
  "$runs" "$vd" "$vi" "$(awk -v a="$vd" -v b="$vi" 'BEGIN { print a / b }')"
