/* Unit tests for the I/O layer: the memory and file backends, holes, and
 * qemu-compatible image locks. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vd-internal.h"
#include "test-helpers.h"

static void
test_mem_read_write_and_eof (void **state)
{
  struct vd_io *io = vd_io_mem_new ("mem", "abcdef", 6, 100, false);
  char buf[16];
  const uint8_t *d;
  size_t len;

  (void) state;
  assert_non_null (io);
  assert_int_equal (vd_io_size (io), 6);
  assert_int_equal (vd_io_pread (io, buf, 3, 2), 0);
  assert_memory_equal (buf, "cde", 3);
  /* Past the end: an error that names the file, never zeros. */
  assert_int_equal (vd_io_pread (io, buf, 4, 4), -1);
  assert_non_null (strstr (vd_error (), "mem"));
  assert_int_equal (vd_io_pwrite (io, "XY", 2, 10), 0);
  d = vd_io_mem_data (io, &len);
  assert_int_equal (len, 12);
  assert_int_equal (d[7], 0);
  assert_memory_equal (d + 10, "XY", 2);
  /* Growth is capped. */
  assert_int_equal (vd_io_pwrite (io, "Z", 1, 100), -1);
  assert_int_equal (vd_io_pwrite (io, "Z", 1, UINT64_MAX), -1);
  vd_io_close (io);
}

static void
test_mem_readonly_refuses_writes (void **state)
{
  struct vd_io *io = vd_io_mem_new ("ro", "abc", 3, 100, true);

  (void) state;
  assert_int_equal (vd_io_pwrite (io, "X", 1, 0), -1);
  assert_int_equal (vd_errno (), EROFS);
  assert_int_equal (vd_io_truncate (io, 0), -1);
  assert_int_equal (vd_io_write_zeroes (io, 0, 1), -1);
  assert_int_equal (vd_io_size (io), 3);
  vd_io_close (io);
}

static void
test_file_extents_see_holes (void **state)
{
  const char *p = test_path ("sparse");
  int fd = open (p, O_CREAT | O_RDWR, 0644);
  struct vd_io *io;
  bool is_data;
  uint64_t len;

  (void) state;
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, 8 << 20), 0);
  assert_int_equal (pwrite (fd, "x", 1, 4 << 20), 1);
  close (fd);

  io = vd_io_file_open (p, 0);
  assert_non_null (io);
  assert_int_equal (vd_io_extent (io, 0, 8 << 20, &is_data, &len), 0);
  if (is_data) {
    /* A filesystem without SEEK_DATA: all data is the documented answer. */
    assert_int_equal (len, 8 << 20);
  }
  else {
    assert_true (len > 0 && len <= (4 << 20));
    assert_int_equal (vd_io_extent (io, 4 << 20, 4 << 20, &is_data, &len), 0);
    assert_true (is_data);
    assert_true (len >= 1 && len < (4 << 20));
  }
  vd_io_close (io);
}

static void
test_file_missing_and_directory (void **state)
{
  (void) state;
  assert_null (vd_io_file_open (test_path ("nope"), 0));
  assert_int_equal (vd_errno (), ENOENT);
  assert_non_null (strstr (vd_error (), "nope"));
  assert_null (vd_io_file_open (test_dir, 0));
  assert_non_null (strstr (vd_error (), "directory"));
}

static void
test_image_lock_blocks_second_writer (void **state)
{
  const char *p = test_path ("locked");
  int fd = open (p, O_CREAT | O_RDWR, 0644);
  struct vd_io *w, *r, *w2;

  (void) state;
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, 1 << 20), 0);
  close (fd);

  w = vd_io_file_open (p, VD_OPEN_RDWR);
  assert_non_null (w);
  /* Readers still work while someone writes (no -U needed). */
  r = vd_io_file_open (p, 0);
  assert_non_null (r);
  /* A second writer is refused with a clear message. */
  w2 = vd_io_file_open (p, VD_OPEN_RDWR);
  assert_null (w2);
  assert_int_equal (vd_errno (), EBUSY);
  assert_non_null (strstr (vd_error (), "in use"));
  vd_io_close (w);
  w2 = vd_io_file_open (p, VD_OPEN_RDWR);
  assert_non_null (w2);
  vd_io_close (w2);
  vd_io_close (r);
}

static void
test_write_zeroes_reads_zero (void **state)
{
  const char *p = test_path ("z");
  int fd = open (p, O_CREAT | O_RDWR, 0644);
  char buf[8192], zero[8192];
  struct vd_io *io;

  (void) state;
  memset (buf, 0xaa, sizeof buf);
  memset (zero, 0, sizeof zero);
  assert_int_equal (pwrite (fd, buf, sizeof buf, 0), (ssize_t) sizeof buf);
  close (fd);
  io = vd_io_file_open (p, VD_OPEN_RDWR);
  assert_int_equal (vd_io_write_zeroes (io, 1000, 5000), 0);
  assert_int_equal (vd_io_pread (io, buf, sizeof buf, 0), 0);
  assert_memory_equal (buf + 1000, zero, 5000);
  assert_int_equal ((unsigned char) buf[999], 0xaa);
  assert_int_equal ((unsigned char) buf[6000], 0xaa);
  assert_int_equal (vd_io_size (io), 8192);
  /* Beyond the end: the file grows and reads zeros. */
  assert_int_equal (vd_io_write_zeroes (io, 8192, 4096), 0);
  assert_int_equal (vd_io_size (io), 12288);
  vd_io_close (io);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_mem_read_write_and_eof),
    cmocka_unit_test (test_mem_readonly_refuses_writes),
    cmocka_unit_test (test_file_extents_see_holes),
    cmocka_unit_test (test_file_missing_and_directory),
    cmocka_unit_test (test_image_lock_blocks_second_writer),
    cmocka_unit_test (test_write_zeroes_reads_zero),
  };
  return cmocka_run_group_tests (tests, test_dir_setup, test_dir_teardown);
}
