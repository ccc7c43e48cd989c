/* The Hyper-V VHDX format (specification v1.00): a 1 MiB header area
 * (file identifier, two 4 KiB headers, two copies of the region table,
 * each CRC-32C checked), then regions the table places: the log, the
 * metadata region (block size, sector sizes, disk size, page 83 id) and
 * the block allocation table (BAT).  Payload blocks (1-256 MiB) sit at
 * 1 MiB aligned file offsets; every chunk_ratio BAT entries are followed
 * by a sector bitmap entry (used only by differencing disks, which are
 * not supported).  Metadata changes (BAT pages) go through the log, in
 * vhdx-log.c, which is also replayed here on open.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vd-internal.h"
#include "vhd-util.h"
#include "vhdx.h"

static const uint8_t guid_bat[16] = { 0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6,
                                      0x00, 0x42, 0x9d, 0x64, 0x11, 0x5e,
                                      0x9b, 0xfd, 0x4a, 0x08 };
static const uint8_t guid_metadata[16] = { 0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47,
                                           0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f,
                                           0x05, 0x0f, 0x88, 0x6e };
static const uint8_t guid_file_params[16] = { 0x37, 0x67, 0xa1, 0xca,
                                              0x36, 0xfa, 0x43, 0x4d,
                                              0xb3, 0xb6, 0x33, 0xf0,
                                              0xaa, 0x44, 0xe7, 0x6b };
static const uint8_t guid_disk_size[16] = { 0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd,
                                            0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe,
                                            0xd8, 0x3b, 0xf4, 0xb8 };
static const uint8_t guid_page83[16] = { 0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2,
                                         0x23, 0x45, 0x93, 0xef, 0xc3, 0x09,
                                         0xe0, 0x00, 0xc7, 0x46 };
static const uint8_t guid_logical_sector[16] = { 0x1d, 0xbf, 0x41, 0x81,
                                                 0x6f, 0xa9, 0x09, 0x47,
                                                 0xba, 0x47, 0xf2, 0x33,
                                                 0xa8, 0xfa, 0xab, 0x5f };
static const uint8_t guid_physical_sector[16] = { 0xc7, 0x48, 0xa3, 0xcd,
                                                  0x5d, 0x44, 0x71, 0x44,
                                                  0x9c, 0xc9, 0xe9, 0x88,
                                                  0x52, 0x51, 0xc5, 0x56 };
static const uint8_t guid_parent_locator[16] = { 0x2d, 0x5f, 0xd3, 0xa8,
                                                 0x0b, 0xb3, 0x4d, 0x45,
                                                 0xab, 0xf7, 0xd3, 0xd8,
                                                 0x48, 0x34, 0xab, 0x0c };
static const uint8_t guid_zero[16];

/* Header fields. */
enum {
  HD_SIGNATURE = 0,
  HD_CHECKSUM = 4,
  HD_SEQ = 8,
  HD_FILE_WRITE_GUID = 16,
  HD_DATA_WRITE_GUID = 32,
  HD_LOG_GUID = 48,
  HD_LOG_VERSION = 64,
  HD_VERSION = 66,
  HD_LOG_LENGTH = 68,
  HD_LOG_OFFSET = 72,
};

/* "{xxxxxxxx-xxxx-...}" of a GUID in its little-endian file layout. */
static const char *
guid_str (const uint8_t *g, char *buf, size_t len)
{
  snprintf (buf, len,
            "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
            get_le32 (g), get_le16 (g + 4), get_le16 (g + 6), g[8], g[9], g[10],
            g[11], g[12], g[13], g[14], g[15]);
  return buf;
}

static bool
overlaps (uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
  return a < b + blen && b < a + alen;
}

static int
vhdx_probe (const uint8_t *buf, size_t len, struct vd_io *io)
{
  (void) io;
  if (len >= 8 && memcmp (buf, "vhdxfile", 8) == 0)
    return 100;
  return 0;
}

/* ---- headers ------------------------------------------------------- */

static void
decode_header (const uint8_t *b, struct vhdx_header *h)
{
  h->seq = get_le64 (b + HD_SEQ);
  memcpy (h->file_write_guid, b + HD_FILE_WRITE_GUID, 16);
  memcpy (h->data_write_guid, b + HD_DATA_WRITE_GUID, 16);
  memcpy (h->log_guid, b + HD_LOG_GUID, 16);
  h->log_version = get_le16 (b + HD_LOG_VERSION);
  h->version = get_le16 (b + HD_VERSION);
  h->log_length = get_le32 (b + HD_LOG_LENGTH);
  h->log_offset = get_le64 (b + HD_LOG_OFFSET);
}

static void
encode_header (const struct vhdx_header *h, uint8_t *b)
{
  memset (b, 0, VHDX_HEADER_SIZE);
  memcpy (b + HD_SIGNATURE, "head", 4);
  put_le64 (b + HD_SEQ, h->seq);
  memcpy (b + HD_FILE_WRITE_GUID, h->file_write_guid, 16);
  memcpy (b + HD_DATA_WRITE_GUID, h->data_write_guid, 16);
  memcpy (b + HD_LOG_GUID, h->log_guid, 16);
  put_le16 (b + HD_LOG_VERSION, h->log_version);
  put_le16 (b + HD_VERSION, h->version);
  put_le32 (b + HD_LOG_LENGTH, h->log_length);
  put_le64 (b + HD_LOG_OFFSET, h->log_offset);
  put_le32 (b + HD_CHECKSUM, vd_crc32c (b, VHDX_HEADER_SIZE));
}

/* CRC-32C of BUF with its checksum field (at CSUM_OFF) counted as zero. */
static uint32_t
crc_without (const uint8_t *buf, size_t len, size_t csum_off)
{
  static const uint8_t zero4[4];
  uint32_t crc = vd_crc32c_update (0, buf, csum_off);
  crc = vd_crc32c_update (crc, zero4, 4);
  return vd_crc32c_update (crc, buf + csum_off + 4, len - csum_off - 4);
}

static int
read_headers (vd_image *img)
{
  struct vhdx_priv *p = img->priv;
  uint8_t b[2][VHDX_HEADER_SIZE];
  struct vhdx_header h[2];
  bool ok[2];
  int i;

  for (i = 0; i < 2; i++) {
    if (vd_io_pread (img->io, b[i], VHDX_HEADER_SIZE,
                     i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET)
        == -1)
      return -1;
    ok[i] = memcmp (b[i], "head", 4) == 0
            && get_le32 (b[i] + HD_CHECKSUM)
                   == crc_without (b[i], VHDX_HEADER_SIZE, HD_CHECKSUM);
    decode_header (b[i], &h[i]);
  }
  if (!ok[0] && !ok[1]) {
    vd_set_error (EINVAL,
                  _ ("%s: neither VHDX header is valid (bad signature or "
                     "checksum)"),
                  img->filename);
    return -1;
  }
  /* The valid header with the higher sequence number is current. */
  p->cur = !ok[0] || (ok[1] && h[1].seq > h[0].seq) ? 1 : 0;
  p->hdr = h[p->cur];
  if (p->hdr.version != 1) {
    vd_set_error (ENOTSUP, _ ("%s: unsupported VHDX version %u"), img->filename,
                  p->hdr.version);
    return -1;
  }
  if (p->hdr.log_version != 0) {
    vd_set_error (ENOTSUP, _ ("%s: unsupported VHDX log version %u"),
                  img->filename, p->hdr.log_version);
    return -1;
  }
  return 0;
}

int
vhdx_update_header (vd_image *img, const uint8_t log_guid[16])
{
  struct vhdx_priv *p = img->priv;
  struct vhdx_header h = p->hdr;
  uint8_t b[VHDX_HEADER_SIZE];
  int slot = !p->cur;

  h.seq++;
  memcpy (h.log_guid, log_guid, 16);
  if (!p->write_started) {
    if (vd_random_uuid (h.file_write_guid) == -1
        || vd_random_uuid (h.data_write_guid) == -1)
      return -1;
  }
  encode_header (&h, b);
  if (vd_io_pwrite (img->io, b, sizeof b,
                    slot ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET)
          == -1
      || vd_io_flush (img->io) == -1)
    return -1;
  p->hdr = h;
  p->cur = slot;
  p->write_started = true;
  return 0;
}

/* ---- region table -------------------------------------------------- */

static int
check_region (vd_image *img, const char *what, uint64_t off, uint64_t len)
{
  struct vhdx_priv *p = img->priv;

  if (off % MiB_ || off < MiB_ || len % MiB_ || len == 0 || off > p->file_size
      || len > p->file_size - off) {
    vd_set_error (EINVAL,
                  _ ("%s: the %s region (%" PRIu64 " bytes at 0x%" PRIx64
                     ") is not 1 MiB aligned or lies past the end of the "
                     "file"),
                  img->filename, what, len, off);
    return -1;
  }
  return 0;
}

static int
parse_region_table (vd_image *img, const uint8_t *t)
{
  struct vhdx_priv *p = img->priv;
  uint32_t n = get_le32 (t + 8), i;
  bool have_bat = false, have_meta = false;
  char g[40];

  if (n > VHDX_MAX_ENTRIES) {
    vd_set_error (
        EINVAL, _ ("%s: the region table has %" PRIu32 " entries (at most %d)"),
        img->filename, n, VHDX_MAX_ENTRIES);
    return -1;
  }
  for (i = 0; i < n; i++) {
    const uint8_t *e = t + 16 + 32 * i;
    uint64_t off = get_le64 (e + 16);
    uint32_t len = get_le32 (e + 24);
    bool required = get_le32 (e + 28) & 1;

    if (memcmp (e, guid_bat, 16) == 0 || memcmp (e, guid_metadata, 16) == 0) {
      bool bat = memcmp (e, guid_bat, 16) == 0;
      if (bat ? have_bat : have_meta) {
        vd_set_error (EINVAL, _ ("%s: the region table lists the %s twice"),
                      img->filename, bat ? "BAT" : _ ("metadata region"));
        return -1;
      }
      if (check_region (img, bat ? "BAT" : _ ("metadata"), off, len) == -1)
        return -1;
      if (bat) {
        p->bat_offset = off;
        p->bat_length = len;
        have_bat = true;
      }
      else {
        p->meta_offset = off;
        p->meta_length = len;
        have_meta = true;
      }
    }
    else if (required) {
      vd_set_error (ENOTSUP,
                    _ ("%s: the image needs a region this program does not "
                       "know ({%s})"),
                    img->filename, guid_str (e, g, sizeof g));
      return -1;
    }
  }
  if (!have_bat || !have_meta) {
    vd_set_error (EINVAL, _ ("%s: the region table has no %s"), img->filename,
                  !have_bat ? "BAT" : _ ("metadata region"));
    return -1;
  }
  if (overlaps (p->bat_offset, p->bat_length, p->meta_offset, p->meta_length)) {
    vd_set_error (EINVAL, _ ("%s: the BAT and the metadata region overlap"),
                  img->filename);
    return -1;
  }
  return 0;
}

static int
read_region_table (vd_image *img)
{
  CLEANUP_FREE uint8_t *t = vd_malloc (VHDX_REGION_SIZE);
  int i;

  if (!t)
    return -1;
  /* Two copies: the second stands in for a damaged first. */
  for (i = 0; i < 2; i++) {
    if (vd_io_pread (img->io, t, VHDX_REGION_SIZE,
                     i ? VHDX_REGION2_OFFSET : VHDX_REGION1_OFFSET)
        == -1)
      return -1;
    if (memcmp (t, "regi", 4) == 0
        && get_le32 (t + 4) == crc_without (t, VHDX_REGION_SIZE, 4))
      return parse_region_table (img, t);
  }
  vd_set_error (EINVAL,
                _ ("%s: neither copy of the VHDX region table is valid (bad "
                   "signature or checksum)"),
                img->filename);
  return -1;
}

static int
check_log_region (vd_image *img)
{
  struct vhdx_priv *p = img->priv;
  uint64_t off = p->hdr.log_offset, len = p->hdr.log_length;

  if (len == 0 && vd_is_zero (p->hdr.log_guid, 16))
    return 0;
  if (check_region (img, _ ("log"), off, len) == -1)
    return -1;
  if (overlaps (off, len, p->bat_offset, p->bat_length)
      || overlaps (off, len, p->meta_offset, p->meta_length)) {
    vd_set_error (EINVAL, _ ("%s: the log overlaps the BAT or the metadata"),
                  img->filename);
    return -1;
  }
  return 0;
}

/* ---- metadata ------------------------------------------------------ */

struct meta_item {
  const uint8_t *guid;
  uint32_t len;
  bool found;
  uint8_t val[16];
};

static int
read_metadata (vd_image *img)
{
  struct vhdx_priv *p = img->priv;
  const char *fn = img->filename;
  CLEANUP_FREE uint8_t *t = vd_malloc (VHDX_META_TABLE_SIZE);
  struct meta_item items[] = {
    { guid_file_params, 8, false, { 0 } },
    { guid_disk_size, 8, false, { 0 } },
    { guid_page83, 16, false, { 0 } },
    { guid_logical_sector, 4, false, { 0 } },
    { guid_physical_sector, 4, false, { 0 } },
  };
  const size_t nitems = sizeof items / sizeof items[0];
  uint16_t n, i;
  size_t k;
  char g[40];
  uint32_t bits;
  uint64_t size;

  if (!t)
    return -1;
  if (vd_io_pread (img->io, t, VHDX_META_TABLE_SIZE, p->meta_offset) == -1)
    return -1;
  if (memcmp (t, "metadata", 8) != 0) {
    vd_set_error (EINVAL, _ ("%s: bad metadata table signature"), fn);
    return -1;
  }
  n = get_le16 (t + 10);
  if (n > VHDX_MAX_ENTRIES) {
    vd_set_error (EINVAL,
                  _ ("%s: the metadata table has %u entries (at most %d)"), fn,
                  n, VHDX_MAX_ENTRIES);
    return -1;
  }
  for (i = 0; i < n; i++) {
    const uint8_t *e = t + 32 + 32 * i;
    uint32_t off = get_le32 (e + 16), len = get_le32 (e + 20);
    uint32_t flags = get_le32 (e + 24);
    struct meta_item *it = NULL;

    for (k = 0; k < nitems; k++)
      if (memcmp (e, items[k].guid, 16) == 0)
        it = &items[k];
    if (!it) {
      /* User items and optional ones can be left alone. */
      if ((flags & 1) || !(flags & 4)
          || memcmp (e, guid_parent_locator, 16) == 0)
        continue;
      vd_set_error (ENOTSUP,
                    _ ("%s: the image needs a metadata item this program "
                       "does not know ({%s})"),
                    fn, guid_str (e, g, sizeof g));
      return -1;
    }
    if (it->found) {
      vd_set_error (EINVAL, _ ("%s: metadata item {%s} is listed twice"), fn,
                    guid_str (e, g, sizeof g));
      return -1;
    }
    if (len != it->len || off < VHDX_META_TABLE_SIZE
        || (uint64_t) off + len > p->meta_length) {
      vd_set_error (EINVAL,
                    _ ("%s: metadata item {%s} has a bad offset (%" PRIu32
                       ") or length (%" PRIu32 ")"),
                    fn, guid_str (e, g, sizeof g), off, len);
      return -1;
    }
    if (vd_io_pread (img->io, it->val, len, p->meta_offset + off) == -1)
      return -1;
    it->found = true;
  }
  for (k = 0; k < nitems; k++) {
    if (!items[k].found) {
      vd_set_error (EINVAL, _ ("%s: required metadata item {%s} is missing"),
                    fn, guid_str (items[k].guid, g, sizeof g));
      return -1;
    }
  }

  p->block_size = get_le32 (items[0].val);
  bits = get_le32 (items[0].val + 4);
  p->leave_allocated = bits & 1;
  if (bits & 2) {
    vd_set_error (ENOTSUP,
                  _ ("%s: differencing VHDX images (with a parent) are not "
                     "supported"),
                  fn);
    return -1;
  }
  if (p->block_size < MiB_ || p->block_size > 256 * MiB_
      || (p->block_size & (p->block_size - 1))) {
    vd_set_error (EINVAL,
                  _ ("%s: bad VHDX block size %" PRIu32
                     " (a power of two from 1 MiB to 256 MiB)"),
                  fn, p->block_size);
    return -1;
  }
  p->logical_sector = get_le32 (items[3].val);
  p->physical_sector = get_le32 (items[4].val);
  if ((p->logical_sector != 512 && p->logical_sector != 4096)
      || (p->physical_sector != 512 && p->physical_sector != 4096)) {
    vd_set_error (EINVAL,
                  _ ("%s: bad sector sizes (logical %" PRIu32
                     ", physical %" PRIu32 "; each must be 512 or 4096)"),
                  fn, p->logical_sector, p->physical_sector);
    return -1;
  }
  size = get_le64 (items[1].val);
  if (size > VHDX_MAX_DISK_SIZE || size % p->logical_sector) {
    vd_set_error (EINVAL,
                  _ ("%s: bad virtual disk size %" PRIu64
                     " (a multiple of the sector size, at most 64 TiB)"),
                  fn, size);
    return -1;
  }
  memcpy (p->page83, items[2].val, 16);
  img->size = size;
  img->cluster_size = p->block_size;
  p->chunk_ratio = ((UINT64_C (1) << 23) * p->logical_sector) / p->block_size;
  p->data_blocks = DIV_ROUND_UP (size, p->block_size);
  p->bat_entries = p->data_blocks
                       ? p->data_blocks + (p->data_blocks - 1) / p->chunk_ratio
                       : 0;
  return 0;
}

/* ---- BAT ----------------------------------------------------------- */

static uint64_t
bat_index (const struct vhdx_priv *p, uint64_t block)
{
  return block + block / p->chunk_ratio;
}

static uint64_t
bat_get (const struct vhdx_priv *p, uint64_t block)
{
  return get_le64 (p->bat + 8 * bat_index (p, block));
}

static void
bat_set (struct vhdx_priv *p, uint64_t block, uint64_t e)
{
  uint64_t i = bat_index (p, block);

  put_le64 (p->bat + 8 * i, e);
  if (!p->dirty) {
    p->dirty = true;
    p->dirty_lo = i;
    p->dirty_hi = i + 1;
    return;
  }
  p->dirty_lo = MIN (p->dirty_lo, i);
  p->dirty_hi = MAX (p->dirty_hi, i + 1);
}

static int
read_bat (vd_image *img)
{
  struct vhdx_priv *p = img->priv;
  const char *fn = img->filename;
  CLEANUP_FREE uint64_t *starts = NULL;
  size_t nstarts = 0;
  uint64_t i, dup;

  if (p->bat_entries > p->bat_length / 8) {
    vd_set_error (EINVAL,
                  _ ("%s: the BAT region (%" PRIu64
                     " bytes) is too small for %" PRIu64 " entries"),
                  fn, p->bat_length, p->bat_entries);
    return -1;
  }
  p->bat_bytes = ROUND_UP (p->bat_entries * 8, VHDX_LOG_SECTOR);
  p->bat = vd_calloc (1, p->bat_bytes ? p->bat_bytes : 1);
  starts = vd_calloc (p->data_blocks ? p->data_blocks : 1, sizeof *starts);
  if (!p->bat || !starts)
    return -1;
  if (vd_io_pread (img->io, p->bat, p->bat_bytes, p->bat_offset) == -1)
    return -1;

  p->next_block = ROUND_UP (p->file_size, MiB_);
  for (i = 0; i < p->data_blocks; i++) {
    uint64_t e = bat_get (p, i), off = VHDX_BAT_OFFSET (e), used;

    switch (VHDX_BAT_STATE (e)) {
    case VHDX_BLOCK_NOT_PRESENT:
    case VHDX_BLOCK_UNDEFINED:
    case VHDX_BLOCK_ZERO:
    case VHDX_BLOCK_UNMAPPED:
    case VHDX_BLOCK_UNMAPPED_OLD: continue;
    case VHDX_BLOCK_FULLY_PRESENT: break;
    case VHDX_BLOCK_PARTIALLY_PRESENT:
      vd_set_error (EINVAL,
                    _ ("%s: block %" PRIu64
                       " is partially present, which only a differencing "
                       "disk may have"),
                    fn, i);
      return -1;
    default:
      vd_set_error (EINVAL, _ ("%s: block %" PRIu64 " has an unknown state %u"),
                    fn, i, VHDX_BAT_STATE (e));
      return -1;
    }
    used = MIN (p->block_size, img->size - i * p->block_size);
    if (off < MiB_ || off > p->file_size || used > p->file_size - off) {
      vd_set_error (
          EINVAL,
          _ ("%s: block %" PRIu64 " at 0x%" PRIx64 " lies outside the file"),
          fn, i, off);
      return -1;
    }
    if (overlaps (off, p->block_size, p->bat_offset, p->bat_length)
        || overlaps (off, p->block_size, p->meta_offset, p->meta_length)
        || overlaps (off, p->block_size, p->hdr.log_offset,
                     p->hdr.log_length)) {
      vd_set_error (EINVAL,
                    _ ("%s: block %" PRIu64 " at 0x%" PRIx64
                       " overlaps the log, the BAT or the metadata"),
                    fn, i, off);
      return -1;
    }
    starts[nstarts++] = off;
    p->next_block = MAX (p->next_block, off + p->block_size);
  }
  if (vd_ranges_overlap (starts, nstarts, p->block_size, &dup)) {
    vd_set_error (EINVAL,
                  _ ("%s: two blocks overlap in the file (at 0x%" PRIx64 ")"),
                  fn, dup);
    return -1;
  }
  return 0;
}

static int
vhdx_open_image (vd_image *img, unsigned flags)
{
  struct vhdx_priv *p = img->priv;
  uint8_t sig[8];
  int64_t fsize;

  (void) flags;
  fsize = vd_io_size (img->io);
  if (fsize < 0)
    return -1;
  p->file_size = fsize;
  if (p->file_size < VHDX_REGION2_OFFSET + VHDX_REGION_SIZE) {
    vd_set_error (
        EINVAL,
        _ ("%s: the file is too short (%" PRIu64 " bytes) for a VHDX image"),
        img->filename, p->file_size);
    return -1;
  }
  if (vd_io_pread (img->io, sig, sizeof sig, 0) == -1)
    return -1;
  if (memcmp (sig, "vhdxfile", 8) != 0) {
    vd_set_error (EINVAL, _ ("%s: not a VHDX image (bad file identifier)"),
                  img->filename);
    return -1;
  }
  if (read_headers (img) == -1 || read_region_table (img) == -1
      || check_log_region (img) == -1)
    return -1;
  /* The log may hold newer metadata than the regions: replay it first. */
  if (vhdx_log_replay (img) == -1)
    return -1;
  if (read_metadata (img) == -1 || read_bat (img) == -1)
    return -1;
  return 0;
}

static void
vhdx_close (vd_image *img)
{
  struct vhdx_priv *p = img->priv;

  free (p->bat);
  p->bat = NULL;
}

/* On failure the core frees only the private struct: drop what the
 * parse allocated. */
static int
vhdx_open (vd_image *img, unsigned flags)
{
  if (vhdx_open_image (img, flags) == -1) {
    vhdx_close (img);
    return -1;
  }
  return 0;
}

/* ---- I/O ----------------------------------------------------------- */

static int
vhdx_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  struct vhdx_priv *p = img->priv;
  uint8_t *out = buf;

  while (count > 0) {
    uint64_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    size_t n = MIN (count, p->block_size - in);
    uint64_t e = bat_get (p, b);

    if (VHDX_BAT_STATE (e) == VHDX_BLOCK_FULLY_PRESENT) {
      if (vd_io_pread (img->io, out, n, VHDX_BAT_OFFSET (e) + in) == -1)
        return -1;
    }
    else
      memset (out, 0, n);
    out += n;
    offset += n;
    count -= n;
  }
  return 0;
}

/* Before the first change of a session: renew the write GUIDs. */
static int
begin_write (vd_image *img)
{
  struct vhdx_priv *p = img->priv;

  if (p->stopped) {
    vd_set_error (EIO, _ ("%s: writing has been stopped"), img->filename);
    return -1;
  }
  if (p->write_started)
    return 0;
  if (p->hdr.log_length < MiB_) {
    vd_set_error (ENOTSUP,
                  _ ("%s: the image has no log, so its metadata cannot be "
                     "changed safely"),
                  img->filename);
    return -1;
  }
  return vhdx_update_header (img, p->hdr.log_guid);
}

static int
allocate_block (vd_image *img, uint64_t b)
{
  struct vhdx_priv *p = img->priv;
  uint64_t off = p->next_block, end = off + p->block_size;

  if (end > VHDX_MAX_FILE_SIZE) {
    vd_set_error (EFBIG, _ ("%s: the VHDX file cannot grow further"),
                  img->filename);
    return -1;
  }
  /* next_block is past everything in the file: the block is a hole that
   * reads as zeros. */
  if (end > p->file_size) {
    if (vd_io_truncate (img->io, end) == -1)
      return -1;
    p->file_size = end;
  }
  p->next_block = end;
  bat_set (p, b, off | VHDX_BLOCK_FULLY_PRESENT);
  return 0;
}

static int
vhdx_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  struct vhdx_priv *p = img->priv;
  const uint8_t *in_buf = buf;

  if (begin_write (img) == -1)
    return -1;
  while (count > 0) {
    uint64_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    size_t n = MIN (count, p->block_size - in);
    uint64_t e = bat_get (p, b);
    unsigned state = VHDX_BAT_STATE (e);

    if (state != VHDX_BLOCK_FULLY_PRESENT) {
      /* Zeros into a block known to read as zeros need no block. */
      if ((state == VHDX_BLOCK_NOT_PRESENT || state == VHDX_BLOCK_ZERO)
          && vd_is_zero (in_buf, n))
        goto next;
      if (allocate_block (img, b) == -1)
        return -1;
      e = bat_get (p, b);
    }
    if (vd_io_pwrite (img->io, in_buf, n, VHDX_BAT_OFFSET (e) + in) == -1)
      return -1;
  next:
    in_buf += n;
    offset += n;
    count -= n;
  }
  return 0;
}

static int
vhdx_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  struct vhdx_priv *p = img->priv;

  (void) flags;
  if (begin_write (img) == -1)
    return -1;
  while (count > 0) {
    uint64_t b = offset / p->block_size;
    uint64_t in = offset % p->block_size;
    uint64_t n = MIN (count, p->block_size - in);
    uint64_t e = bat_get (p, b);

    switch (VHDX_BAT_STATE (e)) {
    case VHDX_BLOCK_FULLY_PRESENT:
      if (vd_io_write_zeroes (img->io, VHDX_BAT_OFFSET (e) + in, n) == -1)
        return -1;
      break;
    case VHDX_BLOCK_UNDEFINED:
    case VHDX_BLOCK_UNMAPPED:
    case VHDX_BLOCK_UNMAPPED_OLD:
      /* Other readers may see anything there: say zeros. */
      bat_set (p, b, VHDX_BLOCK_ZERO);
      break;
    default: break;
    }
    offset += n;
    count -= n;
  }
  return 0;
}

/* Write the changed BAT pages through the log, batch by batch. */
static int
commit_bat (vd_image *img, bool apply)
{
  struct vhdx_priv *p = img->priv;
  uint8_t guid[16];
  uint64_t first = p->dirty_lo * 8 / VHDX_LOG_SECTOR;
  uint64_t last = (p->dirty_hi * 8 - 1) / VHDX_LOG_SECTOR;
  size_t max = vhdx_log_max_sectors (img), k;
  CLEANUP_FREE uint64_t *offsets = vd_malloc (max * sizeof *offsets);

  if (!offsets)
    return -1;
  /* The blocks' data first, then the table entries that point to it. */
  if (vd_io_flush (img->io) == -1)
    return -1;
  if (vd_random_uuid (guid) == -1 || vhdx_update_header (img, guid) == -1)
    return -1;
  while (first <= last) {
    size_t n = MIN (max, last - first + 1);
    for (k = 0; k < n; k++)
      offsets[k] = p->bat_offset + (first + k) * VHDX_LOG_SECTOR;
    if (vhdx_log_write (img, offsets, p->bat + first * VHDX_LOG_SECTOR, n,
                        apply)
        == -1)
      return -1;
    if (!apply)
      return 0;
    first += n;
  }
  if (vhdx_update_header (img, guid_zero) == -1)
    return -1;
  p->dirty = false;
  return 0;
}

static int
vhdx_flush (vd_image *img)
{
  struct vhdx_priv *p = img->priv;

  if (p->stopped)
    return 0;
  if (p->dirty && commit_bat (img, true) == -1)
    return -1;
  return vd_io_flush (img->io);
}

/* As qemu: a log replayed when check -r opened the image is the one thing
 * repaired; everything else was checked by open. */
static int
vhdx_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  struct vhdx_priv *p = img->priv;

  (void) fix;
  if (p->log_replayed)
    res->corruptions_fixed++;
  return 0;
}

int
vd_vhdx_test_crash_after_log (vd_image *img)
{
  struct vhdx_priv *p = img->priv;

  if (strcmp (img->fmt->name, "vhdx") != 0 || img->readonly) {
    vd_set_error (EINVAL, _ ("%s: not a writable VHDX image"), img->filename);
    return -1;
  }
  if (p->dirty && commit_bat (img, false) == -1)
    return -1;
  p->stopped = true;
  return 0;
}

static int
vhdx_block_status (vd_image *img, uint64_t offset, uint64_t length,
                   struct vd_extent *ext)
{
  struct vhdx_priv *p = img->priv;
  uint64_t b = offset / p->block_size;
  uint64_t len = MIN (length, p->block_size - offset % p->block_size);
  uint64_t e = bat_get (p, b), host;
  unsigned state = VHDX_BAT_STATE (e);
  bool is_data;

  if (state != VHDX_BLOCK_FULLY_PRESENT) {
    while (len < length && b + 1 < p->data_blocks
           && VHDX_BAT_STATE (bat_get (p, b + 1)) == state) {
      b++;
      len = MIN (length, len + p->block_size);
    }
    ext->length = len;
    ext->flags = state == VHDX_BLOCK_ZERO ? VD_EXT_ALLOCATED | VD_EXT_ZERO : 0;
    return 0;
  }
  host = VHDX_BAT_OFFSET (e) + offset % p->block_size;
  /* Blocks laid out one after another read as one run (fixed images). */
  while (len < length && b + 1 < p->data_blocks
         && bat_get (p, b + 1) == e + p->block_size) {
    b++;
    e += p->block_size;
    len = MIN (length, len + p->block_size);
  }
  if (vd_io_extent (img->io, host, len, &is_data, &len) == -1)
    return -1;
  ext->length = len;
  ext->flags = VD_EXT_ALLOCATED | VD_EXT_OFFSET_VALID
               | (is_data ? VD_EXT_DATA : VD_EXT_ZERO);
  ext->host_offset = host;
  ext->host_file = img->filename;
  return 0;
}

/* ---- create -------------------------------------------------------- */

static int
write_region_tables (struct vd_io *io, uint64_t bat_off, uint64_t bat_len,
                     uint64_t meta_off, uint64_t meta_len)
{
  CLEANUP_FREE uint8_t *t = vd_calloc (1, VHDX_REGION_SIZE);

  if (!t)
    return -1;
  memcpy (t, "regi", 4);
  put_le32 (t + 8, 2);
  memcpy (t + 16, guid_bat, 16);
  put_le64 (t + 32, bat_off);
  put_le32 (t + 40, bat_len);
  put_le32 (t + 44, 1); /* required */
  memcpy (t + 48, guid_metadata, 16);
  put_le64 (t + 64, meta_off);
  put_le32 (t + 72, meta_len);
  put_le32 (t + 76, 1);
  put_le32 (t + 4, vd_crc32c (t, VHDX_REGION_SIZE));
  if (vd_io_pwrite (io, t, VHDX_REGION_SIZE, VHDX_REGION1_OFFSET) == -1
      || vd_io_pwrite (io, t, VHDX_REGION_SIZE, VHDX_REGION2_OFFSET) == -1)
    return -1;
  return 0;
}

static int
write_metadata (struct vd_io *io, uint64_t meta_off, uint32_t block_size,
                bool fixed, uint64_t size)
{
  uint8_t t[32 * 6] = { 0 }, v[40] = { 0 };
  struct {
    const uint8_t *guid;
    uint32_t off, len, flags;
  } items[] = {
    { guid_file_params, VHDX_META_TABLE_SIZE, 8, 4 },
    { guid_disk_size, VHDX_META_TABLE_SIZE + 8, 8, 6 },
    { guid_page83, VHDX_META_TABLE_SIZE + 16, 16, 6 },
    { guid_logical_sector, VHDX_META_TABLE_SIZE + 32, 4, 6 },
    { guid_physical_sector, VHDX_META_TABLE_SIZE + 36, 4, 6 },
  };
  size_t i;

  memcpy (t, "metadata", 8);
  put_le16 (t + 10, 5);
  for (i = 0; i < 5; i++) {
    uint8_t *e = t + 32 + 32 * i;
    memcpy (e, items[i].guid, 16);
    put_le32 (e + 16, items[i].off);
    put_le32 (e + 20, items[i].len);
    put_le32 (e + 24, items[i].flags);
  }
  put_le32 (v, block_size);
  put_le32 (v + 4, fixed ? 1 : 0); /* LeaveBlocksAllocated */
  put_le64 (v + 8, size);
  if (vd_random_uuid (v + 16) == -1)
    return -1;
  put_le32 (v + 32, 512);  /* logical sector size */
  put_le32 (v + 36, 4096); /* physical sector size, as Hyper-V makes it */
  if (vd_io_pwrite (io, t, sizeof t, meta_off) == -1
      || vd_io_pwrite (io, v, sizeof v, meta_off + VHDX_META_TABLE_SIZE) == -1)
    return -1;
  return 0;
}

static int
vhdx_create (struct vd_io *io, const char *filename, uint64_t size,
             struct vd_opts *opts)
{
  const char *sub = vd_opts_get (opts, "subformat");
  uint64_t log_size = MiB_, block_size = 0;
  bool fixed, state_zero = false;
  uint64_t blocks, chunk_ratio, entries, log_off, meta_off, bat_off, bat_len;
  uint64_t data_off, i;
  struct vhdx_header h = { 0 };
  uint8_t hb[VHDX_HEADER_SIZE];
  uint8_t ident[64] = "vhdxfile";
  const char *creator = "vdtools";

  if (vd_opts_get_size (opts, "log_size", &log_size) == -1
      || vd_opts_get_size (opts, "block_size", &block_size) == -1
      || vd_opts_get_bool (opts, "block_state_zero", &state_zero) == -1)
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
  size = ROUND_UP (size, 512);
  if (size > VHDX_MAX_DISK_SIZE) {
    vd_set_error (EFBIG, _ ("%s: image size too large; the maximum is 64 TiB"),
                  filename);
    return -1;
  }
  if (block_size == 0) {
    /* The sizes qemu picks. */
    if (size > (UINT64_C (32) << 40))
      block_size = 64 * MiB_;
    else if (size > (UINT64_C (100) << 30))
      block_size = 32 * MiB_;
    else if (size > (UINT64_C (1) << 30))
      block_size = 16 * MiB_;
    else
      block_size = 8 * MiB_;
  }
  if (block_size < MiB_ || block_size > 256 * MiB_
      || (block_size & (block_size - 1))) {
    vd_set_error (EINVAL,
                  _ ("%s: block size must be a power of two from 1 MiB to "
                     "256 MiB"),
                  filename);
    return -1;
  }
  log_size = ROUND_UP (log_size, MiB_);
  if (log_size < MiB_ || log_size > UINT32_MAX - MiB_ + 1) {
    vd_set_error (EINVAL, _ ("%s: log size must be from 1 MiB to 4095 MiB"),
                  filename);
    return -1;
  }

  blocks = DIV_ROUND_UP (size, block_size);
  chunk_ratio = ((UINT64_C (1) << 23) * 512) / block_size;
  entries = blocks ? blocks + (blocks - 1) / chunk_ratio : 0;
  log_off = MiB_;
  meta_off = log_off + log_size;
  bat_off = meta_off + MiB_;
  bat_len = MAX (ROUND_UP (entries * 8, MiB_), MiB_);
  data_off = bat_off + bat_len;

  for (i = 0; creator[i]; i++)
    put_le16 (ident + 8 + 2 * i, creator[i]);
  if (vd_io_pwrite (io, ident, sizeof ident, 0) == -1)
    return -1;
  h.version = 1;
  h.log_length = log_size;
  h.log_offset = log_off;
  if (vd_random_uuid (h.file_write_guid) == -1
      || vd_random_uuid (h.data_write_guid) == -1)
    return -1;
  for (i = 0; i < 2; i++) {
    h.seq = i + 1;
    encode_header (&h, hb);
    if (vd_io_pwrite (io, hb, sizeof hb,
                      i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET)
        == -1)
      return -1;
  }
  if (write_region_tables (io, bat_off, bat_len, meta_off, MiB_) == -1
      || write_metadata (io, meta_off, block_size, fixed, size) == -1)
    return -1;

  if (fixed || state_zero) {
    /* Every block present, one after another (fixed); or every block
     * marked as zeros (block_state_zero, as qemu offers). */
    const size_t chunk = 65536;
    CLEANUP_FREE uint8_t *buf = vd_malloc (chunk * 8);
    uint64_t b = 0, done;

    if (!buf)
      return -1;
    for (done = 0; done < entries; done += chunk) {
      uint64_t n = MIN (chunk, entries - done), j;
      for (j = 0; j < n; j++) {
        uint64_t e = 0;
        if ((done + j) % (chunk_ratio + 1) != chunk_ratio) {
          e = fixed ? (data_off + b * block_size) | VHDX_BLOCK_FULLY_PRESENT
                    : VHDX_BLOCK_ZERO;
          b++;
        }
        put_le64 (buf + 8 * j, e);
      }
      if (vd_io_pwrite (io, buf, n * 8, bat_off + done * 8) == -1)
        return -1;
    }
  }
  return vd_io_truncate (io, data_off + (fixed ? blocks * block_size : 0));
}

static const struct vd_create_opt_desc vhdx_create_opts[] = {
  { "size", "size", N_ ("Virtual disk size; max of 64TB.") },
  { "log_size", "size", N_ ("Log size; min 1MB.") },
  { "block_size", "size",
    N_ ("Block Size; min 1MB, max 256MB. 0 means auto-calculate based on "
        "image size.") },
  { "subformat", "string",
    N_ ("VHDX format type, can be either 'dynamic' or 'fixed'. Default is "
        "'dynamic'.") },
  { "block_state_zero", "bool",
    N_ ("Mark the blocks of a new dynamic image as zero blocks rather than "
        "not present (qemu's non-standard default; off here)") },
  { NULL, NULL, NULL },
};

static const char *const vhdx_create_defaults[] = { "log_size", "1048576",
                                                    "block_size", "0", NULL };

const struct vd_format_ops vd_format_vhdx = {
  .name = "vhdx",
  .priv_size = sizeof (struct vhdx_priv),
  .probe = vhdx_probe,
  .open = vhdx_open,
  .close = vhdx_close,
  .create = vhdx_create,
  .create_opts = vhdx_create_opts,
  .create_opt_defaults = vhdx_create_defaults,
  .pread = vhdx_pread,
  .pwrite = vhdx_pwrite,
  .zero = vhdx_zero,
  .flush = vhdx_flush,
  .block_status = vhdx_block_status,
  .check = vhdx_check,
};
