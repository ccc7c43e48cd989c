/* The native reader's sandbox: a forked child with memory and CPU
 * rlimits and a seccomp filter (libseccomp) that allows only what reading
 * already-open images and writing to a pipe need.  The child sends its
 * results to the parent in frames over that pipe; a child that crashes,
 * is killed by the filter or runs past the time limit costs only itself.
 */
#ifndef VD_NATIVE_SANDBOX_H
#define VD_NATIVE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame types (one byte) followed by a 32-bit length and the bytes. */
enum {
  SB_ERROR = 'E', /* 4-byte errno, then the message */
  SB_DONE = 'K',  /* the child finished its work */
};

#define SB_MAX_FRAME (16u << 20)

struct sandbox_limits {
  uint64_t mem_bytes;    /* RLIMIT_AS (0: none) */
  unsigned cpu_seconds;  /* RLIMIT_CPU */
  unsigned wall_seconds; /* the parent kills the child after this */
};
/* 1 GiB, 30 s of CPU, 60 s of wall time; VD_NATIVE_TIMEOUT (seconds)
 * overrides both times (tests). */
void sandbox_default_limits (struct sandbox_limits *l);

/* ---- child side ---------------------------------------------------------- */

/* A buffered writer on the pipe. */
struct sb_writer {
  int fd;
  size_t used;
  int failed;
  unsigned char buf[65536];
};
int sb_send (struct sb_writer *w, char type, const void *data, size_t len);
/* A frame made of pieces (len,ptr pairs ended by a NULL ptr). */
int sb_sendv (struct sb_writer *w, char type, const void *const *ptrs,
              const size_t *lens, size_t n);
int sb_flush (struct sb_writer *w);

/* ---- parent side ----------------------------------------------------------
 */

struct sandbox;

/* What the parent does with each frame: return 0 to go on, -1 to stop
 * with the error set. */
typedef int (*sandbox_frame_fn) (void *opaque, char type,
                                 const unsigned char *data, size_t len);
/* The child's work: write frames on W; return 0 (then SB_DONE is sent) or
 * -1 with the error set (then it is sent as SB_ERROR). */
typedef int (*sandbox_child_fn) (void *opaque, struct sb_writer *w);

/* Fork; in the child apply LIMITS and the filter, then CHILD (..., w) and
 * exit.  In the parent, hand each frame to FRAME.  Returns 0 when the
 * child finished (SB_DONE) and every frame was taken; -1 with the error
 * set when the child reported an error (its errno and message) or FRAME
 * failed; -2 with the error set ("could not be read safely") when the
 * child crashed, was killed, sent garbage or ran out of time.  WHAT names
 * the guest in that message. */
int sandbox_run (const char *what, const struct sandbox_limits *limits,
                 sandbox_child_fn child, void *child_opaque,
                 sandbox_frame_fn frame, void *frame_opaque);

#endif /* VD_NATIVE_SANDBOX_H */
