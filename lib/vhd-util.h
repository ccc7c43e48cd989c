/* Helpers shared by the VirtualBox, Hyper-V and Virtual PC drivers
 * (fmt-vdi.c, fmt-vhdx.c, vhdx-log.c, fmt-vpc.c): unaligned little- and
 * big-endian field access, CRC-32C (VHDX checksums), random UUIDs and the
 * allocation-table checks the three formats share.  Internal to libvd.
 */
#ifndef VD_VHD_UTIL_H
#define VD_VHD_UTIL_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t
get_le16 (const uint8_t *p)
{
  uint16_t v;
  memcpy (&v, p, sizeof v);
  return le16toh (v);
}

static inline uint32_t
get_le32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, sizeof v);
  return le32toh (v);
}

static inline uint64_t
get_le64 (const uint8_t *p)
{
  uint64_t v;
  memcpy (&v, p, sizeof v);
  return le64toh (v);
}

static inline void
put_le16 (uint8_t *p, uint16_t v)
{
  v = htole16 (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_le32 (uint8_t *p, uint32_t v)
{
  v = htole32 (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_le64 (uint8_t *p, uint64_t v)
{
  v = htole64 (v);
  memcpy (p, &v, sizeof v);
}

static inline uint16_t
get_be16 (const uint8_t *p)
{
  uint16_t v;
  memcpy (&v, p, sizeof v);
  return be16toh (v);
}

static inline uint32_t
get_be32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, sizeof v);
  return be32toh (v);
}

static inline uint64_t
get_be64 (const uint8_t *p)
{
  uint64_t v;
  memcpy (&v, p, sizeof v);
  return be64toh (v);
}

static inline void
put_be16 (uint8_t *p, uint16_t v)
{
  v = htobe16 (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_be32 (uint8_t *p, uint32_t v)
{
  v = htobe32 (v);
  memcpy (p, &v, sizeof v);
}

static inline void
put_be64 (uint8_t *p, uint64_t v)
{
  v = htobe64 (v);
  memcpy (p, &v, sizeof v);
}

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as VHDX uses it:
 * start with vd_crc32c_update (0, ...), chain calls for data in pieces. */
uint32_t vd_crc32c_update (uint32_t crc, const void *buf, size_t len);
static inline uint32_t
vd_crc32c (const void *buf, size_t len)
{
  return vd_crc32c_update (0, buf, len);
}

/* A random (version 4) UUID in the byte order the caller stores.
 * Returns 0, or -1 with the error set. */
int vd_random_uuid (uint8_t uuid[16]);

/* Do any of N allocated ranges [start, start + len) (units are the
 * caller's) overlap one another?  STARTS is sorted in place.  Returns
 * true and sets *dup to the start of the second of two overlapping
 * ranges. */
bool vd_ranges_overlap (uint64_t *starts, size_t n, uint64_t len,
                        uint64_t *dup);

#endif /* VD_VHD_UTIL_H */
