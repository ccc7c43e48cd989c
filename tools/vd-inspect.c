/* vd-inspect: what operating systems a guest's disks hold, as JSON (our
 * documented schema, the default) or as virt-inspector's XML.  Parse
 * (options into struct inspect_request), work (inspect/os.c: the facts
 * into struct inspect_report), render (tools/inspect-render.c).
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/guest.h"
#include "inspect-render.h"

/* ---- parse ----------------------------------------------------------------
 */

struct inspect_request {
  struct guest_opts g;
  bool xml;
  bool no_applications;
};

enum {
  OPT_XML = 256,
  OPT_NO_APPLICATIONS,
  OPT_NO_ICON,
};

static const struct tool_option inspect_options[] = {
  { "xml", 0, no_argument, NULL, N_ ("XML output, as virt-inspector prints"),
    OPT_XML },
  { "no-applications", 0, no_argument, NULL,
    N_ ("Do not list the installed applications"), OPT_NO_APPLICATIONS },
  { "no-icon", 0, no_argument, NULL,
    N_ ("Do not output the guest icon (there is none anyway)"), OPT_NO_ICON },
  { NULL, 0, 0, NULL, NULL, 0 },
};

static const char *const inspect_usage[] = {
  "[--options] -d domname",
  "[--options] -a disk.img [-a disk.img ...]",
  NULL,
};

static int
inspect_option (void *data, int id, const char *arg)
{
  struct inspect_request *req = data;

  (void) arg;
  switch (id) {
  case OPT_XML: req->xml = true; return 0;
  case OPT_NO_APPLICATIONS: req->no_applications = true; return 0;
  case OPT_NO_ICON: return 0; /* we never print an icon */
  }
  return -1;
}

static const struct tool_info inspect_tool = {
  .summary = N_ ("display information about a virtual machine"),
  .usage = inspect_usage,
  .common = GOPT_ADD | GOPT_KEYS | GOPT_JSON,
  .options = inspect_options,
  .handle = inspect_option,
  .min_args = 0,
};

/* ---- work and render ------------------------------------------------------
 */

static int
write_all (const char *text)
{
  size_t len = strlen (text);

  if (fwrite (text, 1, len, stdout) != len || fflush (stdout) == EOF
      || ferror (stdout)) {
    vd_set_error (errno, _ ("error writing the output: %s"), strerror (errno));
    return -1;
  }
  return 0;
}

int
main (int argc, char **argv)
{
  struct inspect_request req = { .xml = false };
  struct inspect_report report = { NULL, 0 };
  char *text = NULL;
  guestfs_h *g;
  int r;

  tool_init (argc, argv);
  r = guest_opts_parse (&inspect_tool, &req, argc, argv, &req.g);
  if (r != 0)
    return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  if (req.xml && req.g.output == OUTPUT_JSON) {
    tool_error (_ ("--json and --xml cannot be used together"));
    guest_opts_free (&req.g);
    return EXIT_FAILURE;
  }
  if (req.g.nr_args > 0) {
    tool_error (_ ("extra argument '%s' on the command line (disks are "
                   "given with -a; try '%s --help')"),
                req.g.args[0], progname);
    guest_opts_free (&req.g);
    return EXIT_FAILURE;
  }

  /* Read-only, and nothing mounted: inspection mounts what it needs. */
  g = guest_open (&req.g, 0);
  if (!g) {
    tool_error_vd ();
    guest_opts_free (&req.g);
    return EXIT_FAILURE;
  }
  r = inspect_guest (g, req.no_applications ? 0 : INSPECT_APPLICATIONS,
                     &report);
  if (guest_close (g) == -1 && r == 0)
    r = -1;
  if (r == 0) {
    text =
        req.xml ? inspect_render_xml (&report) : inspect_render_json (&report);
    if (!text || write_all (text) == -1)
      r = -1;
  }
  if (r == 0 && report.nr_os == 0)
    tool_warning (_ ("no operating system was found on the guest's disks"));
  if (r == -1)
    tool_error_vd ();
  free (text);
  inspect_report_free (&report);
  guest_opts_free (&req.g);
  return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
