/* libFuzzer harness: open an image held in memory (probed, or the format
 * named by FUZZ_FORMAT at build time), then read it, walk its extents and
 * gather its info.  Every driver's open and read paths are reachable from
 * here; a crash, a leak or a huge allocation is a bug.
 */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vd-internal.h"

#ifndef FUZZ_FORMAT
#define FUZZ_FORMAT NULL
#endif

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vd_io *io = vd_io_mem_new ("fuzz", data, size, size, true);
  vd_image *img;
  struct vd_info info;
  static uint8_t buf[65536];
  uint64_t off, vsize;
  int i;

  if (!io)
    return 0;
  img = vd_open_io (io, "fuzz", FUZZ_FORMAT, VD_OPEN_NO_BACKING);
  if (!img)
    return 0;
  vsize = vd_get_size (img);

  /* Extents: bounded number of calls. */
  for (off = 0, i = 0; off < vsize && i < 256; i++) {
    struct vd_extent e;
    if (vd_block_status (img, off, vsize - off, &e) == -1)
      break;
    off += e.length;
  }
  /* Reads: the start, the end, and a few spots between. */
  for (i = 0; i < 8 && vsize > 0; i++) {
    uint64_t o = (vsize / 8) * i;
    size_t n = MIN (sizeof buf, vsize - o);
    vd_pread (img, buf, n, o);
  }
  if (vd_get_info (img, &info) == 0)
    vd_info_free (&info);
  vd_close (img);
  return 0;
}
