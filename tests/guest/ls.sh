#!/bin/sh
# vd-ls -lR on the "linux" fixture: the known tree (tests/guest/
# linux-lR.expected: names with spaces, quotes and non-ASCII, modes,
# sizes, symlink targets), every extra column against virt-ls on the same
# image, and --json holding the same facts, reached through libvirt (-d,
# test driver) and -m this time.  Three appliance launches (two ours, one
# virt-ls).
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires jq md5sum

fixture linux
tree=$fixdir/linux.tree

# ---- 1. text, every column, inspection (-i) ------------------------------
cols="--uids --times --extra-stats --checksum"
run_cmd out err rc vd_ls --format=raw -a "$fixdir/linux.img" -lR $cols /
launch_or_skip "$rc" "$err"
is "-lR with every column: exit 0" "$rc" 0
is "-lR: nothing on stderr" "$err" ""
printf '%s\n' "$out" > "$tmp/full.txt"

# Cut the known columns back out: type, mode, size, [uid gid, 3 times,
# dev ino nlink rdev blocks, md5 for files], path [-> target].
sed -E 's/^(.) ([0-7]{4}) +([0-9]+) +[0-9]+ +[0-9]+( [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}){3} [0-9]+:[0-9]+ [0-9]+ [0-9]+ [0-9]+:[0-9]+ [0-9]+ ([0-9a-f]{32} )?/\1 \2 \3 /' \
  "$tmp/full.txt" | while IFS=' ' read -r t m s rest; do
  printf '%s %s %10s %s\n' "$t" "$m" "$s" "$rest"
done > "$tmp/plain.txt"
if diff -u "$top_srcdir/tests/guest/linux-lR.expected" "$tmp/plain.txt" > "$tmp/diff"; then
  ok "-lR lists the known tree (types, modes, sizes, names, link targets)"
else
  not_ok "-lR lists the known tree"
  sed 's/^/# /' "$tmp/diff"
fi
like "symlink shown with its target" "$out" ' /home/user/link-to-hello -> hello.txt$'
like "name with spaces and non-ASCII" "$out" ' /home/user/my notes – café\.txt$'
like "setuid mode, owner, times, md5" "$out" \
  '^- 4755 +17 +0 +0 2023-01-02 03:04:05 2023-01-02 03:04:05 2023-01-02 03:04:05 [0-9]+:[0-9]+ [0-9]+ 1 0:0 8 [0-9a-f]{32} /usr/bin/setuid-tool$'
like "atime, mtime, ctime in that order" "$out" \
  '^- 0644 +14 1000 1000 2023-11-14 22:23:20 2023-11-14 22:13:20 2023-01-02 03:04:05 .* /home/user/hello.txt$'
like "hard links counted" "$out" '^- 0755 +21 .* [0-9]+ 2 0:0 8 [0-9a-f]{32} /usr/bin/hi$'
is "md5 of a 300000-byte binary file" \
  "$(grep ' /srv/data/binary.bin$' "$tmp/full.txt" | grep -oE '[0-9a-f]{32}')" \
  "$(md5sum < "$tree/srv/data/binary.bin" | cut -c1-32)"

# The same options through virt-ls, when it is installed: line for line.
if command -v virt-ls >/dev/null; then
  run_cmd vout verr vrc virt-ls --format=raw -a "$fixdir/linux.img" -lR $cols /
  if [ "$vrc" = 0 ]; then
    # The device column is the appliance's numbering, which changes from
    # launch to launch (the kernel's SCSI scan order): compare the rest.
    nodev='s/( [0-9]{2}:[0-9]{2}:[0-9]{2}) [0-9]+:[0-9]+ ([0-9]+ [0-9]+ [0-9]+:[0-9]+ [0-9]+ )/\1 MAJ:MIN \2/'
    printf '%s\n' "$vout" | sed -E "$nodev" > "$tmp/virt-ls.txt"
    sed -E "$nodev" "$tmp/full.txt" > "$tmp/full-nodev.txt"
    if diff -u "$tmp/virt-ls.txt" "$tmp/full-nodev.txt" > "$tmp/diff"; then
      ok "vd-ls -lR $cols prints what virt-ls prints"
    else
      not_ok "vd-ls -lR $cols prints what virt-ls prints"
      sed 's/^/# /' "$tmp/diff"
    fi
  else
    skip "virt-ls failed here: $(printf '%s' "$verr" | head -1)"
  fi
else
  skip "virt-ls is not installed (no oracle)"
fi

# ---- 2. JSON, through libvirt (-d) and -m ---------------------------------
make_node_xml
run_cmd json err rc vd_ls -c "$node_uri" -d vdtest-linux \
  -m /dev/sda2 -m /dev/sda1:/boot --json -lR --checksum --extra-stats /
is "--json -d -m: exit 0" "$rc" 0
is "--json: nothing on stderr" "$err" ""
printf '%s\n' "$json" > "$tmp/ls.json"
check "--json parses as an array" jq -e 'type == "array"' "$tmp/ls.json"
is "--json keys" "$(jq -c '.[0] | keys_unsorted' "$tmp/ls.json")" \
  '["path","type","mode","size","uid","gid","mtime","atime","ctime","link_target","checksum","device","inode","nlink","rdev","blocks"]'

# Rebuild the -lR text from the JSON: the same tree as -a with -i found.
letter='{"file":"-","directory":"d","symlink":"l","fifo":"p","socket":"s","char-device":"c","block-device":"b"}'
jq -r --argjson L "$letter" \
  '.[] | [$L[.type], .mode, .size, .path, (.link_target // "")] | @tsv' \
  "$tmp/ls.json" | while IFS='	' read -r t m s p l; do
  if [ -n "$l" ]; then
    printf '%s %04o %10s %s -> %s\n' "$t" "$m" "$s" "$p" "$l"
  else
    printf '%s %04o %10s %s\n' "$t" "$m" "$s" "$p"
  fi
done > "$tmp/from-json.txt"
if diff -u "$top_srcdir/tests/guest/linux-lR.expected" "$tmp/from-json.txt" > "$tmp/diff"; then
  ok "--json (-d, -m) holds the same tree as -lR (-a, -i)"
else
  not_ok "--json (-d, -m) holds the same tree as -lR (-a, -i)"
  sed 's/^/# /' "$tmp/diff"
fi

q () { jq -c --arg p "$1" ".[] | select(.path == \$p) | $2" "$tmp/ls.json"; }
is "json: hello.txt times" "$(q /home/user/hello.txt '[.mtime, .atime, .ctime]')" \
  '[1700000000,1700000600,1672628645]'
is "json: hello.txt owner" "$(q /home/user/hello.txt '[.uid, .gid]')" '[1000,1000]'
is "json: /etc/shadow mode 0640, group 42" "$(q /etc/shadow '[.mode, .gid]')" '[416,42]'
is "json: setuid mode" "$(q /usr/bin/setuid-tool .mode)" 2541
is "json: FIFO" "$(q /run/initctl .type)" '"fifo"'
is "json: symlink target" "$(q /bin '[.type, .link_target]')" '["symlink","usr/bin"]'
is "json: absolute symlink target" "$(q /etc/localtime .link_target)" \
  '"/usr/share/zoneinfo/Etc/UTC"'
is "json: non-ASCII name kept" "$(q '/home/user/my notes – café.txt' .size)" 32
is "json: md5 of the binary file" "$(q /srv/data/binary.bin .checksum)" \
  "\"$(md5sum < "$tree/srv/data/binary.bin" | cut -c1-32)\""
is "json: md5 of an empty file" "$(q /srv/data/empty.txt .checksum)" \
  '"d41d8cd98f00b204e9800998ecf8427e"'
is "json: no checksum for a folder" "$(q /etc .checksum)" null
is "json: no link target for a file" "$(q /etc/hostname .link_target)" null
is "json: hard links share an inode" \
  "$(q /usr/bin/hello '[.inode, .nlink]')" "$(q /usr/bin/hi '[.inode, .nlink]')"
is "json: /boot is another filesystem than /" \
  "$(jq -r '[.[] | select(.path == "/" or .path == "/boot") | .device] | unique | length' "$tmp/ls.json")" 2

done_testing
