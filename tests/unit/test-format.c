/* Unit tests for format probing and the driver table. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vd-internal.h"
#include "test-helpers.h"

static void
test_driver_table_is_consistent (void **state)
{
  const char *const *names = vd_format_names ();
  size_t i;

  (void) state;
  assert_non_null (names[0]);
  for (i = 0; names[i]; i++) {
    const struct vd_format_ops *f = vd_find_format (names[i]);
    assert_non_null (f);
    /* Every driver can open, read and close. */
    assert_non_null (f->open);
    assert_non_null (f->close);
    assert_non_null (f->pread);
    if (f->create)
      assert_non_null (f->create_opts);
  }
  assert_true (vd_format_known ("raw"));
  assert_false (vd_format_known ("nosuch"));
  assert_null (vd_format_create_opts ("nosuch"));
  assert_non_null (strstr (vd_error (), "nosuch"));
}

static void
test_probe_random_data_is_raw (void **state)
{
  uint8_t buf[4096];
  size_t i;

  (void) state;
  for (i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t) (i * 131 + 17);
  assert_string_equal (vd_probe_buffer (buf, sizeof buf, NULL)->name, "raw");
  assert_string_equal (vd_probe_buffer (buf, 0, NULL)->name, "raw");
  assert_string_equal (vd_probe_buffer (buf, 3, NULL)->name, "raw");
}

static void
test_open_memory_image_by_probe (void **state)
{
  struct vd_io *io = vd_io_mem_new ("m", "0123456789", 10, 10, true);
  vd_image *img;
  char b[4];

  (void) state;
  img = vd_open_io (io, "m", NULL, VD_OPEN_NO_BACKING);
  assert_non_null (img);
  assert_string_equal (vd_get_format (img), "raw");
  /* Raw sizes are whole sectors, as in qemu: the tail reads as zeros. */
  assert_int_equal (vd_get_size (img), 512);
  assert_int_equal (vd_pread (img, b, 4, 6), 0);
  assert_memory_equal (b, "6789", 4);
  assert_int_equal (vd_pread (img, b, 4, 8), 0);
  assert_memory_equal (b, "89\0\0", 4);
  assert_int_equal (vd_pread (img, b, 4, 508), 0);
  assert_memory_equal (b, "\0\0\0\0", 4);
  assert_int_equal (vd_pread (img, b, 4, 509), -1);
  vd_close (img);
}

static void
test_open_errors_name_the_file (void **state)
{
  (void) state;
  assert_null (vd_open (test_path ("missing.img"), NULL, 0));
  assert_non_null (strstr (vd_error (), "missing.img"));
  assert_int_equal (vd_errno (), ENOENT);
  assert_null (vd_probe_file (test_path ("missing.img")));
  {
    struct vd_io *io = vd_io_mem_new ("m", "x", 1, 1, true);
    assert_null (vd_open_io (io, "m", "nosuchfmt", 0));
    assert_non_null (strstr (vd_error (), "nosuchfmt"));
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_driver_table_is_consistent),
    cmocka_unit_test (test_probe_random_data_is_raw),
    cmocka_unit_test (test_open_memory_image_by_probe),
    cmocka_unit_test (test_open_errors_name_the_file),
  };
  return cmocka_run_group_tests (tests, test_dir_setup, test_dir_teardown);
}
