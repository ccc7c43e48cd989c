/* The VirtualBox VDI format (header version 1.1): a 512-byte header, a
 * block map of 32-bit little-endian entries, then the data blocks
 * (1 MiB as VirtualBox and qemu make them).  A map entry is the index of
 * the block in the data area, 0xffffffff (never written: zeros) or
 * 0xfffffffe (discarded: zeros).  Dynamic images allocate blocks on first
 * write, at the end of the data area; static images have every block.
 * The UUIDs in the header are kept as they are.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "vd-internal.h"
#include "vhd-util.h"

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_TYPE_DYNAMIC 1
#define VDI_TYPE_STATIC 2
#define VDI_TYPE_UNDO 3
#define VDI_TYPE_DIFF 4
#define VDI_UNALLOCATED 0xffffffffu
#define VDI_DISCARDED 0xfffffffeu
#define VDI_HEADER_SIZE_MIN 0x180  /* v1.1 without the LCHS geometry */
#define VDI_HEADER_SIZE_PLUS 0x190 /* v1.1 with it, as VirtualBox writes */
#define VDI_BLOCK_SIZE (UINT64_C (1) << 20)
#define VDI_BLOCK_SIZE_MAX (UINT32_C (1) << 28)
/* qemu's limit on the block count; VirtualBox stays far below it. */
#define VDI_BLOCKS_MAX 0x1fffff8u
#define VDI_DATA_ALIGN (UINT64_C (1) << 20)
#define VDI_TEXT "<<< Oracle VM VirtualBox Disk Image >>>\n"

/* Header field offsets (all little-endian). */
enum {
  H_TEXT = 0x00,
  H_SIGNATURE = 0x40,
  H_VERSION = 0x44,
  H_HEADER_SIZE = 0x48,
  H_IMAGE_TYPE = 0x4c,
  H_IMAGE_FLAGS = 0x50,
  H_DESCRIPTION = 0x54,
  H_OFFSET_BMAP = 0x154,
  H_OFFSET_DATA = 0x158,
  H_CYLINDERS = 0x15c,
  H_HEADS = 0x160,
  H_SECTORS = 0x164,
  H_SECTOR_SIZE = 0x168,
  H_DISK_SIZE = 0x170,
  H_BLOCK_SIZE = 0x178,
  H_BLOCK_EXTRA = 0x17c,
  H_BLOCKS_IN_IMAGE = 0x180,
  H_BLOCKS_ALLOCATED = 0x184,
  H_UUID_IMAGE = 0x188,
  H_UUID_LAST_SNAP = 0x198,
  H_UUID_LINK = 0x1a8,
  H_UUID_PARENT = 0x1b8,
  H_SIZE = 0x200,
};

struct vdi_priv {
  uint8_t header[H_SIZE]; /* as read; rewritten with a new block count */
  uint32_t type;
  uint64_t offset_bmap;
  uint64_t offset_data;
  uint32_t block_size;
  uint32_t block_extra;
  uint32_t blocks_in_image;
  uint32_t blocks_allocated;
  uint32_t *bmap; /* host order, blocks_in_image entries */
  uint64_t file_size;
  /* Map entries changed since the last flush: [dirty_lo, dirty_hi). */
  bool dirty;
  uint32_t dirty_lo, dirty_hi;
};

static int
vdi_probe (const uint8_t *buf, size_t len, struct vd_io *io)
{
  (void) io;
  if (len >= H_SIGNATURE + 4 && get_le32 (buf + H_SIGNATURE) == VDI_SIGNATURE)
    return 100;
  return 0;
}

static bool
uuid_is_null (const uint8_t *u)
{
  return vd_is_zero (u, 16);
}

static uint64_t
block_stride (const struct vdi_priv *p)
{
  return (uint64_t) p->block_size + p->block_extra;
}

/* Where block index IDX of the data area starts (its payload follows
 * block_extra bytes of per-block data, unused by anyone today). */
static uint64_t
block_host_offset (const struct vdi_priv *p, uint32_t idx)
{
  return p->offset_data + (uint64_t) idx * block_stride (p) + p->block_extra;
}

static int
load_bmap (vd_image *img)
{
  struct vdi_priv *p = img->priv;
  const char *fn = img->filename;
  size_t n = p->blocks_in_image, i;
  CLEANUP_FREE uint8_t *raw = NULL;
  CLEANUP_FREE uint8_t *seen = NULL;
  uint32_t max_idx = 0;
  bool any = false;

  p->bmap = vd_calloc (n ? n : 1, sizeof *p->bmap);
  raw = vd_malloc (n * 4);
  seen = vd_calloc ((p->blocks_allocated + 7) / 8 + 1, 1);
  if (!p->bmap || !raw || !seen)
    return -1;
  if (vd_io_pread (img->io, raw, n * 4, p->offset_bmap) == -1)
    return -1;
  for (i = 0; i < n; i++) {
    uint32_t e = get_le32 (raw + 4 * i);
    p->bmap[i] = e;
    if (e == VDI_UNALLOCATED || e == VDI_DISCARDED)
      continue;
    /* Blocks are handed out in order, so an index at or past the
     * allocation count would be handed out again by the next write. */
    if (e >= p->blocks_allocated) {
      vd_set_error (EINVAL,
                    _ ("%s: block map entry %zu points to data block %" PRIu32
                       ", but the header says only %" PRIu32
                       " blocks are allocated"),
                    fn, i, e, p->blocks_allocated);
      return -1;
    }
    if (seen[e / 8] & (1 << (e % 8))) {
      vd_set_error (EINVAL,
                    _ ("%s: data block %" PRIu32
                       " is used twice in the block map (again by entry "
                       "%zu)"),
                    fn, e, i);
      return -1;
    }
    seen[e / 8] |= 1 << (e % 8);
    if (e > max_idx)
      max_idx = e;
    any = true;
  }
  if (any) {
    uint64_t end = p->offset_data + (uint64_t) (max_idx + 1) * block_stride (p);
    if (end > p->file_size) {
      vd_set_error (EINVAL,
                    _ ("%s: data block %" PRIu32
                       " lies past the end of the file (it ends at %" PRIu64
                       ", the file has %" PRIu64 " bytes)"),
                    fn, max_idx, end, p->file_size);
      return -1;
    }
  }
  return 0;
}

static int
vdi_open_image (vd_image *img, unsigned flags)
{
  struct vdi_priv *p = img->priv;
  const char *fn = img->filename;
  const uint8_t *h = p->header;
  int64_t fsize;
  uint32_t sig, version, hsize, sector_size, bs;
  uint64_t disk_size, bmap_end, covered;

  (void) flags;
  fsize = vd_io_size (img->io);
  if (fsize < 0)
    return -1;
  p->file_size = fsize;
  if (p->file_size < H_SIZE) {
    vd_set_error (
        EINVAL,
        _ ("%s: the file is too short (%" PRIu64 " bytes) for a VDI header"),
        fn, p->file_size);
    return -1;
  }
  if (vd_io_pread (img->io, p->header, H_SIZE, 0) == -1)
    return -1;

  sig = get_le32 (h + H_SIGNATURE);
  if (sig != VDI_SIGNATURE) {
    vd_set_error (EINVAL,
                  _ ("%s: not a VDI image (bad signature 0x%08" PRIx32 ")"), fn,
                  sig);
    return -1;
  }
  version = get_le32 (h + H_VERSION);
  if (version != VDI_VERSION_1_1) {
    vd_set_error (ENOTSUP,
                  _ ("%s: unsupported VDI version %" PRIu32 ".%" PRIu32
                     " (only 1.1 is supported)"),
                  fn, version >> 16, version & 0xffff);
    return -1;
  }
  hsize = get_le32 (h + H_HEADER_SIZE);
  if (hsize < VDI_HEADER_SIZE_MIN || hsize > H_SIZE - H_HEADER_SIZE) {
    vd_set_error (EINVAL, _ ("%s: bad VDI header size %" PRIu32), fn, hsize);
    return -1;
  }
  p->type = get_le32 (h + H_IMAGE_TYPE);
  if (p->type == VDI_TYPE_UNDO || p->type == VDI_TYPE_DIFF) {
    vd_set_error (ENOTSUP,
                  _ ("%s: %s VDI images are not supported (only normal "
                     "and fixed ones)"),
                  fn, p->type == VDI_TYPE_UNDO ? "undo" : "differencing");
    return -1;
  }
  if (p->type != VDI_TYPE_DYNAMIC && p->type != VDI_TYPE_STATIC) {
    vd_set_error (EINVAL, _ ("%s: unknown VDI image type %" PRIu32), fn,
                  p->type);
    return -1;
  }
  if (!uuid_is_null (h + H_UUID_LINK) || !uuid_is_null (h + H_UUID_PARENT)) {
    vd_set_error (ENOTSUP,
                  _ ("%s: the VDI image is linked to a parent image, which "
                     "is not supported"),
                  fn);
    return -1;
  }
  sector_size = get_le32 (h + H_SECTOR_SIZE);
  if (sector_size != 512) {
    vd_set_error (ENOTSUP,
                  _ ("%s: unsupported VDI sector size %" PRIu32
                     " (only 512 is supported)"),
                  fn, sector_size);
    return -1;
  }
  bs = get_le32 (h + H_BLOCK_SIZE);
  if (bs < 512 || bs > VDI_BLOCK_SIZE_MAX || (bs & (bs - 1))) {
    vd_set_error (EINVAL,
                  _ ("%s: bad VDI block size %" PRIu32
                     " (a power of two from 512 bytes to 256 MiB)"),
                  fn, bs);
    return -1;
  }
  p->block_size = bs;
  p->block_extra = get_le32 (h + H_BLOCK_EXTRA);
  if (p->block_extra % 512 || p->block_extra > VDI_BLOCK_SIZE_MAX) {
    vd_set_error (EINVAL, _ ("%s: bad VDI per-block extra size %" PRIu32), fn,
                  p->block_extra);
    return -1;
  }
  p->blocks_in_image = get_le32 (h + H_BLOCKS_IN_IMAGE);
  p->blocks_allocated = get_le32 (h + H_BLOCKS_ALLOCATED);
  if (p->blocks_in_image > VDI_BLOCKS_MAX) {
    vd_set_error (EINVAL,
                  _ ("%s: the VDI block map has too many entries (%" PRIu32
                     ", at most %u)"),
                  fn, p->blocks_in_image, VDI_BLOCKS_MAX);
    return -1;
  }
  if (p->blocks_allocated > p->blocks_in_image) {
    vd_set_error (EINVAL,
                  _ ("%s: %" PRIu32
                     " blocks are allocated, more than the image has (%" PRIu32
                     ")"),
                  fn, p->blocks_allocated, p->blocks_in_image);
    return -1;
  }
  disk_size = get_le64 (h + H_DISK_SIZE);
  covered = (uint64_t) p->blocks_in_image * bs;
  if (disk_size > covered) {
    vd_set_error (EINVAL,
                  _ ("%s: the disk size %" PRIu64
                     " is larger than the block map covers (%" PRIu64 ")"),
                  fn, disk_size, covered);
    return -1;
  }

  p->offset_bmap = get_le32 (h + H_OFFSET_BMAP);
  p->offset_data = get_le32 (h + H_OFFSET_DATA);
  if (p->offset_bmap % 512 || p->offset_bmap < H_HEADER_SIZE + hsize) {
    vd_set_error (EINVAL, _ ("%s: bad VDI block map offset 0x%" PRIx64), fn,
                  p->offset_bmap);
    return -1;
  }
  bmap_end = p->offset_bmap + (uint64_t) p->blocks_in_image * 4;
  if (bmap_end > p->file_size) {
    vd_set_error (EINVAL,
                  _ ("%s: the VDI block map (%" PRIu32 " entries at 0x%" PRIx64
                     ") lies past the end of the file"),
                  fn, p->blocks_in_image, p->offset_bmap);
    return -1;
  }
  if (p->offset_data % 512 || p->offset_data < bmap_end) {
    vd_set_error (EINVAL,
                  _ ("%s: bad VDI data offset 0x%" PRIx64
                     " (it must be sector aligned and follow the block map)"),
                  fn, p->offset_data);
    return -1;
  }

  if (load_bmap (img) == -1)
    return -1;

  /* As qemu: a size that is not whole sectors (VBoxManage convertfromraw
   * makes such) loses its partial last sector. */
  img->size = ROUND_DOWN (disk_size, 512);
  img->cluster_size = bs;
  return 0;
}

static void
vdi_close (vd_image *img)
{
  struct vdi_priv *p = img->priv;

  free (p->bmap);
  p->bmap = NULL;
}

/* On failure the core frees only the private struct: drop what the
 * parse allocated. */
static int
vdi_open (vd_image *img, unsigned flags)
{
  if (vdi_open_image (img, flags) == -1) {
    vdi_close (img);
    return -1;
  }
  return 0;
}

static int
vdi_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  struct vdi_priv *p = img->priv;
  uint8_t *out = buf;

  while (count > 0) {
    uint64_t b = offset / p->block_size;
    uint32_t in = offset % p->block_size;
    size_t n = MIN (count, (size_t) (p->block_size - in));
    uint32_t e = p->bmap[b];

    if (e == VDI_UNALLOCATED || e == VDI_DISCARDED)
      memset (out, 0, n);
    else if (vd_io_pread (img->io, out, n, block_host_offset (p, e) + in) == -1)
      return -1;
    out += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static void
mark_dirty (struct vdi_priv *p, uint32_t b)
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

/* Give map entry B a new data block, reading as zeros. */
static int
allocate_block (vd_image *img, uint32_t b)
{
  struct vdi_priv *p = img->priv;
  uint32_t idx = p->blocks_allocated;
  uint64_t start, end;

  if (idx >= p->blocks_in_image) {
    vd_set_error (EINVAL,
                  _ ("%s: no data block left to allocate (the header's "
                     "allocation count %" PRIu32 " is wrong)"),
                  img->filename, p->blocks_allocated);
    return -1;
  }
  start = p->offset_data + (uint64_t) idx * block_stride (p);
  end = start + block_stride (p);
  /* The new block must read as zeros: past the end of the file that is a
   * hole; anything already there (trailing bytes) is zeroed. */
  if (start < p->file_size
      && vd_io_write_zeroes (img->io, start, MIN (end, p->file_size) - start)
             == -1)
    return -1;
  if (end > p->file_size) {
    if (vd_io_truncate (img->io, end) == -1)
      return -1;
    p->file_size = end;
  }
  p->bmap[b] = idx;
  p->blocks_allocated++;
  mark_dirty (p, b);
  return 0;
}

static int
vdi_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  struct vdi_priv *p = img->priv;
  const uint8_t *in_buf = buf;

  while (count > 0) {
    uint64_t b = offset / p->block_size;
    uint32_t in = offset % p->block_size;
    size_t n = MIN (count, (size_t) (p->block_size - in));
    uint32_t e = p->bmap[b];

    if (e == VDI_UNALLOCATED || e == VDI_DISCARDED) {
      /* Zeros need no block: the range already reads as zeros. */
      if (vd_is_zero (in_buf, n))
        goto next;
      if (allocate_block (img, b) == -1)
        return -1;
      e = p->bmap[b];
    }
    if (vd_io_pwrite (img->io, in_buf, n, block_host_offset (p, e) + in) == -1)
      return -1;
  next:
    in_buf += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static int
vdi_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  struct vdi_priv *p = img->priv;

  (void) flags;
  while (count > 0) {
    uint64_t b = offset / p->block_size;
    uint32_t in = offset % p->block_size;
    uint64_t n = MIN (count, (uint64_t) (p->block_size - in));
    uint32_t e = p->bmap[b];

    if (e != VDI_UNALLOCATED && e != VDI_DISCARDED
        && vd_io_write_zeroes (img->io, block_host_offset (p, e) + in, n) == -1)
      return -1;
    offset += n;
    count -= n;
  }
  return 0;
}

/* Write the header (new allocation count) and the changed part of the
 * map, after the data they point to is on disk. */
static int
vdi_flush (vd_image *img)
{
  struct vdi_priv *p = img->priv;
  uint32_t i;

  if (p->dirty) {
    CLEANUP_FREE uint8_t *raw = NULL;
    size_t n = p->dirty_hi - p->dirty_lo;

    raw = vd_malloc (n * 4);
    if (!raw)
      return -1;
    for (i = 0; i < n; i++)
      put_le32 (raw + 4 * i, p->bmap[p->dirty_lo + i]);
    if (vd_io_flush (img->io) == -1)
      return -1;
    /* The count first: a crash before the map is written then only
     * leaks a block, never hands one out twice. */
    put_le32 (p->header + H_BLOCKS_ALLOCATED, p->blocks_allocated);
    if (vd_io_pwrite (img->io, p->header, H_SIZE, 0) == -1)
      return -1;
    if (vd_io_pwrite (img->io, raw, n * 4,
                      p->offset_bmap + (uint64_t) p->dirty_lo * 4)
        == -1)
      return -1;
    p->dirty = false;
  }
  return vd_io_flush (img->io);
}

static int
vdi_block_status (vd_image *img, uint64_t offset, uint64_t length,
                  struct vd_extent *ext)
{
  struct vdi_priv *p = img->priv;
  uint64_t b = offset / p->block_size;
  uint64_t len = MIN (length, p->block_size - offset % p->block_size);
  uint32_t e = p->bmap[b];

  if (e == VDI_UNALLOCATED || e == VDI_DISCARDED) {
    /* Take in the following blocks of the same kind. */
    while (len < length && b + 1 < p->blocks_in_image && p->bmap[b + 1] == e) {
      b++;
      len = MIN (length, len + p->block_size);
    }
    ext->length = len;
    ext->flags = e == VDI_DISCARDED ? VD_EXT_ALLOCATED | VD_EXT_ZERO : 0;
    return 0;
  }
  else {
    uint64_t host = block_host_offset (p, e) + offset % p->block_size;
    bool is_data;
    uint64_t n;

    /* Blocks laid out one after another on the host read as one run. */
    while (len < length && b + 1 < p->blocks_in_image && p->block_extra == 0
           && p->bmap[b + 1] == p->bmap[b] + 1
           && p->bmap[b + 1] != VDI_DISCARDED
           && p->bmap[b + 1] != VDI_UNALLOCATED) {
      b++;
      len = MIN (length, len + p->block_size);
    }
    if (vd_io_extent (img->io, host, len, &is_data, &n) == -1)
      return -1;
    ext->length = n;
    ext->flags = VD_EXT_ALLOCATED | VD_EXT_OFFSET_VALID
                 | (is_data ? VD_EXT_DATA : VD_EXT_ZERO);
    ext->host_offset = host;
    ext->host_file = img->filename;
    return 0;
  }
}

/* qemu-img's checks and messages: every map entry points inside the
 * image and to a block no other entry uses, and the header counts the
 * blocks in use.  (Open refuses the first two already.)  No repair. */
static int
vdi_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  struct vdi_priv *p = img->priv;
  CLEANUP_FREE uint32_t *owner = NULL;
  uint32_t i, used = 0;

  if (fix) {
    vd_set_error (ENOTSUP, _ ("This image format does not support checks"));
    return -1;
  }
  owner = vd_malloc ((size_t) (p->blocks_in_image ? p->blocks_in_image : 1)
                     * sizeof *owner);
  if (!owner)
    return -1;
  memset (owner, 0xff, (size_t) p->blocks_in_image * sizeof *owner);
  for (i = 0; i < p->blocks_in_image; i++) {
    uint32_t e = p->bmap[i];
    if (e == VDI_UNALLOCATED || e == VDI_DISCARDED)
      continue;
    if (e >= p->blocks_in_image) {
      vd_check_report (
          res, "ERROR: block index %" PRIu32 " too large, is %" PRIu32, i, e);
      res->corruptions++;
      continue;
    }
    used++;
    if (owner[e] != VDI_UNALLOCATED) {
      vd_check_report (res,
                       "ERROR: block index %" PRIu32 " also used by %" PRIu32,
                       owner[e], i);
      res->corruptions++;
      continue;
    }
    owner[e] = i;
  }
  if (used != p->blocks_allocated) {
    vd_check_report (res,
                     "ERROR: allocated blocks mismatch, is %" PRIu32
                     ", should be %" PRIu32,
                     used, p->blocks_allocated);
    res->corruptions++;
  }
  return 0;
}

static int
vdi_create (struct vd_io *io, const char *filename, uint64_t size,
            struct vd_opts *opts)
{
  uint8_t h[H_SIZE] = { 0 };
  bool is_static = false;
  uint64_t blocks, bmap_bytes, offset_data, i;
  CLEANUP_FREE uint8_t *chunk = NULL;
  const size_t chunk_entries = 65536;

  if (vd_opts_get_bool (opts, "static", &is_static) == -1)
    return -1;
  size = ROUND_UP (size, 512);
  blocks = DIV_ROUND_UP (size, VDI_BLOCK_SIZE);
  if (blocks > VDI_BLOCKS_MAX) {
    vd_set_error (EFBIG,
                  _ ("%s: unsupported VDI image size %" PRIu64
                     " (at most %" PRIu64 " bytes)"),
                  filename, size, (uint64_t) VDI_BLOCKS_MAX * VDI_BLOCK_SIZE);
    return -1;
  }
  bmap_bytes = blocks * 4;
  offset_data = ROUND_UP (H_SIZE + bmap_bytes, VDI_DATA_ALIGN);

  memcpy (h + H_TEXT, VDI_TEXT, strlen (VDI_TEXT));
  put_le32 (h + H_SIGNATURE, VDI_SIGNATURE);
  put_le32 (h + H_VERSION, VDI_VERSION_1_1);
  put_le32 (h + H_HEADER_SIZE, VDI_HEADER_SIZE_PLUS);
  put_le32 (h + H_IMAGE_TYPE, is_static ? VDI_TYPE_STATIC : VDI_TYPE_DYNAMIC);
  put_le32 (h + H_OFFSET_BMAP, H_SIZE);
  put_le32 (h + H_OFFSET_DATA, offset_data);
  put_le32 (h + H_SECTOR_SIZE, 512);
  put_le64 (h + H_DISK_SIZE, size);
  put_le32 (h + H_BLOCK_SIZE, VDI_BLOCK_SIZE);
  put_le32 (h + H_BLOCKS_IN_IMAGE, blocks);
  put_le32 (h + H_BLOCKS_ALLOCATED, is_static ? blocks : 0);
  if (vd_random_uuid (h + H_UUID_IMAGE) == -1
      || vd_random_uuid (h + H_UUID_LAST_SNAP) == -1)
    return -1;

  if (vd_io_pwrite (io, h, sizeof h, 0) == -1)
    return -1;
  chunk = vd_malloc (chunk_entries * 4);
  if (!chunk)
    return -1;
  for (i = 0; i < blocks; i += chunk_entries) {
    uint64_t n = MIN (chunk_entries, blocks - i), j;
    for (j = 0; j < n; j++)
      put_le32 (chunk + 4 * j, is_static ? i + j : VDI_UNALLOCATED);
    if (vd_io_pwrite (io, chunk, n * 4, H_SIZE + i * 4) == -1)
      return -1;
  }
  /* A static image has all its blocks; they read as zeros (a sparse
   * file), as qemu makes them. */
  return vd_io_truncate (io, offset_data
                                 + (is_static ? blocks : 0) * VDI_BLOCK_SIZE);
}

static const struct vd_create_opt_desc vdi_create_opts[] = {
  { "size", "size", N_ ("Virtual disk size") },
  { "static", "bool", N_ ("VDI static (pre-allocated) image") },
  { NULL, NULL, NULL },
};

static const char *const vdi_create_defaults[] = { "static", "off", NULL };

const struct vd_format_ops vd_format_vdi = {
  .name = "vdi",
  .priv_size = sizeof (struct vdi_priv),
  .probe = vdi_probe,
  .open = vdi_open,
  .close = vdi_close,
  .create = vdi_create,
  .create_opts = vdi_create_opts,
  .create_opt_defaults = vdi_create_defaults,
  .pread = vdi_pread,
  .pwrite = vdi_pwrite,
  .zero = vdi_zero,
  .flush = vdi_flush,
  .block_status = vdi_block_status,
  .check = vdi_check,
};
