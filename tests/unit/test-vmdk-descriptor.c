/* Unit tests for the VMDK text descriptor parser (lib/vmdk-descriptor.c):
 * good descriptors in several spellings, a table of bad ones (each must
 * be refused with a message naming the file and the problem), and CID
 * rewriting that keeps every other byte. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmdk.h"

static const char good[] = "# Disk DescriptorFile\n"
                           "version=1\n"
                           "encoding=\"UTF-8\"\n"
                           "CID=5218073d\n"
                           "parentCID=ffffffff\n"
                           "createType=\"twoGbMaxExtentFlat\"\n"
                           "\n"
                           "# Extent description\n"
                           "RW 4194304 FLAT \"a-f001.vmdk\" 0\n"
                           "RDONLY 2048 FLAT \"a b.vmdk\" 16\n"
                           "RW 100 ZERO\n"
                           "NOACCESS 8 SPARSE \"s.vmdk\"\n"
                           "RW 16 VMFS \"v-flat.vmdk\"\n"
                           "\n"
                           "#DDB\n"
                           "ddb.virtualHWVersion = \"4\"\n"
                           "ddb.uuid.image=\"x-y\"\n"
                           "ddb.adapterType = \"lsilogic\"\n";

static void
test_good_descriptor_is_parsed (void **state)
{
  struct vmdk_desc d;

  (void) state;
  assert_int_equal (vmdk_desc_parse ("a.vmdk", good, strlen (good), &d), 0);
  assert_int_equal (d.version, 1);
  assert_int_equal (d.cid, 0x5218073d);
  assert_int_equal (d.parent_cid, 0xffffffff);
  assert_string_equal (d.create_type, "twoGbMaxExtentFlat");
  assert_null (d.parent_hint);
  assert_int_equal (d.nr_extents, 5);
  assert_int_equal (d.extents[0].access, VMDK_ACCESS_RW);
  assert_int_equal (d.extents[0].sectors, 4194304);
  assert_int_equal (d.extents[0].type, VMDK_EXT_FLAT);
  assert_string_equal (d.extents[0].filename, "a-f001.vmdk");
  assert_int_equal (d.extents[1].access, VMDK_ACCESS_RDONLY);
  assert_string_equal (d.extents[1].filename, "a b.vmdk");
  assert_int_equal (d.extents[1].offset, 16);
  assert_int_equal (d.extents[2].type, VMDK_EXT_ZERO);
  assert_null (d.extents[2].filename);
  assert_int_equal (d.extents[3].access, VMDK_ACCESS_NOACCESS);
  assert_int_equal (d.extents[3].type, VMDK_EXT_SPARSE);
  assert_int_equal (d.extents[4].type, VMDK_EXT_VMFS);
  assert_string_equal (d.extents[4].type_name, "VMFS");
  assert_int_equal (d.total_sectors, 4194304 + 2048 + 100 + 8 + 16);
  /* Unknown keys are kept, in order, without their quotes. */
  assert_string_equal (vmdk_desc_get (&d, "encoding"), "UTF-8");
  assert_string_equal (vmdk_desc_get (&d, "ddb.uuid.image"), "x-y");
  assert_string_equal (vmdk_desc_get (&d, "ddb.adapterType"), "lsilogic");
  assert_null (vmdk_desc_get (&d, "ddb.nothere"));
  vmdk_desc_free (&d);
}

static void
test_crlf_padding_and_parent (void **state)
{
  static const char text[] = "version=1\r\n"
                             "CID=fffffffe\r\n"
                             "parentCID=12345678\r\n"
                             "createType=\"monolithicSparse\"\r\n"
                             "parentFileNameHint=\"../base.vmdk\"\r\n"
                             "RW 128 SPARSE \"x.vmdk\"\r\n"
                             "RW 0 SPARSE \"empty.vmdk\"\r\n"
                             "\0\0\0\0\0\0\0\0\0\0\0\0";
  struct vmdk_desc d;

  (void) state;
  assert_int_equal (vmdk_desc_parse ("x.vmdk", text, sizeof text, &d), 0);
  assert_int_equal (d.cid, 0xfffffffe);
  assert_int_equal (d.parent_cid, 0x12345678);
  assert_string_equal (d.parent_hint, "../base.vmdk");
  assert_string_equal (d.extents[0].filename, "x.vmdk");
  assert_int_equal (d.nr_extents, 1); /* empty extents add nothing */
  vmdk_desc_free (&d);
}

static void
test_cid_rewrite_keeps_the_rest (void **state)
{
  struct vmdk_desc d, d2;
  char *t;
  size_t len;
  const char *p;

  (void) state;
  assert_int_equal (vmdk_desc_parse ("a.vmdk", good, strlen (good), &d), 0);
  t = vmdk_desc_with_cid (&d, 0xabc, &len);
  assert_non_null (t);
  assert_int_equal (len, strlen (good));
  p = strstr (t, "CID=00000abc\n");
  assert_non_null (p);
  /* Everything else is byte for byte the same. */
  assert_memory_equal (t, good, p - t + 4);
  assert_string_equal (p + 12, good + (p - t) + 12);
  assert_int_equal (vmdk_desc_parse ("a.vmdk", t, len, &d2), 0);
  assert_int_equal (d2.cid, 0xabc);
  assert_int_equal (d2.parent_cid, 0xffffffff);
  vmdk_desc_free (&d2);
  free (t);
  vmdk_desc_free (&d);

  /* A short CID grows to 8 digits; the text moves along. */
  {
    static const char s[] = "version=1\nCID=1\nparentCID=ffffffff\n"
                            "createType=\"vmfs\"\n# end\n";
    assert_int_equal (vmdk_desc_parse ("b", s, strlen (s), &d), 0);
    t = vmdk_desc_with_cid (&d, 0x12345678, &len);
    assert_string_equal (t, "version=1\nCID=12345678\nparentCID=ffffffff\n"
                            "createType=\"vmfs\"\n# end\n");
    free (t);
    vmdk_desc_free (&d);
  }
}

#define HEAD "version=1\nCID=1\nparentCID=ffffffff\ncreateType=\"vmfs\"\n"

static const struct {
  const char *text;
  const char *message; /* must appear in the error */
} bad[] = {
  { "CID=1\nparentCID=ffffffff\ncreateType=\"vmfs\"\n", "no version" },
  { "version=1\nparentCID=ffffffff\ncreateType=\"vmfs\"\n", "no CID" },
  { "version=1\nCID=1\ncreateType=\"vmfs\"\n", "no parentCID" },
  { "version=1\nCID=1\nparentCID=ffffffff\n", "no createType" },
  { "version=4\nCID=1\nparentCID=ffffffff\ncreateType=\"vmfs\"\n",
    "line 1: unsupported descriptor version" },
  { HEAD "version=1\n", "line 5: the version is given twice" },
  { HEAD "CID=2\n", "line 5: the CID is given twice" },
  { HEAD "createType=\"x\"\n", "createType is given twice" },
  { "version=1\nCID=xyz\nparentCID=ffffffff\ncreateType=\"vmfs\"\n",
    "line 2: the CID is not a 32-bit hex number" },
  { "version=1\nCID=123456789\nparentCID=ffffffff\ncreateType=\"vmfs\"\n",
    "the CID is not a 32-bit hex number" },
  { "version=1\nCID=1\nparentCID=-1\ncreateType=\"vmfs\"\n",
    "parentCID is not a 32-bit hex number" },
  { HEAD "just some words\n", "line 5: neither a 'key = value' line" },
  { HEAD " = 3\n", "empty key" },
  { HEAD "bad key!=3\n", "bad character in the key" },
  { HEAD "k=\"open\n", "no closing quote" },
  { HEAD "k=a\"b\n", "stray quote" },
  { HEAD "k=\"a\"b\"\n", "stray quote" },
  { HEAD "k=a\x01z\n", "control character" },
  { HEAD "createType2=\"\"\nparentFileNameHint=\"\"\n",
    "parentFileNameHint is empty" },
  { HEAD "RW x FLAT \"f\" 0\n", "line 5: the extent size is not a number" },
  { HEAD "RW -5 FLAT \"f\" 0\n", "not a number" },
  { HEAD "RW 0 FLAT \"f\"\n", "a FLAT extent needs an offset" },
  { HEAD "RW 99999999999999999999 FLAT \"f\" 0\n", "not a number" },
  { HEAD "RW 8 BOGUS \"f\"\n", "unknown extent type" },
  { HEAD "RW 8 FLAT f 0\n", "no quoted file name" },
  { HEAD "RW 8 FLAT \"f 0\n", "no closing quote" },
  { HEAD "RW 8 FLAT \"\" 0\n", "file name is empty" },
  { HEAD "RW 8 FLAT \"f\"x 0\n", "junk after the extent's file name" },
  { HEAD "RW 8 FLAT \"f\"\n", "a FLAT extent needs an offset" },
  { HEAD "RW 8 FLAT \"f\" 0 9\n", "junk at the end of the extent" },
  { HEAD "RW 8 FLAT \"f\" x\n", "unexpected field" },
  { HEAD "RW 8 SPARSE \"f\" 0\n", "unexpected field" },
  { HEAD "RW 8 ZERO 0\n", "unexpected field" },
  { HEAD "RW 4611686018427387904 FLAT \"f\" 0\n",
    "add up to more than the largest image size" },
  { HEAD "RW 9007199254740990 FLAT \"f\" 0\n"
         "RW 9007199254740990 FLAT \"g\" 0\n",
    "line 6: the extents add up" },
};

static void
test_bad_descriptors_are_refused (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct vmdk_desc d;
    int r = vmdk_desc_parse ("bad.vmdk", bad[i].text, strlen (bad[i].text), &d);
    if (r != -1 || !strstr (vd_error (), bad[i].message)
        || strncmp (vd_error (), "bad.vmdk: ", 10) != 0)
      fail_msg ("case %zu: r=%d, error '%s', expected '%s'", i, r, vd_error (),
                bad[i].message);
    vmdk_desc_free (&d);
  }
}

static void
test_limits (void **state)
{
  struct vmdk_desc d;
  char *big;
  size_t i, n;

  (void) state;
  /* Data after the NUL that ends the text. */
  {
    static const char t[] = HEAD "\0junk";
    assert_int_equal (vmdk_desc_parse ("n.vmdk", t, sizeof t - 1, &d), -1);
    assert_non_null (strstr (vd_error (), "data after a NUL"));
    vmdk_desc_free (&d);
  }
  /* Too large. */
  n = VMDK_MAX_DESC + 1;
  big = calloc (1, n);
  assert_non_null (big);
  assert_int_equal (vmdk_desc_parse ("big.vmdk", big, n, &d), -1);
  assert_non_null (strstr (vd_error (), "more than the limit"));
  vmdk_desc_free (&d);
  free (big);
  /* Too many extents. */
  n = strlen (HEAD) + (VMDK_MAX_EXTENTS + 1) * 16 + 1;
  big = malloc (n);
  assert_non_null (big);
  strcpy (big, HEAD);
  for (i = 0; i <= VMDK_MAX_EXTENTS; i++)
    strcat (big, "RW 8 FLAT \"f\" 0\n");
  assert_int_equal (vmdk_desc_parse ("many.vmdk", big, strlen (big), &d), -1);
  assert_non_null (strstr (vd_error (), "more than 4096 extents"));
  vmdk_desc_free (&d);
  free (big);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_good_descriptor_is_parsed),
    cmocka_unit_test (test_crlf_padding_and_parent),
    cmocka_unit_test (test_cid_rewrite_keeps_the_rest),
    cmocka_unit_test (test_bad_descriptors_are_refused),
    cmocka_unit_test (test_limits),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
