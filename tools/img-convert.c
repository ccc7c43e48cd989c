/* vd-img convert: parse qemu-img's convert options into a
 * vd_convert_request, run it, and draw the progress (-p) on a terminal.
 * The copy itself (extents, zero runs, compression threads, the
 * temporary file and its rename) is lib/convert.c.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vd-img.h"

/* qemu-img's limits for -S and -m. */
#define MAX_SPARSE (16 * 1024 * 1024)
#define MAX_PARALLEL 16

struct progress {
  bool drawn;
  double last;
};

/* qemu-img's progress line, redrawn in place each 1%. */
static void
draw_progress (void *opaque, uint64_t done, uint64_t total)
{
  struct progress *pr = opaque;
  double pct = total ? 100.0 * (double) done / (double) total : 100.0;

  if (pr->drawn && pct < pr->last + 1.0 && pct < 100.0)
    return;
  if (pr->drawn && pct == pr->last)
    return;
  pr->last = pct;
  pr->drawn = true;
  printf ("    (%3.2f/100%%)\r", pct);
  fflush (stdout);
}

/* On SIGINT/SIGTERM/SIGHUP: remove the temporary target, say so, and die
 * of the signal.  Only async-signal-safe calls. */
static char signal_msg[512];

static void
on_signal (int sig)
{
  vd_remove_temp_files ();
  if (write (STDERR_FILENO, signal_msg, strlen (signal_msg)) < 0) {
    /* nothing more to do */
  }
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
install_signal_handlers (const char *target, bool in_place, bool progress)
{
  struct sigaction sa;

  if (in_place)
    snprintf (signal_msg, sizeof signal_msg,
              _ ("%s%s: convert interrupted; %s is partially written\n"),
              progress ? "\n" : "", progname, target);
  else
    snprintf (signal_msg, sizeof signal_msg,
              _ ("%s%s: convert interrupted; %s was not written\n"),
              progress ? "\n" : "", progname, target);
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigfillset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
}

/* -t and -T: qemu's cache modes.  Returns 1 if the mode flushes, 0 if
 * not (unsafe), -1 if unknown. */
static int
cache_mode_flushes (const char *mode)
{
  if (strcmp (mode, "unsafe") == 0)
    return 0;
  if (strcmp (mode, "writeback") == 0 || strcmp (mode, "none") == 0
      || strcmp (mode, "off") == 0 || strcmp (mode, "directsync") == 0
      || strcmp (mode, "writethrough") == 0)
    return 1;
  return -1;
}

int
cmd_convert (int argc, char **argv)
{
  enum { OPT_TARGET_IS_ZERO = 256 };
  static const struct option long_opts[] = {
    { "help", no_argument, NULL, 'h' },
    { "target-is-zero", no_argument, NULL, OPT_TARGET_IS_ZERO },
    { "force-share", no_argument, NULL, 'U' },
    { NULL, 0, NULL, 0 },
  };
  struct vd_convert_request req;
  struct vd_opts opts = { 0 };
  struct progress pr = { false, 0 };
  const char *cache = "unsafe", *src_cache = "writeback";
  bool quiet = false, progress = false, want_help = false;
  int c, r = EXIT_ERR, flushes;

  memset (&req, 0, sizeof req);
  while ((c = getopt_long (argc, argv, "hf:O:o:B:F:cpqnS:m:Wt:T:U", long_opts,
                           NULL))
         != -1) {
    switch (c) {
    case 'h':
      img_subcommand_usage ("convert");
      vd_opts_free (&opts);
      return EXIT_OK;
    case 'f': req.source_format = optarg; break;
    case 'O': req.target_format = optarg; break;
    case 'o':
      if (strcmp (optarg, "help") == 0 || strcmp (optarg, "?") == 0) {
        want_help = true;
        break;
      }
      if (img_add_opts (&opts, optarg) == -1)
        goto out;
      break;
    case 'B': req.backing = optarg; break;
    case 'F': req.backing_format = optarg; break;
    case 'c': req.flags |= VD_CONVERT_COMPRESS; break;
    case 'p': progress = true; break;
    case 'q': quiet = true; break;
    case 'n': req.flags |= VD_CONVERT_NO_CREATE; break;
    case 'S': {
      uint64_t s;
      if (vd_parse_size (optarg, &s) == -1 || s % 512 != 0 || s > MAX_SPARSE) {
        tool_error (_ ("Invalid buffer size for sparse output specified. "
                       "Valid sizes are multiples of 512 up to %d. Select 0 "
                       "to disable sparse detection (fully allocates "
                       "output)."),
                    MAX_SPARSE);
        goto out;
      }
      if (s == 0)
        req.flags |= VD_CONVERT_NO_SPARSE;
      req.sparse_size = s;
      break;
    }
    case 'm': {
      char *end;
      long m;
      errno = 0;
      m = strtol (optarg, &end, 10);
      if (errno || end == optarg || *end || m < 1 || m > MAX_PARALLEL) {
        tool_error (_ ("Invalid number of coroutines. Allowed number of "
                       "coroutines is between 1 and %d"),
                    MAX_PARALLEL);
        goto out;
      }
      req.threads = (unsigned) m;
      break;
    }
    case 'W': req.flags |= VD_CONVERT_OUT_OF_ORDER; break;
    case 't': cache = optarg; break;
    case 'T': src_cache = optarg; break;
    case 'U': req.source_flags |= VD_OPEN_NO_LOCK; break;
    case OPT_TARGET_IS_ZERO: req.flags |= VD_CONVERT_TARGET_IS_ZERO; break;
    default: tool_error (_ ("Try '%s convert --help'"), progname); goto out;
    }
  }

  if (want_help) {
    const char *f = req.target_format ? req.target_format : "raw";
    if (!vd_format_known (f)) {
      tool_error (_ ("Unknown file format '%s'"), f);
      goto out;
    }
    img_print_create_opts (f);
    r = EXIT_OK;
    goto out;
  }
  flushes = cache_mode_flushes (cache);
  if (flushes == -1) {
    tool_error (_ ("Invalid cache option: %s"), cache);
    goto out;
  }
  if (flushes)
    req.flags |= VD_CONVERT_FLUSH;
  if (cache_mode_flushes (src_cache) == -1) {
    tool_error (_ ("Invalid source cache option: %s"), src_cache);
    goto out;
  }
  if (argc - optind < 2) {
    tool_error (_ ("Must specify image file name (try '%s convert --help')"),
                progname);
    goto out;
  }
  if (req.target_format && !vd_format_known (req.target_format)) {
    tool_error (_ ("Unknown file format '%s'"), req.target_format);
    goto out;
  }
  if (req.source_format && !vd_format_known (req.source_format)) {
    tool_error (_ ("Unknown file format '%s'"), req.source_format);
    goto out;
  }
  req.sources = (const char *const *) &argv[optind];
  req.nr_sources = argc - optind - 1;
  req.target = argv[argc - 1];
  req.target_opts = opts.n ? &opts : NULL;
  /* Percent of the work, on a terminal only. */
  if (progress && !quiet && isatty (STDOUT_FILENO)) {
    req.progress = draw_progress;
    req.progress_opaque = &pr;
  }
  install_signal_handlers (req.target, req.flags & VD_CONVERT_NO_CREATE,
                           req.progress != NULL);

  if (vd_convert (&req) == -1) {
    if (pr.drawn)
      printf ("\n");
    tool_error_vd ();
    goto out;
  }
  if (pr.drawn) {
    printf ("\n");
    fflush (stdout);
  }
  r = EXIT_OK;

out:
  vd_opts_free (&opts);
  return r;
}
