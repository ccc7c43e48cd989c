/* Unit tests for the VHDX driver on the memory backend: CRC-32C, what
 * create writes, header and region table selection and checksums, the
 * metadata items, BAT states and the sector bitmap entries between
 * chunks, log replay (and refusing a read-only open that needs it), and
 * tables of bad fields that must be refused with a clear message. */
#include <config.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "test-vhd-helpers.h"
#include "vhdx.h"

#define KiB 1024
#define H1 (64 * KiB)
#define H2 (128 * KiB)
#define R1 (192 * KiB)
#define R2 (256 * KiB)

static uint32_t
crc_with_zero_field (uint8_t *p, size_t len, size_t off)
{
  uint8_t save[4];
  uint32_t crc;

  memcpy (save, p + off, 4);
  memset (p + off, 0, 4);
  crc = vd_crc32c (p, len);
  memcpy (p + off, save, 4);
  return crc;
}

static void
fix_header (struct bytes *b, int slot)
{
  uint8_t *h = b->p + (slot ? H2 : H1);
  put_le32 (h + 4, crc_with_zero_field (h, 4096, 4));
}

static void
fix_regions (struct bytes *b)
{
  put_le32 (b->p + R1 + 4, crc_with_zero_field (b->p + R1, 64 * KiB, 4));
  put_le32 (b->p + R2 + 4, crc_with_zero_field (b->p + R2, 64 * KiB, 4));
}

/* Region table entry I (of copy 1; the edit helpers keep copy 2 equal). */
static uint8_t *
region (struct bytes *b, int i)
{
  return b->p + R1 + 16 + 32 * i;
}

static void
sync_regions (struct bytes *b)
{
  memcpy (b->p + R2, b->p + R1, 64 * KiB);
  fix_regions (b);
}

static uint64_t
meta_offset (const struct bytes *b)
{
  return get_le64 (b->p + R1 + 16 + 32 + 16);
}

static uint64_t
bat_offset (const struct bytes *b)
{
  return get_le64 (b->p + R1 + 16 + 16);
}

static uint64_t
bat_raw (const struct bytes *b, uint64_t i)
{
  return get_le64 (b->p + bat_offset (b) + 8 * i);
}

/* The value of metadata item I (in create's order: file parameters,
 * disk size, page 83, logical, physical sector size). */
static uint8_t *
meta_item (struct bytes *b, int i)
{
  uint8_t *e = b->p + meta_offset (b) + 32 + 32 * i;
  return b->p + meta_offset (b) + get_le32 (e + 16);
}

static int
current_slot (const struct bytes *b)
{
  return get_le64 (b->p + H2 + 8) > get_le64 (b->p + H1 + 8);
}

static void
test_crc32c (void **state)
{
  const char *s = "123456789";
  uint32_t c;

  (void) state;
  assert_int_equal (vd_crc32c (s, 9), 0xe3069283);
  c = vd_crc32c_update (0, s, 4);
  assert_int_equal (vd_crc32c_update (c, s + 4, 5), 0xe3069283);
  assert_int_equal (vd_crc32c ("", 0), 0);
}

static void
test_create_dynamic_layout (void **state)
{
  struct bytes b = make_image ("vhdx", 100 * MiB + 1, "");
  vd_image *img;
  int i;
  uint64_t j;

  (void) state;
  assert_memory_equal (b.p, "vhdxfile", 8);
  for (i = 0; i < 2; i++) {
    uint8_t *h = b.p + (i ? H2 : H1);
    assert_memory_equal (h, "head", 4);
    assert_int_equal (get_le32 (h + 4), crc_with_zero_field (h, 4096, 4));
    assert_int_equal (get_le64 (h + 8), i + 1);
    assert_true (vd_is_zero (h + 48, 16)); /* no log to replay */
    assert_int_equal (get_le16 (h + 66), 1);
    assert_int_equal (get_le32 (h + 68), MiB);
    assert_int_equal (get_le64 (h + 72), MiB);
  }
  assert_memory_equal (b.p + R1, "regi", 4);
  assert_int_equal (get_le32 (b.p + R1 + 4),
                    crc_with_zero_field (b.p + R1, 64 * KiB, 4));
  assert_memory_equal (b.p + R1, b.p + R2, 64 * KiB);
  assert_int_equal (get_le32 (b.p + R1 + 8), 2);
  assert_int_equal (get_le32 (region (&b, 0) + 28), 1); /* required */
  assert_memory_equal (b.p + meta_offset (&b), "metadata", 8);
  assert_int_equal (get_le32 (meta_item (&b, 0)), 8 * MiB);
  assert_int_equal (get_le32 (meta_item (&b, 0) + 4), 0);
  assert_int_equal (get_le64 (meta_item (&b, 1)), 100 * MiB + 512);
  assert_false (vd_is_zero (meta_item (&b, 2), 16));
  assert_int_equal (get_le32 (meta_item (&b, 3)), 512);
  assert_int_equal (get_le32 (meta_item (&b, 4)), 4096);
  for (j = 0; j < 13; j++)
    assert_int_equal (bat_raw (&b, j), 0);
  assert_ptr_equal (vd_probe_buffer (b.p, b.len, NULL), &vd_format_vhdx);

  img = open_bytes (&b, NULL, 0);
  assert_non_null (img);
  assert_string_equal (vd_get_format (img), "vhdx");
  assert_int_equal (vd_get_size (img), 100 * MiB + 512);
  assert_int_equal (vd_get_cluster_size (img), 8 * MiB);
  assert_true (reads_as (img, 100 * MiB - 4096, 4096 + 512, 0));
  vd_close (img);
  free (b.p);
}

static void
test_create_fixed (void **state)
{
  struct bytes b =
      make_image ("vhdx", 3 * MiB, "subformat=fixed,block_size=1M");
  uint64_t data, j;

  (void) state;
  assert_int_equal (get_le32 (meta_item (&b, 0) + 4), 1); /* leave allocated */
  data = VHDX_BAT_OFFSET (bat_raw (&b, 0));
  assert_true (data >= bat_offset (&b) + MiB);
  for (j = 0; j < 3; j++)
    assert_int_equal (bat_raw (&b, j),
                      (data + j * MiB) | VHDX_BLOCK_FULLY_PRESENT);
  assert_int_equal (b.len, data + 3 * MiB);
  free (b.p);
}

static void
test_block_size_choice (void **state)
{
  static const struct {
    uint64_t size;
    const char *opts;
    uint32_t want;
  } t[] = {
    { UINT64_C (1) << 30, "", 8 * MiB },
    { (UINT64_C (1) << 30) + MiB, "", 16 * MiB },
    { UINT64_C (101) << 30, "", 32 * MiB },
    { 10 * MiB, "block_size=2M", 2 * MiB },
    { 10 * MiB, "block_size=256M", 256 * MiB },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof t / sizeof t[0]; i++) {
    struct bytes b = make_image ("vhdx", t[i].size, t[i].opts);
    vd_image *img = open_bytes (&b, "vhdx", 0);
    assert_non_null (img);
    assert_int_equal (vd_get_cluster_size (img), t[i].want);
    vd_close (img);
    free (b.p);
  }
}

static void
test_create_bad_options (void **state)
{
  static const struct {
    uint64_t size;
    const char *opts, *message;
  } t[] = {
    { MiB, "block_size=3M", "power of two" },
    { MiB, "block_size=512M", "power of two" },
    { MiB, "block_size=512k", "power of two" },
    { MiB, "subformat=sparse", "sparse" },
    { UINT64_C (65) << 40, "", "64 TiB" },
    { MiB, "log_size=5G", "log size" },
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof t / sizeof t[0]; i++) {
    struct vd_io *io = vd_io_mem_new ("x", NULL, 0, MEM_MAX, false);
    struct vd_opts o = { 0 };
    assert_int_equal (vd_opts_parse (&o, t[i].opts), 0);
    assert_int_equal (vd_create_io (io, "x", "vhdx", t[i].size, &o), -1);
    if (!strstr (vd_error (), t[i].message))
      fail_msg ("%s: '%s'", t[i].opts, vd_error ());
    vd_opts_free (&o);
    vd_io_close (io);
  }
}

static void
test_bat_interleaves_bitmap_entries (void **state)
{
  /* 1 MiB blocks: a sector bitmap entry after every 4096 blocks. */
  struct bytes b = make_image ("vhdx", 4097 * MiB, "block_size=1M");
  uint8_t fwg[16], dwg[16];
  vd_image *img;
  uint64_t e;

  (void) state;
  memcpy (fwg, b.p + H2 + 16, 16);
  memcpy (dwg, b.p + H2 + 32, 16);
  img = open_rw (&b, "vhdx");
  write_pattern (img, 4096 * MiB + 5, 10, 0xab);
  write_pattern (img, 100, 10, 0xcd);
  close_into (img, &b);

  assert_int_equal (bat_raw (&b, 4096), 0); /* the bitmap entry */
  e = bat_raw (&b, 4097);
  assert_int_equal (VHDX_BAT_STATE (e), VHDX_BLOCK_FULLY_PRESENT);
  assert_int_equal (VHDX_BAT_OFFSET (e) % MiB, 0);
  assert_int_equal (VHDX_BAT_STATE (bat_raw (&b, 0)), VHDX_BLOCK_FULLY_PRESENT);
  assert_int_equal (bat_raw (&b, 1), 0);
  /* Applied, the log is empty again; the write GUIDs were renewed. */
  assert_true (vd_is_zero (b.p + (current_slot (&b) ? H2 : H1) + 48, 16));
  assert_memory_not_equal (b.p + (current_slot (&b) ? H2 : H1) + 16, fwg, 16);
  assert_memory_not_equal (b.p + (current_slot (&b) ? H2 : H1) + 32, dwg, 16);

  img = open_bytes (&b, "vhdx", 0);
  assert_non_null (img);
  assert_true (reads_as (img, 4096 * MiB + 5, 10, 0xab));
  assert_true (reads_as (img, 4096 * MiB, 5, 0));
  assert_true (reads_as (img, 100, 10, 0xcd));
  assert_true (reads_as (img, 4095 * MiB, MiB, 0));
  vd_close (img);
  free (b.p);
}

static void
test_readonly_open_changes_nothing (void **state)
{
  struct bytes b = make_image ("vhdx", 8 * MiB, "");
  struct vd_io *io = vd_io_mem_new ("disk.img", b.p, b.len, MEM_MAX, true);
  vd_image *img = vd_open_io (io, "disk.img", "vhdx", 0);
  size_t len;

  (void) state;
  assert_non_null (img);
  assert_int_equal (vd_pwrite (img, "x", 1, 0), -1);
  assert_memory_equal (vd_io_mem_data (img->io, &len), b.p, b.len);
  vd_close (img);
  free (b.p);
}

static void
test_header_selection (void **state)
{
  struct bytes good = make_image ("vhdx", 8 * MiB, "");
  struct bytes b = copy_bytes (&good);
  vd_image *img;

  (void) state;
  /* The current header (2) damaged: header 1 stands in. */
  b.p[H2 + 100] ^= 1;
  img = open_bytes (&b, "vhdx", 0);
  assert_non_null (img);
  vd_close (img);
  b.p[H1 + 100] ^= 1;
  expect_refused (&b, "vhdx", "neither VHDX header is valid");
  free (b.p);

  /* The higher sequence number wins, even in slot 1. */
  b = copy_bytes (&good);
  put_le64 (b.p + H1 + 8, 10);
  put_le16 (b.p + H1 + 66, 2);
  fix_header (&b, 0);
  expect_refused (&b, "vhdx", "unsupported VHDX version 2");
  put_le16 (b.p + H1 + 66, 1);
  put_le16 (b.p + H1 + 64, 1);
  fix_header (&b, 0);
  expect_refused (&b, "vhdx", "unsupported VHDX log version 1");
  free (b.p);
  free (good.p);
}

/* Bad images: each mutator breaks one thing of a good dynamic image
 * (16 MiB, 1 MiB blocks, blocks 0 and 1 allocated). */
typedef void (*mutator) (struct bytes *b);

static void
m_file_id (struct bytes *b)
{
  b->p[0] = 'x';
}
static void
m_region_crc_both (struct bytes *b)
{
  b->p[R1 + 1000] ^= 1;
  b->p[R2 + 1000] ^= 1;
}
static void
m_region_count (struct bytes *b)
{
  put_le32 (b->p + R1 + 8, 3000);
  sync_regions (b);
}
static void
m_bat_unaligned (struct bytes *b)
{
  put_le64 (region (b, 0) + 16, bat_offset (b) + 4096);
  sync_regions (b);
}
static void
m_bat_past_end (struct bytes *b)
{
  put_le64 (region (b, 0) + 16, UINT64_C (1) << 40);
  sync_regions (b);
}
static void
m_unknown_required_region (struct bytes *b)
{
  uint8_t *e = region (b, 2);
  memset (e, 0x5a, 16);
  put_le64 (e + 16, MiB);
  put_le32 (e + 24, MiB);
  put_le32 (e + 28, 1);
  put_le32 (b->p + R1 + 8, 3);
  sync_regions (b);
}
static void
m_no_bat (struct bytes *b)
{
  region (b, 0)[0] ^= 0xff;
  put_le32 (region (b, 0) + 28, 0);
  sync_regions (b);
}
static void
m_bat_on_metadata (struct bytes *b)
{
  put_le64 (region (b, 0) + 16, meta_offset (b));
  sync_regions (b);
}
static void
m_meta_signature (struct bytes *b)
{
  b->p[meta_offset (b)] = 'x';
}
static void
m_meta_missing (struct bytes *b)
{
  put_le16 (b->p + meta_offset (b) + 10, 4);
}
static void
m_meta_block_size (struct bytes *b)
{
  put_le32 (meta_item (b, 0), 3 * MiB);
}
static void
m_meta_parent (struct bytes *b)
{
  put_le32 (meta_item (b, 0) + 4, 2);
}
static void
m_meta_sector (struct bytes *b)
{
  put_le32 (meta_item (b, 3), 1024);
}
static void
m_meta_disk_size (struct bytes *b)
{
  put_le64 (meta_item (b, 1), 1000);
}
static void
m_meta_bat_too_small (struct bytes *b)
{
  put_le64 (meta_item (b, 1), UINT64_C (64) << 40);
}
static void
m_meta_unknown_required (struct bytes *b)
{
  uint8_t *e = b->p + meta_offset (b) + 32 + 32 * 5;
  memset (e, 0x33, 16);
  put_le32 (e + 16, 64 * KiB);
  put_le32 (e + 20, 4);
  put_le32 (e + 24, 4);
  put_le16 (b->p + meta_offset (b) + 10, 6);
}
static void
m_meta_offset (struct bytes *b)
{
  put_le32 (b->p + meta_offset (b) + 32 + 16, 0);
}
static void
m_meta_twice (struct bytes *b)
{
  uint8_t *t = b->p + meta_offset (b);
  memcpy (t + 32 + 32 * 5, t + 32, 32);
  put_le16 (t + 10, 6);
}
static void
m_bat_partial (struct bytes *b)
{
  uint8_t *e = b->p + bat_offset (b);
  put_le64 (e, (get_le64 (e) & ~7ull) | 7);
}
static void
m_bat_state4 (struct bytes *b)
{
  put_le64 (b->p + bat_offset (b), 4);
}
static void
m_bat_offset0 (struct bytes *b)
{
  put_le64 (b->p + bat_offset (b), VHDX_BLOCK_FULLY_PRESENT);
}
static void
m_bat_past_eof (struct bytes *b)
{
  put_le64 (b->p + bat_offset (b),
            ROUND_UP (b->len, MiB) | VHDX_BLOCK_FULLY_PRESENT);
}
static void
m_bat_on_log (struct bytes *b)
{
  put_le64 (b->p + bat_offset (b), MiB | VHDX_BLOCK_FULLY_PRESENT);
}
static void
m_bat_same_block (struct bytes *b)
{
  uint8_t *e = b->p + bat_offset (b);
  put_le64 (e + 8, get_le64 (e));
}

static const struct {
  const char *what;
  mutator fn;
  const char *message;
} bad[] = {
  { "file identifier", m_file_id, "not a VHDX image" },
  { "region tables", m_region_crc_both, "neither copy of the VHDX region" },
  { "region count", m_region_count, "entries (at most 2047)" },
  { "BAT unaligned", m_bat_unaligned, "not 1 MiB aligned" },
  { "BAT past the end", m_bat_past_end, "past the end of the file" },
  { "unknown required region", m_unknown_required_region,
    "needs a region this program does not know" },
  { "no BAT", m_no_bat, "region table has no BAT" },
  { "BAT on the metadata", m_bat_on_metadata, "overlap" },
  { "metadata signature", m_meta_signature, "bad metadata table signature" },
  { "metadata item missing", m_meta_missing, "is missing" },
  { "block size", m_meta_block_size, "bad VHDX block size" },
  { "parent", m_meta_parent, "differencing VHDX images" },
  { "sector size", m_meta_sector, "bad sector sizes" },
  { "disk size", m_meta_disk_size, "bad virtual disk size" },
  { "BAT too small", m_meta_bat_too_small, "too small for" },
  { "unknown required item", m_meta_unknown_required,
    "needs a metadata item this program does not know" },
  { "item offset", m_meta_offset, "bad offset" },
  { "item twice", m_meta_twice, "listed twice" },
  { "partially present", m_bat_partial, "partially present" },
  { "state 4", m_bat_state4, "unknown state 4" },
  { "block at 0", m_bat_offset0, "outside the file" },
  { "block past the end", m_bat_past_eof, "outside the file" },
  { "block on the log", m_bat_on_log, "overlaps the log" },
  { "two blocks, one place", m_bat_same_block, "two blocks overlap" },
};

static void
test_bad_images_are_refused (void **state)
{
  struct bytes good = make_image ("vhdx", 16 * MiB, "block_size=1M");
  vd_image *img = open_rw (&good, "vhdx");
  size_t i;

  (void) state;
  write_pattern (img, 0, 512, 1);
  write_pattern (img, MiB, 512, 2);
  close_into (img, &good);

  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct bytes b = copy_bytes (&good);
    print_message ("# %s\n", bad[i].what);
    bad[i].fn (&b);
    expect_refused (&b, "vhdx", bad[i].message);
    free (b.p);
  }
  free (good.p);
}

static void
test_tolerated_oddities (void **state)
{
  struct bytes b = make_image ("vhdx", 8 * MiB, "block_size=1M");
  uint8_t *e;
  vd_image *img;
  struct vd_extent ext;
  unsigned s;

  (void) state;
  /* A damaged first region table: the copy stands in. */
  b.p[R1 + 2000] ^= 1;
  /* An unknown region that is not required is left alone. */
  e = b.p + R2 + 16 + 64;
  memset (e, 0x77, 16);
  put_le64 (e + 16, 100 * MiB);
  put_le32 (e + 24, MiB);
  put_le32 (b.p + R2 + 8, 3);
  put_le32 (b.p + R2 + 4, crc_with_zero_field (b.p + R2, 64 * KiB, 4));
  /* Blocks in every zero-reading state. */
  for (s = 0; s < 4; s++)
    put_le64 (b.p + bat_offset (&b) + 8 * s,
              (const unsigned[]){ VHDX_BLOCK_UNDEFINED, VHDX_BLOCK_ZERO,
                                  VHDX_BLOCK_UNMAPPED,
                                  VHDX_BLOCK_UNMAPPED_OLD }[s]);
  img = open_bytes (&b, "vhdx", 0);
  if (!img)
    fail_msg ("%s", vd_error ());
  assert_true (reads_as (img, 0, 8 * MiB, 0));
  assert_int_equal (vd_block_status (img, MiB, 8 * MiB - MiB, &ext), 0);
  assert_int_equal (ext.length, MiB);
  assert_int_equal (ext.flags, VD_EXT_ALLOCATED | VD_EXT_ZERO);
  vd_close (img);
  free (b.p);
}

/* An image whose last change sits in the log: written, then "crashed". */
static struct bytes
crashed_image (void)
{
  struct bytes b = make_image ("vhdx", 8 * MiB, "block_size=1M");
  vd_image *img = open_rw (&b, "vhdx");

  write_pattern (img, 3 * MiB + 7, 100, 0x5e);
  assert_int_equal (vd_vhdx_test_crash_after_log (img), 0);
  close_into (img, &b);
  return b;
}

static void
test_log_replay (void **state)
{
  struct bytes b = crashed_image ();
  vd_image *img;
  int slot = current_slot (&b);

  (void) state;
  assert_false (vd_is_zero (b.p + (slot ? H2 : H1) + 48, 16));
  assert_int_equal (bat_raw (&b, 3), 0); /* not applied */
  expect_refused (&b, "vhdx", "log holds metadata changes");
  assert_int_equal (vd_errno (), EROFS);

  img = open_rw (&b, "vhdx"); /* replays */
  assert_true (reads_as (img, 3 * MiB + 7, 100, 0x5e));
  close_into (img, &b);
  assert_true (vd_is_zero (b.p + (current_slot (&b) ? H2 : H1) + 48, 16));
  assert_int_equal (VHDX_BAT_STATE (bat_raw (&b, 3)), VHDX_BLOCK_FULLY_PRESENT);
  img = open_bytes (&b, "vhdx", 0);
  assert_non_null (img);
  assert_true (reads_as (img, 3 * MiB + 7, 100, 0x5e));
  vd_close (img);
  free (b.p);
}

static void
test_log_damaged_entry_is_not_replayed (void **state)
{
  struct bytes b = crashed_image ();
  vd_image *img;

  (void) state;
  /* The entry's data sector, so its checksum fails: nothing valid to
   * replay, and the change it held is lost, as the specification says. */
  b.p[MiB + 4096 + 100] ^= 1;
  img = open_bytes (&b, "vhdx", 0);
  if (!img)
    fail_msg ("%s", vd_error ());
  assert_true (reads_as (img, 3 * MiB, MiB, 0));
  vd_close (img);
  free (b.p);
}

static void
test_log_truncated_file_is_refused (void **state)
{
  struct bytes b = crashed_image ();

  (void) state;
  b.len -= MiB; /* the block the log's BAT page points to */
  {
    vd_image *img = open_bytes (&b, "vhdx", VD_OPEN_RDWR);
    assert_null (img);
    assert_non_null (strstr (vd_error (), "truncated"));
  }
  free (b.p);
}

/* A log entry that writes where the log may not. */
static void
log_writes_to (uint64_t target, const char *message)
{
  struct bytes b = make_image ("vhdx", 8 * MiB, "block_size=1M");
  vd_image *img = open_rw (&b, "vhdx");
  struct vhdx_priv *p = img->priv;
  uint8_t guid[16], data[4096];

  memset (guid, 0x11, sizeof guid);
  memset (data, 0xee, sizeof data);
  assert_int_equal (vhdx_update_header (img, guid), 0);
  assert_int_equal (vhdx_log_write (img, &target, data, 1, false), 0);
  p->stopped = true;
  close_into (img, &b);
  img = open_bytes (&b, "vhdx", VD_OPEN_RDWR);
  if (img)
    fail_msg ("a log writing at 0x%" PRIx64 " was replayed", target);
  if (!strstr (vd_error (), message))
    fail_msg ("'%s' lacks '%s'", vd_error (), message);
  free (b.p);
}

static void
test_log_targets_are_checked (void **state)
{
  (void) state;
  log_writes_to (H1, "outside the places it may change");
  log_writes_to (MiB + 8192, "outside the places it may change");
  log_writes_to (UINT64_C (1) << 40, "outside the places it may change");
}

static void
test_check_counts_a_replayed_log (void **state)
{
  struct bytes b = crashed_image ();
  struct vd_check_result res;
  vd_image *img;

  (void) state;
  img = open_rw (&b, "vhdx");
  assert_int_equal (
      run_check (img, &res, VD_CHECK_FIX_LEAKS | VD_CHECK_FIX_ERRORS), 0);
  assert_int_equal (res.corruptions_fixed, 1);
  assert_int_equal (res.corruptions, 0);
  close_into (img, &b);
  img = open_rw (&b, "vhdx");
  assert_int_equal (run_check (img, &res, 0), 0);
  assert_int_equal (res.corruptions_fixed, 0);
  vd_close (img);
  free (b.p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_crc32c),
    cmocka_unit_test (test_create_dynamic_layout),
    cmocka_unit_test (test_create_fixed),
    cmocka_unit_test (test_block_size_choice),
    cmocka_unit_test (test_create_bad_options),
    cmocka_unit_test (test_bat_interleaves_bitmap_entries),
    cmocka_unit_test (test_readonly_open_changes_nothing),
    cmocka_unit_test (test_header_selection),
    cmocka_unit_test (test_bad_images_are_refused),
    cmocka_unit_test (test_tolerated_oddities),
    cmocka_unit_test (test_log_replay),
    cmocka_unit_test (test_log_damaged_entry_is_not_replayed),
    cmocka_unit_test (test_log_truncated_file_is_refused),
    cmocka_unit_test (test_log_targets_are_checked),
    cmocka_unit_test (test_check_counts_a_replayed_log),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
