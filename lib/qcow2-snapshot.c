/* qcow2: internal snapshots.  The table is read at open and checked so
 * that no snapshot points outside the file; create, apply and delete
 * (vd-img snapshot -c / -a / -d) are in qcow2-snapshot-ops.c.  Writes
 * keep snapshots intact through the refcounts (a cluster shared with a
 * snapshot is copied, never written in place).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "qcow2.h"

static uint16_t
get16 (const uint8_t *p)
{
  uint16_t v;
  memcpy (&v, p, 2);
  return be16toh (v);
}
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

static char *
dup_string (const uint8_t *p, size_t len)
{
  char *r = vd_malloc (len + 1);

  if (r) {
    memcpy (r, p, len);
    r[len] = 0;
  }
  return r;
}

void
qcow2_free_snapshots (struct qcow2 *s)
{
  uint32_t i;

  for (i = 0; i < s->nb_snaps; i++) {
    free (s->snaps[i].id);
    free (s->snaps[i].name);
    free (s->snaps[i].extra);
  }
  free (s->snaps);
  s->snaps = NULL;
  s->nb_snaps = 0;
}

/* The table has no recorded size: it is read as far as its entries
 * need, up to the cap and the end of the file. */
struct table_buf {
  uint8_t *p;
  uint64_t have, cap, off;
};

static int
ensure (struct qcow2 *s, struct table_buf *t, uint64_t need)
{
  uint64_t want;
  uint8_t *np;

  if (need <= t->have)
    return 0;
  if (need > t->cap)
    return 1;
  want = MIN (t->cap, MAX (need, t->have * 2));
  np = vd_realloc (t->p, want);
  if (!np)
    return -1;
  t->p = np;
  if (vd_io_pread (s->io, np + t->have, want - t->have, t->off + t->have) == -1)
    return -1;
  t->have = want;
  return 0;
}

int
qcow2_read_snapshots (struct qcow2 *s)
{
  uint32_t n = s->h.nb_snapshots, i;
  uint64_t off = s->h.snapshots_offset, pos = 0;
  struct table_buf tb = { NULL, 0, 0, off };
  int r = -1, e0;

  if (n == 0)
    return 0;
  tb.cap = MIN (s->file_size - off, QCOW2_MAX_SNAPSHOT_TABLE);
  s->snaps = vd_calloc (n, sizeof *s->snaps);
  if (!s->snaps)
    return -1;
  for (i = 0; i < n; i++) {
    struct qcow2_snapshot *sn = &s->snaps[i];
    const uint8_t *e;
    uint32_t extra, id_len, name_len;
    uint64_t len, l1_bytes;

    if ((e0 = ensure (s, &tb, pos + 40)) != 0)
      goto bad;
    e = tb.p + pos;
    sn->l1_offset = get64 (e);
    sn->l1_size = get32 (e + 8);
    id_len = get16 (e + 12);
    name_len = get16 (e + 14);
    sn->date_sec = get32 (e + 16);
    sn->date_nsec = get32 (e + 20);
    sn->vm_clock_nsec = get64 (e + 24);
    sn->vm_state_size = get32 (e + 32);
    extra = get32 (e + 36);
    sn->icount = UINT64_MAX;
    if (extra > QCOW2_MAX_SNAPSHOT_EXTRA) {
      vd_set_error (EIO,
                    _ ("%s: snapshot %" PRIu32 " has %" PRIu32
                       " bytes of extra data (at most %d)"),
                    s->name, i, extra, QCOW2_MAX_SNAPSHOT_EXTRA);
      goto out;
    }
    /* The padding of the last entry may lie past the end of the file. */
    len = 40 + (uint64_t) extra + id_len + name_len;
    if ((e0 = ensure (s, &tb, pos + len)) != 0)
      goto bad;
    e = tb.p + pos;
    if (extra >= 8)
      sn->vm_state_size = get64 (e + 40);
    sn->disk_size = extra >= 16 ? get64 (e + 48) : s->h.size;
    if (extra >= 24)
      sn->icount = get64 (e + 56); /* UINT64_MAX: not recorded */
    s->nb_snaps = i + 1;
    sn->extra_size = extra;
    if (extra && !(sn->extra = vd_malloc (extra)))
      goto out;
    if (extra)
      memcpy (sn->extra, e + 40, extra);
    if (!(sn->id = dup_string (e + 40 + extra, id_len))
        || !(sn->name = dup_string (e + 40 + extra + id_len, name_len)))
      goto out;
    l1_bytes = (uint64_t) sn->l1_size * 8;
    if (l1_bytes > QCOW2_MAX_L1_BYTES) {
      vd_set_error (EIO,
                    _ ("%s: snapshot '%s' has an L1 table of %" PRIu32
                       " entries, more than the limit"),
                    s->name, sn->name, sn->l1_size);
      goto out;
    }
    if (l1_bytes
        && (!IS_ALIGNED (sn->l1_offset, s->cluster_size)
            || sn->l1_offset < s->cluster_size || sn->l1_offset > s->file_size
            || l1_bytes > s->file_size - sn->l1_offset)) {
      vd_set_error (EIO,
                    _ ("%s: snapshot '%s' has its L1 table at a bad offset "
                       "0x%" PRIx64),
                    s->name, sn->name, sn->l1_offset);
      goto out;
    }
    pos += ROUND_UP (len, 8);
  }
  s->snap_table_size = pos;
  r = 0;
  goto out;

bad:
  if (e0 > 0)
    vd_set_error (EIO,
                  _ ("%s: the snapshot table at 0x%" PRIx64
                     " is cut short (snapshot %" PRIu32 " of %" PRIu32 ")"),
                  s->name, off, i, n);
out:
  free (tb.p);
  return r;
}
