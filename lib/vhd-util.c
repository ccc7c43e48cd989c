/* Helpers for the vdi, vhdx and vpc drivers: CRC-32C, random UUIDs and
 * the overlap check of allocation tables.  See vhd-util.h.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vd-internal.h"
#include "vhd-util.h"

/* ---- CRC-32C ------------------------------------------------------------
 * Table driven, four bytes a step (slicing by 4): VHDX checksums the
 * headers (4 KiB), the region table (64 KiB) and log entries, so this is
 * never hot, but a 64 KiB table costs nothing to make a little faster. */

static uint32_t crc_table[4][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init (void)
{
  uint32_t i, j, c;

  for (i = 0; i < 256; i++) {
    c = i;
    for (j = 0; j < 8; j++)
      c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
    crc_table[0][i] = c;
  }
  for (i = 0; i < 256; i++) {
    c = crc_table[0][i];
    for (j = 1; j < 4; j++) {
      c = (c >> 8) ^ crc_table[0][c & 0xff];
      crc_table[j][i] = c;
    }
  }
}

uint32_t
vd_crc32c_update (uint32_t crc, const void *buf, size_t len)
{
  const uint8_t *p = buf;

  pthread_once (&crc_once, crc_init);
  crc = ~crc;
  while (len >= 4) {
    crc ^= (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16)
           | ((uint32_t) p[3] << 24);
    crc = crc_table[3][crc & 0xff] ^ crc_table[2][(crc >> 8) & 0xff]
          ^ crc_table[1][(crc >> 16) & 0xff] ^ crc_table[0][crc >> 24];
    p += 4;
    len -= 4;
  }
  while (len--)
    crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

/* ---- UUIDs ------------------------------------------------------------ */

int
vd_random_uuid (uint8_t uuid[16])
{
  size_t got = 0;

  while (got < 16) {
    ssize_t r = getrandom (uuid + got, 16 - got, 0);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      vd_set_error (errno, _ ("cannot get random bytes for a UUID: %s"),
                    strerror (errno));
      return -1;
    }
    got += r;
  }
  /* RFC 4122 version 4 (random), variant 10b. */
  uuid[6] = (uuid[6] & 0x0f) | 0x40;
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  return 0;
}

/* ---- allocation tables ------------------------------------------------- */

static int
u64_cmp (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

bool
vd_ranges_overlap (uint64_t *starts, size_t n, uint64_t len, uint64_t *dup)
{
  size_t i;

  qsort (starts, n, sizeof *starts, u64_cmp);
  for (i = 1; i < n; i++) {
    if (starts[i] - starts[i - 1] < len) {
      *dup = starts[i];
      return true;
    }
  }
  return false;
}
