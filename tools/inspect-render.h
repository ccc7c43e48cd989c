/* vd-inspect's renderers: a struct inspect_report (inspect/inspect.h) as
 * our JSON (schema in man/vd-inspect.pod) or as virt-inspector's XML.
 * Pure functions of the report: the unit tests feed them synthetic
 * reports and no appliance is needed.
 */
#ifndef VD_TOOLS_INSPECT_RENDER_H
#define VD_TOOLS_INSPECT_RENDER_H

#include "inspect.h"

/* The whole output as text ending in a newline: malloc'd, caller frees.
 * NULL with the error set (out of memory, or libxml2 failing).  Strings
 * from the guest that are not valid UTF-8 get U+FFFD for each bad byte;
 * in XML, so do the control characters XML 1.0 cannot hold. */
char *inspect_render_json (const struct inspect_report *r);
char *inspect_render_xml (const struct inspect_report *r);

#endif /* VD_TOOLS_INSPECT_RENDER_H */
