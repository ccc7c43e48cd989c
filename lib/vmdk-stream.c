/* The streamOptimized writer.  A stream is written front to back, once:
 * header and descriptor, then each grain deflated behind a grain marker,
 * each grain table behind a marker once its grains are all written, and
 * at the end the grain directory, a footer (the header again, now saying
 * where the directory is) and the end-of-stream marker.  That is the form
 * ESXi, AWS and the VMware tools import; qemu reads it too.
 *
 * Writes must come in increasing grain order (img->sequential_only tells
 * copy tools).  One grain is buffered so that a grain can be filled by
 * several writes; the grain table being filled and the directory stay in
 * memory.  A flush writes the end of the stream after the last grain
 * without moving the write position, so writing can go on afterwards.
 */
#include <config.h>

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "vmdk.h"

#define NONE UINT64_MAX

struct vmdk_stream {
  uint64_t pos;    /* where the next grain or table goes */
  uint32_t cur_gt; /* the grain table being filled, UINT32_MAX if none */
  uint32_t *gt;
  bool gt_used;
  uint64_t floor; /* grains below this are written for good */
  uint64_t pend;  /* the buffered grain, or NONE */
  uint8_t *pbuf;
  bool pdirty;      /* changed since it was last written */
  uint64_t pend_at; /* where its written copy starts (after a flush) */
  uint8_t *zbuf;
  size_t zbuf_size;
  z_stream z;
  bool z_ready;
  bool touched;      /* written since open */
  bool tail_current; /* the end of the stream on disk is up to date */
};

void
vmdk_stream_free (struct vmdk_extent *e)
{
  struct vmdk_stream *s = e->stream;

  if (!s)
    return;
  if (s->z_ready)
    deflateEnd (&s->z);
  free (s->gt);
  free (s->pbuf);
  free (s->zbuf);
  free (s);
  e->stream = NULL;
}

static uint32_t
gt_sectors (const struct vmdk_extent *e)
{
  return (uint32_t) ((uint64_t) e->gtes * 4 / VMDK_SECTOR);
}

/* The end of a stream at POS: the current grain table if GT is not NULL
 * (number GT_INDEX), the directory, the footer, the end marker. */
static int
write_tail (struct vd_io *io, const char *name, const struct vmdk_header *h,
            const uint32_t *gd, uint32_t gd_entries, const uint32_t *gt,
            uint32_t gt_index, uint32_t gtes, uint64_t pos)
{
  uint64_t gd_sectors = DIV_ROUND_UP ((uint64_t) gd_entries * 4, VMDK_SECTOR);
  uint64_t gt_bytes = gt ? VMDK_SECTOR + (uint64_t) gtes * 4 : 0;
  uint64_t size = gt_bytes + VMDK_SECTOR * (1 + gd_sectors) + 3 * VMDK_SECTOR;
  CLEANUP_FREE uint8_t *b = NULL;
  struct vmdk_header f = *h;
  uint64_t at = 0, gd_at;
  uint32_t i;

  if ((pos + size) / VMDK_SECTOR > UINT32_MAX) {
    vd_set_error (ENOSPC, _ ("%s: the stream is full (it addresses 2 TiB)"),
                  name);
    return -1;
  }
  b = vd_calloc (1, size);
  if (!b)
    return -1;
  if (gt) {
    vmdk_marker_encode (b, gtes * 4 / VMDK_SECTOR, VMDK_MARKER_GT);
    for (i = 0; i < gtes; i++)
      vmdk_put_le32 (b + VMDK_SECTOR + 4 * i, gt[i]);
    at = gt_bytes;
  }
  vmdk_marker_encode (b + at, gd_sectors, VMDK_MARKER_GD);
  gd_at = (pos + at) / VMDK_SECTOR + 1;
  for (i = 0; i < gd_entries; i++) {
    uint32_t v = gd ? gd[i] : 0;
    if (gt && i == gt_index)
      v = pos / VMDK_SECTOR + 1;
    vmdk_put_le32 (b + at + VMDK_SECTOR + 4 * i, v);
  }
  at += VMDK_SECTOR * (1 + gd_sectors);
  vmdk_marker_encode (b + at, 1, VMDK_MARKER_FOOTER);
  f.gd_offset = gd_at;
  vmdk_header_encode (&f, b + at + VMDK_SECTOR);
  vmdk_marker_encode (b + at + 2 * VMDK_SECTOR, 0, VMDK_MARKER_EOS);
  if (vd_io_pwrite (io, b, size, pos) == -1)
    return -1;
  return vd_io_truncate (io, pos + size);
}

int
vmdk_stream_write_empty_tail (struct vd_io *io, const struct vmdk_header *h,
                              uint64_t pos)
{
  uint64_t cover = h->grain_size * VMDK_SECTOR * h->gtes_per_gt;
  uint64_t n = DIV_ROUND_UP (h->capacity * VMDK_SECTOR, cover);

  return write_tail (io, io->name, h, NULL, n, NULL, 0, h->gtes_per_gt, pos);
}

int
vmdk_stream_init (vd_image *img, struct vmdk_extent *e)
{
  struct vmdk_stream *s;
  const struct vmdk_header *h = &e->h;
  size_t gt_bytes = (size_t) e->gtes * 4;
  CLEANUP_FREE uint8_t *raw = NULL;
  uint64_t used = 0;
  uint32_t i, j;

  if (gt_bytes % VMDK_SECTOR) {
    vd_set_error (ENOTSUP,
                  _ ("%s: cannot write a stream whose grain tables (%" PRIu32
                     " entries) do not fill whole sectors"),
                  img->filename, e->gtes);
    return -1;
  }
  /* Only an empty stream can be written: grains go in once, in order. */
  for (i = 0; i < e->gd_entries; i++)
    if (e->gd[i])
      used += gt_bytes;
  if (used > e->file_size) {
    vd_set_error (EINVAL, _ ("%s: the grain tables overlap"), img->filename);
    return -1;
  }
  raw = vd_malloc (gt_bytes);
  if (!raw)
    return -1;
  for (i = 0; i < e->gd_entries; i++) {
    uint64_t off = (uint64_t) e->gd[i] * VMDK_SECTOR;
    if (!e->gd[i])
      continue;
    if (off + gt_bytes > e->file_size) {
      vd_set_error (EINVAL,
                    _ ("%s: grain table %" PRIu32 " at offset %" PRIu64
                       " lies past the end of the file"),
                    img->filename, i, off);
      return -1;
    }
    if (vd_io_pread (e->io, raw, gt_bytes, off) == -1)
      return -1;
    for (j = 0; j < gt_bytes; j++) {
      if (raw[j]) {
        vd_set_error (EPERM,
                      _ ("%s: this streamOptimized image already holds data; "
                         "streamOptimized images are written once (write a "
                         "new one)"),
                      img->filename);
        return -1;
      }
    }
  }

  s = vd_calloc (1, sizeof *s);
  if (!s)
    return -1;
  e->stream = s;
  s->cur_gt = UINT32_MAX;
  s->pend = s->pend_at = NONE;
  s->pos = MAX (e->data_start, (h->desc_offset + h->desc_size) * VMDK_SECTOR);
  if (e->gd_entries)
    memset (e->gd, 0, (size_t) e->gd_entries * 4);
  if (!(s->gt = vd_calloc (e->gtes, 4)) || !(s->pbuf = vd_malloc (e->grain)))
    return -1;
  if (deflateInit (&s->z, Z_DEFAULT_COMPRESSION) != Z_OK) {
    vd_set_error (ENOMEM, _ ("%s: cannot set up compression"), img->filename);
    return -1;
  }
  s->z_ready = true;
  /* zbuf holds a compressed grain, or a grain table behind its marker. */
  s->zbuf_size = ROUND_UP (
      VMDK_GRAIN_MARKER_SIZE + deflateBound (&s->z, e->grain), VMDK_SECTOR);
  s->zbuf_size = MAX (s->zbuf_size, VMDK_SECTOR + gt_bytes);
  if (!(s->zbuf = vd_malloc (s->zbuf_size)))
    return -1;
  img->sequential_only = true;
  return 0;
}

/* The first change: the header becomes a stream header ("directory at
 * the end"), whatever layout the empty image had. */
static int
begin (vd_image *img, struct vmdk_extent *e)
{
  struct vmdk_stream *s = e->stream;
  struct vmdk_priv *p = img->priv;
  uint8_t sec[VMDK_SECTOR];

  p->z_ext = NULL; /* grains may be rewritten where a cached one was */
  s->tail_current = false;
  if (s->touched)
    return 0;
  e->h.version = 3;
  e->h.flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS
               | (e->zero_grain ? VMDK_FLAG_ZERO_GRAIN : 0);
  e->h.rgd_offset = 0;
  e->h.gd_offset = VMDK_GD_AT_END;
  e->h.overhead = s->pos / VMDK_SECTOR;
  e->h.compress = VMDK_COMPRESS_DEFLATE;
  e->h.unclean = 0;
  vmdk_header_encode (&e->h, sec);
  if (vd_io_pwrite (e->io, sec, sizeof sec, 0) == -1)
    return -1;
  s->touched = true;
  return 0;
}

static int
emit_gt (vd_image *img, struct vmdk_extent *e)
{
  struct vmdk_stream *s = e->stream;
  size_t bytes = VMDK_SECTOR + (size_t) e->gtes * 4;
  uint32_t i;

  if (s->cur_gt == UINT32_MAX || !s->gt_used)
    return 0;
  if ((s->pos + bytes) / VMDK_SECTOR > UINT32_MAX) {
    vd_set_error (ENOSPC, _ ("%s: the stream is full (it addresses 2 TiB)"),
                  img->filename);
    return -1;
  }
  vmdk_marker_encode (s->zbuf, gt_sectors (e), VMDK_MARKER_GT);
  for (i = 0; i < e->gtes; i++)
    vmdk_put_le32 (s->zbuf + VMDK_SECTOR + 4 * i, s->gt[i]);
  if (vd_io_pwrite (e->io, s->zbuf, bytes, s->pos) == -1)
    return -1;
  e->gd[s->cur_gt] = s->pos / VMDK_SECTOR + 1;
  s->pos += bytes;
  return 0;
}

/* Write grain GI (GLEN bytes of DATA) at the write position. */
static int
emit_grain (vd_image *img, struct vmdk_extent *e, uint64_t gi,
            const uint8_t *data, size_t glen)
{
  struct vmdk_stream *s = e->stream;
  uint32_t gti = gi / e->gtes;
  size_t clen, tot;

  if (gti != s->cur_gt) {
    if (emit_gt (img, e) == -1)
      return -1;
    s->cur_gt = gti;
    memset (s->gt, 0, (size_t) e->gtes * 4);
    s->gt_used = false;
  }
  s->gt[gi % e->gtes] = 0;
  /* Nothing below and nothing here: leave it unallocated. */
  if (!img->backing && vd_is_zero (data, glen))
    return 0;
  if (deflateReset (&s->z) != Z_OK)
    goto zfail;
  s->z.next_in = (uint8_t *) data;
  s->z.avail_in = glen;
  s->z.next_out = s->zbuf + VMDK_GRAIN_MARKER_SIZE;
  s->z.avail_out = s->zbuf_size - VMDK_GRAIN_MARKER_SIZE;
  if (deflate (&s->z, Z_FINISH) != Z_STREAM_END)
    goto zfail;
  clen = s->z.total_out;
  vmdk_put_le64 (s->zbuf, gi * (e->grain / VMDK_SECTOR));
  vmdk_put_le32 (s->zbuf + 8, (uint32_t) clen);
  tot = ROUND_UP (VMDK_GRAIN_MARKER_SIZE + clen, VMDK_SECTOR);
  memset (s->zbuf + VMDK_GRAIN_MARKER_SIZE + clen, 0,
          tot - VMDK_GRAIN_MARKER_SIZE - clen);
  if ((s->pos + tot) / VMDK_SECTOR > UINT32_MAX) {
    vd_set_error (ENOSPC, _ ("%s: the stream is full (it addresses 2 TiB)"),
                  img->filename);
    return -1;
  }
  if (vd_io_pwrite (e->io, s->zbuf, tot, s->pos) == -1)
    return -1;
  s->gt[gi % e->gtes] = s->pos / VMDK_SECTOR;
  s->gt_used = true;
  s->pos += tot;
  if (s->pos > e->file_size)
    e->file_size = s->pos;
  return 0;

zfail:
  vd_set_error (EIO, _ ("%s: compressing grain %" PRIu64 " failed"),
                img->filename, gi);
  return -1;
}

static uint64_t
grain_len (const struct vmdk_extent *e, uint64_t gi)
{
  return MIN (e->grain, e->length - gi * e->grain);
}

/* Write the buffered grain for good. */
static int
finish_pending (vd_image *img, struct vmdk_extent *e)
{
  struct vmdk_stream *s = e->stream;

  if (s->pend == NONE)
    return 0;
  if (s->pdirty
      && emit_grain (img, e, s->pend, s->pbuf, grain_len (e, s->pend)) == -1)
    return -1;
  s->floor = s->pend + 1;
  s->pend = s->pend_at = NONE;
  s->pdirty = false;
  return 0;
}

static int
out_of_order (vd_image *img, struct vmdk_extent *e, uint64_t gi)
{
  struct vmdk_stream *s = e->stream;
  uint64_t last = s->pend != NONE ? s->pend : s->floor - 1;

  if (gi == last)
    vd_set_error (EINVAL,
                  _ ("%s: streamOptimized images are written once, front to "
                     "back: the grain at offset %" PRIu64
                     " was already written"),
                  img->filename, e->start + gi * e->grain);
  else
    vd_set_error (EINVAL,
                  _ ("%s: streamOptimized images are written once, front to "
                     "back: offset %" PRIu64 " comes after offset %" PRIu64
                     " was written"),
                  img->filename, e->start + gi * e->grain,
                  e->start + last * e->grain);
  return -1;
}

static bool
too_early (const struct vmdk_stream *s, uint64_t gi)
{
  return gi < s->floor || (s->pend != NONE && gi < s->pend);
}

int
vmdk_stream_pwrite (vd_image *img, struct vmdk_extent *e, const void *buf,
                    size_t count, uint64_t rel)
{
  struct vmdk_stream *s = e->stream;
  const uint8_t *b = buf;

  if (begin (img, e) == -1)
    return -1;
  while (count > 0) {
    uint64_t gi = rel / e->grain, in = rel % e->grain;
    uint64_t glen = grain_len (e, gi);
    size_t chunk = MIN (count, glen - in);

    if (gi == s->pend) {
      if (s->pend_at != NONE) {
        /* Written by a flush, and nothing after it but the tail: write
         * it again in the same place. */
        s->pos = s->pend_at;
        s->pend_at = NONE;
        s->gt[gi % e->gtes] = 0;
      }
      memcpy (s->pbuf + in, b, chunk);
      s->pdirty = true;
    }
    else {
      if (too_early (s, gi))
        return out_of_order (img, e, gi);
      if (finish_pending (img, e) == -1)
        return -1;
      if (in == 0 && chunk == glen) {
        if (emit_grain (img, e, gi, b, glen) == -1)
          return -1;
        s->floor = gi + 1;
      }
      else {
        if (img->backing) {
          if (vd_read_backing (img, s->pbuf, glen, e->start + gi * e->grain)
              == -1)
            return -1;
        }
        else
          memset (s->pbuf, 0, glen);
        memcpy (s->pbuf + in, b, chunk);
        s->pend = gi;
        s->pdirty = true;
      }
    }
    b += chunk;
    rel += chunk;
    count -= chunk;
  }
  return 0;
}

int
vmdk_stream_zero (vd_image *img, struct vmdk_extent *e, uint64_t rel,
                  uint64_t count)
{
  struct vmdk_stream *s = e->stream;

  if (begin (img, e) == -1)
    return -1;
  while (count > 0) {
    uint64_t gi = rel / e->grain, in = rel % e->grain;
    uint64_t glen = grain_len (e, gi);
    uint64_t chunk = MIN (count, glen - in), end, full;

    if (gi == s->pend || img->backing || in != 0 || chunk != glen) {
      if (vmdk_stream_pwrite (img, e, vmdk_zeroes, chunk, rel) == -1)
        return -1;
      rel += chunk;
      count -= chunk;
      continue;
    }
    /* Whole grains never written read as zeros: skip past them. */
    if (too_early (s, gi))
      return out_of_order (img, e, gi);
    if (finish_pending (img, e) == -1)
      return -1;
    end = rel + count;
    full = end == e->length ? DIV_ROUND_UP (end, e->grain) : end / e->grain;
    s->floor = full;
    chunk = MIN (end, full * e->grain) - rel;
    rel += chunk;
    count -= chunk;
  }
  return 0;
}

int
vmdk_stream_flush (vd_image *img, struct vmdk_extent *e)
{
  struct vmdk_stream *s = e->stream;

  if (!s->touched || s->tail_current)
    return 0;
  if (s->pend != NONE && s->pdirty) {
    uint64_t at = s->pos;
    if (emit_grain (img, e, s->pend, s->pbuf, grain_len (e, s->pend)) == -1)
      return -1;
    s->pend_at = at;
    s->pdirty = false;
  }
  if (write_tail (e->io, img->filename, &e->h, e->gd, e->gd_entries,
                  s->cur_gt != UINT32_MAX && s->gt_used ? s->gt : NULL,
                  s->cur_gt, e->gtes, s->pos)
      == -1)
    return -1;
  {
    int64_t size = vd_io_size (e->io);
    if (size < 0)
      return -1;
    e->file_size = size;
  }
  s->tail_current = true;
  return 0;
}

int
vmdk_stream_lookup (struct vmdk_extent *e, uint64_t gi, uint32_t *gte)
{
  struct vmdk_stream *s = e->stream;

  if (s->pend == gi)
    return 2;
  if (s->cur_gt != UINT32_MAX && gi / e->gtes == s->cur_gt) {
    *gte = s->gt[gi % e->gtes];
    return 1;
  }
  return 0;
}

int
vmdk_stream_read_pending (struct vmdk_extent *e, uint64_t gi, uint64_t in,
                          void *buf, size_t n)
{
  struct vmdk_stream *s = e->stream;

  if (s->pend != gi)
    return 0;
  memcpy (buf, s->pbuf + in, n);
  return 1;
}
