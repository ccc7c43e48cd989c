/* Unit tests for the native path's partition tables (inspect/native/
 * parttable.c) on crafted MBR and GPT disks in memory: numbering and
 * offsets as Linux gives them, and refusal of tables that point outside
 * the disk, loop, or fail their checksums. */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vd-internal.h"
#include "parttable.h"

#define SECTORS 4096 /* a 2 MiB disk */
static uint8_t disk[SECTORS * 512];

static void
mbr_entry (uint64_t sector, int i, uint8_t type, uint32_t start, uint32_t count)
{
  uint8_t *p = disk + sector * 512 + 446 + 16 * i;
  uint32_t v;

  memset (p, 0, 16);
  p[4] = type;
  v = htole32 (start);
  memcpy (p + 8, &v, 4);
  v = htole32 (count);
  memcpy (p + 12, &v, 4);
  disk[sector * 512 + 510] = 0x55;
  disk[sector * 512 + 511] = 0xaa;
}

static int
read_table (struct pt_table *pt)
{
  struct vd_io *io =
      vd_io_mem_new ("disk.img", disk, sizeof disk, sizeof disk, true);
  vd_image *img;
  int r;

  assert_non_null (io);
  img = vd_open_io (io, "disk.img", "raw", 0);
  assert_non_null (img);
  r = pt_table_read (img, "disk.img", pt);
  vd_close (img);
  return r;
}

static int
reset (void **state)
{
  (void) state;
  memset (disk, 0, sizeof disk);
  return 0;
}

static void
test_blank_disk_has_no_table (void **state)
{
  struct pt_table pt;

  (void) state;
  assert_int_equal (read_table (&pt), 0);
  assert_int_equal (pt.type, PT_NONE);
  assert_int_equal (pt.n, 0);
}

static void
test_boot_sector_is_not_an_mbr (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x83, 2048, 100);
  disk[446] = 0x29; /* a FAT boot sector's bytes, not a status */
  assert_int_equal (read_table (&pt), 0);
  assert_int_equal (pt.type, PT_NONE);
}

static void
test_mbr_primaries_numbered_by_slot (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x83, 2048, 1000);
  mbr_entry (0, 2, 0x82, 3048, 1000);
  assert_int_equal (read_table (&pt), 0);
  assert_int_equal (pt.type, PT_MBR);
  assert_int_equal (pt.n, 2);
  assert_int_equal (pt.v[0].number, 1);
  assert_int_equal (pt.v[0].offset, 2048 * 512);
  assert_int_equal (pt.v[0].size, 1000 * 512);
  assert_int_equal (pt.v[0].mbr_type, 0x83);
  assert_int_equal (pt.v[1].number, 3);
  assert_int_equal (pt.v[1].offset, 3048 * 512);
  pt_table_free (&pt);
}

static void
test_mbr_partition_past_the_end_is_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x83, 2048, SECTORS - 2047);
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "disk.img"));
  assert_non_null (strstr (vd_error (), "outside the disk"));
  assert_int_equal (pt.n, 0);
}

static void
test_mbr_huge_fields_are_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 1, 0x83, 0xffffffffu, 0xffffffffu);
  assert_int_equal (read_table (&pt), -1);
}

static void
test_logicals_follow_the_chain (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x83, 64, 100);
  mbr_entry (0, 1, 0x05, 1000, 2000);  /* sectors 1000-2999 */
  mbr_entry (1000, 0, 0x83, 10, 200);  /* 1010 */
  mbr_entry (1000, 1, 0x05, 500, 300); /* next EBR at 1500 */
  mbr_entry (1500, 0, 0x83, 20, 100);  /* 1520 */
  assert_int_equal (read_table (&pt), 0);
  assert_int_equal (pt.n, 4);
  assert_true (pt.v[1].extended);
  assert_int_equal (pt.v[2].number, 5);
  assert_int_equal (pt.v[2].offset, 1010 * 512);
  assert_int_equal (pt.v[2].size, 200 * 512);
  assert_int_equal (pt.v[3].number, 6);
  assert_int_equal (pt.v[3].offset, 1520 * 512);
  pt_table_free (&pt);
}

static void
test_logical_chain_loop_is_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x05, 1000, 2000);
  mbr_entry (1000, 0, 0x83, 10, 20);
  mbr_entry (1000, 1, 0x05, 500, 300);
  mbr_entry (1500, 0, 0x83, 10, 20);
  mbr_entry (1500, 1, 0x05, 0, 300); /* back to the first EBR */
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "not forward"));
}

static void
test_logical_outside_its_container_is_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x05, 1000, 100);
  mbr_entry (1000, 0, 0x83, 10, 200); /* ends at 1210 > 1100 */
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "outside its extended"));
}

static void
test_ebr_without_signature_is_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0x0f, 1000, 100);
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "no signature"));
}

/* ---- GPT ------------------------------------------------------------------
 */

static void
put64 (uint8_t *p, uint64_t v)
{
  v = htole64 (v);
  memcpy (p, &v, 8);
}

static void
put32 (uint8_t *p, uint32_t v)
{
  v = htole32 (v);
  memcpy (p, &v, 4);
}

/* A GPT header at LBA naming entries at ENTS, with 128 entries of 128
 * bytes, checksums right. */
static void
gpt_header (uint64_t lba, uint64_t ents)
{
  uint8_t *h = disk + lba * 512;

  memset (h, 0, 512);
  memcpy (h, "EFI PART", 8);
  put32 (h + 8, 0x00010000);
  put32 (h + 12, 92);
  put64 (h + 24, lba);
  put64 (h + 32, lba == 1 ? SECTORS - 1 : 1);
  put64 (h + 40, 34);
  put64 (h + 48, SECTORS - 34);
  put64 (h + 72, ents);
  put32 (h + 80, 128);
  put32 (h + 84, 128);
  put32 (h + 88, pt_crc32 (disk + ents * 512, 128 * 128));
  put32 (h + 16, pt_crc32 (h, 92));
}

static void
gpt_entry (uint64_t ents, int i, uint64_t first, uint64_t last)
{
  uint8_t *e = disk + ents * 512 + 128 * i;

  memset (e, 0, 128);
  e[0] = 0xaf; /* any non-zero type GUID */
  e[15] = 0xe4;
  put64 (e + 32, first);
  put64 (e + 40, last);
}

static void
gpt_disk (void)
{
  mbr_entry (0, 0, 0xee, 1, SECTORS - 1);
  gpt_entry (2, 0, 2048, 2999);
  gpt_entry (2, 3, 3000, 3999);
  memcpy (disk + (SECTORS - 33) * 512, disk + 2 * 512, 128 * 128);
  gpt_header (1, 2);
  gpt_header (SECTORS - 1, SECTORS - 33);
}

static void
test_gpt_read_with_slot_numbers (void **state)
{
  struct pt_table pt;

  (void) state;
  gpt_disk ();
  assert_int_equal (read_table (&pt), 0);
  assert_int_equal (pt.type, PT_GPT);
  assert_int_equal (pt.n, 2);
  assert_int_equal (pt.v[0].number, 1);
  assert_int_equal (pt.v[0].offset, 2048 * 512);
  assert_int_equal (pt.v[0].size, 952 * 512);
  assert_int_equal (pt.v[1].number, 4);
  assert_int_equal (pt.v[1].offset, 3000 * 512);
  assert_int_equal (pt.v[0].gpt_type[0], 0xaf);
  pt_table_free (&pt);
}

static void
test_gpt_bad_primary_crc_uses_backup (void **state)
{
  struct pt_table pt;

  (void) state;
  gpt_disk ();
  disk[512 + 40] ^= 1; /* primary header changed after its CRC */
  assert_int_equal (read_table (&pt), 0);
  assert_int_equal (pt.n, 2);
  pt_table_free (&pt);
}

static void
test_gpt_both_entry_arrays_bad_is_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  gpt_disk ();
  disk[2 * 512 + 40] ^= 1;
  disk[(SECTORS - 33) * 512 + 40] ^= 1;
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "entry array checksum"));
  assert_int_equal (pt.n, 0);
}

static void
test_gpt_entry_outside_usable_is_refused (void **state)
{
  struct pt_table pt;

  (void) state;
  mbr_entry (0, 0, 0xee, 1, SECTORS - 1);
  gpt_entry (2, 0, 2048, SECTORS + 100);
  gpt_header (1, 2);
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "outside the usable sectors"));
}

static void
test_gpt_too_many_entries_is_refused (void **state)
{
  struct pt_table pt;
  uint8_t *h = disk + 512;

  (void) state;
  gpt_disk ();
  put32 (h + 80, 0x40000000);
  put32 (h + 16, 0);
  put32 (h + 16, pt_crc32 (h, 92));
  memset (disk + (SECTORS - 1) * 512, 0, 512); /* no backup */
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "too many entries"));
}

static void
test_gpt_entries_past_the_end_are_refused (void **state)
{
  struct pt_table pt;
  uint8_t *h = disk + 512;

  (void) state;
  gpt_disk ();
  put64 (h + 72, SECTORS - 2);
  put32 (h + 16, 0);
  put32 (h + 16, pt_crc32 (h, 92));
  memset (disk + (SECTORS - 1) * 512, 0, 512);
  assert_int_equal (read_table (&pt), -1);
  assert_non_null (strstr (vd_error (), "entry array outside the disk"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup (test_blank_disk_has_no_table, reset),
    cmocka_unit_test_setup (test_boot_sector_is_not_an_mbr, reset),
    cmocka_unit_test_setup (test_mbr_primaries_numbered_by_slot, reset),
    cmocka_unit_test_setup (test_mbr_partition_past_the_end_is_refused, reset),
    cmocka_unit_test_setup (test_mbr_huge_fields_are_refused, reset),
    cmocka_unit_test_setup (test_logicals_follow_the_chain, reset),
    cmocka_unit_test_setup (test_logical_chain_loop_is_refused, reset),
    cmocka_unit_test_setup (test_logical_outside_its_container_is_refused,
                            reset),
    cmocka_unit_test_setup (test_ebr_without_signature_is_refused, reset),
    cmocka_unit_test_setup (test_gpt_read_with_slot_numbers, reset),
    cmocka_unit_test_setup (test_gpt_bad_primary_crc_uses_backup, reset),
    cmocka_unit_test_setup (test_gpt_both_entry_arrays_bad_is_refused, reset),
    cmocka_unit_test_setup (test_gpt_entry_outside_usable_is_refused, reset),
    cmocka_unit_test_setup (test_gpt_too_many_entries_is_refused, reset),
    cmocka_unit_test_setup (test_gpt_entries_past_the_end_are_refused, reset),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
