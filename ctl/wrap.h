/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A display line (display.h: escaped text, our SGR colours) cut into
 * terminal rows by chatctl itself, so that the terminal never wraps it:
 * every row after the first starts with a marker ("    ↳ ", or "    | "
 * outside UTF-8), and so can never read like the start of a line
 * ("12:34 <alice> ..."), however the sender padded the text. With an
 * indent (wrap_indent), spaces follow the marker up to the column where
 * the message text starts, as irssi lines up its continuation rows. A
 * row that fills up inside a word ends after the row's last space instead
 * when that moves at most half a row down (the space stays at the row's
 * end, so the rows still join up to the line).
 *
 * Rows count display columns (wcwidth under the caller's LC_CTYPE; what
 * it cannot measure counts 2, so a row may come out short, never too
 * long). A row never splits a UTF-8 sequence, an SGR sequence or an
 * escape of term_escape ("<U+200B>", "^[", "\x9b") unless that escape
 * alone is wider than a row; zero-width characters stay with the one
 * before them. Colour in force at a cut is reset at the row's end and
 * set again after the next row's marker. Pure but for wcwidth: no I/O,
 * no allocation.
 */
#ifndef CHATCTL_WRAP_H
#define CHATCTL_WRAP_H

#include <stdbool.h>
#include <stddef.h>

/* The smallest row buffer wrap_next accepts: marker, colour, one unit. */
#define WRAP_ROW_MIN 96
#define WRAP_SGR_MAX 32 /* bytes of SGR sequences kept across a cut */

struct wrap {
	const char *s;
	size_t n, pos;
	int width; /* columns a row may take; 0: do not cut */
	const char *mark;
	int mark_cols;
	int indent; /* columns before a continuation row's text, marker too */
	char sgr[WRAP_SGR_MAX]; /* the SGR sequences in force, in order */
	size_t sgrlen;
	bool started;
};

/*
 * Wrap s[0..n) at width columns (0 or too narrow for a marker and one
 * column: one row, uncut). utf8: the terminal takes UTF-8 (the marker's
 * arrow); a narrow width gets a shorter marker.
 */
void wrap_init(struct wrap *w, const char *s, size_t n, int width,
    bool utf8);

/*
 * Continuation rows start their text at column col (display_text_col),
 * at most a third of the width, never before the marker's end. Call
 * after wrap_init; a narrow width (short marker) does not indent.
 */
void wrap_indent(struct wrap *w, int col);

/*
 * The next row, without LF, NUL-terminated, in out[0..cap) (cap at least
 * WRAP_ROW_MIN); its length in *len. A row also ends early when out is
 * full. Returns false when there are no more rows (s empty: one empty
 * row). Every call consumes input, so a line of n bytes gives at most
 * n + 1 rows.
 */
bool wrap_next(struct wrap *w, char *out, size_t cap, size_t *len);

#endif
