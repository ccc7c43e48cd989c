/* vd-df: free space in the filesystems of virtual machines, with
 * virt-df's options, columns and numbers, made for cron-driven
 * monitoring too: every libvirt guest in few appliance launches, a broken
 * guest reported without hiding the others, JSON, Prometheus textfile
 * output written atomically, and --warn/--crit thresholds with the exit
 * codes of monitoring plugins.  Parse (here: options into struct df_req,
 * the guests to look at), work (df-work.c), render (df-output.c).
 */
#include <config.h>

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/guest.h"
#include "df.h"

/* ---- parse ----------------------------------------------------------------
 */

struct df_req {
  struct guest_opts g;
  struct df_render r;
  struct df_thresholds t;
  bool one_per_guest;
  unsigned parallel; /* 0: chosen by free memory */
  const char *output_file;
  bool prometheus;
};

enum {
  OPT_UUID = 256,
  OPT_ONE_PER_GUEST,
  OPT_WARN,
  OPT_CRIT,
};

static const struct tool_option df_options[] = {
  { "human-readable", 'h', no_argument, NULL,
    N_ ("Human-readable sizes in output"), 'h' },
  { "inodes", 'i', no_argument, NULL, N_ ("Display inodes"), 'i' },
  { "uuid", 0, no_argument, NULL, N_ ("Print UUIDs instead of names"),
    OPT_UUID },
  { "one-per-guest", 0, no_argument, NULL,
    N_ ("An appliance of its own for each guest"), OPT_ONE_PER_GUEST },
  { NULL, 'P', required_argument, "N",
    N_ ("Run at most N appliances at once (0: by free memory)"), 'P' },
  { "warn", 0, required_argument, "PCT",
    N_ ("Exit 1 if a filesystem is more than PCT% full"), OPT_WARN },
  { "crit", 0, required_argument, "PCT",
    N_ ("Exit 2 if a filesystem is more than PCT% full"), OPT_CRIT },
  { "output", 'o', required_argument, "FILE",
    N_ ("Write the output to FILE (atomically)"), 'o' },
  { NULL, 0, 0, NULL, NULL, 0 },
};

static const char *const df_usage[] = {
  "[--options]",
  "[--options] -d domname",
  "[--options] -a disk.img [-a disk.img ...]",
  NULL,
};

static int
df_option (void *data, int id, const char *arg)
{
  struct df_req *req = data;
  char *end;
  unsigned long v;

  switch (id) {
  case 'h': req->r.human = true; return 0;
  case 'i': req->r.inodes = true; return 0;
  case OPT_UUID: req->r.uuid = true; return 0;
  case OPT_ONE_PER_GUEST: req->one_per_guest = true; return 0;
  case 'P':
    errno = 0;
    v = strtoul (arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end || errno) {
      tool_error (_ ("-P option is not numeric"));
      return -1;
    }
    if (v > 1024) {
      tool_error (_ ("-P %lu: more appliances than vd-df runs at once (1024)"),
                  v);
      return -1;
    }
    req->parallel = (unsigned) v;
    return 0;
  case OPT_WARN:
  case OPT_CRIT:
    if (df_parse_percent (arg, id == OPT_WARN ? &req->t.warn : &req->t.crit)
        == -1) {
      tool_error (_ ("--%s %s: expected a percentage from 0 to 100"),
                  id == OPT_WARN ? "warn" : "crit", arg);
      return -1;
    }
    if (id == OPT_WARN)
      req->t.have_warn = true;
    else
      req->t.have_crit = true;
    return 0;
  case 'o': req->output_file = arg; return 0;
  }
  return -1;
}

static const struct tool_info df_tool = {
  .summary = N_ ("display free space on virtual filesystems"),
  .usage = df_usage,
  .common = GOPT_ADD | GOPT_KEYS | GOPT_CSV | GOPT_JSON,
  .options = df_options,
  .handle = df_option,
  .min_args = 0,
  .disks_optional = true,
};

/* --format=prometheus is an output format, not a disk format: take it out
 * of ARGV before the shared parser (which reads --format as the disk
 * format) sees it.  Returns the new argc. */
static int
take_prometheus (int argc, char **argv, bool *prometheus)
{
  int i, o = 0;

  for (i = 0; i < argc; i++) {
    if (i > 0 && strcmp (argv[i], "--format=prometheus") == 0) {
      *prometheus = true;
      continue;
    }
    if (i > 0 && strcmp (argv[i], "--") == 0) {
      while (i < argc)
        argv[o++] = argv[i++];
      break;
    }
    argv[o++] = argv[i];
  }
  argv[o] = NULL;
  return o;
}

/* The checks virt-df makes, and ours.  0 or -1 (printed). */
static int
check_request (struct df_req *req)
{
  if (req->r.human && req->g.output == OUTPUT_CSV) {
    tool_error (_ ("you cannot use -h and --csv options together."));
    return -1;
  }
  if (req->prometheus && req->g.output != OUTPUT_TEXT) {
    tool_error (_ ("--format=prometheus cannot be used with --csv or --json"));
    return -1;
  }
  if (req->t.have_warn && req->t.have_crit && req->t.warn > req->t.crit) {
    tool_error (_ ("--warn %g is above --crit %g: the warning line must not be "
                   "above the critical one"),
                req->t.warn, req->t.crit);
    return -1;
  }
  if (req->g.keys_from_stdin && req->parallel != 1) {
    /* Keys are read in the order the encrypted devices are met. */
    req->parallel = 1;
  }
  req->r.format = req->prometheus                ? DF_PROMETHEUS
                  : req->g.output == OUTPUT_CSV  ? DF_CSV
                  : req->g.output == OUTPUT_JSON ? DF_JSON
                                                 : DF_TEXT;
  return 0;
}

/* ---- the guests -----------------------------------------------------------
 */

static struct df_guest *
guests_new (size_t n)
{
  struct df_guest *g = calloc (n ? n : 1, sizeof *g);

  if (!g)
    vd_set_error (ENOMEM, _ ("out of memory"));
  return g;
}

static int
add_disk (struct df_guest *g, const char *file, const char *format,
          const char *target)
{
  struct df_disk *v = realloc (g->disks, (g->nr_disks + 1) * sizeof *v);

  if (!v)
    goto oom;
  g->disks = v;
  v[g->nr_disks].filename = strdup (file);
  v[g->nr_disks].format = format ? strdup (format) : NULL;
  v[g->nr_disks].target = target ? strdup (target) : NULL;
  g->nr_disks++;
  if (!v[g->nr_disks - 1].filename || (format && !v[g->nr_disks - 1].format)
      || (target && !v[g->nr_disks - 1].target))
    goto oom;
  return 0;
oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
  return -1;
}

/* -a disks (or old-style file arguments): one guest, named after the
 * first disk with a '+' for each further one, as virt-df names it. */
static struct df_guest *
guest_from_drives (const struct guest_drive *d, size_t n)
{
  struct df_guest *g = guests_new (1);
  const char *base;
  size_t i, len;

  if (!g)
    return NULL;
  base = strrchr (d[0].filename, '/');
  base = base ? base + 1 : d[0].filename;
  len = strlen (base);
  g->name = malloc (len + n);
  if (!g->name)
    goto oom;
  memcpy (g->name, base, len);
  memset (g->name + len, '+', n - 1);
  g->name[len + n - 1] = '\0';
  for (i = 0; i < n; i++)
    if (add_disk (g, d[i].filename, d[i].format, NULL) == -1)
      goto fail;
  return g;
oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
fail:
  df_guests_free (g, 1);
  return NULL;
}

/* -d DOMAIN, or every domain of the connection (ONLY NULL). */
static struct df_guest *
guests_from_libvirt (const char *uri, const char *only, size_t *n)
{
  struct inspect_domains doms;
  struct df_guest *g;
  size_t i, j;

  if (inspect_list_domains (uri, only, &doms) == -1)
    return NULL;
  g = guests_new (doms.n);
  if (!g)
    goto out;
  for (i = 0; i < doms.n; i++) {
    const struct inspect_domain *d = &doms.v[i];

    g[i].domain = true;
    g[i].name = strdup (d->name);
    g[i].uuid = d->uuid ? strdup (d->uuid) : NULL;
    if (!g[i].name || (d->uuid && !g[i].uuid))
      goto oom;
    if (d->error) {
      /* No disk at all is nothing to show, not a failure (virt-df shows
       * nothing for such a guest either). */
      if (d->error_num == ENOENT)
        df_note ("%s", d->error);
      else if (df_guest_add_error (&g[i], "%s", d->error) == -1)
        goto fail;
      continue;
    }
    for (j = 0; j < d->disks.n; j++)
      if (add_disk (&g[i], d->disks.v[j].filename, d->disks.v[j].format,
                    d->disks.v[j].target)
          == -1)
        goto fail;
  }
  *n = doms.n;
  inspect_domains_free (&doms);
  return g;

oom:
  vd_set_error (ENOMEM, _ ("out of memory"));
fail:
  df_guests_free (g, doms.n);
  g = NULL;
out:
  inspect_domains_free (&doms);
  return NULL;
}

/* Old-style arguments (virt-df [--options] domname | disk.img...): a
 * name with a '/' or an existing file is a disk, anything else a
 * domain.  They name one guest.  0, or -1 (printed). */
static int
old_style_args (struct df_req *req, struct guest_drive **drives, size_t *nd)
{
  size_t i;

  *drives = NULL;
  *nd = 0;
  for (i = 0; i < req->g.nr_args; i++) {
    const char *a = req->g.args[i];

    if (strchr (a, '/') || access (a, F_OK) == 0) {
      struct guest_drive *v = realloc (*drives, (*nd + 1) * sizeof *v);
      if (!v) {
        tool_error (_ ("out of memory"));
        return -1;
      }
      *drives = v;
      v[(*nd)++] = (struct guest_drive){ (char *) a, NULL };
    }
    else if (req->g.domain) {
      tool_error (_ ("%s: old-style arguments name one guest: a domain or "
                     "the disks of one guest"),
                  a);
      return -1;
    }
    else
      req->g.domain = a;
  }
  if (*nd > 0 && req->g.domain) {
    tool_error (_ ("%s: old-style arguments name one guest: a domain or the "
                   "disks of one guest"),
                req->g.domain);
    return -1;
  }
  return 0;
}

/* ---- keys -----------------------------------------------------------------
 */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

/* The key of an encrypted device from --key (by the guest's device name
 * or the LUKS UUID) or the next line of stdin (--keys-from-stdin).  No
 * prompt: vd-df runs from cron. */
static char *
df_key (void *opaque, const char *guest, const char *device, const char *uuid)
{
  const struct guest_opts *o = opaque;
  char *key = NULL;
  size_t i, cap = 0;
  ssize_t len;

  (void) guest;
  for (i = 0; i < o->nr_keys; i++)
    if (strcmp (o->keys[i].id, device) == 0
        || (uuid && strcmp (o->keys[i].id, uuid) == 0)) {
      key = strdup (o->keys[i].key);
      if (!key)
        vd_set_error (ENOMEM, _ ("out of memory"));
      return key;
    }
  if (o->keys_from_stdin) {
    pthread_mutex_lock (&key_lock);
    len = getline (&key, &cap, stdin);
    pthread_mutex_unlock (&key_lock);
    if (len >= 0) {
      key[strcspn (key, "\r\n")] = '\0';
      return key;
    }
    free (key);
    vd_set_error (ENOKEY,
                  _ ("%s is encrypted and stdin holds no more keys: its "
                     "filesystems are not shown"),
                  device);
    return NULL;
  }
  vd_set_error (ENOKEY,
                _ ("%s is encrypted and no key was given for it (--key "
                   "%s:key:KEY): its filesystems are not shown"),
                device, device);
  return NULL;
}

/* ---- signals ------------------------------------------------------------- */

static void
on_signal (int sig)
{
  const char *tmp = df_temp_file;

  if (tmp)
    unlink (tmp);
  vd_remove_temp_files ();
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
install_signal_handlers (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGINT, &sa, NULL);
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGHUP, &sa, NULL);
}

/* ---- main -----------------------------------------------------------------
 */

/* Print the table and the verdict where they go; returns the exit code. */
static int
report (struct df_req *req, const struct df_guest *guests, size_t n,
        bool single)
{
  bool thresholds = req->t.have_warn || req->t.have_crit;
  bool failed = false, table = true;
  char *buf = NULL, *line = NULL;
  size_t len = 0, i, j;
  int status = 0;
  FILE *mem;

  for (i = 0; i < n; i++)
    if (guests[i].nr_errors)
      failed = true;
  /* A single guest that could not be examined at all prints no table. */
  if (single && n == 1 && guests[0].nr_errors && guests[0].nr_fs == 0)
    table = false;

  if (thresholds) {
    status = df_check_thresholds (&req->r, &req->t, guests, n, &line);
    if (status == -1) {
      tool_error_vd ();
      return DF_UNKNOWN;
    }
  }

  mem = open_memstream (&buf, &len);
  if (!mem) {
    tool_error (_ ("out of memory"));
    free (line);
    return thresholds ? DF_UNKNOWN : EXIT_FAILURE;
  }
  if (table && df_render_table (mem, &req->r, guests, n) == -1) {
    fclose (mem);
    free (buf);
    free (line);
    tool_error_vd ();
    return thresholds ? DF_UNKNOWN : EXIT_FAILURE;
  }
  fclose (mem);

  if (req->output_file) {
    if (table && df_write_file_atomic (req->output_file, buf, len) == -1) {
      tool_error_vd ();
      failed = true;
      if (thresholds)
        status = DF_UNKNOWN;
    }
  }
  else if (!(thresholds && req->r.format == DF_TEXT)) {
    /* Text with thresholds: the verdict is the output (a plugin's line). */
    if (len && fwrite (buf, 1, len, stdout) != len) {
      tool_error (_ ("error writing the output: %s"), strerror (errno));
      failed = true;
    }
  }
  free (buf);
  if (fflush (stdout) == EOF) {
    tool_error (_ ("error writing the output: %s"), strerror (errno));
    failed = true;
  }

  for (i = 0; i < n; i++)
    for (j = 0; j < guests[i].nr_errors; j++)
      tool_error ("%s", guests[i].errors[j]);

  if (thresholds) {
    /* On stdout, unless stdout carries the table. */
    FILE *fp = req->output_file || req->r.format == DF_TEXT ? stdout : stderr;
    fprintf (fp, "%s\n", line);
    free (line);
    if (fflush (fp) == EOF && status == DF_OK)
      status = DF_UNKNOWN;
    return status;
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int
main (int argc, char **argv)
{
  struct df_req req = { .parallel = 0 };
  struct df_work w = { .parallel = 0 };
  struct df_guest *guests = NULL;
  struct guest_drive *old_drives = NULL;
  size_t n = 0, nold = 0;
  const char *load = getenv ("VD_DF_TEST_LOAD");
  const char *save = getenv ("VD_DF_TEST_SAVE");
  bool single;
  int r;

  tool_init (argc, argv);
  argc = take_prometheus (argc, argv, &req.prometheus);
  r = guest_opts_parse (&df_tool, &req, argc, argv, &req.g);
  if (r != 0)
    return r > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
  if (check_request (&req) == -1)
    goto usage_error;
  if (req.g.nr_args > 0) {
    if (req.g.nr_drives > 0 || req.g.domain) {
      tool_error (_ ("%s: extra argument (try '%s --help')"), req.g.args[0],
                  progname);
      goto usage_error;
    }
    if (old_style_args (&req, &old_drives, &nold) == -1)
      goto usage_error;
  }
  install_signal_handlers ();
  df_notes (req.g.verbose);
  w.verbose = req.g.verbose;
  w.trace = req.g.trace;

  single = req.g.nr_drives > 0 || nold > 0 || req.g.domain;
  if (load) {
    /* Test hook: the results of an earlier run, no appliance. */
    if (df_load (load, &guests, &n) == -1)
      goto fail;
    single = n == 1 && single;
  }
  else {
    if (req.g.nr_drives > 0)
      guests = guest_from_drives (req.g.drives, req.g.nr_drives), n = 1;
    else if (nold > 0)
      guests = guest_from_drives (old_drives, nold), n = 1;
    else
      guests = guests_from_libvirt (req.g.uri, req.g.domain, &n);
    if (!guests)
      goto fail;

    w.parallel = req.parallel;
    w.one_per_guest = req.one_per_guest;
    w.name_errors = !single;
    w.want_mountpoints =
        req.r.format == DF_JSON || req.r.format == DF_PROMETHEUS;
    w.key = df_key;
    w.key_opaque = &req.g;
    if (df_examine (guests, n, &w) == -1)
      goto fail;
    df_note ("%u appliance %s for %zu %s", w.launches,
             w.launches == 1 ? "launch" : "launches", n,
             n == 1 ? "guest" : "guests");
  }
  if (save && df_save (save, guests, n) == -1)
    goto fail;

  r = report (&req, guests, n, single);
  df_guests_free (guests, n);
  free (old_drives);
  guest_opts_free (&req.g);
  return r;

fail:
  tool_error_vd ();
  df_guests_free (guests, n);
  free (old_drives);
  guest_opts_free (&req.g);
  return req.t.have_warn || req.t.have_crit ? DF_UNKNOWN : EXIT_FAILURE;

usage_error:
  free (old_drives);
  guest_opts_free (&req.g);
  return EXIT_FAILURE;
}
