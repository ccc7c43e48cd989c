/* The VHDX metadata log: a circular buffer of 4 KiB sectors holding
 * entries.  An entry is a header sector ("loge": length, tail, sequence
 * number, descriptor count, log GUID, file sizes) whose descriptors
 * ("desc": one 4 KiB data sector to write at a file offset; "zero": a
 * range to zero) continue into further sectors, followed by one data
 * sector ("data") per data descriptor.  The whole entry is CRC-32C
 * checked.  The active sequence is the run of consecutive entries with
 * consecutive sequence numbers, the highest head, whose head's tail
 * points back into the run; replaying it makes the metadata current.
 *
 * Our own metadata updates (BAT pages) are written as one entry at the
 * start of the log, flushed, then applied, so a crash at any point
 * leaves either the old metadata or a log that the next open replays.
 */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "vd-internal.h"
#include "vhd-util.h"
#include "vhdx.h"

/* Entry header fields. */
enum {
  LE_SIGNATURE = 0,
  LE_CHECKSUM = 4,
  LE_ENTRY_LENGTH = 8,
  LE_TAIL = 12,
  LE_SEQ = 16,
  LE_DESC_COUNT = 24,
  LE_LOG_GUID = 32,
  LE_FLUSHED = 48,
  LE_LAST = 56,
  LE_HEADER_SIZE = 64,
};
/* Descriptor fields (32 bytes). */
enum {
  DS_SIGNATURE = 0,
  DS_TRAILING = 4, /* data: the sector's last 4 bytes */
  DS_LEADING = 8,  /* data: its first 8; zero: the length */
  DS_FILE_OFFSET = 16,
  DS_SEQ = 24,
  DS_SIZE = 32,
};
/* Data sector fields. */
enum {
  DA_SIGNATURE = 0,
  DA_SEQ_HIGH = 4,
  DA_DATA = 8,
  DA_SEQ_LOW = 4092,
};

#define MAX_ENTRY_SECTORS 1024 /* for the entries we write */

struct log_ctx {
  vd_image *img;
  uint64_t off;  /* of the log in the file */
  uint64_t nsec; /* log length in sectors */
  uint8_t guid[16];
  uint64_t budget; /* sectors the search may still read */
};

struct entry {
  uint64_t pos;  /* first sector, in the log */
  uint64_t nsec; /* length in sectors */
  uint64_t seq;
  uint64_t tail; /* sector of the sequence's first entry */
  uint64_t flushed, last;
  uint32_t ndesc;
  uint64_t dsec; /* sectors holding the header and descriptors */
};

static uint64_t
desc_sectors (uint64_t ndesc)
{
  return DIV_ROUND_UP (LE_HEADER_SIZE + DS_SIZE * ndesc, VHDX_LOG_SECTOR);
}

/* Sector I of the log (modulo its length). */
static int
read_sector (struct log_ctx *c, uint64_t i, uint8_t *buf)
{
  if (c->budget == 0) {
    vd_set_error (EINVAL,
                  _ ("%s: the VHDX log is too damaged to search for changes "
                     "to replay"),
                  c->img->filename);
    return -1;
  }
  c->budget--;
  return vd_io_pread (c->img->io, buf, VHDX_LOG_SECTOR,
                      c->off + (i % c->nsec) * VHDX_LOG_SECTOR);
}

/* Is there a valid entry at sector POS?  1 yes (*e filled), 0 no, -1 on
 * an I/O error. */
static int
parse_entry (struct log_ctx *c, uint64_t pos, struct entry *e)
{
  uint8_t hdr[VHDX_LOG_SECTOR], s[VHDX_LOG_SECTOR];
  static const uint8_t zero4[4];
  uint32_t len, crc, want, ndata = 0;
  uint64_t i, k;

  if (read_sector (c, pos, hdr) == -1)
    return -1;
  if (memcmp (hdr + LE_SIGNATURE, "loge", 4) != 0)
    return 0;
  len = get_le32 (hdr + LE_ENTRY_LENGTH);
  e->pos = pos;
  e->nsec = len / VHDX_LOG_SECTOR;
  e->seq = get_le64 (hdr + LE_SEQ);
  e->tail = get_le32 (hdr + LE_TAIL);
  e->ndesc = get_le32 (hdr + LE_DESC_COUNT);
  e->flushed = get_le64 (hdr + LE_FLUSHED);
  e->last = get_le64 (hdr + LE_LAST);
  if (len == 0 || len % VHDX_LOG_SECTOR || e->nsec > c->nsec || e->seq == 0
      || e->tail % VHDX_LOG_SECTOR || e->tail / VHDX_LOG_SECTOR >= c->nsec
      || memcmp (hdr + LE_LOG_GUID, c->guid, 16) != 0)
    return 0;
  e->tail /= VHDX_LOG_SECTOR;
  e->dsec = desc_sectors (e->ndesc);
  if (e->dsec > e->nsec)
    return 0;

  want = get_le32 (hdr + LE_CHECKSUM);
  crc = vd_crc32c_update (0, hdr, LE_CHECKSUM);
  crc = vd_crc32c_update (crc, zero4, 4);
  crc = vd_crc32c_update (crc, hdr + LE_CHECKSUM + 4,
                          VHDX_LOG_SECTOR - LE_CHECKSUM - 4);
  for (i = 0; i < e->nsec; i++) {
    const uint8_t *b = hdr;
    if (i > 0) {
      if (read_sector (c, pos + i, s) == -1)
        return -1;
      crc = vd_crc32c_update (crc, s, VHDX_LOG_SECTOR);
      b = s;
    }
    if (i < e->dsec) {
      /* The descriptors in this sector (they never straddle two). */
      uint64_t first =
          i == 0 ? 0 : (i * VHDX_LOG_SECTOR - LE_HEADER_SIZE) / DS_SIZE;
      uint64_t end =
          MIN ((uint64_t) e->ndesc,
               ((i + 1) * VHDX_LOG_SECTOR - LE_HEADER_SIZE) / DS_SIZE);
      for (k = first; k < end; k++) {
        const uint8_t *d = b + (LE_HEADER_SIZE + DS_SIZE * k) % VHDX_LOG_SECTOR;
        if (get_le64 (d + DS_SEQ) != e->seq
            || get_le64 (d + DS_FILE_OFFSET) % VHDX_LOG_SECTOR)
          return 0;
        if (memcmp (d, "desc", 4) == 0)
          ndata++;
        else if (memcmp (d, "zero", 4) != 0
                 || get_le64 (d + DS_LEADING) % VHDX_LOG_SECTOR)
          return 0;
      }
      if (i + 1 == e->dsec && e->dsec + ndata > e->nsec)
        return 0;
    }
    else if (i - e->dsec < ndata) {
      if (memcmp (b + DA_SIGNATURE, "data", 4) != 0
          || get_le32 (b + DA_SEQ_HIGH) != (uint32_t) (e->seq >> 32)
          || get_le32 (b + DA_SEQ_LOW) != (uint32_t) e->seq)
        return 0;
    }
  }
  return crc == want;
}

/* The descriptors of the entry at E, one at a time: calls FN for each
 * with its target range and, for a data descriptor, the assembled 4 KiB
 * sector (NULL for a zero descriptor). */
typedef int (*desc_fn) (struct log_ctx *c, uint64_t off, uint64_t len,
                        const uint8_t *data, void *opaque);

static int
walk_descriptors (struct log_ctx *c, const struct entry *e, desc_fn fn,
                  void *opaque)
{
  uint8_t ds[VHDX_LOG_SECTOR], s[VHDX_LOG_SECTOR], out[VHDX_LOG_SECTOR];
  uint64_t k, ndata = 0, cur = UINT64_MAX;

  for (k = 0; k < e->ndesc; k++) {
    uint64_t byte = LE_HEADER_SIZE + DS_SIZE * k;
    const uint8_t *d;

    if (byte / VHDX_LOG_SECTOR != cur) {
      cur = byte / VHDX_LOG_SECTOR;
      if (vd_io_pread (c->img->io, ds, sizeof ds,
                       c->off + ((e->pos + cur) % c->nsec) * VHDX_LOG_SECTOR)
          == -1)
        return -1;
    }
    d = ds + byte % VHDX_LOG_SECTOR;
    if (memcmp (d, "zero", 4) == 0) {
      if (fn (c, get_le64 (d + DS_FILE_OFFSET), get_le64 (d + DS_LEADING), NULL,
              opaque)
          == -1)
        return -1;
      continue;
    }
    if (vd_io_pread (
            c->img->io, s, sizeof s,
            c->off + ((e->pos + e->dsec + ndata) % c->nsec) * VHDX_LOG_SECTOR)
        == -1)
      return -1;
    ndata++;
    memcpy (out, d + DS_LEADING, 8);
    memcpy (out + 8, s + DA_DATA, DA_SEQ_LOW - DA_DATA);
    memcpy (out + DA_SEQ_LOW, d + DS_TRAILING, 4);
    if (fn (c, get_le64 (d + DS_FILE_OFFSET), VHDX_LOG_SECTOR, out, opaque)
        == -1)
      return -1;
  }
  return 0;
}

/* A replayed write may not touch the header area or the log itself, nor
 * reach past the size the log says the file has. */
static int
check_target (struct log_ctx *c, uint64_t off, uint64_t len,
              const uint8_t *data, void *opaque)
{
  uint64_t limit = *(const uint64_t *) opaque;
  uint64_t log_len = c->nsec * VHDX_LOG_SECTOR;

  (void) data;
  if (off < MiB_ || len > limit || off > limit - len
      || (off < c->off + log_len && c->off < off + len)) {
    vd_set_error (EINVAL,
                  _ ("%s: the VHDX log would write %" PRIu64
                     " bytes at 0x%" PRIx64
                     ", outside the places it may change"),
                  c->img->filename, len, off);
    return -1;
  }
  return 0;
}

static int
apply_desc (struct log_ctx *c, uint64_t off, uint64_t len, const uint8_t *data,
            void *opaque)
{
  (void) opaque;
  if (data)
    return vd_io_pwrite (c->img->io, data, len, off);
  return vd_io_write_zeroes (c->img->io, off, len);
}

int
vhdx_log_replay (vd_image *img)
{
  struct vhdx_priv *p = img->priv;
  struct log_ctx c = { .img = img };
  CLEANUP_FREE uint64_t *chain = NULL;
  struct entry e, head = { 0 }, best_head = { 0 };
  uint64_t s = 0, best_start = 0, best_count = 0, limit, k;
  bool found = false;

  if (vd_is_zero (p->hdr.log_guid, 16))
    return 0;
  c.off = p->hdr.log_offset;
  c.nsec = p->hdr.log_length / VHDX_LOG_SECTOR;
  if (c.nsec == 0)
    return 0;
  memcpy (c.guid, p->hdr.log_guid, 16);
  c.budget = 16 * c.nsec + 16384;
  chain = vd_calloc (c.nsec, sizeof *chain);
  if (!chain)
    return -1;

  /* Walk the log once: at each valid entry, follow the run of entries
   * after it, then carry on past the run. */
  while (s < c.nsec) {
    uint64_t cnt = 0, covered;
    int r = parse_entry (&c, s, &e);

    if (r == -1)
      return -1;
    if (r == 0) {
      s++;
      continue;
    }
    head = e;
    chain[cnt++] = s;
    covered = e.nsec;
    while (covered < c.nsec) {
      struct entry n;
      r = parse_entry (&c, (head.pos + head.nsec) % c.nsec, &n);
      if (r == -1)
        return -1;
      if (r == 0 || n.seq != head.seq + 1 || covered + n.nsec > c.nsec)
        break;
      chain[cnt++] = n.pos;
      covered += n.nsec;
      head = n;
    }
    /* The run is a sequence from the head's tail, if that is in it. */
    for (k = 0; k < cnt; k++) {
      if (chain[k] == head.tail) {
        if (!found || head.seq > best_head.seq) {
          found = true;
          best_head = head;
          best_start = chain[k];
          best_count = cnt - k;
        }
        break;
      }
    }
    if (s + covered >= c.nsec)
      break;
    s += covered;
  }
  if (!found)
    return 0; /* a log GUID but nothing valid to replay: nothing to do */

  if (img->readonly) {
    vd_set_error (EROFS,
                  _ ("%s: the VHDX log holds metadata changes that were "
                     "never applied (the image was not closed cleanly); "
                     "reading it without them would give stale data, and "
                     "applying them needs write access: run 'vd-img check "
                     "-r all %s' once"),
                  img->filename, img->filename);
    return -1;
  }
  if (best_head.flushed > p->file_size) {
    vd_set_error (EINVAL,
                  _ ("%s: the VHDX log says the file had %" PRIu64
                     " bytes, but it has %" PRIu64 " (truncated?)"),
                  img->filename, best_head.flushed, p->file_size);
    return -1;
  }
  if (best_head.last > VHDX_MAX_FILE_SIZE) {
    vd_set_error (EINVAL,
                  _ ("%s: the VHDX log gives an impossible file size %" PRIu64),
                  img->filename, best_head.last);
    return -1;
  }
  limit = MAX (p->file_size, ROUND_UP (best_head.last, MiB_));
  c.budget = UINT64_MAX; /* the entries are known good now */

  /* Check every change before making any. */
  for (k = 0, s = best_start; k < best_count; k++) {
    if (parse_entry (&c, s, &e) != 1) {
      vd_set_error (EIO, _ ("%s: the VHDX log changed while being read"),
                    img->filename);
      return -1;
    }
    if (walk_descriptors (&c, &e, check_target, &limit) == -1)
      return -1;
    s = (s + e.nsec) % c.nsec;
  }
  for (k = 0, s = best_start; k < best_count; k++) {
    if (parse_entry (&c, s, &e) != 1
        || walk_descriptors (&c, &e, apply_desc, NULL) == -1)
      return -1;
    s = (s + e.nsec) % c.nsec;
  }
  if (p->file_size < best_head.last) {
    if (vd_io_truncate (img->io, ROUND_UP (best_head.last, MiB_)) == -1)
      return -1;
  }
  {
    int64_t fsize = vd_io_size (img->io);
    if (fsize < 0)
      return -1;
    p->file_size = fsize;
  }
  p->log_seq = best_head.seq + 1;
  p->log_replayed = true;
  if (vd_io_flush (img->io) == -1)
    return -1;
  /* The log is applied: say so. */
  {
    static const uint8_t zero[16];
    return vhdx_update_header (img, zero);
  }
}

size_t
vhdx_log_max_sectors (vd_image *img)
{
  struct vhdx_priv *p = img->priv;
  uint64_t nsec = p->hdr.log_length / VHDX_LOG_SECTOR;
  uint64_t n = MIN (nsec, MAX_ENTRY_SECTORS);

  while (n > 0 && n + desc_sectors (n) > nsec)
    n--;
  return n;
}

int
vhdx_log_write (vd_image *img, const uint64_t *offsets, const uint8_t *data,
                size_t n, bool apply)
{
  struct vhdx_priv *p = img->priv;
  uint64_t dsec = desc_sectors (n), esec = dsec + n, seq, k;
  CLEANUP_FREE uint8_t *buf = NULL;

  if (n == 0 || n > vhdx_log_max_sectors (img)) {
    vd_set_error (EINVAL, _ ("%s: %zu sectors do not fit in the VHDX log"),
                  img->filename, n);
    return -1;
  }
  buf = vd_calloc (esec, VHDX_LOG_SECTOR);
  if (!buf)
    return -1;
  if (p->log_seq == 0)
    p->log_seq = 1;
  seq = p->log_seq;

  memcpy (buf + LE_SIGNATURE, "loge", 4);
  put_le32 (buf + LE_ENTRY_LENGTH, esec * VHDX_LOG_SECTOR);
  put_le32 (buf + LE_TAIL, 0); /* this entry alone is the sequence */
  put_le64 (buf + LE_SEQ, seq);
  put_le32 (buf + LE_DESC_COUNT, n);
  memcpy (buf + LE_LOG_GUID, p->hdr.log_guid, 16);
  put_le64 (buf + LE_FLUSHED, p->file_size);
  put_le64 (buf + LE_LAST, p->file_size);
  for (k = 0; k < n; k++) {
    const uint8_t *src = data + k * VHDX_LOG_SECTOR;
    uint8_t *d = buf + LE_HEADER_SIZE + DS_SIZE * k;
    uint8_t *s = buf + (dsec + k) * VHDX_LOG_SECTOR;

    memcpy (d + DS_SIGNATURE, "desc", 4);
    memcpy (d + DS_TRAILING, src + DA_SEQ_LOW, 4);
    memcpy (d + DS_LEADING, src, 8);
    put_le64 (d + DS_FILE_OFFSET, offsets[k]);
    put_le64 (d + DS_SEQ, seq);
    memcpy (s + DA_SIGNATURE, "data", 4);
    put_le32 (s + DA_SEQ_HIGH, seq >> 32);
    memcpy (s + DA_DATA, src + DA_DATA, DA_SEQ_LOW - DA_DATA);
    put_le32 (s + DA_SEQ_LOW, (uint32_t) seq);
  }
  put_le32 (buf + LE_CHECKSUM, vd_crc32c (buf, esec * VHDX_LOG_SECTOR));

  if (vd_io_pwrite (img->io, buf, esec * VHDX_LOG_SECTOR, p->hdr.log_offset)
          == -1
      || vd_io_flush (img->io) == -1)
    return -1;
  p->log_seq++;
  if (!apply)
    return 0;
  for (k = 0; k < n; k++)
    if (vd_io_pwrite (img->io, data + k * VHDX_LOG_SECTOR, VHDX_LOG_SECTOR,
                      offsets[k])
        == -1)
      return -1;
  return vd_io_flush (img->io);
}
