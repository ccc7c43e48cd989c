#!/bin/sh
# vd-img commit and rebase: the chain reads the same before and after
# (qemu-img compare against a flattened copy made before), qemu-img
# check is clean on every image written, the header names what
# qemu-img would record, and the errors are qemu-img's.
. "$top_srcdir/tests/functions.sh"
requires qemu-img qemu-io

cd "$tmp"
# base (4M) <- mid <- top (6M): data, zero clusters, a partial cluster
# and data past the base's end.
mk () {
  rm -f base.qcow2 mid.qcow2 top.qcow2 before.raw
  qemu-img create -q -f qcow2 base.qcow2 4M
  qemu-io -c 'write -P 1 0 4M' -c 'write -z 3M 64k' base.qcow2 >/dev/null
  qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
  qemu-io -c 'write -P 2 1M 1M' mid.qcow2 >/dev/null
  qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 6M
  qemu-io -c 'write -P 3 1536k 1M' -c 'write -z 0 64k' -c 'write -P 4 5M 4k' \
    top.qcow2 >/dev/null
  qemu-img convert -O raw top.qcow2 before.raw
}
same () { qemu-img compare -q "$@"; }
clean () {
  for _f in "$@"; do qemu-img check -q "$_f" || return 1; done
}
backing_of () {
  qemu-img info --output=json "$1" | sed -n 's/.*"backing-filename": "\(.*\)",*/\1/p'
}

# commit into the immediate backing file, the overlay emptied.
mk
run_cmd out err rc vd_img commit top.qcow2
is "commit: exit 0" "$rc" 0
is "commit: says so" "$out" "Image committed."
check "commit: the chain reads the same" same before.raw top.qcow2
check "commit: mid alone now reads as the chain did" same -F raw mid.qcow2 before.raw
check "commit: qemu-img check clean" clean top.qcow2 mid.qcow2 base.qcow2
is "commit: the overlay allocates nothing" \
  "$(qemu-img map --output=json top.qcow2 | grep -c '"depth": 0, "present": true')" 0
is "commit: the base file grew to the overlay's size" \
  "$(qemu-img info --output=json mid.qcow2 | grep '"virtual-size"')" \
  '    "virtual-size": 6291456,'

# -d keeps the overlay.
mk
vd_img commit -q -d top.qcow2
check "commit -d: the chain reads the same" same before.raw top.qcow2
check "commit -d: mid reads as the chain did" same -F raw mid.qcow2 before.raw
is "commit -d: the overlay keeps its clusters" \
  "$(qemu-img map --output=json top.qcow2 | grep -c '"depth": 0, "present": true')" \
  "$(qemu-img map --output=json top.qcow2 | grep -c '"depth": 0, "present": true' | grep -v '^0$')"

# -b BASE: two layers into the bottom one (implies -d, as qemu-img).
mk
vd_img commit -q -b base.qcow2 top.qcow2
check "commit -b: base reads as the chain did" same -F raw base.qcow2 before.raw
check "commit -b: the chain reads the same" same before.raw top.qcow2
check "commit -b: qemu-img check clean" clean top.qcow2 mid.qcow2 base.qcow2
# The same with qemu-img gives the same base content.
cp base.qcow2 vd-base.qcow2
mk
qemu-img commit -q -b base.qcow2 top.qcow2
check "commit -b: same base content as qemu-img's commit" same vd-base.qcow2 base.qcow2

# commit to a raw backing file.
qemu-img create -q -f raw rb.raw 2M
qemu-io -f raw -c 'write -P 7 0 2M' rb.raw >/dev/null
qemu-img create -q -f qcow2 -b rb.raw -F raw ro.qcow2
qemu-io -c 'write -P 8 100k 300k' ro.qcow2 >/dev/null
qemu-img convert -O raw ro.qcow2 ro-before.raw
vd_img commit -q ro.qcow2
check "commit into raw: rb.raw reads as the chain did" cmp -s rb.raw ro-before.raw

for args in "base.qcow2" "-b nonexistent.qcow2 top.qcow2"; do
  mk
  a=$(vd_img commit $args 2>&1; echo "rc=$?")
  b=$(qemu-img commit $args 2>&1; echo "rc=$?")
  is "commit $args: as qemu-img" "$(printf '%s\n' "$a" | sed 's/^vd-img: //')" \
    "$(printf '%s\n' "$b" | sed 's/^qemu-img: //')"
done

# rebase, safe mode: onto base, skipping mid.
mk
run_cmd out err rc vd_img rebase -b base.qcow2 -F qcow2 top.qcow2
is "rebase: exit 0, silent" "$rc:$out" "0:"
is "rebase: the header names the new backing file" "$(backing_of top.qcow2)" \
  base.qcow2
check "rebase: the chain reads the same" same before.raw top.qcow2
check "rebase: qemu-img check clean" clean top.qcow2
# ... onto an unrelated file of another size.
qemu-img create -q -f qcow2 other.qcow2 5M
qemu-io -c 'write -P 9 0 5M' other.qcow2 >/dev/null
vd_img rebase -b other.qcow2 -F qcow2 top.qcow2
check "rebase onto another file: reads the same" same before.raw top.qcow2
check "  qemu-img check clean" clean top.qcow2
# ... and flattened.
vd_img rebase -b "" top.qcow2
is "rebase -b '': no backing file left" "$(backing_of top.qcow2)" ""
check "rebase -b '': reads the same" same before.raw top.qcow2
check "  qemu-img check clean" clean top.qcow2
# Same content as qemu-img's rebase.
mk
vd_img rebase -b base.qcow2 -F qcow2 top.qcow2
cp top.qcow2 vd-top.qcow2
mk
qemu-img rebase -b base.qcow2 -F qcow2 top.qcow2
check "rebase: same result as qemu-img rebase" same vd-top.qcow2 top.qcow2

# unsafe mode only rewrites the name; the new file need not exist.
mk
cp top.qcow2 u.qcow2
vd_img rebase -u -b renamed.qcow2 -F qcow2 u.qcow2
is "rebase -u: the header names the new file" "$(backing_of u.qcow2)" \
  renamed.qcow2
is "rebase -u: the format is recorded" \
  "$(qemu-img info --output=json u.qcow2 | grep -c '"backing-filename-format": "qcow2"')" 1
cmp -s u.qcow2 top.qcow2 && not_ok "rebase -u changed the header" ||
  ok "rebase -u changed the header"
mv mid.qcow2 renamed.qcow2
check "rebase -u: reads the same once the file is renamed" same before.raw u.qcow2
check "rebase -u: qemu-img check clean" clean u.qcow2
mv renamed.qcow2 mid.qcow2

for args in "-b mid.qcow2 top.qcow2" "-b nonexistent.qcow2 -F qcow2 top.qcow2"; do
  mk
  a=$(vd_img rebase $args 2>&1; echo "rc=$?")
  b=$(qemu-img rebase $args 2>&1; echo "rc=$?")
  is "rebase $args: same exit status as qemu-img" \
    "$(printf '%s\n' "$a" | tail -1)" "$(printf '%s\n' "$b" | tail -1)"
done
mk
before=$(md5sum < top.qcow2)
vd_img rebase -b nonexistent.qcow2 -F qcow2 top.qcow2 2>/dev/null
is "a failed rebase leaves the image as it was" "$(md5sum < top.qcow2)" "$before"

done_testing
