/* libvd: the public API of the vdtools image core.
 * Tools include only this header.  Images are opened through format
 * drivers (lib/format.c) that sit on an I/O layer (io-file.c, io-mem.c).
 *
 * Conventions: every call that can fail returns -1 (or NULL) and records a
 * message and an errno for the calling thread, read back with vd_error ()
 * and vd_errno ().  Messages name the file and the fact.
 */
#ifndef VD_H
#define VD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors -------------------------------------------------------- */

/* The last error of this thread: a message ("" if none) and an errno (0
 * if none applies).  Borrowed until the next libvd call on this thread. */
const char *vd_error (void);
int vd_errno (void);

/* Record an error (used by libvd itself and by tools that report through
 * the same channel).  errnum may be 0. */
void vd_set_error (int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* ---- sizes ---------------------------------------------------------- */

/* Parse a size as qemu-img does: plain bytes, or a number (decimals
 * allowed with a suffix) followed by b, k/K, M, G, T, P or E (powers of
 * 1024).  Negative values, overflow and junk are refused.  Returns 0 and
 * sets *ret, or -1 with the error set (the message names the text). */
int vd_parse_size (const char *str, uint64_t *ret);

/* Format a size as qemu does in human output ("10 GiB", "196 KiB",
 * "0.977 KiB").  Writes into buf (at least 32 bytes). */
void vd_size_to_str (uint64_t size, char *buf, size_t len);

/* ---- options (-o key=value,...) -------------------------------------- */

/* A parsed option list.  Caller frees with vd_opts_free. */
struct vd_opt {
  char *key;
  char *value; /* never NULL; "" for a bare key ("-o preallocation") */
  bool used;   /* set by vd_opts_get*: unused options are an error */
};
struct vd_opts {
  struct vd_opt *v;
  size_t n;
};

/* Parse "a=1,b=2" (a ",," is a literal comma, as qemu does) and append to
 * *opts.  Returns 0 or -1 with the error set. */
int vd_opts_parse (struct vd_opts *opts, const char *str);
/* Append or replace one option. */
int vd_opts_set (struct vd_opts *opts, const char *key, const char *value);
/* Look up a key; marks it used.  NULL if absent (borrowed). */
const char *vd_opts_get (struct vd_opts *opts, const char *key);
/* Typed getters: return 0 and leave *ret unchanged if absent, 1 if found
 * and parsed, -1 on a bad value (error set, naming the option). */
int vd_opts_get_size (struct vd_opts *opts, const char *key, uint64_t *ret);
int vd_opts_get_bool (struct vd_opts *opts, const char *key, bool *ret);
int vd_opts_get_uint (struct vd_opts *opts, const char *key, uint64_t *ret);
/* The first option not consumed by any getter, or NULL. */
const char *vd_opts_first_unused (const struct vd_opts *opts);
void vd_opts_free (struct vd_opts *opts);

/* ---- formats --------------------------------------------------------- */

/* An option a format accepts at create time (for -o help and checking). */
struct vd_create_opt_desc {
  const char *name;
  const char *type; /* "size", "bool", "string", "number" */
  const char *help;
};

/* The formats libvd knows, in probe order; NULL-terminated.  Borrowed. */
const char *const *vd_format_names (void);
/* NULL-terminated option descriptions of a format's create, or NULL with
 * the error set if the format is unknown. */
const struct vd_create_opt_desc *vd_format_create_opts (const char *format);
bool vd_format_known (const char *format);
/* The value qemu-img shows for create option NAME of FORMAT in its
 * "Formatting ..." line when the user gives none (qemu's def_value_str),
 * or NULL.  Borrowed. */
const char *vd_format_create_opt_default (const char *format, const char *name);

/* Probe a file's format by content.  Returns a static name, or NULL with
 * the error set.  Never follows names inside the file. */
const char *vd_probe_file (const char *filename);

/* ---- images ---------------------------------------------------------- */

typedef struct vd_image vd_image;

enum {
  VD_OPEN_RDWR = 1 << 0,              /* default is read-only */
  VD_OPEN_NO_BACKING = 1 << 1,        /* do not open the backing chain */
  VD_OPEN_UNSAFE_PATHS = 1 << 2,      /* allow names inside images to reach
                                         outside the image's folder */
  VD_OPEN_PROBE_RAW_BACKING = 1 << 3, /* allow an unrecorded backing
                                         format to be probed as raw */
  VD_OPEN_NO_LOCK = 1 << 4,           /* take no image lock (qemu-img -U) */
  VD_OPEN_CHECK = 1 << 12,            /* opened by check: no repair at open */
};

/* Open FILENAME with FORMAT (NULL: probe by content).  backing_format, if
 * not NULL, is what the user said the backing file's format is (-F) and
 * overrides a header that records none.  Returns NULL with the error set.
 * Caller closes with vd_close. */
vd_image *vd_open (const char *filename, const char *format, unsigned flags);
vd_image *vd_open_ex (const char *filename, const char *format,
                      const char *backing_format, unsigned flags);
/* Close; flushes a writable image.  Returns -1 if the final flush failed
 * (the image is freed either way). */
int vd_close (vd_image *img);

uint64_t vd_get_size (vd_image *img);
const char *vd_get_format (vd_image *img);
const char *vd_get_filename (vd_image *img);
bool vd_is_readonly (vd_image *img);
/* The opened backing image (borrowed), or NULL. */
vd_image *vd_get_backing (vd_image *img);
/* The preferred I/O granularity (cluster/grain size, or 0). */
uint32_t vd_get_cluster_size (vd_image *img);

/* Read / write COUNT bytes at OFFSET; the range must lie inside the
 * virtual size.  Reads of unallocated ranges return the backing file's
 * data or zeros.  Return 0 or -1. */
int vd_pread (vd_image *img, void *buf, size_t count, uint64_t offset);
int vd_pwrite (vd_image *img, const void *buf, size_t count, uint64_t offset);

enum {
  VD_ZERO_MAY_UNMAP = 1 << 0, /* the range may be deallocated */
};
/* Make a range read as zeros, without writing zero bytes where the format
 * can record zeros as such. */
int vd_zero (vd_image *img, uint64_t offset, uint64_t count, unsigned flags);
/* Discard a range (its content becomes unspecified: backing or zeros). */
int vd_discard (vd_image *img, uint64_t offset, uint64_t count);
int vd_flush (vd_image *img);
/* Change the virtual size.  Shrinking needs VD_TRUNCATE_SHRINK. */
enum { VD_TRUNCATE_SHRINK = 1 << 0 };
int vd_truncate (vd_image *img, uint64_t size, unsigned flags);

/* Record NAME (NULL: none) and FORMAT as the image's backing file, as
 * rebase and commit do.  The backing chain opened with the image is
 * not changed (reopen to follow the new name).  -1 with ENOTSUP if the
 * format cannot. */
int vd_set_backing (vd_image *img, const char *name, const char *format);
/* Change options of an existing image (qemu-img amend: for qcow2
 * compat, refcount_bits, lazy_refcounts, backing_file, backing_fmt).
 * Every option must be used.  -1 with ENOTSUP if the format cannot. */
int vd_amend (vd_image *img, struct vd_opts *opts);
/* Make the image allocate nothing, so every range reads from its backing
 * file again (commit empties the overlay so).  -1 with ENOTSUP if the
 * format cannot. */
int vd_make_empty (vd_image *img);

/* Write whole clusters compressed (formats that can: qcow2, vmdk
 * streamOptimized).  OFFSET must be cluster aligned and COUNT one cluster
 * (or the rest of the image).  -1 with ENOTSUP if the format cannot. */
int vd_pwrite_compressed (vd_image *img, const void *buf, size_t count,
                          uint64_t offset);
bool vd_can_compress (vd_image *img);
/* Writes must come once each in increasing offset order (streamOptimized
 * vmdk): copy tools then write sequentially. */
bool vd_is_sequential_only (vd_image *img);

/* Extents. */
enum {
  VD_EXT_DATA = 1 << 0,         /* stored data backs this range */
  VD_EXT_ZERO = 1 << 1,         /* the range reads as zeros */
  VD_EXT_ALLOCATED = 1 << 2,    /* this image (not a backing file) decides
                                   what the range reads as */
  VD_EXT_OFFSET_VALID = 1 << 3, /* host_offset is set (map) */
};
struct vd_extent {
  uint64_t offset;
  uint64_t length;
  unsigned flags;
  int depth;             /* 0: this image, 1: its backing file, ... */
  uint64_t host_offset;  /* with VD_EXT_OFFSET_VALID */
  const char *host_file; /* with VD_EXT_OFFSET_VALID: borrowed */
};

/* Describe the range starting at OFFSET (at most LENGTH bytes long): fills
 * *ext with one extent that starts at OFFSET and has uniform flags.
 * If ALL_LAYERS, ranges unallocated here are resolved through the backing
 * chain (depth says where); otherwise they are reported as not
 * VD_EXT_ALLOCATED at depth 0 with the flags the chain would give... see
 * vd_block_status_top.  Returns 0 or -1. */
int vd_block_status (vd_image *img, uint64_t offset, uint64_t length,
                     struct vd_extent *ext);
/* This layer only: VD_EXT_ALLOCATED is clear for a range that falls
 * through to the backing file (its DATA/ZERO flags are then unknown and
 * clear). */
int vd_block_status_top (vd_image *img, uint64_t offset, uint64_t length,
                         struct vd_extent *ext);

/* ---- info ------------------------------------------------------------ */

/* A small value tree for format-specific information, dumped by the tools
 * as JSON (keys as they are) or as qemu-img's human text. */
enum vd_value_type {
  VD_VAL_STRING,
  VD_VAL_INT,
  VD_VAL_BOOL,
  VD_VAL_LIST,
  VD_VAL_DICT,
};
struct vd_value {
  enum vd_value_type type;
  char *key; /* member name inside a dict, else NULL */
  char *s;
  int64_t i;
  bool b;
  struct vd_value **items; /* list or dict members, in order */
  size_t n;
};
struct vd_value *vd_value_new_dict (void);
struct vd_value *vd_value_new_list (void);
/* Add a member to a dict (key) or list (key NULL).  Returns the new node
 * (owned by the parent) or NULL on allocation failure. */
struct vd_value *vd_value_add_str (struct vd_value *parent, const char *key,
                                   const char *s);
struct vd_value *vd_value_add_int (struct vd_value *parent, const char *key,
                                   int64_t i);
struct vd_value *vd_value_add_bool (struct vd_value *parent, const char *key,
                                    bool b);
struct vd_value *vd_value_add_dict (struct vd_value *parent, const char *key);
struct vd_value *vd_value_add_list (struct vd_value *parent, const char *key);
void vd_value_free (struct vd_value *v);

struct vd_snapshot_info {
  char *id;
  char *name;
  uint64_t vm_state_size;
  int64_t date_sec;
  int64_t date_nsec;
  uint64_t vm_clock_nsec;
  uint64_t icount; /* UINT64_MAX if not recorded */
};

struct vd_info {
  char *filename;
  char *format;
  uint64_t virtual_size;
  int64_t actual_size;   /* bytes allocated on the host, -1 if unknown */
  uint64_t cluster_size; /* 0 if the format has none */
  bool has_dirty_flag;
  bool dirty_flag;
  bool encrypted;
  char *backing_filename;           /* as recorded, or NULL */
  char *full_backing_filename;      /* resolved path, or NULL */
  char *backing_format;             /* as recorded, or NULL */
  struct vd_value *format_specific; /* dict {type, data}, or NULL */
  struct vd_snapshot_info *snapshots;
  size_t nr_snapshots;
};

/* Fill *info for an open image.  Caller frees with vd_info_free. */
int vd_get_info (vd_image *img, struct vd_info *info);
void vd_info_free (struct vd_info *info);

/* ---- check ----------------------------------------------------------- */

/* What vd_check found, with qemu-img check's fields. */
struct vd_check_result {
  uint64_t corruptions;  /* errors that may lose data */
  uint64_t leaks;        /* clusters allocated but unused */
  uint64_t check_errors; /* the check itself could not read something */
  uint64_t corruptions_fixed;
  uint64_t leaks_fixed;
  uint64_t image_end_offset; /* 0 if not known */
  uint64_t total_clusters;   /* 0 if the format has none */
  uint64_t allocated_clusters;
  uint64_t fragmented_clusters;
  uint64_t compressed_clusters;
  /* Called for each problem found ("Leaked cluster 5 refcount=1
   * reference=0"); may be NULL.  Set by the caller. */
  void (*report) (void *opaque, const char *msg);
  void *opaque;
};

enum {
  VD_CHECK_FIX_LEAKS = 1 << 0,  /* -r leaks */
  VD_CHECK_FIX_ERRORS = 1 << 1, /* -r all (with FIX_LEAKS) */
};

/* Check an image's metadata (and repair with FIX flags; the image must be
 * open read-write then).  Returns 0 when the check ran (look at *res), or
 * -1 with the error set; errno ENOTSUP when the format has no check.  The
 * caller zeroes *res and may set report/opaque first. */
int vd_check (vd_image *img, struct vd_check_result *res, unsigned fix);

/* ---- internal snapshots ---------------------------------------------- */

/* Create a snapshot tagged NAME of the image's current state (the ID is
 * the next free number); apply the snapshot whose ID, else tag, is NAME;
 * delete the first snapshot whose tag is NAME and (if not NULL) whose ID
 * is ID (NAME NULL: by ID only).  The image must be open read-write.
 * Returns 0 or -1 (errno ENOENT: no such snapshot; ENOTSUP: the format
 * has no internal snapshots).  List them with vd_get_info. */
int vd_snapshot_create (vd_image *img, const char *name);
int vd_snapshot_apply (vd_image *img, const char *name);
int vd_snapshot_delete (vd_image *img, const char *name, const char *id);

/* ---- create ---------------------------------------------------------- */

enum {
  VD_CREATE_FORCE = 1 << 0, /* replace an existing file */
};

/* Create an image of FORMAT and SIZE at FILENAME with options OPTS (may be
 * NULL; -o options as qemu-img names them; every option must be known to
 * the format).  The file is written under a temporary name in the same
 * folder and renamed into place at the end, so a failure leaves nothing
 * behind and an existing file is untouched; without VD_CREATE_FORCE an
 * existing FILENAME is refused.  Returns 0 or -1. */
int vd_create (const char *filename, const char *format, uint64_t size,
               struct vd_opts *opts, unsigned flags);

/* Remove the temporary output files libvd is writing (create, convert)
 * and forget them.  Async-signal-safe: a tool calls it from its SIGINT /
 * SIGTERM handler before exiting, so an interrupted run leaves nothing. */
void vd_remove_temp_files (void);

/* ---- convert --------------------------------------------------------- */

/* Progress of a long operation: DONE of TOTAL units of work (bytes of
 * data to copy, not of the virtual size).  Called on the thread that
 * called the operation. */
typedef void (*vd_progress_fn) (void *opaque, uint64_t done, uint64_t total);

enum {
  VD_CONVERT_COMPRESS = 1 << 0,       /* -c: write compressed clusters */
  VD_CONVERT_NO_CREATE = 1 << 1,      /* -n: write the existing target in
                                         place */
  VD_CONVERT_TARGET_IS_ZERO = 1 << 2, /* --target-is-zero (needs NO_CREATE) */
  VD_CONVERT_NO_SPARSE = 1 << 3,      /* -S 0: write zeros too (fully
                                         allocated target) */
  VD_CONVERT_OUT_OF_ORDER = 1 << 4,   /* -W: clusters may be written in the
                                         order they are ready */
  VD_CONVERT_FLUSH = 1 << 5,          /* flush the target to disk at the end
                                         (any -t but unsafe) */
};

struct vd_convert_request {
  const char *const *sources; /* NR_SOURCES file names, concatenated */
  size_t nr_sources;
  const char *source_format;   /* NULL: probe each source */
  unsigned source_flags;       /* VD_OPEN_NO_LOCK, VD_OPEN_UNSAFE_PATHS,
                                  VD_OPEN_PROBE_RAW_BACKING */
  const char *target;          /* the file to write */
  const char *target_format;   /* NULL: raw */
  struct vd_opts *target_opts; /* create options (-o), or NULL; not
                                  modified */
  const char *backing;         /* -B: the new image's backing file; ranges
                                  the source's top layer does not allocate
                                  are left to it */
  const char *backing_format;  /* -F */
  uint64_t sparse_size;        /* -S: zero blocks of this size inside data
                                  are left sparse; 0: 4 KiB */
  unsigned threads;            /* -m: at most this many threads (0: one per
                                  processor) */
  unsigned flags;              /* VD_CONVERT_* */
  vd_progress_fn progress;     /* or NULL */
  void *progress_opaque;
};

/* Convert: read the sources (their backing chains flattened, unless
 * BACKING is given) and write them, one after the other, into TARGET.
 * Ranges that read as zeros are never read; zero blocks in data are left
 * sparse.  A new target is written under a temporary name in its folder
 * and renamed over TARGET only when complete: on failure (or a signal, see
 * vd_remove_temp_files) nothing is left behind and an existing TARGET is
 * untouched.  Memory use is bounded (a few tens of MiB) whatever the
 * sizes.  Returns 0 or -1 with the error set. */
int vd_convert (const struct vd_convert_request *req);

#ifdef __cplusplus
}
#endif

#endif /* VD_H */
