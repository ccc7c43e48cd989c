/* libvd errors: one thread-local last error {message, errno}, set by
 * vd_set_error and read with vd_error / vd_errno.  Bottom of the layers:
 * everything in lib/ reports through here and nothing else.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vd-internal.h"

static __thread char last_msg[2048];
static __thread int last_errno;

const char *
vd_error (void)
{
  return last_msg;
}

int
vd_errno (void)
{
  return last_errno;
}

void
vd_set_error (int errnum, const char *fmt, ...)
{
  va_list ap;
  char tmp[sizeof last_msg];

  /* fmt may use the previous message as an argument: format first. */
  va_start (ap, fmt);
  vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  memcpy (last_msg, tmp, sizeof tmp);
  last_errno = errnum;
}

void
vd_cleanup_free (void *ptr)
{
  free (*(void **) ptr);
}
