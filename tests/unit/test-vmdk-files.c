/* Unit tests for the VMDK driver with real files: multi-file creates
 * (descriptor + extents) are atomic, descriptor extents are resolved
 * safely and checked, backing chains (parentFileNameHint, CIDs, copy on
 * write). */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "vmdk.h"
#include "test-helpers.h"

#define KiB (UINT64_C (1) << 10)
#define MiB (UINT64_C (1) << 20)
#define GiB (UINT64_C (1) << 30)

static int
setup (void **state)
{
  return test_dir_setup (state);
}

static bool
exists (const char *name)
{
  return access (test_path (name), F_OK) == 0;
}

static void
write_file (const char *name, const char *text)
{
  int fd = open (test_path (name), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
}

static void
create (const char *name, const char *opts, uint64_t size, unsigned flags,
        int expect)
{
  struct vd_opts o = { 0 };
  int r;

  if (opts)
    assert_int_equal (vd_opts_parse (&o, opts), 0);
  r = vd_create (test_path (name), "vmdk", size, &o, flags);
  vd_opts_free (&o);
  if (r != expect)
    fail_msg ("create %s (%s): %d: %s", name, opts ? opts : "", r, vd_error ());
}

static void
test_split_create_is_atomic (void **state)
{
  int before = test_dir_count ();
  vd_image *img;
  uint8_t b[4096];

  (void) state;
  create ("s.vmdk", "subformat=twoGbMaxExtentSparse", 5 * GiB, 0, 0);
  assert_true (exists ("s.vmdk") && exists ("s-s001.vmdk")
               && exists ("s-s002.vmdk") && exists ("s-s003.vmdk"));
  assert_false (exists ("s-s004.vmdk"));
  assert_int_equal (test_dir_count (), before + 4);
  img = vd_open (test_path ("s.vmdk"), NULL, VD_OPEN_RDWR);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), 5 * GiB);
  /* Across the first extent boundary. */
  memset (b, 0x3c, sizeof b);
  assert_int_equal (vd_pwrite (img, b, sizeof b, 2 * GiB - 1000), 0);
  assert_int_equal (vd_close (img), 0);
  img = vd_open (test_path ("s.vmdk"), NULL, 0);
  memset (b, 0, sizeof b);
  assert_int_equal (vd_pread (img, b, sizeof b, 2 * GiB - 1000), 0);
  assert_int_equal (b[0], 0x3c);
  assert_int_equal (b[4095], 0x3c);
  vd_close (img);

  /* An extent name that exists: refused, nothing new left behind, the
   * existing file untouched. */
  write_file ("t-f002.vmdk", "keep");
  before = test_dir_count ();
  create ("t.vmdk", "subformat=twoGbMaxExtentFlat", 5 * GiB, 0, -1);
  assert_int_equal (vd_errno (), EEXIST);
  assert_non_null (strstr (vd_error (), "t-f002.vmdk"));
  assert_int_equal (test_dir_count (), before);
  assert_false (exists ("t.vmdk") || exists ("t-f001.vmdk"));
  /* With force it replaces. */
  create ("t.vmdk", "subformat=twoGbMaxExtentFlat", 5 * GiB, VD_CREATE_FORCE,
          0);
  assert_int_equal (test_dir_count (), before + 3);
  img = vd_open (test_path ("t.vmdk"), NULL, 0);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), 5 * GiB);
  assert_int_equal (vd_get_cluster_size (img), 0);
  vd_close (img);

  /* Failures found before anything is written leave nothing either. */
  before = test_dir_count ();
  create ("u.vmdk", "subformat=monolithicFlat,backing_file=none.vmdk", MiB, 0,
          -1);
  create ("v.vmdk", "backing_file=nothere.vmdk", MiB, 0, -1);
  assert_non_null (strstr (vd_error (), "cannot open the backing file"));
  assert_int_equal (test_dir_count (), before);
}

static void
test_backing_chain (void **state)
{
  vd_image *base, *top;
  static uint8_t a[128 * KiB], b[128 * KiB];
  struct vmdk_priv *bp, *tp;
  struct vd_extent e;

  (void) state;
  memset (a, 0x11, sizeof a);
  create ("base.vmdk", NULL, 4 * MiB, 0, 0);
  base = vd_open (test_path ("base.vmdk"), NULL, VD_OPEN_RDWR);
  assert_int_equal (vd_pwrite (base, a, sizeof a, 0), 0);
  assert_int_equal (vd_close (base), 0);
  create ("top.vmdk", "backing_file=base.vmdk,backing_fmt=vmdk", 4 * MiB, 0, 0);
  /* A raw backing file is refused. */
  write_file ("r.raw", "raw");
  create ("bad.vmdk", "backing_file=r.raw", MiB, 0, -1);
  assert_non_null (strstr (vd_error (), "is a raw image"));

  top = vd_open (test_path ("top.vmdk"), NULL, VD_OPEN_RDWR);
  assert_non_null (top);
  assert_non_null (vd_get_backing (top));
  bp = vd_get_backing (top)->priv;
  tp = top->priv;
  assert_int_equal (tp->parent_cid, bp->cid);
  assert_string_equal (top->backing_name, "base.vmdk");
  assert_string_equal (top->backing_format, "vmdk");
  /* Copy on write of a partial grain. */
  memset (b, 0x22, 100);
  assert_int_equal (vd_pwrite (top, b, 100, 1000), 0);
  assert_int_equal (vd_pread (top, b, sizeof b, 0), 0);
  memset (a + 1000, 0x22, 100);
  assert_memory_equal (a, b, sizeof a);
  assert_int_equal (vd_block_status (top, 64 * KiB, 4 * MiB, &e), 0);
  assert_int_equal (e.depth, 1);
  assert_true (e.flags & VD_EXT_DATA);
  assert_int_equal (vd_close (top), 0);

  /* Writing the base gives it a new CID: the child's reads of the base
   * are refused, as VMware and qemu do. */
  base = vd_open (test_path ("base.vmdk"), NULL, VD_OPEN_RDWR);
  assert_int_equal (vd_pwrite (base, a, 512, 3 * MiB), 0);
  assert_int_equal (vd_close (base), 0);
  top = vd_open (test_path ("top.vmdk"), NULL, 0);
  assert_non_null (top);
  assert_int_equal (vd_pread (top, b, 512, 0), 0); /* its own grain */
  assert_int_equal (vd_pread (top, b, 512, 2 * MiB), -1);
  assert_non_null (strstr (vd_error (), "does not match the CID"));
  vd_close (top);
}

static const struct {
  const char *extent_line;
  unsigned flags;
  const char *message;
} bad_extents[] = {
  { "RW 8 FLAT \"/etc/passwd\" 0", 0, "is an absolute path" },
  { "RW 8 FLAT \"../x.raw\" 0", 0, "leads out of the image's folder" },
  { "RW 8 FLAT \"a/../../x.raw\" 0", 0, "leads out" },
  { "RW 8 FLAT \"missing.raw\" 0", 0, "cannot open extent 1" },
  { "RW 8 FLAT \"data.raw\" 0\nRW 8 FLAT \"data.raw\" 1", 0,
    "extent 2 ('data.raw') is 4096 bytes, too short" },
  { "RW 9 FLAT \"data.raw\" 0", 0, "too short" },
  { "NOACCESS 8 FLAT \"data.raw\" 0", 0, "is marked NOACCESS" },
  { "RDONLY 8 FLAT \"data.raw\" 0", VD_OPEN_RDWR, "is read-only (RDONLY)" },
  { "RW 8 VMFSSPARSE \"data.raw\"", 0, "type VMFSSPARSE, which is not" },
  { "RW 8 VMFSRDM \"data.raw\"", 0, "not supported" },
  { "RW 8 SPARSE \"data.raw\"", 0, "not a VMDK sparse extent" },
  { "RW 8 SPARSE \"sp.vmdk\"", 0,
    "holds 2048 sectors, but the descriptor "
    "says 8" },
};

static void
test_descriptor_extents (void **state)
{
  static char text[1024];
  static uint8_t data[4096];
  vd_image *img;
  size_t i;
  int fd;

  (void) state;
  fd = open (test_path ("data.raw"), O_CREAT | O_WRONLY, 0644);
  memset (data, 0x5a, sizeof data);
  assert_int_equal (write (fd, data, sizeof data), (ssize_t) sizeof data);
  close (fd);
  create ("sp.vmdk", NULL, MiB, 0, 0);
  for (i = 0; i < sizeof bad_extents / sizeof bad_extents[0]; i++) {
    snprintf (text, sizeof text,
              "# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
              "createType=\"monolithicFlat\"\n%s\n",
              bad_extents[i].extent_line);
    write_file ("d.vmdk", text);
    img = vd_open (test_path ("d.vmdk"), NULL, bad_extents[i].flags);
    if (img || !strstr (vd_error (), bad_extents[i].message))
      fail_msg ("'%s': %s", bad_extents[i].extent_line,
                img ? "opened" : vd_error ());
  }

  /* A good one: flat extent at an offset, a ZERO extent, vmfs. */
  write_file ("ok.vmdk", "version=1\nCID=1\nparentCID=ffffffff\n"
                         "createType=\"vmfs\"\n"
                         "RW 4 VMFS \"data.raw\"\nRW 100 ZERO\n"
                         "RDONLY 2 FLAT \"data.raw\" 6\n");
  img = vd_open (test_path ("ok.vmdk"), NULL, 0);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), 106 * 512);
  {
    uint8_t b[106 * 512];
    struct vd_info info;
    assert_int_equal (vd_pread (img, b, sizeof b, 0), 0);
    assert_memory_equal (b, data, 2048);
    assert_true (vd_is_zero (b + 2048, 100 * 512));
    assert_memory_equal (b + 2048 + 100 * 512, data, 1024);
    assert_int_equal (vd_get_info (img, &info), 0);
    assert_non_null (info.format_specific);
    vd_info_free (&info);
  }
  vd_close (img);

  /* Names outside the folder work when the caller allows it. */
  mkdir (test_path ("sub"), 0755);
  write_file ("sub/up.vmdk", "version=1\nCID=1\nparentCID=ffffffff\n"
                             "createType=\"monolithicFlat\"\n"
                             "RW 8 FLAT \"../data.raw\" 0\n");
  assert_null (vd_open (test_path ("sub/up.vmdk"), NULL, 0));
  img = vd_open (test_path ("sub/up.vmdk"), NULL, VD_OPEN_UNSAFE_PATHS);
  assert_non_null (img);
  vd_close (img);
  unlink (test_path ("sub/up.vmdk"));
  rmdir (test_path ("sub"));

  /* An unsupported createType. */
  write_file ("ct.vmdk", "version=1\nCID=1\nparentCID=ffffffff\n"
                         "createType=\"fullDevice\"\n");
  assert_null (vd_open (test_path ("ct.vmdk"), NULL, 0));
  assert_non_null (strstr (vd_error (), "createType 'fullDevice' is not "
                                        "supported"));
}

static void
test_descriptor_cid_rewrite (void **state)
{
  vd_image *img;
  uint8_t b[512] = { 1 };
  struct stat st;
  char buf[2048];
  int fd;
  ssize_t n;

  (void) state;
  create ("f.vmdk", "subformat=monolithicFlat", MiB, 0, 0);
  assert_int_equal (stat (test_path ("f.vmdk"), &st), 0);
  img = vd_open (test_path ("f.vmdk"), NULL, VD_OPEN_RDWR);
  assert_non_null (img);
  {
    uint32_t old = ((struct vmdk_priv *) img->priv)->cid;
    assert_int_equal (vd_pwrite (img, b, sizeof b, 0), 0);
    assert_int_not_equal (((struct vmdk_priv *) img->priv)->cid, old);
  }
  vd_close (img);
  /* Same length, still a valid descriptor naming the same extent. */
  fd = open (test_path ("f.vmdk"), O_RDONLY);
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  assert_int_equal (n, st.st_size);
  buf[n] = 0;
  assert_non_null (strstr (buf, "RW 2048 FLAT \"f-flat.vmdk\" 0\n"));
  img = vd_open (test_path ("f.vmdk"), NULL, 0);
  assert_non_null (img);
  vd_close (img);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_split_create_is_atomic),
    cmocka_unit_test (test_backing_chain),
    cmocka_unit_test (test_descriptor_extents),
    cmocka_unit_test (test_descriptor_cid_rewrite),
  };
  return cmocka_run_group_tests (tests, setup, test_dir_teardown);
}
