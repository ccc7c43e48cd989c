# Shared by the vdi, vhdx and vpc interop tests (sourced after
# tests/functions.sh): one set of data patterns written through libvd
# (vhdio) or qemu-io, an expected raw image made by qemu-io alone, and
# the checks that vd-img and qemu-img agree on an image.

VHDIO="$top_builddir/tests/interop/vhdio"
vhdio () { $VALGRIND_CMD "$VHDIO" "$@"; }

# Patterns "OFFSET LENGTH BYTE" for a disk of SIZE bytes: sector and
# byte aligned, across 1, 2 and 8 MiB block boundaries, and the last
# bytes of the disk.
patterns () {
  echo "0 4096 0xab"
  echo "1000 3000 0x11"
  echo "3145727 2 0x77"
  echo "5242880 1048576 0xcd"
  echo "8388600 16 0x33"
  echo "$(($1 - 700)) 700 0xee"
}

# qemu-io -c arguments writing the patterns.
qemu_io_writes () {
  patterns "$1" | while read -r o l b; do
    printf -- "-c\nwrite -P %s %s %s\n" "$b" "$o" "$l"
  done
}

# write_qemu IMG FMT SIZE: write the patterns with qemu-io.
write_qemu () {
  _args=$(qemu_io_writes "$3")
  ( IFS='
'; qemu-io -f "$2" $_args "$1" >/dev/null )
}

# write_vd IMG SIZE: write the patterns through libvd.
write_vd () {
  _cmds=""
  while read -r o l b; do _cmds="$_cmds write $o $l $b"; done <<EOF
$(patterns "$2")
EOF
  # shellcheck disable=SC2086
  vhdio "$1" $_cmds
}

# expected_raw RAW SIZE: a raw image of SIZE holding the patterns.
expected_raw () {
  rm -f "$1"
  qemu-img create -q -f raw "$1" "$2" && write_qemu "$1" raw "$2"
}

# same_info DESC IMG FMT: vd-img info and qemu-img info -f FMT print the
# same, human and JSON.
same_info () {
  is "$1: info human" "$(vd_img info "$2" 2>&1)" \
    "$(qemu-img info -f "$3" "$2" 2>&1)"
  is "$1: info JSON" "$(vd_img info --output=json "$2" 2>&1)" \
    "$(qemu-img info -f "$3" --output=json "$2" 2>&1)"
}

# same_create DESC FMT OPTS SIZE: the "Formatting" lines agree; leaves
# vd/NAME (ours) and qemu/NAME.
same_create () {
  mkdir -p vd qemu
  rm -f "vd/$2.img" "qemu/$2.img"
  a=$(cd vd && vd_img create -f "$2" ${3:+-o "$3"} "$2.img" "$4" 2>&1)
  b=$(cd qemu && qemu-img create -f "$2" ${3:+-o "$3"} "$2.img" "$4" 2>&1)
  is "$1: create prints what qemu-img prints" "$a" "$b"
}

# refused DESC IMG FMT PATTERN: vd-img info -f FMT fails with one line
# matching PATTERN that names the file, exit 1, and the file is unchanged.
refused () {
  _sum=$(md5sum <"$2")
  run_cmd _out _err _rc vd_img info -f "$3" "$2"
  is "$1: exit 1" "$_rc" 1
  like "$1: message" "$_err" "^vd-img: $2: .*$4"
  is "$1: one line" "$(printf '%s\n' "$_err" | wc -l)" 1
  is "$1: nothing on stdout" "$_out" ""
  is "$1: file unchanged" "$(md5sum <"$2")" "$_sum"
}

# poke FILE OFFSET HEXBYTES: overwrite bytes in place.
poke () {
  printf "$(echo "$3" | sed 's/\(..\)/\\x\1/g')" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
