/* Unit tests for tools/inspect-render.c: vd-inspect's JSON (the members
 * and order man/vd-inspect.pod documents) and XML (virt-inspector's
 * element names, order and layout, checked against its RELAX NG schema
 * where guestfs-tools installed it) from synthetic reports, so no
 * appliance is needed. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>

#include "inspect-render.h"

#define S(s) ((char *) (s))

/* ---- synthetic reports ---------------------------------------------------
 */

static struct inspect_mountpoint linux_mps[] = {
  { S ("/"), S ("/dev/sda2") },
  { S ("/boot"), S ("/dev/sda1") },
};
static struct inspect_filesystem linux_fss[] = {
  { S ("/dev/sda1"), S ("ext4"), S ("BOOT"),
    S ("6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"), 16777216 },
  { S ("/dev/sda2"), S ("ext4"), S ("ROOT"),
    S ("0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"), 41943040 },
  { S ("/dev/sda3"), S ("swap"), NULL, NULL, -1 },
};
static struct inspect_application linux_apps[] = {
  { .name = S ("bash"),
    .version = S ("5.2.15"),
    .release = S ("2+b2"),
    .arch = S ("amd64"),
    .summary = S ("GNU Bourne Again SHell") },
  { .name = S ("libvdtest1"),
    .epoch = 2,
    .version = S ("1.0.5"),
    .release = S ("3~bpo12+1"),
    .arch = S ("all"),
    .url = S ("https://vdtools.example.org/"),
    .source_package = S ("vdtest"),
    .summary = S ("vdtools test package"),
    .description = S ("Line one.\n.\nLine <two> & more.") },
};

static struct inspect_os
linux_os (void)
{
  struct inspect_os os = {
    .root = S ("/dev/sda2"),
    .type = S ("linux"),
    .arch = S ("x86_64"),
    .distro = S ("debian"),
    .product_name = S ("12.4"),
    .major_version = 12,
    .minor_version = 4,
    .package_format = S ("deb"),
    .package_management = S ("apt"),
    .hostname = S ("vdtest"),
    .osinfo = S ("debian12"),
    .mountpoints = linux_mps,
    .nr_mountpoints = 2,
    .filesystems = linux_fss,
    .nr_filesystems = 3,
    .has_applications = true,
    .applications = linux_apps,
    .nr_applications = 2,
  };
  return os;
}

static struct inspect_mountpoint win_mps[] = {
  { S ("/"), S ("/dev/sda2") },
};
static struct inspect_filesystem win_fss[] = {
  { S ("/dev/sda2"), S ("ntfs"), NULL, S ("0AA0BA5FA0BA50C5"), 1073741824 },
};
static struct inspect_drive_mapping win_drives[] = {
  { S ("C"), S ("/dev/sda2") },
  { S ("D"), S ("/dev/sda3") },
};
static struct inspect_application win_apps[] = {
  { .name = S ("{90140000-0011-0000-0000-0000000FF1CE}"),
    .display_name = S ("Microsoft Office \"Pro\" 2010"),
    .version = S ("14.0.4763.1000"),
    .install_path = S ("C:\\Program Files\\Office"),
    .publisher = S ("Microsoft Corporation") },
};

static struct inspect_os
windows_os (void)
{
  struct inspect_os os = {
    .root = S ("/dev/sda2"),
    .type = S ("windows"),
    .arch = S ("x86_64"),
    .distro = S ("windows"),
    .product_name = S ("Windows Server 2012 Datacenter"),
    .product_variant = S ("Server"),
    .major_version = 6,
    .minor_version = 2,
    .windows_systemroot = S ("/Windows"),
    .windows_current_control_set = S ("ControlSet001"),
    .hostname = S ("WIN-6AOV5N85H2F"),
    .osinfo = S ("win2k12"),
    .mountpoints = win_mps,
    .nr_mountpoints = 1,
    .filesystems = win_fss,
    .nr_filesystems = 1,
    .drive_mappings = win_drives,
    .nr_drive_mappings = 2,
    .has_applications = true,
    .applications = win_apps,
    .nr_applications = 1,
  };
  return os;
}

/* What inspection leaves when it learns nothing but the root. */
static struct inspect_os
bare_os (void)
{
  struct inspect_os os = { .root = S ("/dev/sdb1") };
  return os;
}

static json_t *
parse_json (const char *text)
{
  json_error_t err;
  json_t *j = json_loads (text, 0, &err);

  if (!j)
    fail_msg ("invalid JSON (%s, line %d): %s", err.text, err.line, text);
  return j;
}

static void
assert_json_str (json_t *obj, const char *key, const char *want)
{
  json_t *v = json_object_get (obj, key);

  if (!v)
    fail_msg ("no member %s", key);
  if (!want) {
    if (!json_is_null (v))
      fail_msg ("%s is not null", key);
    return;
  }
  if (!json_is_string (v) || strcmp (json_string_value (v), want) != 0)
    fail_msg ("%s: expected \"%s\"", key, want);
}

static void
assert_json_int (json_t *obj, const char *key, json_int_t want)
{
  json_t *v = json_object_get (obj, key);

  if (!json_is_integer (v) || json_integer_value (v) != want)
    fail_msg ("%s: expected %lld", key, (long long) want);
}

/* The member names of OBJ, in order, joined with commas. */
static char *
keys_of (json_t *obj)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *fp = open_memstream (&buf, &len);
  const char *key;
  json_t *v;
  bool first = true;

  assert_non_null (fp);
  json_object_foreach (obj, key, v)
  {
    fprintf (fp, "%s%s", first ? "" : ",", key);
    first = false;
  }
  fclose (fp);
  return buf;
}

static void
assert_keys (json_t *obj, const char *want)
{
  char *got = keys_of (obj);

  if (strcmp (got, want) != 0)
    fail_msg ("members [%s], expected [%s]", got, want);
  free (got);
}

/* ---- JSON ---------------------------------------------------------------- */

static void
test_json_no_os_is_an_empty_array (void **state)
{
  struct inspect_report r = { NULL, 0 };
  char *text = inspect_render_json (&r);

  (void) state;
  assert_non_null (text);
  assert_string_equal (text, "[]\n");
  free (text);
}

/* The documented schema: these members, in this order, always present. */
static const char os_keys[] =
    "root,type,distro,product_name,product_variant,major_version,"
    "minor_version,arch,hostname,osinfo,package_format,package_management,"
    "windows_systemroot,windows_current_control_set,mountpoints,filesystems,"
    "drive_mappings,applications";
static const char app_keys[] =
    "name,display_name,epoch,version,release,arch,install_path,publisher,url,"
    "source_package,summary,description";

static void
test_json_linux_has_every_documented_member (void **state)
{
  struct inspect_os os = linux_os ();
  struct inspect_report r = { &os, 1 };
  char *text = inspect_render_json (&r);
  json_t *j, *o, *a;

  (void) state;
  assert_non_null (text);
  j = parse_json (text);
  assert_true (json_is_array (j));
  assert_int_equal (json_array_size (j), 1);
  o = json_array_get (j, 0);
  assert_keys (o, os_keys);
  assert_json_str (o, "root", "/dev/sda2");
  assert_json_str (o, "type", "linux");
  assert_json_str (o, "distro", "debian");
  assert_json_str (o, "product_name", "12.4");
  assert_json_str (o, "product_variant", NULL);
  assert_json_int (o, "major_version", 12);
  assert_json_int (o, "minor_version", 4);
  assert_json_str (o, "arch", "x86_64");
  assert_json_str (o, "hostname", "vdtest");
  assert_json_str (o, "osinfo", "debian12");
  assert_json_str (o, "package_format", "deb");
  assert_json_str (o, "package_management", "apt");
  assert_json_str (o, "windows_systemroot", NULL);
  assert_json_str (o, "windows_current_control_set", NULL);

  a = json_object_get (o, "mountpoints");
  assert_int_equal (json_array_size (a), 2);
  assert_keys (json_array_get (a, 1), "mountpoint,device");
  assert_json_str (json_array_get (a, 1), "mountpoint", "/boot");
  assert_json_str (json_array_get (a, 1), "device", "/dev/sda1");

  a = json_object_get (o, "filesystems");
  assert_int_equal (json_array_size (a), 3);
  assert_keys (json_array_get (a, 0), "device,type,label,uuid,size");
  assert_json_str (json_array_get (a, 0), "label", "BOOT");
  assert_json_int (json_array_get (a, 0), "size", 16777216);
  assert_json_str (json_array_get (a, 2), "type", "swap");
  assert_json_str (json_array_get (a, 2), "label", NULL);
  assert_json_str (json_array_get (a, 2), "uuid", NULL);
  assert_true (json_is_null (json_object_get (json_array_get (a, 2), "size")));

  a = json_object_get (o, "drive_mappings");
  assert_true (json_is_array (a));
  assert_int_equal (json_array_size (a), 0);

  a = json_object_get (o, "applications");
  assert_int_equal (json_array_size (a), 2);
  assert_keys (json_array_get (a, 0), app_keys);
  assert_json_str (json_array_get (a, 0), "name", "bash");
  assert_json_int (json_array_get (a, 0), "epoch", 0);
  assert_json_str (json_array_get (a, 0), "release", "2+b2");
  assert_json_str (json_array_get (a, 0), "url", NULL);
  assert_json_int (json_array_get (a, 1), "epoch", 2);
  assert_json_str (json_array_get (a, 1), "version", "1.0.5");
  assert_json_str (json_array_get (a, 1), "source_package", "vdtest");
  assert_json_str (json_array_get (a, 1), "description",
                   "Line one.\n.\nLine <two> & more.");
  json_decref (j);
  free (text);
}

static void
test_json_windows_drive_mappings_and_two_systems (void **state)
{
  struct inspect_os os[2] = { windows_os (), linux_os () };
  struct inspect_report r = { os, 2 };
  char *text = inspect_render_json (&r);
  json_t *j, *o, *a;

  (void) state;
  assert_non_null (text);
  j = parse_json (text);
  assert_int_equal (json_array_size (j), 2);
  o = json_array_get (j, 0);
  assert_keys (o, os_keys);
  assert_json_str (o, "type", "windows");
  assert_json_str (o, "product_variant", "Server");
  assert_json_str (o, "windows_systemroot", "/Windows");
  assert_json_str (o, "windows_current_control_set", "ControlSet001");
  assert_json_str (o, "package_format", NULL);
  a = json_object_get (o, "drive_mappings");
  assert_int_equal (json_array_size (a), 2);
  assert_keys (json_array_get (a, 0), "drive,device");
  assert_json_str (json_array_get (a, 0), "drive", "C");
  assert_json_str (json_array_get (a, 1), "drive", "D");
  assert_json_str (json_array_get (a, 1), "device", "/dev/sda3");
  a = json_object_get (o, "applications");
  assert_json_str (json_array_get (a, 0), "display_name",
                   "Microsoft Office \"Pro\" 2010");
  assert_json_str (json_array_get (a, 0), "install_path",
                   "C:\\Program Files\\Office");
  assert_json_str (json_array_get (a, 0), "publisher", "Microsoft Corporation");
  assert_json_str (json_array_get (j, 1), "type", "linux");
  json_decref (j);
  free (text);
}

static void
test_json_unknowns_are_null_and_no_applications_is_null (void **state)
{
  struct inspect_os os[2] = { bare_os (), bare_os () };
  struct inspect_report r = { os, 2 };
  char *text;
  json_t *j, *o;

  (void) state;
  os[1].has_applications = true; /* asked for, none found */
  text = inspect_render_json (&r);
  assert_non_null (text);
  j = parse_json (text);
  o = json_array_get (j, 0);
  assert_keys (o, os_keys);
  assert_json_str (o, "type", NULL);
  assert_json_str (o, "hostname", NULL);
  assert_json_int (o, "major_version", 0);
  assert_int_equal (json_array_size (json_object_get (o, "mountpoints")), 0);
  assert_int_equal (json_array_size (json_object_get (o, "filesystems")), 0);
  assert_true (json_is_null (json_object_get (o, "applications")));
  o = json_array_get (j, 1);
  assert_true (json_is_array (json_object_get (o, "applications")));
  assert_int_equal (json_array_size (json_object_get (o, "applications")), 0);
  json_decref (j);
  free (text);
}

/* A guest's strings are bytes: what is not UTF-8 becomes U+FFFD, one per
 * bad byte; valid multi-byte characters are kept. */
static void
test_json_bad_utf8_becomes_replacement_characters (void **state)
{
  struct inspect_os os = bare_os ();
  struct inspect_report r = { &os, 1 };
  char *text;
  json_t *j;

  (void) state;
  os.hostname = S ("caf\xe9-\xc3\xa9-\xc0\xaf-\xed\xa0\x80-\xf0\x9f\x92\xbe-"
                   "\x01-\xe2\x82");
  text = inspect_render_json (&r);
  assert_non_null (text);
  j = parse_json (text);
  assert_json_str (json_array_get (j, 0), "hostname",
                   "caf\xef\xbf\xbd-\xc3\xa9-\xef\xbf\xbd\xef\xbf\xbd-"
                   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd-\xf0\x9f\x92\xbe-"
                   "\x01-\xef\xbf\xbd\xef\xbf\xbd");
  json_decref (j);
  free (text);
}

/* ---- XML ----------------------------------------------------------------- */

static void
test_xml_no_os_is_an_empty_element (void **state)
{
  struct inspect_report r = { NULL, 0 };
  char *text = inspect_render_xml (&r);

  (void) state;
  assert_non_null (text);
  assert_string_equal (text, "<?xml version=\"1.0\"?>\n<operatingsystems/>\n");
  free (text);
}

/* Byte for byte what virt-inspector prints for the same facts. */
static const char linux_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<operatingsystems>\n"
    "  <operatingsystem>\n"
    "    <root>/dev/sda2</root>\n"
    "    <name>linux</name>\n"
    "    <arch>x86_64</arch>\n"
    "    <distro>debian</distro>\n"
    "    <product_name>12.4</product_name>\n"
    "    <major_version>12</major_version>\n"
    "    <minor_version>4</minor_version>\n"
    "    <package_format>deb</package_format>\n"
    "    <package_management>apt</package_management>\n"
    "    <hostname>vdtest</hostname>\n"
    "    <osinfo>debian12</osinfo>\n"
    "    <mountpoints>\n"
    "      <mountpoint dev=\"/dev/sda2\">/</mountpoint>\n"
    "      <mountpoint dev=\"/dev/sda1\">/boot</mountpoint>\n"
    "    </mountpoints>\n"
    "    <filesystems>\n"
    "      <filesystem dev=\"/dev/sda1\">\n"
    "        <type>ext4</type>\n"
    "        <label>BOOT</label>\n"
    "        <uuid>6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d</uuid>\n"
    "      </filesystem>\n"
    "      <filesystem dev=\"/dev/sda2\">\n"
    "        <type>ext4</type>\n"
    "        <label>ROOT</label>\n"
    "        <uuid>0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6</uuid>\n"
    "      </filesystem>\n"
    "      <filesystem dev=\"/dev/sda3\">\n"
    "        <type>swap</type>\n"
    "      </filesystem>\n"
    "    </filesystems>\n"
    "    <applications>\n"
    "      <application>\n"
    "        <name>bash</name>\n"
    "        <version>5.2.15</version>\n"
    "        <release>2+b2</release>\n"
    "        <arch>amd64</arch>\n"
    "        <summary>GNU Bourne Again SHell</summary>\n"
    "      </application>\n"
    "      <application>\n"
    "        <name>libvdtest1</name>\n"
    "        <epoch>2</epoch>\n"
    "        <version>1.0.5</version>\n"
    "        <release>3~bpo12+1</release>\n"
    "        <arch>all</arch>\n"
    "        <url>https://vdtools.example.org/</url>\n"
    "        <source_package>vdtest</source_package>\n"
    "        <summary>vdtools test package</summary>\n"
    "        <description>Line one.\n.\nLine &lt;two&gt; &amp; "
    "more.</description>\n"
    "      </application>\n"
    "    </applications>\n"
    "  </operatingsystem>\n"
    "</operatingsystems>\n";

static void
test_xml_linux_is_virt_inspector_layout (void **state)
{
  struct inspect_os os = linux_os ();
  struct inspect_report r = { &os, 1 };
  char *text = inspect_render_xml (&r);

  (void) state;
  assert_non_null (text);
  assert_string_equal (text, linux_xml);
  free (text);
}

static const char windows_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<operatingsystems>\n"
    "  <operatingsystem>\n"
    "    <root>/dev/sda2</root>\n"
    "    <name>windows</name>\n"
    "    <arch>x86_64</arch>\n"
    "    <distro>windows</distro>\n"
    "    <product_name>Windows Server 2012 Datacenter</product_name>\n"
    "    <product_variant>Server</product_variant>\n"
    "    <major_version>6</major_version>\n"
    "    <minor_version>2</minor_version>\n"
    "    <windows_systemroot>/Windows</windows_systemroot>\n"
    "    <windows_current_control_set>ControlSet001"
    "</windows_current_control_set>\n"
    "    <hostname>WIN-6AOV5N85H2F</hostname>\n"
    "    <osinfo>win2k12</osinfo>\n"
    "    <mountpoints>\n"
    "      <mountpoint dev=\"/dev/sda2\">/</mountpoint>\n"
    "    </mountpoints>\n"
    "    <filesystems>\n"
    "      <filesystem dev=\"/dev/sda2\">\n"
    "        <type>ntfs</type>\n"
    "        <uuid>0AA0BA5FA0BA50C5</uuid>\n"
    "      </filesystem>\n"
    "    </filesystems>\n"
    "    <drive_mappings>\n"
    "      <drive_mapping name=\"C\">/dev/sda2</drive_mapping>\n"
    "      <drive_mapping name=\"D\">/dev/sda3</drive_mapping>\n"
    "    </drive_mappings>\n"
    "    <applications>\n"
    "      <application>\n"
    "        <name>{90140000-0011-0000-0000-0000000FF1CE}</name>\n"
    "        <display_name>Microsoft Office &quot;Pro&quot; "
    "2010</display_name>\n"
    "        <version>14.0.4763.1000</version>\n"
    "        <install_path>C:\\Program Files\\Office</install_path>\n"
    "        <publisher>Microsoft Corporation</publisher>\n"
    "      </application>\n"
    "    </applications>\n"
    "  </operatingsystem>\n"
    "</operatingsystems>\n";

static void
test_xml_windows_has_drive_mappings (void **state)
{
  struct inspect_os os = windows_os ();
  struct inspect_report r = { &os, 1 };
  char *text = inspect_render_xml (&r);

  (void) state;
  assert_non_null (text);
  assert_string_equal (text, windows_xml);
  free (text);
}

/* Unknown facts have no element; empty lists are empty elements; no
 * <applications> unless they were asked for. */
static void
test_xml_unknowns_are_left_out (void **state)
{
  struct inspect_os os[2] = { bare_os (), bare_os () };
  struct inspect_report r = { os, 2 };
  char *text;

  (void) state;
  os[1].has_applications = true;
  text = inspect_render_xml (&r);
  assert_non_null (text);
  assert_string_equal (text, "<?xml version=\"1.0\"?>\n"
                             "<operatingsystems>\n"
                             "  <operatingsystem>\n"
                             "    <root>/dev/sdb1</root>\n"
                             "    <major_version>0</major_version>\n"
                             "    <minor_version>0</minor_version>\n"
                             "    <mountpoints/>\n"
                             "    <filesystems/>\n"
                             "  </operatingsystem>\n"
                             "  <operatingsystem>\n"
                             "    <root>/dev/sdb1</root>\n"
                             "    <major_version>0</major_version>\n"
                             "    <minor_version>0</minor_version>\n"
                             "    <mountpoints/>\n"
                             "    <filesystems/>\n"
                             "    <applications/>\n"
                             "  </operatingsystem>\n"
                             "</operatingsystems>\n");
  free (text);
}

/* Markup in a guest's strings is escaped, bytes that are not UTF-8 and
 * control characters XML cannot hold become U+FFFD: the output always
 * parses. */
static void
test_xml_hostile_strings_still_parse (void **state)
{
  struct inspect_os os = bare_os ();
  struct inspect_mountpoint mp = { S ("/mnt/\"a\"&<b>"),
                                   S ("/dev/sd\x01\xff") };
  struct inspect_report r = { &os, 1 };
  xmlDocPtr doc;
  xmlNodePtr n;
  xmlChar *v;
  char *text;

  (void) state;
  os.hostname = S ("</hostname><evil/>\x1b[31m\xfe");
  os.mountpoints = &mp;
  os.nr_mountpoints = 1;
  text = inspect_render_xml (&r);
  assert_non_null (text);
  doc = xmlReadMemory (text, (int) strlen (text), "out.xml", NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR);
  if (!doc)
    fail_msg ("the XML does not parse: %s", text);
  /* operatingsystems/operatingsystem/root, hostname */
  n = xmlDocGetRootElement (doc)->children;
  while (n && n->type != XML_ELEMENT_NODE)
    n = n->next;
  assert_non_null (n);
  for (n = n->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (xmlStrcmp (n->name, BAD_CAST "hostname") == 0) {
      v = xmlNodeGetContent (n);
      assert_string_equal ((char *) v, "</hostname><evil/>\xef\xbf\xbd[31m"
                                       "\xef\xbf\xbd");
      xmlFree (v);
    }
    if (xmlStrcmp (n->name, BAD_CAST "mountpoints") == 0) {
      xmlNodePtr m = n->children;
      while (m && m->type != XML_ELEMENT_NODE)
        m = m->next;
      assert_non_null (m);
      v = xmlGetProp (m, BAD_CAST "dev");
      assert_string_equal ((char *) v, "/dev/sd\xef\xbf\xbd\xef\xbf\xbd");
      xmlFree (v);
      v = xmlNodeGetContent (m);
      assert_string_equal ((char *) v, "/mnt/\"a\"&<b>");
      xmlFree (v);
    }
  }
  xmlFreeDoc (doc);
  free (text);
}

/* virt-inspector's own schema accepts our XML (guestfs-tools ships it;
 * libxml2 reads the gzipped copy).  VD_INSPECTOR_RNG overrides where it
 * is looked for. */
static void
test_xml_validates_against_virt_inspector_rng (void **state)
{
  const char *rng = getenv ("VD_INSPECTOR_RNG");
  struct inspect_os os[2] = { linux_os (), windows_os () };
  struct inspect_report r = { os, 2 };
  xmlRelaxNGParserCtxtPtr pctx;
  xmlRelaxNGPtr schema;
  xmlRelaxNGValidCtxtPtr vctx;
  xmlDocPtr doc;
  char *text;

  (void) state;
  if (!rng)
    rng = "/usr/share/doc/guestfs-tools/virt-inspector.rng.gz";
  if (access (rng, R_OK) != 0)
    skip ();
  pctx = xmlRelaxNGNewParserCtxt (rng);
  assert_non_null (pctx);
  schema = xmlRelaxNGParse (pctx);
  xmlRelaxNGFreeParserCtxt (pctx);
  if (!schema)
    fail_msg ("%s: cannot parse the schema", rng);
  vctx = xmlRelaxNGNewValidCtxt (schema);
  text = inspect_render_xml (&r);
  assert_non_null (text);
  doc = xmlReadMemory (text, (int) strlen (text), "out.xml", NULL, 0);
  assert_non_null (doc);
  if (xmlRelaxNGValidateDoc (vctx, doc) != 0)
    fail_msg ("our XML does not validate against %s:\n%s", rng, text);
  xmlFreeDoc (doc);
  free (text);
  xmlRelaxNGFreeValidCtxt (vctx);
  xmlRelaxNGFree (schema);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_json_no_os_is_an_empty_array),
    cmocka_unit_test (test_json_linux_has_every_documented_member),
    cmocka_unit_test (test_json_windows_drive_mappings_and_two_systems),
    cmocka_unit_test (test_json_unknowns_are_null_and_no_applications_is_null),
    cmocka_unit_test (test_json_bad_utf8_becomes_replacement_characters),
    cmocka_unit_test (test_xml_no_os_is_an_empty_element),
    cmocka_unit_test (test_xml_linux_is_virt_inspector_layout),
    cmocka_unit_test (test_xml_windows_has_drive_mappings),
    cmocka_unit_test (test_xml_unknowns_are_left_out),
    cmocka_unit_test (test_xml_hostile_strings_still_parse),
    cmocka_unit_test (test_xml_validates_against_virt_inspector_rng),
  };
  int r = cmocka_run_group_tests (tests, NULL, NULL);

  xmlCleanupParser ();
  return r;
}
