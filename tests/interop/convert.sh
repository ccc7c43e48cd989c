#!/bin/bash
# Oracle: vd-img convert and qemu-img convert on the same sources give
# images that read the same (qemu-img compare, cmp of raw exports), that
# qemu-img check accepts, and raw outputs as sparse as qemu-img's (same
# qemu-img map).  Each tool reads what the other wrote.  Formats other
# than raw are covered as this vd-img knows them.
. "$top_srcdir/tests/functions.sh"
requires qemu-img python3 jq

cd "$tmp"
formats=$(vd_img --help | sed -n 's/^Supported formats://p')
has () { case " $formats " in *" $1 "*) return 0 ;; esac; return 1; }

# Sources: sparse data, zero-filled data, a zero gap inside data, an
# unaligned tail; text-like data so that compression has work to do.
python3 - <<'EOF'
import random
r = random.Random(11)
words = [bytes(r.choice(b"abcdefgh ") for _ in range(r.randint(1, 8))) for _ in range(300)]
def text(n):
    b = bytearray()
    while len(b) < n:
        b += r.choice(words)
    return bytes(b[:n])
with open("a.raw", "wb") as f:
    f.truncate(24 << 20)
    for off, ln in ((0, 192 << 10), (3 << 20, 1 << 20), (7 << 20, 5000),
                    (10 << 20, 2 << 20), ((24 << 20) - 4096, 4096)):
        f.seek(off); f.write(text(ln) if off % 2 == 0 else r.randbytes(ln))
    f.seek(13 << 20); f.write(bytes(512 << 10))
    f.seek(15 << 20); f.write(r.randbytes(4096) + bytes(8192) + text(4096))
with open("b.raw", "wb") as f:
    f.truncate(5 << 20)
    f.seek(1 << 20); f.write(text(70000))
EOF

map_of () { qemu-img map --output=json -f "$2" "$1" | jq -c '[.[] | {start, length, data, zero}]'; }

# ---- raw -> raw --------------------------------------------------------
vd_img convert -O raw a.raw vd.raw
qemu-img convert -O raw a.raw qemu.raw
check "raw -> raw: byte-identical to the source" cmp a.raw vd.raw
check "raw -> raw: qemu-img compare" qemu-img compare -q -f raw -F raw a.raw vd.raw
is "raw -> raw: as sparse as qemu-img's (same map)" \
  "$(map_of vd.raw raw)" "$(map_of qemu.raw raw)"
vd_img convert a.raw b.raw vd-cat.raw
qemu-img convert a.raw b.raw qemu-cat.raw
check "two sources: same bytes as qemu-img's" cmp vd-cat.raw qemu-cat.raw
is "two sources: same map as qemu-img's" \
  "$(map_of vd-cat.raw raw)" "$(map_of qemu-cat.raw raw)"
rm -f vd.raw qemu.raw vd-cat.raw qemu-cat.raw

# ---- other formats, as this vd-img knows them ----------------------------
# FILE reads as a.raw: the same bytes, then only zeros if the format
# rounded the size up (vpc rounds to a disk geometry, as qemu-img does);
# FILE [FMT]: reads as a.raw through qemu-img (FMT other than raw).
same_as_a () {
  case ${2:-raw} in
    raw) cmp -n "$(stat -c %s a.raw)" a.raw "$1" &&
           qemu-img compare -q -f raw -F raw a.raw "$1" ;;
    *) qemu-img compare -q -f raw -F "$2" a.raw "$1" ;;
  esac
}

# qemu-img check, where qemu-img can check the format; vd-img check for
# vpc, which qemu-img cannot check.
qemu_check () {
  case $2 in
    vpc) check "$1: vd-img check (qemu-img cannot check $2)" vd_img check -q -f "$2" "$3" ;;
    *) check "$1: qemu-img check" qemu-img check -q -f "$2" "$3" ;;
  esac
}

# roundtrip FMT [OPTIONS]: raw -> FMT by vd-img, checked by qemu-img;
# back to raw by both tools; FMT made by qemu-img read back by vd-img.
roundtrip () {
  fmt=$1; shift
  what="raw -> $fmt${*:+ $*}"
  vd_img convert -O "$fmt" "$@" a.raw vd.$fmt
  qemu_check "$what" "$fmt" vd.$fmt
  check "$what: qemu-img compare with the source" \
    qemu-img compare -q -f raw -F "$fmt" a.raw vd.$fmt
  qemu-img convert -f "$fmt" -O raw vd.$fmt back-q.raw
  check "$what -> raw (qemu-img): byte-identical" same_as_a back-q.raw
  vd_img convert -f "$fmt" -O raw vd.$fmt back-v.raw
  check "$what -> raw (vd-img): byte-identical" same_as_a back-v.raw
  is "$what -> raw (vd-img): as sparse as qemu-img's" \
    "$(map_of back-v.raw raw)" "$(map_of back-q.raw raw)"
  qemu-img convert -O "$fmt" "$@" a.raw qemu.$fmt
  vd_img convert -f "$fmt" -O raw qemu.$fmt back-v.raw
  check "qemu-img's $fmt${*:+ $*} -> raw (vd-img): byte-identical" same_as_a back-v.raw
  vd_img convert -f "$fmt" -O "$fmt" "$@" qemu.$fmt vd2.$fmt
  qemu_check "$fmt -> $fmt${*:+ $*}" "$fmt" vd2.$fmt
  check "$fmt -> $fmt${*:+ $*}: qemu-img compare" \
    qemu-img compare -q -f "$fmt" -F "$fmt" qemu.$fmt vd2.$fmt
  # Across formats, through qcow2: qemu-img's FMT -> qcow2, and a qcow2
  # made by qemu-img -> FMT, both by vd-img.
  if has qcow2 && [ "$fmt" != qcow2 ]; then
    vd_img convert -f "$fmt" -O qcow2 qemu.$fmt x.qcow2
    check "qemu-img's $fmt${*:+ $*} -> qcow2: qemu-img check" qemu-img check -q x.qcow2
    check "qemu-img's $fmt${*:+ $*} -> qcow2: qemu-img compare with the source" \
      same_as_a x.qcow2 qcow2
    vd_img convert -f qcow2 -O "$fmt" "$@" a.qcow2 x.$fmt
    qemu_check "qcow2 -> $fmt${*:+ $*}" "$fmt" x.$fmt
    check "qcow2 -> $fmt${*:+ $*}: qemu-img compare with the source" \
      qemu-img compare -q -f qcow2 -F "$fmt" a.qcow2 x.$fmt
    rm -f x.qcow2 x.$fmt
  fi
  rm -f vd.$fmt qemu.$fmt vd2.$fmt back-q.raw back-v.raw
}

# The qcow2 source of the cross-format conversions, made by qemu-img.
has qcow2 && qemu-img convert -f raw -O qcow2 a.raw a.qcow2

if has qcow2; then
  roundtrip qcow2
  roundtrip qcow2 -c
  roundtrip qcow2 -c -o compression_type=zstd
  roundtrip qcow2 -o cluster_size=4096
  vd_img convert -O qcow2 -c -o compression_type=zstd a.raw z.qcow2
  is "-c -o compression_type=zstd: the image says zstd" \
    "$(qemu-img info --output=json z.qcow2 | jq -r '."format-specific".data."compression-type"')" zstd
  vd_img convert -O qcow2 -c a.raw z.qcow2
  is "-c: zlib by default" \
    "$(qemu-img info --output=json z.qcow2 | jq -r '."format-specific".data."compression-type"')" zlib
  rm -f z.qcow2

  # Several sources of several formats into qcow2, as qemu-img does.
  b=raw; has vdi && b=vdi
  qemu-img convert -f raw -O $b b.raw b.$b
  vd_img convert -O qcow2 a.qcow2 b.$b b.raw cat.qcow2
  qemu-img convert -O qcow2 a.qcow2 b.$b b.raw cat-q.qcow2
  check "qcow2 + $b + raw -> qcow2: qemu-img check" qemu-img check -q cat.qcow2
  check "qcow2 + $b + raw -> qcow2: reads as qemu-img's" \
    qemu-img compare -q -s cat-q.qcow2 cat.qcow2
  rm -f b.vdi cat.qcow2 cat-q.qcow2

  # -S, -m/-W, --target-is-zero: same content, same allocation as
  # qemu-img's with the same options.
  qmap () { qemu-img map --output=json "$1" | jq -c '[.[] | {start, length, depth, zero, data}]'; }
  for opts in "-S 64k" "-S 0" "-m 4 -W" "-c -m 4 -W"; do
    vd_img convert -O qcow2 $opts a.raw o.qcow2
    qemu-img convert -O qcow2 $opts a.raw o-q.qcow2
    check "raw -> qcow2 $opts: qemu-img check" qemu-img check -q o.qcow2
    check "raw -> qcow2 $opts: qemu-img compare" qemu-img compare -q -f raw a.raw o.qcow2
    case $opts in
      -c*) ;; # compressed: the layout is the writer's order
      *) is "raw -> qcow2 $opts: allocates what qemu-img's does" \
           "$(qmap o.qcow2)" "$(qmap o-q.qcow2)" ;;
    esac
  done
  qemu-img create -q -f qcow2 o.qcow2 24M
  vd_img convert -n --target-is-zero -O qcow2 a.raw o.qcow2
  check "-n --target-is-zero into a new qcow2: qemu-img check" qemu-img check -q o.qcow2
  check "-n --target-is-zero into a new qcow2: qemu-img compare" \
    qemu-img compare -q -f raw a.raw o.qcow2
  qemu-img create -q -f qcow2 o-q.qcow2 24M
  qemu-img convert -n --target-is-zero -O qcow2 a.raw o-q.qcow2
  is "-n --target-is-zero into qcow2: allocates what qemu-img's does" \
    "$(qmap o.qcow2)" "$(qmap o-q.qcow2)"
  rm -f o.qcow2 o-q.qcow2
  if command -v script >/dev/null 2>&1; then
    out=$(script -qec "$VD_IMG_BIN convert -p -c -O qcow2 a.raw p.qcow2" /dev/null | tr '\r' '\n')
    like "-p -c into qcow2 on a terminal reaches 100%" "$out" '^    \(100\.00/100%\)'
    check "-p -c into qcow2: qemu-img compare" qemu-img compare -q -f raw a.raw p.qcow2
    rm -f p.qcow2
  else
    skip "-p on a terminal (script(1) is not installed)"
  fi
  # Compressed output is smaller than plain output.
  vd_img convert -O qcow2 a.raw plain.qcow2
  vd_img convert -O qcow2 -c a.raw comp.qcow2
  check "-c: the compressed image is smaller" \
    test "$(stat -c %s comp.qcow2)" -lt "$(stat -c %s plain.qcow2)"
  check "-c: qemu-img check" qemu-img check -q comp.qcow2
  rm -f plain.qcow2 comp.qcow2

  # A backing chain is flattened.
  qemu-img create -q -f qcow2 -b a.raw -F raw over.qcow2
  qemu-io -f qcow2 -c 'write -P 0x5a 1M 64k' -c 'write -z 3M 64k' \
    -c 'write -P 0x77 23M 1M' over.qcow2 >/dev/null
  qemu-img convert -f qcow2 -O raw over.qcow2 flat-q.raw
  vd_img convert -f qcow2 -O raw over.qcow2 flat-v.raw
  check "backing chain flattened: same bytes as qemu-img's" cmp flat-q.raw flat-v.raw
  vd_img convert -f qcow2 -O qcow2 over.qcow2 flat-v.qcow2
  is "backing chain flattened: no backing file left" \
    "$(qemu-img info --output=json flat-v.qcow2 | jq -r '."backing-filename" // "none"')" none
  check "backing chain flattened: qemu-img compare" \
    qemu-img compare -q over.qcow2 flat-v.qcow2

  # -B: only what the top layer holds is written; the rest stays with
  # the new backing file.
  vd_img convert -O qcow2 -B a.raw -F raw over.qcow2 keep.qcow2
  check "-B: qemu-img check" qemu-img check -q keep.qcow2
  is "-B: the new image names its backing file" \
    "$(qemu-img info --output=json keep.qcow2 | jq -r '."backing-filename"')" a.raw
  check "-B: reads the same as the source" qemu-img compare -q over.qcow2 keep.qcow2
  check "-B: much smaller than the flattened image" \
    test "$(stat -c %s keep.qcow2)" -lt $(( $(stat -c %s flat-v.qcow2) / 2 ))
  qemu-img convert -O qcow2 -B a.raw -F raw over.qcow2 keep-q.qcow2
  is "-B: allocates what qemu-img's does" \
    "$(qemu-img map --output=json keep.qcow2 | jq -c '[.[] | {start, length, depth, zero, data}]')" \
    "$(qemu-img map --output=json keep-q.qcow2 | jq -c '[.[] | {start, length, depth, zero, data}]')"
  rm -f over.qcow2 flat-q.raw flat-v.raw flat-v.qcow2 keep.qcow2 keep-q.qcow2

  # -n into an existing qcow2.
  qemu-img create -q -f qcow2 n.qcow2 24M
  qemu-io -f qcow2 -c 'write -P 0xee 0 24M' n.qcow2 >/dev/null
  vd_img convert -n -O qcow2 a.raw n.qcow2
  check "-n into qcow2: qemu-img check" qemu-img check -q n.qcow2
  check "-n into qcow2: reads as the source" qemu-img compare -q -f raw -F qcow2 a.raw n.qcow2
  rm -f n.qcow2
fi

if has vmdk; then
  roundtrip vmdk
  roundtrip vmdk -o subformat=streamOptimized
  # -B into vmdk (a VMDK backing file, as VMDK requires).
  if has qcow2; then
    qemu-img convert -f raw -O vmdk a.raw base.vmdk
    qemu-img create -q -f qcow2 -b base.vmdk -F vmdk over.qcow2
    qemu-io -f qcow2 -c 'write -P 0x5a 1M 64k' -c 'write -P 0x77 23M 1M' \
      over.qcow2 >/dev/null
    vd_img convert -O vmdk -B base.vmdk -F vmdk over.qcow2 keep.vmdk
    qemu-img convert -O vmdk -B base.vmdk -F vmdk over.qcow2 keep-q.vmdk
    check "-B into vmdk: qemu-img check" qemu-img check -q keep.vmdk
    is "-B into vmdk: the new image names its backing file" \
      "$(qemu-img info --output=json keep.vmdk | jq -r '."backing-filename"')" base.vmdk
    check "-B into vmdk: reads the same as the source" \
      qemu-img compare -q over.qcow2 keep.vmdk
    is "-B into vmdk: allocates what qemu-img's does" \
      "$(qemu-img map --output=json keep.vmdk | jq -c '[.[] | {start, length, depth, zero, data}]')" \
      "$(qemu-img map --output=json keep-q.vmdk | jq -c '[.[] | {start, length, depth, zero, data}]')"
    rm -f base.vmdk over.qcow2 keep.vmdk keep-q.vmdk
  fi
fi

if has vdi; then
  roundtrip vdi
  roundtrip vdi -o static=on
fi
if has vhdx; then
  roundtrip vhdx
fi
if has vpc; then
  roundtrip vpc
  roundtrip vpc -o subformat=fixed
fi

done_testing
