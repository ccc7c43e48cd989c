/* MBR and GPT partition tables over libvd (parttable.h).  Every start,
 * length and count read from the disk is checked against the disk size
 * and fixed caps before it is used; a bad table is refused, never
 * clamped (DESIGN.md §6).
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "parttable.h"

#include "native-internal.h"

uint32_t
pt_crc32 (const void *buf, size_t len)
{
  uLong c = crc32 (0L, Z_NULL, 0);
  const Bytef *p = buf;

  while (len > 0) {
    uInt k = len > (1u << 30) ? (1u << 30) : (uInt) len;
    c = crc32 (c, p, k);
    p += k;
    len -= k;
  }
  return (uint32_t) c;
}

void
pt_table_free (struct pt_table *pt)
{
  free (pt->v);
  pt->v = NULL;
  pt->n = 0;
}

static int
add_part (struct pt_table *pt, const struct pt_part *p)
{
  struct pt_part *v = realloc (pt->v, (pt->n + 1) * sizeof *v);

  if (!v) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  pt->v = v;
  pt->v[pt->n++] = *p;
  return 0;
}

static int
read_sectors (vd_image *img, const char *name, void *buf, uint64_t lba,
              uint64_t count)
{
  uint64_t off, len, end;

  if (__builtin_mul_overflow (lba, PT_SECTOR, &off)
      || __builtin_mul_overflow (count, PT_SECTOR, &len)
      || __builtin_add_overflow (off, len, &end) || end > vd_get_size (img)) {
    vd_set_error (EINVAL,
                  _ ("%s: the partition table points past the end of the "
                     "disk (sector %" PRIu64 ")"),
                  name, lba);
    return -1;
  }
  return vd_pread (img, buf, len, off);
}

/* ---- MBR ------------------------------------------------------------------
 */

struct mbr_entry {
  uint8_t status, type;
  uint32_t start, sectors;
};

static void
decode_mbr_entry (const uint8_t *sector, int i, struct mbr_entry *e)
{
  const uint8_t *p = sector + 446 + 16 * i;
  uint32_t v;

  e->status = p[0];
  e->type = p[4];
  memcpy (&v, p + 8, 4);
  e->start = le32toh (v);
  memcpy (&v, p + 12, 4);
  e->sectors = le32toh (v);
}

static bool
is_extended (uint8_t type)
{
  return type == 0x05 || type == 0x0f || type == 0x85;
}

/* The logical partitions in the extended partition at EXT_START (sectors)
 * of EXT_LEN sectors: a chain of EBRs, each naming one logical partition
 * (relative to that EBR) and the next EBR (relative to EXT_START).  The
 * chain must move forward inside the container, so it cannot loop. */
static int
read_logicals (vd_image *img, const char *name, struct pt_table *pt,
               uint64_t ext_start, uint64_t ext_len)
{
  uint8_t sector[PT_SECTOR];
  uint64_t ebr = ext_start, ext_end = ext_start + ext_len;
  int number = 5, hops;

  for (hops = 0;; hops++) {
    struct mbr_entry e, next;

    if (hops >= PT_MAX_LOGICAL) {
      vd_set_error (EINVAL,
                    _ ("%s: the extended partition's chain holds more than %d "
                       "logical partitions (a loop?)"),
                    name, PT_MAX_LOGICAL);
      return -1;
    }
    if (read_sectors (img, name, sector, ebr, 1) == -1)
      return -1;
    if (sector[510] != 0x55 || sector[511] != 0xaa) {
      vd_set_error (EINVAL,
                    _ ("%s: the extended boot record at sector %" PRIu64
                       " has no signature"),
                    name, ebr);
      return -1;
    }
    decode_mbr_entry (sector, 0, &e);
    decode_mbr_entry (sector, 1, &next);
    if (e.type != 0 && e.sectors != 0) {
      struct pt_part p = { .number = number++, .mbr_type = e.type };
      uint64_t s = ebr + e.start, end = s + e.sectors;
      /* 32-bit fields on 64-bit sums: no overflow, only bounds. */
      if (e.start == 0 || end > ext_end || is_extended (e.type)) {
        vd_set_error (EINVAL,
                      _ ("%s: logical partition %d (sectors %" PRIu64
                         "-%" PRIu64 ") lies outside its extended "
                         "partition"),
                      name, p.number, s, end);
        return -1;
      }
      p.offset = s * PT_SECTOR;
      p.size = (uint64_t) e.sectors * PT_SECTOR;
      if (add_part (pt, &p) == -1)
        return -1;
    }
    if (next.type == 0 || next.sectors == 0)
      return 0;
    if (!is_extended (next.type)) {
      vd_set_error (EINVAL,
                    _ ("%s: the extended boot record at sector %" PRIu64
                       " links to a partition of type 0x%02x"),
                    name, ebr, next.type);
      return -1;
    }
    {
      uint64_t nebr = ext_start + next.start;
      if (nebr <= ebr || nebr >= ext_end) {
        vd_set_error (EINVAL,
                      _ ("%s: the extended partition's chain goes from sector "
                         "%" PRIu64 " to %" PRIu64
                         ", not forward inside the partition"),
                      name, ebr, nebr);
        return -1;
      }
      ebr = nebr;
    }
  }
}

static int
read_mbr (vd_image *img, const char *name, const uint8_t *sector,
          uint64_t disk_sectors, struct pt_table *pt)
{
  bool seen_extended = false;
  int i;

  pt->type = PT_MBR;
  for (i = 0; i < 4; i++) {
    struct mbr_entry e;
    struct pt_part p = { .number = i + 1 };
    uint64_t end;

    decode_mbr_entry (sector, i, &e);
    if (e.type == 0 || e.sectors == 0)
      continue;
    end = (uint64_t) e.start + e.sectors;
    if (e.start == 0 || end > disk_sectors) {
      vd_set_error (EINVAL,
                    _ ("%s: partition %d (sectors %" PRIu32 "-%" PRIu64
                       ") lies outside the disk (%" PRIu64 " sectors)"),
                    name, i + 1, e.start, end, disk_sectors);
      return -1;
    }
    p.mbr_type = e.type;
    p.offset = (uint64_t) e.start * PT_SECTOR;
    p.size = (uint64_t) e.sectors * PT_SECTOR;
    p.extended = is_extended (e.type);
    if (add_part (pt, &p) == -1)
      return -1;
    if (p.extended) {
      if (seen_extended) {
        vd_set_error (EINVAL,
                      _ ("%s: the MBR holds more than one extended "
                         "partition"),
                      name);
        return -1;
      }
      seen_extended = true;
      if (read_logicals (img, name, pt, e.start, e.sectors) == -1)
        return -1;
    }
  }
  return 0;
}

/* ---- GPT ------------------------------------------------------------------
 */

static uint64_t
get_le64 (const uint8_t *p)
{
  uint64_t v;
  memcpy (&v, p, 8);
  return le64toh (v);
}

static uint32_t
get_le32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return le32toh (v);
}

/* The GPT header at LBA: checked, and its entries read and checked.
 * Returns 0 (filled), 1 (this header is bad: *why says how), -1. */
static int
read_gpt_at (vd_image *img, const char *name, uint64_t lba,
             uint64_t disk_sectors, struct pt_table *pt, const char **why)
{
  uint8_t hdr[PT_SECTOR];
  uint32_t hsize, hcrc, nents, esize, ecrc;
  uint64_t my_lba, first, last, ents_lba, bytes, sectors, i;
  uint8_t *ents;
  int r = 1;

  if (read_sectors (img, name, hdr, lba, 1) == -1)
    return -1;
  if (memcmp (hdr, "EFI PART", 8) != 0) {
    *why = "no \"EFI PART\" signature";
    return 1;
  }
  hsize = get_le32 (hdr + 12);
  hcrc = get_le32 (hdr + 16);
  my_lba = get_le64 (hdr + 24);
  first = get_le64 (hdr + 40);
  last = get_le64 (hdr + 48);
  ents_lba = get_le64 (hdr + 72);
  nents = get_le32 (hdr + 80);
  esize = get_le32 (hdr + 84);
  ecrc = get_le32 (hdr + 88);
  if (hsize < 92 || hsize > PT_SECTOR) {
    *why = "a header size outside 92-512";
    return 1;
  }
  memset (hdr + 16, 0, 4);
  if (pt_crc32 (hdr, hsize) != hcrc) {
    *why = "a bad header checksum";
    return 1;
  }
  if (my_lba != lba) {
    *why = "a header that names another sector as its own";
    return 1;
  }
  if (first > last || last >= disk_sectors) {
    *why = "usable sectors outside the disk";
    return 1;
  }
  if (esize < 128 || esize > 4096 || (esize & (esize - 1)) != 0) {
    *why = "an entry size that is not a power of two in 128-4096";
    return 1;
  }
  if (nents > PT_MAX_GPT_ENTRIES) {
    *why = "too many entries";
    return 1;
  }
  bytes = (uint64_t) nents * esize; /* at most 4 MiB */
  sectors = (bytes + PT_SECTOR - 1) / PT_SECTOR;
  if (ents_lba < 2 || ents_lba >= disk_sectors
      || sectors > disk_sectors - ents_lba) {
    *why = "an entry array outside the disk";
    return 1;
  }
  ents = malloc (sectors * PT_SECTOR + 1);
  if (!ents) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (read_sectors (img, name, ents, ents_lba, sectors) == -1) {
    r = -1;
    goto out;
  }
  if (pt_crc32 (ents, bytes) != ecrc) {
    *why = "a bad entry array checksum";
    goto out;
  }
  pt->type = PT_GPT;
  for (i = 0; i < nents; i++) {
    const uint8_t *e = ents + i * esize;
    static const uint8_t zero[16];
    struct pt_part p = { .number = (int) i + 1 };
    uint64_t s = get_le64 (e + 32), l = get_le64 (e + 40);

    if (memcmp (e, zero, 16) == 0)
      continue;
    if (s > l || s < first || l > last) {
      vd_set_error (EINVAL,
                    _ ("%s: GPT partition %d (sectors %" PRIu64 "-%" PRIu64
                       ") lies outside the usable sectors %" PRIu64
                       "-%" PRIu64),
                    name, p.number, s, l, first, last);
      r = -1;
      goto out;
    }
    memcpy (p.gpt_type, e, 16);
    p.offset = s * PT_SECTOR;
    p.size = (l - s + 1) * PT_SECTOR;
    if (add_part (pt, &p) == -1) {
      r = -1;
      goto out;
    }
  }
  r = 0;
out:
  free (ents);
  if (r != 0)
    pt_table_free (pt);
  return r;
}

static int
read_gpt (vd_image *img, const char *name, uint64_t disk_sectors,
          struct pt_table *pt)
{
  const char *why1 = "", *why2 = "";
  int r;

  r = read_gpt_at (img, name, 1, disk_sectors, pt, &why1);
  if (r <= 0)
    return r;
  /* The backup header in the last sector, as the kernel falls back. */
  r = read_gpt_at (img, name, disk_sectors - 1, disk_sectors, pt, &why2);
  if (r <= 0)
    return r;
  vd_set_error (EINVAL,
                _ ("%s: the GPT is damaged: the primary header has %s, the "
                   "backup %s"),
                name, why1, why2);
  return -1;
}

int
pt_table_read (vd_image *img, const char *name, struct pt_table *pt)
{
  uint8_t sector[PT_SECTOR];
  uint64_t disk_sectors = vd_get_size (img) / PT_SECTOR;
  int i;

  memset (pt, 0, sizeof *pt);
  if (disk_sectors < 2)
    return 0;
  if (read_sectors (img, name, sector, 0, 1) == -1)
    return -1;
  if (sector[510] != 0x55 || sector[511] != 0xaa)
    return 0;
  /* A boot sector (FAT, NTFS) also ends in 55 aa: an MBR's status bytes
   * are 0x00 or 0x80. */
  for (i = 0; i < 4; i++)
    if (sector[446 + 16 * i] != 0 && sector[446 + 16 * i] != 0x80)
      return 0;
  for (i = 0; i < 4; i++) {
    struct mbr_entry e;
    decode_mbr_entry (sector, i, &e);
    if (e.type == 0xee)
      return read_gpt (img, name, disk_sectors, pt);
  }
  if (read_mbr (img, name, sector, disk_sectors, pt) == -1) {
    pt_table_free (pt);
    return -1;
  }
  return 0;
}
