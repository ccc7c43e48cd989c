/* Unit tests for the VHD (vpc) driver on the memory backend: footer and
 * dynamic header checksums, the CHS size rounding, fixed images probed by
 * their footer, the BAT and sector bitmaps, and a table of bad footers,
 * headers and tables that must be refused with a clear message. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test-vhd-helpers.h"

uint32_t vd_vpc_checksum (const uint8_t *buf, size_t len, size_t csum_off);

/* Footer and dynamic header offsets (big-endian fields). */
#define F_DATA_OFFSET 0x10
#define F_CREATOR_APP 0x1c
#define F_CURRENT_SIZE 0x30
#define F_CYLS 0x38
#define F_HEADS 0x3a
#define F_SECS 0x3b
#define F_TYPE 0x3c
#define F_CHECKSUM 0x40
#define D_TABLE_OFFSET 0x10
#define D_MAX_TABLE_ENTRIES 0x1c
#define D_BLOCK_SIZE 0x20
#define D_CHECKSUM 0x24

static uint8_t *
end_footer (const struct bytes *b)
{
  return b->p + b->len - 512;
}

static uint8_t *
dyn_header (const struct bytes *b)
{
  return b->p + get_be64 (b->p + F_DATA_OFFSET);
}

static uint32_t
bat_entry (const struct bytes *b, uint32_t i)
{
  return get_be32 (b->p + get_be64 (dyn_header (b) + D_TABLE_OFFSET) + 4 * i);
}

static void
fix_footers (struct bytes *b)
{
  if (memcmp (b->p, "conectix", 8) == 0)
    put_be32 (b->p + F_CHECKSUM, vd_vpc_checksum (b->p, 512, F_CHECKSUM));
  put_be32 (end_footer (b) + F_CHECKSUM,
            vd_vpc_checksum (end_footer (b), 512, F_CHECKSUM));
}

static void
fix_dyn (struct bytes *b)
{
  put_be32 (dyn_header (b) + D_CHECKSUM,
            vd_vpc_checksum (dyn_header (b), 1024, D_CHECKSUM));
}

static void
test_dynamic_layout_and_checksums (void **state)
{
  struct bytes b = make_image ("vpc", 8 * MiB, "force_size=on");
  const uint8_t *d;
  uint32_t i;

  (void) state;
  assert_memory_equal (b.p, "conectix", 8);
  assert_memory_equal (b.p, end_footer (&b), 512);
  assert_int_equal (get_be32 (b.p + F_CHECKSUM),
                    vd_vpc_checksum (b.p, 512, F_CHECKSUM));
  assert_int_equal (get_be32 (b.p + F_TYPE), 3);
  assert_int_equal (get_be64 (b.p + F_DATA_OFFSET), 512);
  assert_int_equal (get_be64 (b.p + F_CURRENT_SIZE), 8 * MiB);
  /* force_size: the largest geometry tells readers to use the size. */
  assert_int_equal (get_be16 (b.p + F_CYLS), 65535);
  assert_int_equal (b.p[F_HEADS], 16);
  assert_int_equal (b.p[F_SECS], 255);
  d = dyn_header (&b);
  assert_memory_equal (d, "cxsparse", 8);
  assert_int_equal (get_be32 (d + D_CHECKSUM),
                    vd_vpc_checksum (d, 1024, D_CHECKSUM));
  assert_int_equal (get_be32 (d + D_BLOCK_SIZE), 2 * MiB);
  assert_int_equal (get_be32 (d + D_MAX_TABLE_ENTRIES), 4);
  for (i = 0; i < 4; i++)
    assert_int_equal (bat_entry (&b, i), 0xffffffff);
  assert_ptr_equal (vd_probe_buffer (b.p, b.len, NULL), &vd_format_vpc);
  free (b.p);
}

/* Virtual sizes as qemu-img 7.2 makes them (the CHS rounding). */
static const struct {
  uint64_t size;
  const char *opts;
  uint64_t want;
} sizes[] = {
  { 0, "", 0 },
  { 1000, "", 34816 },
  { MiB, "", 1079296 },
  { 20 * MiB, "", 20994048 },
  { 100 * MiB, "", 104865792 },
  { 10 * MiB, "subformat=fixed", 10514432 },
  { 1000, "force_size=on", 1024 },
  { 10 * MiB, "subformat=fixed,force_size=on", 10 * MiB },
  /* Past the largest geometry (about 127 GiB) the size is exact. */
  { UINT64_C (200) << 30, "", UINT64_C (200) << 30 },
};

static void
test_size_rounding_as_qemu (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    struct bytes b = make_image ("vpc", sizes[i].size, sizes[i].opts);
    vd_image *img = open_bytes (&b, "vpc", 0);

    if (!img)
      fail_msg ("%s", vd_error ());
    if (vd_get_size (img) != sizes[i].want)
      fail_msg ("size %" PRIu64 " %s: got %" PRIu64 ", want %" PRIu64,
                sizes[i].size, sizes[i].opts, vd_get_size (img), sizes[i].want);
    vd_close (img);
    free (b.p);
  }
}

static void
test_too_large_is_refused (void **state)
{
  struct vd_io *io = vd_io_mem_new ("x", NULL, 0, MEM_MAX, false);
  struct vd_opts o = { 0 };

  (void) state;
  assert_int_equal (vd_create_io (io, "x", "vpc", UINT64_C (2041) << 30, NULL),
                    -1);
  assert_non_null (strstr (vd_error (), "2040 GiB"));
  assert_int_equal (vd_opts_parse (&o, "subformat=sparse"), 0);
  assert_int_equal (vd_create_io (io, "x", "vpc", MiB, &o), -1);
  assert_non_null (strstr (vd_error (), "sparse"));
  vd_opts_free (&o);
  vd_io_close (io);
}

static void
test_fixed_is_probed_by_its_footer (void **state)
{
  struct bytes b = make_image ("vpc", 2 * MiB, "subformat=fixed,force_size=on");
  struct vd_io *io;
  vd_image *img;

  (void) state;
  assert_int_equal (b.len, 2 * MiB + 512);
  assert_int_equal (get_be32 (end_footer (&b) + F_TYPE), 2);
  assert_int_equal (get_be64 (end_footer (&b) + F_DATA_OFFSET), UINT64_MAX);
  /* The start is disk data: only the end tells. */
  assert_ptr_equal (vd_probe_buffer (b.p, 4096, NULL), &vd_format_raw);
  io = vd_io_mem_new ("disk.img", b.p, b.len, MEM_MAX, true);
  assert_ptr_equal (vd_probe_io (io), &vd_format_vpc);
  vd_io_close (io);

  img = open_bytes (&b, NULL, 0);
  assert_non_null (img);
  assert_string_equal (vd_get_format (img), "vpc");
  assert_int_equal (vd_get_size (img), 2 * MiB);
  assert_int_equal (vd_get_cluster_size (img), 0);
  vd_close (img);

  /* A damaged footer is not a VHD: it probes as raw. */
  end_footer (&b)[100] ^= 1;
  io = vd_io_mem_new ("disk.img", b.p, b.len, MEM_MAX, true);
  assert_ptr_equal (vd_probe_io (io), &vd_format_raw);
  vd_io_close (io);
  expect_refused (&b, "vpc", "footer checksum");
  free (b.p);
}

static void
test_fixed_read_write (void **state)
{
  struct bytes b = make_image ("vpc", 2 * MiB, "subformat=fixed,force_size=on");
  vd_image *img = open_rw (&b, "vpc");
  uint8_t footer[512];

  (void) state;
  memcpy (footer, end_footer (&b), 512);
  write_pattern (img, MiB - 3, 7, 0x42);
  close_into (img, &b);
  assert_int_equal (b.len, 2 * MiB + 512);
  assert_memory_equal (end_footer (&b), footer, 512);
  assert_int_equal (b.p[MiB - 3], 0x42);
  assert_int_equal (b.p[MiB + 3], 0x42);
  free (b.p);
}

static void
test_blocks_bitmaps_and_footer (void **state)
{
  struct bytes b = make_image ("vpc", 8 * MiB, "force_size=on");
  vd_image *img = open_rw (&b, "vpc");
  uint64_t blk;
  size_t i;

  (void) state;
  write_pattern (img, 2 * MiB + 10, 100, 0xaa);
  write_pattern (img, 6 * MiB, 4096, 0); /* zeros: no block */
  close_into (img, &b);

  assert_int_equal (bat_entry (&b, 0), 0xffffffff);
  assert_int_equal (bat_entry (&b, 2), 0xffffffff);
  assert_int_equal (bat_entry (&b, 3), 0xffffffff);
  blk = (uint64_t) bat_entry (&b, 1) * 512;
  /* Data after the 512-byte bitmap, on a 4 KiB boundary. */
  assert_int_equal ((blk + 512) % 4096, 0);
  for (i = 0; i < 512; i++)
    assert_int_equal (b.p[blk + i], 0xff);
  assert_int_equal (b.len, blk + 512 + 2 * MiB + 512);
  assert_memory_equal (end_footer (&b), b.p, 512);

  img = open_bytes (&b, "vpc", 0);
  assert_non_null (img);
  assert_true (reads_as (img, 2 * MiB + 10, 100, 0xaa));
  assert_true (reads_as (img, 2 * MiB, 10, 0));
  assert_true (reads_as (img, 0, 2 * MiB, 0));
  vd_close (img);
  free (b.p);
}

static void
test_sector_bitmap_is_honoured (void **state)
{
  struct bytes b = make_image ("vpc", 4 * MiB, "force_size=on");
  vd_image *img = open_rw (&b, "vpc");
  struct vd_extent e;
  uint64_t blk, data;
  uint8_t buf[512];
  size_t i;

  (void) state;
  write_pattern (img, 0, 4 * 512, 0x11);
  close_into (img, &b);
  blk = (uint64_t) bat_entry (&b, 0) * 512;
  data = blk + 512;
  /* Sectors 2 and 3 not present, with stale bytes in the file. */
  b.p[blk] = 0xcf;
  memset (b.p + data + 1024, 0x99, 1024);

  img = open_rw (&b, "vpc");
  assert_true (reads_as (img, 0, 1024, 0x11));
  assert_true (reads_as (img, 1024, 1024, 0));
  assert_int_equal (vd_block_status (img, 0, 4 * MiB, &e), 0);
  assert_int_equal (e.length, 1024);
  assert_true (e.flags & VD_EXT_DATA);
  assert_int_equal (vd_block_status (img, 1024, 4 * MiB - 1024, &e), 0);
  assert_int_equal (e.length, 1024);
  assert_int_equal (e.flags, VD_EXT_ALLOCATED | VD_EXT_ZERO);

  /* A part of sector 2: the rest of it must not show the stale bytes. */
  write_pattern (img, 1024 + 100, 10, 0x77);
  assert_int_equal (vd_pread (img, buf, sizeof buf, 1024), 0);
  for (i = 0; i < sizeof buf; i++)
    assert_int_equal (buf[i], i >= 100 && i < 110 ? 0x77 : 0);
  assert_true (reads_as (img, 1536, 512, 0));
  close_into (img, &b);
  assert_int_equal (b.p[blk], 0xef);
  free (b.p);
}

static void
test_end_footer_damaged_uses_the_copy (void **state)
{
  struct bytes b = make_image ("vpc", 4 * MiB, "force_size=on");
  vd_image *img;

  (void) state;
  end_footer (&b)[0] = 'X';
  img = open_bytes (&b, NULL, 0);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), 4 * MiB);
  vd_close (img);
  free (b.p);
}

static void
test_size_by_creator (void **state)
{
  struct bytes b = make_image ("vpc", 20 * MiB, "");
  vd_image *img;
  uint64_t chs;

  (void) state;
  chs = (uint64_t) get_be16 (b.p + F_CYLS) * b.p[F_HEADS] * b.p[F_SECS] * 512;
  /* Hyper-V sizes by current_size, Virtual PC by the geometry. */
  put_be64 (b.p + F_CURRENT_SIZE, 22 * MiB);
  put_be64 (end_footer (&b) + F_CURRENT_SIZE, 22 * MiB);
  memcpy (b.p + F_CREATOR_APP, "win ", 4);
  memcpy (end_footer (&b) + F_CREATOR_APP, "win ", 4);
  fix_footers (&b);
  img = open_bytes (&b, "vpc", 0);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), 22 * MiB);
  vd_close (img);
  memcpy (b.p + F_CREATOR_APP, "vpc ", 4);
  memcpy (end_footer (&b) + F_CREATOR_APP, "vpc ", 4);
  fix_footers (&b);
  img = open_bytes (&b, "vpc", 0);
  assert_non_null (img);
  assert_int_equal (vd_get_size (img), chs);
  vd_close (img);
  free (b.p);
}

/* Bad images: each mutator breaks one thing of a good dynamic image
 * (8 MiB, blocks 0 and 1 allocated). */
typedef void (*mutator) (struct bytes *b);

static void
m_footer_checksum (struct bytes *b)
{
  b->p[F_CHECKSUM] ^= 1;
  end_footer (b)[F_CHECKSUM] ^= 1;
}
static void
m_no_cookie (struct bytes *b)
{
  b->p[0] = end_footer (b)[0] = 'x';
}
static void
m_type_diff (struct bytes *b)
{
  put_be32 (b->p + F_TYPE, 4);
  put_be32 (end_footer (b) + F_TYPE, 4);
  fix_footers (b);
}
static void
m_type_unknown (struct bytes *b)
{
  put_be32 (b->p + F_TYPE, 9);
  put_be32 (end_footer (b) + F_TYPE, 9);
  fix_footers (b);
}
static void
m_dyn_checksum (struct bytes *b)
{
  dyn_header (b)[D_CHECKSUM] ^= 1;
}
static void
m_dyn_cookie (struct bytes *b)
{
  dyn_header (b)[0] = 'x';
  fix_dyn (b);
}
static void
m_dyn_offset (struct bytes *b)
{
  put_be64 (b->p + F_DATA_OFFSET, b->len);
  put_be64 (end_footer (b) + F_DATA_OFFSET, b->len);
  fix_footers (b);
}
static void
m_block_size (struct bytes *b)
{
  put_be32 (dyn_header (b) + D_BLOCK_SIZE, 3 * MiB);
  fix_dyn (b);
}
static void
m_block_size_huge (struct bytes *b)
{
  put_be32 (dyn_header (b) + D_BLOCK_SIZE, 1u << 30);
  fix_dyn (b);
}
static void
m_few_entries (struct bytes *b)
{
  put_be32 (dyn_header (b) + D_MAX_TABLE_ENTRIES, 3);
  fix_dyn (b);
}
static void
m_table_past_end (struct bytes *b)
{
  put_be64 (dyn_header (b) + D_TABLE_OFFSET, b->len - 8);
  fix_dyn (b);
}
static void
m_block_past_end (struct bytes *b)
{
  put_be32 (b->p + get_be64 (dyn_header (b) + D_TABLE_OFFSET) + 4,
            b->len / 512);
}
static void
m_block_on_header (struct bytes *b)
{
  put_be32 (b->p + get_be64 (dyn_header (b) + D_TABLE_OFFSET) + 4, 1);
}
static void
m_blocks_overlap (struct bytes *b)
{
  uint8_t *t = b->p + get_be64 (dyn_header (b) + D_TABLE_OFFSET);
  put_be32 (t + 4, get_be32 (t) + 8);
}
static void
m_size_over_limit (struct bytes *b)
{
  memcpy (b->p + F_CREATOR_APP, "win ", 4);
  memcpy (end_footer (b) + F_CREATOR_APP, "win ", 4);
  put_be64 (b->p + F_CURRENT_SIZE, UINT64_C (3) << 40);
  put_be64 (end_footer (b) + F_CURRENT_SIZE, UINT64_C (3) << 40);
  fix_footers (b);
}
static void
m_cut_short (struct bytes *b)
{
  b->len = 100;
}

static const struct {
  const char *what;
  mutator fn;
  const char *message;
} bad[] = {
  { "footer checksum", m_footer_checksum, "footer checksum is wrong" },
  { "no cookie", m_no_cookie, "not a VHD image" },
  { "differencing", m_type_diff, "differencing VHD images are not supported" },
  { "unknown type", m_type_unknown, "unknown VHD disk type 9" },
  { "dynamic header checksum", m_dyn_checksum,
    "dynamic disk header checksum is wrong" },
  { "dynamic header cookie", m_dyn_cookie, "no dynamic disk header" },
  { "dynamic header offset", m_dyn_offset, "lies outside the file" },
  { "block size", m_block_size, "bad VHD block size" },
  { "block size huge", m_block_size_huge, "bad VHD block size" },
  { "table too small", m_few_entries, "too few for the disk size" },
  { "table past the end", m_table_past_end, "past the end of the file" },
  { "block past the end", m_block_past_end, "past the end of the file" },
  { "block on the header", m_block_on_header, "overlaps the image's metadata" },
  { "blocks overlap", m_blocks_overlap, "two blocks overlap" },
  { "size over 2040 GiB", m_size_over_limit, "2040 GiB" },
  { "cut short", m_cut_short, "too short" },
};

static void
test_bad_images_are_refused (void **state)
{
  struct bytes good = make_image ("vpc", 8 * MiB, "force_size=on");
  vd_image *img = open_rw (&good, "vpc");
  size_t i;

  (void) state;
  write_pattern (img, 0, 512, 1);
  write_pattern (img, 2 * MiB, 512, 2);
  close_into (img, &good);
  img = open_bytes (&good, "vpc", 0);
  assert_non_null (img);
  vd_close (img);

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct bytes b = copy_bytes (&good);
    print_message ("# %s\n", bad[i].what);
    bad[i].fn (&b);
    expect_refused (&b, "vpc", bad[i].message);
    free (b.p);
  }
  free (good.p);
}

static void
test_check_footers_and_azure_note (void **state)
{
  struct bytes b = make_image ("vpc", 4 * MiB, "force_size=on");
  struct vd_check_result res;
  vd_image *img;

  (void) state;
  img = open_bytes (&b, "vpc", 0);
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 0);
  assert_string_equal (check_lines, "");
  vd_close (img);

  /* End footer damaged, junk after the metadata: found, then repaired. */
  end_footer (&b)[0] = 'X';
  img = open_rw (&b, "vpc");
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 1);
  assert_non_null (strstr (check_lines, "footer at the end"));
  assert_int_equal (
      run_check (img, &res, VD_CHECK_FIX_LEAKS | VD_CHECK_FIX_ERRORS), 0);
  assert_int_equal (res.corruptions_fixed, 1);
  assert_int_equal (res.corruptions, 0);
  close_into (img, &b);
  assert_memory_equal (end_footer (&b), b.p, 512);
  img = open_bytes (&b, "vpc", 0);
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 0);
  vd_close (img);
  free (b.p);

  /* A fixed VHD of a size Azure refuses: a note, not an error. */
  b = make_image ("vpc", 10 * MiB, "subformat=fixed");
  img = open_bytes (&b, "vpc", 0);
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions, 0);
  assert_non_null (strstr (check_lines, "Azure"));
  vd_close (img);
  free (b.p);
  b = make_image ("vpc", 10 * MiB, "subformat=fixed,force_size=on");
  img = open_bytes (&b, "vpc", 0);
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_string_equal (check_lines, "");
  vd_close (img);
  free (b.p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dynamic_layout_and_checksums),
    cmocka_unit_test (test_size_rounding_as_qemu),
    cmocka_unit_test (test_too_large_is_refused),
    cmocka_unit_test (test_fixed_is_probed_by_its_footer),
    cmocka_unit_test (test_fixed_read_write),
    cmocka_unit_test (test_blocks_bitmaps_and_footer),
    cmocka_unit_test (test_sector_bitmap_is_honoured),
    cmocka_unit_test (test_end_footer_damaged_uses_the_copy),
    cmocka_unit_test (test_size_by_creator),
    cmocka_unit_test (test_bad_images_are_refused),
    cmocka_unit_test (test_check_footers_and_azure_note),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
