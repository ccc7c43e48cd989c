/* qcow2: changing an existing image (vd-img amend, rebase, commit): the
 * backing file name and format, compat 0.10 <-> 1.1, lazy refcounts and
 * the refcount width.  New structures are written and synced before the
 * header that points to them, so a crash leaves the old image or the
 * new one, never a mix.  After each change the driver state is read
 * again from the file.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

static uint32_t
rd32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return be32toh (v);
}
static void
wr32 (uint8_t *p, uint32_t v)
{
  v = htobe32 (v);
  memcpy (p, &v, 4);
}
static void
wr64 (uint8_t *p, uint64_t v)
{
  v = htobe64 (v);
  memcpy (p, &v, 8);
}

/* Read the state again from the file (after the header changed). */
static int
reload (struct qcow2 *s)
{
  struct vd_io *io = s->io;
  const char *name = s->name;
  vd_image *img = s->img;
  bool ro = s->readonly;

  qcow2_state_close (s);
  memset (s, 0, sizeof *s);
  s->img = img;
  if (qcow2_state_open (s, io, name, ro) == -1) {
    qcow2_state_close (s);
    memset (s, 0, sizeof *s);
    return -1;
  }
  return 0;
}

/* Rewrite the first cluster: the fixed header from NH (whose
 * header_length may differ from the file's), the header extensions the
 * file has (the backing format one replaced by BFMT, the bitmaps one
 * dropped if DROP_BITMAPS), then the backing file name BNAME.  One write
 * of the whole cluster, then a sync. */
static int
rewrite_first_cluster (struct qcow2 *s, struct qcow2_header *nh,
                       const char *bname, const char *bfmt, bool drop_bitmaps)
{
  uint64_t cs = s->cluster_size, in = s->h.header_length, out = 0;
  CLEANUP_FREE uint8_t *old = NULL, *buf = NULL;
  size_t nlen = bname ? strlen (bname) : 0, flen = bfmt ? strlen (bfmt) : 0;
  int64_t fsize = vd_io_size (s->io);

  if (fsize < 0)
    return -1;
  if (nlen > QCOW2_MAX_BACKING_NAME || flen > QCOW2_MAX_BACKING_FORMAT) {
    vd_set_error (EINVAL, _ ("%s: the backing file name or format is too long"),
                  s->name);
    return -1;
  }
  old = vd_calloc (1, cs);
  buf = vd_calloc (1, cs);
  if (!old || !buf
      || vd_io_pread (s->io, old, MIN (cs, (uint64_t) fsize), 0) == -1)
    return -1;
  out = nh->header_length;
  if (out > cs)
    goto nospace;
  if (bfmt && *bfmt) {
    if (out + 8 + ROUND_UP (flen, 8) > cs)
      goto nospace;
    wr32 (buf + out, QCOW2_EXT_BACKING_FORMAT);
    wr32 (buf + out + 4, flen);
    memcpy (buf + out + 8, bfmt, flen);
    out += 8 + ROUND_UP (flen, 8);
  }
  /* The extensions as they are (open has checked them). */
  while (in + 8 <= cs) {
    uint32_t type = rd32 (old + in), elen = rd32 (old + in + 4);
    uint64_t total = 8 + ROUND_UP ((uint64_t) elen, 8);

    if (type == QCOW2_EXT_END || total > cs - in)
      break;
    if (type != QCOW2_EXT_BACKING_FORMAT
        && !(drop_bitmaps && type == QCOW2_EXT_BITMAPS)) {
      if (out + total > cs)
        goto nospace;
      memcpy (buf + out, old + in, total);
      out += total;
    }
    in += total;
  }
  if (out + 8 + nlen > cs)
    goto nospace;
  out += 8; /* the end marker: zeros */
  nh->backing_offset = nlen ? out : 0;
  nh->backing_size = nlen;
  memcpy (buf + out, bname ? bname : "", nlen);
  /* Bytes of the fixed header we do not know (past the known fields of
   * a longer v3 header) are kept. */
  if (nh->header_length > 104 && s->h.header_length > 104)
    memcpy (buf + 104, s->hdr + 104,
            MIN (nh->header_length, s->h.header_length) - 104);
  qcow2_encode_header (nh, buf);
  if (qcow2_io_sync (s) == -1 || qcow2_pwrite (s, buf, cs, 0) == -1)
    return -1;
  s->unsynced = true;
  return qcow2_io_sync (s);

nospace:
  vd_set_error (ENOSPC,
                _ ("%s: the header, its extensions and the backing file "
                   "name do not fit in the first cluster"),
                s->name);
  return -1;
}

static int
q2_set_backing_locked (struct qcow2 *s, const char *name, const char *format)
{
  struct qcow2_header nh = s->h;

  if (qcow2_flush_all (s) == -1
      || rewrite_first_cluster (s, &nh, name, name ? format : NULL, false)
             == -1)
    return -1;
  return reload (s);
}

int
qcow2_set_backing (vd_image *img, const char *name, const char *format)
{
  struct qcow2 *s = img->priv;

  if (s->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), s->name);
    return -1;
  }
  return q2_set_backing_locked (s, name, format);
}

/* ---- emptying ------------------------------------------------------- */

static bool
entry_has_host (uint64_t e)
{
  return (e & QCOW2_OFLAG_COMPRESSED) || (e & QCOW2_OFFSET_MASK);
}

/* Make L2 entries unallocated (0), freeing their host clusters: all of
 * them, or with ONLY_ZERO the zero clusters only.  Not with internal
 * snapshots (their tables may be shared). */
static int
clear_entries (struct qcow2 *s, bool only_zero)
{
  CLEANUP_FREE uint64_t *freed = NULL;
  uint64_t i1;

  if (s->nb_snaps) {
    vd_set_error (ENOTSUP,
                  _ ("%s: cannot empty an image that has internal snapshots"),
                  s->name);
    return -1;
  }
  freed = vd_malloc ((size_t) s->l2_entries * sizeof *freed);
  if (!freed)
    return -1;
  for (i1 = 0; i1 < s->l1_size; i1++) {
    uint64_t l2off, nf = 0, k;
    uint32_t c;
    uint8_t *t;
    bool changed = false;

    if (qcow2_l2_offset (s, i1, &l2off) == -1)
      return -1;
    if (!l2off)
      continue;
    if (qcow2_cache_get (s, &s->l2c, l2off, true, &t) == -1)
      return -1;
    for (c = 0; c < s->l2_entries; c++) {
      uint64_t e = qcow2_l2e_get (s, t, c), bm = qcow2_l2bm_get (s, t, c);
      bool zero = s->ext_l2 ? (bm & QCOW2_BITMAP_ALL_ZERO) != 0
                            : (e & QCOW2_OFLAG_ZERO) != 0;

      if (e == 0 && bm == 0)
        continue;
      if (only_zero && (!zero || (e & QCOW2_OFLAG_COMPRESSED)))
        continue;
      if (entry_has_host (e))
        freed[nf++] = e;
      qcow2_l2e_set (s, t, c, 0, 0);
      changed = true;
    }
    if (changed)
      qcow2_cache_dirty (&s->l2c, t);
    qcow2_cache_put (&s->l2c, t);
    if (nf && qcow2_before_decref (s) == -1)
      return -1;
    for (k = 0; k < nf; k++)
      if (qcow2_free_entry (s, freed[k], true) == -1)
        return -1;
  }
  return qcow2_flush_all (s);
}

int
qcow2_make_empty (vd_image *img)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = qcow2_begin_write (s);
  if (r == 0)
    r = clear_entries (s, false);
  pthread_mutex_unlock (&s->lock);
  return r;
}

/* ---- compat 1.1 -> 0.10 ------------------------------------------------ */

/* Version 2 has no zero clusters: without a backing file a zero cluster
 * becomes unallocated (reads as zeros), with one it becomes a data
 * cluster of zeros. */
static int
expand_zero_clusters (struct qcow2 *s)
{
  uint64_t off = 0, size = s->h.size;
  CLEANUP_FREE uint8_t *zeros = NULL;

  if (qcow2_begin_write (s) == -1)
    return -1;
  if (!s->backing_name)
    return clear_entries (s, true);
  zeros = vd_calloc (1, s->cluster_size);
  if (!zeros)
    return -1;
  while (off < size) {
    struct qcow2_map m;
    uint64_t len;

    if (qcow2_map (s, off, size - off, &m) == -1)
      return -1;
    len = MIN (m.len, size - off);
    if (m.type == QCOW2_CT_ZERO) {
      uint64_t done = 0;
      while (done < len) {
        uint64_t n = MIN (len - done, s->cluster_size);
        if (qcow2_write (s, zeros, n, off + done) == -1)
          return -1;
        done += n;
      }
    }
    off += len;
  }
  return qcow2_flush_all (s);
}

static int
downgrade (struct qcow2 *s)
{
  struct qcow2_header nh = s->h;

  if (s->h.incompat & ~QCOW2_INCOMPAT_DIRTY) {
    vd_set_error (ENOTSUP,
                  _ ("%s: Cannot downgrade an image with incompatible "
                     "features 0x%" PRIx64 " set"),
                  s->name, s->h.incompat & ~QCOW2_INCOMPAT_DIRTY);
    return -1;
  }
  if (s->refcount_order != 4) {
    vd_set_error (ENOTSUP, _ ("%s: compat=0.10 requires refcount_bits=16"),
                  s->name);
    return -1;
  }
  if (s->nb_snaps) {
    vd_set_error (ENOTSUP,
                  _ ("%s: cannot downgrade an image that has internal "
                     "snapshots"),
                  s->name);
    return -1;
  }
  if (expand_zero_clusters (s) == -1)
    return -1;
  nh.version = 2;
  nh.header_length = QCOW2_V2_HEADER_LENGTH;
  nh.incompat = nh.compat = nh.autoclear = 0;
  nh.refcount_order = 4;
  nh.compression_type = 0;
  if (rewrite_first_cluster (s, &nh, s->backing_name, s->backing_format, true)
      == -1)
    return -1;
  s->marked_dirty = false;
  return reload (s);
}

static int
upgrade (struct qcow2 *s)
{
  struct qcow2_header nh = s->h;

  if (qcow2_flush_all (s) == -1)
    return -1;
  nh.version = 3;
  nh.header_length = QCOW2_HEADER_LENGTH;
  nh.incompat = nh.compat = nh.autoclear = 0;
  nh.refcount_order = 4;
  nh.compression_type = 0;
  if (rewrite_first_cluster (s, &nh, s->backing_name, s->backing_format, false)
      == -1)
    return -1;
  return reload (s);
}

/* ---- refcount width ---------------------------------------------------- */

/* Build a new refcount table and blocks of width 2^ORDER past the end of
 * everything in use, write and sync them, then point the header at
 * them.  The old refcount structures become free space. */
static int
change_refcount_order (struct qcow2 *s, uint32_t order)
{
  uint64_t cs = s->cluster_size, n, i, start, blocks = 0, table = 0, last, t;
  uint64_t per_block = cs * 8 >> order, per_table = cs / 8;
  uint64_t max = order == 6 ? UINT64_MAX : (UINT64_C (1) << (1u << order)) - 1;
  CLEANUP_FREE uint32_t *map = NULL;
  CLEANUP_FREE uint8_t *blk = NULL, *tab = NULL;
  struct qcow2_header nh;

  if (qcow2_flush_all (s) == -1 || qcow2_count_refs (s, false, &map, &n) == -1)
    return -1;
  for (i = 0; i < n; i++)
    if (map[i] > max) {
      vd_set_error (ENOTSUP,
                    _ ("%s: Cannot decrease refcount entry width to %u bits: "
                       "Cluster at offset 0x%" PRIx64
                       " has a refcount of %" PRIu32),
                    s->name, 1u << order, i * cs, map[i]);
      return -1;
    }
  /* Fixed point: blocks and table count themselves too. */
  t = 0;
  do {
    last = t;
    blocks = DIV_ROUND_UP (n + table + blocks, per_block);
    table = DIV_ROUND_UP (blocks, per_table);
    t = n + blocks + table;
  } while (t != last);
  if (table * cs > QCOW2_MAX_RT_BYTES) {
    vd_set_error (EFBIG, _ ("%s: the new refcount table would be too large"),
                  s->name);
    return -1;
  }
  start = n; /* table clusters, then the blocks */
  blk = vd_malloc (cs);
  tab = vd_calloc (table, cs);
  if (!blk || !tab)
    return -1;
  for (i = 0; i < blocks; i++) {
    uint64_t c, first = i * per_block;

    memset (blk, 0, cs);
    for (c = first; c < first + per_block && c < t; c++)
      qcow2_rc_set_entry (blk, order, c - first, c < n ? map[c] : 1);
    if (qcow2_pwrite (s, blk, cs, (start + table + i) * cs) == -1)
      return -1;
    wr64 (tab + i * 8, (start + table + i) * cs);
  }
  if (qcow2_pwrite (s, tab, table * cs, start * cs) == -1
      || qcow2_io_sync (s) == -1)
    return -1;
  nh = s->h;
  nh.refcount_order = order;
  nh.rt_offset = start * cs;
  nh.rt_clusters = table;
  /* Only the fixed header changes: the extensions stay where they are. */
  qcow2_encode_header (&nh, s->hdr);
  if (qcow2_pwrite (s, s->hdr, nh.header_length, 0) == -1)
    return -1;
  s->unsynced = true;
  if (qcow2_io_sync (s) == -1)
    return -1;
  s->h = nh;
  return reload (s);
}

/* ---- amend ----------------------------------------------------------- */

int
qcow2_amend (vd_image *img, struct vd_opts *opts)
{
  struct qcow2 *s = img->priv;
  const char *compat = vd_opts_get (opts, "compat");
  const char *bfile = vd_opts_get (opts, "backing_file");
  const char *bfmt = vd_opts_get (opts, "backing_fmt");
  uint32_t version = s->h.version;
  uint64_t rb = s->refcount_bits, size = s->h.size;
  bool lazy = s->h.version >= 3 && (s->h.compat & QCOW2_COMPAT_LAZY_REFCOUNTS);
  uint32_t order = 0;
  size_t i;

  if (s->readonly) {
    vd_set_error (EROFS, _ ("%s: the image is open read-only"), s->name);
    return -1;
  }
  if (compat) {
    if (strcmp (compat, "0.10") == 0 || strcmp (compat, "v2") == 0)
      version = 2;
    else if (strcmp (compat, "1.1") == 0 || strcmp (compat, "v3") == 0)
      version = 3;
    else {
      vd_set_error (EINVAL, _ ("Unknown compatibility level %s"), compat);
      return -1;
    }
  }
  if (vd_opts_get_uint (opts, "refcount_bits", &rb) == -1
      || vd_opts_get_bool (opts, "lazy_refcounts", &lazy) == -1
      || vd_opts_get_size (opts, "size", &size) == -1)
    return -1;
  if (rb == 0 || rb > 64 || (rb & (rb - 1))) {
    vd_set_error (EINVAL, _ ("Refcount width must be a power of two and may "
                             "not exceed 64 bits"));
    return -1;
  }
  while ((UINT64_C (1) << order) < rb)
    order++;
  if (version < 3 && rb != 16 && vd_opts_get (opts, "refcount_bits")) {
    vd_set_error (EINVAL, _ ("Refcount widths other than 16 bits require "
                             "compatibility level 1.1 or above (use compat=1.1 "
                             "or greater)"));
    return -1;
  }
  if (version < 3 && lazy
      && lazy
             != (s->h.version >= 3
                 && (s->h.compat & QCOW2_COMPAT_LAZY_REFCOUNTS))) {
    vd_set_error (EINVAL, _ ("Lazy refcounts only supported with "
                             "compatibility level 1.1 and above (use "
                             "compat=1.1 or greater)"));
    return -1;
  }
  for (i = 0; i < opts->n; i++)
    if (!opts->v[i].used) {
      vd_set_error (EINVAL,
                    _ ("Invalid parameter '%s'\nThis option is only "
                       "supported for image creation"),
                    opts->v[i].key);
      return -1;
    }
  if (size != s->h.size) {
    vd_set_error (ENOTSUP,
                  _ ("%s: changing the size with amend is not supported "
                     "(use resize)"),
                  s->name);
    return -1;
  }

  if (version > s->h.version && upgrade (s) == -1)
    return -1;
  if (bfile || bfmt) {
    const char *n = bfile ? bfile : s->backing_name;
    const char *f = bfmt ? bfmt : s->backing_format;
    if (q2_set_backing_locked (s, n && *n ? n : NULL, f) == -1)
      return -1;
  }
  if (s->h.version >= 3 && version >= 3
      && lazy != ((s->h.compat & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0)) {
    struct qcow2_header nh;

    if (qcow2_flush_all (s) == -1)
      return -1;
    nh = s->h;
    if (lazy)
      nh.compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    else {
      nh.compat &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
      nh.incompat &= ~QCOW2_INCOMPAT_DIRTY;
    }
    qcow2_encode_header (&nh, s->hdr);
    if (qcow2_pwrite (s, s->hdr, nh.header_length, 0) == -1)
      return -1;
    s->unsynced = true;
    s->marked_dirty = false;
    if (qcow2_io_sync (s) == -1 || reload (s) == -1)
      return -1;
  }
  if (order != s->refcount_order && change_refcount_order (s, order) == -1)
    return -1;
  if (version < s->h.version && downgrade (s) == -1)
    return -1;
  return 0;
}
