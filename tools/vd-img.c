/* vd-img: create, inspect and convert disk images, with qemu-img's
 * commands, options and output.  This file holds the subcommand table
 * and the top-level options; each subcommand lives in img-NAME.c.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vd-img.h"

struct subcommand {
  const char *name;
  int (*handler) (int argc, char **argv);
  const char *synopsis;
  const char *help;
};

static const struct subcommand subcommands[] = {
  { "amend", cmd_amend,
    "amend [-p] [-q] [-f FMT] [-t CACHE] [--force] -o OPTIONS FILE",
    N_ ("change the format options of an existing image") },
  { "check", cmd_check,
    "check [-q] [-f FMT] [--output=human|json] [-r leaks|all] [-T CACHE] "
    "[-U] FILE",
    N_ ("check an image for errors (and repair them)") },
  { "commit", cmd_commit,
    "commit [-q] [-f FMT] [-t CACHE] [-b BASE] [-d] [-p] FILE",
    N_ ("write an overlay's changes into its backing file") },
  { "compare", cmd_compare,
    "compare [-f FMT] [-F FMT] [-T CACHE] [-p] [-q] [-s] [-U] FILE1 FILE2",
    N_ ("compare the contents of two images") },
  { "convert", cmd_convert,
    "convert [-f FMT] [-O OUTFMT] [-o OPTIONS] [-B BACKING [-F FMT]] [-c] "
    "[-p] [-q] [-n] [-S SIZE] [-m N] [-W] [--target-is-zero] [-t CACHE] "
    "[-T SRC_CACHE] [-U] SRC... DST",
    N_ ("copy images into one image of any format") },
  { "create", cmd_create,
    "create [-q] [-f FMT] [-b BACKING [-F BACKING_FMT]] [-u] [-o OPTIONS] "
    "[--force] FILE [SIZE]",
    N_ ("create a new disk image") },
  { "info", cmd_info,
    "info [-f FMT] [--output=human|json] [--backing-chain] [-U] FILE",
    N_ ("show facts about a disk image") },
  { "map", cmd_map,
    "map [-f FMT] [--start-offset=OFFSET] [--max-length=LEN] "
    "[--output=human|json] [-U] FILE",
    N_ ("show where an image's data lies, layer by layer") },
  { "measure", cmd_measure,
    "measure [--output=human|json] [-O FMT] [-o OPTIONS] "
    "[--size SIZE | [-f FMT] [-U] FILE]",
    N_ ("tell how large a new image must be") },
  { "snapshot", cmd_snapshot,
    "snapshot [-q] [-f FMT] [-U] [-l [--output=human|json] | -c NAME | "
    "-a NAME | -d NAME [--id ID] | --id ID] FILE",
    N_ ("list, create, apply or delete internal snapshots") },
  { "rebase", cmd_rebase,
    "rebase [-U] [-q] [-f FMT] [-t CACHE] [-T CACHE] [-p] [-u] -b BACKING "
    "[-F BACKING_FMT] FILE",
    N_ ("change the backing file of an image") },
  { "resize", cmd_resize,
    "resize [-f FMT] [--preallocation=PREALLOC] [-q] [--shrink] FILE "
    "[+|-]SIZE",
    N_ ("change the virtual size of an image") },
  { NULL, NULL, NULL, NULL },
};

bool
img_qemu_mode (void)
{
  return strcmp (progname, "qemu-img") == 0;
}

int
img_parse_output (const char *arg)
{
  if (strcmp (arg, "human") == 0)
    return 0;
  if (strcmp (arg, "json") == 0)
    return 1;
  tool_error (_ ("--output must be used with human or json as argument."));
  return -1;
}

int
img_add_opts (struct vd_opts *opts, const char *arg)
{
  if (vd_opts_parse (opts, arg) == -1) {
    tool_error_vd ();
    return -1;
  }
  return 0;
}

static int
desc_cmp (const void *a, const void *b)
{
  const struct vd_create_opt_desc *x = a, *y = b;
  return strcmp (x->name, y->name);
}

void
img_print_create_opts (const char *format)
{
  const struct vd_create_opt_desc *d = vd_format_create_opts (format);
  struct vd_create_opt_desc *sorted;
  size_t n = 0, i;

  if (!d) {
    tool_error_vd ();
    return;
  }
  while (d[n].name)
    n++;
  sorted = malloc ((n + 1) * sizeof *sorted);
  if (!sorted)
    return;
  memcpy (sorted, d, n * sizeof *sorted);
  qsort (sorted, n, sizeof *sorted, desc_cmp);
  printf (_ ("Supported options:\n"));
  for (i = 0; i < n; i++) {
    char buf[64];
    const char *t = sorted[i].type;
    if (strcmp (t, "bool") == 0)
      t = "bool (on/off)";
    else if (strcmp (t, "string") == 0)
      t = "str";
    else if (strcmp (t, "number") == 0)
      t = "num";
    snprintf (buf, sizeof buf, "%s=<%s>", sorted[i].name, t);
    printf ("  %-22s - %s\n", buf, _ (sorted[i].help));
  }
  free (sorted);
}

static void
usage (FILE *fp)
{
  size_t i;

  fprintf (fp,
           _ ("%s: create, inspect and convert virtual disk images\n"
              "\n"
              "usage: %s [-h|--help] [-V|--version] COMMAND [OPTIONS]\n"
              "\n"
              "Commands:\n"),
           progname, progname);
  for (i = 0; subcommands[i].name; i++)
    fprintf (fp, "  %-10s %s\n", subcommands[i].name, _ (subcommands[i].help));
  fprintf (fp, _ ("\nCommand syntax:\n"));
  for (i = 0; subcommands[i].name; i++)
    fprintf (fp, "  %s\n", subcommands[i].synopsis);
  fprintf (fp, _ ("\nSupported formats:"));
  {
    const char *const *f;
    for (f = vd_format_names (); *f; f++)
      fprintf (fp, " %s", *f);
  }
  fprintf (fp,
           _ ("\n\n'%s COMMAND --help' describes one command; "
              "'man vd-img' has the details.\n"),
           progname);
}

void
img_subcommand_usage (const char *name)
{
  size_t i;

  for (i = 0; subcommands[i].name; i++)
    if (strcmp (subcommands[i].name, name) == 0)
      printf (_ ("usage: %s %s\n\n%s.\n"), progname, subcommands[i].synopsis,
              _ (subcommands[i].help));
}

int
main (int argc, char **argv)
{
  size_t i;
  const char *cmd;

  tool_init (argc, argv);
  tool_install_signal_handlers ();

  if (argc < 2) {
    tool_error (_ ("Not enough arguments (try '%s --help')"), progname);
    return EXIT_ERR;
  }
  cmd = argv[1];
  if (strcmp (cmd, "-h") == 0 || strcmp (cmd, "--help") == 0) {
    usage (stdout);
    return EXIT_OK;
  }
  if (strcmp (cmd, "-V") == 0 || strcmp (cmd, "--version") == 0) {
    printf ("%s version %s (vdtools)\n", progname, PACKAGE_VERSION);
    return EXIT_OK;
  }
  for (i = 0; subcommands[i].name; i++) {
    if (strcmp (subcommands[i].name, cmd) == 0) {
      /* Let the handler see argv[0] = "vd-img create" style names. */
      return subcommands[i].handler (argc - 1, argv + 1);
    }
  }
  tool_error (_ ("Command not found: %s (try '%s --help')"), cmd, progname);
  return EXIT_ERR;
}
