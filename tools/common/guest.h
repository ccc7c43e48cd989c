/* What the guest tools (vd-ls, vd-cat, ...) share: one option parser for
 * the options every virt tool has (-a, -d, -c, --format, -m, -i, -v, -x,
 * -V, --help, --csv, --json, LUKS keys), --help generated from the same
 * tables, and opening the guest those options name (inspect/ underneath).
 * Each tool keeps its own options in a table and handles them in a
 * callback; parse / work / render stay apart in the tool.
 */
#ifndef VD_TOOLS_GUEST_H
#define VD_TOOLS_GUEST_H

#include <getopt.h>

#include <guestfs.h>

#include "common.h"
#include "inspect.h"
#include "render.h"

/* Groups of shared options a tool offers (its virt-* model's set). */
enum {
  GOPT_ADD = 1 << 0,     /* -a FILE, -d DOMAIN, -c URI, --format[=FMT] */
  GOPT_MOUNT = 1 << 1,   /* -m DEV[:MNT[:OPTS[:FSTYPE]]] */
  GOPT_INSPECT = 1 << 2, /* -i */
  GOPT_KEYS = 1 << 3,    /* --key, --keys-from-stdin, --echo-keys */
  GOPT_CSV = 1 << 4,     /* --csv */
  GOPT_JSON = 1 << 5,    /* --json */
  GOPT_PATH = 1 << 6,    /* --native, --appliance (the native path) */
};

/* Which path reads the guest (GOPT_PATH). */
enum guest_path { GUEST_PATH_AUTO, GUEST_PATH_NATIVE, GUEST_PATH_APPLIANCE };

/* One option of a tool.  A short option's id is its letter; a long-only
 * option's id is a value >= 256 of the tool's choosing. */
struct tool_option {
  const char *name; /* long name, or NULL */
  int short_name;   /* letter, or 0 */
  int has_arg;      /* no_argument, required_argument, optional_argument */
  const char *arg;  /* the argument as --help shows it, or NULL */
  const char *help; /* one line, untranslated (N_) */
  int id;
};

struct tool_info {
  const char *summary;      /* "list files in a virtual machine" (N_) */
  const char *const *usage; /* usage lines after the program name */
  unsigned common;          /* GOPT_* */
  const struct tool_option *options; /* the tool's own; {NULL} ends it */
  /* Called for each of the tool's own options: 0 or -1 (after printing
   * the problem with tool_error). */
  int (*handle) (void *data, int id, const char *arg);
  size_t min_args; /* positional arguments needed */
  /* No -a or -d is not an error (vd-df: every libvirt domain then). */
  bool disks_optional;
};

struct guest_drive {
  char *filename;
  char *format; /* NULL: detected */
};
struct guest_key {
  char *id; /* device or LUKS UUID */
  char *key;
};

/* The shared options, parsed. */
struct guest_opts {
  struct guest_drive *drives;
  size_t nr_drives;
  const char *domain; /* -d */
  const char *uri;    /* -c */
  char **mounts;      /* -m specs, in order */
  size_t nr_mounts;
  bool inspector; /* -i */
  struct guest_key *keys;
  size_t nr_keys;
  bool keys_from_stdin, echo_keys;
  bool verbose, trace;
  enum output_format output; /* text unless --csv / --json */
  char **args;               /* positional arguments (borrowed from argv) */
  size_t nr_args;
  enum guest_path path; /* --native / --appliance; auto by default */
};

/* Parse ARGV.  Returns 0 to go on, 1 when --help or --version was
 * printed (exit 0), -1 after printing a usage error (exit 1). */
int guest_opts_parse (const struct tool_info *t, void *data, int argc,
                      char **argv, struct guest_opts *o);
void guest_opts_free (struct guest_opts *o);

enum {
  GUEST_WRITE = 1 << 0,   /* add the disks writable (refuses a live domain) */
  GUEST_INSPECT = 1 << 1, /* mount by inspection unless -m is given */
  /* With GUEST_WRITE: the disks are writable but the filesystems are
   * mounted read-only, so nothing is written until the tool remounts one
   * read-write (guestfs_remount) because it has something to write. */
  GUEST_MOUNT_RO = 1 << 2,
};

/* Open the guest O names: add its disks (read-only unless GUEST_WRITE),
 * launch the appliance, open LUKS devices with the keys O supplies, and
 * mount (-m, else inspection if -i or GUEST_INSPECT).  Returns the handle
 * or NULL with the error set (print it with tool_error_vd). */
guestfs_h *guest_open (const struct guest_opts *o, unsigned flags);
/* Close it; -1 with the error set if the final sync failed. */
int guest_close (guestfs_h *g);

/* The key for DEVICE from --key, stdin or the terminal (guest_open uses
 * it; exposed for tests).  Malloc'd, or NULL with the error set. */
char *guest_read_key (const struct guest_opts *o, const char *device,
                      const char *uuid);

/* ---- the native path (guest-native.c, inspect/native/) ---------------- */

struct sb_writer;
struct ext_vfs;

/* A tool's work on the native path.  WORK runs in the sandboxed child
 * with the guest's filesystems mounted in V and sends frames on W (types
 * other than the sandbox's and 'A', 'N'); FRAME takes them in the parent.
 * FRAME sets *committed once it has printed something, after which a
 * crash of the child is an error, not a reason to use the appliance. */
struct guest_native_job {
  int (*work) (void *opaque, struct ext_vfs *v, struct sb_writer *w);
  int (*frame) (void *opaque, char type, const unsigned char *data, size_t len);
  void *opaque;
  bool committed;
};

/* Run JOB on the native path if O allows it (--native, or auto and the
 * guest is only ext2/3/4 on plain partitions).  Returns 1 when the work
 * was done natively, 0 when the appliance must do it (the tool then
 * starts over with guest_open; -v says why), -1 on an error (set). */
int guest_native_run (const struct guest_opts *o, struct guest_native_job *job);

/* "PROGNAME: warning: MSG" on stderr. */
void tool_warning (const char *msg);

#endif /* VD_TOOLS_GUEST_H */
