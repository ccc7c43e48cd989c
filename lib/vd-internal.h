/* libvd internals: the I/O layer, the format driver table and the image
 * object.  Drivers (fmt-*.c) and operations (create.c, info.c, ...)
 * include this; tools never do (unit tests and fuzzers may).
 */
#ifndef VD_INTERNAL_H
#define VD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#include "vd.h"

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) dgettext (PACKAGE, (s))
#else
#define _(s) (s)
#endif
#define N_(s) (s)

#define CLEANUP_FREE __attribute__ ((cleanup (vd_cleanup_free)))
void vd_cleanup_free (void *ptr);

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define IS_ALIGNED(x, a) (((x) & ((uint64_t) (a) -1)) == 0)
#define ROUND_UP(x, a) (((x) + ((uint64_t) (a) -1)) & ~((uint64_t) (a) -1))
#define ROUND_DOWN(x, a) ((x) & ~((uint64_t) (a) -1))
#define DIV_ROUND_UP(x, a) (((x) + ((a) -1)) / (a))

/* Limits that protect against hostile images. */
#define VD_MAX_IMAGE_SIZE (UINT64_C (1) << 62) /* 4 EiB virtual size */
#define VD_MAX_BACKING_DEPTH 64
#define VD_MAX_PATH 4096

/* ---- I/O layer ------------------------------------------------------- */

struct vd_io;
struct vd_check_result; /* vd.h, with vd-img check */

/* A backend fills this table; formats only ever call through it.  pread
 * and pwrite transfer the whole count or fail; reading past the end of
 * the file fails with a message naming the file and the offset. */
struct vd_io_ops {
  const char *name;
  int (*pread) (struct vd_io *io, void *buf, size_t count, uint64_t offset);
  int (*pwrite) (struct vd_io *io, const void *buf, size_t count,
                 uint64_t offset);
  int (*flush) (struct vd_io *io);
  int64_t (*size) (struct vd_io *io);
  int (*truncate) (struct vd_io *io, uint64_t size);
  /* Deallocate; the range reads as zeros afterwards.  Returns -1 with
   * errno EOPNOTSUPP (error set) if the backend cannot. */
  int (*punch) (struct vd_io *io, uint64_t offset, uint64_t count);
  /* Make the range read as zeros, keeping it allocated when possible.
   * -1/EOPNOTSUPP if not possible without writing zeros. */
  int (*zero) (struct vd_io *io, uint64_t offset, uint64_t count);
  /* Preallocate (fallocate mode 0).  Optional. */
  int (*allocate) (struct vd_io *io, uint64_t offset, uint64_t count);
  /* Where data lies: sets *is_data and *len (>0, <= count) for the range
   * starting at offset.  Optional: NULL means "all data". */
  int (*extent) (struct vd_io *io, uint64_t offset, uint64_t count,
                 bool *is_data, uint64_t *len);
  /* Bytes allocated on the host, or -1. */
  int64_t (*allocated_size) (struct vd_io *io);
  void (*close) (struct vd_io *io);
};

struct vd_io {
  const struct vd_io_ops *ops;
  char *name; /* file name for messages (owned) */
  bool readonly;
  void *priv;
};

/* Open a host file.  flags: VD_OPEN_RDWR, VD_OPEN_NO_LOCK.  Takes the
 * shared (read-only) or exclusive (read-write) image lock that qemu uses,
 * so a running VM's disk is not written under it. */
struct vd_io *vd_io_file_open (const char *filename, unsigned flags);
/* Create a new empty file (O_EXCL) for writing. */
struct vd_io *vd_io_file_create (const char *filename);
/* A memory backend over a copy of DATA (may be NULL for an empty one).
 * MAX_SIZE caps how far writes may grow it. */
struct vd_io *vd_io_mem_new (const char *name, const void *data, size_t len,
                             uint64_t max_size, bool readonly);
/* The memory backend's current contents (borrowed). */
const uint8_t *vd_io_mem_data (struct vd_io *io, size_t *len);

int vd_io_pread (struct vd_io *io, void *buf, size_t count, uint64_t offset);
int vd_io_pwrite (struct vd_io *io, const void *buf, size_t count,
                  uint64_t offset);
int vd_io_flush (struct vd_io *io);
int64_t vd_io_size (struct vd_io *io);
int vd_io_truncate (struct vd_io *io, uint64_t size);
int vd_io_punch (struct vd_io *io, uint64_t offset, uint64_t count);
/* Zero a range: io zero, else punch, else write zeros. */
int vd_io_write_zeroes (struct vd_io *io, uint64_t offset, uint64_t count);
int vd_io_extent (struct vd_io *io, uint64_t offset, uint64_t count,
                  bool *is_data, uint64_t *len);
int64_t vd_io_allocated_size (struct vd_io *io);
void vd_io_close (struct vd_io *io);

/* ---- format drivers -------------------------------------------------- */

struct vd_format_ops {
  const char *name;
  /* Size of the private state vd_open allocates (zeroed) in img->priv. */
  size_t priv_size;
  /* Score 0..100 that BUF (the first LEN bytes, LEN may be short) is this
   * format.  raw scores 1.  IO (may be NULL) lets a driver look further,
   * e.g. at a footer. */
  int (*probe) (const uint8_t *buf, size_t len, struct vd_io *io);
  /* Parse the image on img->io; set img->size, and img->backing_name /
   * img->backing_format if the image records a backing file.  The core
   * opens the backing chain after open returns. */
  int (*open) (vd_image *img, unsigned flags);
  void (*close) (vd_image *img);
  /* Create: write a new empty image of SIZE on IO (a fresh file, or
   * memory).  FILENAME is the final name (for formats that write extra
   * files beside it).  Options unknown to the driver must be left unused:
   * the core refuses them. */
  int (*create) (struct vd_io *io, const char *filename, uint64_t size,
                 struct vd_opts *opts);
  const struct vd_create_opt_desc *create_opts;
  /* Defaults qemu-img prints in its "Formatting ..." line for options the
   * user did not give: { name, value, name, value, ..., NULL }, or NULL. */
  const char *const *create_opt_defaults;

  int (*pread) (vd_image *img, void *buf, size_t count, uint64_t offset);
  int (*pwrite) (vd_image *img, const void *buf, size_t count, uint64_t offset);
  int (*zero) (vd_image *img, uint64_t offset, uint64_t count, unsigned flags);
  int (*discard) (vd_image *img, uint64_t offset, uint64_t count);
  int (*flush) (vd_image *img);
  int (*truncate) (vd_image *img, uint64_t size, unsigned flags);
  /* This layer only: flags from VD_EXT_*; a range that falls through to
   * the backing file has VD_EXT_ALLOCATED clear.  ext->offset is preset
   * to OFFSET; set ext->length (> 0, <= LENGTH). */
  int (*block_status) (vd_image *img, uint64_t offset, uint64_t length,
                       struct vd_extent *ext);
  /* Add format-specific fields; the core fills the common ones first. */
  int (*info) (vd_image *img, struct vd_info *info);

  /* Optional, filled in as the features land (NULL: "not supported by
   * FORMAT" from the core). */
  /* Write whole clusters compressed (convert -c).  OFFSET is cluster
   * aligned; COUNT is one cluster, or less only at the end of the image. */
  int (*pwrite_compressed) (vd_image *img, const void *buf, size_t count,
                            uint64_t offset);
  /* vd-img check / repair. */
  int (*check) (vd_image *img, struct vd_check_result *res, unsigned fix);
  /* Internal snapshots. */
  int (*snapshot_list) (vd_image *img, struct vd_snapshot_info **list,
                        size_t *n);
  int (*snapshot_create) (vd_image *img, const char *name);
  int (*snapshot_apply) (vd_image *img, const char *name);
  int (*snapshot_delete) (vd_image *img, const char *name, const char *id);
  /* Change options of an existing image (vd-img amend). */
  int (*amend) (vd_image *img, struct vd_opts *opts);
  /* Rewrite the recorded backing file name and format (rebase, commit);
   * NULL name removes the backing file. */
  int (*set_backing) (vd_image *img, const char *name, const char *format);
  /* Optional: pwrite_compressed in two steps, so that convert can
   * compress on several threads while one thread writes.  compress must
   * be thread-safe (it reads only settings fixed at open): it turns one
   * cluster (as pwrite_compressed takes it) into what the format stores,
   * at most compress_bound (img, count) bytes, and sets *outlen, or
   * *outlen = 0 when compressing does not pay and the cluster is to be
   * stored as it is.  pwrite_precompressed then stores that result
   * (DATA/LEN; LEN 0 means store BUF, the plain COUNT bytes) as
   * pwrite_compressed would have. */
  size_t (*compress_bound) (vd_image *img, size_t count);
  int (*compress) (vd_image *img, const void *buf, size_t count,
                   uint64_t offset, void *out, size_t *outlen);
  int (*pwrite_precompressed) (vd_image *img, const void *buf, size_t count,
                               uint64_t offset, const void *data, size_t len);
  /* Make every range unallocated, so it reads from the backing file
   * (commit).  NULL: not supported. */
  int (*make_empty) (vd_image *img);
};

extern const struct vd_format_ops vd_format_raw;
extern const struct vd_format_ops vd_format_qcow2;
extern const struct vd_format_ops vd_format_vmdk;
extern const struct vd_format_ops vd_format_vdi;
extern const struct vd_format_ops vd_format_vhdx;
extern const struct vd_format_ops vd_format_vpc;

/* The driver list (format.c), NULL-terminated, in probe order. */
extern const struct vd_format_ops *const vd_formats[];
const struct vd_format_ops *vd_find_format (const char *name);

/* ---- the image ------------------------------------------------------- */

struct vd_image {
  const struct vd_format_ops *fmt;
  struct vd_io *io; /* the image file (owned) */
  char *filename;   /* as given */
  char *dir;        /* folder of filename, for resolving names inside */
  bool readonly;
  unsigned flags;
  uint64_t size; /* virtual size */
  uint32_t cluster_size;
  char *backing_name;   /* as recorded in the image, or NULL */
  char *backing_format; /* as recorded, or NULL */
  char *backing_path;   /* resolved, set by the core */
  vd_image *backing;    /* opened by the core, or NULL */
  int depth;            /* 0 for the top image */
  bool sequential_only; /* writes must come once each, in increasing
                           offset order (vmdk streamOptimized) */
  void *priv;           /* driver state, priv_size bytes, zeroed */
};

/* Read COUNT bytes at OFFSET from the backing chain of IMG, or zeros
 * where there is none (or past its end).  For drivers' unallocated
 * ranges and copy-on-write. */
int vd_read_backing (vd_image *img, void *buf, size_t count, uint64_t offset);

/* Resolve NAME (found inside the image at DIR) to a path.  Refuses
 * absolute names and names that climb out of DIR unless
 * VD_OPEN_UNSAFE_PATHS is in FLAGS.  Caller frees.  WHAT is for the
 * message ("backing file", "extent"). */
char *vd_resolve_name (const char *image, const char *dir, const char *name,
                       const char *what, unsigned flags);

/* Open an image on an already open I/O backend (takes ownership of IO,
 * closed on failure too).  FILENAME is used for messages and to resolve
 * backing names.  For unit tests and fuzzers (memory backend). */
vd_image *vd_open_io (struct vd_io *io, const char *filename,
                      const char *format, unsigned flags);
/* Create an image of FORMAT on IO (no temporary name, no rename). */
int vd_create_io (struct vd_io *io, const char *filename, const char *format,
                  uint64_t size, struct vd_opts *opts);

/* Temporary output files: registered while being written so that a
 * tool's signal handler can remove them (vd_remove_temp_files is
 * async-signal-safe). */
void vd_register_temp_file (const char *path);
void vd_unregister_temp_file (const char *path);
/* Move a finished temporary file to FILENAME: with REPLACE an existing
 * file is replaced atomically, else an existing file is an error. */
int vd_commit_temp (const char *tmpname, const char *filename, bool replace);

/* For a format's create callback that writes files beside the main one
 * (VMDK extents): create NAME (a final path) for writing.  Under vd_create
 * it is written under a temporary name, renamed into place after the
 * whole image is complete and before the main file, and removed if the
 * create fails; an existing NAME is refused unless the create replaces
 * files.  Under vd_create_io it is created directly (O_EXCL).  The driver
 * closes the returned I/O before its create returns.  NULL on error. */
struct vd_io *vd_create_extra_file (const char *name);

/* For drivers' check ops: pass one problem line to res->report. */
void vd_check_report (struct vd_check_result *res, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Probe a buffer; returns the best driver (never NULL: raw). */
const struct vd_format_ops *vd_probe_buffer (const uint8_t *buf, size_t len,
                                             struct vd_io *io);
/* Probe an open backend (reads its start). */
const struct vd_format_ops *vd_probe_io (struct vd_io *io);

/* Checked arithmetic. */
static inline bool
vd_add_overflow (uint64_t a, uint64_t b, uint64_t *r)
{
  return __builtin_add_overflow (a, b, r);
}
static inline bool
vd_mul_overflow (uint64_t a, uint64_t b, uint64_t *r)
{
  return __builtin_mul_overflow (a, b, r);
}

/* Memory helpers that set the error on failure. */
void *vd_malloc (size_t n);
void *vd_calloc (size_t n, size_t size);
void *vd_realloc (void *p, size_t n);
char *vd_strdup (const char *s);

/* Is the buffer all zero bytes? */
bool vd_is_zero (const void *buf, size_t len);

#endif /* VD_INTERNAL_H */
