#!/bin/sh
# vd-img amend on qcow2: compat 0.10 <-> 1.1, refcount widths, lazy
# refcounts, backing file; the image reads the same afterwards, qemu-img
# check is clean, qemu-img info shows the new options, and refusals are
# qemu-img's.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"
mk () {
  rm -f base.qcow2 t.qcow2 ref.raw
  qemu-img create -q -f qcow2 base.qcow2 4M
  qemu-io -c 'write -P 1 0 4M' base.qcow2 >/dev/null
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 $1 t.qcow2
  qemu-io -c 'write -P 3 1536k 1M' -c 'write -z 0 64k' -c 'write -P 4 3M 4k' \
    t.qcow2 >/dev/null
  qemu-img convert -O raw t.qcow2 ref.raw
}
field () {
  qemu-img info --output=json t.qcow2 | sed -n "s/.*\"$1\": \"*\([^\",]*\)\"*,*/\1/p"
}
for o in compat=0.10 refcount_bits=1 refcount_bits=2 refcount_bits=8 \
         refcount_bits=64 compat=0.10,refcount_bits=16 lazy_refcounts=on \
         compat=1.1; do
  for start in "" "-o refcount_bits=64" "-o compat=0.10" \
               "-o cluster_size=4k,lazy_refcounts=on"; do
    # What qemu-img refuses too is tested below.
    case "$start $o" in
      *compat=0.10\ refcount_bits=*|*compat=0.10\ lazy*) continue ;;
      *refcount_bits=64\ compat=0.10) continue ;;
    esac
    mk "$start"
    run_cmd out err rc vd_img amend -o $o t.qcow2
    is "amend -o $o (from ${start:-defaults}): exit 0" "$rc" 0
    [ "$rc" = 0 ] || diag "$err"
    check "  reads the same" qemu-img compare -q ref.raw t.qcow2
    check "  qemu-img check clean" qemu-img check -q t.qcow2
    case $o in
      *compat=0.10*) is "  compat" "$(field compat)" 0.10 ;;
      compat=1.1) is "  compat" "$(field compat)" 1.1 ;;
    esac
    case $o in *refcount_bits=*)
      is "  refcount bits" "$(field refcount-bits)" "${o##*refcount_bits=}" ;;
    esac
    case $o in lazy*) is "  lazy refcounts" "$(field lazy-refcounts)" true ;; esac
  done
done

# Without a backing file, zero clusters simply become unallocated in v2.
qemu-img create -q -f qcow2 z.qcow2 4M
qemu-io -c 'write -P 5 0 1M' -c 'write -z 512k 128k' z.qcow2 >/dev/null
qemu-img convert -O raw z.qcow2 z.raw
vd_img amend -o compat=0.10 z.qcow2
check "downgrade without backing: reads the same" qemu-img compare -q z.raw z.qcow2
check "  qemu-img check clean" qemu-img check -q z.qcow2

# A new backing file name and format.
mk ""
cp base.qcow2 base2.qcow2
vd_img amend -o backing_file=base2.qcow2,backing_fmt=qcow2 t.qcow2
is "amend backing_file: recorded" \
  "$(qemu-img info --output=json t.qcow2 | grep -c '"backing-filename": "base2.qcow2"')" 1
check "  reads the same" qemu-img compare -q ref.raw t.qcow2

# Refusals, as qemu-img.
qemu-img create -q -f qcow2 e.qcow2 4M
qemu-img create -q -f qcow2 -o extended_l2=on x.qcow2 4M
qemu-img create -q -f qcow2 -o refcount_bits=64 r64.qcow2 4M
qemu-img create -q -f qcow2 -o compat=0.10 v2.qcow2 4M
qemu-img create -q -f raw e.raw 1M
for args in "-o compat=0.10 x.qcow2" "-o compat=0.10 r64.qcow2" \
            "-o cluster_size=4k e.qcow2" "-o compat=0.10,refcount_bits=8 e.qcow2" \
            "-o refcount_bits=3 e.qcow2" "e.qcow2" "-o foo=1 e.qcow2" \
            "-f raw -o compat=1.1 e.raw" "-o lazy_refcounts=on v2.qcow2" \
            "-o refcount_bits=8 v2.qcow2"; do
  a=$(vd_img amend $args 2>&1; echo "rc=$?")
  b=$(qemu-img amend $args 2>&1; echo "rc=$?")
  is "amend $args: exit status as qemu-img" "$(printf '%s\n' "$a" | tail -1)" \
    "$(printf '%s\n' "$b" | tail -1)"
  is "  first line of the message as qemu-img" \
    "$(printf '%s\n' "$a" | head -1 | sed 's/^vd-img: //; s/^[^ ]*\.qcow2: //')" \
    "$(printf '%s\n' "$b" | head -1 | sed 's/^qemu-img: //')"
done

done_testing
