/* Unit tests for inspect/libvirt-domain.c: the disks taken out of a
 * libvirt domain XML string (no libvirt, no daemon), and the domain
 * lookup through libvirt's test driver (test:///PATH/node.xml, in-process,
 * no daemon): by name, by UUID, and a writing tool refusing a running
 * domain. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "inspect.h"
#include "test-helpers.h"
#include "vd.h"

static void
test_xml_takes_file_and_block_disks_only (void **state)
{
  static const char xml[] =
      "<domain type='kvm'><name>g</name><devices>"
      "<disk type='file' device='disk'>"
      "  <driver name='qemu' type='qcow2'/>"
      "  <source file='/var/lib/libvirt/images/g.qcow2'/>"
      "  <target dev='vda' bus='virtio'/></disk>"
      "<disk type='file' device='cdrom'>"
      "  <source file='/iso/install.iso'/><target dev='hdc'/><readonly/>"
      "</disk>"
      "<disk type='block' device='disk'>"
      "  <driver name='qemu' type='raw'/>"
      "  <source dev='/dev/vg/data'/><target dev='vdb'/><readonly/></disk>"
      "<disk type='file' device='floppy'><source file='/f.img'/></disk>"
      "<disk type='file'><source file='/no-device-attr.img'/>"
      "  <target dev='vdc'/></disk>"
      "<disk type='file' device='disk'><target dev='vdd'/></disk>"
      "</devices></domain>";
  struct inspect_disks d;

  (void) state;
  assert_int_equal (inspect_disks_from_xml (xml, "g", &d), 0);
  assert_int_equal (d.n, 3);
  assert_string_equal (d.v[0].filename, "/var/lib/libvirt/images/g.qcow2");
  assert_string_equal (d.v[0].format, "qcow2");
  assert_string_equal (d.v[0].target, "vda");
  assert_false (d.v[0].readonly);
  assert_string_equal (d.v[1].filename, "/dev/vg/data");
  assert_string_equal (d.v[1].format, "raw");
  assert_true (d.v[1].readonly);
  /* No device attribute means a disk; no driver type means "detect". */
  assert_string_equal (d.v[2].filename, "/no-device-attr.img");
  assert_null (d.v[2].format);
  assert_string_equal (d.v[2].target, "vdc");
  inspect_disks_free (&d);
  assert_int_equal (d.n, 0);
}

static void
test_xml_refuses_disks_it_cannot_add (void **state)
{
  static const struct {
    const char *xml;
    const char *msg;
  } cases[] = {
    { "<domain><devices><disk type='network' device='disk'>"
      "<source protocol='nbd' name='x'><host name='h'/></source>"
      "<target dev='vda'/></disk></devices></domain>",
      "domain g: disk vda is a network disk (protocol nbd); only local files "
      "and block devices can be added" },
    { "<domain><devices><disk type='volume' device='disk'>"
      "<source pool='default' volume='v'/><target dev='vdb'/></disk>"
      "</devices></domain>",
      "domain g: disk vdb has type 'volume'; only 'file' and 'block' disks "
      "can be added" },
    { "<domain><devices><disk type='file' device='cdrom'>"
      "<source file='/x.iso'/></disk></devices></domain>",
      "domain g has no disks" },
    { "<domain><devices/></domain>", "domain g has no disks" },
    { "<domain><devices><disk", "domain g: its XML description cannot be "
                                "parsed" },
    { "", "domain g: its XML description cannot be parsed" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct inspect_disks d = { (void *) 1, 99 };
    if (inspect_disks_from_xml (cases[i].xml, "g", &d) != -1)
      fail_msg ("case %zu was accepted", i);
    assert_string_equal (vd_error (), cases[i].msg);
    assert_null (d.v);
    assert_int_equal (d.n, 0);
  }
}

/* An external entity in the XML is not fetched: the XML is data. */
static void
test_xml_does_not_expand_external_entities (void **state)
{
  static const char xml[] =
      "<?xml version='1.0'?>"
      "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
      "<domain><devices><disk type='file' device='disk'>"
      "<source file='/a&x;b.img'/><target dev='vda'/></disk>"
      "</devices></domain>";
  struct inspect_disks d;

  (void) state;
  if (inspect_disks_from_xml (xml, "g", &d) == 0) {
    assert_int_equal (d.n, 1);
    assert_null (strstr (d.v[0].filename, "root:"));
    inspect_disks_free (&d);
  }
}

/* ---- libvirt's test driver ------------------------------------------------
 */

static char node_uri[600];

static int
node_setup (void **state)
{
  FILE *fp;

  if (test_dir_setup (state) == -1)
    return -1;
  fp = fopen (test_path ("node.xml"), "w");
  if (!fp)
    return -1;
  fprintf (fp,
           "<node>"
           "<domain type='test'><name>running</name>"
           "<uuid>11111111-2222-3333-4444-555555555555</uuid>"
           "<memory>65536</memory><os><type>hvm</type></os><devices>"
           "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
           "<source file='/images/running.img'/><target dev='vda'/></disk>"
           "</devices></domain>"
           "<domain type='test' "
           "xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
           "<name>stopped</name><memory>65536</memory>"
           "<os><type>hvm</type></os><devices>"
           "<disk type='file' device='disk'>"
           "<source file='/images/stopped.img'/><target dev='vda'/></disk>"
           "</devices><test:runstate>5</test:runstate></domain>"
           "</node>\n");
  if (fclose (fp) != 0)
    return -1;
  snprintf (node_uri, sizeof node_uri, "test://%s", test_path ("node.xml"));
  return 0;
}

static void
test_domain_by_name_and_uuid (void **state)
{
  struct inspect_disks d;

  (void) state;
  assert_int_equal (inspect_domain_disks (node_uri, "running", false, &d), 0);
  assert_int_equal (d.n, 1);
  assert_string_equal (d.v[0].filename, "/images/running.img");
  assert_string_equal (d.v[0].format, "raw");
  inspect_disks_free (&d);

  assert_int_equal (
      inspect_domain_disks (node_uri, "11111111-2222-3333-4444-555555555555",
                            false, &d),
      0);
  assert_int_equal (d.n, 1);
  assert_string_equal (d.v[0].filename, "/images/running.img");
  inspect_disks_free (&d);
}

static void
test_domain_unknown_is_refused (void **state)
{
  struct inspect_disks d;

  (void) state;
  assert_int_equal (inspect_domain_disks (node_uri, "nosuch", false, &d), -1);
  assert_int_equal (vd_errno (), ENOENT);
  assert_non_null (strstr (vd_error (), "nosuch: no libvirt domain has that "
                                        "name or UUID"));
  assert_int_equal (d.n, 0);
}

static void
test_domain_running_is_refused_for_writing (void **state)
{
  struct inspect_disks d;

  (void) state;
  assert_int_equal (inspect_domain_disks (node_uri, "running", true, &d), -1);
  assert_int_equal (vd_errno (), EBUSY);
  assert_string_equal (vd_error (),
                       "domain running is running: writing to the disks of a "
                       "live guest would corrupt them; shut it down first");
  /* A shut-off domain may be written. */
  assert_int_equal (inspect_domain_disks (node_uri, "stopped", true, &d), 0);
  assert_int_equal (d.n, 1);
  assert_string_equal (d.v[0].filename, "/images/stopped.img");
  inspect_disks_free (&d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_xml_takes_file_and_block_disks_only),
    cmocka_unit_test (test_xml_refuses_disks_it_cannot_add),
    cmocka_unit_test (test_xml_does_not_expand_external_entities),
    cmocka_unit_test (test_domain_by_name_and_uuid),
    cmocka_unit_test (test_domain_unknown_is_refused),
    cmocka_unit_test (test_domain_running_is_refused_for_writing),
  };

  return cmocka_run_group_tests (tests, node_setup, test_dir_teardown);
}
