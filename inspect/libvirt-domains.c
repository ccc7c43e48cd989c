/* Every domain of a libvirt connection with its disks (vd-df with no -a
 * or -d examines them all).  Each domain's XML goes through
 * inspect_disks_from_xml (libvirt-domain.c); a domain whose disks cannot
 * be taken is kept in the list with the reason, so the caller can report
 * it by name and go on with the others.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>

#include "inspect-internal.h"

void
inspect_domains_free (struct inspect_domains *d)
{
  size_t i;

  if (!d)
    return;
  for (i = 0; i < d->n; i++) {
    free (d->v[i].name);
    free (d->v[i].uuid);
    free (d->v[i].error);
    inspect_disks_free (&d->v[i].disks);
  }
  free (d->v);
  d->v = NULL;
  d->n = 0;
}

static void
quiet_libvirt (void *opaque, virErrorPtr err)
{
  (void) opaque;
  (void) err;
}

static void
quiet_xml (void *ctx, const char *msg, ...)
{
  (void) ctx;
  (void) msg;
}

static bool
is_uuid_string (const char *s)
{
  size_t i, n = strlen (s);

  if (n != 36 && n != 32)
    return false;
  for (i = 0; i < n; i++) {
    if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
      if (s[i] != '-')
        return false;
      continue;
    }
    if (!strchr ("0123456789abcdefABCDEF", s[i]))
      return false;
  }
  return true;
}

/* Fill D from DOM: name, UUID, disks (or the reason there are none).
 * Returns 0, or -1 when memory ran out (error set). */
static int
describe_domain (virDomainPtr dom, struct inspect_domain *d)
{
  char uuid[VIR_UUID_STRING_BUFLEN];
  const char *name = virDomainGetName (dom);
  char *xml;

  memset (d, 0, sizeof *d);
  d->name = strdup (name ? name : "?");
  if (!d->name)
    goto oom;
  if (virDomainGetUUIDString (dom, uuid) == 0) {
    d->uuid = strdup (uuid);
    if (!d->uuid)
      goto oom;
  }
  xml = virDomainGetXMLDesc (dom, 0);
  if (!xml) {
    vd_set_error (0, _ ("domain %s: cannot get its XML description: %s"),
                  d->name, virGetLastErrorMessage ());
  }
  else {
    int r = inspect_disks_from_xml (xml, d->name, &d->disks);
    free (xml);
    if (r == 0)
      return 0;
  }
  d->error_num = vd_errno ();
  d->error = strdup (vd_error ());
  if (!d->error)
    goto oom;
  return 0;

oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

static int
domain_cmp (const void *a, const void *b)
{
  const struct inspect_domain *x = a, *y = b;
  return strcmp (x->name, y->name);
}

int
inspect_list_domains (const char *uri, const char *only,
                      struct inspect_domains *out)
{
  virConnectPtr conn;
  virDomainPtr *doms = NULL, one = NULL;
  char *conn_uri;
  int n = 0, i, r = -1;

  out->v = NULL;
  out->n = 0;
  virSetErrorFunc (NULL, quiet_libvirt);
  xmlSetGenericErrorFunc (NULL, quiet_xml);
  conn = virConnectOpenAuth (uri, virConnectAuthPtrDefault, VIR_CONNECT_RO);
  if (!conn) {
    vd_set_error (0, _ ("cannot connect to libvirt%s%s: %s"), uri ? " at " : "",
                  uri ? uri : "", virGetLastErrorMessage ());
    return -1;
  }

  if (only) {
    if (is_uuid_string (only))
      one = virDomainLookupByUUIDString (conn, only);
    if (!one)
      one = virDomainLookupByName (conn, only);
    if (!one) {
      conn_uri = virConnectGetURI (conn);
      vd_set_error (ENOENT,
                    _ ("%s: no libvirt domain has that name or UUID "
                       "(connection %s)"),
                    only, conn_uri ? conn_uri : (uri ? uri : "default"));
      free (conn_uri);
      goto out;
    }
    doms = &one;
    n = 1;
  }
  else {
    /* Active and inactive alike (flags 0). */
    n = virConnectListAllDomains (conn, &doms, 0);
    if (n < 0) {
      vd_set_error (0, _ ("cannot list the libvirt domains: %s"),
                    virGetLastErrorMessage ());
      doms = NULL;
      goto out;
    }
  }

  if (n > 0) {
    out->v = calloc ((size_t) n, sizeof *out->v);
    if (!out->v) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      goto out;
    }
  }
  for (i = 0; i < n; i++) {
    if (describe_domain (doms[i], &out->v[out->n]) == -1) {
      /* describe_domain leaves what it took in the entry: count it so
       * inspect_domains_free releases it. */
      out->n++;
      inspect_domains_free (out);
      goto out;
    }
    out->n++;
  }
  qsort (out->v, out->n, sizeof *out->v, domain_cmp);
  r = 0;

out:
  for (i = 0; doms && i < n; i++)
    virDomainFree (doms[i]);
  if (doms && doms != &one)
    free (doms);
  virConnectClose (conn);
  return r;
}
