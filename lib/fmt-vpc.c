/* The Virtual PC / Hyper-V / Azure VHD format ("vpc" as qemu names it).
 * Every VHD ends with a 512-byte big-endian footer ("conectix").  A fixed
 * VHD is the raw disk followed by that footer; it is probed by the footer
 * at the end of the file (qemu probes it as raw).  A dynamic VHD starts
 * with a copy of the footer, then a dynamic header ("cxsparse") pointing
 * to the block allocation table (BAT) of 32-bit sector offsets; each
 * allocated block is a sector bitmap (one bit per 512-byte sector, most
 * significant bit first, set where the sector holds data) followed by the
 * block's data.  New blocks go where the footer was, and the footer is
 * written again after them.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "vd-internal.h"
#include "vhd-util.h"

#define VHD_FOOTER_SIZE 512
#define VHD_DYN_HEADER_SIZE 1024
#define VHD_TYPE_FIXED 2
#define VHD_TYPE_DYNAMIC 3
#define VHD_TYPE_DIFF 4
#define VHD_BAT_UNUSED 0xffffffffu
#define VHD_BLOCK_SIZE_DEFAULT (UINT32_C (2) << 20)
#define VHD_BLOCK_SIZE_MAX (UINT32_C (1) << 28)
/* The largest CHS geometry (65535 cylinders, 16 heads, 255 sectors) and
 * the largest disk qemu and Hyper-V accept (2040 GiB). */
#define VHD_MAX_GEOMETRY (UINT64_C (65535) * 16 * 255)
#define VHD_MAX_SECTORS UINT64_C (0xff000000)
/* Seconds from the Unix epoch to 2000-01-01 00:00:00 UTC. */
#define VHD_EPOCH 946684800
#define VHD_CREATOR_APP "vdtl"

/* Footer fields (big-endian). */
enum {
  F_COOKIE = 0x00,
  F_FEATURES = 0x08,
  F_VERSION = 0x0c,
  F_DATA_OFFSET = 0x10,
  F_TIMESTAMP = 0x18,
  F_CREATOR_APP = 0x1c,
  F_CREATOR_VER = 0x20,
  F_CREATOR_OS = 0x24,
  F_ORIG_SIZE = 0x28,
  F_CURRENT_SIZE = 0x30,
  F_CYLS = 0x38,
  F_HEADS = 0x3a,
  F_SECS = 0x3b,
  F_TYPE = 0x3c,
  F_CHECKSUM = 0x40,
  F_UUID = 0x44,
};

/* Dynamic header fields (big-endian). */
enum {
  D_COOKIE = 0x00,
  D_DATA_OFFSET = 0x08,
  D_TABLE_OFFSET = 0x10,
  D_VERSION = 0x18,
  D_MAX_TABLE_ENTRIES = 0x1c,
  D_BLOCK_SIZE = 0x20,
  D_CHECKSUM = 0x24,
};

struct vpc_priv {
  uint8_t footer[VHD_FOOTER_SIZE];
  uint32_t type;
  uint64_t file_size;
  /* dynamic */
  uint32_t block_size;
  uint32_t bitmap_size; /* bytes, whole sectors */
  uint64_t table_offset;
  uint32_t nr_entries;
  uint32_t *bat;       /* host order */
  uint64_t next_block; /* where the next block may start */
  uint64_t data_end;   /* the end of the metadata and blocks at open */
  bool dirty;
  uint32_t dirty_lo, dirty_hi;
  /* One block's sector bitmap, cached (reads come in order). */
  uint8_t *bitmap;
  uint32_t bitmap_block; /* UINT32_MAX: none cached */
  bool bitmap_full;      /* every bit of the cached bitmap is set */
};

uint32_t vd_vpc_checksum (const uint8_t *buf, size_t len, size_t csum_off);

/* The one's complement of the byte sum, the checksum field counted as 0.
 * (Not static: the unit tests build images with it.) */
uint32_t
vd_vpc_checksum (const uint8_t *buf, size_t len, size_t csum_off)
{
  uint32_t sum = 0;
  size_t i;

  for (i = 0; i < len; i++)
    if (i < csum_off || i >= csum_off + 4)
      sum += buf[i];
  return ~sum;
}

static bool
footer_ok (const uint8_t *f)
{
  return memcmp (f + F_COOKIE, "conectix", 8) == 0
         && get_be32 (f + F_CHECKSUM)
                == vd_vpc_checksum (f, VHD_FOOTER_SIZE, F_CHECKSUM);
}

static int
vpc_probe (const uint8_t *buf, size_t len, struct vd_io *io)
{
  uint8_t f[VHD_FOOTER_SIZE];
  int64_t size;

  if (len >= 8 && memcmp (buf, "conectix", 8) == 0)
    return 100;
  /* A fixed VHD: raw data and a footer at the end. */
  if (!io)
    return 0;
  size = vd_io_size (io);
  if (size < VHD_FOOTER_SIZE
      || vd_io_pread (io, f, sizeof f, size - VHD_FOOTER_SIZE) == -1)
    return 0;
  /* Less sure than a magic number at the start: a format that has one
   * wins over a footer that its last sector happens to hold. */
  if (footer_ok (f) && get_be32 (f + F_TYPE) == VHD_TYPE_FIXED
      && get_be64 (f + F_CURRENT_SIZE) <= (uint64_t) size - VHD_FOOTER_SIZE)
    return 90;
  return 0;
}

/* The CHS geometry of the VHD specification's appendix for a disk of
 * TOTAL sectors (at most VHD_MAX_GEOMETRY). */
static void
chs_geometry (uint64_t total, uint16_t *cyls, uint8_t *heads, uint8_t *secs)
{
  uint64_t cth, h, s;

  if (total > VHD_MAX_GEOMETRY)
    total = VHD_MAX_GEOMETRY;
  if (total >= UINT64_C (65535) * 16 * 63) {
    s = 255;
    h = 16;
    cth = total / s;
  }
  else {
    s = 17;
    cth = total / s;
    h = (cth + 1023) / 1024;
    if (h < 4)
      h = 4;
    if (cth >= h * 1024 || h > 16) {
      s = 31;
      h = 16;
      cth = total / s;
    }
    if (cth >= h * 1024) {
      s = 63;
      h = 16;
      cth = total / s;
    }
  }
  *cyls = cth / h;
  *heads = h;
  *secs = s;
}

/* The virtual size as qemu reads it: Virtual PC (and qemu's own "qemu"
 * images) size the disk by its CHS geometry; Hyper-V, Disk2vhd, XenServer
 * and qemu's force_size images by current_size; a disk at the largest
 * geometry by current_size too. */
static uint64_t
footer_virtual_sectors (const uint8_t *f)
{
  const uint8_t *app = f + F_CREATOR_APP;
  uint64_t chs = (uint64_t) get_be16 (f + F_CYLS) * f[F_HEADS] * f[F_SECS];
  bool use_chs = memcmp (app, "win ", 4) && memcmp (app, "qem2", 4)
                 && memcmp (app, "d2v ", 4) && memcmp (app, "CTXS", 4)
                 && memcmp (app, "tap", 4);

  if (!use_chs || chs == VHD_MAX_GEOMETRY)
    return get_be64 (f + F_CURRENT_SIZE) / 512;
  return chs;
}

static int
open_dynamic (vd_image *img)
{
  struct vpc_priv *p = img->priv;
  const char *fn = img->filename;
  uint8_t d[VHD_DYN_HEADER_SIZE];
  uint64_t dyn_off = get_be64 (p->footer + F_DATA_OFFSET);
  uint64_t table_end, need, i, nr_used = 0, stride;
  CLEANUP_FREE uint8_t *raw = NULL;
  CLEANUP_FREE uint64_t *starts = NULL;
  uint32_t bs;

  if (dyn_off < VHD_FOOTER_SIZE || dyn_off > p->file_size
      || p->file_size - dyn_off < VHD_DYN_HEADER_SIZE) {
    vd_set_error (EINVAL,
                  _ ("%s: the dynamic disk header offset 0x%" PRIx64
                     " lies outside the file"),
                  fn, dyn_off);
    return -1;
  }
  if (vd_io_pread (img->io, d, sizeof d, dyn_off) == -1)
    return -1;
  if (memcmp (d + D_COOKIE, "cxsparse", 8) != 0) {
    vd_set_error (
        EINVAL, _ ("%s: no dynamic disk header at 0x%" PRIx64 " (bad cookie)"),
        fn, dyn_off);
    return -1;
  }
  if (get_be32 (d + D_CHECKSUM) != vd_vpc_checksum (d, sizeof d, D_CHECKSUM)) {
    vd_set_error (EINVAL,
                  _ ("%s: the dynamic disk header checksum is wrong "
                     "(0x%08" PRIx32 ", expected 0x%08" PRIx32 ")"),
                  fn, get_be32 (d + D_CHECKSUM),
                  vd_vpc_checksum (d, sizeof d, D_CHECKSUM));
    return -1;
  }
  if (get_be32 (d + D_VERSION) >> 16 != 1) {
    vd_set_error (
        ENOTSUP, _ ("%s: unsupported dynamic disk header version 0x%08" PRIx32),
        fn, get_be32 (d + D_VERSION));
    return -1;
  }
  bs = get_be32 (d + D_BLOCK_SIZE);
  if (bs < 512 || bs > VHD_BLOCK_SIZE_MAX || (bs & (bs - 1))) {
    vd_set_error (EINVAL,
                  _ ("%s: bad VHD block size %" PRIu32
                     " (a power of two from 512 bytes to 256 MiB)"),
                  fn, bs);
    return -1;
  }
  p->block_size = bs;
  p->bitmap_size = ROUND_UP (bs / 512 / 8, 512);
  p->nr_entries = get_be32 (d + D_MAX_TABLE_ENTRIES);
  need = DIV_ROUND_UP (img->size, bs);
  if (p->nr_entries < need) {
    vd_set_error (EINVAL,
                  _ ("%s: the block allocation table has %" PRIu32
                     " entries, too few for the disk size (%" PRIu64 ")"),
                  fn, p->nr_entries, need);
    return -1;
  }
  p->table_offset = get_be64 (d + D_TABLE_OFFSET);
  table_end = p->table_offset + (uint64_t) p->nr_entries * 4;
  if (p->table_offset > p->file_size || table_end > p->file_size) {
    vd_set_error (EINVAL,
                  _ ("%s: the block allocation table (%" PRIu32
                     " entries at 0x%" PRIx64
                     ") lies past the end of the file"),
                  fn, p->nr_entries, p->table_offset);
    return -1;
  }
  raw = vd_malloc ((size_t) p->nr_entries * 4);
  p->bat = vd_calloc (p->nr_entries ? p->nr_entries : 1, sizeof *p->bat);
  starts = vd_calloc (p->nr_entries ? p->nr_entries : 1, sizeof *starts);
  p->bitmap = vd_malloc (p->bitmap_size);
  if (!raw || !p->bat || !starts || !p->bitmap)
    return -1;
  p->bitmap_block = UINT32_MAX;
  if (vd_io_pread (img->io, raw, (size_t) p->nr_entries * 4, p->table_offset)
      == -1)
    return -1;

  /* Blocks may sit anywhere after the metadata but must not overlap it,
   * each other, or (the part of the disk they hold) the end of the file. */
  stride = (uint64_t) p->bitmap_size + bs;
  p->next_block = MAX (table_end, dyn_off + VHD_DYN_HEADER_SIZE);
  for (i = 0; i < p->nr_entries; i++) {
    uint32_t e = get_be32 (raw + 4 * i);
    uint64_t off, used, end;

    p->bat[i] = e;
    if (e == VHD_BAT_UNUSED)
      continue;
    off = (uint64_t) e * 512;
    used = i * (uint64_t) bs < img->size ? MIN (bs, img->size - i * bs) : 0;
    end = off + p->bitmap_size + used;
    if (end > p->file_size) {
      vd_set_error (EINVAL,
                    _ ("%s: block %" PRIu64 " at 0x%" PRIx64
                       " lies past the end of the file"),
                    fn, i, off);
      return -1;
    }
    if (off < VHD_FOOTER_SIZE
        || (off < dyn_off + VHD_DYN_HEADER_SIZE && off + stride > dyn_off)
        || (off < table_end && off + stride > p->table_offset)) {
      vd_set_error (EINVAL,
                    _ ("%s: block %" PRIu64 " at 0x%" PRIx64
                       " overlaps the image's metadata"),
                    fn, i, off);
      return -1;
    }
    starts[nr_used++] = off;
    p->next_block = MAX (p->next_block, off + stride);
  }
  {
    uint64_t dup;
    if (vd_ranges_overlap (starts, nr_used, stride, &dup)) {
      vd_set_error (EINVAL,
                    _ ("%s: two blocks overlap in the file (at 0x%" PRIx64 ")"),
                    fn, dup);
      return -1;
    }
  }
  img->cluster_size = bs;
  return 0;
}

static int
vpc_open_image (vd_image *img, unsigned flags)
{
  struct vpc_priv *p = img->priv;
  const char *fn = img->filename;
  uint8_t head[VHD_FOOTER_SIZE];
  bool end_ok, head_ok;
  int64_t fsize;
  uint64_t sectors;

  (void) flags;
  fsize = vd_io_size (img->io);
  if (fsize < 0)
    return -1;
  p->file_size = fsize;
  if (p->file_size < VHD_FOOTER_SIZE) {
    vd_set_error (EINVAL, _ ("%s: the file is too short for a VHD footer"), fn);
    return -1;
  }
  /* The footer at the end is the authority; a dynamic disk keeps a copy
   * at the start, used when the end was cut short (a crash while a block
   * was being added). */
  if (vd_io_pread (img->io, p->footer, VHD_FOOTER_SIZE,
                   p->file_size - VHD_FOOTER_SIZE)
          == -1
      || vd_io_pread (img->io, head, VHD_FOOTER_SIZE, 0) == -1)
    return -1;
  end_ok = footer_ok (p->footer);
  head_ok = footer_ok (head) && get_be32 (head + F_TYPE) != VHD_TYPE_FIXED;
  if (!end_ok) {
    if (!head_ok) {
      const uint8_t *f =
          memcmp (p->footer, "conectix", 8) == 0 ? p->footer : head;
      if (memcmp (f, "conectix", 8) != 0)
        vd_set_error (EINVAL, _ ("%s: not a VHD image (no footer)"), fn);
      else
        vd_set_error (EINVAL,
                      _ ("%s: the VHD footer checksum is wrong (0x%08" PRIx32
                         ", expected 0x%08" PRIx32 ")"),
                      fn, get_be32 (f + F_CHECKSUM),
                      vd_vpc_checksum (f, VHD_FOOTER_SIZE, F_CHECKSUM));
      return -1;
    }
    memcpy (p->footer, head, VHD_FOOTER_SIZE);
  }

  p->type = get_be32 (p->footer + F_TYPE);
  if (p->type == VHD_TYPE_DIFF) {
    vd_set_error (ENOTSUP, _ ("%s: differencing VHD images are not supported"),
                  fn);
    return -1;
  }
  if (p->type != VHD_TYPE_FIXED && p->type != VHD_TYPE_DYNAMIC) {
    vd_set_error (EINVAL, _ ("%s: unknown VHD disk type %" PRIu32), fn,
                  p->type);
    return -1;
  }
  sectors = footer_virtual_sectors (p->footer);
  if (sectors > VHD_MAX_SECTORS) {
    vd_set_error (EFBIG,
                  _ ("%s: the VHD disk size (%" PRIu64
                     " sectors) is over the format's limit of 2040 GiB"),
                  fn, sectors);
    return -1;
  }
  img->size = sectors * 512;

  if (p->type == VHD_TYPE_FIXED) {
    if (!end_ok) {
      vd_set_error (EINVAL, _ ("%s: the fixed VHD has no footer at its end"),
                    fn);
      return -1;
    }
    if (img->size > p->file_size - VHD_FOOTER_SIZE) {
      vd_set_error (EINVAL,
                    _ ("%s: the disk size %" PRIu64
                       " is larger than the data in the file (%" PRIu64 ")"),
                    fn, img->size, p->file_size - VHD_FOOTER_SIZE);
      return -1;
    }
    return 0;
  }
  if (open_dynamic (img) == -1)
    return -1;
  p->data_end = p->next_block;
  /* The footer is overwritten by the next new block: start after it. */
  p->next_block = MAX (p->next_block,
                       end_ok ? p->file_size - VHD_FOOTER_SIZE : p->file_size);
  return 0;
}

static void
vpc_close (vd_image *img)
{
  struct vpc_priv *p = img->priv;

  free (p->bat);
  free (p->bitmap);
  p->bat = NULL;
  p->bitmap = NULL;
}

/* On failure the core frees only the private struct: drop what the
 * parse allocated. */
static int
vpc_open (vd_image *img, unsigned flags)
{
  if (vpc_open_image (img, flags) == -1) {
    vpc_close (img);
    return -1;
  }
  return 0;
}

static void
compute_full (struct vpc_priv *p)
{
  uint32_t bits = p->block_size / 512, i;

  p->bitmap_full = true;
  for (i = 0; i < bits / 8; i++)
    if (p->bitmap[i] != 0xff)
      p->bitmap_full = false;
  if (bits % 8
      && (p->bitmap[bits / 8] >> (8 - bits % 8)) != (1 << bits % 8) - 1)
    p->bitmap_full = false;
}

/* Load block B's sector bitmap into the cache. */
static int
load_bitmap (vd_image *img, uint32_t b)
{
  struct vpc_priv *p = img->priv;

  if (p->bitmap_block == b)
    return 0;
  p->bitmap_block = UINT32_MAX;
  if (vd_io_pread (img->io, p->bitmap, p->bitmap_size,
                   (uint64_t) p->bat[b] * 512)
      == -1)
    return -1;
  compute_full (p);
  p->bitmap_block = b;
  return 0;
}

static bool
sector_present (const struct vpc_priv *p, uint32_t s)
{
  return p->bitmap[s / 8] & (0x80 >> (s % 8));
}

/* Within block B from byte IN, the length (at most N) of the run of
 * sectors that are all present or all absent; *present says which. */
static uint64_t
bitmap_run (struct vpc_priv *p, uint64_t in, uint64_t n, bool *present)
{
  uint32_t s = in / 512, last = (in + n - 1) / 512, t;

  if (p->bitmap_full) {
    *present = true;
    return n;
  }
  *present = sector_present (p, s);
  for (t = s + 1; t <= last && sector_present (p, t) == *present; t++)
    ;
  return MIN (n, (uint64_t) t * 512 - in);
}

static uint64_t
block_data_offset (const struct vpc_priv *p, uint32_t b)
{
  return (uint64_t) p->bat[b] * 512 + p->bitmap_size;
}

static int
vpc_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  struct vpc_priv *p = img->priv;
  uint8_t *out = buf;

  if (p->type == VHD_TYPE_FIXED)
    return vd_io_pread (img->io, buf, count, offset);
  while (count > 0) {
    uint32_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    uint64_t n = MIN (count, p->block_size - in);

    if (p->bat[b] == VHD_BAT_UNUSED)
      memset (out, 0, n);
    else {
      bool present;
      if (load_bitmap (img, b) == -1)
        return -1;
      n = bitmap_run (p, in, n, &present);
      if (!present)
        memset (out, 0, n);
      else if (vd_io_pread (img->io, out, n, block_data_offset (p, b) + in)
               == -1)
        return -1;
    }
    out += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static void
mark_dirty (struct vpc_priv *p, uint32_t b)
{
  if (!p->dirty) {
    p->dirty = true;
    p->dirty_lo = b;
    p->dirty_hi = b + 1;
    return;
  }
  p->dirty_lo = MIN (p->dirty_lo, b);
  p->dirty_hi = MAX (p->dirty_hi, b + 1);
}

/* Add a block for BAT entry B at the end of the file: every sector marked
 * present (as qemu does) and reading as zeros, the footer after it. */
static int
allocate_block (vd_image *img, uint32_t b)
{
  struct vpc_priv *p = img->priv;
  uint64_t off, end;

  /* Put the data (after the bitmap) on a 4 KiB boundary. */
  off = ROUND_UP (p->next_block + p->bitmap_size, 4096) - p->bitmap_size;
  end = off + p->bitmap_size + p->block_size;
  if (off / 512 >= VHD_BAT_UNUSED) {
    vd_set_error (EFBIG,
                  _ ("%s: the VHD file cannot grow further (a block cannot "
                     "start past 2 TiB)"),
                  img->filename);
    return -1;
  }
  if (off < p->file_size
      && vd_io_write_zeroes (img->io, off, MIN (end, p->file_size) - off) == -1)
    return -1;
  if (vd_io_truncate (img->io, end + VHD_FOOTER_SIZE) == -1)
    return -1;
  p->file_size = end + VHD_FOOTER_SIZE;
  memset (p->bitmap, 0xff, p->bitmap_size);
  if (vd_io_pwrite (img->io, p->bitmap, p->bitmap_size, off) == -1
      || vd_io_pwrite (img->io, p->footer, VHD_FOOTER_SIZE, end) == -1) {
    p->bitmap_block = UINT32_MAX;
    return -1;
  }
  p->next_block = p->data_end = end;
  p->bat[b] = off / 512;
  p->bitmap_block = b;
  p->bitmap_full = true;
  mark_dirty (p, b);
  return 0;
}

/* Before data is written to [in, in + n) of allocated block B: set the
 * sectors' bits in the cached bitmap (*changed says if any was clear),
 * and zero the parts of newly present sectors the write does not cover,
 * which must go on reading as zeros whatever the file held there. */
static int
mark_present (vd_image *img, uint32_t b, uint64_t in, uint64_t n, bool *changed)
{
  struct vpc_priv *p = img->priv;
  uint32_t s, first = in / 512, last = (in + n - 1) / 512;
  uint64_t data = block_data_offset (p, b);

  *changed = false;
  if (load_bitmap (img, b) == -1)
    return -1;
  if (p->bitmap_full)
    return 0;
  for (s = first; s <= last; s++) {
    if (sector_present (p, s))
      continue;
    if (s == first && in % 512
        && vd_io_write_zeroes (img->io, data + (uint64_t) s * 512, in % 512)
               == -1)
      goto fail;
    if (s == last && (in + n) % 512
        && vd_io_write_zeroes (img->io, data + in + n, 512 - (in + n) % 512)
               == -1)
      goto fail;
    p->bitmap[s / 8] |= 0x80 >> (s % 8);
    *changed = true;
  }
  compute_full (p);
  return 0;

fail:
  p->bitmap_block = UINT32_MAX;
  return -1;
}

static int
vpc_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  struct vpc_priv *p = img->priv;
  const uint8_t *in_buf = buf;

  if (p->type == VHD_TYPE_FIXED)
    return vd_io_pwrite (img->io, buf, count, offset);
  while (count > 0) {
    uint32_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    uint64_t n = MIN (count, p->block_size - in);

    bool changed = false;

    if (p->bat[b] == VHD_BAT_UNUSED) {
      if (vd_is_zero (in_buf, n))
        goto next;
      if (allocate_block (img, b) == -1)
        return -1;
    }
    else if (mark_present (img, b, in, n, &changed) == -1)
      return -1;
    if (vd_io_pwrite (img->io, in_buf, n, block_data_offset (p, b) + in) == -1)
      return -1;
    /* The bits after the data they vouch for. */
    if (changed
        && vd_io_pwrite (img->io, p->bitmap, p->bitmap_size,
                         (uint64_t) p->bat[b] * 512)
               == -1) {
      p->bitmap_block = UINT32_MAX;
      return -1;
    }
  next:
    in_buf += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static int
vpc_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  struct vpc_priv *p = img->priv;

  (void) flags;
  if (p->type == VHD_TYPE_FIXED)
    return vd_io_write_zeroes (img->io, offset, count);
  while (count > 0) {
    uint32_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    uint64_t n = MIN (count, p->block_size - in);

    if (p->bat[b] != VHD_BAT_UNUSED
        && vd_io_write_zeroes (img->io, block_data_offset (p, b) + in, n) == -1)
      return -1;
    offset += n;
    count -= n;
  }
  return 0;
}

static int
vpc_flush (vd_image *img)
{
  struct vpc_priv *p = img->priv;
  uint32_t i;

  if (p->dirty) {
    size_t n = p->dirty_hi - p->dirty_lo;
    CLEANUP_FREE uint8_t *raw = vd_malloc (n * 4);

    if (!raw)
      return -1;
    for (i = 0; i < n; i++)
      put_be32 (raw + 4 * i, p->bat[p->dirty_lo + i]);
    /* The blocks' data before the table entries that point to them. */
    if (vd_io_flush (img->io) == -1
        || vd_io_pwrite (img->io, raw, n * 4,
                         p->table_offset + (uint64_t) p->dirty_lo * 4)
               == -1)
      return -1;
    p->dirty = false;
  }
  return vd_io_flush (img->io);
}

static int
vpc_block_status (vd_image *img, uint64_t offset, uint64_t length,
                  struct vd_extent *ext)
{
  struct vpc_priv *p = img->priv;
  uint64_t host, n;
  bool is_data;

  if (p->type == VHD_TYPE_FIXED) {
    host = offset;
    n = length;
  }
  else {
    uint32_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    bool present;

    n = MIN (length, p->block_size - in);
    if (p->bat[b] == VHD_BAT_UNUSED) {
      while (n < length && b + 1 < p->nr_entries
             && p->bat[b + 1] == VHD_BAT_UNUSED) {
        b++;
        n = MIN (length, n + p->block_size);
      }
      ext->length = n;
      ext->flags = 0;
      return 0;
    }
    if (load_bitmap (img, b) == -1)
      return -1;
    n = bitmap_run (p, in, n, &present);
    if (!present) {
      ext->length = n;
      ext->flags = VD_EXT_ALLOCATED | VD_EXT_ZERO;
      return 0;
    }
    host = block_data_offset (p, b) + in;
  }
  if (vd_io_extent (img->io, host, n, &is_data, &n) == -1)
    return -1;
  ext->length = n;
  ext->flags = VD_EXT_ALLOCATED | VD_EXT_OFFSET_VALID
               | (is_data ? VD_EXT_DATA : VD_EXT_ZERO);
  ext->host_offset = host;
  ext->host_file = img->filename;
  return 0;
}

/* A dynamic disk's two footers must agree (-r all rewrites the one that
 * does not match the footer in use); a fixed disk whose size is not whole
 * MiB gets a note, as Azure refuses it.  (qemu-img has no check for vpc;
 * open has checked the rest.) */
static int
vpc_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  struct vpc_priv *p = img->priv;
  uint8_t head[VHD_FOOTER_SIZE], end[VHD_FOOTER_SIZE];
  bool repair = fix & VD_CHECK_FIX_ERRORS;

  if (p->type == VHD_TYPE_FIXED) {
    uint64_t cur = get_be64 (p->footer + F_CURRENT_SIZE);
    if (cur % (UINT64_C (1) << 20))
      vd_check_report (res,
                       _ ("Note: the disk size (%" PRIu64
                          " bytes) is not a whole number of MiB, which Azure "
                          "requires of a fixed VHD (make one with -o "
                          "subformat=fixed,force_size=on and a size in MiB)"),
                       cur);
    return 0;
  }
  if (vd_io_pread (img->io, head, sizeof head, 0) == -1
      || vd_io_pread (img->io, end, sizeof end, p->file_size - VHD_FOOTER_SIZE)
             == -1) {
    res->check_errors++;
    return 0;
  }
  if (memcmp (head, p->footer, VHD_FOOTER_SIZE) != 0) {
    if (repair) {
      if (vd_io_pwrite (img->io, p->footer, VHD_FOOTER_SIZE, 0) == -1)
        return -1;
      res->corruptions_fixed++;
    }
    else {
      vd_check_report (res, _ ("ERROR: the copy of the footer at the start "
                               "of the file differs from the footer"));
      res->corruptions++;
    }
  }
  if (memcmp (end, p->footer, VHD_FOOTER_SIZE) != 0) {
    if (repair) {
      /* Drop whatever follows the last block (a block cut short). */
      uint64_t at = p->data_end;
      if (vd_io_truncate (img->io, at + VHD_FOOTER_SIZE) == -1
          || vd_io_pwrite (img->io, p->footer, VHD_FOOTER_SIZE, at) == -1)
        return -1;
      p->file_size = at + VHD_FOOTER_SIZE;
      p->next_block = at;
      res->corruptions_fixed++;
    }
    else {
      vd_check_report (res, _ ("ERROR: the footer at the end of the file is "
                               "missing or damaged"));
      res->corruptions++;
    }
  }
  return 0;
}

/* ---- create -------------------------------------------------------- */

static void
make_footer (uint8_t *f, uint32_t type, uint64_t size, uint16_t cyls,
             uint8_t heads, uint8_t secs, uint64_t data_offset)
{
  time_t now = time (NULL);

  memset (f, 0, VHD_FOOTER_SIZE);
  memcpy (f + F_COOKIE, "conectix", 8);
  put_be32 (f + F_FEATURES, 2); /* "reserved", always set */
  put_be32 (f + F_VERSION, 0x00010000);
  put_be64 (f + F_DATA_OFFSET, data_offset);
  put_be32 (f + F_TIMESTAMP, now > VHD_EPOCH ? now - VHD_EPOCH : 0);
  memcpy (f + F_CREATOR_APP, VHD_CREATOR_APP, 4);
  put_be32 (f + F_CREATOR_VER, 0x00010000);
  memcpy (f + F_CREATOR_OS, "Wi2k", 4);
  put_be64 (f + F_ORIG_SIZE, size);
  put_be64 (f + F_CURRENT_SIZE, size);
  put_be16 (f + F_CYLS, cyls);
  f[F_HEADS] = heads;
  f[F_SECS] = secs;
  put_be32 (f + F_TYPE, type);
}

static int
vpc_create (struct vd_io *io, const char *filename, uint64_t size,
            struct vd_opts *opts)
{
  const char *sub = vd_opts_get (opts, "subformat");
  bool force_size = false, fixed;
  uint64_t sectors, total;
  uint16_t cyls = 0;
  uint8_t heads = 0, secs = 0;
  uint8_t f[VHD_FOOTER_SIZE];

  if (vd_opts_get_bool (opts, "force_size", &force_size) == -1)
    return -1;
  if (!sub || strcmp (sub, "dynamic") == 0)
    fixed = false;
  else if (strcmp (sub, "fixed") == 0)
    fixed = true;
  else {
    vd_set_error (EINVAL,
                  _ ("invalid value '%s' for option 'subformat' (use dynamic "
                     "or fixed)"),
                  sub);
    return -1;
  }

  sectors = DIV_ROUND_UP (size, 512);
  if (force_size) {
    /* The exact size; the largest geometry tells readers to use it. */
    cyls = 65535;
    heads = 16;
    secs = 255;
    total = sectors;
  }
  else {
    /* qemu's rounding: the smallest geometry that holds the size. */
    uint64_t want = MIN (sectors, VHD_MAX_GEOMETRY), i;
    for (i = 0; (uint64_t) cyls * heads * secs < want; i++)
      chs_geometry (want + i, &cyls, &heads, &secs);
    total = (uint64_t) cyls * heads * secs;
    if (total == VHD_MAX_GEOMETRY)
      total = sectors;
  }
  if (total > VHD_MAX_SECTORS) {
    vd_set_error (EFBIG,
                  _ ("%s: the image size is too large for the vpc format "
                     "(at most 2040 GiB)"),
                  filename);
    return -1;
  }

  if (fixed) {
    make_footer (f, VHD_TYPE_FIXED, total * 512, cyls, heads, secs, UINT64_MAX);
    if (vd_random_uuid (f + F_UUID) == -1)
      return -1;
    put_be32 (f + F_CHECKSUM, vd_vpc_checksum (f, sizeof f, F_CHECKSUM));
    if (vd_io_truncate (io, total * 512) == -1
        || vd_io_pwrite (io, f, sizeof f, total * 512) == -1)
      return -1;
    return 0;
  }
  else {
    uint8_t d[VHD_DYN_HEADER_SIZE] = { 0 };
    uint64_t entries = DIV_ROUND_UP (total * 512, VHD_BLOCK_SIZE_DEFAULT);
    uint64_t table_off = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE;
    uint64_t table_len = ROUND_UP (entries * 4, 512), done;
    uint8_t ff[65536];

    make_footer (f, VHD_TYPE_DYNAMIC, total * 512, cyls, heads, secs,
                 VHD_FOOTER_SIZE);
    if (vd_random_uuid (f + F_UUID) == -1)
      return -1;
    put_be32 (f + F_CHECKSUM, vd_vpc_checksum (f, sizeof f, F_CHECKSUM));
    memcpy (d + D_COOKIE, "cxsparse", 8);
    put_be64 (d + D_DATA_OFFSET, UINT64_MAX);
    put_be64 (d + D_TABLE_OFFSET, table_off);
    put_be32 (d + D_VERSION, 0x00010000);
    put_be32 (d + D_MAX_TABLE_ENTRIES, entries);
    put_be32 (d + D_BLOCK_SIZE, VHD_BLOCK_SIZE_DEFAULT);
    put_be32 (d + D_CHECKSUM, vd_vpc_checksum (d, sizeof d, D_CHECKSUM));
    memset (ff, 0xff, sizeof ff);
    if (vd_io_pwrite (io, f, sizeof f, 0) == -1
        || vd_io_pwrite (io, d, sizeof d, VHD_FOOTER_SIZE) == -1)
      return -1;
    for (done = 0; done < table_len; done += sizeof ff)
      if (vd_io_pwrite (io, ff, MIN (sizeof ff, table_len - done),
                        table_off + done)
          == -1)
        return -1;
    return vd_io_pwrite (io, f, sizeof f, table_off + table_len);
  }
}

static const struct vd_create_opt_desc vpc_create_opts[] = {
  { "size", "size", N_ ("Virtual disk size") },
  { "subformat", "string",
    N_ ("Type of virtual hard disk format. Supported formats are {dynamic "
        "(default) | fixed} ") },
  { "force_size", "bool",
    N_ ("Force disk size calculation to use the actual size specified, "
        "rather than using the nearest CHS-based calculation") },
  { NULL, NULL, NULL },
};

const struct vd_format_ops vd_format_vpc = {
  .name = "vpc",
  .priv_size = sizeof (struct vpc_priv),
  .probe = vpc_probe,
  .open = vpc_open,
  .close = vpc_close,
  .create = vpc_create,
  .create_opts = vpc_create_opts,
  .pread = vpc_pread,
  .pwrite = vpc_pwrite,
  .zero = vpc_zero,
  .flush = vpc_flush,
  .block_status = vpc_block_status,
  .check = vpc_check,
};
