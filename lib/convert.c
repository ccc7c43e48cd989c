/* vd_convert: copy one or more images, concatenated, into a new or an
 * existing image of any format.  It sits on the image API (image.c) and
 * knows no format by name: what a target can do comes from its driver.
 *
 * The copy is driven by extents (vd_block_status): ranges that read as
 * zeros are never read, and zero blocks found in data are left sparse.
 * An uncompressed copy is one loop of large reads and writes on the
 * calling thread (on this kind of machine that beats handing requests to
 * threads).  A compressed copy runs as a small pipeline with a fixed
 * number of buffers: a reader thread walks the extents and reads,
 * compressor threads turn whole clusters into what the target stores, and
 * the calling thread writes.  Memory is bounded whatever the image size.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"

/* Largest read or write of an uncompressed copy. */
#define CHUNK (2 * 1024 * 1024)
/* Compressed copy: about this much (whole clusters) per work item. */
#define COMPRESS_CHUNK (1024 * 1024)
/* Below this, zero runs in data are written as data when the target does
 * not read as zeros already: one larger write beats a write, a zeroing
 * call and another write. */
#define ZERO_CALL_MIN (64 * 1024)
#define MAX_SLOTS 16
#define MAX_WORKERS 16
/* Buffers of a compressed copy stay under this. */
#define SLOT_BUDGET (40 * 1024 * 1024)
/* The largest cluster a target may ask us to write whole. */
#define MAX_CLUSTER (64 * 1024 * 1024)

enum kind {
  K_DATA, /* read and write */
  K_ZERO, /* reads as zeros */
  K_SKIP, /* left to the target's backing file */
};

struct item {
  uint64_t off; /* in the target */
  uint64_t len;
  enum kind kind;
};

/* Per-cluster outcome of a compressed work item. */
#define CL_ZERO ((size_t) -1)   /* all zeros: not written */
#define CL_SERIAL ((size_t) -2) /* the driver compresses as it writes */

enum { SLOT_FREE, SLOT_READ, SLOT_BUSY, SLOT_READY };

struct slot {
  int state;
  uint64_t seq;
  struct item it;
  uint8_t *buf;                /* chunk bytes */
  struct vd_convert_run *runs; /* uncompressed: data and zero runs */
  size_t nruns;
  uint8_t *cbuf; /* compressed: bound bytes per cluster */
  size_t *clen;  /* compressed: per cluster */
};

struct conv {
  vd_image *const *src;
  size_t nsrc;
  uint64_t *base; /* where each source starts in the target */
  vd_image *dst;
  uint64_t total;

  bool zero_init;
  bool keep_backing;
  bool no_sparse;
  bool compress;
  bool split;        /* the target compresses on our threads */
  bool cluster_mode; /* items are whole clusters (compressed, sequential) */
  bool out_of_order;
  uint64_t sparse;
  uint64_t dst_backing_size; /* zeros past here need no write (-B) */
  uint32_t cluster;
  size_t chunk;
  size_t bound;
  unsigned workers;
  bool pipeline; /* reader, compressors and writer on threads */

  /* The planner (reader thread only). */
  uint64_t pos;
  bool ext_valid;
  uint64_t ext_start, ext_end;
  enum kind ext_kind;

  vd_progress_fn progress;
  void *progress_opaque;
  uint64_t work_total, work_done;

  uint8_t *zeros; /* chunk bytes of zeros, for -S 0 */

  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct slot *slots;
  size_t nslots;
  uint64_t produced;
  bool producer_done;
  bool failed;
  int err;
  char *errmsg;
};

/* ---- zero runs ------------------------------------------------------- */

size_t
vd_convert_max_runs (size_t len, uint64_t block)
{
  if (block == 0)
    return 1;
  return len / block + 2;
}

size_t
vd_convert_zero_runs (const uint8_t *buf, size_t len, uint64_t off,
                      uint64_t block, struct vd_convert_run *runs)
{
  size_t n = 0, pos = 0;

  while (pos < len) {
    uint64_t o = off + pos;
    size_t blen = block - o % block; /* to the next block boundary */
    bool zero;

    if (blen > len - pos)
      blen = len - pos;
    zero = vd_is_zero (buf + pos, blen);
    if (n > 0 && runs[n - 1].zero == zero)
      runs[n - 1].len += blen;
    else {
      runs[n].off = pos;
      runs[n].len = blen;
      runs[n].zero = zero;
      n++;
    }
    pos += blen;
  }
  return n;
}

/* ---- errors across threads ------------------------------------------ */

/* Keep the first error (the message lives in the failing thread) and
 * stop everyone. */
static void
fail (struct conv *c)
{
  pthread_mutex_lock (&c->lock);
  if (!c->failed) {
    c->failed = true;
    c->err = vd_errno ();
    c->errmsg = strdup (vd_error ()[0] ? vd_error () : "convert failed");
  }
  pthread_cond_broadcast (&c->cond);
  pthread_mutex_unlock (&c->lock);
}

/* ---- extents --------------------------------------------------------- */

/* The source that holds target offset OFF (< total). */
static size_t
find_source (const struct conv *c, uint64_t off)
{
  size_t lo = 0, hi = c->nsrc;

  /* The last source starting at or before OFF: empty sources share their
   * start with the next one and are skipped this way. */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->base[mid] <= off)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* What the target range starting at OFF is, and where that ends. */
static int
classify (struct conv *c, uint64_t off, enum kind *kind, uint64_t *end)
{
  struct vd_extent e;
  size_t i;
  vd_image *img;
  uint64_t soff;
  enum kind k;

  if (c->ext_valid && off >= c->ext_start && off < c->ext_end) {
    *kind = c->ext_kind;
    *end = c->ext_end;
    return 0;
  }
  i = find_source (c, off);
  img = c->src[i];
  soff = off - c->base[i];
  if (c->keep_backing && vd_get_backing (img)) {
    /* Only the top layer: what it does not allocate, the target's new
     * backing file provides. */
    if (vd_block_status_top (img, soff, vd_get_size (img) - soff, &e) == -1)
      return -1;
    if (!(e.flags & VD_EXT_ALLOCATED))
      k = K_SKIP;
    else
      k = (e.flags & VD_EXT_ZERO) ? K_ZERO : K_DATA;
  }
  else {
    if (vd_block_status (img, soff, vd_get_size (img) - soff, &e) == -1)
      return -1;
    k = (e.flags & VD_EXT_ZERO) ? K_ZERO : K_DATA;
  }
  c->ext_start = off;
  c->ext_end = off + e.length;
  if (k == K_ZERO && c->keep_backing) {
    /* Past the end of the target's backing file, unallocated reads as
     * zeros: nothing to write there. */
    if (off >= c->dst_backing_size)
      k = K_SKIP;
    else if (c->ext_end > c->dst_backing_size)
      c->ext_end = c->dst_backing_size;
  }
  if (k == K_ZERO && c->no_sparse && c->cluster_mode)
    k = K_DATA; /* -S 0 -c: zeros are written as (compressed) data */
  c->ext_kind = k;
  c->ext_valid = true;
  *kind = k;
  *end = c->ext_end;
  return 0;
}

static uint64_t
round_up_to (uint64_t x, uint64_t a)
{
  uint64_t r = x % a;
  return r ? x + (a - r) : x;
}

/* The next item of the copy: 1, or 0 at the end, or -1. */
static int
plan_next (struct conv *c, struct item *it)
{
  uint64_t off = c->pos, end, e2, limit;
  enum kind k, k2;

  if (off >= c->total)
    return 0;
  if (classify (c, off, &k, &end) == -1)
    return -1;

  if (!c->cluster_mode) {
    limit = k == K_DATA ? MIN (off - off % c->chunk + c->chunk, c->total)
                        : c->total;
    while (end < limit) {
      if (classify (c, end, &k2, &e2) == -1)
        return -1;
      if (k2 != k)
        break;
      end = e2;
    }
    end = MIN (end, limit);
  }
  else {
    /* Whole clusters: a cluster any part of which is data is read whole
     * (and written once); OFF is always at a cluster boundary. */
    uint64_t first_end = MIN (off + c->cluster, c->total);
    uint64_t x;

    if (k != K_DATA && end >= first_end) {
      while (end < c->total) {
        if (classify (c, end, &k2, &e2) == -1)
          return -1;
        if (k2 != k)
          break;
        end = e2;
      }
      if (end < c->total)
        end = off + (end - off) / c->cluster * c->cluster;
      else
        end = c->total;
    }
    else {
      k = K_DATA;
      limit = MIN (off - off % c->chunk + c->chunk, c->total);
      x = off;
      while (x < limit) {
        if (classify (c, x, &k2, &e2) == -1)
          return -1;
        if (k2 == K_DATA) {
          x = MIN (round_up_to (e2, c->cluster), limit);
          continue;
        }
        if (x > off && e2 >= MIN (x + c->cluster, c->total))
          break; /* a cluster with no data: the item ends here */
        x = MIN (x + c->cluster, limit);
      }
      end = x;
    }
  }
  it->off = off;
  it->len = end - off;
  it->kind = k;
  c->pos = end;
  return 1;
}

static void
plan_reset (struct conv *c)
{
  c->pos = 0;
  c->ext_valid = false;
}

static bool
counts_as_work (const struct conv *c, const struct item *it)
{
  return it->kind == K_DATA || (it->kind == K_ZERO && c->no_sparse);
}

/* ---- reading, zero detection, compression ---------------------------- */

static int
read_range (struct conv *c, uint8_t *buf, uint64_t off, uint64_t len)
{
  while (len > 0) {
    size_t i = find_source (c, off);
    uint64_t soff = off - c->base[i];
    uint64_t n = MIN (len, vd_get_size (c->src[i]) - soff);

    if (vd_pread (c->src[i], buf, n, soff) == -1)
      return -1;
    buf += n;
    off += n;
    len -= n;
  }
  return 0;
}

static int
compress_slot (struct conv *c, struct slot *s)
{
  size_t i, n = DIV_ROUND_UP (s->it.len, c->cluster);

  for (i = 0; i < n; i++) {
    size_t at = i * c->cluster;
    size_t cl = MIN (c->cluster, s->it.len - at);
    const uint8_t *p = s->buf + at;

    if (!c->no_sparse && vd_is_zero (p, cl))
      s->clen[i] = CL_ZERO;
    else if (c->split) {
      size_t olen = 0;
      if (c->dst->fmt->compress (c->dst, p, cl, s->it.off + at,
                                 s->cbuf + i * c->bound, &olen)
          == -1)
        return -1;
      if (olen > c->bound) {
        vd_set_error (EIO,
                      _ ("%s: the %s driver compressed a cluster past its "
                         "bound"),
                      vd_get_filename (c->dst), vd_get_format (c->dst));
        return -1;
      }
      s->clen[i] = olen;
    }
    else
      s->clen[i] = CL_SERIAL;
  }
  return 0;
}

/* After the read: find zero runs, or compress. */
static int
process_slot (struct conv *c, struct slot *s)
{
  if (s->it.kind != K_DATA)
    return 0;
  if (c->compress)
    return compress_slot (c, s);
  if (c->no_sparse) {
    s->runs[0].off = 0;
    s->runs[0].len = s->it.len;
    s->runs[0].zero = false;
    s->nruns = 1;
    return 0;
  }
  s->nruns =
      vd_convert_zero_runs (s->buf, s->it.len, s->it.off,
                            c->cluster_mode ? c->cluster : c->sparse, s->runs);
  return 0;
}

/* ---- writing --------------------------------------------------------- */

static int
write_zeros (struct conv *c, uint64_t off, uint64_t len)
{
  if (len == 0)
    return 0;
  if (c->no_sparse) {
    /* -S 0: the target is to be fully allocated. */
    while (len > 0) {
      size_t n = MIN (len, c->chunk);
      if (vd_pwrite (c->dst, c->zeros, n, off) == -1)
        return -1;
      off += n;
      len -= n;
    }
    return 0;
  }
  if (c->zero_init)
    return 0;
  return vd_zero (c->dst, off, len, VD_ZERO_MAY_UNMAP);
}

static int
write_runs (struct conv *c, struct slot *s)
{
  size_t i, pstart = 0, pend = 0; /* pending data [pstart, pend) */
  bool pending = false;

  for (i = 0; i < s->nruns; i++) {
    const struct vd_convert_run *r = &s->runs[i];

    if (r->zero
        && (c->zero_init || c->cluster_mode || r->len >= ZERO_CALL_MIN)) {
      if (pending
          && vd_pwrite (c->dst, s->buf + pstart, pend - pstart,
                        s->it.off + pstart)
                 == -1)
        return -1;
      pending = false;
      if (!c->zero_init
          && vd_zero (c->dst, s->it.off + r->off, r->len, VD_ZERO_MAY_UNMAP)
                 == -1)
        return -1;
      continue;
    }
    if (!pending)
      pstart = r->off;
    pending = true;
    pend = r->off + r->len;
  }
  if (pending
      && vd_pwrite (c->dst, s->buf + pstart, pend - pstart, s->it.off + pstart)
             == -1)
    return -1;
  return 0;
}

static int
write_compressed (struct conv *c, struct slot *s)
{
  size_t i, n = DIV_ROUND_UP (s->it.len, c->cluster);
  uint64_t zstart = 0, zlen = 0; /* pending zero range */

  for (i = 0; i < n; i++) {
    size_t at = i * c->cluster;
    size_t cl = MIN (c->cluster, s->it.len - at);
    uint64_t o = s->it.off + at;
    const uint8_t *p = s->buf + at;
    int r;

    if (s->clen[i] == CL_ZERO) {
      if (zlen == 0)
        zstart = o;
      zlen += cl;
      continue;
    }
    if (write_zeros (c, zstart, zlen) == -1)
      return -1;
    zlen = 0;
    if (s->clen[i] == CL_SERIAL)
      r = vd_pwrite_compressed (c->dst, p, cl, o);
    else
      r = c->dst->fmt->pwrite_precompressed (
          c->dst, p, cl, o, s->clen[i] ? s->cbuf + i * c->bound : NULL,
          s->clen[i]);
    if (r == -1)
      return -1;
  }
  return write_zeros (c, zstart, zlen);
}

static int
write_slot (struct conv *c, struct slot *s)
{
  switch (s->it.kind) {
  case K_SKIP: return 0;
  case K_ZERO: return write_zeros (c, s->it.off, s->it.len);
  case K_DATA: return c->compress ? write_compressed (c, s) : write_runs (c, s);
  }
  return 0;
}

static void
report (struct conv *c, const struct item *it)
{
  if (!c->progress || !counts_as_work (c, it))
    return;
  c->work_done += it->len;
  c->progress (c->progress_opaque, MIN (c->work_done, c->work_total),
               c->work_total);
}

/* ---- the pipeline ---------------------------------------------------- */

static void *
reader_main (void *arg)
{
  struct conv *c = arg;
  uint64_t seq = 0;
  struct item it;
  int r;

  for (;;) {
    struct slot *s = &c->slots[seq % c->nslots];

    r = plan_next (c, &it);
    if (r <= 0)
      break;
    pthread_mutex_lock (&c->lock);
    while (s->state != SLOT_FREE && !c->failed)
      pthread_cond_wait (&c->cond, &c->lock);
    if (c->failed) {
      pthread_mutex_unlock (&c->lock);
      break;
    }
    pthread_mutex_unlock (&c->lock);
    s->it = it;
    s->seq = seq;
    if (it.kind == K_DATA && read_range (c, s->buf, it.off, it.len) == -1) {
      r = -1;
      break;
    }
    if (!c->compress && process_slot (c, s) == -1) {
      r = -1;
      break;
    }
    pthread_mutex_lock (&c->lock);
    s->state = (c->compress && it.kind == K_DATA) ? SLOT_READ : SLOT_READY;
    c->produced = ++seq;
    pthread_cond_broadcast (&c->cond);
    pthread_mutex_unlock (&c->lock);
  }
  if (r == -1)
    fail (c);
  pthread_mutex_lock (&c->lock);
  c->producer_done = true;
  pthread_cond_broadcast (&c->cond);
  pthread_mutex_unlock (&c->lock);
  return NULL;
}

static void *
worker_main (void *arg)
{
  struct conv *c = arg;

  pthread_mutex_lock (&c->lock);
  while (!c->failed) {
    struct slot *s = NULL;
    size_t i;
    int r;

    for (i = 0; i < c->nslots; i++)
      if (c->slots[i].state == SLOT_READ && (!s || c->slots[i].seq < s->seq))
        s = &c->slots[i];
    if (!s) {
      if (c->producer_done)
        break;
      pthread_cond_wait (&c->cond, &c->lock);
      continue;
    }
    s->state = SLOT_BUSY;
    pthread_mutex_unlock (&c->lock);
    r = process_slot (c, s);
    if (r == -1)
      fail (c);
    pthread_mutex_lock (&c->lock);
    s->state = SLOT_READY;
    pthread_cond_broadcast (&c->cond);
  }
  pthread_mutex_unlock (&c->lock);
  return NULL;
}

/* The calling thread writes, in order (or as items are ready, -W). */
static void
writer_loop (struct conv *c)
{
  uint64_t next = 0, written = 0;

  pthread_mutex_lock (&c->lock);
  while (!c->failed) {
    struct slot *s = NULL;
    int r;

    if (c->out_of_order) {
      size_t i;
      for (i = 0; i < c->nslots; i++)
        if (c->slots[i].state == SLOT_READY && (!s || c->slots[i].seq < s->seq))
          s = &c->slots[i];
    }
    else {
      struct slot *t = &c->slots[next % c->nslots];
      if (t->state == SLOT_READY && t->seq == next)
        s = t;
    }
    if (!s) {
      if (c->producer_done && written == c->produced)
        break;
      pthread_cond_wait (&c->cond, &c->lock);
      continue;
    }
    pthread_mutex_unlock (&c->lock);
    r = write_slot (c, s);
    if (r == 0)
      report (c, &s->it);
    else
      fail (c);
    pthread_mutex_lock (&c->lock);
    s->state = SLOT_FREE;
    written++;
    next++;
    pthread_cond_broadcast (&c->cond);
  }
  pthread_mutex_unlock (&c->lock);
}

static int
run_serial (struct conv *c)
{
  struct slot *s = &c->slots[0];
  int r;

  while ((r = plan_next (c, &s->it)) > 0) {
    if (s->it.kind == K_DATA
        && (read_range (c, s->buf, s->it.off, s->it.len) == -1
            || process_slot (c, s) == -1))
      return -1;
    if (write_slot (c, s) == -1)
      return -1;
    report (c, &s->it);
  }
  return r;
}

static int
run_threads (struct conv *c)
{
  pthread_t reader, workers[MAX_WORKERS];
  unsigned nworkers = 0, i;
  int e;

  e = pthread_create (&reader, NULL, reader_main, c);
  if (e != 0) {
    vd_set_error (e, _ ("cannot start a thread: %s"), strerror (e));
    return -1;
  }
  if (c->compress) {
    for (i = 0; i < c->workers; i++) {
      e = pthread_create (&workers[i], NULL, worker_main, c);
      if (e != 0) {
        vd_set_error (e, _ ("cannot start a thread: %s"), strerror (e));
        fail (c);
        break;
      }
      nworkers++;
    }
  }
  writer_loop (c);
  /* The writer stops early only on failure, which wakes everyone. */
  pthread_join (reader, NULL);
  for (i = 0; i < nworkers; i++)
    pthread_join (workers[i], NULL);
  return c->failed ? -1 : 0;
}

/* ---- set-up ---------------------------------------------------------- */

static void
free_slots (struct conv *c)
{
  size_t i;

  if (!c->slots)
    return;
  for (i = 0; i < c->nslots; i++) {
    free (c->slots[i].buf);
    free (c->slots[i].runs);
    free (c->slots[i].cbuf);
    free (c->slots[i].clen);
  }
  free (c->slots);
  c->slots = NULL;
}

static void *
alloc_buffer (size_t n)
{
  void *p = NULL;
  int e = posix_memalign (&p, 4096, n ? n : 1);

  if (e != 0) {
    vd_set_error (e, _ ("out of memory"));
    return NULL;
  }
  return p;
}

static int
alloc_slots (struct conv *c)
{
  size_t i, nclusters = 0, per_slot;

  if (c->compress) {
    nclusters = c->chunk / c->cluster;
    per_slot = c->chunk + nclusters * (c->bound + sizeof (size_t));
    c->nslots = MIN (MAX (2 * (size_t) c->workers + 2, 4), MAX_SLOTS);
    while (c->nslots > 3 && c->nslots * per_slot > SLOT_BUDGET)
      c->nslots--;
  }
  if (!c->pipeline)
    c->nslots = 1;
  c->slots = vd_calloc (c->nslots, sizeof *c->slots);
  if (!c->slots)
    return -1;
  for (i = 0; i < c->nslots; i++) {
    struct slot *s = &c->slots[i];
    /* Buffers are not touched until used: a small copy stays small. */
    if (!(s->buf = alloc_buffer (c->chunk)))
      return -1;
    if (c->compress) {
      if (!(s->clen = vd_calloc (nclusters, sizeof *s->clen)))
        return -1;
      if (c->split && !(s->cbuf = alloc_buffer (nclusters * c->bound)))
        return -1;
    }
    else if (!(s->runs = vd_calloc (
                   vd_convert_max_runs (c->chunk, c->cluster_mode ? c->cluster
                                                                  : c->sparse),
                   sizeof *s->runs)))
      return -1;
  }
  return 0;
}

static unsigned
nr_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned) n;
}

int
vd_convert_images (vd_image *const *src, size_t nsrc, vd_image *dst,
                   const struct vd_convert_params *p)
{
  struct conv c;
  uint64_t total = 0;
  size_t i;
  int r = -1;
  unsigned threads;

  memset (&c, 0, sizeof c);
  if (nsrc == 0) {
    vd_set_error (EINVAL, _ ("nothing to convert: no source image"));
    return -1;
  }
  c.base = vd_calloc (nsrc, sizeof *c.base);
  if (!c.base)
    return -1;
  for (i = 0; i < nsrc; i++) {
    c.base[i] = total;
    if (vd_add_overflow (total, vd_get_size (src[i]), &total)
        || total > VD_MAX_IMAGE_SIZE) {
      vd_set_error (EFBIG,
                    _ ("%s: the sources add up to more than %" PRIu64 " bytes"),
                    vd_get_filename (src[i]), (uint64_t) VD_MAX_IMAGE_SIZE);
      free (c.base);
      return -1;
    }
  }
  if (vd_get_size (dst) < total) {
    vd_set_error (ENOSPC,
                  _ ("%s: the target (%" PRIu64 " bytes) is smaller than "
                     "the source (%" PRIu64 " bytes)"),
                  vd_get_filename (dst), vd_get_size (dst), total);
    free (c.base);
    return -1;
  }

  c.src = src;
  c.nsrc = nsrc;
  c.dst = dst;
  c.total = total;
  c.zero_init = p->zero_init;
  c.keep_backing = p->keep_backing;
  c.no_sparse = p->flags & VD_CONVERT_NO_SPARSE;
  c.sparse = p->sparse_size ? p->sparse_size : 4096;
  c.compress = p->flags & VD_CONVERT_COMPRESS;
  c.progress = p->progress;
  c.progress_opaque = p->progress_opaque;
  c.dst_backing_size =
      vd_get_backing (dst) ? vd_get_size (vd_get_backing (dst)) : 0;
  if (c.compress && !vd_can_compress (dst)) {
    vd_set_error (ENOTSUP,
                  _ ("%s: format '%s' does not support compressed writes "
                     "(-c)"),
                  vd_get_filename (dst), vd_get_format (dst));
    goto out;
  }
  c.cluster_mode = c.compress || vd_is_sequential_only (dst);
  /* A target written strictly in order gets everything in order. */
  c.out_of_order = (p->flags & VD_CONVERT_OUT_OF_ORDER) && c.compress
                   && !vd_is_sequential_only (dst);
  if (c.cluster_mode) {
    c.cluster = vd_get_cluster_size (dst);
    if (c.cluster == 0)
      c.cluster = 512;
    if (c.cluster > MAX_CLUSTER) {
      vd_set_error (EINVAL,
                    _ ("%s: cluster size %" PRIu32 " is too large to "
                       "convert into"),
                    vd_get_filename (dst), c.cluster);
      goto out;
    }
    {
      size_t want = c.compress ? COMPRESS_CHUNK : CHUNK;
      c.chunk = c.cluster >= want ? c.cluster : want - want % c.cluster;
    }
  }
  else
    c.chunk = CHUNK;
  if (vd_is_sequential_only (dst) && !c.zero_init) {
    vd_set_error (EINVAL,
                  _ ("%s: a '%s' image can only be written once, in order, "
                     "into a new file; it cannot be written in place"),
                  vd_get_filename (dst), vd_get_format (dst));
    goto out;
  }
  c.split = c.compress && dst->fmt->compress && dst->fmt->compress_bound
            && dst->fmt->pwrite_precompressed;
  if (c.split)
    c.bound = dst->fmt->compress_bound (dst, c.cluster);

  /* Threads pay for compression only: an uncompressed copy is faster as
   * one loop of large reads and writes than as reader and writer threads
   * handing buffers across cores (measured: bench/README). */
  threads = p->threads ? p->threads : nr_cpus ();
  c.workers = MIN (MIN (threads, nr_cpus ()), MAX_WORKERS);
  if (!c.split)
    c.workers = 1; /* the writer compresses: one helper suffices */
  c.pipeline = c.compress && threads > 1;

  if (pthread_mutex_init (&c.lock, NULL) != 0
      || pthread_cond_init (&c.cond, NULL) != 0) {
    vd_set_error (ENOMEM, _ ("cannot set up threads"));
    goto out;
  }
  if (alloc_slots (&c) == -1)
    goto out_locks;
  if (c.no_sparse && !(c.zeros = vd_calloc (1, c.chunk)))
    goto out_locks;

  if (c.progress) {
    /* Count the work first (cheap: extents only). */
    struct item it;
    int pr;
    while ((pr = plan_next (&c, &it)) > 0)
      if (counts_as_work (&c, &it))
        c.work_total += it.len;
    if (pr == -1)
      goto out_locks;
    plan_reset (&c);
    c.progress (c.progress_opaque, 0, c.work_total);
  }

  r = c.pipeline ? run_threads (&c) : run_serial (&c);
  if (r == -1 && c.failed)
    vd_set_error (c.err, "%s", c.errmsg ? c.errmsg : _ ("convert failed"));
  if (r == 0 && c.progress)
    c.progress (c.progress_opaque, c.work_total, c.work_total);

out_locks:
  pthread_mutex_destroy (&c.lock);
  pthread_cond_destroy (&c.cond);
out:
  free_slots (&c);
  free (c.zeros);
  free (c.errmsg);
  free (c.base);
  return r;
}

/* ---- vd_convert: sources, target, temporary file --------------------- */

/* The maximum -S qemu-img accepts. */
#define MAX_SPARSE_SIZE (16 * 1024 * 1024)

static bool
has_create_opt (const struct vd_format_ops *fmt, const char *name)
{
  const struct vd_create_opt_desc *d;

  for (d = fmt->create_opts; d && d->name; d++)
    if (strcmp (d->name, name) == 0)
      return true;
  return false;
}

/* An option's value without marking it used (the format's create does). */
static const char *
peek_opt (const struct vd_opts *opts, const char *key)
{
  size_t i;

  for (i = 0; opts && i < opts->n; i++)
    if (strcmp (opts->v[i].key, key) == 0)
      return opts->v[i].value;
  return NULL;
}

/* Where a backing file named NAME in an image at PATH lies. */
static char *
backing_path (const char *path, const char *name)
{
  CLEANUP_FREE char *copy = vd_strdup (path);
  char *r;

  if (!copy)
    return NULL;
  if (name[0] == '/')
    return vd_strdup (name);
  if (asprintf (&r, "%s/%s", dirname (copy), name) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  return r;
}

/* The create options: the caller's, plus the backing file.  An unrecorded
 * backing format is probed, but never guessed as raw (the image would
 * then be read as whatever its content looks like). */
static int
target_opts (const struct vd_convert_request *req,
             const struct vd_format_ops *fmt, const char *path,
             struct vd_opts *opts)
{
  const char *backing, *bfmt;
  size_t i;

  for (i = 0; req->target_opts && i < req->target_opts->n; i++)
    if (vd_opts_set (opts, req->target_opts->v[i].key,
                     req->target_opts->v[i].value)
        == -1)
      return -1;
  backing = req->backing ? req->backing : peek_opt (opts, "backing_file");
  bfmt = req->backing_format ? req->backing_format
                             : peek_opt (opts, "backing_fmt");
  if (!backing)
    return 0;
  if (!has_create_opt (fmt, "backing_file")) {
    vd_set_error (ENOTSUP,
                  _ ("%s: format '%s' cannot have a backing file (-B)"),
                  req->target, fmt->name);
    return -1;
  }
  if (vd_opts_set (opts, "backing_file", backing) == -1)
    return -1;
  if (!bfmt) {
    CLEANUP_FREE char *bpath = backing_path (path, backing);
    if (!bpath)
      return -1;
    bfmt = vd_probe_file (bpath);
    if (!bfmt) {
      vd_set_error (vd_errno (), _ ("%s: cannot open the backing file: %s"),
                    req->target, vd_error ());
      return -1;
    }
    if (strcmp (bfmt, "raw") == 0) {
      vd_set_error (EINVAL,
                    _ ("%s: the backing file '%s' probes as raw; give its "
                       "format with -F"),
                    req->target, backing);
      return -1;
    }
  }
  if (has_create_opt (fmt, "backing_fmt")
      && vd_opts_set (opts, "backing_fmt", bfmt) == -1)
    return -1;
  return 0;
}

/* A private temporary file beside PATH, registered for removal on a
 * signal.  Signals are held off between its creation and its
 * registration, so an interrupt cannot leave it behind.  Messages about
 * it name NAME. */
static struct vd_io *
create_temp (const char *path, const char *name, mode_t mode, char **tmpname)
{
  CLEANUP_FREE char *d = vd_strdup (path);
  CLEANUP_FREE char *b = vd_strdup (path);
  sigset_t block, old;
  char *t;
  int fd, e;
  struct vd_io *io;

  if (!d || !b)
    return NULL;
  if (asprintf (&t, "%s/.%s.vdtmp-XXXXXX", dirname (d), basename (b)) == -1) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  sigemptyset (&block);
  sigaddset (&block, SIGINT);
  sigaddset (&block, SIGTERM);
  sigaddset (&block, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &block, &old);
  fd = mkostemp (t, O_CLOEXEC);
  e = errno;
  if (fd >= 0)
    vd_register_temp_file (t);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (fd == -1) {
    vd_set_error (e, _ ("%s: cannot create a file in that folder: %s"), name,
                  strerror (e));
    free (t);
    return NULL;
  }
  if (fchmod (fd, mode) == -1) {
    /* not fatal: the file keeps mkstemp's 0600 */
  }
  close (fd);
  io = vd_io_file_open (t, VD_OPEN_RDWR | VD_OPEN_NO_LOCK);
  if (!io) {
    unlink (t);
    vd_unregister_temp_file (t);
    free (t);
    return NULL;
  }
  /* Write errors name the target the user gave, not our private name. */
  free (io->name);
  if (!(io->name = vd_strdup (name))) {
    vd_io_close (io);
    unlink (t);
    vd_unregister_temp_file (t);
    free (t);
    return NULL;
  }
  *tmpname = t;
  return io;
}

/* -t unsafe (the default, as in qemu-img): never wait for the disk.
 * The driver still writes all its metadata on close. */
static void
skip_sync (struct vd_io *io, struct vd_io_ops *copy)
{
  *copy = *io->ops;
  copy->flush = NULL;
  io->ops = copy;
}

static int
sync_dir (const char *path)
{
  CLEANUP_FREE char *d = vd_strdup (path);
  int fd;

  if (!d)
    return -1;
  fd = open (dirname (d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd == -1)
    return 0; /* best effort */
  fsync (fd);
  close (fd);
  return 0;
}

static int
check_request (const struct vd_convert_request *req)
{
  const char *backing = req->backing;

  if (!backing && !(req->flags & VD_CONVERT_NO_CREATE))
    backing = peek_opt (req->target_opts, "backing_file");
  if (req->nr_sources == 0 || !req->sources || !req->target) {
    vd_set_error (EINVAL, _ ("convert needs a source and a target"));
    return -1;
  }
  if ((req->flags & VD_CONVERT_TARGET_IS_ZERO)
      && !(req->flags & VD_CONVERT_NO_CREATE)) {
    vd_set_error (EINVAL, _ ("--target-is-zero requires use of -n flag"));
    return -1;
  }
  if ((req->flags & VD_CONVERT_NO_CREATE) && req->target_opts
      && req->target_opts->n > 0) {
    vd_set_error (EINVAL, _ ("-o has no effect when skipping image creation"));
    return -1;
  }
  if ((req->flags & VD_CONVERT_TARGET_IS_ZERO) && backing) {
    vd_set_error (EINVAL, _ ("Cannot use --target-is-zero when the "
                             "destination image has a backing file"));
    return -1;
  }
  if (backing && req->nr_sources > 1) {
    vd_set_error (EINVAL, _ ("Having a backing file for the target makes no "
                             "sense when concatenating multiple input "
                             "images"));
    return -1;
  }
  if (req->sparse_size % 512 != 0 || req->sparse_size > MAX_SPARSE_SIZE) {
    vd_set_error (EINVAL,
                  _ ("invalid sparse size %" PRIu64 ": it must be a "
                     "multiple of 512 up to %d"),
                  req->sparse_size, MAX_SPARSE_SIZE);
    return -1;
  }
  if (req->flags & VD_CONVERT_COMPRESS) {
    const char *prealloc = peek_opt (req->target_opts, "preallocation");
    if (prealloc && strcmp (prealloc, "off") != 0) {
      vd_set_error (EINVAL, _ ("Compression and preallocation not supported "
                               "at the same time"));
      return -1;
    }
  }
  return 0;
}

int
vd_convert (const struct vd_convert_request *req)
{
  const char *format = req->target_format ? req->target_format : "raw";
  const struct vd_format_ops *fmt;
  vd_image **src = NULL;
  vd_image *dst = NULL;
  struct vd_opts opts = { 0 };
  struct vd_io_ops nosync;
  struct vd_convert_params p;
  struct stat st;
  char *tmp = NULL, *path = NULL;
  bool in_place = false, flush = req->flags & VD_CONVERT_FLUSH;
  unsigned src_flags, dst_flags;
  mode_t mode;
  uint64_t total = 0;
  size_t i;
  int r = -1;

  if (check_request (req) == -1)
    return -1;
  fmt = vd_find_format (format);
  if (!fmt) {
    vd_set_error (EINVAL, _ ("Unknown file format '%s'"), format);
    return -1;
  }
  if ((req->flags & VD_CONVERT_COMPRESS) && !fmt->pwrite_compressed) {
    vd_set_error (ENOTSUP,
                  _ ("%s: format '%s' does not support compressed writes "
                     "(-c)"),
                  req->target, format);
    return -1;
  }

  src_flags =
      req->source_flags
      & (VD_OPEN_NO_LOCK | VD_OPEN_UNSAFE_PATHS | VD_OPEN_PROBE_RAW_BACKING);
  src = vd_calloc (req->nr_sources, sizeof *src);
  if (!src)
    return -1;
  for (i = 0; i < req->nr_sources; i++) {
    src[i] = vd_open (req->sources[i], req->source_format, src_flags);
    if (!src[i])
      goto out;
    if (vd_add_overflow (total, vd_get_size (src[i]), &total)
        || total > VD_MAX_IMAGE_SIZE) {
      vd_set_error (EFBIG, _ ("%s: the sources add up to too many bytes"),
                    req->sources[i]);
      goto out;
    }
  }

  /* The backing file and every name in the new image are the user's own:
   * no folder restriction on them. */
  dst_flags = VD_OPEN_RDWR | VD_OPEN_UNSAFE_PATHS;
  memset (&p, 0, sizeof p);

  if (req->flags & VD_CONVERT_NO_CREATE) {
    dst = vd_open (req->target, format, dst_flags);
    if (!dst)
      goto out;
    if (vd_get_size (dst) < total) {
      vd_set_error (ENOSPC,
                    _ ("%s: output file is smaller than input file (%" PRIu64
                       " < %" PRIu64 " bytes)"),
                    req->target, vd_get_size (dst), total);
      goto out;
    }
    if (!flush)
      skip_sync (dst->io, &nosync);
    p.zero_init = req->flags & VD_CONVERT_TARGET_IS_ZERO;
  }
  else {
    struct vd_io *io;

    path = vd_strdup (req->target);
    if (!path)
      goto out;
    mode = umask (0);
    umask (mode);
    mode = 0666 & ~mode;
    if (lstat (path, &st) == 0) {
      if (S_ISLNK (st.st_mode)) {
        /* Write where the link points (as qemu-img does), keeping the
         * link. */
        char *real = realpath (path, NULL);
        if (real) {
          free (path);
          path = real;
        }
        if (stat (path, &st) == -1)
          st.st_mode = S_IFREG | mode; /* a dangling link: replace it */
      }
      if (S_ISDIR (st.st_mode)) {
        vd_set_error (EISDIR, _ ("%s: is a directory"), req->target);
        goto out;
      }
      if (S_ISBLK (st.st_mode))
        in_place = true;
      else if (!S_ISREG (st.st_mode)) {
        vd_set_error (EINVAL,
                      _ ("%s: not a regular file or block device; refusing "
                         "to replace it"),
                      req->target);
        goto out;
      }
      else {
        /* Never swap the disk of a running VM under it. */
        struct vd_io *old = vd_io_file_open (path, VD_OPEN_RDWR);
        if (!old && vd_errno () == EBUSY)
          goto out;
        vd_io_close (old);
        mode = st.st_mode & 07777;
      }
    }
    if (target_opts (req, fmt, path, &opts) == -1)
      goto out;
    if (in_place) {
      io = vd_io_file_open (path, VD_OPEN_RDWR);
    }
    else
      io = create_temp (path, req->target, mode, &tmp);
    if (!io)
      goto out;
    if (!flush)
      skip_sync (io, &nosync);
    if (vd_create_io (io, path, format, total, &opts) == -1) {
      vd_io_close (io);
      goto out;
    }
    dst = vd_open_io (io, path, format, dst_flags | VD_OPEN_NO_LOCK);
    if (!dst)
      goto out;
    /* A new image reads as zeros, unless it has a backing file or lives
     * on a device that held something before. */
    p.zero_init = !in_place && !vd_get_backing (dst);
  }

  p.sparse_size = req->sparse_size;
  p.threads = req->threads;
  p.flags = req->flags;
  p.keep_backing =
      req->backing
      || (!(req->flags & VD_CONVERT_NO_CREATE) && vd_get_backing (dst));
  p.progress = req->progress;
  p.progress_opaque = req->progress_opaque;
  if (vd_convert_images (src, req->nr_sources, dst, &p) == -1)
    goto out;
  r = vd_close (dst);
  dst = NULL;
  if (r == 0 && tmp) {
    r = vd_commit_temp (tmp, path, true);
    if (r == 0 && flush)
      sync_dir (path);
  }

out:
  if (dst) {
    /* Keep the first error, not what closing the broken target says. */
    int e = vd_errno ();
    char *msg = strdup (vd_error ());
    vd_close (dst);
    if (msg) {
      vd_set_error (e, "%s", msg);
      free (msg);
    }
  }
  if (tmp) {
    if (r == -1)
      unlink (tmp);
    vd_unregister_temp_file (tmp);
    free (tmp);
  }
  for (i = 0; src && i < req->nr_sources; i++)
    vd_close (src[i]);
  free (src);
  free (path);
  vd_opts_free (&opts);
  return r;
}
