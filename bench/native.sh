#!/bin/sh
# vd-ls on the native path against vd-ls through the appliance and
# virt-ls, on 1 and 20 guests (qcow2 overlays of the "linux" test guest):
# wall time and peak RSS (/usr/bin/time -v, children included, so the
# appliance's qemu counts), ratios printed.  Not part of the test suite.
#
# Usage: bench/native.sh [BUILD]      (BUILD: the build folder, ./build)
# Environment: COUNTS (default "1 20"); APPLIANCE_MAX (default 3): the
# appliance paths cost 15-60 s per guest, so past this many guests their
# per-guest figure is measured on APPLIANCE_MAX guests and multiplied
# (said so in the output); set it to 20 to run them all.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
counts=${COUNTS:-1 20}
amax=${APPLIANCE_MAX:-3}
export LIBGUESTFS_BACKEND=${LIBGUESTFS_BACKEND:-direct}
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS-force_tcg}
export TZ=UTC
for p in qemu-img /usr/bin/time; do
  command -v "$p" >/dev/null || { echo "bench: needs $p" >&2; exit 1; }
done
have_virt_ls=no
command -v virt-ls >/dev/null && have_virt_ls=yes

fixdir=$(sh "$top/tests/fixtures/make-guests.sh" "$build/tests/fixtures/cache" linux)
work=$(mktemp -d "${TMPDIR:-/tmp}/vdbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The overlays name their backing file relatively, in their own folder
# (libvd does not follow a backing name out of the image's folder).
cp --sparse=always "$fixdir/linux.img" "$work/linux.img"
maxn=0
for n in $counts; do [ "$n" -gt "$maxn" ] && maxn=$n; done
i=1
while [ $i -le "$maxn" ]; do
  qemu-img create -q -f qcow2 -b linux.img -F raw "$work/g$i.qcow2"
  i=$((i + 1))
done

# run LABEL N CMD...: CMD (with @IMG@ for the image) on guests 1..N in
# turn; prints "seconds peak-KiB".
run () {
  n=$1; shift
  start=$(date +%s.%N)
  peak=0
  i=1
  while [ $i -le "$n" ]; do
    cmd=$(printf '%s\n' "$*" | sed "s|@IMG@|$work/g$i.qcow2|g")
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$work/time" $cmd > "$work/out" 2> "$work/err" || {
      echo "bench: failed: $cmd" >&2; cat "$work/err" >&2; exit 1; }
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time")
    [ "$rss" -gt "$peak" ] && peak=$rss
    i=$((i + 1))
  done
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $peak"
}

printf '%-28s %6s %12s %12s %10s\n' "command" "guests" "wall s" "s/guest" "peak MiB"
for n in $counts; do
  set -- $(run "$n" "$build/tools/vd-ls --native -a @IMG@ -lR /")
  nat_t=$1 nat_r=$2
  printf '%-28s %6d %12.3f %12.4f %10.1f\n' "vd-ls --native -lR /" "$n" \
    "$nat_t" "$(echo "$nat_t / $n" | bc -l)" "$(echo "$nat_r / 1024" | bc -l)"
  an=$n
  [ "$n" -gt "$amax" ] && an=$amax
  note=""
  [ "$an" -lt "$n" ] && note=" (measured on $an guests, times x$n/$an)"
  set -- $(run "$an" "$build/tools/vd-ls --appliance -a @IMG@ -lR /")
  app_t=$(echo "$1 * $n / $an" | bc -l) app_r=$2
  printf '%-28s %6d %12.3f %12.4f %10.1f%s\n' "vd-ls --appliance -lR /" "$n" \
    "$app_t" "$(echo "$app_t / $n" | bc -l)" "$(echo "$app_r / 1024" | bc -l)" "$note"
  if [ $have_virt_ls = yes ]; then
    set -- $(run "$an" "virt-ls -a @IMG@ -lR /")
    vl_t=$(echo "$1 * $n / $an" | bc -l) vl_r=$2
    printf '%-28s %6d %12.3f %12.4f %10.1f%s\n' "virt-ls -lR /" "$n" \
      "$vl_t" "$(echo "$vl_t / $n" | bc -l)" "$(echo "$vl_r / 1024" | bc -l)" "$note"
  fi
  printf '  %d guest(s): native is %.0fx faster than the appliance path' "$n" \
    "$(echo "$app_t / $nat_t" | bc -l)"
  [ $have_virt_ls = yes ] &&
    printf ', %.0fx faster than virt-ls' "$(echo "$vl_t / $nat_t" | bc -l)"
  printf '; peak RSS %.1fx smaller than the appliance path\n' \
    "$(echo "$app_r / $nat_r" | bc -l)"
done
