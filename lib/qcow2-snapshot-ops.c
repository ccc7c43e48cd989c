/* qcow2: creating, applying and deleting internal snapshots, as qemu-img
 * snapshot -c / -a / -d do.  A snapshot is a copy of the active L1
 * table; its L2 tables and data clusters are shared and counted once per
 * L1 table that reaches them, and the COPIED flag of an active entry is
 * set exactly when its cluster's refcount is 1.
 *
 * Crash safety: every step is synced before the next depends on it.
 * References are added after their refcounts are raised and removed
 * before their refcounts are lowered, so a crash leaves leaks at worst.
 * The COPIED flags cannot change atomically with the refcounts: they are
 * cleared before raising refcounts (create) and set after lowering them
 * (delete, apply), so that a crash can only leave a flag clear on a
 * cluster with refcount 1 (which costs one extra copy on write, and which
 * check -r leaks or -r all repairs), never set on a shared cluster.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#include "qcow2.h"

static void
put16 (uint8_t *p, uint16_t v)
{
  v = htobe16 (v);
  memcpy (p, &v, 2);
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

/* Check an L2 table offset from a snapshot's L1 table. */
static int
l2_ok (struct qcow2 *s, uint64_t off)
{
  if (!IS_ALIGNED (off, s->cluster_size) || off < s->cluster_size
      || off > s->file_size || s->file_size - off < s->cluster_size) {
    vd_set_error (EIO,
                  _ ("%s: a snapshot's L2 table at offset 0x%" PRIx64
                     " is misaligned or lies past the end of the file"),
                  s->name, off);
    return -1;
  }
  return 0;
}

/* Add DELTA (+1 or -1) to the refcount of everything L1 (host order, N
 * entries) reaches: data and compressed clusters, then the L2 tables. */
static int
l1_refs (struct qcow2 *s, const uint64_t *l1, uint32_t n, int delta)
{
  uint32_t i, j;

  for (i = 0; i < n; i++) {
    uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
    uint8_t *t;
    int r = 0;

    if (!l2off)
      continue;
    if (l2_ok (s, l2off) == -1
        || qcow2_cache_get (s, &s->l2c, l2off, true, &t) == -1)
      return -1;
    for (j = 0; j < s->l2_entries && r == 0; j++) {
      uint64_t e = qcow2_l2e_get (s, t, j), off, len;

      if (e & QCOW2_OFLAG_COMPRESSED)
        qcow2_compressed_range (s, e, &off, &len);
      else {
        off = e & QCOW2_OFFSET_MASK;
        len = s->cluster_size;
      }
      if (!off)
        continue;
      if (delta > 0)
        r = qcow2_incref_clusters (s, off, len);
      else
        r = qcow2_free_clusters (s, off, len, false);
    }
    qcow2_cache_put (&s->l2c, t);
    if (r == -1)
      return -1;
    if (delta > 0)
      r = qcow2_incref_clusters (s, l2off, s->cluster_size);
    else
      r = qcow2_free_clusters (s, l2off, s->cluster_size, false);
    if (r == -1)
      return -1;
  }
  return 0;
}

static int
write_l1 (struct qcow2 *s)
{
  CLEANUP_FREE uint64_t *buf = vd_malloc ((size_t) s->l1_size * 8 + 8);
  uint32_t i;

  if (!buf)
    return -1;
  for (i = 0; i < s->l1_size; i++)
    buf[i] = htobe64 (s->l1[i]);
  s->l1_dirty_lo = s->l1_dirty_hi = 0;
  return qcow2_pwrite (s, buf, (size_t) s->l1_size * 8, s->l1_offset);
}

/* Make the COPIED flags of the active tables say whether the refcount is
 * 1 (CLEAR_ALL: clear every flag), then write and sync. */
static int
update_copied (struct qcow2 *s, bool clear_all)
{
  uint32_t i, j;
  bool l1_changed = false;
  uint64_t rc;

  for (i = 0; i < s->l1_size; i++) {
    uint64_t e = s->l1[i], l2off, want;
    uint8_t *t;

    if (qcow2_l2_offset (s, i, &l2off) == -1)
      return -1;
    if (!l2off)
      continue;
    if (qcow2_get_refcount (s, l2off >> s->cluster_bits, &rc) == -1)
      return -1;
    want = !clear_all && rc == 1 ? e | QCOW2_OFLAG_COPIED
                                 : e & ~QCOW2_OFLAG_COPIED;
    if (want != e) {
      s->l1[i] = want;
      l1_changed = true;
    }
    if (qcow2_cache_get (s, &s->l2c, l2off, true, &t) == -1)
      return -1;
    for (j = 0; j < s->l2_entries; j++) {
      uint64_t x = qcow2_l2e_get (s, t, j), off = x & QCOW2_OFFSET_MASK, y;

      if ((x & QCOW2_OFLAG_COMPRESSED) || !off)
        continue;
      if (clear_all)
        rc = 0;
      else if (qcow2_get_refcount (s, off >> s->cluster_bits, &rc) == -1) {
        qcow2_cache_put (&s->l2c, t);
        return -1;
      }
      y = rc == 1 ? x | QCOW2_OFLAG_COPIED : x & ~QCOW2_OFLAG_COPIED;
      if (y != x) {
        qcow2_l2e_set (s, t, j, y, qcow2_l2bm_get (s, t, j));
        qcow2_cache_dirty (&s->l2c, t);
      }
    }
    qcow2_cache_put (&s->l2c, t);
  }
  if (qcow2_cache_write_dirty (s, &s->l2c) == -1)
    return -1;
  if (l1_changed && write_l1 (s) == -1)
    return -1;
  return qcow2_io_sync (s);
}

/* Write the snapshot table SN[0..N) to new clusters, point the header at
 * it, then free the old table.  On success the table is s's. */
static int
write_table (struct qcow2 *s, struct qcow2_snapshot *sn, uint32_t n)
{
  uint64_t size = 0, pos = 0, old_off = s->h.snapshots_offset;
  uint64_t old_size = s->snap_table_size;
  uint32_t old_n = s->h.nb_snapshots, i;
  CLEANUP_FREE uint8_t *buf = NULL;
  int64_t off = 0;

  for (i = 0; i < n; i++)
    size += ROUND_UP (40 + (uint64_t) sn[i].extra_size + strlen (sn[i].id)
                          + strlen (sn[i].name),
                      8);
  if (size > QCOW2_MAX_SNAPSHOT_TABLE || n > QCOW2_MAX_SNAPSHOTS) {
    vd_set_error (EFBIG, _ ("%s: the snapshot table would be too large"),
                  s->name);
    return -1;
  }
  if (size) {
    buf = vd_calloc (1, size);
    if (!buf)
      return -1;
    for (i = 0; i < n; i++) {
      uint8_t *e = buf + pos;
      size_t il = strlen (sn[i].id), nl = strlen (sn[i].name);

      put64 (e, sn[i].l1_offset);
      put32 (e + 8, sn[i].l1_size);
      put16 (e + 12, (uint16_t) il);
      put16 (e + 14, (uint16_t) nl);
      put32 (e + 16, sn[i].date_sec);
      put32 (e + 20, sn[i].date_nsec);
      put64 (e + 24, sn[i].vm_clock_nsec);
      put32 (e + 32, sn[i].vm_state_size > UINT32_MAX
                         ? 0
                         : (uint32_t) sn[i].vm_state_size);
      put32 (e + 36, sn[i].extra_size);
      if (sn[i].extra_size)
        memcpy (e + 40, sn[i].extra, sn[i].extra_size);
      memcpy (e + 40 + sn[i].extra_size, sn[i].id, il);
      memcpy (e + 40 + sn[i].extra_size + il, sn[i].name, nl);
      pos += ROUND_UP (40 + (uint64_t) sn[i].extra_size + il + nl, 8);
    }
    off = qcow2_alloc_clusters (s, DIV_ROUND_UP (size, s->cluster_size));
    if (off == -1 || qcow2_sync_refcounts (s) == -1
        || qcow2_pwrite (s, buf, size, off) == -1 || qcow2_io_sync (s) == -1)
      return -1;
  }
  s->h.nb_snapshots = n;
  s->h.snapshots_offset = off;
  if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1) {
    s->h.nb_snapshots = old_n;
    s->h.snapshots_offset = old_off;
    return -1;
  }
  s->snap_table_size = size;
  if (old_n && old_size
      && qcow2_free_clusters (s, old_off, old_size, false) == -1)
    return -1;
  return 0;
}

static int
find (struct qcow2 *s, const char *id, const char *name)
{
  uint32_t i;

  for (i = 0; i < s->nb_snaps; i++)
    if ((!id || strcmp (s->snaps[i].id, id) == 0)
        && (!name || strcmp (s->snaps[i].name, name) == 0))
      return (int) i;
  return -1;
}

static int
read_l1 (struct qcow2 *s, const struct qcow2_snapshot *sn, uint64_t **l1)
{
  uint64_t bytes = (uint64_t) sn->l1_size * 8;
  uint32_t i;

  *l1 = vd_calloc (MAX (sn->l1_size, 1), 8);
  if (!*l1)
    return -1;
  if (bytes && vd_io_pread (s->io, *l1, bytes, sn->l1_offset) == -1) {
    free (*l1);
    *l1 = NULL;
    return -1;
  }
  for (i = 0; i < sn->l1_size; i++)
    (*l1)[i] = be64toh ((*l1)[i]);
  return 0;
}

static int
do_create (struct qcow2 *s, const char *name)
{
  struct qcow2_snapshot *nsn, *sn;
  uint64_t max_id = 0, bytes = (uint64_t) s->l1_size * 8;
  uint32_t i;
  int64_t l1off = 0;
  struct timeval tv;
  char idbuf[32];
  CLEANUP_FREE uint64_t *copy = NULL;

  if (strlen (name) > UINT16_MAX) {
    vd_set_error (EINVAL, _ ("%s: the snapshot name is too long"), s->name);
    return -1;
  }
  if (s->refcount_max < 2) {
    vd_set_error (ENOTSUP,
                  _ ("%s: internal snapshots need refcounts wider than "
                     "1 bit"),
                  s->name);
    return -1;
  }
  if (s->nb_snaps >= QCOW2_MAX_SNAPSHOTS) {
    vd_set_error (EFBIG, _ ("%s: too many snapshots"), s->name);
    return -1;
  }
  for (i = 0; i < s->nb_snaps; i++) {
    uint64_t v = strtoull (s->snaps[i].id, NULL, 10);
    max_id = MAX (max_id, v);
  }
  snprintf (idbuf, sizeof idbuf, "%" PRIu64, max_id + 1);

  if (qcow2_begin_write (s) == -1 || qcow2_flush_all (s) == -1)
    return -1;
  /* 1. No active cluster may be written in place from now on. */
  if (update_copied (s, true) == -1)
    return -1;
  /* 2. The snapshot's references, counted before they exist. */
  if (l1_refs (s, s->l1, s->l1_size, 1) == -1 || qcow2_sync_refcounts (s) == -1)
    return -1;
  /* 3. Its L1 table. */
  copy = vd_malloc (bytes + 8);
  if (!copy)
    return -1;
  for (i = 0; i < s->l1_size; i++)
    copy[i] = htobe64 (s->l1[i]);
  if (bytes) {
    l1off = qcow2_alloc_clusters (s, DIV_ROUND_UP (bytes, s->cluster_size));
    if (l1off == -1 || qcow2_sync_refcounts (s) == -1
        || qcow2_pwrite (s, copy, bytes, l1off) == -1
        || qcow2_io_sync (s) == -1)
      return -1;
  }
  /* 4. The table that lists it. */
  nsn = vd_realloc (s->snaps, ((size_t) s->nb_snaps + 1) * sizeof *nsn);
  if (!nsn)
    return -1;
  s->snaps = nsn;
  sn = &nsn[s->nb_snaps];
  memset (sn, 0, sizeof *sn);
  gettimeofday (&tv, NULL);
  sn->l1_offset = l1off;
  sn->l1_size = s->l1_size;
  sn->date_sec = (uint32_t) tv.tv_sec;
  sn->date_nsec = (uint32_t) tv.tv_usec * 1000;
  sn->disk_size = s->h.size;
  sn->icount = 0;
  sn->extra_size = 24;
  sn->extra = vd_calloc (1, 24);
  sn->id = vd_strdup (idbuf);
  sn->name = vd_strdup (name);
  if (!sn->extra || !sn->id || !sn->name) {
    free (sn->extra);
    free (sn->id);
    free (sn->name);
    return -1;
  }
  put64 (sn->extra + 8, s->h.size);
  if (write_table (s, s->snaps, s->nb_snaps + 1) == -1) {
    free (sn->extra);
    free (sn->id);
    free (sn->name);
    return -1;
  }
  s->nb_snaps++;
  return qcow2_flush_all (s);
}

static int
do_delete (struct qcow2 *s, int idx)
{
  struct qcow2_snapshot gone = s->snaps[idx];
  CLEANUP_FREE uint64_t *l1 = NULL;
  int r;

  if (read_l1 (s, &gone, &l1) == -1)
    return -1;
  if (qcow2_begin_write (s) == -1 || qcow2_flush_all (s) == -1)
    return -1;
  /* 1. Unlist it. */
  memmove (&s->snaps[idx], &s->snaps[idx + 1],
           (s->nb_snaps - idx - 1) * sizeof *s->snaps);
  if (write_table (s, s->snaps, s->nb_snaps - 1) == -1) {
    memmove (&s->snaps[idx + 1], &s->snaps[idx],
             (s->nb_snaps - idx - 1) * sizeof *s->snaps);
    s->snaps[idx] = gone;
    return -1;
  }
  s->nb_snaps--;
  /* 2. Drop its references, then its L1 table. */
  r = l1_refs (s, l1, gone.l1_size, -1);
  if (r == 0 && gone.l1_size)
    r = qcow2_free_clusters (s, gone.l1_offset, (uint64_t) gone.l1_size * 8,
                             false);
  free (gone.id);
  free (gone.name);
  free (gone.extra);
  if (r == -1 || qcow2_sync_refcounts (s) == -1)
    return -1;
  /* 3. Active clusters no longer shared may be written in place. */
  if (update_copied (s, false) == -1)
    return -1;
  return qcow2_flush_all (s);
}

static int
do_apply (struct qcow2 *s, int idx)
{
  struct qcow2_snapshot *sn = &s->snaps[idx];
  CLEANUP_FREE uint64_t *snl1 = NULL;
  CLEANUP_FREE uint64_t *old = NULL;
  uint32_t n, i;

  if (read_l1 (s, sn, &snl1) == -1)
    return -1;
  if (qcow2_begin_write (s) == -1 || qcow2_flush_all (s) == -1)
    return -1;
  if (sn->l1_size > s->l1_size && qcow2_grow_l1 (s, sn->l1_size) == -1)
    return -1;
  n = s->l1_size;
  old = vd_malloc ((size_t) n * 8 + 8);
  if (!old)
    return -1;
  memcpy (old, s->l1, (size_t) n * 8);
  /* 1. The snapshot's clusters gain the active table's reference. */
  if (l1_refs (s, snl1, sn->l1_size, 1) == -1 || qcow2_sync_refcounts (s) == -1)
    return -1;
  /* 2. The active table becomes the snapshot's (in place). */
  for (i = 0; i < n; i++)
    s->l1[i] = i < sn->l1_size ? snl1[i] & ~QCOW2_OFLAG_COPIED : 0;
  if (write_l1 (s) == -1 || qcow2_io_sync (s) == -1)
    return -1;
  if (sn->disk_size != s->h.size) {
    s->h.size = sn->disk_size;
    s->img->size = sn->disk_size;
    if (qcow2_write_header (s) == -1 || qcow2_io_sync (s) == -1)
      return -1;
  }
  /* 3. The old active clusters lose it. */
  if (l1_refs (s, old, n, -1) == -1 || qcow2_sync_refcounts (s) == -1)
    return -1;
  /* 4. COPIED where the refcount is now 1. */
  if (update_copied (s, false) == -1)
    return -1;
  return qcow2_flush_all (s);
}

int
qcow2_snapshot_create (vd_image *img, const char *name)
{
  struct qcow2 *s = img->priv;
  int r;

  pthread_mutex_lock (&s->lock);
  r = do_create (s, name);
  pthread_mutex_unlock (&s->lock);
  return r;
}

int
qcow2_snapshot_apply (vd_image *img, const char *name)
{
  struct qcow2 *s = img->priv;
  int r, idx;

  pthread_mutex_lock (&s->lock);
  /* As qemu: an ID first, then a tag. */
  idx = find (s, name, NULL);
  if (idx < 0)
    idx = find (s, NULL, name);
  if (idx < 0) {
    vd_set_error (ENOENT, _ ("snapshot not found"));
    r = -1;
  }
  else
    r = do_apply (s, idx);
  pthread_mutex_unlock (&s->lock);
  return r;
}

int
qcow2_snapshot_delete (vd_image *img, const char *name, const char *id)
{
  struct qcow2 *s = img->priv;
  int r, idx;

  pthread_mutex_lock (&s->lock);
  idx = find (s, id, name);
  if (idx < 0) {
    vd_set_error (ENOENT, _ ("snapshot not found"));
    r = -1;
  }
  else
    r = do_delete (s, idx);
  pthread_mutex_unlock (&s->lock);
  return r;
}
