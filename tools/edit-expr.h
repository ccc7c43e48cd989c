/* vd-edit's -e expressions: sed-style substitutions s/REGEX/REPLACEMENT/FLAGS
 * on POSIX extended regular expressions (regcomp), applied line by line.
 * No Perl: this is the whole language.  Used by tools/vd-edit.c; kept
 * apart from the guest so the unit tests (tests/unit/test-edit-expr.c)
 * run it on plain buffers.
 *
 * Errors go through libvd's channel (vd_set_error); messages quote the
 * expression as the user wrote it.
 */
#ifndef VD_TOOLS_EDIT_EXPR_H
#define VD_TOOLS_EDIT_EXPR_H

#include <stdbool.h>
#include <stddef.h>

struct edit_expr; /* one compiled substitution (edit-expr.c) */

/* The -e expressions of one run, in the order given. */
struct edit_script {
  struct edit_expr **v;
  size_t n;
};

/* Compile TEXT and append it to S.  TEXT is s, a delimiter (any character
 * but backslash and newline), the regex, the delimiter, the replacement,
 * the delimiter, and flags: g (every match), i or I (ignore case), a
 * number N (the Nth match; with g, the Nth and those after).  In the
 * regex and the replacement \D (D the delimiter) is D itself, \n a
 * newline and \t a tab; in the replacement & and \0 are the whole match,
 * \1..\9 the groups, \& and \\ a literal & and \.  Any other backslash
 * escape in the replacement is refused, as is a reference to a group the
 * regex does not have.  Returns 0, or -1 with the error set (the message
 * quotes TEXT and says what is wrong). */
int edit_script_add (struct edit_script *s, const char *text);
void edit_script_free (struct edit_script *s);

/* Apply S to the LEN bytes at IN, line by line: each line (without its
 * "\n" or "\r\n") goes through every expression in order, and gets its
 * own line end back, so CRLF files stay CRLF and a missing final newline
 * stays missing.  Lines may hold NUL bytes.  On success *OUT (malloc'd,
 * caller frees; never NULL) holds *OUTLEN bytes and *CHANGED says whether
 * they differ from IN.  Returns 0, or -1 with the error set. */
int edit_script_apply (const struct edit_script *s, const char *in, size_t len,
                       char **out, size_t *outlen, bool *changed);

/* Whether LEN bytes at BUF look like a binary file (they hold a NUL byte):
 * -e refuses those unless --binary is given. */
bool edit_is_binary (const char *buf, size_t len);

#endif /* VD_TOOLS_EDIT_EXPR_H */
