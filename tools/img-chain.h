/* Helpers shared by vd-img's backing-chain subcommands (map, compare,
 * commit, rebase): walking a chain's extents the way qemu-img does, and
 * copying ranges between images.
 */
#ifndef VD_IMG_CHAIN_H
#define VD_IMG_CHAIN_H

#include "vd-img.h"

#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

/* One extent as qemu-img map describes it. */
struct chain_ext {
  uint64_t start, length;
  int depth;            /* the layer that decided, 0 = the top */
  bool present;         /* some layer has the range allocated */
  bool zero, data;      /* reads as zeros / is backed by stored data */
  bool has_offset;      /* offset and filename are set */
  uint64_t offset;      /* host offset in filename */
  const char *filename; /* borrowed from the image */
};

/* Describe the range at OFFSET (at most LENGTH bytes, inside IMG) as
 * qemu-img map does: descend the backing chain while a layer neither
 * has data nor reads as zeros.  Returns 0 or -1 with the error set. */
int chain_block_status (vd_image *img, uint64_t offset, uint64_t length,
                        struct chain_ext *e);

/* Is [offset, offset+length) of IMG known to read as zeros without
 * reading it?  Sets *len to the length of the run (<= LENGTH) that has
 * the answer.  Returns 0 or -1. */
int chain_zero_run (vd_image *img, uint64_t offset, uint64_t length, bool *zero,
                    uint64_t *len);

/* Buffer size for copies and comparisons. */
#define CHAIN_BUF_SIZE (UINT64_C (2) << 20)

#endif /* VD_IMG_CHAIN_H */
