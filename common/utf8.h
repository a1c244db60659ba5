/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Strict UTF-8 checking, and the two ways text is made safe: for the wire
 * (utf8_sanitize, used by echod before relaying chat text) and for a
 * terminal (term_escape, used by chatctl before printing what a possibly
 * hostile server sent). Pure functions: no allocation, no I/O, no state.
 *
 * Output convention of utf8_sanitize and term_escape (snprintf-like):
 * - the return value is the length the whole output needs, without the NUL;
 * - at most cap - 1 bytes are written, then a NUL (nothing if cap is 0);
 * - output is cut only between whole output units (a character, or one
 *   replacement/escape), never inside a UTF-8 sequence or an escape;
 * - the output was truncated if and only if the return value >= cap.
 * Sizing out[] as UTF8_SANITIZE_MAX(n) + 1 or TERM_ESCAPE_MAX(n) + 1 bytes
 * always suffices. Callers keep n small enough (a line) that 4 * n cannot
 * overflow size_t.
 */
#ifndef ECHOD_UTF8_H
#define ECHOD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Worst case output of utf8_sanitize: every input byte becomes U+FFFD. */
#define UTF8_SANITIZE_MAX(n) (3 * (size_t)(n))
/* Worst case output of term_escape: every input byte becomes "\xNN". */
#define TERM_ESCAPE_MAX(n) (4 * (size_t)(n))

/*
 * Decode the character at s[0..n). Returns its length (1 to 4) and stores
 * the code point in *cp (if cp is not NULL); returns 0 if s does not start
 * with a complete, well-formed sequence (n == 0, truncated, overlong,
 * surrogate, above U+10FFFF, stray continuation byte, bytes F5..FF).
 */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Length of the longest prefix of s[0..n) that is valid UTF-8. */
size_t utf8_valid_prefix(const unsigned char *s, size_t n);

/* Whether all of s[0..n) is valid UTF-8 (NUL is valid: U+0000). */
bool utf8_valid(const unsigned char *s, size_t n);

/*
 * Length of s[0..n) without a multibyte sequence cut short at its end: the
 * place to cut text that was truncated at an arbitrary byte. Returns n when
 * the text ends on a character boundary (or ends in bytes that could never
 * start a valid sequence).
 */
size_t utf8_trim_partial(const unsigned char *s, size_t n);

/*
 * Copy in[0..n) to out, replacing each C0 control (U+0000..U+001F) except
 * TAB, DEL (U+007F) and each C1 control (U+0080..U+009F) with U+FFFD. Meant
 * for valid UTF-8; an invalid byte is replaced by U+FFFD too (one per byte),
 * so the output is always valid UTF-8 free of controls other than TAB.
 * Output convention above; needs at most UTF8_SANITIZE_MAX(n) bytes.
 */
size_t utf8_sanitize(const unsigned char *in, size_t n, char *out, size_t cap);

/*
 * Render in[0..n) for a terminal so that nothing in it can act on the
 * terminal or reorder the display ("Trojan Source"):
 * - valid printable UTF-8 is copied unchanged;
 * - TAB becomes one space;
 * - other C0 controls and DEL in caret notation: ESC "^[", CR "^M",
 *   NUL "^@", DEL "^?";
 * - C1 controls (U+0080..U+009F), every format character (Cf: bidi
 *   marks, embeddings, overrides and isolates, zero-width characters,
 *   U+FEFF, the soft hyphen U+00AD, tag characters) and U+2028, U+2029
 *   (uniformat.h) as "<U+202E>", "<U+E0001>" (upper-case hex, 4 to 6
 *   digits);
 * - every byte that is not part of valid UTF-8 as "\xNN" (lower-case hex),
 *   one escape per byte: a raw C1 byte 0x9B shows as "\x9b".
 * The output is valid UTF-8 with no byte below 0x20, no 0x7F, no C1
 * control and nothing uniformat_is() names. It is for human eyes, not
 * reversible: a literal "^[" or "\x9b" in the input is shown as is.
 * Output convention above; needs at most TERM_ESCAPE_MAX(n) bytes (an
 * escape is at most 9 bytes for a 4-byte character).
 */
size_t term_escape(const unsigned char *in, size_t n, char *out, size_t cap);

#endif
