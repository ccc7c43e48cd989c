/* Rendering of vd-inspect's report (inspect-render.h): JSON built as a
 * jansson tree, XML written with libxml2's xmlTextWriter in
 * virt-inspector's element names and order.  Both are made in memory
 * and handed back whole, so a failure prints nothing on stdout.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>

#include "common/common.h"
#include "inspect-render.h"

/* ---- text from the guest ---------------------------------------------------
 */

/* The length of the valid UTF-8 sequence at P (1-4) and its code point,
 * or 0 if P does not start one (a stray continuation byte, an overlong
 * form, a surrogate, past U+10FFFF, or cut short by the NUL). */
static size_t
utf8_seq (const unsigned char *p, uint32_t *cp)
{
  size_t n, k;
  uint32_t c;

  if (p[0] < 0x80) {
    *cp = p[0];
    return 1;
  }
  if (p[0] >= 0xc2 && p[0] <= 0xdf) {
    n = 2;
    c = p[0] & 0x1f;
  }
  else if ((p[0] & 0xf0) == 0xe0) {
    n = 3;
    c = p[0] & 0x0f;
  }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    n = 4;
    c = p[0] & 0x07;
  }
  else
    return 0;
  for (k = 1; k < n; k++) {
    if ((p[k] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (p[k] & 0x3f);
  }
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff))
      || (c >= 0xd800 && c <= 0xdfff))
    return 0;
  *cp = c;
  return n;
}

/* Can XML 1.0 hold this character? */
static bool
xml_char (uint32_t c)
{
  if (c < 0x20)
    return c == '\t' || c == '\n' || c == '\r';
  return c != 0xfffe && c != 0xffff;
}

/* S as valid UTF-8 (and, if XML, only characters XML can hold): every
 * byte that does not fit becomes U+FFFD.  Malloc'd; NULL if out of
 * memory. */
static char *
clean_text (const char *s, bool xml)
{
  const unsigned char *p = (const unsigned char *) s;
  size_t len = strlen (s);
  char *r, *q;

  /* Each input byte becomes at most the 3 bytes of U+FFFD. */
  if (len > (SIZE_MAX - 1) / 3)
    return NULL;
  r = malloc (len * 3 + 1);
  if (!r)
    return NULL;
  for (q = r; *p;) {
    uint32_t c;
    size_t n = utf8_seq (p, &c);

    if (n > 0 && (!xml || xml_char (c))) {
      memcpy (q, p, n);
      q += n;
      p += n;
    }
    else {
      memcpy (q, "\xef\xbf\xbd", 3);
      q += 3;
      p += n ? n : 1;
    }
  }
  *q = '\0';
  return r;
}

/* ---- JSON --------------------------------------------------------------- */

struct jb {
  bool failed; /* out of memory somewhere: the tree is incomplete */
};

/* Set KEY of OBJ to V (stolen); a NULL V is remembered as a failure. */
static void
jset (struct jb *b, json_t *obj, const char *key, json_t *v)
{
  if (!obj)
    json_decref (v);
  /* json_object_set_new drops V itself when it fails. */
  if (!v || !obj || json_object_set_new (obj, key, v) == -1)
    b->failed = true;
}

/* A guest string, or null. */
static json_t *
jstr (struct jb *b, const char *s)
{
  char *c;
  json_t *j;

  if (!s)
    return json_null ();
  c = clean_text (s, false);
  if (!c) {
    b->failed = true;
    return NULL;
  }
  j = json_string (c);
  free (c);
  return j;
}

static void
jappend (struct jb *b, json_t *arr, json_t *v)
{
  if (!arr)
    json_decref (v);
  if (!v || !arr || json_array_append_new (arr, v) == -1)
    b->failed = true;
}

static json_t *
json_application (struct jb *b, const struct inspect_application *a)
{
  json_t *o = json_object ();

  jset (b, o, "name", jstr (b, a->name));
  jset (b, o, "display_name", jstr (b, a->display_name));
  jset (b, o, "epoch", json_integer (a->epoch));
  jset (b, o, "version", jstr (b, a->version));
  jset (b, o, "release", jstr (b, a->release));
  jset (b, o, "arch", jstr (b, a->arch));
  jset (b, o, "install_path", jstr (b, a->install_path));
  jset (b, o, "publisher", jstr (b, a->publisher));
  jset (b, o, "url", jstr (b, a->url));
  jset (b, o, "source_package", jstr (b, a->source_package));
  jset (b, o, "summary", jstr (b, a->summary));
  jset (b, o, "description", jstr (b, a->description));
  return o;
}

static json_t *
json_os (struct jb *b, const struct inspect_os *os)
{
  json_t *o = json_object (), *a;
  size_t i;

  jset (b, o, "root", jstr (b, os->root));
  jset (b, o, "type", jstr (b, os->type));
  jset (b, o, "distro", jstr (b, os->distro));
  jset (b, o, "product_name", jstr (b, os->product_name));
  jset (b, o, "product_variant", jstr (b, os->product_variant));
  jset (b, o, "major_version", json_integer (os->major_version));
  jset (b, o, "minor_version", json_integer (os->minor_version));
  jset (b, o, "arch", jstr (b, os->arch));
  jset (b, o, "hostname", jstr (b, os->hostname));
  jset (b, o, "osinfo", jstr (b, os->osinfo));
  jset (b, o, "package_format", jstr (b, os->package_format));
  jset (b, o, "package_management", jstr (b, os->package_management));
  jset (b, o, "windows_systemroot", jstr (b, os->windows_systemroot));
  jset (b, o, "windows_current_control_set",
        jstr (b, os->windows_current_control_set));

  a = json_array ();
  for (i = 0; i < os->nr_mountpoints; i++) {
    json_t *m = json_object ();
    jset (b, m, "mountpoint", jstr (b, os->mountpoints[i].mountpoint));
    jset (b, m, "device", jstr (b, os->mountpoints[i].device));
    jappend (b, a, m);
  }
  jset (b, o, "mountpoints", a);

  a = json_array ();
  for (i = 0; i < os->nr_filesystems; i++) {
    const struct inspect_filesystem *f = &os->filesystems[i];
    json_t *m = json_object ();
    jset (b, m, "device", jstr (b, f->device));
    jset (b, m, "type", jstr (b, f->type));
    jset (b, m, "label", jstr (b, f->label));
    jset (b, m, "uuid", jstr (b, f->uuid));
    jset (b, m, "size", f->size >= 0 ? json_integer (f->size) : json_null ());
    jappend (b, a, m);
  }
  jset (b, o, "filesystems", a);

  a = json_array ();
  for (i = 0; i < os->nr_drive_mappings; i++) {
    json_t *m = json_object ();
    jset (b, m, "drive", jstr (b, os->drive_mappings[i].name));
    jset (b, m, "device", jstr (b, os->drive_mappings[i].device));
    jappend (b, a, m);
  }
  jset (b, o, "drive_mappings", a);

  if (os->has_applications) {
    a = json_array ();
    for (i = 0; i < os->nr_applications; i++)
      jappend (b, a, json_application (b, &os->applications[i]));
  }
  else
    a = json_null ();
  jset (b, o, "applications", a);
  return o;
}

char *
inspect_render_json (const struct inspect_report *r)
{
  struct jb b = { false };
  json_t *top = json_array ();
  char *text = NULL, *out = NULL;
  size_t i;

  for (i = 0; i < r->nr_os; i++)
    jappend (&b, top, json_os (&b, &r->os[i]));
  if (!b.failed)
    text = json_dumps (top, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  json_decref (top);
  if (text && asprintf (&out, "%s\n", text) == -1)
    out = NULL;
  free (text);
  if (!out)
    vd_set_error (ENOMEM, _ ("out of memory"));
  return out;
}

/* ---- XML ------------------------------------------------------------------
 */

/* The writer and whether any call on it has failed (then the rest are
 * skipped and the whole output is refused). */
struct xw {
  xmlTextWriterPtr w;
  bool failed;
};

static void
xstart (struct xw *x, const char *name)
{
  if (!x->failed && xmlTextWriterStartElement (x->w, BAD_CAST name) < 0)
    x->failed = true;
}

static void
xend (struct xw *x)
{
  if (!x->failed && xmlTextWriterEndElement (x->w) < 0)
    x->failed = true;
}

static void
xattr (struct xw *x, const char *name, const char *value)
{
  char *c;

  if (x->failed)
    return;
  c = clean_text (value, true);
  if (!c || xmlTextWriterWriteAttribute (x->w, BAD_CAST name, BAD_CAST c) < 0)
    x->failed = true;
  free (c);
}

static void
xtext (struct xw *x, const char *s)
{
  char *c;

  if (x->failed)
    return;
  c = clean_text (s, true);
  if (!c || xmlTextWriterWriteString (x->w, BAD_CAST c) < 0)
    x->failed = true;
  free (c);
}

/* <NAME>S</NAME>, left out when S is NULL (virt-inspector prints no
 * element for what is unknown). */
static void
xelem (struct xw *x, const char *name, const char *s)
{
  if (!s)
    return;
  xstart (x, name);
  xtext (x, s);
  xend (x);
}

static void
xelem_int (struct xw *x, const char *name, long long v)
{
  char buf[32];

  snprintf (buf, sizeof buf, "%lld", v);
  xelem (x, name, buf);
}

static void
xml_application (struct xw *x, const struct inspect_application *a)
{
  xstart (x, "application");
  xelem (x, "name", a->name);
  xelem (x, "display_name", a->display_name);
  if (a->epoch != 0)
    xelem_int (x, "epoch", a->epoch);
  xelem (x, "version", a->version);
  xelem (x, "release", a->release);
  xelem (x, "arch", a->arch);
  xelem (x, "install_path", a->install_path);
  xelem (x, "publisher", a->publisher);
  xelem (x, "url", a->url);
  xelem (x, "source_package", a->source_package);
  xelem (x, "summary", a->summary);
  xelem (x, "description", a->description);
  xend (x);
}

/* One <operatingsystem>, its elements in virt-inspector's order. */
static void
xml_os (struct xw *x, const struct inspect_os *os)
{
  size_t i;

  xstart (x, "operatingsystem");
  xelem (x, "root", os->root);
  xelem (x, "name", os->type);
  xelem (x, "arch", os->arch);
  xelem (x, "distro", os->distro);
  xelem (x, "product_name", os->product_name);
  xelem (x, "product_variant", os->product_variant);
  xelem_int (x, "major_version", os->major_version);
  xelem_int (x, "minor_version", os->minor_version);
  xelem (x, "package_format", os->package_format);
  xelem (x, "package_management", os->package_management);
  xelem (x, "windows_systemroot", os->windows_systemroot);
  xelem (x, "windows_current_control_set", os->windows_current_control_set);
  xelem (x, "hostname", os->hostname);
  xelem (x, "osinfo", os->osinfo);

  xstart (x, "mountpoints");
  for (i = 0; i < os->nr_mountpoints; i++) {
    xstart (x, "mountpoint");
    xattr (x, "dev", os->mountpoints[i].device);
    xtext (x, os->mountpoints[i].mountpoint);
    xend (x);
  }
  xend (x);

  /* No <size>: virt-inspector has none (its schema would refuse it). */
  xstart (x, "filesystems");
  for (i = 0; i < os->nr_filesystems; i++) {
    const struct inspect_filesystem *f = &os->filesystems[i];
    xstart (x, "filesystem");
    xattr (x, "dev", f->device);
    xelem (x, "type", f->type);
    xelem (x, "label", f->label);
    xelem (x, "uuid", f->uuid);
    xend (x);
  }
  xend (x);

  if (os->nr_drive_mappings > 0) {
    xstart (x, "drive_mappings");
    for (i = 0; i < os->nr_drive_mappings; i++) {
      xstart (x, "drive_mapping");
      xattr (x, "name", os->drive_mappings[i].name);
      xtext (x, os->drive_mappings[i].device);
      xend (x);
    }
    xend (x);
  }

  if (os->has_applications) {
    xstart (x, "applications");
    for (i = 0; i < os->nr_applications; i++)
      xml_application (x, &os->applications[i]);
    xend (x);
  }
  xend (x);
}

char *
inspect_render_xml (const struct inspect_report *r)
{
  xmlBufferPtr buf = xmlBufferCreate ();
  struct xw x = { NULL, false };
  char *out = NULL;
  size_t i;

  if (!buf)
    goto fail;
  x.w = xmlNewTextWriterMemory (buf, 0);
  if (!x.w) {
    xmlBufferFree (buf);
    goto fail;
  }
  /* virt-inspector's layout: two spaces per level. */
  if (xmlTextWriterSetIndent (x.w, 1) < 0
      || xmlTextWriterSetIndentString (x.w, BAD_CAST "  ") < 0
      || xmlTextWriterStartDocument (x.w, NULL, NULL, NULL) < 0)
    x.failed = true;
  xstart (&x, "operatingsystems");
  for (i = 0; i < r->nr_os; i++)
    xml_os (&x, &r->os[i]);
  xend (&x);
  if (!x.failed && xmlTextWriterEndDocument (x.w) < 0)
    x.failed = true;
  /* Freeing the writer flushes it into buf. */
  xmlFreeTextWriter (x.w);
  if (!x.failed)
    out = strdup ((const char *) xmlBufferContent (buf));
  xmlBufferFree (buf);
  if (!out)
    goto fail;
  return out;

fail:
  vd_set_error (ENOMEM, _ ("cannot write the XML output (out of memory?)"));
  return NULL;
}
