/* Unit tests for the native reader's sandbox (inspect/native/sandbox.c):
 * frames reach the parent; a child error comes back with its errno and
 * message; a child that crashes, calls a forbidden system call, spins,
 * sends a frame of absurd size or dies silently is "could not be read
 * safely" (-2); and the checksums the native path computes. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "vd.h"
#include "native.h"

static struct sandbox_limits lim = { 256u << 20, 2, 2 };

struct got {
  int frames;
  size_t bytes;
  char last[64];
};

static int
collect (void *opaque, char type, const unsigned char *data, size_t len)
{
  struct got *g = opaque;

  if (type != 'X')
    return -1;
  g->frames++;
  g->bytes += len;
  snprintf (g->last, sizeof g->last, "%.*s", (int) len, (const char *) data);
  return 0;
}

static int
child_ok (void *opaque, struct sb_writer *w)
{
  int i;

  (void) opaque;
  for (i = 0; i < 1000; i++)
    if (sb_send (w, 'X', "hello", 5) == -1)
      return -1;
  return 0;
}

static int
child_error (void *opaque, struct sb_writer *w)
{
  (void) opaque;
  (void) w;
  vd_set_error (ENOENT, "/etc/nothing: no such file or directory");
  return -1;
}

static int
child_crash (void *opaque, struct sb_writer *w)
{
  (void) opaque;
  (void) w;
  raise (SIGSEGV);
  return 0;
}

static int
child_forbidden (void *opaque, struct sb_writer *w)
{
  (void) opaque;
  (void) w;
  /* A socket is nothing a reader needs: the filter kills the child. */
  socket (AF_INET, SOCK_STREAM, 0);
  return 0;
}

static int
child_open (void *opaque, struct sb_writer *w)
{
  int fd = open ("/etc/passwd", O_RDONLY);

  (void) opaque;
  /* Opening fails (EACCES) without killing the child. */
  return sb_send (w, 'X', fd == -1 && errno == EACCES ? "denied" : "opened", 6);
}

static int
child_spin (void *opaque, struct sb_writer *w)
{
  volatile unsigned long n = 0;

  (void) opaque;
  (void) w;
  for (;;)
    n++;
  return 0;
}

static int
child_huge_frame (void *opaque, struct sb_writer *w)
{
  unsigned char hdr[5] = { 'X', 0xff, 0xff, 0xff, 0x7f };

  (void) opaque;
  (void) w;
  if (write (w->fd, hdr, sizeof hdr) != sizeof hdr)
    return -1;
  _exit (0);
}

static int
child_silent_exit (void *opaque, struct sb_writer *w)
{
  (void) opaque;
  (void) w;
  _exit (0);
}

#if !defined(__SANITIZE_ADDRESS__)
static int
child_memory_hog (void *opaque, struct sb_writer *w)
{
  size_t i;

  (void) opaque;
  (void) w;
  for (i = 0; i < 64; i++) {
    char *p = malloc (64u << 20);
    if (!p)
      abort (); /* out of memory is a crash too */
    memset (p, 1, 64u << 20);
  }
  return 0;
}
#endif

static void
test_frames_reach_the_parent (void **state)
{
  struct got g = { 0, 0, "" };

  (void) state;
  assert_int_equal (sandbox_run ("guest", &lim, child_ok, NULL, collect, &g),
                    0);
  assert_int_equal (g.frames, 1000);
  assert_int_equal (g.bytes, 5000);
  assert_string_equal (g.last, "hello");
}

static void
test_child_error_comes_back (void **state)
{
  struct got g = { 0, 0, "" };

  (void) state;
  assert_int_equal (sandbox_run ("guest", &lim, child_error, NULL, collect, &g),
                    -1);
  assert_int_equal (vd_errno (), ENOENT);
  assert_string_equal (vd_error (), "/etc/nothing: no such file or directory");
}

static void
expect_unsafe (sandbox_child_fn fn)
{
  struct got g = { 0, 0, "" };

  assert_int_equal (sandbox_run ("disk.img", &lim, fn, NULL, collect, &g), -2);
  assert_string_equal (vd_error (),
                       "disk.img: filesystem could not be read safely");
}

static void
test_crash_is_unsafe (void **state)
{
  (void) state;
  expect_unsafe (child_crash);
}

static void
test_forbidden_syscall_is_unsafe (void **state)
{
  (void) state;
  if (getenv ("VD_VALGRIND"))
    skip (); /* no filter under valgrind (sandbox.c) */
  expect_unsafe (child_forbidden);
}

static void
test_spinning_child_is_stopped (void **state)
{
  (void) state;
  expect_unsafe (child_spin);
}

static void
test_huge_frame_is_unsafe (void **state)
{
  (void) state;
  expect_unsafe (child_huge_frame);
}

static void
test_silent_exit_is_unsafe (void **state)
{
  (void) state;
  expect_unsafe (child_silent_exit);
}

/* Not under ASan: its shadow memory needs the address space the limit
 * takes away, so sandbox.c sets no memory limit there. */
#if !defined(__SANITIZE_ADDRESS__)
static void
test_memory_limit_holds (void **state)
{
  (void) state;
  if (getenv ("VD_VALGRIND"))
    skip ();
  expect_unsafe (child_memory_hog);
}
#endif

static void
test_open_is_denied_not_fatal (void **state)
{
  struct got g = { 0, 0, "" };

  (void) state;
  if (getenv ("VD_VALGRIND"))
    skip ();
  assert_int_equal (sandbox_run ("guest", &lim, child_open, NULL, collect, &g),
                    0);
  assert_string_equal (g.last, "denied");
}

static void
check_sum (const char *type, const char *data, const char *want)
{
  struct native_sum *s = native_sum_new (type);
  char *got;

  assert_non_null (s);
  native_sum_update (s, data, strlen (data));
  got = native_sum_finish (s);
  assert_string_equal (got, want);
  free (got);
}

static void
test_checksums_match_the_coreutils (void **state)
{
  (void) state;
  /* printf 'Hello, world!\n' | md5sum / sha1sum / sha256sum / cksum */
  check_sum ("md5", "Hello, world!\n", "746308829575e17c3331bbcb00c0898b");
  check_sum ("sha1", "Hello, world!\n",
             "09fac8dbfd27bd9b4d23a00eb648aa751789536d");
  check_sum (
      "sha256", "Hello, world!\n",
      "d9014c4624844aa5bac314773d6b689ad467fa4e1d1a50a1b8a99d5a95f72ff5");
  check_sum ("crc", "Hello, world!\n", "1639980005");
  check_sum ("crc", "", "4294967295");
  assert_null (native_sum_new ("md4"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_frames_reach_the_parent),
    cmocka_unit_test (test_child_error_comes_back),
    cmocka_unit_test (test_crash_is_unsafe),
    cmocka_unit_test (test_forbidden_syscall_is_unsafe),
    cmocka_unit_test (test_spinning_child_is_stopped),
    cmocka_unit_test (test_huge_frame_is_unsafe),
    cmocka_unit_test (test_silent_exit_is_unsafe),
#if !defined(__SANITIZE_ADDRESS__)
    cmocka_unit_test (test_memory_limit_holds),
#endif
    cmocka_unit_test (test_open_is_denied_not_fatal),
    cmocka_unit_test (test_checksums_match_the_coreutils),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
