/* The qcow2 format driver (qemu's docs/interop/qcow2.txt): header and
 * extension parsing with every field checked, open/close, and the driver
 * table's entry points, which take the image lock and call into
 * qcow2-cluster.c (mapping, reads, writes), qcow2-refcount.c
 * (allocation) and qcow2-cache.c (metadata write order).
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "qcow2.h"

static uint32_t
get32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return be32toh (v);
}
static uint64_t
get64 (const uint8_t *p)
{
  uint64_t v;
  memcpy (&v, p, 8);
  return be64toh (v);
}
static void
put32 (uint8_t *p, uint32_t v)
{
  v = htobe32 (v);
  memcpy (p, &v, 4);
}
static void
put64 (uint8_t *p, uint64_t v)
{
  v = htobe64 (v);
  memcpy (p, &v, 8);
}

/* ---- the header ------------------------------------------------------ */

static int bad (const char *name, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
bad (const char *name, const char *fmt, ...)
{
  va_list ap;
  char msg[512];

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  vd_set_error (EINVAL, "%s: %s", name, msg);
  return -1;
}

/* Is [off, off+len) inside the file and not on the header cluster? */
static bool
table_ok (uint64_t off, uint64_t len, uint64_t cluster_size, uint64_t file_size)
{
  return IS_ALIGNED (off, cluster_size) && off >= cluster_size
         && off <= file_size && len <= file_size - off;
}

int
qcow2_parse_header (const char *name, const uint8_t *buf, size_t len,
                    uint64_t file_size, struct qcow2_header *h)
{
  uint64_t cs, l2_entries, need, l1_bytes, rt_bytes;

  memset (h, 0, sizeof *h);
  if (len < QCOW2_V2_HEADER_LENGTH)
    return bad (name, _ ("the file is too short to hold a qcow2 header"));
  if (get32 (buf) != QCOW2_MAGIC)
    return bad (name, _ ("not a qcow2 image (no qcow2 magic)"));
  h->version = get32 (buf + 4);
  h->backing_offset = get64 (buf + 8);
  h->backing_size = get32 (buf + 16);
  h->cluster_bits = get32 (buf + 20);
  h->size = get64 (buf + 24);
  h->crypt_method = get32 (buf + 32);
  h->l1_size = get32 (buf + 36);
  h->l1_offset = get64 (buf + 40);
  h->rt_offset = get64 (buf + 48);
  h->rt_clusters = get32 (buf + 56);
  h->nb_snapshots = get32 (buf + 60);
  h->snapshots_offset = get64 (buf + 64);

  if (h->version != 2 && h->version != 3)
    return bad (name, _ ("qcow2 version %" PRIu32 " is not supported"),
                h->version);
  if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS
      || h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
    return bad (
        name,
        _ ("cluster size 2^%" PRIu32 " is not supported (512 bytes to 2 MiB)"),
        h->cluster_bits);
  cs = UINT64_C (1) << h->cluster_bits;
  if (h->version == 2) {
    h->refcount_order = 4;
    h->header_length = QCOW2_V2_HEADER_LENGTH;
  }
  else {
    if (len < QCOW2_V3_HEADER_LENGTH)
      return bad (name, _ ("the qcow2 v3 header is cut short"));
    h->incompat = get64 (buf + 72);
    h->compat = get64 (buf + 80);
    h->autoclear = get64 (buf + 88);
    h->refcount_order = get32 (buf + 96);
    h->header_length = get32 (buf + 100);
    if (h->header_length < QCOW2_V3_HEADER_LENGTH || h->header_length % 8 != 0
        || h->header_length > cs)
      return bad (name, _ ("bad header length %" PRIu32), h->header_length);
    if (h->header_length > len)
      return bad (name, _ ("the header (%" PRIu32 " bytes) is cut short"),
                  h->header_length);
    if (h->header_length > 104)
      h->compression_type = buf[104];
  }
  if (h->refcount_order > 6)
    return bad (name,
                _ ("refcount width 2^%" PRIu32
                   " bits is not supported (at most 64 bits)"),
                h->refcount_order);
  if (h->incompat & QCOW2_INCOMPAT_COMPRESSION) {
    if (h->header_length <= 104 || h->compression_type == 0)
      return bad (name, _ ("the compression type feature is set but no "
                           "compression type is recorded"));
  }
  else if (h->compression_type != 0)
    return bad (name,
                _ ("compression type %u is recorded without the "
                   "compression type feature bit"),
                h->compression_type);
  if (h->compression_type > QCOW2_COMPRESSION_ZSTD)
    return bad (name, _ ("unknown compression type %u"), h->compression_type);
  if ((h->incompat & QCOW2_INCOMPAT_EXTL2)
      && h->cluster_bits < QCOW2_EXT_L2_MIN_CLUSTER_BITS)
    return bad (name, _ ("extended L2 entries need clusters of at least "
                         "16 KiB"));
  if (h->crypt_method != 0)
    return bad (
        name,
        _ ("encrypted qcow2 images (method %" PRIu32 ") are not supported"),
        h->crypt_method);
  if (h->size > VD_MAX_IMAGE_SIZE)
    return bad (name, _ ("virtual size %" PRIu64 " is too large"), h->size);

  /* L1 table: big enough for the virtual size, not absurdly big, and
   * inside the file. */
  l2_entries = cs / ((h->incompat & QCOW2_INCOMPAT_EXTL2) ? 16 : 8);
  need = DIV_ROUND_UP (h->size, cs * l2_entries);
  l1_bytes = (uint64_t) h->l1_size * 8;
  if (l1_bytes > QCOW2_MAX_L1_BYTES)
    return bad (name,
                _ ("the L1 table has %" PRIu32
                   " entries, more than the limit of %" PRIu64),
                h->l1_size, QCOW2_MAX_L1_BYTES / 8);
  if (h->l1_size < need)
    return bad (name,
                _ ("the L1 table has %" PRIu32
                   " entries, too few for the virtual size %" PRIu64
                   " (needs %" PRIu64 ")"),
                h->l1_size, h->size, need);
  if (h->l1_size && !table_ok (h->l1_offset, l1_bytes, cs, file_size))
    return bad (name,
                _ ("the L1 table at offset 0x%" PRIx64
                   " is misaligned or lies outside the file"),
                h->l1_offset);

  rt_bytes = (uint64_t) h->rt_clusters * cs;
  if (h->rt_clusters == 0)
    return bad (name, _ ("the refcount table is empty"));
  if (rt_bytes > QCOW2_MAX_RT_BYTES)
    return bad (name,
                _ ("the refcount table has %" PRIu32
                   " clusters, more than the limit of %" PRIu64 " MiB"),
                h->rt_clusters, QCOW2_MAX_RT_BYTES >> 20);
  if (!table_ok (h->rt_offset, rt_bytes, cs, file_size))
    return bad (name,
                _ ("the refcount table at offset 0x%" PRIx64
                   " is misaligned or lies outside the file"),
                h->rt_offset);

  if (h->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
    return bad (name, _ ("too many snapshots (%" PRIu32 ")"), h->nb_snapshots);
  if (h->nb_snapshots && !table_ok (h->snapshots_offset, 1, cs, file_size))
    return bad (name,
                _ ("the snapshot table at offset 0x%" PRIx64
                   " is misaligned or lies outside the file"),
                h->snapshots_offset);

  if (h->backing_offset) {
    if (h->backing_size > QCOW2_MAX_BACKING_NAME)
      return bad (
          name,
          _ ("the backing file name is %" PRIu32 " bytes long (at most %d)"),
          h->backing_size, QCOW2_MAX_BACKING_NAME);
    if (h->backing_offset < h->header_length || h->backing_offset >= cs
        || h->backing_offset + h->backing_size > file_size)
      return bad (name,
                  _ ("the backing file name at offset 0x%" PRIx64
                     " lies outside the first cluster or the file"),
                  h->backing_offset);
  }
  return 0;
}

void
qcow2_encode_header (const struct qcow2_header *h, uint8_t *buf)
{
  put32 (buf, QCOW2_MAGIC);
  put32 (buf + 4, h->version);
  put64 (buf + 8, h->backing_offset);
  put32 (buf + 16, h->backing_size);
  put32 (buf + 20, h->cluster_bits);
  put64 (buf + 24, h->size);
  put32 (buf + 32, h->crypt_method);
  put32 (buf + 36, h->l1_size);
  put64 (buf + 40, h->l1_offset);
  put64 (buf + 48, h->rt_offset);
  put32 (buf + 56, h->rt_clusters);
  put32 (buf + 60, h->nb_snapshots);
  put64 (buf + 64, h->snapshots_offset);
  if (h->version >= 3) {
    put64 (buf + 72, h->incompat);
    put64 (buf + 80, h->compat);
    put64 (buf + 88, h->autoclear);
    put32 (buf + 96, h->refcount_order);
    put32 (buf + 100, h->header_length);
    if (h->header_length > 104)
      buf[104] = h->compression_type;
  }
}

int
qcow2_write_header (struct qcow2 *s)
{
  qcow2_encode_header (&s->h, s->hdr);
  return qcow2_pwrite (s, s->hdr, s->h.header_length, 0);
}

/* The name of a feature bit from the image's feature name table. */
static void
feature_name (const uint8_t *table, uint32_t len, int type, int bit, char *out,
              size_t outlen)
{
  uint32_t i;

  out[0] = 0;
  for (i = 0; table && i + 48 <= len; i += 48) {
    if (table[i] == type && table[i + 1] == bit) {
      size_t n = strnlen ((const char *) table + i + 2, 46);
      snprintf (out, outlen, " (%.*s)", (int) n, table + i + 2);
      return;
    }
  }
}

/* Header extensions in BUF[start, len). */
static int
parse_extensions (struct qcow2 *s, const uint8_t *buf, size_t start, size_t len,
                  const uint8_t **ftable, uint32_t *ftable_len)
{
  size_t p = start;
  bool seen_bitmaps = false;

  *ftable = NULL;
  *ftable_len = 0;
  while (p + 8 <= len) {
    uint32_t type = get32 (buf + p), elen = get32 (buf + p + 4);
    const uint8_t *d = buf + p + 8;

    if (type == QCOW2_EXT_END)
      break;
    if (elen > len - p - 8)
      return bad (s->name,
                  _ ("header extension 0x%08" PRIx32
                     " at offset %zu runs past the first cluster"),
                  type, p);
    switch (type) {
    case QCOW2_EXT_BACKING_FORMAT:
      if (elen > QCOW2_MAX_BACKING_FORMAT || memchr (d, 0, elen))
        return bad (s->name, _ ("bad backing format header extension"));
      free (s->backing_format);
      s->backing_format = vd_malloc (elen + 1);
      if (!s->backing_format)
        return -1;
      memcpy (s->backing_format, d, elen);
      s->backing_format[elen] = 0;
      break;
    case QCOW2_EXT_FEATURE_TABLE:
      *ftable = d;
      *ftable_len = elen;
      break;
    case QCOW2_EXT_BITMAPS: {
      uint32_t nb;
      uint64_t dsize, doff;

      if (seen_bitmaps || elen < 24)
        return bad (s->name, _ ("bad bitmaps header extension"));
      seen_bitmaps = true;
      nb = get32 (d);
      dsize = get64 (d + 8);
      doff = get64 (d + 16);
      if (nb == 0 || nb > QCOW2_MAX_BITMAPS || get32 (d + 4) != 0 || dsize == 0
          || dsize > QCOW2_MAX_BITMAP_DIR
          || !table_ok (doff, dsize, s->cluster_size, s->file_size))
        return bad (s->name,
                    _ ("bad bitmaps header extension (%" PRIu32
                       " bitmaps, directory of %" PRIu64 " bytes at 0x%" PRIx64
                       ")"),
                    nb, dsize, doff);
      /* Without the autoclear bit a program that does not know bitmaps
       * has written the image: they are stale and not shown. */
      if (s->h.autoclear & QCOW2_AUTOCLEAR_BITMAPS) {
        s->nb_bitmaps = nb;
        s->bm_dir_size = dsize;
        s->bm_dir_offset = doff;
      }
      break;
    }
    default: break; /* unknown extensions are kept as they are */
    }
    p += 8 + ROUND_UP ((uint64_t) elen, 8);
  }
  return 0;
}

static int
check_features (struct qcow2 *s, const uint8_t *ftable, uint32_t flen)
{
  uint64_t unknown = s->h.incompat & ~QCOW2_INCOMPAT_KNOWN;
  char fname[64];
  int bit;

  for (bit = 0; bit < 64; bit++) {
    if (!(unknown & (UINT64_C (1) << bit)))
      continue;
    feature_name (ftable, flen, 0, bit, fname, sizeof fname);
    if (bit == 2)
      return bad (s->name,
                  _ ("incompatible feature bit 2%s is set: external data "
                     "files are not supported"),
                  fname[0] ? fname : " (external data file)");
    return bad (s->name,
                _ ("incompatible feature bit %d%s is set: this qcow2 "
                   "feature is not supported"),
                bit, fname);
  }
  return 0;
}

void
qcow2_state_close (struct qcow2 *s)
{
  qcow2_cache_free (&s->l2c);
  qcow2_cache_free (&s->rcc);
  free (s->hdr);
  free (s->l1);
  free (s->rt);
  free (s->freeq);
  free (s->cbuf);
  free (s->dbuf);
  free (s->backing_name);
  free (s->backing_format);
  qcow2_decompress_free (s);
  qcow2_free_snapshots (s);
  if (s->lock_init)
    pthread_mutex_destroy (&s->lock);
  s->hdr = NULL;
  s->l1 = NULL;
  s->rt = NULL;
  s->freeq = NULL;
  s->cbuf = s->dbuf = NULL;
  s->backing_name = s->backing_format = NULL;
  s->lock_init = false;
}

int
qcow2_state_open (struct qcow2 *s, struct vd_io *io, const char *name,
                  bool readonly)
{
  uint8_t first[QCOW2_HEADER_LENGTH];
  int64_t fsize = vd_io_size (io);
  CLEANUP_FREE uint8_t *c0 = NULL;
  const uint8_t *ftable;
  uint32_t flen;
  uint64_t n, cs, i;
  size_t l2n, rcn;

  s->io = io;
  s->name = name;
  s->readonly = readonly;
  if (fsize < 0)
    return -1;
  s->file_size = fsize;
  /* The header may be as long as the first cluster: find the cluster
   * size, then parse the whole first cluster.  Without a usable cluster
   * size the parser says what is wrong with the start of the file. */
  n = MIN ((uint64_t) fsize, sizeof first);
  if (vd_io_pread (io, first, n, 0) == -1)
    return -1;
  if (n < QCOW2_V2_HEADER_LENGTH || get32 (first) != QCOW2_MAGIC
      || get32 (first + 20) < QCOW2_MIN_CLUSTER_BITS
      || get32 (first + 20) > QCOW2_MAX_CLUSTER_BITS) {
    if (qcow2_parse_header (name, first, n, fsize, &s->h) == 0)
      vd_set_error (EINVAL, _ ("%s: not a qcow2 image"), name);
    return -1;
  }
  cs = UINT64_C (1) << get32 (first + 20);
  n = MIN ((uint64_t) fsize, cs);
  c0 = vd_malloc (n);
  if (!c0 || vd_io_pread (io, c0, n, 0) == -1)
    return -1;
  if (qcow2_parse_header (name, c0, n, fsize, &s->h) == -1)
    return -1;

  s->cluster_bits = s->h.cluster_bits;
  s->cluster_size = (uint32_t) cs;
  s->ext_l2 = s->h.incompat & QCOW2_INCOMPAT_EXTL2;
  s->l2_entry_bytes = s->ext_l2 ? 16 : 8;
  s->l2_bits = s->cluster_bits - (s->ext_l2 ? 4 : 3);
  s->l2_entries = UINT32_C (1) << s->l2_bits;
  s->sc_bits = s->ext_l2 ? s->cluster_bits - 5 : s->cluster_bits;
  s->sc_size = UINT32_C (1) << s->sc_bits;
  s->refcount_order = s->h.refcount_order;
  s->refcount_bits = UINT32_C (1) << s->refcount_order;
  s->refcount_max = s->refcount_bits == 64
                        ? UINT64_MAX
                        : (UINT64_C (1) << s->refcount_bits) - 1;
  s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
  s->rb_entries = UINT32_C (1) << s->rb_bits;
  s->csize_shift = 62 - (s->cluster_bits - 8);
  s->csize_mask = (UINT64_C (1) << (s->cluster_bits - 8)) - 1;
  s->coffset_mask = (UINT64_C (1) << s->csize_shift) - 1;
  s->compression = s->h.compression_type;
  s->lazy = s->h.version >= 3 && (s->h.compat & QCOW2_COMPAT_LAZY_REFCOUNTS);

  s->hdr = vd_malloc (s->h.header_length);
  if (!s->hdr)
    return -1;
  memcpy (s->hdr, c0, s->h.header_length);
  if (parse_extensions (s, c0, s->h.header_length, n, &ftable, &flen) == -1
      || check_features (s, ftable, flen) == -1)
    return -1;

  if (s->h.backing_offset && s->h.backing_size) {
    s->backing_name = vd_malloc (s->h.backing_size + 1);
    if (!s->backing_name
        || vd_io_pread (io, s->backing_name, s->h.backing_size,
                        s->h.backing_offset)
               == -1)
      return -1;
    s->backing_name[s->h.backing_size] = 0;
    if (strlen (s->backing_name) != s->h.backing_size)
      return bad (name, _ ("the backing file name contains a NUL byte"));
  }

  s->l1_size = s->h.l1_size;
  s->l1_offset = s->h.l1_offset;
  s->l1 = vd_calloc (MAX (s->l1_size, 1), 8);
  if (!s->l1)
    return -1;
  if (s->l1_size
      && vd_io_pread (io, s->l1, (uint64_t) s->l1_size * 8, s->l1_offset) == -1)
    return -1;
  for (i = 0; i < s->l1_size; i++)
    s->l1[i] = be64toh (s->l1[i]);

  s->rt_offset = s->h.rt_offset;
  s->rt_clusters = s->h.rt_clusters;
  s->rt_size = (uint64_t) s->rt_clusters * cs / 8;
  s->rt = vd_malloc (s->rt_size * 8);
  if (!s->rt || vd_io_pread (io, s->rt, s->rt_size * 8, s->rt_offset) == -1)
    return -1;
  for (i = 0; i < s->rt_size; i++)
    s->rt[i] = be64toh (s->rt[i]);

  if (qcow2_read_snapshots (s) == -1)
    return -1;

  /* Caches: about 16 MiB of L2 tables (which maps 128 GiB with 64 KiB
   * clusters) and 4 MiB of refcount blocks, whatever the image size. */
  l2n = MIN (MAX ((UINT64_C (16) << 20) >> s->cluster_bits, 8), 512);
  rcn = MIN (MAX ((UINT64_C (4) << 20) >> s->cluster_bits, 4), 64);
  if (qcow2_cache_init (&s->l2c, "L2 table", s->cluster_size, l2n) == -1
      || qcow2_cache_init (&s->rcc, "refcount block", s->cluster_size, rcn)
             == -1)
    return -1;
  s->freeq = vd_calloc (s->l2_entries, sizeof *s->freeq);
  if (!s->freeq)
    return -1;
  if (pthread_mutex_init (&s->lock, NULL) != 0) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  s->lock_init = true;

  if (!readonly) {
    if (s->h.incompat & QCOW2_INCOMPAT_CORRUPT)
      return bad (name, _ ("the image is marked corrupt; it can only be "
                           "opened read-only (repair it with "
                           "'qemu-img check -r all')"));
    /* Not closed cleanly with lazy refcounts: the refcounts may be
     * wrong.  Rebuild them from the tables before writing, as qemu
     * does. */
    if ((s->h.incompat & QCOW2_INCOMPAT_DIRTY) && !s->for_check) {
      if (qcow2_repair_refcounts (s) == -1) {
        vd_set_error (vd_errno (),
                      _ ("%s: the image was not closed cleanly and its "
                         "refcounts cannot be repaired: %s"),
                      name, vd_error ());
        return -1;
      }
      s->h.incompat &= ~QCOW2_INCOMPAT_DIRTY;
      if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1)
        return -1;
    }
  }
  return 0;
}

int
qcow2_begin_write (struct qcow2 *s)
{
  bool changed = false;

  if (s->write_started)
    return 0;
  if (s->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), s->name);
    return -1;
  }
  /* Bitmaps (autoclear bit 0) are not kept up to date here: clear the
   * bits so no one trusts them, before the first change. */
  if (s->h.autoclear) {
    s->h.autoclear = 0;
    s->nb_bitmaps = 0;
    changed = true;
  }
  if (s->lazy && !(s->h.incompat & QCOW2_INCOMPAT_DIRTY)) {
    s->h.incompat |= QCOW2_INCOMPAT_DIRTY;
    s->marked_dirty = true;
    changed = true;
  }
  if (changed && (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1))
    return -1;
  s->write_started = true;
  return 0;
}

/* ---- the driver ------------------------------------------------------ */

static int
q2_probe (const uint8_t *buf, size_t len, struct vd_io *io)
{
  (void) io;
  /* The magic alone: a qcow2 image of an unknown version is refused by
   * open with a message, never read as raw. */
  if (len >= 4 && get32 (buf) == QCOW2_MAGIC)
    return 100;
  return 0;
}

static int
q2_open (vd_image *img, unsigned flags)
{
  struct qcow2 *s = img->priv;

  s->img = img;
  s->for_check = (flags & VD_OPEN_CHECK) != 0;
  if (qcow2_state_open (s, img->io, img->filename, img->readonly) == -1)
    goto fail;
  img->size = s->h.size;
  img->cluster_size = s->cluster_size;
  if (s->backing_name && !(img->backing_name = vd_strdup (s->backing_name)))
    goto fail;
  if (s->backing_format
      && !(img->backing_format = vd_strdup (s->backing_format)))
    goto fail;
  return 0;

fail:
  qcow2_state_close (s);
  return -1;
}

static void
q2_close (vd_image *img)
{
  struct qcow2 *s = img->priv;

  if (!s->readonly && s->hdr && s->lock_init) {
    /* Errors here cannot be reported (vd_close has flushed already). */
    if (qcow2_flush_all (s) == 0 && s->marked_dirty) {
      s->h.incompat &= ~QCOW2_INCOMPAT_DIRTY;
      if (qcow2_write_header (s) == 0)
        qcow2_io_sync (s);
    }
  }
  qcow2_state_close (s);
}

static int
q2_pread (vd_image *img, void *buf, size_t count, uint64_t offset)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_read (s, buf, count, offset);
  pthread_mutex_unlock (&s->lock);
  return r;
}

static int
q2_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_begin_write (s);
  if (r == 0)
    r = qcow2_write (s, buf, count, offset);
  pthread_mutex_unlock (&s->lock);
  return r;
}

/* Make [off, off+len) read as zeros, writing zeros only where it does
 * not already. */
static int
zero_bytes (struct qcow2 *s, uint64_t off, uint64_t len)
{
  static const uint8_t zeroes[1 << 20];
  vd_image *b = s->img ? s->img->backing : NULL;

  while (len > 0) {
    struct qcow2_map m;
    uint64_t n;

    if (qcow2_map (s, off, len, &m) == -1)
      return -1;
    n = MIN (m.len, sizeof zeroes);
    if (m.type == QCOW2_CT_ZERO
        || (m.type == QCOW2_CT_UNALLOC && (!b || off >= b->size)))
      n = m.len;
    else if (qcow2_write (s, zeroes, n, off) == -1)
      return -1;
    off += n;
    len -= n;
  }
  return 0;
}

static int
zero_range (struct qcow2 *s, uint64_t off, uint64_t count, bool unmap)
{
  uint64_t cs = s->cluster_size, end = off + count, a, b;
  uint64_t vsize = s->h.size;

  a = ROUND_UP (off, cs);
  b = end >= vsize ? ROUND_UP (end, cs) : ROUND_DOWN (end, cs);
  if (a >= b)
    return zero_bytes (s, off, count);
  if (off < a && zero_bytes (s, off, a - off) == -1)
    return -1;
  if (s->h.version >= 3) {
    if (qcow2_zero_clusters (s, a, b - a, false, unmap) == -1)
      return -1;
  }
  else if (unmap && !(s->img && s->img->backing)) {
    /* v2 has no zero flag; with nothing below, unallocated is zero. */
    if (qcow2_zero_clusters (s, a, b - a, true, true) == -1)
      return -1;
  }
  else if (zero_bytes (s, a, b - a) == -1)
    return -1;
  if (b < end && zero_bytes (s, b, end - b) == -1)
    return -1;
  return 0;
}

static int
q2_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_begin_write (s);
  if (r == 0)
    r = zero_range (s, offset, count, flags & VD_ZERO_MAY_UNMAP);
  pthread_mutex_unlock (&s->lock);
  return r;
}

static int
q2_discard (vd_image *img, uint64_t offset, uint64_t count)
{
  struct qcow2 *s = img->priv;
  uint64_t cs = s->cluster_size, end = offset + count, a, b;
  int r = 0;

  a = ROUND_UP (offset, cs);
  b = end >= img->size ? ROUND_UP (end, cs) : ROUND_DOWN (end, cs);
  if (a >= b)
    return 0; /* advisory: partial clusters are left alone */
  pthread_mutex_lock (&s->lock);
  r = qcow2_begin_write (s);
  if (r == 0)
    r = qcow2_zero_clusters (s, a, b - a, true, true);
  pthread_mutex_unlock (&s->lock);
  return r;
}

static int
q2_flush (vd_image *img)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_flush_all (s);
  pthread_mutex_unlock (&s->lock);
  return r;
}

static int
do_truncate (struct qcow2 *s, uint64_t size, unsigned flags)
{
  uint64_t old = s->h.size, cs = s->cluster_size, need, grow_end;
  uint64_t span = (uint64_t) cs * s->l2_entries;
  vd_image *b = s->img->backing;

  (void) flags;
  size = ROUND_UP (size, 512);
  if (size == old)
    return 0;
  if (size < old) {
    if (s->nb_snaps) {
      vd_set_error (ENOTSUP,
                    _ ("%s: cannot shrink an image that has internal "
                       "snapshots"),
                    s->name);
      return -1;
    }
    if (ROUND_UP (size, cs) < old
        && qcow2_zero_clusters (s, ROUND_UP (size, cs),
                                ROUND_UP (old, cs) - ROUND_UP (size, cs), true,
                                true)
               == -1)
      return -1;
  }
  need = DIV_ROUND_UP (size, span);
  if (need > UINT32_MAX || (need > s->l1_size && qcow2_grow_l1 (s, need) == -1))
    return -1;
  s->h.size = size;
  if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1)
    return -1;
  s->img->size = size;
  if (size > old) {
    /* The new area reads as zeros: clear what the last cluster holds
     * past the old end, and hide a larger backing file. */
    grow_end = MAX (ROUND_UP (old, cs), b ? b->size : 0);
    grow_end = MIN (grow_end, size);
    if (grow_end > old && zero_range (s, old, grow_end - old, true) == -1)
      return -1;
  }
  return 0;
}

static int
q2_truncate (vd_image *img, uint64_t size, unsigned flags)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_begin_write (s);
  if (r == 0)
    r = do_truncate (s, size, flags);
  pthread_mutex_unlock (&s->lock);
  return r;
}

/* Does the image look preallocated: clearly more clusters in use than the
 * file has allocated on the host?  (qemu's test, so that holes inside
 * data clusters are reported as zeros exactly when qemu reports them.) */
static int
detect_prealloc (struct qcow2 *s)
{
  int64_t len = vd_io_size (s->io), real = vd_io_allocated_size (s->io);
  uint64_t i, end, count = 0, threshold, real_clusters, rc;

  if (len < 0 || real < 0)
    return 0;
  real_clusters = (uint64_t) real / s->cluster_size;
  threshold = MAX (real_clusters * 10 / 9, real_clusters + 2);
  end = DIV_ROUND_UP ((uint64_t) len, s->cluster_size);
  for (i = 0; i < end && count < threshold; i++) {
    if (qcow2_get_refcount (s, i, &rc) == -1)
      return -1;
    count += rc != 0;
  }
  return count >= threshold;
}

static int
q2_block_status (vd_image *img, uint64_t offset, uint64_t length,
                 struct vd_extent *ext)
{
  struct qcow2 *s = img->priv;
  struct qcow2_map m;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_map (s, offset, length, &m);
  if (r == 0 && m.type == QCOW2_CT_DATA && !s->prealloc_checked) {
    r = detect_prealloc (s);
    if (r >= 0) {
      s->prealloc = r == 1;
      s->prealloc_checked = true;
      r = 0;
    }
  }
  pthread_mutex_unlock (&s->lock);
  if (r == -1)
    return -1;
  ext->length = m.len;
  switch (m.type) {
  case QCOW2_CT_UNALLOC: ext->flags = 0; break;
  case QCOW2_CT_ZERO:
    ext->flags = VD_EXT_ALLOCATED | VD_EXT_ZERO;
    if (m.host) {
      ext->flags |= VD_EXT_OFFSET_VALID;
      ext->host_offset = m.host;
      ext->host_file = img->filename;
    }
    break;
  case QCOW2_CT_DATA: {
    bool is_data;
    uint64_t len;

    ext->flags = VD_EXT_ALLOCATED | VD_EXT_DATA | VD_EXT_OFFSET_VALID;
    ext->host_offset = m.host;
    ext->host_file = img->filename;
    /* A preallocated cluster that is a hole in the file reads as zeros
     * (qemu reports it so too). */
    if (s->prealloc
        && vd_io_extent (s->io, m.host, m.len, &is_data, &len) == 0) {
      ext->length = len;
      if (!is_data)
        ext->flags |= VD_EXT_ZERO;
    }
    break;
  }
  case QCOW2_CT_COMPRESSED: ext->flags = VD_EXT_ALLOCATED | VD_EXT_DATA; break;
  }
  return 0;
}

/* A compressed write is one whole cluster, or the image's last partial
 * cluster. */
static int
check_compressed_range (vd_image *img, size_t count, uint64_t offset)
{
  struct qcow2 *s = img->priv;
  uint64_t cs = s->cluster_size;

  if (!IS_ALIGNED (offset, cs) || count > cs
      || (count < cs && offset + count != img->size)) {
    vd_set_error (EINVAL,
                  _ ("%s: a compressed write must be one whole cluster "
                     "(%" PRIu64 " bytes at offset %" PRIu64 ")"),
                  img->filename, (uint64_t) count, offset);
    return -1;
  }
  return 0;
}

/* As qemu: a cluster that does not shrink is stored as it is, so the
 * compressed form is at most one byte short of a cluster. */
static size_t
q2_compress_bound (vd_image *img, size_t count)
{
  struct qcow2 *s = img->priv;

  (void) count;
  return s->cluster_size - 1;
}

/* Thread-safe: reads only the compression type, fixed at open; the
 * compression contexts are per thread. */
static int
q2_compress (vd_image *img, const void *buf, size_t count, uint64_t offset,
             void *out, size_t *outlen)
{
  struct qcow2 *s = img->priv;
  uint64_t cs = s->cluster_size;
  CLEANUP_FREE uint8_t *pad = NULL;
  const uint8_t *in = buf;
  int64_t clen;

  if (check_compressed_range (img, count, offset) == -1)
    return -1;
  if (count < cs) {
    pad = vd_calloc (1, cs);
    if (!pad)
      return -1;
    memcpy (pad, buf, count);
    in = pad;
  }
  clen = qcow2_compress (s->compression, out, cs - 1, in, cs);
  if (clen == -1)
    return -1;
  *outlen = clen;
  return 0;
}

static int
q2_pwrite_precompressed (vd_image *img, const void *buf, size_t count,
                         uint64_t offset, const void *data, size_t len)
{
  struct qcow2 *s = img->priv;
  int r;

  if (check_compressed_range (img, count, offset) == -1)
    return -1;
  if (len >= s->cluster_size) {
    vd_set_error (EINVAL,
                  _ ("%s: a compressed cluster of %zu bytes does not fit "
                     "in a %" PRIu32 "-byte cluster"),
                  img->filename, len, s->cluster_size);
    return -1;
  }
  pthread_mutex_lock (&s->lock);
  r = qcow2_begin_write (s);
  if (r == 0) {
    if (len == 0)
      r = qcow2_write (s, buf, count, offset);
    else
      r = qcow2_write_compressed (s, offset, data, len);
  }
  pthread_mutex_unlock (&s->lock);
  return r;
}

/* Compress before taking the lock: callers may compress in parallel. */
static int
q2_pwrite_compressed (vd_image *img, const void *buf, size_t count,
                      uint64_t offset)
{
  struct qcow2 *s = img->priv;
  CLEANUP_FREE uint8_t *out = NULL;
  size_t clen = 0;

  out = vd_malloc (s->cluster_size);
  if (!out || q2_compress (img, buf, count, offset, out, &clen) == -1)
    return -1;
  return q2_pwrite_precompressed (img, buf, count, offset, out, clen);
}

/* ---- info ------------------------------------------------------------ */

static int
add_bitmaps (struct qcow2 *s, struct vd_value *data)
{
  CLEANUP_FREE uint8_t *dir = NULL;
  struct vd_value *list;
  uint64_t pos = 0, len = s->bm_dir_size;
  uint32_t i;

  dir = vd_malloc (len);
  if (!dir || vd_io_pread (s->io, dir, len, s->bm_dir_offset) == -1)
    return -1;
  list = vd_value_add_list (data, "bitmaps");
  if (!list)
    return -1;
  for (i = 0; i < s->nb_bitmaps; i++) {
    const uint8_t *e = dir + pos;
    uint32_t flags, extra;
    uint16_t name_len;
    uint8_t gran;
    uint64_t elen;
    struct vd_value *bm, *fl;
    char *name;

    if (len - pos < 24)
      goto bad_dir;
    flags = get32 (e + 12);
    gran = e[17];
    memcpy (&name_len, e + 18, 2);
    name_len = be16toh (name_len);
    extra = get32 (e + 20);
    elen = ROUND_UP (24 + (uint64_t) extra + name_len, 8);
    if (elen > len - pos || gran > 63)
      goto bad_dir;
    name = vd_malloc (name_len + 1);
    if (!name)
      return -1;
    memcpy (name, e + 24 + extra, name_len);
    name[name_len] = 0;
    bm = vd_value_add_dict (list, NULL);
    if (!bm || !vd_value_add_str (bm, "name", name)
        || !vd_value_add_int (bm, "granularity", INT64_C (1) << gran)
        || !(fl = vd_value_add_list (bm, "flags"))) {
      free (name);
      return -1;
    }
    free (name);
    if ((flags & 1) && !vd_value_add_str (fl, NULL, "in-use"))
      return -1;
    if ((flags & 2) && !vd_value_add_str (fl, NULL, "auto"))
      return -1;
    pos += elen;
  }
  return 0;

bad_dir:
  vd_set_error (EIO, _ ("%s: the bitmap directory at 0x%" PRIx64 " is corrupt"),
                s->name, s->bm_dir_offset);
  return -1;
}

static int
q2_info (vd_image *img, struct vd_info *info)
{
  struct qcow2 *s = img->priv;
  struct vd_value *fs, *data;
  bool v3 = s->h.version >= 3;
  uint32_t i;

  info->has_dirty_flag = true;
  info->dirty_flag = s->h.incompat & QCOW2_INCOMPAT_DIRTY;
  fs = vd_value_new_dict ();
  if (!fs)
    return -1;
  info->format_specific = fs;
  /* Members in the order of qemu's ImageInfoSpecificQCow2 (the tools
   * order them as qemu's dictionaries do). */
  if (!vd_value_add_str (fs, "type", "qcow2")
      || !(data = vd_value_add_dict (fs, "data"))
      || !vd_value_add_str (data, "compat", v3 ? "1.1" : "0.10"))
    return -1;
  if (v3
      && (!vd_value_add_bool (data, "extended-l2", s->ext_l2)
          || !vd_value_add_bool (data, "lazy-refcounts",
                                 s->h.compat & QCOW2_COMPAT_LAZY_REFCOUNTS)
          || !vd_value_add_bool (data, "corrupt",
                                 s->h.incompat & QCOW2_INCOMPAT_CORRUPT)))
    return -1;
  if (!vd_value_add_int (data, "refcount-bits", s->refcount_bits))
    return -1;
  if (s->nb_bitmaps && add_bitmaps (s, data) == -1)
    return -1;
  if (!vd_value_add_str (data, "compression-type",
                         s->compression == QCOW2_COMPRESSION_ZSTD ? "zstd"
                                                                  : "zlib"))
    return -1;

  if (s->nb_snaps) {
    info->snapshots = vd_calloc (s->nb_snaps, sizeof *info->snapshots);
    if (!info->snapshots)
      return -1;
    for (i = 0; i < s->nb_snaps; i++) {
      struct vd_snapshot_info *o = &info->snapshots[i];
      const struct qcow2_snapshot *sn = &s->snaps[i];

      info->nr_snapshots = i + 1;
      if (!(o->id = vd_strdup (sn->id)) || !(o->name = vd_strdup (sn->name)))
        return -1;
      o->vm_state_size = sn->vm_state_size;
      o->date_sec = sn->date_sec;
      o->date_nsec = sn->date_nsec;
      o->vm_clock_nsec = sn->vm_clock_nsec;
      o->icount = sn->icount;
    }
  }
  return 0;
}

const struct vd_format_ops vd_format_qcow2 = {
  .name = "qcow2",
  .priv_size = sizeof (struct qcow2),
  .probe = q2_probe,
  .open = q2_open,
  .close = q2_close,
  .create = qcow2_create,
  .create_opts = qcow2_create_opts,
  .create_opt_defaults = qcow2_create_defaults,
  .pread = q2_pread,
  .pwrite = q2_pwrite,
  .zero = q2_zero,
  .discard = q2_discard,
  .flush = q2_flush,
  .truncate = q2_truncate,
  .block_status = q2_block_status,
  .info = q2_info,
  .pwrite_compressed = q2_pwrite_compressed,
  .compress_bound = q2_compress_bound,
  .compress = q2_compress,
  .pwrite_precompressed = q2_pwrite_precompressed,
  .check = qcow2_check,
  .snapshot_create = qcow2_snapshot_create,
  .snapshot_apply = qcow2_snapshot_apply,
  .snapshot_delete = qcow2_snapshot_delete,
  .amend = qcow2_amend,
  .set_backing = qcow2_set_backing,
  .make_empty = qcow2_make_empty,
};
