/* inspect/: from a guest's disks to a libguestfs handle with the guest's
 * filesystems mounted.  Sits between the guest tools (tools/vd-ls.c, ...,
 * which parse options and render) and libguestfs / libvirt / libxml2.
 *
 * Errors go through libvd's channel: every call that can fail returns -1
 * (or NULL) after vd_set_error, and the tool's main () prints vd_error ().
 * Nothing here prints, except libguestfs' own debug output with -v / -x.
 */
#ifndef VD_INSPECT_H
#define VD_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <guestfs.h>

/* ---- disks of a libvirt domain ----------------------------------------- */

/* One disk of a guest.  filename is a host file or block device. */
struct inspect_disk {
  char *filename;
  char *format; /* driver type ("raw", "qcow2", ...) or NULL if not given */
  char *target; /* the guest's name for it ("vda"), or NULL */
  bool readonly;
};
struct inspect_disks {
  struct inspect_disk *v;
  size_t n;
};
void inspect_disks_free (struct inspect_disks *d);

/* Take the disks out of a libvirt domain XML document: every
 * /domain/devices/disk whose device is 'disk' (the default): source file
 * or dev, driver type, <readonly/>.  Disks with no source are skipped;
 * network and volume disks are refused (we cannot add them yet).  DOMNAME
 * is used in messages.  Returns 0 with *out filled (caller frees with
 * inspect_disks_free) or -1 with the error set. */
int inspect_disks_from_xml (const char *xml, const char *domname,
                            struct inspect_disks *out);

/* Look DOMAIN up by name or UUID on libvirt URI (NULL: libvirt's default)
 * and return its disks.  FOR_WRITE refuses a domain libvirt reports as
 * running (writing under a live guest corrupts it).  Returns 0 or -1. */
int inspect_domain_disks (const char *uri, const char *domain, bool for_write,
                          struct inspect_disks *out);

/* ---- the handle -----------------------------------------------------------
 */

/* A libguestfs handle that reports errors to us instead of stderr.
 * VERBOSE and TRACE are -v and -x.  NULL with the error set. */
guestfs_h *inspect_handle_new (bool verbose, bool trace);
/* Shut the appliance down and close.  Returns -1 if a writable guest's
 * final sync failed (error set). */
int inspect_handle_close (guestfs_h *g);

/* Record libguestfs' last error as ours, prefixed with CONTEXT (a path,
 * or NULL).  Always returns -1, for "return inspect_gerror (...)". */
int inspect_gerror (guestfs_h *g, const char *context);

/* Add a disk: FILENAME must be a readable (and, unless READONLY,
 * writable) regular file or block device; a missing file, a folder or
 * an empty file is refused here, before anything is launched.  FORMAT
 * NULL lets libguestfs detect the format.  Returns 0 or -1. */
int inspect_add_disk (guestfs_h *g, const char *filename, const char *format,
                      bool readonly);

/* Refuse FILENAME (-1, error set) when another process holds qemu's image
 * write lock on it (a running VM, qemu-nbd, ...).  inspect_add_disk calls
 * it for every disk added writable.  Holds no lock after it returns. */
int inspect_check_disk_unlocked (const char *filename);
/* The checks inspect_add_disk makes on the host, alone: a tool adding the
 * disks of several guests to one appliance checks every disk of a guest
 * before adding any, so one bad disk leaves no half-added guest.
 * Returns 0 or -1 with the error set. */
int inspect_check_disk (const char *filename, bool readonly);

/* Launch the appliance.  On failure the message says what is wrong and
 * what to install or set (KVM, the host kernel, supermin, the backend). */
int inspect_launch (guestfs_h *g);

/* Open every LUKS device on the guest's disks.  KEY returns the key for
 * DEVICE (malloc'd, freed and wiped here) or NULL with the error set.
 * Activates the LVs found inside.  Returns the number opened, or -1. */
typedef char *(*inspect_key_fn) (void *opaque, const char *device,
                                 const char *uuid);
int inspect_decrypt (guestfs_h *g, inspect_key_fn key, void *opaque,
                     bool readonly);

/* Mount as "-m DEV[:MOUNTPOINT[:OPTIONS[:FSTYPE]]]" says (MOUNTPOINT
 * defaults to /).  READONLY adds "ro" to the options.  Returns 0 or -1. */
int inspect_mount_spec (guestfs_h *g, const char *spec, bool readonly);

/* Inspection (-i): find the guest's root filesystem and mount it and the
 * filesystems its fstab names, read-only if READONLY.  No root (or more
 * than one) is an error listing the filesystems that were found.  A
 * non-root filesystem that cannot be mounted is a warning (see
 * inspect_set_warning).  On success *root (if not NULL) is the root
 * device, malloc'd.  Returns 0 or -1. */
int inspect_mount_os (guestfs_h *g, bool readonly, char **root);

/* Mount the filesystems of the inspected operating system ROOT (a root
 * that guestfs_inspect_os returned) where its fstab says, read-only if
 * READONLY: / first, then shorter mount points before longer ones.  The
 * root failing to mount is an error; another filesystem failing is a
 * warning.  Returns 0 or -1. */
int inspect_mount_root (guestfs_h *g, const char *root, bool readonly);

/* ---- operating system facts (vd-inspect) ---------------------------------
 * What libguestfs' inspection finds out about each operating system on
 * the guest's disks, as plain data.  Every string is malloc'd, and NULL
 * where libguestfs says "unknown" or gives nothing.  Device names are
 * canonical (/dev/sda1, not /dev/vda1).
 */

struct inspect_mountpoint {
  char *mountpoint; /* "/boot" */
  char *device;
};

struct inspect_filesystem {
  char *device;
  char *type, *label, *uuid; /* NULL: none found */
  int64_t size;              /* bytes; -1 if it could not be read */
};

struct inspect_drive_mapping {
  char *name;   /* Windows drive letter, "C" */
  char *device; /* the filesystem it maps to */
};

/* One installed package (libguestfs' application2, the fields that
 * virt-inspector prints).  epoch is 0 when there is none. */
struct inspect_application {
  char *name; /* never NULL */
  char *display_name;
  int32_t epoch;
  char *version, *release, *arch;
  char *install_path, *publisher, *url, *source_package;
  char *summary, *description;
};

struct inspect_os {
  char *root;            /* the root filesystem's device */
  char *type;            /* "linux", "windows", ... */
  char *arch;            /* "x86_64", ... */
  char *distro;          /* "debian", "fedora", "windows", ... */
  char *product_name;    /* "Debian GNU/Linux 12", ... */
  char *product_variant; /* "Server", ... */
  int major_version;     /* 0 when unknown */
  int minor_version;
  char *package_format;     /* "deb", "rpm", ... */
  char *package_management; /* "apt", "dnf", ... */
  char *windows_systemroot; /* Windows only */
  char *windows_current_control_set;
  char *hostname;
  char *osinfo; /* the libosinfo short id, "debian12" */

  /* In virt-inspector's order: mount points by length, then name;
   * filesystems by device name; drive mappings by letter. */
  struct inspect_mountpoint *mountpoints;
  size_t nr_mountpoints;
  struct inspect_filesystem *filesystems;
  size_t nr_filesystems;
  struct inspect_drive_mapping *drive_mappings;
  size_t nr_drive_mappings;

  bool has_applications; /* false: not asked for (no list at all) */
  struct inspect_application *applications;
  size_t nr_applications;
};

struct inspect_report {
  struct inspect_os *os; /* in the order libguestfs returns the roots */
  size_t nr_os;
};
void inspect_report_free (struct inspect_report *r);

enum {
  INSPECT_APPLICATIONS = 1 << 0, /* list installed packages (mounts) */
};

/* Inspect the launched guest G: every operating system found, with the
 * facts above (applications only with INSPECT_APPLICATIONS: each root's
 * filesystems are then mounted read-only in turn and unmounted after).
 * No operating system is not an error: *out is left empty.  Returns 0
 * with *out filled (caller frees with inspect_report_free) or -1 with
 * the error set. */
int inspect_guest (guestfs_h *g, unsigned flags, struct inspect_report *out);

/* Where warnings go (default: nowhere).  A tool passes its printer. */
void inspect_set_warning (void (*fn) (const char *msg));

/* ---- many libvirt domains (vd-df) -------------------------------------- */

/* A domain and its disks, or why its disks cannot be examined. */
struct inspect_domain {
  char *name;
  char *uuid; /* "xxxxxxxx-xxxx-...", or NULL if libvirt gave none */
  struct inspect_disks disks;
  char *error;   /* NULL, or why the disks could not be taken (malloc'd) */
  int error_num; /* the errno of that error (ENOENT: the domain has none) */
};
struct inspect_domains {
  struct inspect_domain *v;
  size_t n;
};
void inspect_domains_free (struct inspect_domains *d);

/* The domains of libvirt URI (NULL: libvirt's default), active and
 * inactive, sorted by name; or, if ONLY is not NULL, the one domain of
 * that name or UUID (not finding it is an error).  A domain whose disks
 * cannot be read (a network disk, no disk) is listed with .error set:
 * one bad domain does not hide the others.  Returns 0 or -1 (cannot
 * connect, cannot list, no such domain) with the error set. */
int inspect_list_domains (const char *uri, const char *only,
                          struct inspect_domains *out);

#endif /* VD_INSPECT_H */
