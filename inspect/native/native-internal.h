/* Shared by the files of inspect/native/ only: gettext and the integer
 * formats.  The interfaces are native.h, parttable.h, extfs.h, sandbox.h.
 */
#ifndef VD_NATIVE_INTERNAL_H
#define VD_NATIVE_INTERNAL_H

#include <inttypes.h>

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) dgettext (PACKAGE, (s))
#else
#define _(s) (s)
#endif

#endif /* VD_NATIVE_INTERNAL_H */
