#!/bin/sh
# vd-img resize does what qemu-img resize does, on copies of the same
# images: same messages and exit status, same virtual size, same content
# (qemu-img compare), and qemu-img check clean after every change.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"
qemu-img create -q -f qcow2 q.qcow2 1M
qemu-io -c 'write -P 1 0 1M' q.qcow2 >/dev/null
qemu-img create -q -f qcow2 -o cluster_size=4k,refcount_bits=1 q4.qcow2 3M
qemu-io -c 'write -P 2 1M 2M' q4.qcow2 >/dev/null
qemu-img create -q -f raw r.raw 1M
qemu-io -f raw -c 'write -P 3 0 1M' r.raw >/dev/null
qemu-img create -q -f qcow2 base.qcow2 4M
qemu-io -c 'write -P 4 0 4M' base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 2M

# resize_both NAME ARGS...: X in ARGS is the image.
resize_both () {
  _n=$1; shift
  cp "$_n" "vd-$_n"; cp "$_n" "qm-$_n"
  a=$(vd_img resize $(printf '%s\n' "$@" | sed "s/^X$/vd-$_n/") 2>&1
      echo "rc=$?")
  b=$(qemu-img resize $(printf '%s\n' "$@" | sed "s/^X$/qm-$_n/") 2>&1
      echo "rc=$?")
  is "resize $* on $_n: same output" "$(printf '%s\n' "$a" | sed 's/^vd-img: //')" \
    "$(printf '%s\n' "$b" | sed 's/^qemu-img: //')"
  is "  same virtual size" \
    "$(qemu-img info --output=json "vd-$_n" | grep '"virtual-size"')" \
    "$(qemu-img info --output=json "qm-$_n" | grep '"virtual-size"')"
  is "  same content" "$(qemu-img compare "vd-$_n" "qm-$_n" 2>&1)" \
    "Images are identical."
  case $_n in *.qcow2)
    check "  qemu-img check clean" sh -c "qemu-img check -q vd-$_n" ;;
  esac
}

for args in "X 2M" "X +1G" "X 512k" "--shrink X 512k" "--shrink X -- -768k" \
            "-q X 3M" "X +1x" "X 1000" "--shrink X 1000" \
            "--preallocation=bogus X 2M" "--preallocation=full X 512k"; do
  resize_both q.qcow2 $args
done
resize_both q4.qcow2 --shrink X 1536k
resize_both q4.qcow2 X 100M
resize_both r.raw -f raw X 3M
resize_both r.raw -f raw --shrink X 512k
resize_both r.raw -f raw X 512k
resize_both r.raw -f raw --preallocation=full X 2M
resize_both r.raw -f raw --preallocation=falloc X 2M
# Growing an overlay past its backing file's end reads zeros there, and
# the backing file beyond the old end stays hidden.
resize_both top.qcow2 X 8M
resize_both top.qcow2 --shrink X 1M
cp top.qcow2 t2.qcow2
vd_img resize -q --shrink t2.qcow2 1M && vd_img resize -q t2.qcow2 4M
is "shrink then grow an overlay: the backing data past 1M is gone" \
  "$(qemu-io -c 'read -P 0 1M 3M' t2.qcow2 | grep -c '^read')" 1
is "  and below 1M it still shows" \
  "$(qemu-io -c 'read -P 4 0 1M' t2.qcow2 | grep -c '^read')" 1

# Full preallocation allocates the new area of a raw file.
cp r.raw p.raw
vd_img resize -q --preallocation=full p.raw 8M
used=$(du -k p.raw | cut -f1)
check "--preallocation=full allocates a raw file ($used KiB)" \
  test "$used" -ge 8000

run_cmd out err rc vd_img resize missing.qcow2 1G
is "resize of a missing file exits 1" "$rc" 1
run_cmd out err rc vd_img resize q.qcow2
is "resize without a size exits 1" "$rc" 1

done_testing
