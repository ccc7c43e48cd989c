#!/bin/sh
# Guest-tool failures that need the appliance, each one clear line(s),
# exit 1: a disk with no operating system (the message lists what was
# found) and an appliance that cannot launch (the message says what to
# set).  One launch; the launch failure costs no VM.  Errors found before
# any launch are in tests/tools/guest-errors.sh.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"

fixture blank

run_cmd out err rc vd_ls --format=raw -a "$fixdir/blank.img" /
launch_or_skip "$rc" "$err"
is "no OS: exit 1" "$rc" 1
is "no OS: the message lists the filesystems" "$err" \
  "vd-ls: no operating system was found on the guest's disks (filesystems found: /dev/sda1 (ext4)); use -m DEV to mount a filesystem yourself"
is "no OS: nothing on stdout" "$out" ""

# qemu that exits at once: the launch fails without starting a VM.
run_cmd out err rc env LIBGUESTFS_HV=/bin/false \
  "$VD_CAT_BIN" --format=raw -a "$fixdir/blank.img" /x
is "launch failure: exit 1" "$rc" 1
like "launch failure: what failed" "$(printf '%s\n' "$err" | head -1)" \
  '^vd-cat: the libguestfs appliance failed to launch: .*/bin/false'
like "launch failure: how to see more" "$err" \
  'run again with -v -x \(or LIBGUESTFS_DEBUG=1 LIBGUESTFS_TRACE=1\)'
is "launch failure: nothing on stdout" "$out" ""
# Without force_tcg and with a /dev/kvm, the hint names the setting.
if [ -e /dev/kvm ]; then
  run_cmd out err rc env LIBGUESTFS_HV=/bin/false LIBGUESTFS_BACKEND_SETTINGS= \
    "$VD_CAT_BIN" --format=raw -a "$fixdir/blank.img" /x
  like "launch failure: suggests force_tcg" "$err" \
    'LIBGUESTFS_BACKEND_SETTINGS=force_tcg'
else
  skip "no /dev/kvm here: the force_tcg hint is not given"
fi

done_testing
