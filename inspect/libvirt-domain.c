/* A libvirt domain's disks (-d DOMAIN [-c URI]): the domain's XML through
 * the libvirt API, its disks picked out with libxml2 XPath.  The XML part
 * is separate (inspect_disks_from_xml) so unit tests need no libvirt.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "inspect-internal.h"

static void
cleanup_xml_doc (void *ptr)
{
  xmlDocPtr doc = *(xmlDocPtr *) ptr;
  if (doc)
    xmlFreeDoc (doc);
}
#define CLEANUP_XMLDOC __attribute__ ((cleanup (cleanup_xml_doc)))

static void
cleanup_xpath_ctx (void *ptr)
{
  xmlXPathContextPtr ctx = *(xmlXPathContextPtr *) ptr;
  if (ctx)
    xmlXPathFreeContext (ctx);
}
#define CLEANUP_XPATHCTX __attribute__ ((cleanup (cleanup_xpath_ctx)))

static void
cleanup_xpath_obj (void *ptr)
{
  xmlXPathObjectPtr obj = *(xmlXPathObjectPtr *) ptr;
  if (obj)
    xmlXPathFreeObject (obj);
}
#define CLEANUP_XPATHOBJ __attribute__ ((cleanup (cleanup_xpath_obj)))

void
inspect_disks_free (struct inspect_disks *d)
{
  size_t i;

  if (!d)
    return;
  for (i = 0; i < d->n; i++) {
    free (d->v[i].filename);
    free (d->v[i].format);
    free (d->v[i].target);
  }
  free (d->v);
  d->v = NULL;
  d->n = 0;
}

/* The string value of XPath EXPR evaluated at NODE: malloc'd, or NULL if
 * it is empty (an absent attribute) or memory ran out (*oom set). */
static char *
xpath_string (xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr,
              bool *oom)
{
  CLEANUP_XPATHOBJ xmlXPathObjectPtr obj = NULL;
  char *s;

  ctx->node = node;
  obj = xmlXPathEvalExpression (BAD_CAST expr, ctx);
  if (!obj || obj->type != XPATH_STRING || !obj->stringval
      || !obj->stringval[0])
    return NULL;
  s = strdup ((const char *) obj->stringval);
  if (!s)
    *oom = true;
  return s;
}

static bool
xpath_bool (xmlXPathContextPtr ctx, xmlNodePtr node, const char *expr)
{
  CLEANUP_XPATHOBJ xmlXPathObjectPtr obj = NULL;

  ctx->node = node;
  obj = xmlXPathEvalExpression (BAD_CAST expr, ctx);
  return obj && obj->type == XPATH_BOOLEAN && obj->boolval;
}

static int
append_disk (struct inspect_disks *out, struct inspect_disk *d)
{
  struct inspect_disk *v;

  v = realloc (out->v, (out->n + 1) * sizeof *v);
  if (!v)
    return -1;
  out->v = v;
  out->v[out->n++] = *d;
  return 0;
}

/* One <disk> element: 1 added, 0 skipped (no source), -1 error. */
static int
parse_disk (xmlXPathContextPtr ctx, xmlNodePtr node, const char *domname,
            struct inspect_disks *out)
{
  CLEANUP_FREE char *type = NULL, *protocol = NULL;
  struct inspect_disk d = { 0 };
  bool oom = false;
  const char *what;

  type = xpath_string (ctx, node, "string(@type)", &oom);
  d.target = xpath_string (ctx, node, "string(target/@dev)", &oom);
  what = d.target ? d.target : "?";
  if (type && strcmp (type, "file") && strcmp (type, "block")) {
    if (strcmp (type, "network") == 0) {
      protocol = xpath_string (ctx, node, "string(source/@protocol)", &oom);
      vd_set_error (ENOTSUP,
                    _ ("domain %s: disk %s is a network disk (protocol %s); "
                       "only local files and block devices can be added"),
                    domname, what, protocol ? protocol : "?");
    }
    else
      vd_set_error (ENOTSUP,
                    _ ("domain %s: disk %s has type '%s'; only 'file' and "
                       "'block' disks can be added"),
                    domname, what, type);
    free (d.target);
    return -1;
  }
  d.filename = xpath_string (ctx, node, "string(source/@file)", &oom);
  if (!d.filename)
    d.filename = xpath_string (ctx, node, "string(source/@dev)", &oom);
  d.format = xpath_string (ctx, node, "string(driver/@type)", &oom);
  d.readonly = xpath_bool (ctx, node, "boolean(readonly)");
  if (oom || !d.filename) {
    free (d.filename);
    free (d.format);
    free (d.target);
    if (!oom)
      return 0; /* an empty drive */
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  if (append_disk (out, &d) == -1) {
    free (d.filename);
    free (d.format);
    free (d.target);
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  return 1;
}

int
inspect_disks_from_xml (const char *xml, const char *domname,
                        struct inspect_disks *out)
{
  CLEANUP_XMLDOC xmlDocPtr doc = NULL;
  CLEANUP_XPATHCTX xmlXPathContextPtr ctx = NULL;
  CLEANUP_XPATHOBJ xmlXPathObjectPtr disks = NULL;
  xmlNodeSetPtr nodes;
  int i;

  out->v = NULL;
  out->n = 0;
  /* No network access and no entity substitution: the XML is data. */
  doc =
      xmlReadMemory (xml, (int) strnlen (xml, 64 << 20), NULL, NULL,
                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (!doc) {
    vd_set_error (EINVAL, _ ("domain %s: its XML description cannot be parsed"),
                  domname);
    return -1;
  }
  ctx = xmlXPathNewContext (doc);
  if (!ctx) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  disks = xmlXPathEvalExpression (
      BAD_CAST "/domain/devices/disk[not(@device) or @device='disk']", ctx);
  if (!disks) {
    vd_set_error (EINVAL, _ ("domain %s: its XML description cannot be read"),
                  domname);
    return -1;
  }
  nodes = disks->nodesetval;
  for (i = 0; nodes && i < nodes->nodeNr; i++) {
    if (parse_disk (ctx, nodes->nodeTab[i], domname, out) == -1) {
      inspect_disks_free (out);
      return -1;
    }
  }
  if (out->n == 0) {
    vd_set_error (ENOENT, _ ("domain %s has no disks"), domname);
    return -1;
  }
  return 0;
}

/* libvirt prints its errors on stderr unless told otherwise; we report
 * them ourselves through virGetLastErrorMessage. */
static void
ignore_libvirt_error (void *opaque, virErrorPtr err)
{
  (void) opaque;
  (void) err;
}

/* libxml2 (inside libvirt too) prints parser complaints on stderr; the
 * message we report says what failed. */
static void
ignore_xml_error (void *ctx, const char *msg, ...)
{
  (void) ctx;
  (void) msg;
}

static bool
looks_like_uuid (const char *s)
{
  size_t i, n = strlen (s);

  if (n != 36 && n != 32)
    return false;
  for (i = 0; i < n; i++) {
    if (s[i] == '-' && n == 36 && (i == 8 || i == 13 || i == 18 || i == 23))
      continue;
    if (!strchr ("0123456789abcdefABCDEF", s[i]))
      return false;
  }
  return true;
}

int
inspect_domain_disks (const char *uri, const char *domain, bool for_write,
                      struct inspect_disks *out)
{
  virConnectPtr conn;
  virDomainPtr dom = NULL;
  char *xml = NULL, *conn_uri = NULL;
  const char *name;
  int r = -1;

  out->v = NULL;
  out->n = 0;
  virSetErrorFunc (NULL, ignore_libvirt_error);
  xmlSetGenericErrorFunc (NULL, ignore_xml_error);
  conn = virConnectOpenAuth (uri, virConnectAuthPtrDefault, VIR_CONNECT_RO);
  if (!conn) {
    vd_set_error (0, _ ("cannot connect to libvirt%s%s: %s"), uri ? " at " : "",
                  uri ? uri : "", virGetLastErrorMessage ());
    return -1;
  }
  if (looks_like_uuid (domain))
    dom = virDomainLookupByUUIDString (conn, domain);
  if (!dom)
    dom = virDomainLookupByName (conn, domain);
  if (!dom) {
    conn_uri = virConnectGetURI (conn);
    vd_set_error (ENOENT,
                  _ ("%s: no libvirt domain has that name or UUID "
                     "(connection %s)"),
                  domain, conn_uri ? conn_uri : (uri ? uri : "default"));
    goto out;
  }
  name = virDomainGetName (dom);
  if (!name)
    name = domain;
  if (for_write && virDomainIsActive (dom) == 1) {
    vd_set_error (EBUSY,
                  _ ("domain %s is running: writing to the disks of a live "
                     "guest would corrupt them; shut it down first"),
                  name);
    goto out;
  }
  xml = virDomainGetXMLDesc (dom, 0);
  if (!xml) {
    vd_set_error (0, _ ("domain %s: cannot get its XML description: %s"), name,
                  virGetLastErrorMessage ());
    goto out;
  }
  r = inspect_disks_from_xml (xml, name, out);

out:
  free (xml);
  free (conn_uri);
  if (dom)
    virDomainFree (dom);
  virConnectClose (conn);
  return r;
}
