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

/* Where warnings go (default: nowhere).  A tool passes its printer. */
void inspect_set_warning (void (*fn) (const char *msg));

#endif /* VD_INSPECT_H */
