/* Unit tests for the raw driver and the image layer over it: create
 * (sparse, preallocated, atomic), read/write/zero, block_status on a
 * sparse file, read-only opens. */
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

#include "vd-internal.h"
#include "test-helpers.h"

#define MiB (UINT64_C (1) << 20)

static int
setup (void **state)
{
  return test_dir_setup (state);
}

static void
test_create_is_sparse_and_sized (void **state)
{
  const char *p = test_path ("a.raw");
  struct stat st;

  (void) state;
  assert_int_equal (vd_create (p, "raw", 64 * MiB, NULL, 0), 0);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_size, 64 * MiB);
  assert_true ((uint64_t) st.st_blocks * 512 < MiB);
  unlink (p);
}

static void
test_create_refuses_existing_without_force (void **state)
{
  const char *p = test_path ("exists.raw");
  int fd = open (p, O_CREAT | O_WRONLY, 0644);
  struct stat st;
  int before;

  (void) state;
  assert_int_equal (write (fd, "keep", 4), 4);
  close (fd);
  before = test_dir_count ();
  assert_int_equal (vd_create (p, "raw", MiB, NULL, 0), -1);
  assert_int_equal (vd_errno (), EEXIST);
  assert_non_null (strstr (vd_error (), "exists.raw"));
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_size, 4);
  assert_int_equal (test_dir_count (), before); /* no temp file left */
  assert_int_equal (vd_create (p, "raw", MiB, NULL, VD_CREATE_FORCE), 0);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_size, MiB);
  unlink (p);
}

static void
test_create_bad_option_leaves_nothing (void **state)
{
  const char *p = test_path ("bad.raw");
  struct vd_opts o = { 0 };
  int before = test_dir_count ();

  (void) state;
  assert_int_equal (vd_opts_parse (&o, "foo=bar"), 0);
  assert_int_equal (vd_create (p, "raw", MiB, &o, 0), -1);
  assert_non_null (strstr (vd_error (), "foo"));
  vd_opts_free (&o);
  assert_int_equal (vd_opts_parse (&o, "preallocation=bogus"), 0);
  assert_int_equal (vd_create (p, "raw", MiB, &o, 0), -1);
  assert_non_null (strstr (vd_error (), "bogus"));
  vd_opts_free (&o);
  assert_int_equal (vd_create (p, "nosuchformat", MiB, NULL, 0), -1);
  assert_int_equal (test_dir_count (), before);
  assert_int_equal (access (p, F_OK), -1);
}

static void
test_create_preallocation (void **state)
{
  const char *modes[] = { "falloc", "full" };
  size_t i;

  (void) state;
  for (i = 0; i < 2; i++) {
    const char *p = test_path ("pre.raw");
    struct vd_opts o = { 0 };
    struct stat st;
    char opt[64];

    snprintf (opt, sizeof opt, "preallocation=%s", modes[i]);
    assert_int_equal (vd_opts_parse (&o, opt), 0);
    assert_int_equal (vd_create (p, "raw", 4 * MiB, &o, 0), 0);
    vd_opts_free (&o);
    assert_int_equal (stat (p, &st), 0);
    assert_int_equal (st.st_size, 4 * MiB);
    assert_true ((uint64_t) st.st_blocks * 512 >= 4 * MiB);
    unlink (p);
  }
}

static void
test_read_write_zero_block_status (void **state)
{
  const char *p = test_path ("rw.raw");
  vd_image *img;
  uint8_t buf[65536], back[65536];
  struct vd_extent e;
  size_t i;

  (void) state;
  assert_int_equal (vd_create (p, "raw", 16 * MiB, NULL, 0), 0);
  img = vd_open (p, "raw", VD_OPEN_RDWR);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), 16 * MiB);
  assert_string_equal (vd_get_format (img), "raw");
  for (i = 0; i < sizeof buf; i++)
    buf[i] = i * 7 + 1;
  assert_int_equal (vd_pwrite (img, buf, sizeof buf, 8 * MiB), 0);
  assert_int_equal (vd_pread (img, back, sizeof back, 8 * MiB), 0);
  assert_memory_equal (buf, back, sizeof buf);

  /* The start is a hole: reads as zeros, reported as ZERO. */
  assert_int_equal (vd_block_status (img, 0, 16 * MiB, &e), 0);
  assert_int_equal (e.offset, 0);
  assert_true (e.flags & VD_EXT_ALLOCATED);
  if (!(e.flags & VD_EXT_DATA)) {
    assert_true (e.flags & VD_EXT_ZERO);
    assert_true (e.length <= 8 * MiB);
    assert_int_equal (vd_block_status (img, 8 * MiB, 8 * MiB, &e), 0);
    assert_true (e.flags & VD_EXT_DATA);
    assert_true (e.length >= sizeof buf);
  }

  /* Zero with unmap: reads zero afterwards. */
  assert_int_equal (vd_zero (img, 8 * MiB, sizeof buf, VD_ZERO_MAY_UNMAP), 0);
  assert_int_equal (vd_pread (img, back, sizeof back, 8 * MiB), 0);
  assert_true (vd_is_zero (back, sizeof back));
  assert_int_equal (vd_zero (img, 8 * MiB + 100, 1000, 0), 0);

  /* Out of range requests are refused, not clamped. */
  assert_int_equal (vd_pread (img, back, 2, 16 * MiB - 1), -1);
  assert_non_null (strstr (vd_error (), "past the end"));
  assert_int_equal (vd_pwrite (img, back, 1, UINT64_MAX), -1);
  assert_int_equal (vd_block_status (img, 16 * MiB, 1, &e), -1);
  assert_int_equal (vd_close (img), 0);
  unlink (p);
}

static void
test_readonly_open_never_writes (void **state)
{
  const char *p = test_path ("ro.raw");
  vd_image *img;
  struct stat st1, st2;
  uint8_t b[512] = { 1 };

  (void) state;
  assert_int_equal (vd_create (p, "raw", MiB, NULL, 0), 0);
  assert_int_equal (stat (p, &st1), 0);
  img = vd_open (p, NULL, 0);
  assert_non_null (img);
  assert_true (vd_is_readonly (img));
  assert_int_equal (vd_pwrite (img, b, sizeof b, 0), -1);
  assert_int_equal (vd_errno (), EROFS);
  assert_int_equal (vd_zero (img, 0, 512, 0), -1);
  assert_int_equal (vd_truncate (img, 2 * MiB, 0), -1);
  assert_int_equal (vd_discard (img, 0, 512), -1);
  assert_int_equal (vd_close (img), 0);
  assert_int_equal (stat (p, &st2), 0);
  assert_int_equal (st1.st_size, st2.st_size);
  assert_int_equal (st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
  assert_int_equal (st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
  unlink (p);
}

static void
test_truncate_grow_and_shrink_flag (void **state)
{
  const char *p = test_path ("t.raw");
  vd_image *img;

  (void) state;
  assert_int_equal (vd_create (p, "raw", MiB, NULL, 0), 0);
  img = vd_open (p, "raw", VD_OPEN_RDWR);
  assert_int_equal (vd_truncate (img, 2 * MiB, 0), 0);
  assert_int_equal (vd_get_size (img), 2 * MiB);
  assert_int_equal (vd_truncate (img, MiB, 0), -1);
  assert_non_null (strstr (vd_error (), "shrink"));
  assert_int_equal (vd_truncate (img, MiB, VD_TRUNCATE_SHRINK), 0);
  assert_int_equal (vd_get_size (img), MiB);
  vd_close (img);
  unlink (p);
}

static void
test_info_common_fields (void **state)
{
  const char *p = test_path ("i.raw");
  vd_image *img;
  struct vd_info info;

  (void) state;
  assert_int_equal (vd_create (p, "raw", 3 * MiB, NULL, 0), 0);
  img = vd_open (p, NULL, 0);
  assert_int_equal (vd_get_info (img, &info), 0);
  assert_string_equal (info.format, "raw");
  assert_string_equal (info.filename, p);
  assert_int_equal (info.virtual_size, 3 * MiB);
  assert_true (info.actual_size >= 0);
  assert_int_equal (info.cluster_size, 0);
  assert_null (info.backing_filename);
  assert_null (info.format_specific);
  vd_info_free (&info);
  vd_close (img);
  unlink (p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_create_is_sparse_and_sized),
    cmocka_unit_test (test_create_refuses_existing_without_force),
    cmocka_unit_test (test_create_bad_option_leaves_nothing),
    cmocka_unit_test (test_create_preallocation),
    cmocka_unit_test (test_read_write_zero_block_status),
    cmocka_unit_test (test_readonly_open_never_writes),
    cmocka_unit_test (test_truncate_grow_and_shrink_flag),
    cmocka_unit_test (test_info_common_fields),
  };
  return cmocka_run_group_tests (tests, setup, test_dir_teardown);
}
