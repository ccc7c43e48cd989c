/* qcow2: guest clusters.  L1/L2 lookup (standard and extended L2
 * entries), reads, writes with allocation and copy-on-write, zero and
 * discard by cluster, compressed cluster writes, L1 growth and
 * preallocation.  Every entry read from the file is checked before use.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "qcow2.h"

static void
l1_mark_dirty (struct qcow2 *s, uint32_t i)
{
  if (s->l1_dirty_lo >= s->l1_dirty_hi) {
    s->l1_dirty_lo = i;
    s->l1_dirty_hi = i + 1;
  }
  else {
    s->l1_dirty_lo = MIN (s->l1_dirty_lo, i);
    s->l1_dirty_hi = MAX (s->l1_dirty_hi, i + 1);
  }
}

int
qcow2_write_l1_dirty (struct qcow2 *s)
{
  uint32_t lo = s->l1_dirty_lo, hi = MIN (s->l1_dirty_hi, s->l1_size), i;
  CLEANUP_FREE uint64_t *buf = NULL;

  if (lo >= hi) {
    s->l1_dirty_lo = s->l1_dirty_hi = 0;
    return 0;
  }
  buf = vd_malloc ((size_t) (hi - lo) * 8);
  if (!buf)
    return -1;
  for (i = lo; i < hi; i++)
    buf[i - lo] = htobe64 (s->l1[i]);
  if (qcow2_pwrite (s, buf, (size_t) (hi - lo) * 8,
                    s->l1_offset + (uint64_t) lo * 8)
      == -1)
    return -1;
  s->l1_dirty_lo = s->l1_dirty_hi = 0;
  return 0;
}

int
qcow2_l2_offset (struct qcow2 *s, uint64_t i, uint64_t *offset)
{
  uint64_t off;

  *offset = 0;
  if (i >= s->l1_size)
    return 0;
  off = s->l1[i] & QCOW2_OFFSET_MASK;
  if (!off)
    return 0;
  if (!IS_ALIGNED (off, s->cluster_size)) {
    vd_set_error (EIO,
                  _ ("%s: L2 table offset 0x%" PRIx64 " (L1 index %" PRIu64
                     ") is not aligned to a cluster"),
                  s->name, off, i);
    return -1;
  }
  if (off > s->file_size || s->file_size - off < s->cluster_size) {
    vd_set_error (EIO,
                  _ ("%s: L2 table at offset 0x%" PRIx64 " (L1 index %" PRIu64
                     ") lies past the end of the file"),
                  s->name, off, i);
    return -1;
  }
  *offset = off;
  return 0;
}

/* The type of the unit (subcluster, or cluster without extended L2
 * entries) SC of entry IDX; GUEST is its guest offset (messages). */
static int
classify (struct qcow2 *s, const uint8_t *t, uint32_t idx, uint32_t sc,
          uint64_t guest, enum qcow2_ctype *type, uint64_t *host,
          uint64_t *desc)
{
  uint64_t e = qcow2_l2e_get (s, t, idx), off;

  *host = 0;
  *desc = 0;
  if (e & QCOW2_OFLAG_COMPRESSED) {
    uint64_t coff, clen;

    qcow2_compressed_range (s, e, &coff, &clen);
    if (coff < s->cluster_size || coff >= s->file_size) {
      vd_set_error (EIO,
                    _ ("%s: compressed cluster for guest offset 0x%" PRIx64
                       " at host offset 0x%" PRIx64 " lies outside the file"),
                    s->name, guest, coff);
      return -1;
    }
    *type = QCOW2_CT_COMPRESSED;
    *desc = e;
    return 0;
  }
  off = e & QCOW2_OFFSET_MASK;
  if (off && !IS_ALIGNED (off, s->cluster_size)) {
    vd_set_error (EIO,
                  _ ("%s: L2 entry for guest offset 0x%" PRIx64
                     " points to unaligned host offset 0x%" PRIx64),
                  s->name, guest, off);
    return -1;
  }
  if (!s->ext_l2) {
    if (e & QCOW2_OFLAG_ZERO)
      *type = QCOW2_CT_ZERO;
    else if (off)
      *type = QCOW2_CT_DATA;
    else
      *type = QCOW2_CT_UNALLOC;
  }
  else {
    uint64_t bm = qcow2_l2bm_get (s, t, idx);
    bool alloc = (bm >> sc) & 1, zero = (bm >> (32 + sc)) & 1;

    if (alloc && zero) {
      vd_set_error (EIO,
                    _ ("%s: L2 entry for guest offset 0x%" PRIx64
                       " marks subcluster %u both allocated and zero"),
                    s->name, guest, sc);
      return -1;
    }
    if (alloc && !off) {
      vd_set_error (EIO,
                    _ ("%s: L2 entry for guest offset 0x%" PRIx64
                       " marks subcluster %u allocated but has no host "
                       "cluster"),
                    s->name, guest, sc);
      return -1;
    }
    *type = alloc ? QCOW2_CT_DATA : zero ? QCOW2_CT_ZERO : QCOW2_CT_UNALLOC;
  }
  if (*type == QCOW2_CT_DATA && off >= s->file_size) {
    vd_set_error (EIO,
                  _ ("%s: data cluster for guest offset 0x%" PRIx64
                     " at host offset 0x%" PRIx64
                     " lies past the end of the file"),
                  s->name, guest, off);
    return -1;
  }
  if (*type != QCOW2_CT_UNALLOC)
    *host = off;
  return 0;
}

int
qcow2_map (struct qcow2 *s, uint64_t off, uint64_t maxlen, struct qcow2_map *m)
{
  uint32_t span_bits = s->cluster_bits + s->l2_bits;
  uint64_t i1 = off >> span_bits, l2off, lim, len, pos, host, desc, expect;
  uint64_t unit = s->sc_size, cmask = s->cluster_size - 1;
  enum qcow2_ctype type;
  uint8_t *t;
  int r = -1;

  memset (m, 0, sizeof *m);
  lim = MIN (maxlen, ((i1 + 1) << span_bits) - off);
  if (qcow2_l2_offset (s, i1, &l2off) == -1)
    return -1;
  if (!l2off) {
    m->type = QCOW2_CT_UNALLOC;
    m->len = lim;
    return 0;
  }
  if (qcow2_cache_get (s, &s->l2c, l2off, true, &t) == -1)
    return -1;
#define IDX(o) ((uint32_t) (((o) >> s->cluster_bits) & (s->l2_entries - 1)))
#define SC(o) ((uint32_t) (((o) &cmask) >> s->sc_bits))
  if (classify (s, t, IDX (off), SC (off), off, &type, &host, &desc) == -1)
    goto out;
  m->type = type;
  m->desc = desc;
  m->host = host ? host + (off & cmask) : 0;
  if (type == QCOW2_CT_COMPRESSED) {
    m->len = MIN (lim, s->cluster_size - (off & cmask));
    r = 0;
    goto out;
  }
  pos = ROUND_DOWN (off, unit) + unit;
  len = pos - off;
  expect = m->host ? m->host + len : 0;
  while (len < lim) {
    enum qcow2_ctype t2;
    uint64_t h2, d2;

    if (classify (s, t, IDX (pos), SC (pos), pos, &t2, &h2, &d2) == -1)
      goto out;
    if (t2 != type)
      break;
    if (m->host && h2 + (pos & cmask) != expect)
      break;
    len += unit;
    pos += unit;
    expect += unit;
  }
#undef IDX
#undef SC
  m->len = MIN (len, lim);
  r = 0;
out:
  qcow2_cache_put (&s->l2c, t);
  return r;
}

static int
load_compressed (struct qcow2 *s, uint64_t desc)
{
  uint64_t coff, clen, n;
  int64_t fsize;

  if (s->dbuf_valid && s->dbuf_desc == desc)
    return 0;
  /* A descriptor covers at most two clusters of input. */
  if (!s->cbuf && !(s->cbuf = vd_malloc ((size_t) s->cluster_size * 2)))
    return -1;
  if (!s->dbuf && !(s->dbuf = vd_malloc (s->cluster_size)))
    return -1;
  qcow2_compressed_range (s, desc, &coff, &clen);
  /* The data may end in the middle of the file's last sector. */
  fsize = vd_io_size (s->io);
  if (fsize < 0)
    return -1;
  if (coff >= (uint64_t) fsize) {
    vd_set_error (EIO,
                  _ ("%s: compressed cluster at host offset 0x%" PRIx64
                     " lies past the end of the file"),
                  s->name, coff);
    return -1;
  }
  n = MIN (clen, (uint64_t) fsize - coff);
  if (vd_io_pread (s->io, s->cbuf, n, coff) == -1)
    return -1;
  s->dbuf_valid = false;
  if (qcow2_decompress (s, s->dbuf, s->cluster_size, s->cbuf, n) == -1) {
    vd_set_error (EIO,
                  _ ("%s: compressed cluster at host offset 0x%" PRIx64
                     " cannot be decompressed: %s"),
                  s->name, coff, vd_error ());
    return -1;
  }
  s->dbuf_desc = desc;
  s->dbuf_valid = true;
  return 0;
}

int
qcow2_read (struct qcow2 *s, void *buf, uint64_t count, uint64_t off)
{
  uint8_t *b = buf;

  while (count > 0) {
    struct qcow2_map m;

    if (qcow2_map (s, off, count, &m) == -1)
      return -1;
    switch (m.type) {
    case QCOW2_CT_UNALLOC:
      if (s->img) {
        if (vd_read_backing (s->img, b, m.len, off) == -1)
          return -1;
      }
      else
        memset (b, 0, m.len);
      break;
    case QCOW2_CT_ZERO: memset (b, 0, m.len); break;
    case QCOW2_CT_DATA:
      if (vd_io_pread (s->io, b, m.len, m.host) == -1)
        return -1;
      break;
    case QCOW2_CT_COMPRESSED:
      if (load_compressed (s, m.desc) == -1)
        return -1;
      memcpy (b, s->dbuf + (off & (s->cluster_size - 1)), m.len);
      break;
    }
    b += m.len;
    off += m.len;
    count -= m.len;
  }
  return 0;
}

/* ---- writing --------------------------------------------------------- */

static bool
overlaps (uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
  return alen && blen && a < b + blen && b < a + alen;
}

/* Guest data must never land on metadata (a hostile image's L2 entries
 * could point anywhere). */
static int
check_data_write (struct qcow2 *s, uint64_t host, uint64_t len)
{
  const char *what = NULL;

  if (host < s->cluster_size || host >= QCOW2_MAX_HOST_OFFSET
      || len > QCOW2_MAX_HOST_OFFSET - host)
    what = _ ("the header");
  else if (overlaps (host, len, s->l1_offset, (uint64_t) s->l1_size * 8))
    what = _ ("the L1 table");
  else if (overlaps (host, len, s->rt_offset,
                     (uint64_t) s->rt_clusters * s->cluster_size))
    what = _ ("the refcount table");
  if (what) {
    vd_set_error (EIO,
                  _ ("%s: refusing to write guest data over %s at host "
                     "offset 0x%" PRIx64 " (the image is corrupt)"),
                  s->name, what, host);
    return -1;
  }
  return 0;
}

/* The L2 table of L1 index I, ready to change: allocated if missing,
 * copied if shared with a snapshot.  Pinned. */
static int
l2_for_write (struct qcow2 *s, uint64_t i, uint8_t **table)
{
  uint64_t e = s->l1[i], off, j;
  int64_t n;
  uint8_t *nt, *ot;

  if (qcow2_l2_offset (s, i, &off) == -1)
    return -1;
  if (off && (e & QCOW2_OFLAG_COPIED))
    return qcow2_cache_get (s, &s->l2c, off, true, table);
  n = qcow2_alloc_clusters (s, 1);
  if (n == -1)
    return -1;
  if (qcow2_cache_get (s, &s->l2c, n, false, &nt) == -1)
    return -1;
  if (off) {
    if (qcow2_cache_get (s, &s->l2c, off, true, &ot) == -1) {
      qcow2_cache_put (&s->l2c, nt);
      return -1;
    }
    memcpy (nt, ot, s->cluster_size);
    qcow2_cache_put (&s->l2c, ot);
    /* The copy's entries are shared with the snapshot's table: none may
     * be written in place. */
    for (j = 0; j < s->l2_entries; j++) {
      uint64_t x = qcow2_l2e_get (s, nt, j);
      if (x & QCOW2_OFLAG_COPIED)
        qcow2_l2e_set (s, nt, j, x & ~QCOW2_OFLAG_COPIED,
                       qcow2_l2bm_get (s, nt, j));
    }
  }
  qcow2_cache_dirty (&s->l2c, nt);
  s->l1[i] = (uint64_t) n | QCOW2_OFLAG_COPIED;
  l1_mark_dirty (s, i);
  if (off) {
    if (qcow2_before_decref (s) == -1
        || qcow2_free_clusters (s, off, s->cluster_size, false) == -1) {
      qcow2_cache_put (&s->l2c, nt);
      return -1;
    }
  }
  *table = nt;
  return 0;
}

/* Write K whole clusters at HOST for guest clusters from GSTART, with
 * guest data DATA for [WS, WE) and the old contents around it. */
static int
write_cow (struct qcow2 *s, uint64_t host, uint64_t gstart, uint64_t k,
           const uint8_t *data, uint64_t ws, uint64_t we)
{
  uint64_t cs = s->cluster_size, total = k * cs;
  uint64_t head = ws - gstart, tail = gstart + total - we;
  CLEANUP_FREE uint8_t *bounce = NULL;

  if (check_data_write (s, host, total) == -1)
    return -1;
  if (head == 0 && tail == 0)
    return qcow2_pwrite (s, data, total, host);
  if (total <= MAX (4 * cs, UINT64_C (1) << 20)) {
    bounce = vd_malloc (total);
    if (!bounce)
      return -1;
    if ((head && qcow2_read (s, bounce, head, gstart) == -1)
        || (tail && qcow2_read (s, bounce + total - tail, tail, we) == -1))
      return -1;
    memcpy (bounce + head, data, we - ws);
    return qcow2_pwrite (s, bounce, total, host);
  }
  /* A long run: copy only the partial clusters at the ends. */
  bounce = vd_malloc (cs);
  if (!bounce)
    return -1;
  if (head) {
    if (qcow2_read (s, bounce, head, gstart) == -1)
      return -1;
    memcpy (bounce + head, data, cs - head);
    if (qcow2_pwrite (s, bounce, cs, host) == -1)
      return -1;
    data += cs - head;
    host += cs;
    gstart += cs;
    total -= cs;
  }
  if (tail) {
    uint64_t last = total - cs; /* offset of the last cluster in the run */
    if (qcow2_pwrite (s, data, last, host) == -1)
      return -1;
    memcpy (bounce, data + last, cs - tail);
    if (qcow2_read (s, bounce + cs - tail, tail, we) == -1)
      return -1;
    return qcow2_pwrite (s, bounce, cs, host + last);
  }
  return qcow2_pwrite (s, data, total, host);
}

/* Extended L2: write into the allocated cluster HOST of entry IDX,
 * filling the subclusters the write touches that are not allocated. */
static int
write_subclusters (struct qcow2 *s, uint8_t *t, uint32_t idx, uint64_t host,
                   uint64_t gstart, const uint8_t *data, uint64_t ws,
                   uint64_t we)
{
  uint64_t e = qcow2_l2e_get (s, t, idx), bm = qcow2_l2bm_get (s, t, idx);
  uint32_t sc0 = (uint32_t) ((ws - gstart) >> s->sc_bits);
  uint32_t sc1 = (uint32_t) ((we - 1 - gstart) >> s->sc_bits);
  uint64_t mask = ((UINT64_C (1) << (sc1 - sc0 + 1)) - 1) << sc0;
  uint64_t a = gstart + ((uint64_t) sc0 << s->sc_bits);
  uint64_t b = gstart + ((uint64_t) (sc1 + 1) << s->sc_bits);
  CLEANUP_FREE uint8_t *buf = NULL;

  if (check_data_write (s, host, s->cluster_size) == -1)
    return -1;
  if ((bm & mask) == mask)
    return qcow2_pwrite (s, data, we - ws, host + (ws - gstart));
  buf = vd_malloc (b - a);
  if (!buf)
    return -1;
  if ((ws > a && qcow2_read (s, buf, ws - a, a) == -1)
      || (b > we && qcow2_read (s, buf + (we - a), b - we, we) == -1))
    return -1;
  memcpy (buf + (ws - a), data, we - ws);
  if (qcow2_pwrite (s, buf, b - a, host + (a - gstart)) == -1)
    return -1;
  bm = (bm | mask) & ~(mask << 32);
  qcow2_l2e_set (s, t, idx, e, bm);
  qcow2_cache_dirty (&s->l2c, t);
  return 0;
}

enum wkind { W_INPLACE, W_REUSE, W_NEW };

static enum wkind
write_kind (struct qcow2 *s, uint64_t e, uint64_t *host)
{
  uint64_t off = e & QCOW2_OFFSET_MASK;

  *host = 0;
  if ((e & QCOW2_OFLAG_COMPRESSED) || !off || !(e & QCOW2_OFLAG_COPIED))
    return W_NEW;
  *host = off;
  if (!s->ext_l2 && (e & QCOW2_OFLAG_ZERO))
    return W_REUSE; /* preallocated zero cluster: fill it whole */
  return W_INPLACE;
}

static bool
has_host (uint64_t e)
{
  return (e & QCOW2_OFLAG_COMPRESSED) || (e & QCOW2_OFFSET_MASK);
}

static int
free_queued (struct qcow2 *s, bool punch)
{
  size_t i;

  if (s->nfreeq == 0)
    return 0;
  if (qcow2_before_decref (s) == -1)
    return -1;
  for (i = 0; i < s->nfreeq; i++)
    if (qcow2_free_entry (s, s->freeq[i], punch) == -1)
      return -1;
  s->nfreeq = 0;
  return 0;
}

/* Write N bytes at OFF, all within one L2 table's range. */
static int
write_in_table (struct qcow2 *s, const uint8_t *buf, uint64_t n, uint64_t off)
{
  uint32_t span_bits = s->cluster_bits + s->l2_bits;
  uint64_t i1 = off >> span_bits, gbase = i1 << span_bits;
  uint64_t cs = s->cluster_size;
  uint32_t c = (uint32_t) ((off - gbase) >> s->cluster_bits);
  uint32_t c1 = (uint32_t) ((off + n - 1 - gbase) >> s->cluster_bits);
  uint8_t *t;
  int r = -1;

  if (l2_for_write (s, i1, &t) == -1)
    return -1;
  s->nfreeq = 0;
  while (c <= c1) {
    uint64_t e = qcow2_l2e_get (s, t, c), h, h2, gstart, gend, ws, we;
    enum wkind kind = write_kind (s, e, &h);
    uint32_t d = c + 1, k;

    if (!(s->ext_l2 && kind == W_INPLACE)) {
      while (d <= c1) {
        enum wkind k2 = write_kind (s, qcow2_l2e_get (s, t, d), &h2);
        if (k2 != kind || (kind != W_NEW && h2 != h + (uint64_t) (d - c) * cs))
          break;
        d++;
      }
    }
    gstart = gbase + ((uint64_t) c << s->cluster_bits);
    gend = gbase + ((uint64_t) d << s->cluster_bits);
    ws = MAX (off, gstart);
    we = MIN (off + n, gend);
    if (kind == W_INPLACE) {
      if (s->ext_l2) {
        if (write_subclusters (s, t, c, h, gstart, buf + (ws - off), ws, we)
            == -1)
          goto out;
      }
      else if (check_data_write (s, h + (ws - gstart), we - ws) == -1
               || qcow2_pwrite (s, buf + (ws - off), we - ws, h + (ws - gstart))
                      == -1)
        goto out;
    }
    else {
      if (kind == W_NEW) {
        int64_t a = qcow2_alloc_clusters (s, d - c);
        if (a == -1)
          goto out;
        h = a;
      }
      if (write_cow (s, h, gstart, d - c, buf + (ws - off), ws, we) == -1)
        goto out;
      for (k = c; k < d; k++) {
        uint64_t old = qcow2_l2e_get (s, t, k);
        qcow2_l2e_set (s, t, k,
                       (h + (uint64_t) (k - c) * cs) | QCOW2_OFLAG_COPIED,
                       QCOW2_BITMAP_ALL_ALLOC);
        if (kind == W_NEW && has_host (old))
          s->freeq[s->nfreeq++] = old;
      }
      qcow2_cache_dirty (&s->l2c, t);
    }
    c = d;
  }
  r = 0;
out:
  qcow2_cache_put (&s->l2c, t);
  if (r == 0)
    r = free_queued (s, false);
  s->nfreeq = 0;
  return r;
}

int
qcow2_write (struct qcow2 *s, const uint8_t *buf, uint64_t count, uint64_t off)
{
  uint32_t span_bits = s->cluster_bits + s->l2_bits;

  while (count > 0) {
    uint64_t n = MIN (count, (((off >> span_bits) + 1) << span_bits) - off);
    if (write_in_table (s, buf, n, off) == -1)
      return -1;
    buf += n;
    off += n;
    count -= n;
  }
  return 0;
}

/* ---- zero and discard ------------------------------------------------ */

static int
zero_in_table (struct qcow2 *s, uint64_t off, uint64_t n, bool discard,
               bool unmap)
{
  uint32_t span_bits = s->cluster_bits + s->l2_bits;
  uint64_t i1 = off >> span_bits, gbase = i1 << span_bits, l2off;
  uint32_t c = (uint32_t) ((off - gbase) >> s->cluster_bits);
  uint32_t c1 = (uint32_t) ((off + n - 1 - gbase) >> s->cluster_bits);
  bool backing = s->img && s->img->backing;
  uint8_t *t;
  bool changed = false;

  if (qcow2_l2_offset (s, i1, &l2off) == -1)
    return -1;
  /* No table: the range already reads from the backing file, or zeros. */
  if (!l2off && (!backing || (discard && s->h.version < 3 && !s->ext_l2)))
    return 0;
  if (l2_for_write (s, i1, &t) == -1)
    return -1;
  s->nfreeq = 0;
  for (; c <= c1; c++) {
    uint64_t e = qcow2_l2e_get (s, t, c), bm = qcow2_l2bm_get (s, t, c);
    uint64_t ne, nbm = 0;
    bool allocated = has_host (e) || (!s->ext_l2 && (e & QCOW2_OFLAG_ZERO))
                     || (s->ext_l2 && (bm & QCOW2_BITMAP_ALL_ALLOC));
    bool free_old = false;

    if (discard) {
      /* As qemu: a discarded cluster reads as zeros where the format
       * can say so (v3), so no backing data shows through. */
      if (!backing && !allocated)
        continue;
      if (s->ext_l2) {
        ne = 0;
        nbm = QCOW2_BITMAP_ALL_ZERO;
      }
      else
        ne = s->h.version >= 3 ? QCOW2_OFLAG_ZERO : 0;
      free_old = has_host (e);
    }
    else if ((e & QCOW2_OFLAG_COMPRESSED)
             || ((e & QCOW2_OFFSET_MASK)
                 && (unmap || !(e & QCOW2_OFLAG_COPIED)))) {
      ne = s->ext_l2 ? 0 : QCOW2_OFLAG_ZERO;
      nbm = QCOW2_BITMAP_ALL_ZERO;
      free_old = true;
    }
    else if (e & QCOW2_OFFSET_MASK) {
      /* Keep the preallocated cluster, marked zero. */
      ne = s->ext_l2 ? e : e | QCOW2_OFLAG_ZERO;
      nbm = QCOW2_BITMAP_ALL_ZERO;
    }
    else {
      ne = s->ext_l2 ? 0 : QCOW2_OFLAG_ZERO;
      nbm = QCOW2_BITMAP_ALL_ZERO;
    }
    if (!s->ext_l2)
      nbm = 0;
    if (ne == e && nbm == bm)
      continue;
    qcow2_l2e_set (s, t, c, ne, nbm);
    changed = true;
    if (free_old)
      s->freeq[s->nfreeq++] = e;
  }
  if (changed)
    qcow2_cache_dirty (&s->l2c, t);
  qcow2_cache_put (&s->l2c, t);
  if (free_queued (s, discard || unmap) == -1)
    return -1;
  return 0;
}

int
qcow2_zero_clusters (struct qcow2 *s, uint64_t off, uint64_t count,
                     bool discard, bool unmap)
{
  uint32_t span_bits = s->cluster_bits + s->l2_bits;

  while (count > 0) {
    uint64_t n = MIN (count, (((off >> span_bits) + 1) << span_bits) - off);
    if (zero_in_table (s, off, n, discard, unmap) == -1)
      return -1;
    off += n;
    count -= n;
  }
  return 0;
}

/* ---- compressed clusters --------------------------------------------- */

int
qcow2_write_compressed (struct qcow2 *s, uint64_t off, const uint8_t *data,
                        uint64_t len)
{
  uint32_t span_bits = s->cluster_bits + s->l2_bits;
  uint64_t i1 = off >> span_bits, old, desc, nb;
  uint32_t c = (uint32_t) ((off >> s->cluster_bits) & (s->l2_entries - 1));
  int64_t host;
  uint8_t *t;

  if (l2_for_write (s, i1, &t) == -1)
    return -1;
  old = qcow2_l2e_get (s, t, c);
  host = qcow2_alloc_bytes (s, len);
  if (host == -1)
    goto fail;
  if ((uint64_t) host > s->coffset_mask) {
    vd_set_error (EFBIG,
                  _ ("%s: compressed data at offset 0x%" PRIx64
                     " is past what a compressed cluster can address"),
                  s->name, (uint64_t) host);
    goto fail;
  }
  if (check_data_write (s, host, len) == -1
      || qcow2_pwrite (s, data, len, host) == -1)
    goto fail;
  nb = ((host + len - 1) >> 9) - ((uint64_t) host >> 9);
  desc = QCOW2_OFLAG_COMPRESSED | (nb << s->csize_shift) | (uint64_t) host;
  qcow2_l2e_set (s, t, c, desc, 0);
  qcow2_cache_dirty (&s->l2c, t);
  qcow2_cache_put (&s->l2c, t);
  s->dbuf_valid = false;
  if (has_host (old)) {
    s->nfreeq = 0;
    s->freeq[s->nfreeq++] = old;
    return free_queued (s, false);
  }
  return 0;

fail:
  qcow2_cache_put (&s->l2c, t);
  return -1;
}

/* ---- L1 growth and preallocation ------------------------------------- */

int
qcow2_grow_l1 (struct qcow2 *s, uint32_t n)
{
  uint64_t bytes = (uint64_t) n * 8, old_off = s->l1_offset;
  uint32_t old_size = s->l1_size, i;
  int64_t off;
  uint64_t *nl1;
  CLEANUP_FREE uint64_t *buf = NULL;

  if (n <= s->l1_size)
    return 0;
  if (bytes > QCOW2_MAX_L1_BYTES) {
    vd_set_error (EFBIG, _ ("%s: the L1 table would grow past %" PRIu64 " MiB"),
                  s->name, QCOW2_MAX_L1_BYTES >> 20);
    return -1;
  }
  /* The new table copies the L2 pointers: their tables go first. */
  if (qcow2_flush_all (s) == -1)
    return -1;
  off = qcow2_alloc_clusters (s, DIV_ROUND_UP (bytes, s->cluster_size));
  if (off == -1 || qcow2_sync_refcounts (s) == -1)
    return -1;
  buf = vd_calloc (n, 8);
  nl1 = vd_realloc (s->l1, bytes);
  if (!buf || !nl1)
    return -1;
  s->l1 = nl1;
  memset (s->l1 + old_size, 0, (size_t) (n - old_size) * 8);
  for (i = 0; i < n; i++)
    buf[i] = htobe64 (s->l1[i]);
  if (qcow2_pwrite (s, buf, bytes, off) == -1 || qcow2_io_sync (s) == -1)
    return -1;
  s->h.l1_offset = off;
  s->h.l1_size = n;
  if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1)
    return -1;
  s->l1_offset = off;
  s->l1_size = n;
  s->l1_dirty_lo = s->l1_dirty_hi = 0;
  if (old_size && old_off)
    return qcow2_free_clusters (s, old_off, (uint64_t) old_size * 8, false);
  return 0;
}

int
qcow2_preallocate (struct qcow2 *s, uint64_t size, uint64_t *end)
{
  uint64_t nclusters = DIV_ROUND_UP (size, s->cluster_size), c = 0;

  *end = s->file_size;
  while (c < nclusters) {
    uint64_t i1 = c >> s->l2_bits;
    uint32_t idx = (uint32_t) (c & (s->l2_entries - 1)), k;
    uint64_t n = MIN (nclusters - c, s->l2_entries - idx);
    int64_t host;
    uint8_t *t;

    if (l2_for_write (s, i1, &t) == -1)
      return -1;
    host = qcow2_alloc_clusters (s, n);
    if (host == -1) {
      qcow2_cache_put (&s->l2c, t);
      return -1;
    }
    /* With extended L2 entries the subclusters stay unallocated, so a
     * backing file still shows through. */
    for (k = 0; k < n; k++)
      qcow2_l2e_set (s, t, idx + k,
                     ((uint64_t) host + ((uint64_t) k << s->cluster_bits))
                         | QCOW2_OFLAG_COPIED,
                     0);
    qcow2_cache_dirty (&s->l2c, t);
    qcow2_cache_put (&s->l2c, t);
    c += n;
  }
  *end = s->file_size;
  return 0;
}
