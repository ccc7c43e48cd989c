/* vd-df: free space in the filesystems of guests, as virt-df reports it.
 * Three parts, as every guest tool: vd-df.c parses the options and makes
 * the list of guests; df-work.c examines them (several guests per
 * appliance, several appliances at once) into plain structs; df-output.c
 * renders those structs (text, CSV, JSON, Prometheus), checks the
 * thresholds and writes files atomically.  df-output.c needs no
 * appliance, so its unit test (tests/unit/test-df-output.c) and the
 * shell tests fed by VD_DF_TEST_LOAD run in every pass.
 */
#ifndef VD_TOOLS_DF_H
#define VD_TOOLS_DF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- what a run finds ---------------------------------------------------- */

/* statvfs of one filesystem, as the appliance reported it and
 * df_stat_check accepted it.  bsize is the unit of the block counts (as
 * virt-df and df(1) use it). */
struct df_stat {
  uint64_t bsize, frsize;
  uint64_t blocks, bfree, bavail;
  uint64_t files, ffree, favail;
};

struct df_fs {
  char *device;     /* the guest's name: /dev/sda1, /dev/VG/LV, btrfsvol:... */
  char *type;       /* "ext4", ... */
  char *mountpoint; /* where the guest's fstab mounts it, or NULL */
  struct df_stat st;
};

struct df_disk {
  char *filename;
  char *format; /* NULL: detected */
  char *target; /* the domain's name for it ("vda"), or NULL */
};

struct df_guest {
  char *name;  /* domain name, or the first disk's file name (+ per disk) */
  char *uuid;  /* libvirt UUID, or NULL */
  bool domain; /* a libvirt domain (messages say "domain NAME") */
  struct df_disk *disks;
  size_t nr_disks;
  struct df_fs *fs; /* in virt-df's order */
  size_t nr_fs;
  /* What went wrong, each a full message (printed "vd-df: MSG").  A guest
   * with errors may still have filesystems (the ones that worked). */
  char **errors;
  size_t nr_errors;
};

void df_guests_free (struct df_guest *g, size_t n);
/* Append to G's list; -1 if out of memory (error set).  The strings are
 * copied. */
int df_guest_add_error (struct df_guest *g, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
int df_guest_add_fs (struct df_guest *g, const char *device, const char *type,
                     const char *mountpoint, const struct df_stat *st);

/* ---- numbers (df-output.c) --------------------------------------------- */

/* 0 if ST holds numbers a filesystem can have (bsize > 0, free <= total,
 * sizes in bytes fit 64 bits); -1 with the error set ("DEVICE: ...")
 * otherwise. */
int df_stat_check (const char *device, const struct df_stat *st);
/* N units of BSIZE bytes in 1 KiB units, rounded down. */
uint64_t df_to_1k (uint64_t n, uint64_t bsize);
/* Use% as virt-df computes it: 100 - 100 * free / total, in a float;
 * 0 when total is 0.  INODES: of the inodes, else of the blocks. */
float df_percent (const struct df_stat *st, bool inodes);
/* P as "%.1f" with a '.' whatever the locale (CSV, JSON, summaries). */
void df_percent_str (float p, char *buf, size_t len);
/* N units of BSIZE bytes as virt-df -h prints it ("484M", "7.4G", "0"):
 * powers of 1024, one decimal below 10, rounded to nearest (gnulib's
 * human_readable rules, so the text matches virt-df byte for byte). */
void df_human (uint64_t n, uint64_t bsize, char *buf, size_t len);
/* S escaped for a Prometheus label value (\\, \", \n), bytes that are not
 * UTF-8 replaced by U+FFFD.  Malloc'd; NULL if out of memory. */
char *df_prom_escape (const char *s);
/* S with bytes that are not UTF-8 replaced by U+FFFD.  Malloc'd. */
char *df_utf8_clean (const char *s);

/* ---- rendering (df-output.c) ------------------------------------------ */

enum df_format { DF_TEXT, DF_CSV, DF_JSON, DF_PROMETHEUS };

struct df_render {
  enum df_format format;
  bool human;  /* -h (text only) */
  bool inodes; /* -i (text and CSV; JSON and Prometheus have both) */
  bool uuid;   /* --uuid: the UUID in place of the name where known */
};

/* Print the table of GUESTS (every filesystem of each, in order) to FP.
 * Returns 0, or -1 with the error set if writing failed. */
int df_render_table (FILE *fp, const struct df_render *r,
                     const struct df_guest *guests, size_t n);

/* ---- thresholds (df-output.c) ------------------------------------------ */

/* Monitoring-plugin exit codes. */
enum { DF_OK = 0, DF_WARNING = 1, DF_CRITICAL = 2, DF_UNKNOWN = 3 };

struct df_thresholds {
  bool have_warn, have_crit;
  double warn, crit; /* use% above which a filesystem is over the line */
};

/* Parse a --warn / --crit argument: a number from 0 to 100, optionally
 * followed by '%'.  Returns 0, or -1 (nothing printed). */
int df_parse_percent (const char *s, double *out);

/* The status of GUESTS against T (CRITICAL > UNKNOWN (a guest failed) >
 * WARNING > OK) and its one-line summary with perfdata, without a line
 * end, in *LINE (malloc'd).  Returns the status, or -1 if out of memory
 * (error set). */
int df_check_thresholds (const struct df_render *r,
                         const struct df_thresholds *t,
                         const struct df_guest *guests, size_t n, char **line);

/* ---- files (df-output.c) ------------------------------------------------ */

/* Write LEN bytes of BUF to PATH through a temporary file in the same
 * folder, synced and renamed into place, so a reader never sees half a
 * file; the mode is 0666 less the umask.  Returns 0, or -1 with the error
 * set and nothing left behind. */
int df_write_file_atomic (const char *path, const char *buf, size_t len);
/* The temporary file being written, for a signal handler to remove
 * (NULL if none). */
extern const char *volatile df_temp_file;

/* The run's results as tab-separated lines (VD_DF_TEST_SAVE), read back
 * by df_load (VD_DF_TEST_LOAD) so the tests render and check real data
 * without launching an appliance.  Both return 0 or -1 (error set). */
int df_save (const char *path, const struct df_guest *guests, size_t n);
int df_load (const char *path, struct df_guest **guests, size_t *n);

/* ---- the guest's names for things (df-work.c, pure) ------------------- */

/* "sdc1" -> disk index 2 and "1"; "sdaa" -> 26 and "".  Returns 0, or -1
 * if NAME is not sd<letters>[<digits>]. */
int df_disk_index (const char *name, size_t *index, const char **rest);
/* Index 0 -> "a", 25 -> "z", 26 -> "aa" (the kernel's sd names). */
void df_disk_letters (size_t index, char *buf, size_t len);
/* The guest's name for the appliance's device DEV when the guest's first
 * disk is the appliance's disk number FIRST: "/dev/sdc1" with FIRST 2 ->
 * "/dev/sda1", also inside "btrfsvol:/dev/sdc1/@home" and
 * "/dev/mapper/luks-sdc2".  Other names are copied.  Malloc'd. */
char *df_guest_device (const char *dev, size_t first);

/* One line of an fstab that names a filesystem. */
enum df_spec { DF_SPEC_DEVICE, DF_SPEC_UUID, DF_SPEC_LABEL };
struct df_fstab_entry {
  enum df_spec kind;
  char *value;      /* device (the guest's sd name, or /dev/VG/LV), UUID or
                       label */
  char *mountpoint; /* absolute */
};
/* Parse an fstab: comments, swap, pseudo filesystems and specs we cannot
 * resolve (PARTUUID=, network) are left out; /dev/vdX, /dev/hdX and
 * /dev/xvdX become /dev/sdX, /dev/mapper/VG-LV becomes /dev/VG/LV,
 * /dev/disk/by-uuid/ and by-label/ become UUID and LABEL, octal escapes
 * (\040) are decoded.  Returns 0 with *V (free with df_fstab_free) or -1
 * if out of memory. */
int df_fstab_parse (const char *text, struct df_fstab_entry **v, size_t *n);
void df_fstab_free (struct df_fstab_entry *v, size_t n);

/* ---- the work (df-work.c) ----------------------------------------------- */

/* Answers the key of an encrypted DEVICE (the guest's name for it) of
 * GUEST, or NULL with the error set.  Malloc'd. */
typedef char *(*df_key_fn) (void *opaque, const char *guest, const char *device,
                            const char *uuid);

struct df_work {
  unsigned parallel;     /* appliances at once; 0: chosen by free memory */
  bool one_per_guest;    /* an appliance of its own for each guest */
  bool name_errors;      /* start each error with the guest's name (when
                            there are many guests) */
  bool verbose, trace;   /* -v (our notes), -x (libguestfs trace) */
  bool want_mountpoints; /* read the guests' fstabs (JSON, Prometheus) */
  df_key_fn key;
  void *key_opaque;
  unsigned launches; /* out: appliances launched */
};

/* Examine GUESTS: check every disk on the host, then group the guests
 * into appliances and fill in each one's filesystems and errors.  A
 * guest that fails does not stop the others.  Returns 0, or -1 if
 * nothing could be done at all (error set). */
int df_examine (struct df_guest *guests, size_t n, struct df_work *w);

/* -v notes ("vd-df: note: ..."), one line each, from any thread; off
 * until df_notes (true). */
void df_notes (bool on);
void df_note (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif /* VD_TOOLS_DF_H */
