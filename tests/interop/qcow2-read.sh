#!/bin/sh
# qcow2 images written by qemu (qemu-io write -P / -z / -c, discard,
# qemu-img convert -c with zlib and zstd, snapshots, backing chains) read
# back byte-identical through libvd, and libvd's extents agree with
# qemu-img map.  Same matrix as qcow2-write.sh.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io
. "$top_srcdir/tests/interop/qcow2-lib.sh"

cd "$tmp"
pass=0 total=0

run_config () {
  cs=$1 opts=$2 back=$3 comp=$4
  size=$(qcow2_size "$cs")
  what="cluster_size=$cs $opts backing=$back compressed=$comp"
  rm -f q.qcow2 qc.qcow2 base.qcow2 exp.raw
  if [ "$back" = yes ]; then
    make_base "$size" || return 1
    qemu-img create -q -f qcow2 -o "cluster_size=$cs,$opts" \
      -b base.qcow2 -F qcow2 q.qcow2 "$size" || return 1
  else
    qemu-img create -q -f qcow2 -o "cluster_size=$cs,$opts" q.qcow2 "$size" ||
      return 1
  fi
  # Compressed first: qemu writes compressed clusters only where nothing
  # is allocated yet.
  set --
  if [ "$comp" != - ]; then
    set -- -c "write -c -P 0x44 $((6 << 20)) $((cs * 2))" \
      -c "write -P 0x55 $((6 * 1048576 + 100)) 200"
  fi
  set -- "$@" -c "write -P 0x11 0 $((cs * 3 + 100))" \
    -c "write -P 0x22 $((cs / 2)) 1000" \
    -c "write -P 0x33 $((1048576 + 7)) 2M" \
    -c "write -z $((3 << 20)) $((cs * 2))" \
    -c "write -z -u $((3 * 1048576 + cs * 4)) $((cs * 2))" \
    -c "discard $((5 << 20)) $((cs * 3))" \
    -c "write -P 0x66 $((size - 700)) 700"
  qemu-io "$@" q.qcow2 >/dev/null || { diag "$what: qemu-io failed"; return 1; }
  qemu-img convert -O raw q.qcow2 exp.raw || return 1
  vdio dump q.qcow2 | cmp -s - exp.raw ||
    { diag "$what: libvd reads qemu's image differently"; return 1; }
  if [ "$comp" != - ]; then
    ctype=compression_type=$comp
    case $opts in compat=0.10*) ctype=compat=0.10 ;; esac
    qemu-img convert -c -O qcow2 -o "cluster_size=$cs,$ctype" q.qcow2 qc.qcow2 ||
      return 1
    vdio dump qc.qcow2 | cmp -s - exp.raw ||
      { diag "$what: libvd reads qemu-img convert -c differently"; return 1; }
  fi
  return 0
}

qcow2_matrix > matrix.txt
exec 3< matrix.txt
while read -r cs opts back comp <&3; do
  total=$((total + 1))
  if run_config "$cs" "$opts" "$back" "$comp"; then
    pass=$((pass + 1))
    ok "written by qemu, read identically: cluster_size=$cs $opts backing=$back compressed=$comp"
  else
    not_ok "written by qemu, read identically: cluster_size=$cs $opts backing=$back compressed=$comp"
  fi
done
exec 3<&-
diag "interop matrix (qemu writes, libvd reads): $pass of $total configurations pass"

# Extended L2 entries written by qemu at subcluster granularity: some
# subclusters allocated, some zero, some falling through to the backing.
rm -f base.qcow2 e.qcow2
qemu-img create -q -f qcow2 base.qcow2 4M
qemu-io -c 'write -P 0x77 0 4M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=64k -b base.qcow2 -F qcow2 e.qcow2 4M
qemu-io -c 'write -P 0x11 2k 2k' -c 'write -P 0x22 70k 5k' -c 'write -z 8k 4k' \
  -c 'write -z 200k 64k' -c 'discard 1M 64k' e.qcow2 >/dev/null
qemu-img convert -O raw e.qcow2 e.raw
vdio dump e.qcow2 > got.raw
check "extended L2 subclusters read as qemu reads them" cmp -s got.raw e.raw

# A snapshot made by qemu: the active layer reads as qemu reads it.
rm -f s.qcow2
qemu-img create -q -f qcow2 s.qcow2 4M
qemu-io -c 'write -P 0x11 0 1M' s.qcow2 >/dev/null
qemu-img snapshot -c one s.qcow2
qemu-io -c 'write -P 0x22 512k 1M' s.qcow2 >/dev/null
qemu-img convert -O raw s.qcow2 s.raw
vdio dump s.qcow2 > got.raw
check "image with a snapshot reads as qemu reads it" cmp -s got.raw s.raw

# A chain of three: qcow2 over qcow2 (v2) over raw, each layer writing.
rm -f c0.raw c1.qcow2 c2.qcow2
qemu-img create -q -f raw c0.raw 6M
qemu-io -f raw -c 'write -P 0x01 0 6M' c0.raw >/dev/null
qemu-img create -q -f qcow2 -o compat=0.10 -b c0.raw -F raw c1.qcow2 6M
qemu-io -c 'write -P 0x02 1M 2M' c1.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b c1.qcow2 -F qcow2 c2.qcow2 8M
qemu-io -c 'write -P 0x03 2M 512k' -c 'write -z 5M 64k' c2.qcow2 >/dev/null
qemu-img convert -O raw c2.qcow2 c2.raw
vdio dump c2.qcow2 > got.raw
check "backing chain of three reads as qemu reads it" cmp -s got.raw c2.raw

# Extents: allocated data ranges and their host offsets match qemu-img map.
vdio map c2.qcow2 > map.txt
data=$(awk '$3 ~ /allocated/ && $3 ~ /data/ && $4 == "depth=0" { print $1, $2, $5 }' map.txt | tr '\n' ';')
is "extents of the top layer match qemu-img map" "$data" \
  "2097152 524288 host=327680;"
depth=$(awk '$1 == 1048576 { print $4 }' map.txt)
is "data from the middle layer is reported at depth 1" "$depth" "depth=1"
zero=$(awk '$1 == 5242880 { print $3 }' map.txt)
is "a zero cluster is reported as zero and allocated" "$zero" "-,zero,allocated"
qmap=$(qemu-img map --output=json c2.qcow2 | tr -d ' \n')
like "qemu-img map agrees on the top layer's data" "$qmap" \
  '"start":2097152,"length":524288,"depth":0,"present":true,"zero":false,"data":true,"offset":327680'

done_testing
