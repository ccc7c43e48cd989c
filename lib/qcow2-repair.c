/* qcow2: vd-img check and its repairs, with qemu-img check's definitions.
 * The references to each cluster are counted from the metadata (header,
 * L1/L2 tables of the active layer and of every snapshot, the snapshot
 * table, bitmaps, the refcount structures) and compared with the stored
 * refcounts: a stored count above the references is a leak, below it a
 * corruption.  -r leaks lowers leaked counts; -r all also raises low
 * counts and, when a referenced cluster has no refcount at all, writes a
 * whole new refcount structure into free clusters before switching the
 * header to it.  The same code repairs an image left dirty (lazy
 * refcounts) on its first write open.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "qcow2.h"

/* More clusters than this are not counted in memory (1 GiB of counts). */
#define MAX_COUNT_CLUSTERS (UINT64_C (1) << 28)

/* Reserved bits of table entries, as the spec defines them. */
#define L1E_RESERVED UINT64_C (0x7f000000000001ff)
#define L2E_STD_RESERVED UINT64_C (0x3f000000000001fe)
#define RTE_RESERVED UINT64_C (0x1ff)

struct chk {
  struct qcow2 *s;
  struct vd_check_result *res;
  unsigned fix;
  uint32_t *map;  /* references per cluster */
  uint64_t n;     /* entries in map */
  bool rebuild;   /* a referenced cluster has refcount 0 */
  uint64_t fsize; /* the file's size */
};

#define report(k, ...) vd_check_report ((k)->res, __VA_ARGS__)

/* Read COUNT bytes at OFF; bytes past the end of the file read as zeros
 * (as qemu reads them). */
static int
read_padded (struct qcow2 *s, void *buf, uint64_t count, uint64_t off)
{
  int64_t fsize = vd_io_size (s->io);
  uint64_t have;

  if (fsize < 0)
    return -1;
  have = off >= (uint64_t) fsize ? 0 : MIN (count, (uint64_t) fsize - off);
  memset ((uint8_t *) buf + have, 0, count - have);
  return have ? vd_io_pread (s->io, buf, have, off) : 0;
}

static int
grow_map (struct chk *k, uint64_t need)
{
  /* As qemu: the count array grows by whole clusters of entries. */
  uint64_t per = ((uint64_t) k->s->cluster_size * 8) >> k->s->refcount_order;
  uint64_t nn = ROUND_UP (need, per);
  uint32_t *m;

  if (need > MAX_COUNT_CLUSTERS) {
    vd_set_error (EFBIG,
                  _ ("%s: a cluster at 0x%" PRIx64 " is referenced, too far "
                     "past the end of the file to count"),
                  k->s->name, (need - 1) << k->s->cluster_bits);
    k->res->check_errors++;
    return -1;
  }
  m = vd_realloc (k->map, nn * sizeof *m);
  if (!m) {
    k->res->check_errors++;
    return -1;
  }
  memset (m + k->n, 0, (nn - k->n) * sizeof *m);
  k->map = m;
  k->n = nn;
  return 0;
}

static int
inc (struct chk *k, uint64_t off, uint64_t size)
{
  struct qcow2 *s = k->s;
  uint64_t c, first, last, max = MIN (s->refcount_max, UINT32_MAX);

  if (size == 0)
    return 0;
  if (off >= QCOW2_MAX_HOST_OFFSET || size > QCOW2_MAX_HOST_OFFSET - off) {
    report (k, "ERROR: offset 0x%" PRIx64 " is past the largest offset", off);
    k->res->corruptions++;
    return 0;
  }
  /* As qemu: a region reaching a whole cluster past the end of the file
   * is an error of its own, not counted. */
  if (off + size >= k->fsize + s->cluster_size) {
    report (k,
            "ERROR: counting reference for region exceeding the end of the "
            "file by one cluster or more: offset 0x%" PRIx64 " size 0x%" PRIx64,
            off, size);
    k->res->corruptions++;
    return 0;
  }
  first = off >> s->cluster_bits;
  last = (off + size - 1) >> s->cluster_bits;
  for (c = first; c <= last; c++) {
    if (c >= k->n && grow_map (k, c + 1) == -1)
      return -1;
    if (k->map[c] >= max) {
      report (k, "ERROR: overflow cluster offset=0x%" PRIx64,
              c << s->cluster_bits);
      report (k, "Use qemu-img amend to increase the refcount entry width "
                 "or qemu-img convert to create a clean copy if the image "
                 "cannot be opened for writing");
      k->res->corruptions++;
      continue;
    }
    k->map[c]++;
  }
  return 0;
}

enum { FRAG_INFO = 1 };

static int
check_l2 (struct chk *k, uint64_t l2off, int flags)
{
  struct qcow2 *s = k->s;
  size_t bytes = (size_t) s->l2_entries * s->l2_entry_bytes;
  CLEANUP_FREE uint8_t *t = vd_malloc (bytes);
  uint64_t next = 0;
  uint32_t i;

  if (!t) {
    k->res->check_errors++;
    return -1;
  }
  if (read_padded (s, t, bytes, l2off) == -1) {
    report (k, "ERROR: I/O error in check_refcounts_l2");
    k->res->check_errors++;
    return -1;
  }
  for (i = 0; i < s->l2_entries; i++) {
    uint64_t e = qcow2_l2e_get (s, t, i), bm = qcow2_l2bm_get (s, t, i);
    uint64_t off = e & QCOW2_OFFSET_MASK;

    if (e & QCOW2_OFLAG_COMPRESSED) {
      uint64_t coff, clen;
      if (e & QCOW2_OFLAG_COPIED) {
        report (k,
                "ERROR: coffset=0x%" PRIx64 ": copied flag must never be "
                "set for compressed clusters",
                e & s->coffset_mask);
        e &= ~QCOW2_OFLAG_COPIED;
        k->res->corruptions++;
      }
      if (bm) {
        report (k,
                "ERROR compressed cluster %" PRIu32 " with non-zero "
                "subcluster allocation bitmap, entry=0x%" PRIx64,
                i, e);
        k->res->corruptions++;
        continue;
      }
      qcow2_compressed_range (s, e, &coff, &clen);
      if (inc (k, coff, clen) == -1)
        return -1;
      if (flags & FRAG_INFO) {
        k->res->allocated_clusters++;
        k->res->compressed_clusters++;
        k->res->fragmented_clusters++;
      }
      continue;
    }
    if (e & L2E_STD_RESERVED) {
      report (k, "ERROR found l2 entry with reserved bits set: %" PRIx64, e);
      k->res->corruptions++;
    }
    if ((e & QCOW2_OFLAG_ZERO) && !s->ext_l2 && !off)
      continue; /* zero cluster, nothing allocated */
    if (!off) {
      if (bm & QCOW2_BITMAP_ALL_ALLOC) {
        k->res->corruptions++;
        report (k, "ERROR: Unallocated cluster has non-zero subcluster "
                   "allocation map");
      }
      continue;
    }
    /* A data cluster, or a preallocated zero cluster. */
    if ((bm >> 32) & bm) {
      k->res->corruptions++;
      report (k,
              "ERROR offset=%" PRIx64 ": Allocated cluster has corrupted "
              "subcluster allocation bitmap",
              off);
    }
    if (!IS_ALIGNED (off, s->cluster_size)) {
      bool data = s->ext_l2 ? (bm & QCOW2_BITMAP_ALL_ALLOC) != 0
                            : !(e & QCOW2_OFLAG_ZERO);
      k->res->corruptions++;
      report (k,
              data ? "ERROR offset=%" PRIx64 ": Data cluster is not "
                     "properly aligned; L2 entry corrupted."
                   : "ERROR offset=%" PRIx64 ": Preallocated cluster is "
                     "not properly aligned; L2 entry corrupted.",
              off);
    }
    if (flags & FRAG_INFO) {
      k->res->allocated_clusters++;
      if (next && off != next)
        k->res->fragmented_clusters++;
      next = off + s->cluster_size;
    }
    if (inc (k, off, s->cluster_size) == -1)
      return -1;
  }
  return 0;
}

static int
check_l1 (struct chk *k, uint64_t l1off, uint32_t l1size, int flags)
{
  struct qcow2 *s = k->s;
  uint64_t bytes = (uint64_t) l1size * 8;
  CLEANUP_FREE uint64_t *l1 = NULL;
  uint32_t i;

  if (!l1size)
    return 0;
  if (inc (k, l1off, bytes) == -1)
    return -1;
  l1 = vd_malloc (bytes);
  if (!l1) {
    k->res->check_errors++;
    return -1;
  }
  if (read_padded (s, l1, bytes, l1off) == -1) {
    report (k, "ERROR: I/O error in check_refcounts_l1");
    k->res->check_errors++;
    return -1;
  }
  for (i = 0; i < l1size; i++) {
    uint64_t e = be64toh (l1[i]), l2off;
    if (!e)
      continue;
    if (e & L1E_RESERVED) {
      report (k, "ERROR found L1 entry with reserved bits set: %" PRIx64, e);
      k->res->corruptions++;
    }
    l2off = e & QCOW2_OFFSET_MASK;
    if (inc (k, l2off, s->cluster_size) == -1)
      return -1;
    if (!IS_ALIGNED (l2off, s->cluster_size)) {
      report (k,
              "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; "
              "L1 entry corrupted",
              l2off);
      k->res->corruptions++;
    }
    if (check_l2 (k, l2off, flags) == -1)
      return -1;
  }
  return 0;
}

static int
check_bitmaps (struct chk *k)
{
  struct qcow2 *s = k->s;
  CLEANUP_FREE uint8_t *dir = NULL;
  uint64_t pos = 0, len = s->bm_dir_size;
  uint32_t i;

  if (!s->nb_bitmaps || !(s->h.autoclear & QCOW2_AUTOCLEAR_BITMAPS))
    return 0;
  if (inc (k, s->bm_dir_offset, len) == -1)
    return -1;
  dir = vd_malloc (len);
  if (!dir || read_padded (s, dir, len, s->bm_dir_offset) == -1) {
    k->res->check_errors++;
    return -1;
  }
  for (i = 0; i < s->nb_bitmaps; i++) {
    const uint8_t *e = dir + pos;
    uint64_t toff, elen, tbytes, j;
    uint32_t tsize, extra;
    uint16_t name_len;
    CLEANUP_FREE uint64_t *tab = NULL;

    if (len - pos < 24)
      break;
    memcpy (&toff, e, 8);
    toff = be64toh (toff);
    memcpy (&tsize, e + 8, 4);
    tsize = be32toh (tsize);
    memcpy (&name_len, e + 18, 2);
    name_len = be16toh (name_len);
    memcpy (&extra, e + 20, 4);
    extra = be32toh (extra);
    elen = ROUND_UP (24 + (uint64_t) extra + name_len, 8);
    tbytes = (uint64_t) tsize * 8;
    if (elen > len - pos || tbytes > QCOW2_MAX_L1_BYTES) {
      report (k, "ERROR: the bitmap directory is corrupt");
      k->res->corruptions++;
      break;
    }
    pos += elen;
    if (!tbytes)
      continue;
    if (inc (k, toff, tbytes) == -1)
      return -1;
    tab = vd_malloc (tbytes);
    if (!tab || read_padded (s, tab, tbytes, toff) == -1) {
      k->res->check_errors++;
      return -1;
    }
    for (j = 0; j < tsize; j++) {
      uint64_t off = be64toh (tab[j]) & QCOW2_OFFSET_MASK;
      if (off && inc (k, off, s->cluster_size) == -1)
        return -1;
    }
  }
  return 0;
}

static int
check_refblocks (struct chk *k)
{
  struct qcow2 *s = k->s;
  uint64_t i;

  for (i = 0; i < s->rt_size; i++) {
    uint64_t off = s->rt[i] & QCOW2_RT_OFFSET_MASK;
    uint64_t c = off >> s->cluster_bits;

    if (s->rt[i] & RTE_RESERVED) {
      report (k, "ERROR refcount table entry %" PRIu64 " has reserved bits set",
              i);
      k->res->corruptions++;
      k->rebuild = true;
      continue;
    }
    if (!off)
      continue;
    if (c >= DIV_ROUND_UP (s->file_size, s->cluster_size)) {
      report (k, "ERROR refcount block %" PRIu64 " is outside image", i);
      k->res->corruptions++;
      k->rebuild = true;
      continue;
    }
    if (inc (k, off, s->cluster_size) == -1)
      return -1;
    if (k->map[c] != 1) {
      report (k, "ERROR refcount block %" PRIu64 " refcount=%" PRIu32, i,
              k->map[c]);
      k->res->corruptions++;
      k->rebuild = true;
    }
  }
  return 0;
}

/* Count every reference into a fresh map. */
static int
calculate (struct chk *k)
{
  struct qcow2 *s = k->s;
  int64_t fsize = vd_io_size (s->io);
  uint32_t i;

  free (k->map);
  k->map = NULL;
  k->n = 0;
  if (fsize < 0) {
    k->res->check_errors++;
    return -1;
  }
  k->fsize = (uint64_t) fsize;
  if (grow_map (k, MAX (DIV_ROUND_UP ((uint64_t) fsize, s->cluster_size), 1))
      == -1)
    return -1;
  if (inc (k, 0, s->cluster_size) == -1
      || check_l1 (k, s->l1_offset, s->l1_size, FRAG_INFO) == -1)
    return -1;
  for (i = 0; i < s->nb_snaps; i++) {
    const struct qcow2_snapshot *sn = &s->snaps[i];
    if (check_l1 (k, sn->l1_offset, sn->l1_size, 0) == -1)
      return -1;
  }
  if ((s->nb_snaps && inc (k, s->h.snapshots_offset, s->snap_table_size) == -1)
      || inc (k, s->rt_offset, (uint64_t) s->rt_clusters * s->cluster_size)
             == -1
      || check_bitmaps (k) == -1)
    return -1;
  return check_refblocks (k);
}

/* Compare the counts with the refcounts; FIX as qemu's. */
static int
compare (struct chk *k, unsigned fix, uint64_t *highest)
{
  struct qcow2 *s = k->s;
  uint64_t c;

  *highest = 0;
  for (c = 0; c < k->n; c++) {
    uint64_t rc, ref = k->map[c];
    uint64_t *fixed = NULL;

    if (qcow2_get_refcount (s, c, &rc) == -1) {
      report (k, "Can't get refcount for cluster %" PRIu64 ": %s", c,
              strerror (EIO));
      k->res->check_errors++;
      continue;
    }
    if (rc > 0 || ref > 0)
      *highest = c;
    if (rc == ref)
      continue;
    if (rc == 0)
      k->rebuild = true;
    else if (rc > ref && (fix & VD_CHECK_FIX_LEAKS))
      fixed = &k->res->leaks_fixed;
    else if (rc < ref && (fix & VD_CHECK_FIX_ERRORS))
      fixed = &k->res->corruptions_fixed;
    report (k, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64,
            fixed      ? "Repairing"
            : rc < ref ? "ERROR"
                       : "Leaked",
            c, rc, ref);
    if (fixed && qcow2_set_refcount (s, c, ref) == 0) {
      (*fixed)++;
      continue;
    }
    if (rc < ref)
      k->res->corruptions++;
    else
      k->res->leaks++;
  }
  return 0;
}

/* ---- rebuilding the refcount structure ------------------------------- */

/* First fit of N free clusters in the map from *FIRST, marked used. */
static int
alloc_in_map (struct chk *k, uint64_t nclusters, uint64_t *first, uint64_t *out)
{
  uint64_t c = *first, run = 0;

  for (;; c++) {
    if (c >= k->n && grow_map (k, c + 1) == -1)
      return -1;
    run = k->map[c] ? 0 : run + 1;
    if (run == nclusters)
      break;
  }
  c = c + 1 - nclusters;
  *out = c;
  while (run--)
    k->map[c + run] = 1;
  while (*first < k->n && k->map[*first])
    (*first)++;
  return 0;
}

static bool
range_used (const struct chk *k, uint64_t b)
{
  uint64_t c, start = b << k->s->rb_bits;
  uint64_t end = MIN (k->n, (b + 1) << k->s->rb_bits);

  for (c = start; c < end; c++)
    if (k->map[c])
      return true;
  return false;
}

static int
rebuild (struct chk *k)
{
  struct qcow2 *s = k->s;
  uint64_t per = s->cluster_size / 8, first = 0, rt_off = 0, rt_cl = 0;
  uint64_t nrt_n = 0, b, i;
  CLEANUP_FREE uint64_t *nrt = NULL;
  CLEANUP_FREE uint8_t *blk = NULL;
  uint64_t *tmp;
  bool again;

  report (k, "Rebuilding refcount structure");
  if (qcow2_flush_all (s) == -1)
    return -1;
  /* Lay the new structure out in memory first: refblocks for every range
   * with a used cluster, then the table; a placement may make a new
   * range used, so go round until nothing moves.  Only clusters nothing
   * references (the old structure is counted) are taken, so the old
   * structure stays valid until the header switches. */
  do {
    uint64_t nb;
    again = false;
    for (b = 0; b < DIV_ROUND_UP (k->n, s->rb_entries); b++) {
      uint64_t c;
      if (b < nrt_n && nrt[b])
        continue;
      if (!range_used (k, b))
        continue;
      if (alloc_in_map (k, 1, &first, &c) == -1)
        return -1;
      if (b >= nrt_n) {
        uint64_t nn = ROUND_UP (b + 1, per);
        tmp = vd_realloc (nrt, nn * 8);
        if (!tmp)
          return -1;
        memset (tmp + nrt_n, 0, (nn - nrt_n) * 8);
        nrt = tmp;
        nrt_n = nn;
      }
      nrt[b] = c << s->cluster_bits;
      again = true;
    }
    nb = 0;
    for (b = 0; b < nrt_n; b++)
      if (nrt[b])
        nb = b + 1;
    if (DIV_ROUND_UP (nb, per) > rt_cl) {
      uint64_t c;
      for (i = 0; i < rt_cl; i++)
        k->map[(rt_off >> s->cluster_bits) + i] = 0;
      rt_cl = DIV_ROUND_UP (nb, per);
      if (rt_cl * s->cluster_size > QCOW2_MAX_RT_BYTES) {
        vd_set_error (
            EFBIG, _ ("%s: the refcount table would grow past %" PRIu64 " MiB"),
            s->name, QCOW2_MAX_RT_BYTES >> 20);
        return -1;
      }
      first = 0;
      if (alloc_in_map (k, rt_cl, &first, &c) == -1)
        return -1;
      first = 0;
      rt_off = c << s->cluster_bits;
      again = true;
    }
  } while (again);

  /* Write the blocks, then the table, then the header. */
  blk = vd_malloc (s->cluster_size);
  if (!blk)
    return -1;
  for (b = 0; b < nrt_n; b++) {
    uint64_t j;
    if (!nrt[b])
      continue;
    memset (blk, 0, s->cluster_size);
    for (j = 0; j < s->rb_entries && (b << s->rb_bits) + j < k->n; j++)
      qcow2_rc_set_entry (blk, s->refcount_order, j,
                          k->map[(b << s->rb_bits) + j]);
    if (qcow2_pwrite (s, blk, s->cluster_size, nrt[b]) == -1)
      return -1;
  }
  if (qcow2_io_sync (s) == -1)
    return -1;
  tmp = vd_calloc (rt_cl * per, 8);
  if (!tmp)
    return -1;
  for (b = 0; b < nrt_n; b++)
    tmp[b] = htobe64 (nrt[b]);
  if (qcow2_pwrite (s, tmp, rt_cl * s->cluster_size, rt_off) == -1
      || qcow2_io_sync (s) == -1) {
    free (tmp);
    return -1;
  }
  s->h.rt_offset = rt_off;
  s->h.rt_clusters = (uint32_t) rt_cl;
  if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1) {
    free (tmp);
    return -1;
  }
  /* Switch the in-memory state to the new structure. */
  for (i = 0; i < rt_cl * per; i++)
    tmp[i] = be64toh (tmp[i]);
  free (s->rt);
  s->rt = tmp;
  s->rt_size = rt_cl * per;
  s->rt_offset = rt_off;
  s->rt_clusters = (uint32_t) rt_cl;
  s->rt_dirty_lo = s->rt_dirty_hi = 0;
  for (i = 0; i < s->rcc.n; i++) {
    s->rcc.slot[i].dirty = false;
    if (!s->rcc.slot[i].pins)
      s->rcc.slot[i].offset = 0;
  }
  s->file_size = MAX (s->file_size, k->n << s->cluster_bits);
  return 0;
}

/* ---- OFLAG_COPIED ---------------------------------------------------- */

static int
check_copied (struct chk *k, unsigned fix)
{
  struct qcow2 *s = k->s;
  size_t bytes = (size_t) s->l2_entries * s->l2_entry_bytes;
  CLEANUP_FREE uint8_t *t = vd_malloc (bytes);
  bool repair;
  uint32_t i, j;

  if (!t) {
    k->res->check_errors++;
    return -1;
  }
  if (fix & VD_CHECK_FIX_ERRORS)
    repair = true;
  else if (fix & VD_CHECK_FIX_LEAKS)
    repair = !k->res->check_errors && !k->res->corruptions && !k->res->leaks;
  else
    repair = false;

  for (i = 0; i < s->l1_size; i++) {
    uint64_t e = s->l1[i], l2off = e & QCOW2_OFFSET_MASK, rc;
    unsigned dirty = 0;

    if (!l2off)
      continue;
    if (qcow2_get_refcount (s, l2off >> s->cluster_bits, &rc) == -1)
      continue;
    if ((rc == 1) != ((e & QCOW2_OFLAG_COPIED) != 0)) {
      k->res->corruptions++;
      report (k,
              "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu32
              " l1_entry=%" PRIx64 " refcount=%" PRIu64,
              repair ? "Repairing" : "ERROR", i, e, rc);
      if (repair) {
        uint64_t v;
        s->l1[i] = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
        v = htobe64 (s->l1[i]);
        if (qcow2_pwrite (s, &v, 8, s->l1_offset + (uint64_t) i * 8) == -1) {
          k->res->check_errors++;
          return -1;
        }
        k->res->corruptions--;
        k->res->corruptions_fixed++;
      }
    }
    if (read_padded (s, t, bytes, l2off) == -1) {
      report (k, "ERROR: Could not read L2 table: %s", strerror (EIO));
      k->res->check_errors++;
      return -1;
    }
    for (j = 0; j < s->l2_entries; j++) {
      uint64_t x = qcow2_l2e_get (s, t, j), off = x & QCOW2_OFFSET_MASK;

      if ((x & QCOW2_OFLAG_COMPRESSED) || !off)
        continue;
      if (qcow2_get_refcount (s, off >> s->cluster_bits, &rc) == -1)
        continue;
      if ((rc == 1) != ((x & QCOW2_OFLAG_COPIED) != 0)) {
        k->res->corruptions++;
        report (k,
                "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                " refcount=%" PRIu64,
                repair ? "Repairing" : "ERROR", x, rc);
        if (repair) {
          qcow2_l2e_set (s, t, j,
                         rc == 1 ? x | QCOW2_OFLAG_COPIED
                                 : x & ~QCOW2_OFLAG_COPIED,
                         qcow2_l2bm_get (s, t, j));
          dirty++;
        }
      }
    }
    if (dirty) {
      if (!IS_ALIGNED (l2off, s->cluster_size) || l2off < s->cluster_size) {
        k->res->check_errors++;
        continue;
      }
      qcow2_cache_drop (&s->l2c, l2off);
      if (qcow2_pwrite (s, t, bytes, l2off) == -1) {
        k->res->check_errors++;
        return -1;
      }
      k->res->corruptions -= dirty;
      k->res->corruptions_fixed += dirty;
    }
  }
  return 0;
}

/* ---- the check ------------------------------------------------------- */

static int
check_refcounts (struct qcow2 *s, struct vd_check_result *res, unsigned fix)
{
  struct chk k = { s, res, fix, NULL, 0, false, 0 };
  struct vd_check_result pre;
  uint64_t highest = 0;
  int r = -1;

  res->total_clusters = DIV_ROUND_UP (s->h.size, s->cluster_size);
  if (calculate (&k) == -1)
    goto out;
  pre = *res;
  compare (&k, 0, &highest);
  if (k.rebuild && (fix & VD_CHECK_FIX_ERRORS)) {
    struct vd_check_result old = *res;
    uint64_t fresh = 0;

    if (rebuild (&k) == -1) {
      res->check_errors++;
      goto out;
    }
    res->corruptions = 0;
    res->leaks = 0;
    k.rebuild = false;
    if (calculate (&k) == -1)
      goto out;
    if (fix & VD_CHECK_FIX_LEAKS) {
      struct vd_check_result saved = *res;
      memset (res, 0, sizeof *res);
      res->report = saved.report;
      res->opaque = saved.opaque;
      compare (&k, VD_CHECK_FIX_LEAKS, &highest);
      if (k.rebuild)
        report (&k, "ERROR rebuilt refcount structure is still broken");
      fresh = res->leaks;
      *res = saved;
    }
    if (res->corruptions < old.corruptions)
      res->corruptions_fixed += old.corruptions - res->corruptions;
    if (res->leaks < old.leaks)
      res->leaks_fixed += old.leaks - res->leaks;
    res->leaks += fresh;
  }
  else if (fix) {
    if (k.rebuild) {
      report (&k, "ERROR need to rebuild refcount structures");
      res->check_errors++;
      vd_set_error (EIO, "%s", strerror (EIO));
      goto out;
    }
    if (res->leaks || res->corruptions) {
      void (*rep) (void *, const char *) = res->report;
      void *op = res->opaque;
      *res = pre;
      res->report = rep;
      res->opaque = op;
      compare (&k, fix, &highest);
    }
  }
  if (check_copied (&k, fix) == -1)
    goto out;
  res->image_end_offset = (highest + 1) << s->cluster_bits;
  r = 0;
out:
  free (k.map);
  if (fix) {
    s->free_hint = 0;
    s->free_byte = 0;
    s->dbuf_valid = false;
    if (qcow2_flush_all (s) == -1)
      r = -1;
  }
  return r;
}

int
qcow2_check (vd_image *img, struct vd_check_result *res, unsigned fix)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  if (!s->readonly && qcow2_flush_all (s) == -1) {
    pthread_mutex_unlock (&s->lock);
    return -1;
  }
  r = check_refcounts (s, res, fix);
  if (r == 0 && fix && !res->check_errors && !res->corruptions
      && (s->h.incompat & (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT))) {
    s->h.incompat &= ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT);
    s->marked_dirty = false;
    if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1)
      r = -1;
  }
  pthread_mutex_unlock (&s->lock);
  return r;
}

int
qcow2_repair_refcounts (struct qcow2 *s)
{
  struct vd_check_result res;

  memset (&res, 0, sizeof res);
  if (check_refcounts (s, &res, VD_CHECK_FIX_LEAKS | VD_CHECK_FIX_ERRORS) == -1)
    return -1;
  if (res.corruptions || res.check_errors) {
    vd_set_error (EIO,
                  _ ("%s: %" PRIu64 " corruptions remain after repairing "
                     "the refcounts"),
                  s->name, res.corruptions + res.check_errors);
    return -1;
  }
  return 0;
}
