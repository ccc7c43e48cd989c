/* The VMDK driver's internals, shared by its files: fmt-vmdk.c (open,
 * read, write, block status, info), vmdk-stream.c (the streamOptimized
 * writer), vmdk-descriptor.c (the text descriptor), vmdk-header.c (the
 * binary sparse header, markers and layout) and vmdk-create.c.  Unit
 * tests include it too.  References: VMware's "Virtual Disk Format 1.1"
 * and the behaviour of qemu-img.
 */
#ifndef VMDK_H
#define VMDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vd-internal.h"

#define VMDK_SECTOR 512

/* Sparse header flags. */
#define VMDK_FLAG_NL_DETECT (1u << 0)
#define VMDK_FLAG_RGD (1u << 1)
#define VMDK_FLAG_ZERO_GRAIN (1u << 2)
#define VMDK_FLAG_COMPRESSED (1u << 16)
#define VMDK_FLAG_MARKERS (1u << 17)
#define VMDK_COMPRESS_DEFLATE 1
#define VMDK_GD_AT_END UINT64_MAX /* gdOffset of a stream: see the footer */
#define VMDK_GTE_ZERO 1           /* grain table entry of a zeroed grain */

/* Stream markers. */
#define VMDK_MARKER_EOS 0
#define VMDK_MARKER_GT 1
#define VMDK_MARKER_GD 2
#define VMDK_MARKER_FOOTER 3
#define VMDK_GRAIN_MARKER_SIZE 12 /* u64 lba, u32 size, then the data */

/* Limits against hostile images (refused beyond them, never clamped). */
#define VMDK_MAX_DESC (UINT64_C (1) << 20)       /* descriptor text */
#define VMDK_MAX_EXTENTS 4096                    /* extents in a descriptor */
#define VMDK_MAX_GRAIN_SECTORS 2048              /* 1 MiB grains */
#define VMDK_MAX_GTES 512                        /* entries per grain table */
#define VMDK_MAX_GD_ENTRIES (UINT32_C (1) << 22) /* grain directory */
/* Grain offsets are 32-bit sector numbers: a sparse extent file cannot
 * hold data past 2 TiB. */
#define VMDK_MAX_SPARSE_FILE (UINT64_C (1) << 41)

/* ---- the binary sparse header (vmdk-header.c) ------------------------ */

struct vmdk_header {
  uint32_t version;
  uint32_t flags;
  uint64_t capacity;    /* sectors */
  uint64_t grain_size;  /* sectors */
  uint64_t desc_offset; /* sectors, 0 if none */
  uint64_t desc_size;   /* sectors */
  uint32_t gtes_per_gt;
  uint64_t rgd_offset; /* sectors */
  uint64_t gd_offset;  /* sectors, or VMDK_GD_AT_END */
  uint64_t overhead;   /* sectors before the first grain */
  uint8_t unclean;
  uint8_t nl[4]; /* '\n', ' ', '\r', '\n' when intact */
  uint16_t compress;
};

/* BUF is one 512-byte sector starting with the magic "KDMV". */
void vmdk_header_decode (const uint8_t *buf, struct vmdk_header *h);
void vmdk_header_encode (const struct vmdk_header *h, uint8_t *buf);

/* A new content ID (random, never ffffffff: that means "none"). */
uint32_t vmdk_random_cid (void);

/* One grain of zeros at the largest grain size. */
extern const uint8_t vmdk_zeroes[VMDK_MAX_GRAIN_SECTORS * VMDK_SECTOR];

/* A metadata marker sector (GT, GD, footer, end of stream). */
void vmdk_marker_encode (uint8_t *sector, uint64_t num_sectors, uint32_t type);

/* Where qemu (and so we) put the tables of a new sparse extent. */
struct vmdk_layout {
  uint64_t gd_entries; /* grain tables */
  uint64_t gt_sectors; /* sectors per grain table */
  uint64_t gd_sectors;
  uint64_t rgd_offset; /* sectors */
  uint64_t gd_offset;
  uint64_t overhead;
};
/* For CAPACITY sectors, 64 KiB grains and 512-entry tables, after a
 * descriptor area of DESC_SECTORS at sector 1 (0: none). */
void vmdk_sparse_layout (uint64_t capacity, uint64_t desc_sectors,
                         struct vmdk_layout *l);

/* ---- the text descriptor (vmdk-descriptor.c) ------------------------- */

enum vmdk_access { VMDK_ACCESS_RW, VMDK_ACCESS_RDONLY, VMDK_ACCESS_NOACCESS };

enum vmdk_ext_type {
  VMDK_EXT_FLAT,
  VMDK_EXT_SPARSE,
  VMDK_EXT_ZERO,
  VMDK_EXT_VMFS,
  VMDK_EXT_VMFSSPARSE,
  VMDK_EXT_VMFSRDM,
  VMDK_EXT_VMFSRAW,
  VMDK_EXT_SESPARSE,
};

struct vmdk_desc_extent {
  enum vmdk_access access;
  uint64_t sectors;
  enum vmdk_ext_type type;
  char *type_name; /* as written: "FLAT", "SPARSE", ... */
  char *filename;  /* as written; NULL for ZERO */
  uint64_t offset; /* sectors into the file (FLAT) */
};

/* Every "key = value" line, known or not, in order. */
struct vmdk_desc_kv {
  char *key;
  char *value; /* without the quotes */
};

struct vmdk_desc {
  char *text; /* the descriptor as read (owned, NUL-terminated) */
  size_t len;
  unsigned version;
  uint32_t cid;
  uint32_t parent_cid;
  char *create_type;
  char *parent_hint; /* parentFileNameHint, or NULL */
  struct vmdk_desc_extent *extents;
  size_t nr_extents;
  uint64_t total_sectors;
  struct vmdk_desc_kv *kv;
  size_t nr_kv;
  size_t cid_pos, cid_len; /* the CID value inside text */
};

/* Parse LEN bytes of descriptor text (NUL bytes end it; only NULs may
 * follow).  IMAGE names the file in messages.  Returns 0, or -1 with the
 * error set ("IMAGE: descriptor line N: ...").  Free with vmdk_desc_free
 * either way. */
int vmdk_desc_parse (const char *image, const char *text, size_t len,
                     struct vmdk_desc *d);
void vmdk_desc_free (struct vmdk_desc *d);
/* The descriptor text with the CID replaced (malloc'd, *LEN set). */
char *vmdk_desc_with_cid (const struct vmdk_desc *d, uint32_t cid, size_t *len);
/* A value of an unknown or known key, or NULL (borrowed). */
const char *vmdk_desc_get (const struct vmdk_desc *d, const char *key);

/* ---- the open image (fmt-vmdk.c, vmdk-stream.c) ---------------------- */

struct vmdk_gt_slot {
  uint32_t index; /* grain table number, UINT32_MAX if empty */
  bool dirty;
  uint32_t *t; /* entries in host order */
};

struct vmdk_stream; /* vmdk-stream.c */

enum vmdk_kind { VMDK_KIND_FLAT, VMDK_KIND_SPARSE, VMDK_KIND_ZERO };

struct vmdk_extent {
  enum vmdk_kind kind;
  char *type;       /* for info: "" for a monolithic file, else as written */
  char *path;       /* file name as shown and opened */
  struct vd_io *io; /* NULL for ZERO */
  bool own_io;      /* io is not the image's own */
  bool rdonly;
  uint64_t start; /* first virtual byte */
  uint64_t length;
  uint64_t flat_offset; /* bytes into the file */

  /* Sparse extents. */
  struct vmdk_header h;
  uint64_t file_size;
  uint64_t grain;    /* bytes */
  uint32_t gtes;     /* entries per grain table */
  uint64_t gt_cover; /* bytes one grain table maps */
  uint32_t gd_entries;
  uint32_t *gd;  /* sectors, host order */
  uint32_t *rgd; /* redundant directory (read-write opens), or NULL */
  uint64_t gd_off, rgd_off; /* bytes */
  bool gd_dirty;
  bool compressed, markers, zero_grain;
  uint64_t data_start; /* bytes: the first byte a grain may use */
  uint64_t next_alloc; /* bytes: where the next grain goes */
  struct vmdk_gt_slot *slots;
  uint32_t nr_slots;
  struct vmdk_stream *stream; /* streamOptimized opened for writing */
};

struct vmdk_priv {
  struct vmdk_desc desc;
  bool has_desc;
  bool desc_embedded; /* inside the sparse file */
  uint64_t desc_off;  /* bytes */
  uint64_t desc_room; /* bytes an embedded descriptor may use */
  char *create_type;
  uint32_t cid;
  uint32_t parent_cid;
  bool cid_updated;
  bool cid_checked;
  struct vmdk_extent *ext;
  size_t nr_ext;
  uint8_t *grain_buf; /* one grain of the largest grain size */
  uint64_t grain_buf_size;
  /* The last decompressed grain (sequential reads of a stream). */
  uint8_t *z_buf;
  size_t z_len;
  const struct vmdk_extent *z_ext;
  uint64_t z_host;
};

/* Grain lookup result. */
enum vmdk_state { VMDK_UNALLOC, VMDK_ZERO, VMDK_DATA };

/* fmt-vmdk.c, for vmdk-stream.c. */
int vmdk_write_cid_once (vd_image *img);

/* vmdk-stream.c */
int vmdk_stream_init (vd_image *img, struct vmdk_extent *e);
void vmdk_stream_free (struct vmdk_extent *e);
int vmdk_stream_pwrite (vd_image *img, struct vmdk_extent *e, const void *buf,
                        size_t count, uint64_t offset);
int vmdk_stream_zero (vd_image *img, struct vmdk_extent *e, uint64_t offset,
                      uint64_t count);
int vmdk_stream_flush (vd_image *img, struct vmdk_extent *e);
/* While writing, the current grain table and the buffered grain live in
 * memory: lookups and reads consult these first.  Return 1 if answered. */
int vmdk_stream_lookup (struct vmdk_extent *e, uint64_t grain_index,
                        uint32_t *gte);
int vmdk_stream_read_pending (struct vmdk_extent *e, uint64_t grain_index,
                              uint64_t in_grain, void *buf, size_t n);
/* Write the end of an empty stream (grain directory, footer, end-of-
 * stream marker) at POS for header H; for create. */
int vmdk_stream_write_empty_tail (struct vd_io *io, const struct vmdk_header *h,
                                  uint64_t pos);

/* vmdk-create.c */
int vmdk_create (struct vd_io *io, const char *filename, uint64_t size,
                 struct vd_opts *opts);
extern const struct vd_create_opt_desc vmdk_create_opts[];
extern const char *const vmdk_create_opt_defaults[];

/* Little-endian helpers. */
static inline uint32_t
vmdk_le32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}
static inline uint64_t
vmdk_le64 (const uint8_t *p)
{
  return (uint64_t) vmdk_le32 (p) | (uint64_t) vmdk_le32 (p + 4) << 32;
}
static inline void
vmdk_put_le32 (uint8_t *p, uint32_t v)
{
  p[0] = v;
  p[1] = v >> 8;
  p[2] = v >> 16;
  p[3] = v >> 24;
}
static inline void
vmdk_put_le64 (uint8_t *p, uint64_t v)
{
  vmdk_put_le32 (p, (uint32_t) v);
  vmdk_put_le32 (p + 4, (uint32_t) (v >> 32));
}

#endif /* VMDK_H */
