/* Unit tests for the VDI driver on the memory backend: what create
 * writes, reads and writes through the block map, allocation order and
 * the header count, block status, and a table of bad header fields and
 * block maps that must be refused with a clear message. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test-vhd-helpers.h"

/* Header offsets (VDI 1.1). */
#define H_SIGNATURE 0x40
#define H_VERSION 0x44
#define H_HEADER_SIZE 0x48
#define H_IMAGE_TYPE 0x4c
#define H_OFFSET_BMAP 0x154
#define H_OFFSET_DATA 0x158
#define H_SECTOR_SIZE 0x168
#define H_DISK_SIZE 0x170
#define H_BLOCK_SIZE 0x178
#define H_BLOCK_EXTRA 0x17c
#define H_BLOCKS_IN_IMAGE 0x180
#define H_BLOCKS_ALLOCATED 0x184
#define H_UUID_IMAGE 0x188
#define H_UUID_LAST_SNAP 0x198
#define H_UUID_PARENT 0x1b8

static uint32_t
bmap_entry (const struct bytes *b, uint32_t i)
{
  return get_le32 (b->p + get_le32 (b->p + H_OFFSET_BMAP) + 4 * i);
}

static void
test_create_dynamic_header (void **state)
{
  struct bytes b = make_image ("vdi", 5 * MiB + 1, "");
  uint32_t i;
  vd_image *img;

  (void) state;
  assert_int_equal (get_le32 (b.p + H_SIGNATURE), 0xbeda107f);
  assert_int_equal (get_le32 (b.p + H_VERSION), 0x00010001);
  assert_int_equal (get_le32 (b.p + H_IMAGE_TYPE), 1);
  assert_int_equal (get_le32 (b.p + H_SECTOR_SIZE), 512);
  assert_int_equal (get_le32 (b.p + H_BLOCK_SIZE), MiB);
  /* 5 MiB + 1 rounds up to whole sectors, which need 6 blocks. */
  assert_int_equal (get_le64 (b.p + H_DISK_SIZE), 5 * MiB + 512);
  assert_int_equal (get_le32 (b.p + H_BLOCKS_IN_IMAGE), 6);
  assert_int_equal (get_le32 (b.p + H_BLOCKS_ALLOCATED), 0);
  assert_false (vd_is_zero (b.p + H_UUID_IMAGE, 16));
  assert_false (vd_is_zero (b.p + H_UUID_LAST_SNAP, 16));
  assert_true (get_le32 (b.p + H_OFFSET_DATA) % MiB == 0);
  for (i = 0; i < 6; i++)
    assert_int_equal (bmap_entry (&b, i), 0xffffffff);
  assert_int_equal (b.len, get_le32 (b.p + H_OFFSET_DATA));
  assert_ptr_equal (vd_probe_buffer (b.p, b.len, NULL), &vd_format_vdi);

  img = open_bytes (&b, NULL, 0);
  assert_non_null (img);
  assert_string_equal (vd_get_format (img), "vdi");
  assert_int_equal (vd_get_size (img), 5 * MiB + 512);
  assert_int_equal (vd_get_cluster_size (img), MiB);
  assert_true (reads_as (img, 0, 5 * MiB + 512, 0));
  vd_close (img);
  free (b.p);
}

static void
test_create_static_has_every_block (void **state)
{
  struct bytes b = make_image ("vdi", 3 * MiB, "static=on");
  uint32_t i;

  (void) state;
  assert_int_equal (get_le32 (b.p + H_IMAGE_TYPE), 2);
  assert_int_equal (get_le32 (b.p + H_BLOCKS_ALLOCATED), 3);
  for (i = 0; i < 3; i++)
    assert_int_equal (bmap_entry (&b, i), i);
  assert_int_equal (b.len, get_le32 (b.p + H_OFFSET_DATA) + 3 * MiB);
  free (b.p);
}

static void
test_create_bad_options (void **state)
{
  struct vd_io *io = vd_io_mem_new ("x", NULL, 0, MEM_MAX, false);
  struct vd_opts o = { 0 };

  (void) state;
  assert_int_equal (vd_opts_parse (&o, "static=maybe"), 0);
  assert_int_equal (vd_create_io (io, "x", "vdi", MiB, &o), -1);
  assert_non_null (strstr (vd_error (), "static"));
  vd_opts_free (&o);
  assert_int_equal (vd_create_io (io, "x", "vdi", UINT64_C (1) << 50, NULL),
                    -1);
  assert_non_null (strstr (vd_error (), "size"));
  vd_io_close (io);
}

static void
test_write_allocates_in_order_and_persists (void **state)
{
  struct bytes b = make_image ("vdi", 4 * MiB, "");
  uint8_t uuid[16];
  vd_image *img = open_rw (&b, "vdi");
  struct vd_extent e;

  (void) state;
  memcpy (uuid, b.p + H_UUID_IMAGE, 16);
  /* Block 2 first, then a write across blocks 0 and 1. */
  write_pattern (img, 2 * MiB + 100, 1000, 0xaa);
  write_pattern (img, MiB - 10, 20, 0xbb);
  /* Zeros into a block that has none need no block. */
  write_pattern (img, 3 * MiB, 4096, 0);
  assert_true (reads_as (img, 2 * MiB + 100, 1000, 0xaa));
  assert_true (reads_as (img, MiB - 10, 20, 0xbb));
  assert_true (reads_as (img, 0, MiB - 10, 0));
  assert_int_equal (vd_block_status (img, 3 * MiB, MiB, &e), 0);
  assert_int_equal (e.flags & (VD_EXT_DATA | VD_EXT_ALLOCATED), 0);
  assert_int_equal (e.length, MiB);
  assert_int_equal (vd_block_status (img, 2 * MiB, MiB, &e), 0);
  assert_true (e.flags & VD_EXT_ALLOCATED);
  close_into (img, &b);

  assert_int_equal (get_le32 (b.p + H_BLOCKS_ALLOCATED), 3);
  assert_int_equal (bmap_entry (&b, 2), 0);
  assert_int_equal (bmap_entry (&b, 0), 1);
  assert_int_equal (bmap_entry (&b, 1), 2);
  assert_int_equal (bmap_entry (&b, 3), 0xffffffff);
  assert_memory_equal (b.p + H_UUID_IMAGE, uuid, 16);
  assert_int_equal (b.len, get_le32 (b.p + H_OFFSET_DATA) + 3 * MiB);

  img = open_bytes (&b, "vdi", 0);
  assert_non_null (img);
  assert_true (reads_as (img, 2 * MiB + 100, 1000, 0xaa));
  assert_true (reads_as (img, 2 * MiB, 100, 0));
  assert_true (reads_as (img, MiB - 10, 20, 0xbb));
  assert_true (reads_as (img, 3 * MiB, MiB, 0));
  vd_close (img);
  free (b.p);
}

static void
test_zero_keeps_blocks_and_reads_zero (void **state)
{
  struct bytes b = make_image ("vdi", 2 * MiB, "");
  vd_image *img = open_rw (&b, "vdi");

  (void) state;
  write_pattern (img, 0, 2 * MiB, 0x55);
  assert_int_equal (vd_zero (img, 4096, MiB, 0), 0);
  assert_true (reads_as (img, 0, 4096, 0x55));
  assert_true (reads_as (img, 4096, MiB, 0));
  assert_true (reads_as (img, MiB + 4096, MiB - 4096, 0x55));
  close_into (img, &b);
  assert_int_equal (get_le32 (b.p + H_BLOCKS_ALLOCATED), 2);
  free (b.p);
}

static void
test_readonly_open_changes_nothing (void **state)
{
  struct bytes b = make_image ("vdi", MiB, "");
  struct vd_io *io = vd_io_mem_new ("disk.img", b.p, b.len, MEM_MAX, true);
  vd_image *img = vd_open_io (io, "disk.img", "vdi", 0);
  size_t len;

  (void) state;
  assert_non_null (img);
  assert_int_equal (vd_pwrite (img, "x", 1, 0), -1);
  assert_int_equal (vd_errno (), EROFS);
  assert_memory_equal (vd_io_mem_data (img->io, &len), b.p, b.len);
  vd_close (img);
  free (b.p);
}

static void
test_discarded_block_reads_zero (void **state)
{
  struct bytes b = make_image ("vdi", 2 * MiB, "");
  uint32_t bmap = get_le32 (b.p + H_OFFSET_BMAP);
  vd_image *img;
  struct vd_extent e;

  (void) state;
  put_le32 (b.p + bmap, 0xfffffffe);
  img = open_bytes (&b, "vdi", 0);
  assert_non_null (img);
  assert_true (reads_as (img, 0, MiB, 0));
  assert_int_equal (vd_block_status (img, 0, 2 * MiB, &e), 0);
  assert_int_equal (e.length, MiB);
  assert_int_equal (e.flags, VD_EXT_ALLOCATED | VD_EXT_ZERO);
  vd_close (img);
  free (b.p);
}

/* One bad field each; the image is otherwise a 4-block dynamic image
 * with blocks 0 and 1 allocated. */
struct bad_field {
  const char *what;
  unsigned off;
  unsigned width; /* 4 or 8; 0: entry of the block map */
  uint64_t value;
  const char *message;
};

static const struct bad_field bad_fields[] = {
  { "signature", H_SIGNATURE, 4, 0x12345678, "not a VDI image" },
  { "version 1.0", H_VERSION, 4, 0x00010000, "unsupported VDI version 1.0" },
  { "header size", H_HEADER_SIZE, 4, 0x100, "bad VDI header size" },
  { "undo image", H_IMAGE_TYPE, 4, 3, "undo VDI images are not supported" },
  { "diff image", H_IMAGE_TYPE, 4, 4, "differencing VDI images" },
  { "unknown type", H_IMAGE_TYPE, 4, 9, "unknown VDI image type 9" },
  { "sector size", H_SECTOR_SIZE, 4, 4096, "unsupported VDI sector size" },
  { "block size not a power of two", H_BLOCK_SIZE, 4, 3 * MiB,
    "bad VDI block size" },
  { "block size zero", H_BLOCK_SIZE, 4, 0, "bad VDI block size" },
  { "block size huge", H_BLOCK_SIZE, 4, 512 * MiB, "bad VDI block size" },
  { "block extra", H_BLOCK_EXTRA, 4, 100, "per-block extra" },
  { "too many blocks", H_BLOCKS_IN_IMAGE, 4, 0x7fffffff, "too many entries" },
  { "allocated > blocks", H_BLOCKS_ALLOCATED, 4, 5, "more than the image has" },
  { "disk larger than the map", H_DISK_SIZE, 8, 4 * MiB + 512,
    "larger than the block map covers" },
  { "map offset unaligned", H_OFFSET_BMAP, 4, 0x201,
    "bad VDI block map offset" },
  { "map offset in the header", H_OFFSET_BMAP, 4, 0,
    "bad VDI block map offset" },
  { "map past the end", H_OFFSET_BMAP, 4, 0x7ffffe00,
    "past the end of the file" },
  { "data offset before the map end", H_OFFSET_DATA, 4, 0x200,
    "bad VDI data offset" },
  { "entry past the allocation count", 0, 0, 2, "only 2 blocks" },
  { "entry used twice", 0, 0, 0, "used twice" },
  { "parent UUID", H_UUID_PARENT, 8, 1, "linked to a parent" },
};

static void
test_bad_fields_are_refused (void **state)
{
  struct bytes good = make_image ("vdi", 4 * MiB, "");
  vd_image *img = open_rw (&good, "vdi");
  size_t i;

  (void) state;
  write_pattern (img, 0, MiB, 1);
  write_pattern (img, MiB, MiB, 2);
  close_into (img, &good);

  for (i = 0; i < sizeof bad_fields / sizeof bad_fields[0]; i++) {
    const struct bad_field *f = &bad_fields[i];
    struct bytes b = copy_bytes (&good);

    print_message ("# %s\n", f->what);
    if (f->width == 4)
      put_le32 (b.p + f->off, f->value);
    else if (f->width == 8)
      put_le64 (b.p + f->off, f->value);
    else /* entry 1 of the map */
      put_le32 (b.p + get_le32 (b.p + H_OFFSET_BMAP) + 4, f->value);
    expect_refused (&b, "vdi", f->message);
    free (b.p);
  }
  free (good.p);
}

static void
test_block_past_end_of_file_is_refused (void **state)
{
  struct bytes b = make_image ("vdi", 4 * MiB, "");
  vd_image *img = open_rw (&b, "vdi");

  (void) state;
  write_pattern (img, 0, 4096, 1);
  write_pattern (img, MiB, 4096, 2);
  close_into (img, &b);
  b.len -= 4096; /* cut into the second block */
  expect_refused (&b, "vdi", "past the end of the file");
  b.len = 100;
  expect_refused (&b, "vdi", "too short");
  free (b.p);
}

static void
test_check (void **state)
{
  struct bytes b = make_image ("vdi", 4 * MiB, "");
  vd_image *img = open_rw (&b, "vdi");
  struct vd_check_result res;

  (void) state;
  write_pattern (img, 0, 512, 1);
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 0);
  assert_string_equal (check_lines, "");
  close_into (img, &b);

  /* The header counts 3 blocks, the map uses 1: qemu-img's error. */
  put_le32 (b.p + H_BLOCKS_ALLOCATED, 3);
  img = open_rw (&b, "vdi");
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 1);
  assert_string_equal (check_lines,
                       "ERROR: allocated blocks mismatch, is 1, should be 3\n");
  /* No repair, as qemu-img. */
  assert_int_equal (run_check (img, &res, VD_CHECK_FIX_LEAKS), -1);
  assert_int_equal (vd_errno (), ENOTSUP);
  vd_close (img);
  free (b.p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_create_dynamic_header),
    cmocka_unit_test (test_create_static_has_every_block),
    cmocka_unit_test (test_create_bad_options),
    cmocka_unit_test (test_write_allocates_in_order_and_persists),
    cmocka_unit_test (test_zero_keeps_blocks_and_reads_zero),
    cmocka_unit_test (test_readonly_open_changes_nothing),
    cmocka_unit_test (test_discarded_block_reads_zero),
    cmocka_unit_test (test_bad_fields_are_refused),
    cmocka_unit_test (test_block_past_end_of_file_is_refused),
    cmocka_unit_test (test_check),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
