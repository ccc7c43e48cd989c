/* The native (no-appliance) reader's partition tables: MBR (with the
 * extended/logical chain) and GPT, parsed over libvd's image API so any
 * image format and backing chain works.  Sits under inspect/native/
 * native.c; knows nothing of filesystems.
 */
#ifndef VD_NATIVE_PARTTABLE_H
#define VD_NATIVE_PARTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vd.h"

#define PT_SECTOR 512
/* Caps on what a table may hold (Linux's limits are of this order). */
#define PT_MAX_LOGICAL 128
#define PT_MAX_GPT_ENTRIES 1024

enum pt_type { PT_NONE, PT_MBR, PT_GPT };

struct pt_part {
  int number;           /* as Linux numbers it: sdaN */
  uint64_t offset;      /* bytes from the start of the disk */
  uint64_t size;        /* bytes */
  uint8_t mbr_type;     /* MBR type byte (0 on GPT) */
  uint8_t gpt_type[16]; /* GPT type GUID as stored (zero on MBR) */
  bool extended;        /* an MBR extended container: holds no filesystem */
};

struct pt_table {
  enum pt_type type;
  struct pt_part *v;
  size_t n;
};

/* Read the partition table of IMG (NAME is used in messages).  A disk
 * with no MBR signature is PT_NONE with no partitions (a whole-disk
 * filesystem, or nothing).  A table that points outside the disk, loops,
 * or fails its checksums is refused.  Returns 0 with *pt filled (caller
 * frees with pt_table_free) or -1 with the error set. */
int pt_table_read (vd_image *img, const char *name, struct pt_table *pt);
void pt_table_free (struct pt_table *pt);

/* GPT's CRC32 (IEEE, as zlib's crc32). */
uint32_t pt_crc32 (const void *buf, size_t len);

#endif /* VD_NATIVE_PARTTABLE_H */
