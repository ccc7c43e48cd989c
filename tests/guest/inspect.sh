#!/bin/sh
# vd-inspect on the fixture guests: the "linux" guest's facts are what its
# /etc files and disk layout say, its applications are exactly the
# installed packages of its dpkg status, the JSON has the members (and
# types) man/vd-inspect.pod documents, the XML agrees with the JSON and
# validates against virt-inspector's schema, and where virt-inspector is
# installed its XML for the same image is byte for byte ours.  A disk
# with no OS gives an empty list.  Two appliance launches of vd-inspect
# (the linux guest's JSON by -d, the blank disk's XML by -a) and one of
# virt-inspector: the linux guest's XML is its JSON put back through
# vd-inspect's XML renderer (tests/guest/inspect-json2xml, which refuses
# JSON that lacks a documented member), so one run gives both.
. "$top_srcdir/tests/functions.sh"
. "$top_srcdir/tests/guest/guest-functions.sh"
requires jq xmllint perl

VD_INSPECT_BIN="$top_builddir/tools/vd-inspect"
vd_inspect () { "$VD_INSPECT_BIN" "$@"; }
pod="$top_srcdir/man/vd-inspect.pod"

fixture linux blank
tree=$fixdir/linux.tree

# ---- 1. JSON (-d, the default output) --------------------------------------------
make_node_xml
run_cmd json err rc vd_inspect -c "$node_uri" -d vdtest-linux
launch_or_skip "$rc" "$err"
is "linux -d: exit 0" "$rc" 0
is "linux -d: nothing on stderr" "$err" ""
printf '%s\n' "$json" > "$tmp/linux.json"
# jq -e, quietly: the exit status is the check.
jqe () { jq -e "$@" >/dev/null; }
check "the output is a JSON array of one operating system" \
  jqe 'type == "array" and length == 1' "$tmp/linux.json"

# The documented schema, read from the man page: each "=item C<name>, ...
# (type)" of a section gives members, in order, and their JSON types.
# Prints "name type..." lines.
documented () {
  sed -n "/^=head2 $1\$/,/^=head/p" "$pod" | perl -ne '
    next unless /^=item (C<\w+>(?:, C<\w+>)*) \((.*?)\)/;
    my ($names, $t) = ($1, $2);
    my @types;
    push @types, "string" if $t =~ /string/;
    push @types, "number" if $t =~ /integer/;
    push @types, "array" if $t =~ /array/;
    push @types, "null" if $t =~ /null/;
    print "$_ @types\n" for $names =~ /C<(\w+)>/g;'
}
# As a JSON object {"name": ["type", ...], ...} in documented order.
schema_of () {
  documented "$1" | jq -R -n '[inputs | split(" ") | {(.[0]): .[1:]}] | add'
}
os_schema=$(schema_of "Operating system")
app_schema=$(schema_of "Application")
is "the man page documents 18 OS members" "$(printf '%s' "$os_schema" | jq length)" 18
is "the man page documents 12 application members" \
  "$(printf '%s' "$app_schema" | jq length)" 12

# conforms SCHEMA JQ-PATH: every object at PATH has exactly the documented
# members, in the documented order, each of a documented type.
conforms () {
  jq -e --argjson s "$1" "[$2] | length > 0 and all(
      (keys_unsorted == (\$s | keys_unsorted))
      and all(to_entries[]; (.value | type) as \$t | \$s[.key] | index(\$t)))" \
    "$tmp/linux.json" >/dev/null
}
check "JSON: each OS object has the documented members, order and types" \
  conforms "$os_schema" '.[]'
check "JSON: each application has the documented members, order and types" \
  conforms "$app_schema" '.[].applications[]'
check "JSON: mountpoints are {mountpoint, device} strings" jqe '
  [.[].mountpoints[]] | length > 0 and all(keys_unsorted == ["mountpoint","device"]
    and (.mountpoint | type) == "string" and (.device | type) == "string")' \
  "$tmp/linux.json"
check "JSON: filesystems are {device, type, label, uuid, size}" jqe '
  [.[].filesystems[]] | length > 0 and all(
    keys_unsorted == ["device","type","label","uuid","size"]
    and (.device | type) == "string"
    and ([.type, .label, .uuid] | all(type == "string" or type == "null"))
    and ((.size | type) == "number" or .size == null))' "$tmp/linux.json"
check "JSON: a Linux guest has an empty drive_mappings array" \
  jqe '.[0].drive_mappings == []' "$tmp/linux.json"

# ---- 2. the facts the guest's files say -----------------------------------------
j () { jq -r ".[0] | $1" "$tmp/linux.json"; }
osr () { sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$tree/etc/os-release"; }
debver=$(cat "$tree/etc/debian_version")
is "type" "$(j .type)" linux
is "distro: os-release's ID" "$(j .distro)" "$(osr ID)"
is "major version: os-release's VERSION_ID" "$(j .major_version)" "$(osr VERSION_ID)"
is "major.minor: /etc/debian_version" "$(j '"\(.major_version).\(.minor_version)"')" "$debver"
is "product name: /etc/debian_version" "$(j .product_name)" "$debver"
is "hostname: /etc/hostname" "$(j .hostname)" "$(cat "$tree/etc/hostname")"
is "osinfo" "$(j .osinfo)" "debian$(osr VERSION_ID)"
is "package format and manager" "$(j '"\(.package_format) \(.package_management)"')" "deb apt"
# /usr/bin/ls is an ELF header: its e_machine field (offset 18) names
# the architecture.
case $(od -An -tx1 -j18 -N2 "$tree/usr/bin/ls" | tr -d ' ') in
3e00) elf_arch=x86_64 ;; b700) elf_arch=aarch64 ;; *) elf_arch=unknown ;;
esac
is "architecture: the ELF header of /bin/ls" "$(j .arch)" "$elf_arch"
is "no Windows facts" "$(j '[.windows_systemroot, .windows_current_control_set, .product_variant]' | tr -d ' \n')" \
  '[null,null,null]'
is "root device" "$(j .root)" /dev/sda2
# fstab: UUID=<root> on /, LABEL=BOOT on /boot.
root_uuid=$(sed -n 's|^UUID=\([^ ]*\) / .*|\1|p' "$tree/etc/fstab")
is "mountpoints: the fstab view" "$(j '[.mountpoints[] | "\(.mountpoint)=\(.device)"] | join(" ")')" \
  "/=/dev/sda2 /boot=/dev/sda1"
is "filesystem of /: ext4, ROOT, the UUID fstab names it by, 40 MiB" \
  "$(j '.filesystems[] | select(.device == "/dev/sda2") | "\(.type) \(.label) \(.uuid) \(.size)"')" \
  "ext4 ROOT $root_uuid 41943040"
is "filesystem of /boot: ext4, the LABEL fstab names it by, 16 MiB" \
  "$(j '.filesystems[] | select(.device == "/dev/sda1") | "\(.type) \(.label) \(.size)"')" \
  "ext4 BOOT 16777216"
is "filesystems sorted by device" "$(j '[.filesystems[].device] | join(" ")')" \
  "/dev/sda1 /dev/sda2"

# ---- 3. applications: exactly the installed packages of the dpkg status ----------
# name and full Version of each stanza whose Status says "installed".
awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Status: /{s=$0}
  /^$/{ if (s ~ / installed$/) print p, v; p=v=s="" }
  END{ if (s ~ / installed$/) print p, v }' "$tree/var/lib/dpkg/status" |
  sort > "$tmp/dpkg.txt"
jq -r '.[0].applications[] | "\(.name) \(if .epoch > 0 then "\(.epoch):" else "" end)\(.version)\(if .release then "-\(.release)" else "" end)"' \
  "$tmp/linux.json" | sort > "$tmp/apps.txt"
if [ -s "$tmp/dpkg.txt" ] && diff -u "$tmp/dpkg.txt" "$tmp/apps.txt" > "$tmp/diff"; then
  ok "applications: exactly the installed dpkg packages, name and version"
else
  not_ok "applications: exactly the installed dpkg packages, name and version"
  sed 's/^/# /' "$tmp/diff"
fi
is "a removed package (config-files) is not listed" \
  "$(j '[.applications[] | select(.name == "openssh-server")] | length')" 0
a () { j ".applications[] | select(.name == \"libvdtest1\") | $1"; }
is "epoch, version and release split" "$(a '"\(.epoch) \(.version) \(.release)"')" \
  "2 1.0.5 3~bpo12+1"
is "package arch, source package, url" "$(a '"\(.arch) \(.source_package) \(.url)"')" \
  "all vdtest https://vdtools.example.org/"
is "summary" "$(a .summary)" "vdtools test package (an epoch, a source, a homepage)"
is "description (continuation lines)" "$(a .description)" \
  "Every field vd-inspect reports for a package.
.
A second paragraph."
is "no epoch is 0, no release is null" "$(j '.applications[] | select(.name == "base-files") | "\(.epoch) \(.release)"')" \
  "0 null"

# ---- 4. XML: the same report through vd-inspect's XML renderer --------------------
run_cmd xml err rc sh -c '"$0" < "$1"' "$top_builddir/tests/guest/inspect-json2xml" \
  "$tmp/linux.json"
is "the JSON holds every documented member (json2xml reads it back)" "$rc:$err" "0:"
printf '%s\n' "$xml" > "$tmp/linux.xml"
check "--xml: well-formed" xmllint --noout "$tmp/linux.xml"
rng_gz=/usr/share/doc/guestfs-tools/virt-inspector.rng.gz
if [ -r "$rng_gz" ]; then
  zcat "$rng_gz" > "$tmp/virt-inspector.rng"
  check "--xml: validates against virt-inspector's RELAX NG schema" \
    sh -c 'xmllint --noout --relaxng "$0" "$1" 2>/dev/null' \
    "$tmp/virt-inspector.rng" "$tmp/linux.xml"
else
  skip "virt-inspector.rng is not installed (guestfs-tools)"
fi

# The XML holds what the JSON holds.
x () { xmllint --xpath "$1" "$2"; }
os_line_xml () {
  x 'concat(//operatingsystem/root, "|", //operatingsystem/name, "|",
    //operatingsystem/arch, "|", //operatingsystem/distro, "|",
    //operatingsystem/product_name, "|", //operatingsystem/major_version, "|",
    //operatingsystem/minor_version, "|", //operatingsystem/package_format, "|",
    //operatingsystem/package_management, "|", //operatingsystem/hostname, "|",
    //operatingsystem/osinfo)' "$1"
}
os_line_json=$(j '[.root, .type, .arch, .distro, .product_name, .major_version,
  .minor_version, .package_format, .package_management, .hostname, .osinfo] |
  map(tostring) | join("|")')
is "--xml and --json: the same OS facts" "$(os_line_xml "$tmp/linux.xml")" "$os_line_json"
fs_xml () {
  x '//filesystem' "$1" | perl -0ne \
    'while (/<filesystem dev="([^"]*)">(.*?)<\/filesystem>/sg) { my ($d, $b) = ($1, $2);
       my %f = map { $b =~ /<$_>([^<]*)</ ? ($_ => $1) : ($_ => "null") } qw(type label uuid);
       print "$d $f{type} $f{label} $f{uuid}\n" }'
}
is "--xml and --json: the same filesystems" "$(fs_xml "$tmp/linux.xml")" \
  "$(j '.filesystems[] | "\(.device) \(.type) \(.label) \(.uuid)"')"
is "--xml and --json: the same mountpoints" \
  "$(x '//mountpoint' "$tmp/linux.xml" | sed -n 's|.*dev="\([^"]*\)">\([^<]*\)<.*|\2=\1|p' | tr '\n' ' ')" \
  "$(j '[.mountpoints[] | "\(.mountpoint)=\(.device)"] | join(" ")') "
apps_xml () {
  x '//application' "$1" | perl -0ne \
    'while (/<application>(.*?)<\/application>/sg) { my $b = $1;
       my ($n) = $b =~ /<name>([^<]*)</; my ($v) = $b =~ /<version>([^<]*)</;
       my ($e) = $b =~ /<epoch>([^<]*)</; my ($r) = $b =~ /<release>([^<]*)</;
       print "$n ", ($e ? "$e:" : ""), $v, (defined $r ? "-$r" : ""), "\n" }' | sort
}
apps_xml "$tmp/linux.xml" > "$tmp/apps-xml.txt"
if diff -u "$tmp/apps.txt" "$tmp/apps-xml.txt" > "$tmp/diff"; then
  ok "--xml and --json: the same applications"
else
  not_ok "--xml and --json: the same applications"
  sed 's/^/# /' "$tmp/diff"
fi

# ---- 5. virt-inspector on the same image (the oracle) ------------------------------
if command -v virt-inspector >/dev/null; then
  run_cmd vxml verr vrc virt-inspector --format=raw -a "$fixdir/linux.img"
  if [ "$vrc" = 0 ]; then
    # An icon is the one thing we never print (man page); this guest has
    # none, so nothing else is taken out.
    printf '%s\n' "$vxml" | sed '/<icon>/,/<\/icon>/d' > "$tmp/virt-inspector.xml"
    is "virt-inspector: the same OS facts" "$(os_line_xml "$tmp/virt-inspector.xml")" \
      "$os_line_json"
    apps_xml "$tmp/virt-inspector.xml" > "$tmp/apps-vi.txt"
    if diff -u "$tmp/apps-vi.txt" "$tmp/apps.txt" > "$tmp/diff"; then
      ok "virt-inspector: the same application names and versions"
    else
      not_ok "virt-inspector: the same application names and versions"
      sed 's/^/# /' "$tmp/diff"
    fi
    is "virt-inspector: the same filesystems" "$(fs_xml "$tmp/virt-inspector.xml")" \
      "$(fs_xml "$tmp/linux.xml")"
    # Element names, nesting, order, attributes and text: byte for byte.
    if diff -u "$tmp/virt-inspector.xml" "$tmp/linux.xml" > "$tmp/diff"; then
      ok "--xml prints what virt-inspector prints for the same image"
    else
      not_ok "--xml prints what virt-inspector prints for the same image"
      sed 's/^/# /' "$tmp/diff"
    fi
  else
    skip "virt-inspector failed here: $(printf '%s' "$verr" | head -1)"
  fi
else
  skip "virt-inspector is not installed (no oracle)"
fi

# ---- 6. a disk with no operating system (--xml, -a) -----------------------------------
run_cmd out err rc vd_inspect --xml --format=raw -a "$fixdir/blank.img"
is "no OS: exit 0" "$rc" 0
is "no OS: an empty <operatingsystems/>" "$out" '<?xml version="1.0"?>
<operatingsystems/>'
is "no OS: a note on stderr" "$err" \
  "vd-inspect: warning: no operating system was found on the guest's disks"

done_testing
