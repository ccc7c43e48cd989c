/* The sandboxed child of the native reader (sandbox.h): fork, rlimits,
 * a seccomp allow-list, frames over a pipe, and a parent that treats the
 * child and everything it sends as hostile (sizes capped, messages
 * cleaned, a wall-clock limit).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "vd.h"
#include "sandbox.h"

#include "native-internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

void
sandbox_default_limits (struct sandbox_limits *l)
{
  const char *t = getenv ("VD_NATIVE_TIMEOUT");

  l->mem_bytes = UINT64_C (1) << 30;
  l->cpu_seconds = 30;
  l->wall_seconds = 60;
  if (t && atoi (t) > 0)
    l->cpu_seconds = l->wall_seconds = (unsigned) atoi (t);
}

/* ---- child side ---------------------------------------------------------- */

int
sb_flush (struct sb_writer *w)
{
  size_t off = 0;

  while (!w->failed && off < w->used) {
    ssize_t n = write (w->fd, w->buf + off, w->used - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      w->failed = 1;
    else
      off += (size_t) n;
  }
  w->used = 0;
  return w->failed ? -1 : 0;
}

static void
put (struct sb_writer *w, const void *data, size_t len)
{
  const unsigned char *p = data;

  while (len > 0) {
    size_t k = sizeof w->buf - w->used;
    if (k == 0) {
      sb_flush (w);
      continue;
    }
    if (k > len)
      k = len;
    memcpy (w->buf + w->used, p, k);
    w->used += k;
    p += k;
    len -= k;
  }
}

int
sb_sendv (struct sb_writer *w, char type, const void *const *ptrs,
          const size_t *lens, size_t n)
{
  uint32_t total = 0;
  size_t i;

  for (i = 0; i < n; i++) {
    if (lens[i] > SB_MAX_FRAME - total) {
      vd_set_error (E2BIG, _ ("a result too large to send (%zu bytes)"),
                    lens[i]);
      return -1;
    }
    total += (uint32_t) lens[i];
  }
  put (w, &type, 1);
  put (w, &total, 4);
  for (i = 0; i < n; i++)
    put (w, ptrs[i], lens[i]);
  return w->failed ? -1 : 0;
}

int
sb_send (struct sb_writer *w, char type, const void *data, size_t len)
{
  return sb_sendv (w, type, &data, &len, 1);
}

/* The filter: reading the open images, memory, writing to the pipe, and
 * exiting.  Opening anything fails with EACCES (a library looking for a
 * config file carries on); everything else kills the child. */
static int
apply_filter (int pipe_fd)
{
  static const int allowed[] = {
    SCMP_SYS (read),         SCMP_SYS (pread64),      SCMP_SYS (readv),
    SCMP_SYS (preadv),       SCMP_SYS (lseek),        SCMP_SYS (close),
    SCMP_SYS (fstat),        SCMP_SYS (newfstatat),   SCMP_SYS (mmap),
    SCMP_SYS (munmap),       SCMP_SYS (mremap),       SCMP_SYS (brk),
    SCMP_SYS (madvise),      SCMP_SYS (mprotect),     SCMP_SYS (exit),
    SCMP_SYS (exit_group),   SCMP_SYS (rt_sigreturn), SCMP_SYS (rt_sigprocmask),
    SCMP_SYS (getpid),       SCMP_SYS (gettid),       SCMP_SYS (clock_gettime),
    SCMP_SYS (gettimeofday), SCMP_SYS (time),         SCMP_SYS (futex),
    SCMP_SYS (getrandom),    SCMP_SYS (sched_yield),  SCMP_SYS (sysinfo),
    SCMP_SYS (sigaltstack),
  };
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_KILL_PROCESS);
  size_t i;
  int r = -1;

  if (!ctx)
    return -1;
  for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    if (seccomp_rule_add (ctx, SCMP_ACT_ALLOW, allowed[i], 0) < 0)
      goto out;
  if (seccomp_rule_add (ctx, SCMP_ACT_ALLOW, SCMP_SYS (write), 1,
                        SCMP_A0 (SCMP_CMP_EQ, (scmp_datum_t) pipe_fd))
          < 0
      || seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (openat), 0)
             < 0
      || seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EACCES), SCMP_SYS (open), 0) < 0
      || seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOTTY), SCMP_SYS (ioctl), 0)
             < 0)
    goto out;
  r = seccomp_load (ctx) < 0 ? -1 : 0;
out:
  seccomp_release (ctx);
  return r;
}

static void
set_limit (int res, rlim_t soft, rlim_t hard)
{
  struct rlimit rl = { soft, hard };
  setrlimit (res, &rl);
}

static _Noreturn void
child_main (int fd, const struct sandbox_limits *l, sandbox_child_fn fn,
            void *opaque)
{
  static struct sb_writer w;
  int r;

  w.fd = fd;
  prctl (PR_SET_DUMPABLE, 0);
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  set_limit (RLIMIT_CORE, 0, 0);
  set_limit (RLIMIT_FSIZE, 0, 0);
  set_limit (RLIMIT_CPU, l->cpu_seconds, l->cpu_seconds + 1);
#ifndef UNDER_ASAN
  /* ASan reserves terabytes of address space for its shadow. */
  if (l->mem_bytes && !RUNNING_ON_VALGRIND)
    set_limit (RLIMIT_AS, l->mem_bytes, l->mem_bytes);
#endif
  /* valgrind makes system calls of its own on the child's behalf that no
   * reader needs: under valgrind (the test suite's memory pass) the
   * filter is left off; everything else still applies. */
  if (!RUNNING_ON_VALGRIND && apply_filter (fd) == -1)
    _exit (120);
  r = fn (opaque, &w);
  if (r == 0)
    sb_send (&w, SB_DONE, NULL, 0);
  else {
    const char *msg = vd_error ();
    uint32_t e = (uint32_t) vd_errno ();
    const void *ptrs[2] = { &e, msg };
    size_t lens[2] = { 4, strlen (msg) };
    sb_sendv (&w, SB_ERROR, ptrs, lens, 2);
  }
  sb_flush (&w);
  _exit (r == 0 ? 0 : 1);
}

/* ---- parent side ----------------------------------------------------------
 */

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly LEN bytes before DEADLINE: 1 done, 0 EOF at the start,
 * -1 EOF inside, -2 timeout, -3 error. */
static int
read_full (int fd, void *buf, size_t len, int64_t deadline)
{
  unsigned char *p = buf;
  size_t got = 0;

  while (got < len) {
    struct pollfd pfd = { fd, POLLIN, 0 };
    int64_t left = deadline - now_ms ();
    ssize_t n;
    int pr;

    if (left <= 0)
      return -2;
    pr = poll (&pfd, 1, left > 1000 ? 1000 : (int) left);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr < 0)
      return -3;
    if (pr == 0)
      continue;
    n = read (fd, p + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -3;
    if (n == 0)
      return got == 0 ? 0 : -1;
    got += (size_t) n;
  }
  return 1;
}

/* A message from the child, made printable. */
static void
clean_message (char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      *s = '?';
}

int
sandbox_run (const char *what, const struct sandbox_limits *limits,
             sandbox_child_fn child, void *child_opaque, sandbox_frame_fn frame,
             void *frame_opaque)
{
  int fds[2], status = 0, result = 0;
  bool done = false, unsafe = false;
  unsigned char *data = NULL;
  int64_t deadline;
  pid_t pid;

  fflush (stdout);
  fflush (stderr);
  if (pipe2 (fds, O_CLOEXEC) == -1) {
    vd_set_error (errno, _ ("cannot make a pipe: %s"), strerror (errno));
    return -1;
  }
  pid = fork ();
  if (pid == -1) {
    vd_set_error (errno, _ ("cannot fork: %s"), strerror (errno));
    close (fds[0]);
    close (fds[1]);
    return -1;
  }
  if (pid == 0) {
    close (fds[0]);
    child_main (fds[1], limits, child, child_opaque);
  }
  close (fds[1]);
  deadline = now_ms () + (int64_t) limits->wall_seconds * 1000;

  for (;;) {
    unsigned char hdr[5];
    uint32_t len;
    int r = read_full (fds[0], hdr, 5, deadline);

    if (r == 0)
      break;
    if (r != 1) {
      unsafe = true;
      break;
    }
    memcpy (&len, hdr + 1, 4);
    if (len > SB_MAX_FRAME || done) {
      unsafe = true;
      break;
    }
    free (data);
    data = malloc ((size_t) len + 1);
    if (!data) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      result = -1;
      break;
    }
    if (len > 0 && read_full (fds[0], data, len, deadline) != 1) {
      unsafe = true;
      break;
    }
    data[len] = '\0';
    if (hdr[0] == SB_DONE) {
      done = true;
      continue;
    }
    if (hdr[0] == SB_ERROR) {
      uint32_t e;
      if (len < 4) {
        unsafe = true;
        break;
      }
      memcpy (&e, data, 4);
      clean_message ((char *) data + 4);
      vd_set_error ((int) (e & 0xffff), "%.1000s", (char *) data + 4);
      result = -1;
      done = true;
      continue;
    }
    if (frame (frame_opaque, (char) hdr[0], data, len) == -1) {
      result = -1;
      break;
    }
  }
  free (data);
  close (fds[0]);
  if (unsafe || result == -1)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  if (result == -1 && !unsafe)
    return -1;
  if (unsafe || !done || !WIFEXITED (status)
      || (WEXITSTATUS (status) != 0 && WEXITSTATUS (status) != 1)) {
    if (getenv ("VD_NATIVE_DEBUG"))
      fprintf (stderr, "native child: status 0x%x, done %d, unsafe %d\n",
               (unsigned) status, done, unsafe);
    vd_set_error (EIO, _ ("%s: filesystem could not be read safely"), what);
    return -2;
  }
  return 0;
}
