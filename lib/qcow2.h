/* The qcow2 driver's shared declarations: on-disk constants and limits
 * (qemu's docs/interop/qcow2.txt), the driver state kept in img->priv,
 * and the functions its files (fmt-qcow2.c, qcow2-cache.c,
 * qcow2-refcount.c, qcow2-cluster.c, qcow2-compress.c, qcow2-create.c,
 * qcow2-snapshot.c) call in each other.  Nothing here is public API.
 */
#ifndef QCOW2_H
#define QCOW2_H

#include <endian.h>
#include <pthread.h>
#include <string.h>

#include "vd-internal.h"

/* ---- on-disk format ------------------------------------------------- */

#define QCOW2_MAGIC UINT32_C (0x514649fb) /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_EXT_L2_MIN_CLUSTER_BITS 14
#define QCOW2_V2_HEADER_LENGTH 72
#define QCOW2_V3_HEADER_LENGTH 104
#define QCOW2_HEADER_LENGTH 112 /* what we write: v3 with compression_type */

/* Limits, as qemu has them: a larger table is refused, never clamped. */
#define QCOW2_MAX_L1_BYTES (UINT64_C (32) << 20)
#define QCOW2_MAX_RT_BYTES (UINT64_C (8) << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define QCOW2_MAX_SNAPSHOT_TABLE (UINT64_C (64) << 20)
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_MAX_BACKING_FORMAT 15
#define QCOW2_MAX_BITMAPS 65535
#define QCOW2_MAX_BITMAP_DIR (UINT64_C (1024) * QCOW2_MAX_BITMAPS)
#define QCOW2_MAX_HOST_OFFSET (UINT64_C (1) << 56)

/* Feature bits. */
#define QCOW2_INCOMPAT_DIRTY (UINT64_C (1) << 0)
#define QCOW2_INCOMPAT_CORRUPT (UINT64_C (1) << 1)
#define QCOW2_INCOMPAT_DATA_FILE (UINT64_C (1) << 2)
#define QCOW2_INCOMPAT_COMPRESSION (UINT64_C (1) << 3)
#define QCOW2_INCOMPAT_EXTL2 (UINT64_C (1) << 4)
#define QCOW2_INCOMPAT_KNOWN                                                   \
  (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION  \
   | QCOW2_INCOMPAT_EXTL2)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (UINT64_C (1) << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (UINT64_C (1) << 0)

/* Header extensions. */
#define QCOW2_EXT_END UINT32_C (0)
#define QCOW2_EXT_BACKING_FORMAT UINT32_C (0xe2792aca)
#define QCOW2_EXT_FEATURE_TABLE UINT32_C (0x6803f857)
#define QCOW2_EXT_BITMAPS UINT32_C (0x23852875)
#define QCOW2_EXT_CRYPTO UINT32_C (0x0537be77)
#define QCOW2_EXT_DATA_FILE UINT32_C (0x44415441)

/* Table entries. */
#define QCOW2_OFFSET_MASK UINT64_C (0x00fffffffffffe00) /* L1, L2 */
#define QCOW2_RT_OFFSET_MASK UINT64_C (0xfffffffffffffe00)
#define QCOW2_OFLAG_COPIED (UINT64_C (1) << 63)
#define QCOW2_OFLAG_COMPRESSED (UINT64_C (1) << 62)
#define QCOW2_OFLAG_ZERO UINT64_C (1)
#define QCOW2_SUBCLUSTERS 32
#define QCOW2_BITMAP_ALL_ALLOC UINT64_C (0x00000000ffffffff)
#define QCOW2_BITMAP_ALL_ZERO UINT64_C (0xffffffff00000000)

enum { QCOW2_COMPRESSION_ZLIB = 0, QCOW2_COMPRESSION_ZSTD = 1 };

/* The fixed header, decoded (host byte order). */
struct qcow2_header {
  uint32_t version;
  uint64_t backing_offset;
  uint32_t backing_size;
  uint32_t cluster_bits;
  uint64_t size;
  uint32_t crypt_method;
  uint32_t l1_size;
  uint64_t l1_offset;
  uint64_t rt_offset;
  uint32_t rt_clusters;
  uint32_t nb_snapshots;
  uint64_t snapshots_offset;
  uint64_t incompat;
  uint64_t compat;
  uint64_t autoclear;
  uint32_t refcount_order;
  uint32_t header_length;
  uint8_t compression_type;
};

/* Decode and check the fixed header in BUF (LEN bytes, the start of the
 * file) against FILE_SIZE.  Every field is range-checked here; NAME is
 * for the message.  Returns 0 or -1 with the error set. */
int qcow2_parse_header (const char *name, const uint8_t *buf, size_t len,
                        uint64_t file_size, struct qcow2_header *h);
/* Encode H into BUF (at least h->header_length bytes; bytes past the
 * known fields are left alone). */
void qcow2_encode_header (const struct qcow2_header *h, uint8_t *buf);

/* ---- table cache ----------------------------------------------------- */

/* A bounded cache of cluster-sized tables (L2 tables, refcount blocks),
 * kept as on disk (big-endian), evicted least recently used.  A table is
 * pinned between get and put so it cannot be evicted while in use. */
struct qcow2_cache_slot {
  uint64_t offset; /* 0: empty */
  uint64_t lru;
  int pins;
  bool dirty;
};
struct qcow2_cache {
  const char *what; /* "L2 table", "refcount block" (messages) */
  uint32_t table_size;
  size_t n;
  uint8_t *mem;
  struct qcow2_cache_slot *slot;
  uint64_t tick;
  size_t last;
};

/* ---- driver state ---------------------------------------------------- */

struct qcow2_snapshot {
  uint64_t l1_offset;
  uint32_t l1_size;
  char *id;
  char *name;
  uint32_t date_sec;
  uint32_t date_nsec;
  uint64_t vm_clock_nsec;
  uint64_t vm_state_size;
  uint64_t disk_size;
  uint64_t icount; /* UINT64_MAX if not recorded */
  uint8_t *extra;  /* the extra data as on disk (kept when rewriting) */
  uint32_t extra_size;
};

enum qcow2_ctype {
  QCOW2_CT_UNALLOC,    /* reads from the backing file, or zeros */
  QCOW2_CT_ZERO,       /* reads as zeros */
  QCOW2_CT_DATA,       /* stored at host */
  QCOW2_CT_COMPRESSED, /* one compressed cluster, descriptor in desc */
};

/* One run of guest bytes with the same kind of mapping. */
struct qcow2_map {
  enum qcow2_ctype type;
  uint64_t host; /* DATA: where OFF is; ZERO: preallocated host or 0 */
  uint64_t len;
  uint64_t desc; /* COMPRESSED: the L2 entry */
};

struct qcow2 {
  vd_image *img; /* NULL while creating */
  struct vd_io *io;
  const char *name; /* file name for messages (borrowed) */
  pthread_mutex_t lock;
  bool lock_init;
  bool readonly;

  struct qcow2_header h;
  uint8_t *hdr; /* the header's bytes as on disk (h.header_length) */

  uint32_t cluster_bits, cluster_size;
  uint32_t l2_bits, l2_entries; /* entries per L2 table */
  uint32_t l2_entry_bytes;      /* 8, or 16 with extended L2 entries */
  bool ext_l2;
  uint32_t sc_bits, sc_size; /* subcluster (= cluster without ext_l2) */
  uint32_t refcount_order, refcount_bits;
  uint64_t refcount_max;
  uint32_t rb_bits, rb_entries; /* refcount entries per block */
  uint32_t csize_shift;         /* compressed descriptors */
  uint64_t csize_mask, coffset_mask;
  int compression;

  uint64_t *l1; /* active L1, host order */
  uint32_t l1_size;
  uint64_t l1_offset;
  uint32_t l1_dirty_lo, l1_dirty_hi; /* dirty entries [lo, hi) */

  uint64_t *rt;     /* refcount table, host order */
  uint64_t rt_size; /* entries */
  uint64_t rt_offset;
  uint32_t rt_clusters;
  uint64_t rt_dirty_lo, rt_dirty_hi;
  bool rt_growing;

  struct qcow2_cache l2c, rcc;
  /* Write ordering (see qcow2-cache.c): new references wait for their
   * refcount increments to be on disk, decrements wait for the removed
   * references to be on disk. */
  bool l2_needs_rc_sync, rc_needs_l2_sync;
  bool lazy;     /* lazy refcounts: the dirty bit stands in for ordering */
  bool unsynced; /* written since the last sync */

  uint64_t file_size; /* max (file size, end of every allocation) */
  uint64_t free_hint; /* no free cluster below this index */
  uint64_t free_byte; /* next byte for compressed data, or 0 */
  uint64_t *freeq;    /* clusters / descriptors to free (l2_entries) */
  size_t nfreeq;

  struct qcow2_snapshot *snaps;
  uint32_t nb_snaps;
  uint64_t snap_table_size; /* bytes */
  uint32_t nb_bitmaps;
  uint64_t bm_dir_offset, bm_dir_size;
  char *backing_name; /* as recorded, or NULL */
  char *backing_format;

  /* Data clusters that are holes in the file are reported as zeros only
   * when the image looks preallocated (qemu's heuristic), so block
   * status matches qemu-img map. */
  bool prealloc_checked, prealloc;

  bool write_started; /* autoclear cleared, dirty bit set if lazy */
  bool marked_dirty;  /* we set the dirty bit and clear it at close */
  bool for_check;     /* opened by check: leave a dirty image to it */

  /* Compressed clusters: input and output buffers and the last cluster
   * decompressed (reads of a compressed cluster in pieces). */
  uint8_t *cbuf, *dbuf;
  uint64_t dbuf_desc;
  bool dbuf_valid;
  void *zstd_dctx;
};

/* ---- qcow2-cache.c --------------------------------------------------- */

int qcow2_cache_init (struct qcow2_cache *c, const char *what,
                      uint32_t table_size, size_t n);
void qcow2_cache_free (struct qcow2_cache *c);
/* Get the table at OFFSET, reading it from the file if READ, else
 * zero-filled (a new table).  Pinned until qcow2_cache_put. */
int qcow2_cache_get (struct qcow2 *s, struct qcow2_cache *c, uint64_t offset,
                     bool read, uint8_t **table);
void qcow2_cache_put (struct qcow2_cache *c, uint8_t *table);
void qcow2_cache_dirty (struct qcow2_cache *c, uint8_t *table);
/* Forget the table at OFFSET (its cluster was freed) without writing. */
void qcow2_cache_drop (struct qcow2_cache *c, uint64_t offset);
bool qcow2_cache_has_dirty (const struct qcow2_cache *c);
/* Write every dirty table (no sync), honouring the write order. */
int qcow2_cache_write_dirty (struct qcow2 *s, struct qcow2_cache *c);

/* Write ordering.  qcow2_before_incref: call before refcount increments
 * that new L1/L2 entries will rely on.  qcow2_before_decref: call after
 * removing references in L1/L2 (in the cache) and before decrementing. */
int qcow2_before_incref (struct qcow2 *s);
int qcow2_before_decref (struct qcow2 *s);
/* Write all refcount metadata and sync. */
int qcow2_sync_refcounts (struct qcow2 *s);
/* Write all L2 tables and the L1 table and sync. */
int qcow2_sync_l2 (struct qcow2 *s);
/* Everything, in spec order, then sync. */
int qcow2_flush_all (struct qcow2 *s);
int qcow2_io_sync (struct qcow2 *s);
/* Every write to the image file goes through here (so a sync with
 * nothing written since the last one is skipped). */
int qcow2_pwrite (struct qcow2 *s, const void *buf, size_t count,
                  uint64_t offset);

/* ---- qcow2-refcount.c ------------------------------------------------ */

/* Refcount block entry arithmetic for refcount_order 0..6. */
uint64_t qcow2_rc_get_entry (const uint8_t *block, uint32_t order,
                             uint64_t index);
void qcow2_rc_set_entry (uint8_t *block, uint32_t order, uint64_t index,
                         uint64_t value);

int qcow2_get_refcount (struct qcow2 *s, uint64_t cluster, uint64_t *rc);
/* Allocate N contiguous clusters (refcount 1 each).  Returns the host
 * offset or -1. */
int64_t qcow2_alloc_clusters (struct qcow2 *s, uint64_t n);
/* Allocate SIZE bytes for compressed data (packed, clusters shared). */
int64_t qcow2_alloc_bytes (struct qcow2 *s, uint64_t size);
/* Drop one reference to the clusters of an L2 entry (data cluster or
 * compressed descriptor).  PUNCH: give freed space back to the host. */
int qcow2_free_entry (struct qcow2 *s, uint64_t l2e, bool punch);
int qcow2_free_clusters (struct qcow2 *s, uint64_t offset, uint64_t bytes,
                         bool punch);
/* Add one reference to each cluster of [offset, offset+bytes). */
int qcow2_incref_clusters (struct qcow2 *s, uint64_t offset, uint64_t bytes);
/* Write dirty refcount table entries (after their blocks). */
int qcow2_write_rt_dirty (struct qcow2 *s);
/* Compressed descriptor → host offset and byte length. */
void qcow2_compressed_range (const struct qcow2 *s, uint64_t desc,
                             uint64_t *off, uint64_t *len);

/* ---- qcow2-cluster.c ------------------------------------------------- */

/* Describe guest bytes from OFF (at most MAXLEN, within one L2 table). */
int qcow2_map (struct qcow2 *s, uint64_t off, uint64_t maxlen,
               struct qcow2_map *m);
/* Read guest data (no range check against the virtual size: COW reads
 * past the end of the last cluster). */
int qcow2_read (struct qcow2 *s, void *buf, uint64_t count, uint64_t off);
int qcow2_write (struct qcow2 *s, const uint8_t *buf, uint64_t count,
                 uint64_t off);
/* Zero or discard whole clusters in [off, off+count) (partial clusters
 * at the ends are the caller's).  DISCARD: make the range unspecified;
 * else make it read as zeros.  UNMAP: host clusters may be freed. */
int qcow2_zero_clusters (struct qcow2 *s, uint64_t off, uint64_t count,
                         bool discard, bool unmap);
/* Write one compressed cluster (data already compressed, LEN bytes). */
int qcow2_write_compressed (struct qcow2 *s, uint64_t off, const uint8_t *data,
                            uint64_t len);
/* Make the L1 table hold at least N entries (moves it). */
int qcow2_grow_l1 (struct qcow2 *s, uint32_t n);
/* Allocate L2 tables and data clusters for the whole image. */
int qcow2_preallocate (struct qcow2 *s, uint64_t size, uint64_t *end);
int qcow2_write_l1_dirty (struct qcow2 *s);
/* The checked host offset of the L2 table in L1 entry I, or 0. */
int qcow2_l2_offset (struct qcow2 *s, uint64_t i, uint64_t *offset);

static inline uint64_t
qcow2_l2e_get (const struct qcow2 *s, const uint8_t *t, uint32_t i)
{
  uint64_t v;
  memcpy (&v, t + (size_t) i * s->l2_entry_bytes, 8);
  return be64toh (v);
}
static inline uint64_t
qcow2_l2bm_get (const struct qcow2 *s, const uint8_t *t, uint32_t i)
{
  uint64_t v;
  if (!s->ext_l2)
    return 0;
  memcpy (&v, t + (size_t) i * 16 + 8, 8);
  return be64toh (v);
}
static inline void
qcow2_l2e_set (const struct qcow2 *s, uint8_t *t, uint32_t i, uint64_t e,
               uint64_t bm)
{
  uint64_t v = htobe64 (e);
  memcpy (t + (size_t) i * s->l2_entry_bytes, &v, 8);
  if (s->ext_l2) {
    v = htobe64 (bm);
    memcpy (t + (size_t) i * 16 + 8, &v, 8);
  }
}

/* ---- qcow2-compress.c ------------------------------------------------ */

/* Compress one cluster (LEN bytes) into OUT (capacity CAP).  Returns the
 * compressed length, 0 if it does not fit (store uncompressed), -1. */
int64_t qcow2_compress (int type, uint8_t *out, size_t cap, const uint8_t *in,
                        size_t len);
/* Decompress IN (INLEN bytes, may have trailing bytes) into exactly
 * OUTLEN bytes.  Anything else is an error (never more output). */
int qcow2_decompress (struct qcow2 *s, uint8_t *out, size_t outlen,
                      const uint8_t *in, size_t inlen);
void qcow2_decompress_free (struct qcow2 *s);

/* ---- qcow2-snapshot.c ------------------------------------------------ */

int qcow2_read_snapshots (struct qcow2 *s);
void qcow2_free_snapshots (struct qcow2 *s);
/* The driver's snapshot ops (qemu-img snapshot -c / -a / -d). */
int qcow2_snapshot_create (vd_image *img, const char *name);
int qcow2_snapshot_apply (vd_image *img, const char *name);
int qcow2_snapshot_delete (vd_image *img, const char *name, const char *id);

/* ---- qcow2-check.c --------------------------------------------------- */

/* Count the references to each cluster of the file (header, tables,
 * L2 tables, data and compressed clusters of the active layer and of
 * every snapshot, bitmaps; refcount structures too if WITH_RT).  *MAP
 * has *N entries; caller frees it. */
int qcow2_count_refs (struct qcow2 *s, bool with_rt, uint32_t **map,
                      uint64_t *n);

/* ---- qcow2-repair.c -------------------------------------------------- */

/* Make every refcount match the references (the dirty bit's repair). */
int qcow2_repair_refcounts (struct qcow2 *s);
/* The driver's check op (qemu-img check's definitions). */
int qcow2_check (vd_image *img, struct vd_check_result *res, unsigned fix);
/* Set one cluster's refcount (creating its block if needed). */
int qcow2_set_refcount (struct qcow2 *s, uint64_t cluster, uint64_t value);

/* ---- fmt-qcow2.c / qcow2-create.c ------------------------------------ */

/* Set up the state of an image on IO from its header (no vd_image: used
 * by create too).  Returns 0 or -1. */
int qcow2_state_open (struct qcow2 *s, struct vd_io *io, const char *name,
                      bool readonly);
void qcow2_state_close (struct qcow2 *s);
/* Rewrite the header's fixed fields from s->h. */
int qcow2_write_header (struct qcow2 *s);
/* Called before the first change to the image: clears autoclear bits,
 * sets the dirty bit with lazy refcounts. */
int qcow2_begin_write (struct qcow2 *s);

/* ---- qcow2-amend.c --------------------------------------------------- */

int qcow2_set_backing (vd_image *img, const char *name, const char *format);
int qcow2_amend (vd_image *img, struct vd_opts *opts);
int qcow2_make_empty (vd_image *img);

int qcow2_create (struct vd_io *io, const char *filename, uint64_t size,
                  struct vd_opts *opts);
extern const struct vd_create_opt_desc qcow2_create_opts[];
extern const char *const qcow2_create_defaults[];

#endif /* QCOW2_H */
