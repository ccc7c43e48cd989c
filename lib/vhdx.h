/* The Hyper-V VHDX driver's internals, shared by fmt-vhdx.c (headers,
 * region table, metadata, BAT, I/O, create) and vhdx-log.c (the metadata
 * log: replay on open, and the log entries our own metadata updates go
 * through).  Layout from Microsoft's VHDX specification v1.00.
 */
#ifndef VD_VHDX_H
#define VD_VHDX_H

#include <stdbool.h>
#include <stdint.h>

#include "vd-internal.h"

#define MiB_ (UINT64_C (1) << 20)

#define VHDX_HEADER1_OFFSET (64 * 1024)
#define VHDX_HEADER2_OFFSET (128 * 1024)
#define VHDX_REGION1_OFFSET (192 * 1024)
#define VHDX_REGION2_OFFSET (256 * 1024)
#define VHDX_HEADER_SIZE 4096
#define VHDX_REGION_SIZE (64 * 1024)
#define VHDX_META_TABLE_SIZE (64 * 1024)
#define VHDX_LOG_SECTOR 4096
#define VHDX_MAX_ENTRIES 2047
#define VHDX_MAX_DISK_SIZE (UINT64_C (64) << 40)
/* No valid file is bigger than its 64 TiB of data plus metadata. */
#define VHDX_MAX_FILE_SIZE (UINT64_C (128) << 40)

/* BAT entry states. */
#define VHDX_BLOCK_NOT_PRESENT 0
#define VHDX_BLOCK_UNDEFINED 1
#define VHDX_BLOCK_ZERO 2
#define VHDX_BLOCK_UNMAPPED 3
#define VHDX_BLOCK_UNMAPPED_OLD 5 /* the value of drafts before v1.00 */
#define VHDX_BLOCK_FULLY_PRESENT 6
#define VHDX_BLOCK_PARTIALLY_PRESENT 7
#define VHDX_BAT_STATE(e) ((unsigned) ((e) &7))
#define VHDX_BAT_OFFSET(e) ((e) & ~(MiB_ - 1))

/* A header, decoded. */
struct vhdx_header {
  uint64_t seq;
  uint8_t file_write_guid[16];
  uint8_t data_write_guid[16];
  uint8_t log_guid[16];
  uint16_t log_version;
  uint16_t version;
  uint32_t log_length;
  uint64_t log_offset;
};

struct vhdx_priv {
  uint64_t file_size;
  struct vhdx_header hdr; /* the current header */
  int cur;                /* its slot: 0 (64 KiB) or 1 (128 KiB) */
  uint64_t bat_offset, bat_length;
  uint64_t meta_offset, meta_length;
  uint32_t block_size;
  uint32_t logical_sector, physical_sector;
  bool leave_allocated;
  uint8_t page83[16];
  uint64_t chunk_ratio;
  uint64_t data_blocks;
  uint64_t bat_entries;
  uint8_t *bat;        /* little-endian, as on disk; bat_bytes long */
  uint64_t bat_bytes;  /* bat_entries * 8 rounded up to a 4 KiB page */
  uint64_t next_block; /* where the next new block goes (1 MiB aligned) */
  bool write_started;  /* the write GUIDs were renewed this session */
  uint64_t log_seq;    /* the next log entry's sequence number */
  bool dirty;          /* BAT entries [dirty_lo, dirty_hi) changed */
  uint64_t dirty_lo, dirty_hi;
  bool stopped;      /* tests: act as if the machine crashed (no more I/O) */
  bool log_replayed; /* open replayed the log (check counts it fixed) */
};

/* Write header H (its seq one past the current one) into the other slot,
 * which becomes current.  A first call in a session also renews the file
 * and data write GUIDs, as the specification asks before any change. */
int vhdx_update_header (vd_image *img, const uint8_t log_guid[16]);

/* Replay the log if the current header says it holds changes (a non-zero
 * log GUID and a valid active sequence).  A read-only open of such an
 * image is refused: it would read stale metadata.  Called by open after
 * the region table is read and before the metadata and BAT are. */
int vhdx_log_replay (vd_image *img);

/* Put N 4 KiB sectors (DATA, to be written at the file offsets OFFSETS)
 * through the log: write one log entry and flush, then (if APPLY) write
 * them in place and flush.  The header's log GUID must already be set. */
int vhdx_log_write (vd_image *img, const uint64_t *offsets, const uint8_t *data,
                    size_t n, bool apply);
/* How many data sectors one log entry can carry in this image's log. */
size_t vhdx_log_max_sectors (vd_image *img);

/* For tests: write the pending BAT changes into the log only, leave the
 * log GUID set, and stop writing to the image, as if the machine had
 * crashed before the log was applied.  The next read-write open replays
 * the log. */
int vd_vhdx_test_crash_after_log (vd_image *img);

#endif /* VD_VHDX_H */
