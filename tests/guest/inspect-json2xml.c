/* inspect-json2xml: a test-only helper for tests/guest/inspect.sh.  Reads
 * vd-inspect's JSON on stdin, rebuilds the struct inspect_report it was
 * rendered from, and prints that report through vd-inspect's XML renderer
 * (tools/inspect-render.c).  One appliance run then gives both outputs:
 * the JSON as printed and the XML vd-inspect --xml prints for the same
 * guest, which the test compares with virt-inspector's byte for byte.
 *
 * The parse is strict, so that the round trip can fail: every member the
 * schema documents must be there with a documented type (an unknown
 * member, a missing one or a wrong type is an error), so the JSON must
 * carry every fact the XML shows.  Exit 0, or 1 with one line on stderr.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "inspect-render.h"
#include "vd.h"

static void
die (const char *what, const char *key)
{
  fprintf (stderr, "inspect-json2xml: %s%s%s\n", key ? key : "",
           key ? ": " : "", what);
  exit (1);
}

/* Every key of O must be one of KEYS (NULL-terminated), and every one
 * of KEYS must be in O. */
static void
exact_keys (json_t *o, const char *const *keys, const char *what)
{
  const char *k;
  json_t *v;
  size_t i;

  if (!json_is_object (o))
    die ("is not an object", what);
  for (i = 0; keys[i]; i++) {
    if (!json_object_get (o, keys[i]))
      die ("a documented member is missing", keys[i]);
  }
  json_object_foreach (o, k, v)
  {
    (void) v;
    for (i = 0; keys[i]; i++)
      if (strcmp (k, keys[i]) == 0)
        break;
    if (!keys[i])
      die ("is not a documented member", k);
  }
}

/* A string or null member: malloc'd copy or NULL. */
static char *
str (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  char *s;

  if (json_is_null (v))
    return NULL;
  if (!json_is_string (v))
    die ("is neither a string nor null", key);
  s = strdup (json_string_value (v));
  if (!s)
    die ("out of memory", NULL);
  return s;
}

/* A string member that may not be null. */
static char *
str_nn (json_t *o, const char *key)
{
  char *s = str (o, key);

  if (!s)
    die ("is null", key);
  return s;
}

static long long
integer (json_t *o, const char *key, long long lo, long long hi)
{
  json_t *v = json_object_get (o, key);
  long long n;

  if (!json_is_integer (v))
    die ("is not an integer", key);
  n = json_integer_value (v);
  if (n < lo || n > hi)
    die ("is out of range", key);
  return n;
}

/* An array member: its length, checked against what calloc can take. */
static json_t *
array (json_t *o, const char *key, size_t *n)
{
  json_t *v = json_object_get (o, key);

  if (!json_is_array (v))
    die ("is not an array", key);
  *n = json_array_size (v);
  return v;
}

static void *
alloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size);

  if (!p)
    die ("out of memory", NULL);
  return p;
}

static const char *const os_keys[] = {
  "root",
  "type",
  "distro",
  "product_name",
  "product_variant",
  "major_version",
  "minor_version",
  "arch",
  "hostname",
  "osinfo",
  "package_format",
  "package_management",
  "windows_systemroot",
  "windows_current_control_set",
  "mountpoints",
  "filesystems",
  "drive_mappings",
  "applications",
  NULL,
};
static const char *const app_keys[] = {
  "name",    "display_name", "epoch",     "version", "release",
  "arch",    "install_path", "publisher", "url",     "source_package",
  "summary", "description",  NULL,
};
static const char *const mp_keys[] = { "mountpoint", "device", NULL };
static const char *const fs_keys[] = { "device", "type", "label",
                                       "uuid",   "size", NULL };
static const char *const dm_keys[] = { "drive", "device", NULL };

static void
application (json_t *o, struct inspect_application *a)
{
  exact_keys (o, app_keys, "application");
  a->name = str_nn (o, "name");
  a->display_name = str (o, "display_name");
  a->epoch = integer (o, "epoch", 0, INT32_MAX);
  a->version = str (o, "version");
  a->release = str (o, "release");
  a->arch = str (o, "arch");
  a->install_path = str (o, "install_path");
  a->publisher = str (o, "publisher");
  a->url = str (o, "url");
  a->source_package = str (o, "source_package");
  a->summary = str (o, "summary");
  a->description = str (o, "description");
}

static void
operating_system (json_t *o, struct inspect_os *os)
{
  json_t *a, *v;
  size_t i;

  exact_keys (o, os_keys, "operating system");
  os->root = str_nn (o, "root");
  os->type = str (o, "type");
  os->distro = str (o, "distro");
  os->product_name = str (o, "product_name");
  os->product_variant = str (o, "product_variant");
  os->major_version = integer (o, "major_version", 0, INT_MAX);
  os->minor_version = integer (o, "minor_version", 0, INT_MAX);
  os->arch = str (o, "arch");
  os->hostname = str (o, "hostname");
  os->osinfo = str (o, "osinfo");
  os->package_format = str (o, "package_format");
  os->package_management = str (o, "package_management");
  os->windows_systemroot = str (o, "windows_systemroot");
  os->windows_current_control_set = str (o, "windows_current_control_set");

  a = array (o, "mountpoints", &os->nr_mountpoints);
  os->mountpoints = alloc (os->nr_mountpoints, sizeof *os->mountpoints);
  json_array_foreach (a, i, v)
  {
    exact_keys (v, mp_keys, "mountpoint");
    os->mountpoints[i].mountpoint = str_nn (v, "mountpoint");
    os->mountpoints[i].device = str_nn (v, "device");
  }

  a = array (o, "filesystems", &os->nr_filesystems);
  os->filesystems = alloc (os->nr_filesystems, sizeof *os->filesystems);
  json_array_foreach (a, i, v)
  {
    struct inspect_filesystem *f = &os->filesystems[i];
    exact_keys (v, fs_keys, "filesystem");
    f->device = str_nn (v, "device");
    f->type = str (v, "type");
    f->label = str (v, "label");
    f->uuid = str (v, "uuid");
    f->size = json_is_null (json_object_get (v, "size"))
                  ? -1
                  : integer (v, "size", 0, INT64_MAX);
  }

  a = array (o, "drive_mappings", &os->nr_drive_mappings);
  os->drive_mappings =
      alloc (os->nr_drive_mappings, sizeof *os->drive_mappings);
  json_array_foreach (a, i, v)
  {
    exact_keys (v, dm_keys, "drive mapping");
    os->drive_mappings[i].name = str_nn (v, "drive");
    os->drive_mappings[i].device = str_nn (v, "device");
  }

  if (json_is_null (json_object_get (o, "applications")))
    return;
  os->has_applications = true;
  a = array (o, "applications", &os->nr_applications);
  os->applications = alloc (os->nr_applications, sizeof *os->applications);
  json_array_foreach (a, i, v) application (v, &os->applications[i]);
}

int
main (void)
{
  struct inspect_report r = { NULL, 0 };
  json_error_t jerr;
  json_t *top, *v;
  char *xml;
  size_t i;

  top = json_loadf (stdin, JSON_REJECT_DUPLICATES, &jerr);
  if (!top)
    die (jerr.text, "stdin");
  if (!json_is_array (top))
    die ("is not a JSON array", "stdin");
  r.nr_os = json_array_size (top);
  r.os = alloc (r.nr_os, sizeof *r.os);
  json_array_foreach (top, i, v) operating_system (v, &r.os[i]);
  json_decref (top);

  xml = inspect_render_xml (&r);
  if (!xml)
    die (vd_error (), "XML");
  if (fputs (xml, stdout) == EOF || fflush (stdout) == EOF)
    die (strerror (errno), "stdout");
  free (xml);
  inspect_report_free (&r);
  return 0;
}
