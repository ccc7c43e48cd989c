/* Shared by the files of inspect/ only: gettext and cleanup helpers.
 * The public interface is inspect.h.
 */
#ifndef VD_INSPECT_INTERNAL_H
#define VD_INSPECT_INTERNAL_H

#include <stdlib.h>

#include "inspect.h"
#include "vd.h"

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) dgettext (PACKAGE, (s))
#else
#define _(s) (s)
#endif

static inline void
inspect_cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}
#define CLEANUP_FREE __attribute__ ((cleanup (inspect_cleanup_free)))

/* Free a NULL-terminated list of strings (libguestfs returns many). */
void inspect_free_strings (char **v);
static inline void
inspect_cleanup_strings (void *ptr)
{
  inspect_free_strings (*(char ***) ptr);
}
#define CLEANUP_STRINGS __attribute__ ((cleanup (inspect_cleanup_strings)))

/* Report a warning through the tool's printer (inspect_set_warning). */
void inspect_warn (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

#endif /* VD_INSPECT_INTERNAL_H */
