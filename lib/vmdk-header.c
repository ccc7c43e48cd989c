/* VMDK binary structures: the sparse extent header (one sector starting
 * with "KDMV"), stream markers, and the table layout of a new sparse
 * extent.  Pure encoding: range checks are the opener's job (fmt-vmdk.c).
 */
#include <config.h>

#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "vmdk.h"

/* Field offsets inside the header sector (the structure is packed). */
enum {
  H_MAGIC = 0,
  H_VERSION = 4,
  H_FLAGS = 8,
  H_CAPACITY = 12,
  H_GRAIN = 20,
  H_DESC_OFF = 28,
  H_DESC_SIZE = 36,
  H_GTES = 44,
  H_RGD = 48,
  H_GD = 56,
  H_OVERHEAD = 64,
  H_UNCLEAN = 72,
  H_NL = 73,
  H_COMPRESS = 77,
};

void
vmdk_header_decode (const uint8_t *buf, struct vmdk_header *h)
{
  h->version = vmdk_le32 (buf + H_VERSION);
  h->flags = vmdk_le32 (buf + H_FLAGS);
  h->capacity = vmdk_le64 (buf + H_CAPACITY);
  h->grain_size = vmdk_le64 (buf + H_GRAIN);
  h->desc_offset = vmdk_le64 (buf + H_DESC_OFF);
  h->desc_size = vmdk_le64 (buf + H_DESC_SIZE);
  h->gtes_per_gt = vmdk_le32 (buf + H_GTES);
  h->rgd_offset = vmdk_le64 (buf + H_RGD);
  h->gd_offset = vmdk_le64 (buf + H_GD);
  h->overhead = vmdk_le64 (buf + H_OVERHEAD);
  h->unclean = buf[H_UNCLEAN];
  memcpy (h->nl, buf + H_NL, 4);
  h->compress = (uint16_t) (buf[H_COMPRESS] | buf[H_COMPRESS + 1] << 8);
}

void
vmdk_header_encode (const struct vmdk_header *h, uint8_t *buf)
{
  memset (buf, 0, VMDK_SECTOR);
  memcpy (buf + H_MAGIC, "KDMV", 4);
  vmdk_put_le32 (buf + H_VERSION, h->version);
  vmdk_put_le32 (buf + H_FLAGS, h->flags);
  vmdk_put_le64 (buf + H_CAPACITY, h->capacity);
  vmdk_put_le64 (buf + H_GRAIN, h->grain_size);
  vmdk_put_le64 (buf + H_DESC_OFF, h->desc_offset);
  vmdk_put_le64 (buf + H_DESC_SIZE, h->desc_size);
  vmdk_put_le32 (buf + H_GTES, h->gtes_per_gt);
  vmdk_put_le64 (buf + H_RGD, h->rgd_offset);
  vmdk_put_le64 (buf + H_GD, h->gd_offset);
  vmdk_put_le64 (buf + H_OVERHEAD, h->overhead);
  buf[H_UNCLEAN] = h->unclean;
  /* The newline check bytes detect a file mangled by a text transfer. */
  buf[H_NL] = '\n';
  buf[H_NL + 1] = ' ';
  buf[H_NL + 2] = '\r';
  buf[H_NL + 3] = '\n';
  buf[H_COMPRESS] = h->compress & 0xff;
  buf[H_COMPRESS + 1] = h->compress >> 8;
}

void
vmdk_marker_encode (uint8_t *sector, uint64_t num_sectors, uint32_t type)
{
  memset (sector, 0, VMDK_SECTOR);
  vmdk_put_le64 (sector, num_sectors);
  vmdk_put_le32 (sector + 8, 0);
  vmdk_put_le32 (sector + 12, type);
}

void
vmdk_sparse_layout (uint64_t capacity, uint64_t desc_sectors,
                    struct vmdk_layout *l)
{
  const uint64_t grain = 128, gtes = 512;
  uint64_t grains = DIV_ROUND_UP (capacity, grain);
  uint64_t tables;

  l->gt_sectors = DIV_ROUND_UP (gtes * 4, VMDK_SECTOR);
  l->gd_entries = DIV_ROUND_UP (grains, gtes);
  l->gd_sectors = DIV_ROUND_UP (l->gd_entries * 4, VMDK_SECTOR);
  tables = l->gt_sectors * l->gd_entries;
  /* Redundant directory and its tables first, then the primary ones, as
   * qemu-img lays them out; grains start on a grain boundary. */
  l->rgd_offset = desc_sectors ? 1 + desc_sectors : 1;
  l->gd_offset = l->rgd_offset + l->gd_sectors + tables;
  l->overhead = ROUND_UP (l->gd_offset + l->gd_sectors + tables, grain);
}

const uint8_t vmdk_zeroes[VMDK_MAX_GRAIN_SECTORS * VMDK_SECTOR];

uint32_t
vmdk_random_cid (void)
{
  uint32_t v = UINT32_MAX;

  while (v == UINT32_MAX) {
    if (getrandom (&v, sizeof v, 0) != (ssize_t) sizeof v)
      v = (uint32_t) time (NULL) ^ ((uint32_t) getpid () << 16);
  }
  return v;
}
