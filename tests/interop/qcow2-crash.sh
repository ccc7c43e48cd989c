#!/bin/sh
# Crash safety of the qcow2 driver.  A short scenario (writes, in-place
# overwrite, copy-on-write over a snapshot, a compressed write, zeroing,
# snapshot create and delete) is run once with VD_FAULT_LOG to number its
# injection points (every write, flush, truncate and zeroing of the file;
# see lib/io.c), then once per point with VD_FAULT_AT making the process
# die (_exit) just before that call: at a write, with every earlier write
# kept (a process crash); at a flush, with the writes since the previous
# flush undone (VD_FAULT_MODE=powerloss: what a power cut may lose).
# After each simulated crash:
#   - vd-img check reports at most leaked clusters (exit 0 or 3);
#   - vd-img check -r leaks makes the image clean, for qemu-img check too;
#   - every byte of the steps completed (closed, so flushed) before the
#     crash reads back (qemu-img convert as the reader), and each 64 KiB
#     chunk the crashed step touches holds its old or its new contents;
#   - a snapshot still listed holds the data it was taken with.
# The one exception allowed, and counted: an OFLAG_COPIED flag left clear
# on a cluster whose refcount is already 1 (the flag and the refcount
# live in different clusters and cannot change together; a clear flag
# only costs a copy on write, and -r leaks sets it), which qemu-img check
# counts as an error.
# Hundreds of short runs, each syncing: on tmpfs when there is one.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPDIR=/dev/shm
  export TMPDIR
fi
. "$top_srcdir/tests/functions.sh"
requires qemu-img md5sum split
VDIO_BIN="$top_builddir/tests/interop/vdio"
[ -x "$VDIO_BIN" ] || skip_all "tests/interop/vdio is not built"
vdio () { "$VDIO_BIN" "$@"; }

cd "$tmp"
K=65536
NCHUNK=64          # the 4 MiB disk in 64 KiB chunks
STEPS=9

# step N FILE: run step N of the scenario on FILE.
step () {
  case $1 in
  1) vdio write "$2" 0 0x11 192k ;;
  2) vdio write "$2" 64k 0x22 64k ;;
  3) vd_img snapshot -c s1 "$2" ;;
  4) vdio write "$2" 0 0x33 128k ;;
  5) vdio writec "$2" 1M 0x44 64k ;;
  6) vdio zero "$2" 128k 64k ;;
  7) vd_img snapshot -c s2 "$2" ;;
  8) vd_img snapshot -d s1 "$2" ;;
  9) vdio write "$2" 2M 0x55 128k ;;
  esac
}
# The disk after each step, one pattern byte per chunk (model).
# set_chunks STATE FIRST COUNT PATTERN
set_chunks () {
  _i=$2
  while [ "$_i" -lt $(($2 + $3)) ]; do eval "c_$1_$_i=$4"; _i=$((_i + 1)); done
}
i=0; while [ $i -lt $NCHUNK ]; do eval "c_0_$i=00"; i=$((i + 1)); done
s=1
while [ $s -le $STEPS ]; do
  i=0; while [ $i -lt $NCHUNK ]; do eval "c_${s}_$i=\$c_$((s - 1))_$i"; i=$((i + 1)); done
  case $s in
  1) set_chunks 1 0 3 11 ;;
  2) set_chunks 2 1 1 22 ;;
  4) set_chunks 4 0 2 33 ;;
  5) set_chunks 5 16 1 44 ;;
  6) set_chunks 6 2 1 00 ;;
  9) set_chunks 9 32 2 55 ;;
  esac
  s=$((s + 1))
done
# md5 of a chunk of each pattern.
for p in 00 11 22 33 44 55; do
  eval "m_$p=$(head -c $K /dev/zero | tr '\0' "\\$(printf %o "0x$p")" | md5sum | cut -d' ' -f1)"
done

# verify_disk RAW OLDSTATE NEWSTATE: each chunk of RAW is as in OLDSTATE
# or NEWSTATE.  Prints the bad chunks.
verify_disk () {
  rm -rf chunks && mkdir chunks && split -a 3 -d -b $K "$1" chunks/c
  md5sum chunks/c* | while read -r sum f; do
    i=$((1${f#chunks/c} - 1000))
    eval "o=\$c_$2_$i n=\$c_$3_$i"
    eval "mo=\$m_$o mn=\$m_$n"
    [ "$sum" = "$mo" ] || [ "$sum" = "$mn" ] || echo "chunk $i"
  done
}

# States after each complete step.
vd_img create -q -f qcow2 st0.qcow2 4M
s=1
while [ $s -le $STEPS ]; do
  cp "st$((s - 1)).qcow2" "st$s.qcow2"
  rm -f "log$s"
  VD_FAULT_LOG="$tmp/log$s" step $s "st$s.qcow2" >/dev/null 2>&1
  check "step $s runs" [ $? -eq 0 ]
  s=$((s + 1))
done
qemu-img convert -O raw st$STEPS.qcow2 final.raw
is "the scenario's disk is as modelled" "$(verify_disk final.raw $STEPS $STEPS)" ""
qemu-img convert -l snapshot.name=s2 -O raw st$STEPS.qcow2 s2.raw
is "snapshot s2 is as modelled" "$(verify_disk s2.raw 6 6)" ""

points=0 copied_only=0 bad=0 repaired=0 ran=0
# Every point in the main pass; under ASan (several times slower) every
# 4th, so the whole suite keeps to its time budget.  VD_CRASH_STRIDE=N
# overrides.
stride=${VD_CRASH_STRIDE:-1}
[ "${VD_PASS:-}" = asan ] && stride=${VD_CRASH_STRIDE:-4}
s=1
while [ $s -le $STEPS ]; do
  n=$(wc -l < "log$s")
  p=1
  while [ "$p" -le "$n" ]; do
    points=$((points + 1))
    if [ $(((points - 1) % stride)) -ne 0 ]; then
      p=$((p + 1))
      continue
    fi
    ran=$((ran + 1))
    kind=$(sed -n "${p}p" "log$s" | cut -d' ' -f2)
    mode=exit
    [ "$kind" = flush ] && mode=powerloss
    cp "st$((s - 1)).qcow2" c.qcow2
    VD_FAULT_AT=$p VD_FAULT_MODE=$mode step $s c.qcow2 >/dev/null 2>&1
    rc=$?
    fail=""
    [ $rc -eq 99 ] || fail="$fail; the crash did not happen (exit $rc)"
    vd_img check c.qcow2 >/dev/null 2>"$cap/err"
    rc=$?
    if [ $rc -eq 2 ] && ! grep -v -E '^ERROR OFLAG_COPIED (data cluster: l2_entry|L2 cluster: l1_index=[0-9]+ l1_entry)=([0-9a-f]{1,15}|[0-7][0-9a-f]{15}) refcount=1$' "$cap/err" | grep -q .; then
      copied_only=$((copied_only + 1))
    elif [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
      fail="$fail; check exit $rc: $(head -3 "$cap/err" | tr '\n' ' ')"
    fi
    if [ $rc -ne 0 ]; then
      vd_img check -r leaks c.qcow2 >/dev/null 2>&1
      out=$(qemu-img check c.qcow2 2>&1) || fail="$fail; not clean after -r leaks: $(echo "$out" | head -2 | tr '\n' ' ')"
      repaired=$((repaired + 1))
    fi
    qemu-img convert -O raw c.qcow2 c.raw
    r=$(verify_disk c.raw $((s - 1)) $s | tr '\n' ' ')
    [ -z "$r" ] || fail="$fail; data: $r"
    # Which snapshots exist is known but for a crash inside -c / -d.
    case $s in
    1|2) snaps="" ;;
    3|8) snaps=$(vd_img snapshot -l c.qcow2 | awk 'NR > 2 { print $2 }') ;;
    4|5|6) snaps=s1 ;;
    7) snaps="s1 $(vd_img snapshot -l c.qcow2 | awk 'NR > 3 { print $2 }')" ;;
    9) snaps=s2 ;;
    esac
    for sn in $snaps; do
      if [ "$sn" = s1 ]; then st=2; else st=6; fi
      qemu-img convert -l "snapshot.name=$sn" -O raw c.qcow2 c.raw ||
        fail="$fail; snapshot $sn cannot be read"
      r=$(verify_disk c.raw $st $st | tr '\n' ' ')
      [ -z "$r" ] || fail="$fail; snapshot $sn: $r"
    done
    what="step $s, point $p ($kind, $mode)"
    if [ -n "$fail" ]; then
      not_ok "$what${fail}"
      bad=$((bad + 1))
    fi
    p=$((p + 1))
  done
  s=$((s + 1))
done
is "every injection point passes" "$bad" 0
diag "$points injection points, $ran run; $repaired needed -r leaks; $copied_only left only a clear OFLAG_COPIED flag on a refcount-1 cluster"
check "the scenario has injection points" [ "$points" -gt 20 ]
done_testing
