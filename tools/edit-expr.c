/* vd-edit's -e language (edit-expr.h): sed-style s/REGEX/REPLACEMENT/FLAGS,
 * parsed here into a POSIX extended regex (regcomp) and a list of
 * replacement pieces, then applied line by line with REG_STARTEND so lines
 * may hold NUL bytes (--binary).  Each line is still handed to regexec
 * NUL-terminated: some regexec wrappers (ASan's) read up to a NUL.
 */
#include <config.h>

#include <errno.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "edit-expr.h"

#ifndef REG_STARTEND
#error "vd-edit needs regexec's REG_STARTEND (glibc, musl, the BSDs have it)"
#endif

/* Groups a replacement can name: \0 (or &) to \9. */
#define MAX_GROUPS 10

/* One piece of a replacement: literal bytes, or a group of the match. */
struct piece {
  int group;       /* -1: literal */
  size_t off, len; /* literal: where in edit_expr.lit */
};

struct edit_expr {
  regex_t re;
  bool compiled;
  bool global;
  unsigned long nth; /* replace from the Nth match on (1: the first) */
  char *lit;         /* the replacement's literal bytes */
  struct piece *pieces;
  size_t nr_pieces;
};

/* ---- a growing buffer -----------------------------------------------------
 */

struct buf {
  char *p;
  size_t len, cap;
};

static int
buf_add (struct buf *b, const char *data, size_t n)
{
  if (n > SIZE_MAX - b->len) {
    vd_set_error (ENOMEM, _ ("the edited text is too large"));
    return -1;
  }
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    char *p;

    while (cap < b->len + n) {
      if (cap > SIZE_MAX / 2) {
        cap = b->len + n;
        break;
      }
      cap *= 2;
    }
    p = realloc (b->p, cap);
    if (!p) {
      vd_set_error (ENOMEM, _ ("out of memory"));
      return -1;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n)
    memcpy (b->p + b->len, data, n);
  b->len += n;
  return 0;
}

static int
buf_addc (struct buf *b, char c)
{
  return buf_add (b, &c, 1);
}

/* ---- parsing --------------------------------------------------------------
 */

static int
add_piece (struct edit_expr *e, int group, size_t off, size_t len)
{
  struct piece *v;

  /* Consecutive literal bytes make one piece. */
  if (group == -1 && e->nr_pieces > 0 && e->pieces[e->nr_pieces - 1].group == -1
      && e->pieces[e->nr_pieces - 1].off + e->pieces[e->nr_pieces - 1].len
             == off) {
    e->pieces[e->nr_pieces - 1].len += len;
    return 0;
  }
  v = realloc (e->pieces, (e->nr_pieces + 1) * sizeof *v);
  if (!v) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  e->pieces = v;
  v[e->nr_pieces++] = (struct piece){ group, off, len };
  return 0;
}

static int
unterminated (const char *text)
{
  vd_set_error (EINVAL,
                _ ("-e '%s': unterminated expression (expected "
                   "s/REGEX/REPLACEMENT/FLAGS)"),
                text);
  return -1;
}

/* The regex from P to the next unescaped DELIM (a DELIM inside a bracket
 * expression does not end it, as in sed) into RE, NUL-terminated.  *END
 * is set after the delimiter. */
static int
scan_regex (const char *text, const char *p, char delim, struct buf *re,
            const char **end)
{
  static const char ere_special[] = ".[]()*+?{}|^$";
  bool in_bracket = false;

  while (*p) {
    if (in_bracket) {
      /* Inside [...] everything is literal to us ([:alpha:] and the like
       * included); only the closing ] ends it. */
      if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
        const char *q = p + 2;
        while (*q && !(q[0] == p[1] && q[1] == ']'))
          q++;
        if (*q) {
          if (buf_add (re, p, (size_t) (q + 2 - p)) == -1)
            return -1;
          p = q + 2;
          continue;
        }
      }
      if (*p == ']')
        in_bracket = false;
      if (buf_addc (re, *p++) == -1)
        return -1;
      continue;
    }
    if (*p == delim) {
      *end = p + 1;
      return buf_addc (re, '\0');
    }
    if (*p == '\\') {
      char c = p[1];
      int r;

      if (!c)
        break;
      if (c == delim) {
        /* \D is the delimiter itself, literally. */
        if (strchr (ere_special, c) && buf_addc (re, '\\') == -1)
          return -1;
        r = buf_addc (re, c);
      }
      else if (c == 'n')
        r = buf_addc (re, '\n');
      else if (c == 't')
        r = buf_addc (re, '\t');
      else
        r = buf_add (re, p, 2);
      if (r == -1)
        return -1;
      p += 2;
      continue;
    }
    if (*p == '[') {
      if (buf_addc (re, *p++) == -1)
        return -1;
      in_bracket = true;
      /* "[^]...]" and "[]...]": a ] first is a member, not the end. */
      if (*p == '^' && buf_addc (re, *p++) == -1)
        return -1;
      if (*p == ']' && buf_addc (re, *p++) == -1)
        return -1;
      continue;
    }
    if (buf_addc (re, *p++) == -1)
      return -1;
  }
  return unterminated (text);
}

/* The replacement from P to the next unescaped DELIM into E's pieces. */
static int
scan_replacement (const char *text, const char *p, char delim,
                  struct edit_expr *e, struct buf *lit, const char **end)
{
  while (*p && *p != delim) {
    int group = -1;
    char c = *p;

    if (c == '\\') {
      c = p[1];
      if (!c)
        return unterminated (text);
      if (c == delim || c == '&' || c == '\\')
        ;
      else if (c >= '0' && c <= '9')
        group = c - '0';
      else if (c == 'n')
        c = '\n';
      else if (c == 't')
        c = '\t';
      else {
        vd_set_error (EINVAL,
                      _ ("-e '%s': unknown escape \\%c in the replacement "
                         "(write \\\\ for a backslash)"),
                      text, c);
        return -1;
      }
      p += 2;
    }
    else {
      if (c == '&')
        group = 0;
      p++;
    }
    if (group >= 0) {
      if (add_piece (e, group, 0, 0) == -1)
        return -1;
    }
    else if (add_piece (e, -1, lit->len, 1) == -1 || buf_addc (lit, c) == -1)
      return -1;
  }
  if (!*p)
    return unterminated (text);
  *end = p + 1;
  return 0;
}

static int
scan_flags (const char *text, const char *p, struct edit_expr *e, int *cflags)
{
  bool icase = false, have_nth = false;

  for (; *p; p++) {
    switch (*p) {
    case 'g':
      if (e->global)
        goto twice;
      e->global = true;
      break;
    case 'i':
    case 'I':
      if (icase)
        goto twice;
      icase = true;
      *cflags |= REG_ICASE;
      break;
    case '0' ... '9': {
      unsigned long n = 0;

      if (have_nth) {
        vd_set_error (EINVAL, _ ("-e '%s': more than one number flag"), text);
        return -1;
      }
      for (; *p >= '0' && *p <= '9'; p++) {
        if (n > (1000000000UL - (unsigned long) (*p - '0')) / 10) {
          vd_set_error (EINVAL, _ ("-e '%s': the number flag is too large"),
                        text);
          return -1;
        }
        n = n * 10 + (unsigned long) (*p - '0');
      }
      p--;
      if (n == 0) {
        vd_set_error (
            EINVAL, _ ("-e '%s': the number flag counts matches from 1"), text);
        return -1;
      }
      e->nth = n;
      have_nth = true;
      break;
    }
    default:
      vd_set_error (EINVAL,
                    _ ("-e '%s': unknown flag '%c' (the flags are g, i and a "
                       "number N)"),
                    text, *p);
      return -1;
    }
  }
  return 0;

twice:
  vd_set_error (EINVAL, _ ("-e '%s': the flag '%c' is given twice"), text, *p);
  return -1;
}

static void
expr_free (struct edit_expr *e)
{
  if (!e)
    return;
  if (e->compiled)
    regfree (&e->re);
  free (e->lit);
  free (e->pieces);
  free (e);
}

static struct edit_expr *
expr_compile (const char *text)
{
  struct edit_expr *e = calloc (1, sizeof *e);
  struct buf re = { NULL, 0, 0 }, lit = { NULL, 0, 0 };
  int cflags = REG_EXTENDED, r;
  const char *p;
  char delim;
  size_t i;

  if (!e) {
    vd_set_error (ENOMEM, _ ("out of memory"));
    return NULL;
  }
  e->nth = 1;
  if (text[0] != 's') {
    vd_set_error (EINVAL,
                  _ ("-e '%s': not a substitution: -e takes sed-style "
                     "s/REGEX/REPLACEMENT/FLAGS (not Perl)"),
                  text);
    goto fail;
  }
  delim = text[1];
  if (delim == '\0') {
    unterminated (text);
    goto fail;
  }
  if (delim == '\\' || delim == '\n') {
    vd_set_error (EINVAL,
                  _ ("-e '%s': the delimiter after s cannot be a backslash "
                     "or a newline"),
                  text);
    goto fail;
  }
  if (scan_regex (text, text + 2, delim, &re, &p) == -1
      || scan_replacement (text, p, delim, e, &lit, &p) == -1
      || scan_flags (text, p, e, &cflags) == -1)
    goto fail;
  if (re.p[0] == '\0') {
    vd_set_error (EINVAL, _ ("-e '%s': empty regular expression"), text);
    goto fail;
  }
  r = regcomp (&e->re, re.p, cflags);
  if (r != 0) {
    char msg[256];

    regerror (r, &e->re, msg, sizeof msg);
    vd_set_error (EINVAL, _ ("-e '%s': bad regular expression: %s"), text, msg);
    goto fail;
  }
  e->compiled = true;
  for (i = 0; i < e->nr_pieces; i++)
    if (e->pieces[i].group > 0 && (size_t) e->pieces[i].group > e->re.re_nsub) {
      vd_set_error (EINVAL,
                    _ ("-e '%s': \\%d in the replacement refers to a group "
                       "the regular expression does not have (it has %zu)"),
                    text, e->pieces[i].group, e->re.re_nsub);
      goto fail;
    }
  free (re.p);
  e->lit = lit.p;
  return e;

fail:
  free (re.p);
  free (lit.p);
  expr_free (e);
  return NULL;
}

int
edit_script_add (struct edit_script *s, const char *text)
{
  struct edit_expr **v, *e = expr_compile (text);

  if (!e)
    return -1;
  v = realloc (s->v, (s->n + 1) * sizeof *v);
  if (!v) {
    expr_free (e);
    vd_set_error (ENOMEM, _ ("out of memory"));
    return -1;
  }
  s->v = v;
  s->v[s->n++] = e;
  return 0;
}

void
edit_script_free (struct edit_script *s)
{
  size_t i;

  for (i = 0; i < s->n; i++)
    expr_free (s->v[i]);
  free (s->v);
  s->v = NULL;
  s->n = 0;
}

/* ---- applying -------------------------------------------------------------
 */

static int
add_replacement (const struct edit_expr *e, const char *line,
                 const regmatch_t *m, struct buf *out)
{
  size_t i;

  for (i = 0; i < e->nr_pieces; i++) {
    const struct piece *pc = &e->pieces[i];

    if (pc->group == -1) {
      if (buf_add (out, e->lit + pc->off, pc->len) == -1)
        return -1;
    }
    /* A group that did not take part in the match adds nothing. */
    else if (pc->group < MAX_GROUPS && m[pc->group].rm_so >= 0
             && buf_add (out, line + m[pc->group].rm_so,
                         (size_t) (m[pc->group].rm_eo - m[pc->group].rm_so))
                    == -1)
      return -1;
  }
  return 0;
}

/* E on the LEN bytes of one LINE, appended to OUT.  sed's rules: matches
 * do not overlap, and an empty match right after a match is skipped. */
static int
expr_apply (const struct edit_expr *e, const char *line, size_t len,
            struct buf *out)
{
  regmatch_t m[MAX_GROUPS];
  size_t pos = 0, last_end = 0;
  unsigned long count = 0;
  bool have_last = false;

  while (pos <= len) {
    size_t so, eo;
    int r;

    m[0].rm_so = (regoff_t) pos;
    m[0].rm_eo = (regoff_t) len;
    r = regexec (&e->re, line, MAX_GROUPS, m,
                 REG_STARTEND | (pos > 0 ? REG_NOTBOL : 0));
    if (r == REG_NOMATCH)
      break;
    if (r != 0) {
      char msg[256];

      regerror (r, &e->re, msg, sizeof msg);
      vd_set_error (ENOMEM, _ ("regular expression matching failed: %s"), msg);
      return -1;
    }
    so = (size_t) m[0].rm_so;
    eo = (size_t) m[0].rm_eo;
    if (so < pos || eo < so || eo > len) {
      vd_set_error (EINVAL, _ ("regexec returned a match outside the line"));
      return -1;
    }
    if (so == eo && have_last && so == last_end) {
      /* Here so == pos: step over one byte. */
      if (so >= len)
        break;
      if (buf_add (out, line + pos, so + 1 - pos) == -1)
        return -1;
      pos = so + 1;
      continue;
    }
    count++;
    if (count >= e->nth) {
      if (buf_add (out, line + pos, so - pos) == -1
          || add_replacement (e, line, m, out) == -1)
        return -1;
    }
    else if (buf_add (out, line + pos, eo - pos) == -1)
      return -1;
    have_last = true;
    last_end = eo;
    if (so == eo) {
      if (so < len && buf_add (out, line + so, 1) == -1)
        return -1;
      pos = so + 1;
    }
    else
      pos = eo;
    if (count >= e->nth && !e->global)
      break;
  }
  if (pos < len && buf_add (out, line + pos, len - pos) == -1)
    return -1;
  return 0;
}

int
edit_script_apply (const struct edit_script *s, const char *in, size_t len,
                   char **out_ret, size_t *outlen, bool *changed)
{
  struct buf out = { NULL, 0, 0 }, a = { NULL, 0, 0 }, b = { NULL, 0, 0 };
  struct buf ln = { NULL, 0, 0 };
  const char *p = in, *end = in + len;

  /* At least one byte, so *OUT is never NULL. */
  if (buf_add (&out, "", 1) == -1)
    return -1;
  out.len = 0;
  while (p < end) {
    const char *nl = memchr (p, '\n', (size_t) (end - p));
    const char *body_end = nl ? nl : end;
    const char *cur = p;
    size_t cur_len, i;

    if (nl && nl > p && nl[-1] == '\r')
      body_end = nl - 1;
    cur_len = (size_t) (body_end - p);
    ln.len = 0;
    if (buf_add (&ln, p, cur_len) == -1 || buf_add (&ln, "", 1) == -1)
      goto fail;
    cur = ln.p;
    /* Each expression reads the previous one's output. */
    for (i = 0; i < s->n; i++) {
      struct buf *dst = cur == a.p ? &b : &a;

      dst->len = 0;
      if (expr_apply (s->v[i], cur, cur_len, dst) == -1
          || buf_add (dst, "", 1) == -1)
        goto fail;
      dst->len--; /* the NUL stays after the data */
      cur = dst->p;
      cur_len = dst->len;
    }
    if (buf_add (&out, cur, cur_len) == -1
        || buf_add (&out, body_end, (size_t) ((nl ? nl + 1 : end) - body_end))
               == -1)
      goto fail;
    p = nl ? nl + 1 : end;
  }
  free (a.p);
  free (b.p);
  free (ln.p);
  *changed = out.len != len || memcmp (out.p, in, len) != 0;
  *out_ret = out.p;
  *outlen = out.len;
  return 0;

fail:
  free (a.p);
  free (b.p);
  free (ln.p);
  free (out.p);
  return -1;
}

bool
edit_is_binary (const char *buf, size_t len)
{
  return len > 0 && memchr (buf, '\0', len) != NULL;
}
