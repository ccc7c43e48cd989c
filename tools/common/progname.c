/* Program name, gettext set-up and error printing for every tool.
 * Messages are prefixed with the name the program was invoked as, so a
 * symlink named qemu-img prints "qemu-img: ..." as scripts expect.
 */
#include <config.h>

#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

const char *progname = PACKAGE;

void
cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}

void
tool_init (int argc, char **argv)
{
  (void) argc;
  if (argv && argv[0]) {
    const char *p = strrchr (argv[0], '/');
    progname = p ? p + 1 : argv[0];
  }
  setlocale (LC_ALL, "");
#ifdef ENABLE_NLS
  bindtextdomain (PACKAGE, LOCALEDIR);
  textdomain (PACKAGE);
#endif
}

void
tool_error (const char *fmt, ...)
{
  va_list ap;

  fflush (stdout);
  fprintf (stderr, "%s: ", progname);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

void
tool_error_vd (void)
{
  tool_error ("%s", vd_error ()[0] ? vd_error () : _ ("unknown error"));
}

static void
on_signal (int sig)
{
  vd_remove_temp_files ();
  signal (sig, SIG_DFL);
  raise (sig);
}

void
tool_install_signal_handlers (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
}
