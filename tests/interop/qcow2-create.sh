#!/bin/sh
# vd-img create -f qcow2 against qemu-img create: the same "Formatting"
# line, byte-identical files, and the same messages for bad options.
. "$top_srcdir/tests/functions.sh"
requires qemu-img
. "$top_srcdir/tests/interop/qcow2-lib.sh"

cd "$tmp"
qemu-img create -q -f qcow2 base.qcow2 64M

# OPTIONS|SIZE[|equiv] per line.  "equiv": qemu places the refcount
# structures of these preallocated images by its own plan; the files then
# must read the same and check clean, but need not be equal.
cat > sets.txt <<'EOF'
|1G
|0
|1000
-o compat=0.10|1G
-o compat=v3|100M
-o cluster_size=512|100M
-o cluster_size=2M|1T
-o cluster_size=4k,refcount_bits=64|10G
-o cluster_size=512,refcount_bits=1,lazy_refcounts=on,compression_type=zstd|1G
-o extended_l2=on|1G
-o extended_l2=on,cluster_size=2M,preallocation=metadata|8M
-o preallocation=metadata|64M
-o preallocation=metadata,cluster_size=512|4M|equiv
-o preallocation=full,cluster_size=8k|2M|equiv
-o preallocation=falloc|3M|equiv
-o preallocation=off,lazy_refcounts=off|1M
-b base.qcow2 -F qcow2|
-b base.qcow2 -F qcow2|128M
-o backing_file=base.qcow2,backing_fmt=qcow2,compat=0.10|32M
-b base.qcow2 -F qcow2 -o cluster_size=512|
-b base.qcow2 -F qcow2 -o extended_l2=on,preallocation=metadata|
-o refcount_bits=8,cluster_size=1k|50M
EOF
exec 3< sets.txt
while IFS='|' read -r opts size how <&3; do
  rm -f v.qcow2 q.qcow2
  # shellcheck disable=SC2086
  a=$(vd_img create -f qcow2 $opts v.qcow2 $size 2>&1)
  # shellcheck disable=SC2086
  b=$(qemu-img create -f qcow2 $opts q.qcow2 $size 2>&1)
  b=$(printf '%s\n' "$b" | sed 's/q\.qcow2/v.qcow2/')
  is "Formatting line as qemu-img's: $opts $size" "$a" "$b"
  if [ "$how" = equiv ]; then
    check "checks clean: $opts $size" check_clean v.qcow2
    check "reads as qemu-img's: $opts $size" \
      qemu-img compare -q -f qcow2 -F qcow2 v.qcow2 q.qcow2
    is "virtual size as qemu-img's: $opts $size" \
      "$(qemu-img info v.qcow2 | sed -n 3p)" "$(qemu-img info q.qcow2 | sed -n 3p)"
  else
    check "file identical to qemu-img's: $opts $size" cmp -s v.qcow2 q.qcow2
  fi
done
exec 3<&-

# Bad options: the same message as qemu-img (after the program name).
cat > bad.txt <<'EOF'
cluster_size=1000
cluster_size=4M
compat=0.9
preallocation=bogus
lazy_refcounts=maybe
refcount_bits=3
refcount_bits=128
compression_type=lz4
extended_l2=on,cluster_size=4k
compat=0.10,lazy_refcounts=on
compat=0.10,refcount_bits=8
compat=0.10,compression_type=zstd
compat=0.10,extended_l2=on
backing_fmt=raw
preallocation=full,backing_file=base.qcow2,backing_fmt=qcow2
EOF
exec 3< bad.txt
while read -r o <&3; do
  rm -f v.qcow2 q.qcow2
  run_cmd out err rc vd_img create -q -f qcow2 -u -o "$o" v.qcow2 1M
  qerr=$(qemu-img create -q -f qcow2 -u -o "$o" v.qcow2 1M 2>&1)
  is "-o $o refused as qemu-img refuses it" "$rc:${err#vd-img: }" "1:${qerr#qemu-img: }"
  check "-o $o leaves no file" test ! -e v.qcow2
done
exec 3<&-

run_cmd out err rc vd_img create -q -f qcow2 -b base.qcow2 v.qcow2
like "a backing file needs its format" "$rc:$err" \
  "^1:vd-img: v.qcow2: Backing file specified without backing format"

# -o help lists every qcow2 option.
out=$(vd_img create -f qcow2 -o help)
for o in backing_file backing_fmt cluster_size compat compression_type \
         extended_l2 lazy_refcounts preallocation refcount_bits size; do
  like "-o help lists $o" "$out" "^  $o="
done

done_testing
