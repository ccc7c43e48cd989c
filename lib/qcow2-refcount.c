/* qcow2: reference counts and cluster allocation.  The refcount table is
 * kept in memory; refcount blocks go through the table cache.  A missing
 * refcount block is created at the first free cluster, which is the first
 * cluster it describes when the file grows into its range (as qemu
 * does); the table grows by moving to new clusters when a block index no
 * longer fits.  Entries are 1 to 64 bits wide (refcount_order 0..6).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "qcow2.h"

/* ---- entry arithmetic ------------------------------------------------ */

uint64_t
qcow2_rc_get_entry (const uint8_t *b, uint32_t order, uint64_t i)
{
  switch (order) {
  case 0:
  case 1:
  case 2: {
    /* Sub-byte widths: entry 0 in the least significant bits. */
    unsigned bits = 1u << order, per_byte = 8u >> order;
    unsigned shift = (unsigned) (i % per_byte) * bits;
    return (b[i / per_byte] >> shift) & ((1u << bits) - 1);
  }
  case 3: return b[i];
  case 4: {
    uint16_t v;
    memcpy (&v, b + i * 2, 2);
    return be16toh (v);
  }
  case 5: {
    uint32_t v;
    memcpy (&v, b + i * 4, 4);
    return be32toh (v);
  }
  default: {
    uint64_t v;
    memcpy (&v, b + i * 8, 8);
    return be64toh (v);
  }
  }
}

void
qcow2_rc_set_entry (uint8_t *b, uint32_t order, uint64_t i, uint64_t value)
{
  switch (order) {
  case 0:
  case 1:
  case 2: {
    unsigned bits = 1u << order, per_byte = 8u >> order;
    unsigned shift = (unsigned) (i % per_byte) * bits;
    unsigned mask = ((1u << bits) - 1) << shift;
    b[i / per_byte] =
        (uint8_t) ((b[i / per_byte] & ~mask) | ((value << shift) & mask));
    break;
  }
  case 3: b[i] = (uint8_t) value; break;
  case 4: {
    uint16_t v = htobe16 ((uint16_t) value);
    memcpy (b + i * 2, &v, 2);
    break;
  }
  case 5: {
    uint32_t v = htobe32 ((uint32_t) value);
    memcpy (b + i * 4, &v, 4);
    break;
  }
  default: {
    uint64_t v = htobe64 (value);
    memcpy (b + i * 8, &v, 8);
    break;
  }
  }
}

void
qcow2_compressed_range (const struct qcow2 *s, uint64_t desc, uint64_t *off,
                        uint64_t *len)
{
  uint64_t nb = ((desc >> s->csize_shift) & s->csize_mask) + 1;

  *off = desc & s->coffset_mask;
  *len = nb * 512 - (*off & 511);
}

/* ---- the table ------------------------------------------------------- */

static void
rt_mark_dirty (struct qcow2 *s, uint64_t b)
{
  if (s->rt_dirty_lo >= s->rt_dirty_hi) {
    s->rt_dirty_lo = b;
    s->rt_dirty_hi = b + 1;
  }
  else {
    s->rt_dirty_lo = MIN (s->rt_dirty_lo, b);
    s->rt_dirty_hi = MAX (s->rt_dirty_hi, b + 1);
  }
}

/* The checked offset of refcount block B, or 0 if there is none. */
static int
rt_block (struct qcow2 *s, uint64_t b, uint64_t *off)
{
  uint64_t e;

  *off = 0;
  if (b >= s->rt_size)
    return 0;
  e = s->rt[b] & QCOW2_RT_OFFSET_MASK;
  if (e == 0)
    return 0;
  if (!IS_ALIGNED (e, s->cluster_size)) {
    vd_set_error (EIO,
                  _ ("%s: refcount block %" PRIu64 " at offset 0x%" PRIx64
                     " is not aligned to a cluster"),
                  s->name, b, e);
    return -1;
  }
  if (e > s->file_size || s->file_size - e < s->cluster_size) {
    vd_set_error (EIO,
                  _ ("%s: refcount block %" PRIu64 " at offset 0x%" PRIx64
                     " lies past the end of the file"),
                  s->name, b, e);
    return -1;
  }
  *off = e;
  return 0;
}

int
qcow2_write_rt_dirty (struct qcow2 *s)
{
  uint64_t lo = s->rt_dirty_lo, hi = s->rt_dirty_hi, i;
  CLEANUP_FREE uint64_t *buf = NULL;

  if (s->rt_growing || lo >= hi)
    return 0; /* a growing table is written whole when it moves */
  /* Only the entries the table on disk has room for. */
  hi = MIN (hi, (uint64_t) s->rt_clusters * s->cluster_size / 8);
  if (lo >= hi) {
    s->rt_dirty_lo = s->rt_dirty_hi = 0;
    return 0;
  }
  buf = vd_malloc ((hi - lo) * 8);
  if (!buf)
    return -1;
  for (i = lo; i < hi; i++)
    buf[i - lo] = htobe64 (s->rt[i]);
  if (qcow2_pwrite (s, buf, (hi - lo) * 8, s->rt_offset + lo * 8) == -1)
    return -1;
  s->rt_dirty_lo = s->rt_dirty_hi = 0;
  return 0;
}

int
qcow2_get_refcount (struct qcow2 *s, uint64_t cluster, uint64_t *rc)
{
  uint64_t off;
  uint8_t *t;

  if (rt_block (s, cluster >> s->rb_bits, &off) == -1)
    return -1;
  if (!off) {
    *rc = 0;
    return 0;
  }
  if (qcow2_cache_get (s, &s->rcc, off, true, &t) == -1)
    return -1;
  *rc =
      qcow2_rc_get_entry (t, s->refcount_order, cluster & (s->rb_entries - 1));
  qcow2_cache_put (&s->rcc, t);
  return 0;
}

/* Find N free clusters in a row, from the hint on.  Clusters with no
 * refcount block are free. */
static int
find_free (struct qcow2 *s, uint64_t n, uint64_t *start)
{
  uint64_t c = s->free_hint, run = 0, first = c;
  uint64_t max = QCOW2_MAX_HOST_OFFSET >> s->cluster_bits;

  while (run < n) {
    uint64_t b = c >> s->rb_bits, end = (b + 1) << s->rb_bits, off;
    uint8_t *t;

    if (c >= max || n > max - c + run) {
      vd_set_error (EFBIG,
                    _ ("%s: the image file would grow past the largest "
                       "offset qcow2 can address"),
                    s->name);
      return -1;
    }
    if (rt_block (s, b, &off) == -1)
      return -1;
    if (!off) {
      run += end - c;
      c = end;
      continue;
    }
    if (qcow2_cache_get (s, &s->rcc, off, true, &t) == -1)
      return -1;
    for (; c < end && run < n; c++) {
      if (qcow2_rc_get_entry (t, s->refcount_order, c & (s->rb_entries - 1))
          == 0)
        run++;
      else {
        run = 0;
        first = c + 1;
      }
    }
    qcow2_cache_put (&s->rcc, t);
  }
  /* As qemu: holes too small for this request are passed over for the
   * rest of the session (until a cluster below is freed), so the scan
   * does not start again from them each time. */
  s->free_hint = first;
  *start = first;
  return 0;
}

static int update_refcounts (struct qcow2 *s, uint64_t cluster, uint64_t n,
                             int delta, bool punch);
static int grow_rt (struct qcow2 *s, uint64_t need);

static void
note_allocated (struct qcow2 *s, uint64_t first, uint64_t n)
{
  uint64_t end = (first + n) << s->cluster_bits;

  if (end > s->file_size)
    s->file_size = end;
  if (s->free_hint >= first && s->free_hint < first + n)
    s->free_hint = first + n;
}

/* Make refcount block B exist. */
static int
create_block (struct qcow2 *s, uint64_t b)
{
  uint64_t f, off;
  uint8_t *t;

  for (;;) {
    if (b >= s->rt_size && grow_rt (s, b + 1) == -1)
      return -1;
    if (rt_block (s, b, &off) == -1)
      return -1;
    if (off)
      return 0; /* made while growing the table */
    if (find_free (s, 1, &f) == -1)
      return -1;
    if ((f >> s->rb_bits) == b) {
      /* The block describes itself. */
      off = f << s->cluster_bits;
      note_allocated (s, f, 1);
      if (qcow2_cache_get (s, &s->rcc, off, false, &t) == -1)
        return -1;
      qcow2_rc_set_entry (t, s->refcount_order, f & (s->rb_entries - 1), 1);
      qcow2_cache_dirty (&s->rcc, t);
      qcow2_cache_put (&s->rcc, t);
      break;
    }
    if (rt_block (s, f >> s->rb_bits, &off) == -1)
      return -1;
    if (!off) { /* the free cluster's own block is missing too */
      if (create_block (s, f >> s->rb_bits) == -1)
        return -1;
      continue;
    }
    if (update_refcounts (s, f, 1, 1, false) == -1)
      return -1;
    off = f << s->cluster_bits;
    note_allocated (s, f, 1);
    if (qcow2_cache_get (s, &s->rcc, off, false, &t) == -1)
      return -1;
    qcow2_cache_dirty (&s->rcc, t);
    qcow2_cache_put (&s->rcc, t);
    break;
  }
  s->rt[b] = off;
  rt_mark_dirty (s, b);
  return 0;
}

/* Move the refcount table to new clusters with room for NEED entries. */
static int
grow_rt (struct qcow2 *s, uint64_t need)
{
  uint64_t per_cluster = s->cluster_size / 8;
  uint64_t end_clusters = DIV_ROUND_UP (s->file_size, s->cluster_size);
  uint64_t want, nclusters, entries, old_off = s->rt_offset, i;
  uint32_t old_clusters = s->rt_clusters;
  int64_t off;
  uint64_t *nrt;
  CLEANUP_FREE uint64_t *buf = NULL;

  if (s->rt_growing) {
    vd_set_error (EIO,
                  _ ("%s: internal error: the refcount table must grow "
                     "again while growing"),
                  s->name);
    return -1;
  }
  /* Room for what is asked, for the file as it is, and half again, so
   * that the new table and its blocks fit in what it describes. */
  want = MAX (need, (end_clusters >> s->rb_bits) + 1);
  want = want + want / 2 + 2;
  nclusters = DIV_ROUND_UP (want, per_cluster);
  if (nclusters * s->cluster_size > QCOW2_MAX_RT_BYTES) {
    vd_set_error (EFBIG,
                  _ ("%s: the refcount table would grow past %" PRIu64 " MiB"),
                  s->name, QCOW2_MAX_RT_BYTES >> 20);
    return -1;
  }
  entries = nclusters * per_cluster;
  nrt = vd_realloc (s->rt, entries * 8);
  if (!nrt)
    return -1;
  memset (nrt + s->rt_size, 0, (entries - s->rt_size) * 8);
  s->rt = nrt;
  s->rt_size = entries;
  s->rt_growing = true;
  off = qcow2_alloc_clusters (s, nclusters);
  if (off == -1)
    goto fail;
  /* Blocks first, then the table, then the header that points to it. */
  if (qcow2_cache_write_dirty (s, &s->rcc) == -1 || qcow2_io_sync (s) == -1)
    goto fail;
  buf = vd_malloc (entries * 8);
  if (!buf)
    goto fail;
  for (i = 0; i < entries; i++)
    buf[i] = htobe64 (s->rt[i]);
  if (qcow2_pwrite (s, buf, entries * 8, off) == -1 || qcow2_io_sync (s) == -1)
    goto fail;
  s->h.rt_offset = off;
  s->h.rt_clusters = nclusters;
  if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1)
    goto fail;
  s->rt_offset = off;
  s->rt_clusters = nclusters;
  s->rt_dirty_lo = s->rt_dirty_hi = 0;
  s->rt_growing = false;
  /* The header no longer points at the old table: free it. */
  return update_refcounts (s, old_off >> s->cluster_bits, old_clusters, -1,
                           false);

fail:
  s->rt_growing = false;
  return -1;
}

static int
update_refcounts (struct qcow2 *s, uint64_t cluster, uint64_t n, int delta,
                  bool punch)
{
  while (n > 0) {
    uint64_t b = cluster >> s->rb_bits, off;
    uint64_t idx = cluster & (s->rb_entries - 1);
    uint64_t k = MIN (n, s->rb_entries - idx), j;
    uint8_t *t;

    if (rt_block (s, b, &off) == -1)
      return -1;
    if (!off) {
      if (delta < 0) {
        vd_set_error (EIO,
                      _ ("%s: cluster at 0x%" PRIx64
                         " is freed but has no refcount (the image is "
                         "corrupt)"),
                      s->name, cluster << s->cluster_bits);
        return -1;
      }
      if (create_block (s, b) == -1)
        return -1;
      continue;
    }
    if (qcow2_cache_get (s, &s->rcc, off, true, &t) == -1)
      return -1;
    for (j = 0; j < k; j++) {
      uint64_t c = cluster + j;
      uint64_t v = qcow2_rc_get_entry (t, s->refcount_order, idx + j);

      if (delta > 0 && v >= s->refcount_max) {
        vd_set_error (ERANGE,
                      _ ("%s: refcount overflow: cluster at 0x%" PRIx64
                         " already has the largest refcount (%" PRIu64 ")"),
                      s->name, c << s->cluster_bits, s->refcount_max);
        qcow2_cache_put (&s->rcc, t);
        return -1;
      }
      if (delta < 0 && v == 0) {
        vd_set_error (EIO,
                      _ ("%s: cluster at 0x%" PRIx64
                         " is freed but its refcount is already 0 (the "
                         "image is corrupt)"),
                      s->name, c << s->cluster_bits);
        qcow2_cache_put (&s->rcc, t);
        return -1;
      }
      v = delta > 0 ? v + 1 : v - 1;
      qcow2_rc_set_entry (t, s->refcount_order, idx + j, v);
      if (v == 0) {
        uint64_t o = c << s->cluster_bits;
        if (c < s->free_hint)
          s->free_hint = c;
        qcow2_cache_drop (&s->l2c, o);
        qcow2_cache_drop (&s->rcc, o);
        if (s->free_byte && (s->free_byte >> s->cluster_bits) == c)
          s->free_byte = 0;
        s->dbuf_valid = false;
        if (punch && s->io->ops->punch) {
          s->unsynced = true;
          s->io->ops->punch (s->io, o, s->cluster_size); /* advisory */
        }
      }
    }
    qcow2_cache_dirty (&s->rcc, t);
    qcow2_cache_put (&s->rcc, t);
    cluster += k;
    n -= k;
  }
  return 0;
}

int64_t
qcow2_alloc_clusters (struct qcow2 *s, uint64_t n)
{
  uint64_t start, b, off;

  if (qcow2_before_incref (s) == -1)
    return -1;
again:
  if (find_free (s, n, &start) == -1)
    return -1;
  /* Every block the run needs must exist before it is used; making one
   * may take a cluster of the run, so look again. */
  for (b = start >> s->rb_bits; b <= (start + n - 1) >> s->rb_bits; b++) {
    if (rt_block (s, b, &off) == -1)
      return -1;
    if (!off) {
      if (create_block (s, b) == -1)
        return -1;
      goto again;
    }
  }
  if (update_refcounts (s, start, n, 1, false) == -1)
    return -1;
  note_allocated (s, start, n);
  if (!s->lazy)
    s->l2_needs_rc_sync = true;
  return (int64_t) (start << s->cluster_bits);
}

int64_t
qcow2_alloc_bytes (struct qcow2 *s, uint64_t size)
{
  uint64_t cs = s->cluster_size, off = s->free_byte, rc;
  int64_t nc;

  if (size == 0 || size > cs) {
    vd_set_error (EINVAL, _ ("%s: bad compressed size %" PRIu64), s->name,
                  size);
    return -1;
  }
  if (off && (off & (cs - 1)) == 0)
    off = 0; /* the last cluster is full */
  if (off) {
    /* Share the partly used cluster only while its refcount can grow. */
    if (qcow2_get_refcount (s, off >> s->cluster_bits, &rc) == -1)
      return -1;
    if (rc == 0 || rc >= s->refcount_max)
      off = 0;
  }
  if (off && cs - (off & (cs - 1)) >= size) {
    if (qcow2_before_incref (s) == -1
        || update_refcounts (s, off >> s->cluster_bits, 1, 1, false) == -1)
      return -1;
    if (!s->lazy)
      s->l2_needs_rc_sync = true;
  }
  else {
    nc = qcow2_alloc_clusters (s, 1);
    if (nc == -1)
      return -1;
    if (off && ROUND_UP (off, cs) == (uint64_t) nc) {
      /* Runs on into the next cluster: both hold a reference. */
      if (update_refcounts (s, off >> s->cluster_bits, 1, 1, false) == -1)
        return -1;
    }
    else
      off = nc;
  }
  s->free_byte = off + size;
  return (int64_t) off;
}

int
qcow2_free_clusters (struct qcow2 *s, uint64_t offset, uint64_t bytes,
                     bool punch)
{
  uint64_t first = offset >> s->cluster_bits;
  uint64_t last = (offset + bytes - 1) >> s->cluster_bits;

  if (bytes == 0)
    return 0;
  return update_refcounts (s, first, last - first + 1, -1, punch);
}

int
qcow2_incref_clusters (struct qcow2 *s, uint64_t offset, uint64_t bytes)
{
  uint64_t first = offset >> s->cluster_bits;
  uint64_t last = (offset + bytes - 1) >> s->cluster_bits;

  if (bytes == 0)
    return 0;
  return update_refcounts (s, first, last - first + 1, 1, false);
}

int
qcow2_free_entry (struct qcow2 *s, uint64_t e, bool punch)
{
  uint64_t off, len;

  if (e & QCOW2_OFLAG_COMPRESSED) {
    qcow2_compressed_range (s, e, &off, &len);
    s->dbuf_valid = false;
    return qcow2_free_clusters (s, off, len, punch);
  }
  off = e & QCOW2_OFFSET_MASK;
  if (!off)
    return 0;
  return qcow2_free_clusters (s, off, s->cluster_size, punch);
}

int
qcow2_set_refcount (struct qcow2 *s, uint64_t cluster, uint64_t value)
{
  uint64_t off;
  uint8_t *t;

  if (value > s->refcount_max) {
    vd_set_error (ERANGE,
                  _ ("%s: cluster at 0x%" PRIx64 " has %" PRIu64
                     " references, more than %u-bit refcounts can hold"),
                  s->name, cluster << s->cluster_bits, value, s->refcount_bits);
    return -1;
  }
  if (rt_block (s, cluster >> s->rb_bits, &off) == -1)
    return -1;
  if (!off) {
    if (value == 0)
      return 0;
    if (create_block (s, cluster >> s->rb_bits) == -1
        || rt_block (s, cluster >> s->rb_bits, &off) == -1)
      return -1;
  }
  if (qcow2_cache_get (s, &s->rcc, off, true, &t) == -1)
    return -1;
  qcow2_rc_set_entry (t, s->refcount_order, cluster & (s->rb_entries - 1),
                      value);
  qcow2_cache_dirty (&s->rcc, t);
  qcow2_cache_put (&s->rcc, t);
  if (value == 0 && cluster < s->free_hint)
    s->free_hint = cluster;
  return 0;
}
