/* qcow2: compressed clusters.  Raw deflate (zlib, window of 4 KiB on
 * write as qemu uses) and zstd.  Decompression must produce exactly one
 * cluster: never more output than that, whatever the input claims, and
 * zstd frames asking for a window larger than a cluster could need are
 * refused.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "qcow2.h"

/* Compression contexts are kept per thread and reused (pwrite_compressed
 * compresses outside the image lock, so callers may compress in
 * parallel; setting up a deflate stream per cluster costs more than a
 * tenth of the compression). */
struct cctx {
  z_stream z;
  bool z_ready;
  ZSTD_CCtx *zc;
};

static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void
cctx_free (void *p)
{
  struct cctx *c = p;

  if (c->z_ready)
    deflateEnd (&c->z);
  ZSTD_freeCCtx (c->zc);
  free (c);
}

static void
cctx_key_init (void)
{
  pthread_key_create (&cctx_key, cctx_free);
}

static struct cctx *
thread_cctx (void)
{
  struct cctx *c;

  pthread_once (&cctx_once, cctx_key_init);
  c = pthread_getspecific (cctx_key);
  if (!c) {
    c = calloc (1, sizeof *c);
    if (!c || pthread_setspecific (cctx_key, c) != 0) {
      free (c);
      vd_set_error (ENOMEM, _ ("out of memory"));
      return NULL;
    }
  }
  return c;
}

int64_t
qcow2_compress (int type, uint8_t *out, size_t cap, const uint8_t *in,
                size_t len)
{
  struct cctx *c = thread_cctx ();

  if (!c)
    return -1;
  if (type == QCOW2_COMPRESSION_ZLIB) {
    z_stream *z = &c->z;
    int r;

    if (!c->z_ready) {
      memset (z, 0, sizeof *z);
      /* As qemu: raw deflate, 4 KiB window. */
      if (deflateInit2 (z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                        Z_DEFAULT_STRATEGY)
          != Z_OK) {
        vd_set_error (ENOMEM, _ ("cannot start zlib compression"));
        return -1;
      }
      c->z_ready = true;
    }
    else if (deflateReset (z) != Z_OK) {
      vd_set_error (EIO, _ ("cannot restart zlib compression"));
      return -1;
    }
    z->next_in = (Bytef *) in;
    z->avail_in = len;
    z->next_out = out;
    z->avail_out = cap;
    r = deflate (z, Z_FINISH);
    if (r == Z_STREAM_END)
      return (int64_t) (cap - z->avail_out);
    if (r == Z_OK || r == Z_BUF_ERROR)
      return 0; /* does not fit: store the cluster as it is */
    vd_set_error (EIO, _ ("zlib compression failed (%d)"), r);
    return -1;
  }
  else {
    size_t r;

    if (!c->zc && !(c->zc = ZSTD_createCCtx ())) {
      vd_set_error (ENOMEM, _ ("cannot start zstd compression"));
      return -1;
    }
    r = ZSTD_compressCCtx (c->zc, out, cap, in, len, ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError (r)) {
      if (ZSTD_getErrorCode (r) == ZSTD_error_dstSize_tooSmall)
        return 0;
      vd_set_error (EIO, _ ("zstd compression failed: %s"),
                    ZSTD_getErrorName (r));
      return -1;
    }
    return (int64_t) r;
  }
}

static int
inflate_cluster (uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
  z_stream z;
  int r;

  memset (&z, 0, sizeof z);
  /* Any raw deflate stream (qemu writes a 4 KiB window; 32 KiB covers
   * every encoder). */
  if (inflateInit2 (&z, -15) != Z_OK) {
    vd_set_error (ENOMEM, _ ("cannot start zlib decompression"));
    return -1;
  }
  z.next_in = (Bytef *) in;
  z.avail_in = inlen;
  z.next_out = out;
  z.avail_out = outlen;
  r = inflate (&z, Z_FINISH);
  inflateEnd (&z);
  if ((r == Z_STREAM_END || r == Z_BUF_ERROR) && z.avail_out == 0)
    return 0;
  if (r == Z_STREAM_END)
    vd_set_error (EIO, _ ("deflate data ends %zu bytes short of a cluster"),
                  (size_t) z.avail_out);
  else
    vd_set_error (EIO, _ ("bad deflate data (%s)"),
                  z.msg ? z.msg : "truncated");
  return -1;
}

static int
unzstd_cluster (struct qcow2 *s, uint8_t *out, size_t outlen, const uint8_t *in,
                size_t inlen)
{
  ZSTD_inBuffer ib = { in, inlen, 0 };
  ZSTD_outBuffer ob = { out, outlen, 0 };
  ZSTD_DCtx *d = s->zstd_dctx;

  if (!d) {
    d = ZSTD_createDCtx ();
    if (!d) {
      vd_set_error (ENOMEM, _ ("cannot start zstd decompression"));
      return -1;
    }
    /* A 2 MiB cluster needs at most a 2^21 window. */
    ZSTD_DCtx_setParameter (d, ZSTD_d_windowLogMax, 22);
    s->zstd_dctx = d;
  }
  ZSTD_DCtx_reset (d, ZSTD_reset_session_only);
  while (ob.pos < ob.size) {
    size_t in_before = ib.pos, out_before = ob.pos;
    size_t r = ZSTD_decompressStream (d, &ob, &ib);

    if (ZSTD_isError (r)) {
      vd_set_error (EIO, _ ("bad zstd data (%s)"), ZSTD_getErrorName (r));
      return -1;
    }
    if (ob.pos < ob.size && ib.pos == in_before && ob.pos == out_before) {
      vd_set_error (EIO, _ ("zstd data ends %zu bytes short of a cluster"),
                    ob.size - ob.pos);
      return -1;
    }
  }
  return 0;
}

int
qcow2_decompress (struct qcow2 *s, uint8_t *out, size_t outlen,
                  const uint8_t *in, size_t inlen)
{
  if (s->compression == QCOW2_COMPRESSION_ZSTD)
    return unzstd_cluster (s, out, outlen, in, inlen);
  return inflate_cluster (out, outlen, in, inlen);
}

void
qcow2_decompress_free (struct qcow2 *s)
{
  ZSTD_freeDCtx (s->zstd_dctx);
  s->zstd_dctx = NULL;
}
