/* The copy engine of vd_convert (convert.c), split out so that unit
 * tests can run it on images open on the memory backend and test the
 * zero-run detection on its own.  Not for tools: they call vd_convert.
 */
#ifndef VD_CONVERT_H
#define VD_CONVERT_H

#include "vd-internal.h"

/* A run of data or zeros inside a buffer: OFF and LEN relative to the
 * start of the buffer. */
struct vd_convert_run {
  size_t off;
  size_t len;
  bool zero;
};

/* The most runs vd_convert_zero_runs can return for LEN bytes. */
size_t vd_convert_max_runs (size_t len, uint64_t block);

/* Split BUF (LEN bytes that land at offset OFF of the target) into runs
 * of data and of zeros.  The buffer is looked at in blocks of BLOCK bytes
 * aligned to multiples of BLOCK in the target (the first and last block
 * may be partial); an all-zero block is zeros.  Neighbouring runs of the
 * same kind are merged, so runs alternate.  RUNS must have room for
 * vd_convert_max_runs (LEN, BLOCK) entries.  Returns the count (0 when
 * LEN is 0). */
size_t vd_convert_zero_runs (const uint8_t *buf, size_t len, uint64_t off,
                             uint64_t block, struct vd_convert_run *runs);

/* What the copy does, decided by vd_convert from the request and the
 * target. */
struct vd_convert_params {
  uint64_t sparse_size; /* zero-block size in data (> 0) */
  unsigned threads;     /* 1: everything on the calling thread */
  unsigned flags;       /* VD_CONVERT_* */
  bool zero_init;       /* the target reads as zeros before the copy */
  bool keep_backing;    /* leave ranges the sources' top layer does not
                           allocate to the target's backing file */
  vd_progress_fn progress;
  void *progress_opaque;
};

/* Copy the NSRC images, one after the other, into DST (at least as large
 * as their sum).  Returns 0 or -1 with the error set. */
int vd_convert_images (vd_image *const *src, size_t nsrc, vd_image *dst,
                       const struct vd_convert_params *p);

#endif /* VD_CONVERT_H */
