/* The VMDK format driver: monolithicSparse and streamOptimized files
 * (a sparse header, an embedded descriptor, grain directory and grain
 * tables), and descriptor files naming FLAT / VMFS / SPARSE / ZERO extents
 * (monolithicFlat, twoGbMaxExtentSparse/Flat, vmfs, vmfsThin).  Reads and
 * writes go through the extent list; sparse extents map grains through a
 * small write-back cache of grain tables; streamOptimized images opened
 * for writing go to vmdk-stream.c.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "vmdk.h"

static const char *const desc_create_types[] = {
  "monolithicFlat",     "twoGbMaxExtentSparse",
  "twoGbMaxExtentFlat", "vmfs",
  "vmfsThin",           NULL,
};

static bool
in_list (const char *const *list, const char *s)
{
  for (; *list; list++)
    if (strcmp (*list, s) == 0)
      return true;
  return false;
}

/* ---- probe ----------------------------------------------------------- */

static int
vmdk_probe (const uint8_t *buf, size_t len, struct vd_io *io)
{
  const uint8_t *p = buf, *end = buf + len;

  (void) io;
  if (len >= 4
      && (memcmp (buf, "KDMV", 4) == 0 || memcmp (buf, "COWD", 4) == 0))
    return 100;
  /* A descriptor file: comments and blank lines, then "version=N". */
  while (p < end) {
    if (*p == '#') {
      while (p < end && *p != '\n')
        p++;
      p++;
      continue;
    }
    if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
      while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
      if (p == end || *p != '\n')
        return 0;
      p++;
      continue;
    }
    if (end - p >= 10 && memcmp (p, "version=", 8) == 0 && p[8] >= '1'
        && p[8] <= '3'
        && (p[9] == '\n' || (p[9] == '\r' && end - p >= 11 && p[10] == '\n')))
      return 100;
    return 0;
  }
  return 0;
}

/* ---- grain tables ---------------------------------------------------- */

/* Write every dirty grain table (and the directories if they changed) of
 * a sparse extent.  The data they point to is flushed first, so a crash
 * never leaves a table pointing at a grain that was not written. */
static int
write_back (struct vmdk_extent *e)
{
  CLEANUP_FREE uint8_t *raw = NULL;
  bool any = e->gd_dirty;
  uint32_t i, j;

  for (i = 0; i < e->nr_slots && !any; i++)
    any = e->slots[i].dirty;
  if (!any)
    return 0;
  if (vd_io_flush (e->io) == -1)
    return -1;
  raw = vd_malloc ((size_t) MAX (e->gtes, e->gd_entries) * 4);
  if (!raw)
    return -1;
  for (i = 0; i < e->nr_slots; i++) {
    struct vmdk_gt_slot *s = &e->slots[i];
    if (!s->dirty)
      continue;
    for (j = 0; j < e->gtes; j++)
      vmdk_put_le32 (raw + 4 * j, s->t[j]);
    if (vd_io_pwrite (e->io, raw, (size_t) e->gtes * 4,
                      (uint64_t) e->gd[s->index] * VMDK_SECTOR)
        == -1)
      return -1;
    if (e->rgd && e->rgd[s->index]
        && vd_io_pwrite (e->io, raw, (size_t) e->gtes * 4,
                         (uint64_t) e->rgd[s->index] * VMDK_SECTOR)
               == -1)
      return -1;
    s->dirty = false;
  }
  if (e->gd_dirty) {
    for (j = 0; j < e->gd_entries; j++)
      vmdk_put_le32 (raw + 4 * j, e->gd[j]);
    if (vd_io_pwrite (e->io, raw, (size_t) e->gd_entries * 4, e->gd_off) == -1)
      return -1;
    if (e->rgd) {
      for (j = 0; j < e->gd_entries; j++)
        vmdk_put_le32 (raw + 4 * j, e->rgd[j]);
      if (vd_io_pwrite (e->io, raw, (size_t) e->gd_entries * 4, e->rgd_off)
          == -1)
        return -1;
    }
    e->gd_dirty = false;
  }
  return 0;
}

/* The grain table GTI of a sparse extent, loaded into the cache.  *TABLE
 * is NULL when the directory has no table there. */
static int
gt_get (vd_image *img, struct vmdk_extent *e, uint32_t gti, uint32_t **table)
{
  struct vmdk_gt_slot *s;
  uint64_t off = (uint64_t) e->gd[gti] * VMDK_SECTOR;
  size_t bytes = (size_t) e->gtes * 4;
  uint32_t j;

  *table = NULL;
  if (e->gd[gti] == 0)
    return 0;
  s = &e->slots[gti % e->nr_slots];
  if (s->t && s->index == gti) {
    *table = s->t;
    return 0;
  }
  if (s->dirty && write_back (e) == -1)
    return -1;
  if (off + bytes > e->file_size) {
    vd_set_error (EINVAL,
                  _ ("%s: grain table %" PRIu32 " at offset %" PRIu64
                     " lies past the end of the file"),
                  e->path, gti, off);
    return -1;
  }
  if (!s->t && !(s->t = vd_malloc (bytes)))
    return -1;
  s->index = UINT32_MAX;
  if (vd_io_pread (e->io, s->t, bytes, off) == -1)
    return -1;
  for (j = 0; j < e->gtes; j++)
    s->t[j] = vmdk_le32 ((const uint8_t *) &s->t[j]);
  s->index = gti;
  (void) img;
  *table = s->t;
  return 0;
}

/* Where grain GI of a sparse extent is: its state and, for data, the
 * byte offset of the grain (or of its marker) in the extent file. */
static int
lookup (vd_image *img, struct vmdk_extent *e, uint64_t gi, enum vmdk_state *st,
        uint64_t *host)
{
  uint32_t gti = gi / e->gtes, gte;
  uint32_t *t;

  *host = 0;
  if (e->stream) {
    int r = vmdk_stream_lookup (e, gi, &gte);
    if (r == 2) { /* buffered in memory, not yet written */
      *st = VMDK_DATA;
      return 0;
    }
    if (r == 1)
      goto decode;
  }
  if (gti >= e->gd_entries) {
    vd_set_error (EINVAL,
                  _ ("%s: grain %" PRIu64 " is beyond the grain directory"),
                  e->path, gi);
    return -1;
  }
  if (gt_get (img, e, gti, &t) == -1)
    return -1;
  if (!t) {
    *st = VMDK_UNALLOC;
    return 0;
  }
  gte = t[gi % e->gtes];
decode:
  if (gte == 0) {
    *st = VMDK_UNALLOC;
    return 0;
  }
  if (gte == VMDK_GTE_ZERO && e->zero_grain) {
    *st = VMDK_ZERO;
    return 0;
  }
  *host = (uint64_t) gte * VMDK_SECTOR;
  if (*host < e->data_start) {
    vd_set_error (EINVAL,
                  _ ("%s: the grain table entry for grain %" PRIu64
                     " points into the metadata (sector %" PRIu32 ")"),
                  e->path, gi, gte);
    return -1;
  }
  if (*host >= e->file_size) {
    vd_set_error (EINVAL,
                  _ ("%s: grain %" PRIu64 " at offset %" PRIu64
                     " lies past the end of the file"),
                  e->path, gi, *host);
    return -1;
  }
  *st = VMDK_DATA;
  return 0;
}

/* Point grain GI at SECTOR (0: unallocated, 1: zeroed).  The table is
 * written back later (flush, or when its cache slot is needed). */
static int
set_gte (vd_image *img, struct vmdk_extent *e, uint64_t gi, uint32_t sector)
{
  uint32_t gti = gi / e->gtes;
  struct vmdk_gt_slot *s;
  uint32_t *t;

  if (e->gd[gti] == 0) {
    /* No table yet: add one (and its redundant copy) at the end. */
    uint64_t bytes = ROUND_UP ((uint64_t) e->gtes * 4, VMDK_SECTOR);
    uint64_t at = e->next_alloc;
    uint64_t end = at + (e->rgd ? 2 : 1) * bytes;

    if (end / VMDK_SECTOR > UINT32_MAX || end > VMDK_MAX_SPARSE_FILE) {
      vd_set_error (ENOSPC, _ ("%s: the sparse extent is full (2 TiB)"),
                    e->path);
      return -1;
    }
    s = &e->slots[gti % e->nr_slots];
    if (s->dirty && write_back (e) == -1)
      return -1;
    if (!s->t && !(s->t = vd_malloc ((size_t) e->gtes * 4)))
      return -1;
    memset (s->t, 0, (size_t) e->gtes * 4);
    s->index = gti;
    s->dirty = true;
    e->gd[gti] = at / VMDK_SECTOR;
    if (e->rgd)
      e->rgd[gti] = (at + bytes) / VMDK_SECTOR;
    e->gd_dirty = true;
    e->next_alloc = ROUND_UP (end, e->grain);
  }
  if (gt_get (img, e, gti, &t) == -1)
    return -1;
  t[gi % e->gtes] = sector;
  e->slots[gti % e->nr_slots].dirty = true;
  return 0;
}

/* Room for N grains at the end of the extent file. */
static int
alloc_grains (struct vmdk_extent *e, uint64_t n, uint64_t *host)
{
  uint64_t end;

  if (vd_mul_overflow (n, e->grain, &end)
      || vd_add_overflow (end, e->next_alloc, &end)
      || end / VMDK_SECTOR > UINT32_MAX || end > VMDK_MAX_SPARSE_FILE) {
    vd_set_error (ENOSPC,
                  _ ("%s: the sparse extent is full (grains are addressed "
                     "by 32-bit sector numbers: 2 TiB)"),
                  e->path);
    return -1;
  }
  *host = e->next_alloc;
  e->next_alloc = end;
  return 0;
}

/* ---- reading --------------------------------------------------------- */

static int
read_backing (vd_image *img, void *buf, size_t n, uint64_t off)
{
  struct vmdk_priv *p = img->priv;

  if (img->backing && !p->cid_checked) {
    if (img->backing->fmt == &vd_format_vmdk) {
      struct vmdk_priv *bp = img->backing->priv;
      if (bp->cid != p->parent_cid) {
        vd_set_error (EINVAL,
                      _ ("%s: the parent CID %08" PRIx32
                         " does not match the CID %08" PRIx32
                         " of the backing file %s (it was changed after "
                         "this image was made)"),
                      img->filename, p->parent_cid, bp->cid,
                      img->backing->filename);
        return -1;
      }
    }
    p->cid_checked = true;
  }
  return vd_read_backing (img, buf, n, off);
}

/* Inflate the compressed grain whose marker (or data) is at HOST. */
static int
inflate_grain (vd_image *img, struct vmdk_extent *e, uint64_t gi, uint64_t host)
{
  struct vmdk_priv *p = img->priv;
  uint64_t max_in = 2 * e->grain, need;
  CLEANUP_FREE uint8_t *in = NULL;
  uint64_t in_len, data_at = host;
  z_stream z = { 0 };
  int zr;

  if (e->markers) {
    uint8_t m[VMDK_GRAIN_MARKER_SIZE];
    uint64_t lba;

    if (host + sizeof m > e->file_size) {
      vd_set_error (
          EINVAL,
          _ ("%s: compressed grain %" PRIu64 " lies past the end of the file"),
          e->path, gi);
      return -1;
    }
    if (vd_io_pread (e->io, m, sizeof m, host) == -1)
      return -1;
    lba = vmdk_le64 (m);
    in_len = vmdk_le32 (m + 8);
    if (in_len == 0 || in_len > max_in) {
      vd_set_error (EINVAL,
                    _ ("%s: compressed grain at offset %" PRIu64
                       " has a bad size (%" PRIu64 " bytes)"),
                    e->path, host, in_len);
      return -1;
    }
    if (lba != gi * (e->grain / VMDK_SECTOR)) {
      vd_set_error (EINVAL,
                    _ ("%s: the compressed grain at offset %" PRIu64
                       " is marked for sector %" PRIu64
                       ", but the grain table maps it to sector %" PRIu64),
                    e->path, host, lba, gi * (e->grain / VMDK_SECTOR));
      return -1;
    }
    data_at = host + sizeof m;
    if (data_at + in_len > e->file_size) {
      vd_set_error (EINVAL,
                    _ ("%s: compressed grain at offset %" PRIu64
                       " lies past the end of the file"),
                    e->path, host);
      return -1;
    }
  }
  else
    in_len = MIN (max_in, e->file_size - host);

  in = vd_malloc (in_len);
  if (!in || vd_io_pread (e->io, in, in_len, data_at) == -1)
    return -1;
  p->z_ext = NULL;
  if (inflateInit (&z) != Z_OK) {
    vd_set_error (ENOMEM, _ ("%s: cannot set up decompression"), e->path);
    return -1;
  }
  z.next_in = in;
  z.avail_in = in_len;
  z.next_out = p->z_buf;
  z.avail_out = e->grain; /* the cap: never more than one grain */
  zr = inflate (&z, Z_FINISH);
  p->z_len = e->grain - z.avail_out;
  inflateEnd (&z);
  if (zr != Z_STREAM_END) {
    if (z.avail_out == 0)
      vd_set_error (EINVAL,
                    _ ("%s: compressed grain at offset %" PRIu64
                       " decompresses to more than the grain size"),
                    e->path, host);
    else
      vd_set_error (EINVAL,
                    _ ("%s: compressed grain at offset %" PRIu64 " is corrupt"),
                    e->path, host);
    return -1;
  }
  need = MIN (e->grain, e->length - gi * e->grain);
  if (p->z_len < need) {
    vd_set_error (EINVAL,
                  _ ("%s: compressed grain at offset %" PRIu64
                     " decompresses to %zu bytes, less than the %" PRIu64
                     " it covers"),
                  e->path, host, p->z_len, need);
    return -1;
  }
  p->z_ext = e;
  p->z_host = host;
  return 0;
}

static int
sparse_read (vd_image *img, struct vmdk_extent *e, uint8_t *buf, size_t n,
             uint64_t rel)
{
  struct vmdk_priv *p = img->priv;

  while (n > 0) {
    uint64_t gi = rel / e->grain, in = rel % e->grain, host;
    size_t chunk = MIN (n, e->grain - in), run;
    enum vmdk_state st;

    if (e->stream && vmdk_stream_read_pending (e, gi, in, buf, chunk))
      goto next;
    if (lookup (img, e, gi, &st, &host) == -1)
      return -1;
    switch (st) {
    case VMDK_UNALLOC:
      if (read_backing (img, buf, chunk, e->start + rel) == -1)
        return -1;
      break;
    case VMDK_ZERO: memset (buf, 0, chunk); break;
    case VMDK_DATA:
      if (e->compressed) {
        if (!(p->z_ext == e && p->z_host == host)
            && inflate_grain (img, e, gi, host) == -1)
          return -1;
        memcpy (buf, p->z_buf + in, chunk);
        break;
      }
      /* Read a run of grains that lie one after another in one call. */
      for (run = chunk; run < n;) {
        uint64_t h2;
        if (lookup (img, e, gi + (in + run) / e->grain, &st, &h2) == -1)
          return -1;
        if (st != VMDK_DATA || h2 != host + in + run)
          break;
        run += MIN (e->grain, n - run);
      }
      if (host + in + run > e->file_size) {
        vd_set_error (EINVAL,
                      _ ("%s: grain %" PRIu64 " at offset %" PRIu64
                         " lies past the end of the file"),
                      e->path, gi, host);
        return -1;
      }
      if (vd_io_pread (e->io, buf, run, host + in) == -1)
        return -1;
      chunk = run;
      break;
    }
  next:
    buf += chunk;
    rel += chunk;
    n -= chunk;
  }
  return 0;
}

/* The extent holding virtual byte OFFSET (extents are sorted). */
static struct vmdk_extent *
find_extent (struct vmdk_priv *p, uint64_t offset)
{
  size_t lo = 0, hi = p->nr_ext;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    struct vmdk_extent *e = &p->ext[mid];
    if (offset < e->start)
      hi = mid;
    else if (offset - e->start >= e->length)
      lo = mid + 1;
    else
      return e;
  }
  return NULL;
}

static struct vmdk_extent *
extent_at (vd_image *img, uint64_t offset)
{
  struct vmdk_extent *e = find_extent (img->priv, offset);

  if (!e)
    vd_set_error (EIO, _ ("%s: no extent covers offset %" PRIu64),
                  img->filename, offset);
  return e;
}

static int
vmdk_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  uint8_t *b = buf;

  while (count > 0) {
    struct vmdk_extent *e = extent_at (img, offset);
    uint64_t rel;
    size_t n;

    if (!e)
      return -1;
    rel = offset - e->start;
    n = MIN (count, e->length - rel);
    switch (e->kind) {
    case VMDK_KIND_ZERO: memset (b, 0, n); break;
    case VMDK_KIND_FLAT:
      if (vd_io_pread (e->io, b, n, e->flat_offset + rel) == -1)
        return -1;
      break;
    case VMDK_KIND_SPARSE:
      if (sparse_read (img, e, b, n, rel) == -1)
        return -1;
      break;
    }
    b += n;
    offset += n;
    count -= n;
  }
  return 0;
}

/* ---- writing --------------------------------------------------------- */

/* The first write after open gives the image a new CID, as VMware and
 * qemu do: images made on top of the old content see the change. */
int
vmdk_write_cid_once (vd_image *img)
{
  struct vmdk_priv *p = img->priv;
  CLEANUP_FREE char *text = NULL;
  uint32_t cid;
  size_t len;

  if (p->cid_updated || !p->has_desc)
    return 0;
  cid = vmdk_random_cid ();
  text = vmdk_desc_with_cid (&p->desc, cid, &len);
  if (!text)
    return -1;
  if (p->desc_embedded) {
    CLEANUP_FREE uint8_t *area = NULL;
    size_t room = MAX (len, p->desc.len);
    if (len > p->desc_room) {
      vd_set_error (ENOSPC, _ ("%s: no room to rewrite the descriptor"),
                    img->filename);
      return -1;
    }
    area = vd_calloc (1, room);
    if (!area)
      return -1;
    memcpy (area, text, len);
    if (vd_io_pwrite (img->io, area, room, p->desc_off) == -1)
      return -1;
  }
  else {
    int64_t size = vd_io_size (img->io);
    if (size < 0 || vd_io_pwrite (img->io, text, len, 0) == -1)
      return -1;
    if ((uint64_t) size > len && vd_io_truncate (img->io, len) == -1)
      return -1;
  }
  free (p->desc.text);
  p->desc.text = text;
  text = NULL;
  p->desc.len = len;
  p->desc.cid_len = 8;
  p->desc.cid = p->cid = cid;
  p->cid_updated = true;
  return 0;
}

static void
grew (struct vmdk_extent *e, uint64_t end)
{
  if (end > e->file_size)
    e->file_size = end;
}

static int
sparse_write (vd_image *img, struct vmdk_extent *e, const uint8_t *buf,
              size_t n, uint64_t rel)
{
  struct vmdk_priv *p = img->priv;

  while (n > 0) {
    uint64_t gi = rel / e->grain, in = rel % e->grain, host;
    uint64_t glen = MIN (e->grain, e->length - gi * e->grain);
    size_t chunk = MIN (n, glen - in), run, k;
    enum vmdk_state st;

    if (lookup (img, e, gi, &st, &host) == -1)
      return -1;
    if (st == VMDK_DATA) {
      /* Overwrite in place, a run of neighbouring grains at once. */
      for (run = chunk; run < n;) {
        uint64_t h2;
        if (lookup (img, e, gi + (in + run) / e->grain, &st, &h2) == -1)
          return -1;
        if (st != VMDK_DATA || h2 != host + in + run)
          break;
        run += MIN (e->grain, n - run);
      }
      if (vd_io_pwrite (e->io, buf, run, host + in) == -1)
        return -1;
      grew (e, host + in + run);
      chunk = run;
    }
    else if (in == 0 && chunk == glen) {
      /* Whole new grains: allocate them side by side, one write. */
      for (run = chunk, k = 1; run < n && k < 512; k++) {
        uint64_t g2 = gi + k, h2;
        uint64_t l2 = MIN (e->grain, e->length - g2 * e->grain);
        if (n - run < l2)
          break;
        if (lookup (img, e, g2, &st, &h2) == -1)
          return -1;
        if (st == VMDK_DATA)
          break;
        run += l2;
      }
      if (alloc_grains (e, k, &host) == -1)
        return -1;
      if (vd_io_pwrite (e->io, buf, run, host) == -1)
        return -1;
      grew (e, host + run);
      for (uint64_t j = 0; j < k; j++)
        if (set_gte (img, e, gi + j, (host + j * e->grain) / VMDK_SECTOR) == -1)
          return -1;
      chunk = run;
    }
    else {
      /* Part of a new grain: the rest comes from the backing file (or
       * is zero), then the whole grain is written once. */
      uint8_t *g = p->grain_buf;
      if (st == VMDK_UNALLOC) {
        if (read_backing (img, g, glen, e->start + gi * e->grain) == -1)
          return -1;
      }
      else
        memset (g, 0, glen);
      memcpy (g + in, buf, chunk);
      if (alloc_grains (e, 1, &host) == -1)
        return -1;
      if (vd_io_pwrite (e->io, g, glen, host) == -1)
        return -1;
      grew (e, host + glen);
      if (set_gte (img, e, gi, host / VMDK_SECTOR) == -1)
        return -1;
    }
    buf += chunk;
    rel += chunk;
    n -= chunk;
  }
  return 0;
}

static int
vmdk_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  const uint8_t *b = buf;

  if (vmdk_write_cid_once (img) == -1)
    return -1;
  while (count > 0) {
    struct vmdk_extent *e = extent_at (img, offset);
    uint64_t rel;
    size_t n;

    if (!e)
      return -1;
    rel = offset - e->start;
    n = MIN (count, e->length - rel);
    switch (e->kind) {
    case VMDK_KIND_ZERO:
      vd_set_error (EROFS,
                    _ ("%s: offset %" PRIu64
                       " lies in a ZERO extent, which cannot be written"),
                    img->filename, offset);
      return -1;
    case VMDK_KIND_FLAT:
      if (vd_io_pwrite (e->io, b, n, e->flat_offset + rel) == -1)
        return -1;
      break;
    case VMDK_KIND_SPARSE:
      if (e->stream) {
        if (vmdk_stream_pwrite (img, e, b, n, rel) == -1)
          return -1;
      }
      else if (sparse_write (img, e, b, n, rel) == -1)
        return -1;
      break;
    }
    b += n;
    offset += n;
    count -= n;
  }
  return 0;
}

/* Compressed writes: every grain of a streamOptimized image is
 * compressed anyway; other sub-formats store the data as it is, as
 * qemu-img does for "convert -c -O vmdk". */
static int
vmdk_pwrite_compressed (vd_image *img, const void *buf, size_t count,
                        uint64_t offset)
{
  return vmdk_pwrite (img, buf, count, offset);
}

static int
sparse_zero (vd_image *img, struct vmdk_extent *e, uint64_t rel, uint64_t n)
{
  while (n > 0) {
    uint64_t gi = rel / e->grain, in = rel % e->grain, host;
    uint64_t glen = MIN (e->grain, e->length - gi * e->grain);
    uint64_t chunk = MIN (n, glen - in);
    enum vmdk_state st;

    if (lookup (img, e, gi, &st, &host) == -1)
      return -1;
    if (st == VMDK_ZERO || (st == VMDK_UNALLOC && !img->backing))
      ; /* reads as zeros already */
    else if (in == 0 && chunk == glen && e->zero_grain) {
      if (set_gte (img, e, gi, VMDK_GTE_ZERO) == -1)
        return -1;
    }
    else if (sparse_write (img, e, vmdk_zeroes, chunk, rel) == -1)
      return -1;
    rel += chunk;
    n -= chunk;
  }
  return 0;
}

static int
vmdk_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  (void) flags;
  if (vmdk_write_cid_once (img) == -1)
    return -1;
  while (count > 0) {
    struct vmdk_extent *e = extent_at (img, offset);
    uint64_t rel, n;

    if (!e)
      return -1;
    rel = offset - e->start;
    n = MIN (count, e->length - rel);
    switch (e->kind) {
    case VMDK_KIND_ZERO: break;
    case VMDK_KIND_FLAT:
      if (vd_io_write_zeroes (e->io, e->flat_offset + rel, n) == -1)
        return -1;
      break;
    case VMDK_KIND_SPARSE:
      if (e->stream) {
        if (vmdk_stream_zero (img, e, rel, n) == -1)
          return -1;
      }
      else if (sparse_zero (img, e, rel, n) == -1)
        return -1;
      break;
    }
    offset += n;
    count -= n;
  }
  return 0;
}

static int
vmdk_flush (vd_image *img)
{
  struct vmdk_priv *p = img->priv;
  size_t i;

  for (i = 0; i < p->nr_ext; i++) {
    struct vmdk_extent *e = &p->ext[i];
    if (e->kind != VMDK_KIND_SPARSE)
      continue;
    if (e->stream) {
      if (vmdk_stream_flush (img, e) == -1)
        return -1;
    }
    else if (write_back (e) == -1)
      return -1;
  }
  for (i = 0; i < p->nr_ext; i++)
    if (p->ext[i].own_io && vd_io_flush (p->ext[i].io) == -1)
      return -1;
  return vd_io_flush (img->io);
}

/* ---- block status ---------------------------------------------------- */

static unsigned
state_flags (const struct vmdk_extent *e, enum vmdk_state st)
{
  switch (st) {
  case VMDK_UNALLOC: return 0;
  case VMDK_ZERO: return VD_EXT_ZERO | VD_EXT_ALLOCATED;
  case VMDK_DATA:
    return VD_EXT_DATA | VD_EXT_ALLOCATED
           | (e->compressed ? 0 : VD_EXT_OFFSET_VALID);
  }
  return 0;
}

static int
vmdk_block_status (vd_image *img, uint64_t offset, uint64_t length,
                   struct vd_extent *ext)
{
  struct vmdk_extent *e = extent_at (img, offset);
  uint64_t rel, max, gi, in, host, len;
  enum vmdk_state st;
  unsigned i;

  if (!e)
    return -1;
  rel = offset - e->start;
  max = MIN (length, e->length - rel);
  switch (e->kind) {
  case VMDK_KIND_ZERO:
    ext->length = max;
    ext->flags = VD_EXT_ZERO | VD_EXT_ALLOCATED;
    return 0;
  case VMDK_KIND_FLAT: {
    bool is_data;
    if (vd_io_extent (e->io, e->flat_offset + rel, max, &is_data, &len) == -1)
      return -1;
    ext->length = len;
    ext->flags = VD_EXT_ALLOCATED | VD_EXT_OFFSET_VALID
                 | (is_data ? VD_EXT_DATA : VD_EXT_ZERO);
    ext->host_offset = e->flat_offset + rel;
    ext->host_file = e->path;
    return 0;
  }
  case VMDK_KIND_SPARSE: break;
  }
  gi = rel / e->grain;
  in = rel % e->grain;
  if (lookup (img, e, gi, &st, &host) == -1)
    return -1;
  len = MIN (max, e->grain - in);
  /* Merge following grains of the same kind (bounded work per call). */
  for (i = 0; len < max && i < 16384; i++) {
    enum vmdk_state st2;
    uint64_t h2, g2 = gi + (in + len) / e->grain;
    uint32_t gte;

    /* A range with no grain table at all is unallocated in one step. */
    if (st == VMDK_UNALLOC && e->gd[g2 / e->gtes] == 0 && g2 % e->gtes == 0
        && !(e->stream && vmdk_stream_lookup (e, g2, &gte))) {
      len += MIN (e->gt_cover, max - len);
      continue;
    }
    if (lookup (img, e, g2, &st2, &h2) == -1)
      return -1;
    if (st2 != st
        || (st == VMDK_DATA && !e->compressed && h2 != host + in + len))
      break;
    len += MIN (e->grain, max - len);
  }
  ext->length = len;
  ext->flags = state_flags (e, st);
  if (ext->flags & VD_EXT_OFFSET_VALID) {
    ext->host_offset = host + in;
    ext->host_file = e->path;
  }
  return 0;
}

/* ---- check ----------------------------------------------------------- */

/* As qemu-img's check of a VMDK: every grain's table entry must point
 * inside its extent file (and past the metadata), every compressed
 * grain's marker must be sane.  Unlike qemu, the check goes on after a
 * problem and counts each one as a corruption.  Repairs are not offered
 * (qemu offers none either). */
static int
vmdk_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  struct vmdk_priv *p = img->priv;
  size_t i;

  if (fix) {
    vd_set_error (ENOTSUP, _ ("This image format does not support checks"));
    return -1;
  }
  for (i = 0; i < p->nr_ext; i++) {
    struct vmdk_extent *e = &p->ext[i];
    uint64_t gi, n;

    if (e->kind != VMDK_KIND_SPARSE)
      continue;
    n = DIV_ROUND_UP (e->length, e->grain);
    for (gi = 0; gi < n; gi++) {
      enum vmdk_state st;
      uint64_t host;
      uint8_t m[VMDK_GRAIN_MARKER_SIZE];

      if (lookup (img, e, gi, &st, &host) == -1) {
        res->corruptions++;
        vd_check_report (res, "ERROR: %s", vd_error ());
        /* A bad grain table: one report for the whole table. */
        if (strstr (vd_error (), "grain table ")
            && !strstr (vd_error (), "grain table entry"))
          gi = ROUND_UP (gi + 1, e->gtes) - 1;
        continue;
      }
      if (st != VMDK_DATA || !e->compressed || !e->markers
          || (e->stream && host == 0))
        continue;
      if (host + sizeof m > e->file_size
          || vd_io_pread (e->io, m, sizeof m, host) == -1
          || vmdk_le64 (m) != gi * (e->grain / VMDK_SECTOR)
          || vmdk_le32 (m + 8) == 0 || vmdk_le32 (m + 8) > 2 * e->grain
          || host + sizeof m + vmdk_le32 (m + 8) > e->file_size) {
        res->corruptions++;
        vd_check_report (res,
                         "ERROR: %s: bad compressed grain marker at offset "
                         "%" PRIu64 " (grain %" PRIu64 ")",
                         e->path, host, gi);
      }
    }
  }
  return 0;
}

/* ---- info ------------------------------------------------------------ */

static int
vmdk_info (vd_image *img, struct vd_info *info)
{
  struct vmdk_priv *p = img->priv;
  struct vd_value *fs, *data, *list;
  int64_t total;
  size_t i;

  /* The disk size counts the extent files too. */
  total = vd_io_allocated_size (img->io);
  for (i = 0; i < p->nr_ext && total >= 0; i++) {
    if (p->ext[i].own_io) {
      int64_t a = vd_io_allocated_size (p->ext[i].io);
      total = a < 0 ? -1 : total + a;
    }
  }
  if (total >= 0)
    info->actual_size = total;

  /* Members in qemu's schema order (its JSON order depends on it). */
  fs = vd_value_new_dict ();
  if (!fs)
    return -1;
  info->format_specific = fs;
  if (!vd_value_add_str (fs, "type", "vmdk")
      || !(data = vd_value_add_dict (fs, "data"))
      || !vd_value_add_str (data, "create-type", p->create_type)
      || !vd_value_add_int (data, "cid", p->cid)
      || !vd_value_add_int (data, "parent-cid", p->parent_cid)
      || !(list = vd_value_add_list (data, "extents")))
    return -1;
  for (i = 0; i < p->nr_ext; i++) {
    const struct vmdk_extent *e = &p->ext[i];
    struct vd_value *x = vd_value_add_dict (list, NULL);
    if (!x || !vd_value_add_str (x, "filename", e->path)
        || !vd_value_add_str (x, "format", e->type)
        || !vd_value_add_int (x, "virtual-size", e->length))
      return -1;
    if (e->kind == VMDK_KIND_SPARSE
        && !vd_value_add_int (x, "cluster-size", e->grain))
      return -1;
    if (e->compressed && !vd_value_add_bool (x, "compressed", true))
      return -1;
  }
  return 0;
}

/* ---- open / close ---------------------------------------------------- */

static void
free_extent (struct vmdk_extent *e)
{
  uint32_t i;

  vmdk_stream_free (e);
  for (i = 0; i < e->nr_slots; i++)
    free (e->slots[i].t);
  free (e->slots);
  free (e->gd);
  free (e->rgd);
  free (e->type);
  free (e->path);
  if (e->own_io)
    vd_io_close (e->io);
}

static void
vmdk_close (vd_image *img)
{
  struct vmdk_priv *p = img->priv;
  size_t i;

  for (i = 0; i < p->nr_ext; i++)
    free_extent (&p->ext[i]);
  free (p->ext);
  vmdk_desc_free (&p->desc);
  free (p->create_type);
  free (p->grain_buf);
  free (p->z_buf);
}

static int
read_dir (struct vmdk_extent *e, uint64_t off, uint32_t **dir)
{
  size_t bytes = (size_t) e->gd_entries * 4;
  uint32_t i;

  if (off < VMDK_SECTOR || off > e->file_size || bytes > e->file_size - off) {
    vd_set_error (EINVAL,
                  _ ("%s: the grain directory at offset %" PRIu64 " (%" PRIu32
                     " entries) lies outside the file"),
                  e->path, off, e->gd_entries);
    return -1;
  }
  *dir = vd_malloc (bytes);
  if (!*dir || vd_io_pread (e->io, *dir, bytes, off) == -1)
    return -1;
  for (i = 0; i < e->gd_entries; i++)
    (*dir)[i] = vmdk_le32 ((const uint8_t *) &(*dir)[i]);
  return 0;
}

/* A stream's header says "at the end": the footer, one sector before the
 * end-of-stream marker, holds the real one. */
static int
read_footer (struct vmdk_extent *e, struct vmdk_header *h)
{
  uint8_t f[3 * VMDK_SECTOR];
  uint64_t at;

  if (e->file_size % VMDK_SECTOR || e->file_size < 4 * VMDK_SECTOR) {
    vd_set_error (EINVAL,
                  _ ("%s: the stream is not a whole number of sectors, or "
                     "too short to end with a footer"),
                  e->path);
    return -1;
  }
  at = e->file_size - sizeof f;
  if (vd_io_pread (e->io, f, sizeof f, at) == -1)
    return -1;
  if (vmdk_le32 (f + 8) != 0 || vmdk_le32 (f + 12) != VMDK_MARKER_FOOTER
      || memcmp (f + VMDK_SECTOR, "KDMV", 4) != 0
      || vmdk_le64 (f + 2 * VMDK_SECTOR) != 0
      || vmdk_le32 (f + 2 * VMDK_SECTOR + 8) != 0
      || vmdk_le32 (f + 2 * VMDK_SECTOR + 12) != VMDK_MARKER_EOS) {
    vd_set_error (EINVAL,
                  _ ("%s: the header says the grain directory is at the end, "
                     "but the stream does not end with a footer and an "
                     "end-of-stream marker"),
                  e->path);
    return -1;
  }
  vmdk_header_decode (f + VMDK_SECTOR, h);
  if (h->gd_offset == VMDK_GD_AT_END) {
    vd_set_error (EINVAL,
                  _ ("%s: the footer does not say where the grain directory "
                     "is"),
                  e->path);
    return -1;
  }
  return 0;
}

/* Open the sparse extent E (its io, path set): header, directories. */
static int
open_sparse (struct vmdk_extent *e, unsigned flags)
{
  uint8_t sec[VMDK_SECTOR];
  struct vmdk_header *h = &e->h;
  int64_t size = vd_io_size (e->io);
  uint64_t cover, cap_bytes, n;

  if (size < 0)
    return -1;
  e->file_size = size;
  if (e->file_size < VMDK_SECTOR) {
    vd_set_error (EINVAL, _ ("%s: the file is too short for a VMDK header"),
                  e->path);
    return -1;
  }
  if (vd_io_pread (e->io, sec, VMDK_SECTOR, 0) == -1)
    return -1;
  if (memcmp (sec, "KDMV", 4) != 0) {
    vd_set_error (EINVAL, _ ("%s: not a VMDK sparse extent (no KDMV header)"),
                  e->path);
    return -1;
  }
  vmdk_header_decode (sec, h);
  if (h->gd_offset == VMDK_GD_AT_END && read_footer (e, h) == -1)
    return -1;
  if (h->version < 1 || h->version > 3) {
    vd_set_error (ENOTSUP, _ ("%s: unsupported VMDK version %" PRIu32), e->path,
                  h->version);
    return -1;
  }
  if (h->compress > VMDK_COMPRESS_DEFLATE) {
    vd_set_error (ENOTSUP, _ ("%s: unknown compression algorithm %u"), e->path,
                  (unsigned) h->compress);
    return -1;
  }
  e->compressed = h->compress == VMDK_COMPRESS_DEFLATE;
  e->markers = h->flags & VMDK_FLAG_MARKERS;
  e->zero_grain = h->flags & VMDK_FLAG_ZERO_GRAIN;
  if (h->version == 3 && !e->compressed && (flags & VD_OPEN_RDWR)) {
    /* Version 3 adds changed block tracking, which we would not keep. */
    vd_set_error (EROFS,
                  _ ("%s: VMDK version 3 images can only be opened "
                     "read-only"),
                  e->path);
    return -1;
  }
  if (h->grain_size == 0 || h->grain_size > VMDK_MAX_GRAIN_SECTORS
      || (h->grain_size & (h->grain_size - 1))) {
    vd_set_error (EINVAL,
                  _ ("%s: the grain size (%" PRIu64
                     " sectors) is not a power of two from 1 to %d"),
                  e->path, h->grain_size, VMDK_MAX_GRAIN_SECTORS);
    return -1;
  }
  if (h->gtes_per_gt == 0 || h->gtes_per_gt > VMDK_MAX_GTES) {
    vd_set_error (
        EINVAL, _ ("%s: %" PRIu32 " entries per grain table (must be 1 to %d)"),
        e->path, h->gtes_per_gt, VMDK_MAX_GTES);
    return -1;
  }
  if (h->capacity > VD_MAX_IMAGE_SIZE / VMDK_SECTOR) {
    vd_set_error (EFBIG,
                  _ ("%s: the capacity (%" PRIu64 " sectors) is too large"),
                  e->path, h->capacity);
    return -1;
  }
  e->grain = h->grain_size * VMDK_SECTOR;
  e->gtes = h->gtes_per_gt;
  cover = e->grain * e->gtes;
  e->gt_cover = cover;
  cap_bytes = h->capacity * VMDK_SECTOR;
  n = DIV_ROUND_UP (cap_bytes, cover);
  if (n > VMDK_MAX_GD_ENTRIES) {
    vd_set_error (EFBIG,
                  _ ("%s: the grain directory would have %" PRIu64
                     " entries, more than the limit of %" PRIu32),
                  e->path, n, VMDK_MAX_GD_ENTRIES);
    return -1;
  }
  e->gd_entries = n;
  e->length = cap_bytes;
  if (h->overhead > e->file_size / VMDK_SECTOR) {
    vd_set_error (EINVAL,
                  _ ("%s: the file is truncated: the header says grains start "
                     "at sector %" PRIu64 ", past its end"),
                  e->path, h->overhead);
    return -1;
  }
  e->data_start = MAX (h->overhead * VMDK_SECTOR, (uint64_t) VMDK_SECTOR);
  if (e->gd_entries > 0) {
    if (h->gd_offset > e->file_size / VMDK_SECTOR) {
      vd_set_error (EINVAL,
                    _ ("%s: the grain directory at sector %" PRIu64
                       " lies past the end of the file"),
                    e->path, h->gd_offset);
      return -1;
    }
    e->gd_off = h->gd_offset * VMDK_SECTOR;
    if (read_dir (e, e->gd_off, &e->gd) == -1)
      return -1;
    if ((flags & VD_OPEN_RDWR) && (h->flags & VMDK_FLAG_RGD)
        && !e->compressed) {
      if (h->rgd_offset > e->file_size / VMDK_SECTOR) {
        vd_set_error (EINVAL,
                      _ ("%s: the redundant grain directory at sector %" PRIu64
                         " lies past the end of the file"),
                      e->path, h->rgd_offset);
        return -1;
      }
      e->rgd_off = h->rgd_offset * VMDK_SECTOR;
      if (read_dir (e, e->rgd_off, &e->rgd) == -1)
        return -1;
    }
    e->nr_slots = MIN (e->gd_entries, 1024u);
    e->slots = vd_calloc (e->nr_slots, sizeof *e->slots);
    if (!e->slots)
      return -1;
    for (n = 0; n < e->nr_slots; n++)
      e->slots[n].index = UINT32_MAX;
  }
  e->next_alloc = MAX (ROUND_UP (e->file_size, e->grain), e->data_start);
  return 0;
}

/* Parse TEXT as the image's descriptor. */
static int
parse_desc (vd_image *img, const char *text, size_t len)
{
  struct vmdk_priv *p = img->priv;

  if (vmdk_desc_parse (img->filename, text, len, &p->desc) == -1)
    return -1;
  p->has_desc = true;
  p->cid = p->desc.cid;
  p->parent_cid = p->desc.parent_cid;
  if (p->desc.parent_hint) {
    if (!(img->backing_name = vd_strdup (p->desc.parent_hint))
        || !(img->backing_format = vd_strdup ("vmdk")))
      return -1;
  }
  return 0;
}

/* The path of extent NAME as qemu shows it: beside the descriptor. */
static char *
extent_path (vd_image *img, const char *name, unsigned flags)
{
  CLEANUP_FREE char *checked = NULL;
  const char *slash = strrchr (img->filename, '/');
  char *path;

  /* Refuses absolute names and ".." escapes unless allowed. */
  checked =
      vd_resolve_name (img->filename, img->dir, name, _ ("extent"), flags);
  if (!checked)
    return NULL;
  if (name[0] == '/' || !slash)
    return vd_strdup (name);
  if (asprintf (&path, "%.*s%s", (int) (slash - img->filename + 1),
                img->filename, name)
      == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  return path;
}

static int
open_desc_extents (vd_image *img, unsigned flags)
{
  struct vmdk_priv *p = img->priv;
  const struct vmdk_desc *d = &p->desc;
  uint64_t start = 0;
  size_t i;

  if (!in_list (desc_create_types, d->create_type)) {
    vd_set_error (ENOTSUP,
                  _ ("%s: VMDK createType '%s' is not supported (supported: "
                     "monolithicSparse, streamOptimized, monolithicFlat, "
                     "twoGbMaxExtentSparse, twoGbMaxExtentFlat, vmfs, "
                     "vmfsThin)"),
                  img->filename, d->create_type);
    return -1;
  }
  if (d->nr_extents > 0 && strcmp (img->io->ops->name, "file") != 0) {
    vd_set_error (ENOTSUP,
                  _ ("%s: the extents of a VMDK descriptor can only be "
                     "opened beside a descriptor file"),
                  img->filename);
    return -1;
  }
  if (!(p->create_type = vd_strdup (d->create_type)))
    return -1;
  p->ext = vd_calloc (d->nr_extents, sizeof *p->ext);
  if (!p->ext)
    return -1;
  for (i = 0; i < d->nr_extents; i++) {
    const struct vmdk_desc_extent *x = &d->extents[i];
    struct vmdk_extent *e = &p->ext[i];

    p->nr_ext = i + 1;
    e->start = start;
    e->length = x->sectors * VMDK_SECTOR;
    start += e->length;
    if (!(e->type = vd_strdup (x->type_name)))
      return -1;
    if (x->access == VMDK_ACCESS_NOACCESS) {
      vd_set_error (EACCES, _ ("%s: extent %zu ('%s') is marked NOACCESS"),
                    img->filename, i + 1, x->filename ? x->filename : "");
      return -1;
    }
    if (x->access == VMDK_ACCESS_RDONLY) {
      e->rdonly = true;
      if (flags & VD_OPEN_RDWR) {
        vd_set_error (EROFS,
                      _ ("%s: extent %zu ('%s') is read-only (RDONLY); open "
                         "the image read-only"),
                      img->filename, i + 1, x->filename ? x->filename : "");
        return -1;
      }
    }
    switch (x->type) {
    case VMDK_EXT_ZERO:
      e->kind = VMDK_KIND_ZERO;
      if (!(e->path = vd_strdup ("")))
        return -1;
      continue;
    case VMDK_EXT_FLAT:
    case VMDK_EXT_VMFS: e->kind = VMDK_KIND_FLAT; break;
    case VMDK_EXT_SPARSE: e->kind = VMDK_KIND_SPARSE; break;
    case VMDK_EXT_VMFSSPARSE:
    case VMDK_EXT_SESPARSE:
    case VMDK_EXT_VMFSRDM:
    case VMDK_EXT_VMFSRAW:
      vd_set_error (ENOTSUP,
                    _ ("%s: extent %zu ('%s') has type %s, which is not "
                       "supported"),
                    img->filename, i + 1, x->filename, x->type_name);
      return -1;
    }
    if (!(e->path = extent_path (img, x->filename, flags)))
      return -1;
    e->io = vd_io_file_open (e->path, flags & (VD_OPEN_RDWR | VD_OPEN_NO_LOCK));
    if (!e->io) {
      vd_set_error (vd_errno (), _ ("%s: cannot open extent %zu: %s"),
                    img->filename, i + 1, vd_error ());
      return -1;
    }
    e->own_io = true;
    if (e->kind == VMDK_KIND_FLAT) {
      int64_t size = vd_io_size (e->io);
      uint64_t end;
      if (size < 0)
        return -1;
      if (vd_mul_overflow (x->offset, VMDK_SECTOR, &e->flat_offset)
          || vd_add_overflow (e->flat_offset, e->length, &end)
          || end > (uint64_t) size) {
        vd_set_error (
            EINVAL,
            _ ("%s: extent %zu ('%s') is %" PRId64
               " bytes, too short for the %" PRIu64 " bytes at sector %" PRIu64
               " the descriptor gives it"),
            img->filename, i + 1, x->filename, size, e->length, x->offset);
        return -1;
      }
      continue;
    }
    if (open_sparse (e, flags) == -1)
      return -1;
    if (e->h.capacity != x->sectors) {
      vd_set_error (EINVAL,
                    _ ("%s: extent %zu ('%s') holds %" PRIu64
                       " sectors, but the descriptor says %" PRIu64),
                    img->filename, i + 1, x->filename, e->h.capacity,
                    x->sectors);
      return -1;
    }
    if (e->compressed && (flags & VD_OPEN_RDWR)) {
      vd_set_error (EROFS,
                    _ ("%s: compressed extents of a descriptor file can only "
                       "be opened read-only"),
                    img->filename);
      return -1;
    }
  }
  return 0;
}

/* A monolithic sparse file (monolithicSparse, streamOptimized). */
static int
open_monolithic (vd_image *img, unsigned flags)
{
  struct vmdk_priv *p = img->priv;
  struct vmdk_extent *e;
  const struct vmdk_header *h;

  p->ext = vd_calloc (1, sizeof *p->ext);
  if (!p->ext)
    return -1;
  p->nr_ext = 1;
  e = &p->ext[0];
  e->kind = VMDK_KIND_SPARSE;
  e->io = img->io;
  if (!(e->path = vd_strdup (img->filename)) || !(e->type = vd_strdup ("")))
    return -1;
  if (open_sparse (e, flags) == -1)
    return -1;
  h = &e->h;
  p->cid = p->parent_cid = UINT32_MAX;
  if (h->desc_offset && h->desc_size) {
    CLEANUP_FREE char *text = NULL;
    uint64_t len;

    if (h->desc_size > VMDK_MAX_DESC / VMDK_SECTOR
        || h->desc_offset > e->file_size / VMDK_SECTOR
        || h->desc_offset + h->desc_size > e->file_size / VMDK_SECTOR) {
      vd_set_error (EINVAL,
                    _ ("%s: the descriptor at sector %" PRIu64 " (%" PRIu64
                       " sectors) lies past the end of the file or is too "
                       "large"),
                    img->filename, h->desc_offset, h->desc_size);
      return -1;
    }
    len = h->desc_size * VMDK_SECTOR;
    text = vd_malloc (len);
    if (!text
        || vd_io_pread (img->io, text, len, h->desc_offset * VMDK_SECTOR) == -1)
      return -1;
    if (parse_desc (img, text, len) == -1)
      return -1;
    p->desc_embedded = true;
    p->desc_off = h->desc_offset * VMDK_SECTOR;
    p->desc_room = len;
    if (h->capacity == 0 && in_list (desc_create_types, p->desc.create_type)) {
      /* A descriptor kept in a sparse header: its extents are files. */
      free_extent (e);
      free (p->ext);
      p->ext = NULL;
      p->nr_ext = 0;
      return open_desc_extents (img, flags);
    }
    if (p->desc.nr_extents > 0 && p->desc.total_sectors != h->capacity) {
      vd_set_error (EINVAL,
                    _ ("%s: the descriptor describes %" PRIu64
                       " sectors, but the header holds %" PRIu64),
                    img->filename, p->desc.total_sectors, h->capacity);
      return -1;
    }
  }
  /* As qemu: the type follows from the header, whatever the descriptor
   * says (files are renamed, descriptors copied). */
  if (!(p->create_type =
            vd_strdup (e->compressed ? "streamOptimized" : "monolithicSparse")))
    return -1;
  if ((flags & VD_OPEN_RDWR) && e->compressed
      && vmdk_stream_init (img, e) == -1)
    return -1;
  return 0;
}

static int
vmdk_open (vd_image *img, unsigned flags)
{
  struct vmdk_priv *p = img->priv;
  uint8_t magic[4] = { 0 };
  int64_t size = vd_io_size (img->io);
  uint64_t grain = 0;
  bool same = true;
  size_t i;
  int r;

  if (size < 0)
    return -1;
  if (size >= 4 && vd_io_pread (img->io, magic, 4, 0) == -1)
    return -1;
  if (memcmp (magic, "KDMV", 4) == 0)
    r = open_monolithic (img, flags);
  else if (memcmp (magic, "COWD", 4) == 0) {
    vd_set_error (ENOTSUP,
                  _ ("%s: VMDK3 sparse files (COWD, vmfsSparse) are not "
                     "supported"),
                  img->filename);
    r = -1;
  }
  else if ((uint64_t) size > VMDK_MAX_DESC) {
    vd_set_error (EINVAL,
                  _ ("%s: a VMDK descriptor file of %" PRId64
                     " bytes is larger than the limit of %" PRIu64),
                  img->filename, size, VMDK_MAX_DESC);
    r = -1;
  }
  else {
    CLEANUP_FREE char *text = vd_malloc (size);
    r = -1;
    if (text && vd_io_pread (img->io, text, size, 0) == 0
        && parse_desc (img, text, size) == 0)
      r = open_desc_extents (img, flags);
  }
  if (r == -1)
    goto fail;

  img->size = 0;
  for (i = 0; i < p->nr_ext; i++) {
    const struct vmdk_extent *e = &p->ext[i];
    img->size += e->length;
    if (e->kind == VMDK_KIND_SPARSE) {
      grain = MAX (grain, e->grain);
      if (e->grain != p->ext[0].grain || e->compressed != p->ext[0].compressed)
        same = false;
    }
    else if (p->ext[0].kind == VMDK_KIND_SPARSE)
      same = false;
  }
  /* As qemu: a cluster size when every extent is sparse alike. */
  if (p->nr_ext > 0 && p->ext[0].kind == VMDK_KIND_SPARSE && same)
    img->cluster_size = p->ext[0].grain;
  if (grain) {
    if (!(p->grain_buf = vd_malloc (grain)) || !(p->z_buf = vd_malloc (grain)))
      goto fail;
    p->grain_buf_size = grain;
  }
  return 0;

fail:
  vmdk_close (img);
  memset (p, 0, sizeof *p);
  free (img->backing_name);
  free (img->backing_format);
  img->backing_name = img->backing_format = NULL;
  return -1;
}

const struct vd_format_ops vd_format_vmdk = {
  .name = "vmdk",
  .priv_size = sizeof (struct vmdk_priv),
  .probe = vmdk_probe,
  .open = vmdk_open,
  .close = vmdk_close,
  .create = vmdk_create,
  .create_opts = vmdk_create_opts,
  .create_opt_defaults = vmdk_create_opt_defaults,
  .pread = vmdk_pread,
  .pwrite = vmdk_pwrite,
  .zero = vmdk_zero,
  .flush = vmdk_flush,
  .block_status = vmdk_block_status,
  .info = vmdk_info,
  .check = vmdk_check,
  .pwrite_compressed = vmdk_pwrite_compressed,
};
