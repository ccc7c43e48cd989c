/* qcow2: counting references.  Walks everything that holds a cluster
 * (header, L1 and L2 tables of the active layer and of each snapshot,
 * data and compressed clusters, the snapshot table, bitmaps, the
 * refcount structures) into an array of counts.  The check itself and
 * the repairs are in qcow2-repair.c.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "qcow2.h"

/* More clusters than this are not counted in memory (1 GiB of counts). */
#define MAX_COUNT_CLUSTERS (UINT64_C (1) << 28)

struct counter {
  struct qcow2 *s;
  uint32_t *map;
  uint64_t n;
};

static int
inc (struct counter *k, uint64_t off, uint64_t len, const char *what)
{
  uint64_t first, last, c;

  if (len == 0)
    return 0;
  first = off >> k->s->cluster_bits;
  last = (off + len - 1) >> k->s->cluster_bits;
  if (off + len < off || last >= k->n) {
    vd_set_error (EIO,
                  _ ("%s: %s at 0x%" PRIx64 " lies past the end of the file"),
                  k->s->name, what, off);
    return -1;
  }
  for (c = first; c <= last; c++) {
    if (k->map[c] == UINT32_MAX) {
      vd_set_error (EIO,
                    _ ("%s: cluster at 0x%" PRIx64 " has too many "
                       "references"),
                    k->s->name, c << k->s->cluster_bits);
      return -1;
    }
    k->map[c]++;
  }
  return 0;
}

static int
count_l2 (struct counter *k, uint64_t l2off)
{
  struct qcow2 *s = k->s;
  uint8_t *t;
  uint32_t i;
  int r = 0;

  if (!IS_ALIGNED (l2off, s->cluster_size)) {
    vd_set_error (
        EIO,
        _ ("%s: L2 table offset 0x%" PRIx64 " is not aligned to a cluster"),
        s->name, l2off);
    return -1;
  }
  if (inc (k, l2off, s->cluster_size, _ ("an L2 table")) == -1
      || qcow2_cache_get (s, &s->l2c, l2off, true, &t) == -1)
    return -1;
  for (i = 0; i < s->l2_entries && r == 0; i++) {
    uint64_t e = qcow2_l2e_get (s, t, i), off, len;

    if (e & QCOW2_OFLAG_COMPRESSED) {
      qcow2_compressed_range (s, e, &off, &len);
      r = inc (k, off, len, _ ("a compressed cluster"));
    }
    else if ((off = e & QCOW2_OFFSET_MASK)) {
      if (!IS_ALIGNED (off, s->cluster_size)) {
        vd_set_error (EIO,
                      _ ("%s: data cluster offset 0x%" PRIx64
                         " is not aligned to a cluster"),
                      s->name, off);
        r = -1;
      }
      else
        r = inc (k, off, s->cluster_size, _ ("a data cluster"));
    }
  }
  qcow2_cache_put (&s->l2c, t);
  return r;
}

static int
count_l1 (struct counter *k, const uint64_t *l1, uint32_t size)
{
  uint32_t i;

  for (i = 0; i < size; i++) {
    uint64_t off = l1[i] & QCOW2_OFFSET_MASK;
    if (off && count_l2 (k, off) == -1)
      return -1;
  }
  return 0;
}

static int
count_snapshots (struct counter *k)
{
  struct qcow2 *s = k->s;
  uint32_t i, j;

  if (s->nb_snaps
      && inc (k, s->h.snapshots_offset, s->snap_table_size,
              _ ("the snapshot table"))
             == -1)
    return -1;
  for (i = 0; i < s->nb_snaps; i++) {
    const struct qcow2_snapshot *sn = &s->snaps[i];
    uint64_t bytes = (uint64_t) sn->l1_size * 8;
    uint64_t *l1;
    int r;

    if (!bytes)
      continue;
    if (inc (k, sn->l1_offset, bytes, _ ("a snapshot's L1 table")) == -1)
      return -1;
    l1 = vd_malloc (bytes);
    if (!l1 || vd_io_pread (s->io, l1, bytes, sn->l1_offset) == -1) {
      free (l1);
      return -1;
    }
    for (j = 0; j < sn->l1_size; j++)
      l1[j] = be64toh (l1[j]);
    r = count_l1 (k, l1, sn->l1_size);
    free (l1);
    if (r == -1)
      return -1;
  }
  return 0;
}

static int
count_bitmaps (struct counter *k)
{
  struct qcow2 *s = k->s;
  CLEANUP_FREE uint8_t *dir = NULL;
  uint64_t pos = 0, len = s->bm_dir_size;
  uint32_t i;

  if (!s->nb_bitmaps)
    return 0;
  if (inc (k, s->bm_dir_offset, len, _ ("the bitmap directory")) == -1)
    return -1;
  dir = vd_malloc (len);
  if (!dir || vd_io_pread (s->io, dir, len, s->bm_dir_offset) == -1)
    return -1;
  for (i = 0; i < s->nb_bitmaps; i++) {
    const uint8_t *e = dir + pos;
    uint64_t toff, elen, tbytes, j;
    uint32_t tsize, extra;
    uint16_t name_len;
    uint64_t *tab;

    if (len - pos < 24)
      goto bad;
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
    if (elen > len - pos || tbytes > QCOW2_MAX_L1_BYTES
        || !IS_ALIGNED (toff, s->cluster_size))
      goto bad;
    pos += elen;
    if (!tbytes)
      continue;
    if (inc (k, toff, tbytes, _ ("a bitmap table")) == -1)
      return -1;
    tab = vd_malloc (tbytes);
    if (!tab || vd_io_pread (s->io, tab, tbytes, toff) == -1) {
      free (tab);
      return -1;
    }
    for (j = 0; j < tsize; j++) {
      uint64_t off = be64toh (tab[j]) & QCOW2_OFFSET_MASK;
      if (off && inc (k, off, s->cluster_size, _ ("bitmap data")) == -1) {
        free (tab);
        return -1;
      }
    }
    free (tab);
  }
  return 0;

bad:
  vd_set_error (EIO, _ ("%s: the bitmap directory at 0x%" PRIx64 " is corrupt"),
                s->name, s->bm_dir_offset);
  return -1;
}

int
qcow2_count_refs (struct qcow2 *s, bool with_rt, uint32_t **map, uint64_t *n)
{
  struct counter k = { s, NULL, 0 };
  int64_t fsize = vd_io_size (s->io);
  uint64_t b;

  *map = NULL;
  if (fsize < 0)
    return -1;
  k.n = DIV_ROUND_UP (MAX ((uint64_t) fsize, s->file_size), s->cluster_size);
  if (k.n > MAX_COUNT_CLUSTERS) {
    vd_set_error (EFBIG,
                  _ ("%s: the image has too many clusters to count "
                     "references in memory"),
                  s->name);
    return -1;
  }
  k.map = vd_calloc (MAX (k.n, 1), sizeof *k.map);
  if (!k.map)
    return -1;
  if (inc (&k, 0, s->cluster_size, _ ("the header")) == -1
      || inc (&k, s->l1_offset, (uint64_t) s->l1_size * 8, _ ("the L1 table"))
             == -1
      || count_l1 (&k, s->l1, s->l1_size) == -1 || count_snapshots (&k) == -1
      || count_bitmaps (&k) == -1)
    goto fail;
  if (with_rt) {
    if (inc (&k, s->rt_offset, (uint64_t) s->rt_clusters * s->cluster_size,
             _ ("the refcount table"))
        == -1)
      goto fail;
    for (b = 0; b < s->rt_size; b++) {
      uint64_t off = s->rt[b] & QCOW2_RT_OFFSET_MASK;
      if (off && inc (&k, off, s->cluster_size, _ ("a refcount block")) == -1)
        goto fail;
    }
  }
  *map = k.map;
  *n = k.n;
  return 0;

fail:
  free (k.map);
  return -1;
}
