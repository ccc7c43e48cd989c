/* qcow2: the bounded table cache (L2 tables, refcount blocks) and the
 * order in which metadata reaches the disk.
 *
 * The spec's rules: a refcount increment must be on disk before an L1/L2
 * entry that relies on it, and a decrement only after the entry that
 * held the reference is gone from the disk.  Two flags record what is
 * pending: l2_needs_rc_sync (dirty L2/L1 entries point at clusters whose
 * increments are only in the cache) and rc_needs_l2_sync (dirty refcount
 * blocks hold decrements for references still on disk).  Writing the one
 * side first syncs the other; the two are never pending together.  With
 * lazy refcounts the image is marked dirty instead and no order is kept.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "qcow2.h"

int
qcow2_cache_init (struct qcow2_cache *c, const char *what, uint32_t table_size,
                  size_t n)
{
  uint64_t bytes;

  memset (c, 0, sizeof *c);
  c->what = what;
  c->table_size = table_size;
  c->n = n;
  if (vd_mul_overflow (n, table_size, &bytes) || bytes > SIZE_MAX) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  c->mem = vd_malloc (bytes);
  c->slot = vd_calloc (n, sizeof *c->slot);
  if (!c->mem || !c->slot) {
    qcow2_cache_free (c);
    return -1;
  }
  return 0;
}

void
qcow2_cache_free (struct qcow2_cache *c)
{
  free (c->mem);
  free (c->slot);
  c->mem = NULL;
  c->slot = NULL;
  c->n = 0;
}

static ssize_t
cache_find (struct qcow2_cache *c, uint64_t offset)
{
  size_t i;

  if (c->last < c->n && c->slot[c->last].offset == offset)
    return c->last;
  for (i = 0; i < c->n; i++)
    if (c->slot[i].offset == offset)
      return i;
  return -1;
}

static int
write_slot (struct qcow2 *s, struct qcow2_cache *c, size_t i)
{
  struct qcow2_cache_slot *sl = &c->slot[i];

  if (!sl->dirty)
    return 0;
  if (c == &s->l2c && s->l2_needs_rc_sync) {
    if (qcow2_sync_refcounts (s) == -1)
      return -1;
  }
  else if (c == &s->rcc && s->rc_needs_l2_sync) {
    if (qcow2_sync_l2 (s) == -1)
      return -1;
  }
  if (!sl->dirty) /* written meanwhile */
    return 0;
  /* Never write a table over the header (a hostile image could point
   * one there). */
  if (sl->offset < s->cluster_size) {
    vd_set_error (EIO, _ ("%s: refusing to write a %s over the header"),
                  s->name, c->what);
    return -1;
  }
  if (qcow2_pwrite (s, c->mem + i * c->table_size, c->table_size, sl->offset)
      == -1)
    return -1;
  sl->dirty = false;
  return 0;
}

int
qcow2_cache_get (struct qcow2 *s, struct qcow2_cache *c, uint64_t offset,
                 bool read, uint8_t **table)
{
  ssize_t f = cache_find (c, offset);
  size_t i, victim = c->n;
  uint8_t *t;

  if (f >= 0) {
    i = f;
    goto found;
  }
  for (i = 0; i < c->n; i++) {
    if (c->slot[i].pins)
      continue;
    if (c->slot[i].offset == 0) {
      victim = i;
      break;
    }
    if (victim == c->n || c->slot[i].lru < c->slot[victim].lru)
      victim = i;
  }
  if (victim == c->n) {
    vd_set_error (EIO, _ ("%s: internal error: every cached %s is in use"),
                  s->name, c->what);
    return -1;
  }
  i = victim;
  /* Evicting a dirty table writes back all of them: the sync that must
   * come first is then paid once per cache-full, not once per table. */
  if (c->slot[i].offset && c->slot[i].dirty
      && qcow2_cache_write_dirty (s, c) == -1)
    return -1;
  c->slot[i].offset = 0;
  c->slot[i].dirty = false;
  t = c->mem + i * c->table_size;
  if (read) {
    if (vd_io_pread (s->io, t, c->table_size, offset) == -1)
      return -1;
  }
  else
    memset (t, 0, c->table_size);
  c->slot[i].offset = offset;

found:
  c->slot[i].pins++;
  c->slot[i].lru = ++c->tick;
  c->last = i;
  *table = c->mem + i * c->table_size;
  return 0;
}

static size_t
slot_of (struct qcow2_cache *c, const uint8_t *table)
{
  return (size_t) (table - c->mem) / c->table_size;
}

void
qcow2_cache_put (struct qcow2_cache *c, uint8_t *table)
{
  size_t i;

  if (!table)
    return;
  i = slot_of (c, table);
  if (c->slot[i].pins > 0)
    c->slot[i].pins--;
}

void
qcow2_cache_dirty (struct qcow2_cache *c, uint8_t *table)
{
  c->slot[slot_of (c, table)].dirty = true;
}

void
qcow2_cache_drop (struct qcow2_cache *c, uint64_t offset)
{
  ssize_t i = cache_find (c, offset);

  if (i < 0 || offset == 0)
    return;
  c->slot[i].dirty = false;
  if (c->slot[i].pins == 0)
    c->slot[i].offset = 0;
}

bool
qcow2_cache_has_dirty (const struct qcow2_cache *c)
{
  size_t i;

  for (i = 0; i < c->n; i++)
    if (c->slot[i].offset && c->slot[i].dirty)
      return true;
  return false;
}

int
qcow2_cache_write_dirty (struct qcow2 *s, struct qcow2_cache *c)
{
  for (;;) {
    size_t i, best = c->n;

    /* In offset order: the writes then go out mostly sequential. */
    for (i = 0; i < c->n; i++)
      if (c->slot[i].offset && c->slot[i].dirty
          && (best == c->n || c->slot[i].offset < c->slot[best].offset))
        best = i;
    if (best == c->n)
      return 0;
    if (write_slot (s, c, best) == -1)
      return -1;
  }
}

int
qcow2_pwrite (struct qcow2 *s, const void *buf, size_t count, uint64_t offset)
{
  s->unsynced = true;
  return vd_io_pwrite (s->io, buf, count, offset);
}

int
qcow2_io_sync (struct qcow2 *s)
{
  if (!s->unsynced)
    return 0;
  if (vd_io_flush (s->io) == -1)
    return -1;
  s->unsynced = false;
  return 0;
}

int
qcow2_sync_refcounts (struct qcow2 *s)
{
  bool rt_dirty = s->rt_dirty_lo < s->rt_dirty_hi;

  if (!qcow2_cache_has_dirty (&s->rcc) && !rt_dirty) {
    s->l2_needs_rc_sync = false;
    return 0;
  }
  if (qcow2_cache_write_dirty (s, &s->rcc) == -1)
    return -1;
  /* A new refcount block is on disk before the table points to it. */
  if (rt_dirty) {
    if (qcow2_io_sync (s) == -1 || qcow2_write_rt_dirty (s) == -1)
      return -1;
  }
  if (qcow2_io_sync (s) == -1)
    return -1;
  s->l2_needs_rc_sync = false;
  return 0;
}

int
qcow2_sync_l2 (struct qcow2 *s)
{
  bool l1_dirty = s->l1_dirty_lo < s->l1_dirty_hi;

  if (!qcow2_cache_has_dirty (&s->l2c) && !l1_dirty) {
    s->rc_needs_l2_sync = false;
    return 0;
  }
  if (qcow2_cache_write_dirty (s, &s->l2c) == -1)
    return -1;
  /* New L2 tables are on disk before the L1 table points to them. */
  if (l1_dirty) {
    if (s->l2_needs_rc_sync && qcow2_sync_refcounts (s) == -1)
      return -1;
    if (qcow2_io_sync (s) == -1 || qcow2_write_l1_dirty (s) == -1)
      return -1;
  }
  if (qcow2_io_sync (s) == -1)
    return -1;
  s->rc_needs_l2_sync = false;
  return 0;
}

int
qcow2_before_incref (struct qcow2 *s)
{
  if (s->lazy)
    return 0;
  if (s->rc_needs_l2_sync && qcow2_sync_l2 (s) == -1)
    return -1;
  s->l2_needs_rc_sync = true;
  return 0;
}

int
qcow2_before_decref (struct qcow2 *s)
{
  if (s->lazy)
    return 0;
  if (s->l2_needs_rc_sync && qcow2_sync_refcounts (s) == -1)
    return -1;
  s->rc_needs_l2_sync = true;
  return 0;
}

int
qcow2_flush_all (struct qcow2 *s)
{
  if (s->rc_needs_l2_sync && qcow2_sync_l2 (s) == -1)
    return -1;
  if (qcow2_sync_refcounts (s) == -1 || qcow2_sync_l2 (s) == -1)
    return -1;
  return qcow2_io_sync (s);
}
