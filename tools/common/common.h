/* Shared by every vdtools program: the program name used in messages,
 * error reporting, gettext, and output rendering (text, JSON).  Tools
 * print only through here (DESIGN.md §1).
 */
#ifndef VD_TOOLS_COMMON_H
#define VD_TOOLS_COMMON_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "vd.h"

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) gettext (s)
#else
#define _(s) (s)
#endif
#define N_(s) (s)

#define CLEANUP_FREE __attribute__ ((cleanup (cleanup_free)))
void cleanup_free (void *ptr);

/* The name the program was invoked as (basename of argv[0]). */
extern const char *progname;
/* Set progname and gettext up.  Call first in main. */
void tool_init (int argc, char **argv);

/* "PROGNAME: message\n" on stderr. */
void tool_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* tool_error with the libvd error, then nothing else. */
void tool_error_vd (void);

/* Remove libvd's temporary files and exit on SIGINT/SIGTERM/SIGHUP. */
void tool_install_signal_handlers (void);

/* ---- output ---------------------------------------------------------- */

/* Order an object's members as qemu prints them (its QDict hash order),
 * recursively, so JSON and human output match qemu-img byte for byte. */
void json_qemu_order (json_t *j);
/* Print JSON as qemu does (4-space indent) followed by a newline. */
int json_print_qemu (FILE *fp, json_t *j);
/* Print JSON compactly (one line) or indented by 2 for our own tools. */
int json_print (FILE *fp, json_t *j);

/* libvd value tree -> jansson (new reference). */
json_t *value_to_json (const struct vd_value *v);
/* qemu's human dump of format-specific data: "key: value" lines, '-' in
 * keys shown as ' ', nested items indented by 4 per level. */
void json_dump_human (FILE *fp, json_t *j, int indent);

/* qemu's "10 GiB" style. */
const char *human_size (uint64_t size, char *buf, size_t len);

#endif /* VD_TOOLS_COMMON_H */
