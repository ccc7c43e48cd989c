/* Backing-chain helpers for vd-img map, compare, commit and rebase: the
 * chain is walked one layer at a time with vd_block_status_top so the
 * depth and flags come out as qemu-img reports them.
 */
#include <config.h>

#include <string.h>

#include "img-chain.h"

int
chain_block_status (vd_image *img, uint64_t offset, uint64_t length,
                    struct chain_ext *e)
{
  vd_image *layer = img;
  struct vd_extent x;
  int depth = 0;

  memset (e, 0, sizeof *e);
  e->start = offset;
  for (;;) {
    vd_image *b;

    if (vd_block_status_top (layer, offset, length, &x) == -1)
      return -1;
    length = x.length;
    if (x.flags & VD_EXT_ALLOCATED) {
      e->present = true;
      e->zero = (x.flags & VD_EXT_ZERO) != 0;
      e->data = (x.flags & VD_EXT_DATA) != 0;
      break;
    }
    b = vd_get_backing (layer);
    /* Nothing below, or past the end of the layer below: zeros, decided
     * here (qemu-img reports this layer's depth). */
    if (!b || offset >= vd_get_size (b)) {
      e->zero = true;
      break;
    }
    length = MIN (length, vd_get_size (b) - offset);
    layer = b;
    depth++;
  }
  e->length = length;
  e->depth = depth;
  if (x.flags & VD_EXT_OFFSET_VALID) {
    e->has_offset = true;
    e->offset = x.host_offset;
    e->filename = x.host_file;
  }
  return 0;
}

int
chain_zero_run (vd_image *img, uint64_t offset, uint64_t length, bool *zero,
                uint64_t *len)
{
  struct chain_ext e;

  if (chain_block_status (img, offset, length, &e) == -1)
    return -1;
  *zero = e.zero;
  *len = e.length;
  return 0;
}
