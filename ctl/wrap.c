/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Display lines cut into terminal rows (see wrap.h). */
#include <string.h>
#include <wchar.h>

#include "utf8.h"
#include "wrap.h"

#define SGR_RESET "\033[0m"
#define SGR_PARAMS_MAX 16 /* "1;31" is ours; longer is not an SGR of ours */

/* One indivisible piece of a display line. */
struct unit {
	size_t bytes;
	int cols;
	bool sgr;
};

static bool
is_hex_upper(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static bool
is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* "\033[" params "m" at s: its length, else 0. */
static size_t
sgr_len(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || s[0] != '\033' || s[1] != '[')
		return 0;
	for (i = 2; i < n && i < 2 + SGR_PARAMS_MAX; i++) {
		if (s[i] == 'm')
			return i + 1;
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == ';'))
			return 0;
	}
	return 0;
}

/* An escape of term_escape at s: its length (all ASCII), else 0. */
static size_t
escape_len(const char *s, size_t n)
{
	size_t i;

	if (n >= 2 && s[0] == '^' && ((s[1] >= '@' && s[1] <= '_') ||
	    s[1] == '?'))
		return 2;
	if (n >= 4 && s[0] == '\\' && s[1] == 'x' && is_hex_lower(s[2]) &&
	    is_hex_lower(s[3]))
		return 4;
	if (n >= 8 && memcmp(s, "<U+", 3) == 0) {
		for (i = 3; i < n && i < 9 && is_hex_upper(s[i]); i++)
			;
		if (i >= 7 && i < n && s[i] == '>')
			return i + 1;
	}
	return 0;
}

static struct unit
next_unit(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	struct unit t = { 1, 0, false };
	uint32_t cp;
	size_t len;
	int cols;

	if ((len = sgr_len(s, n)) > 0)
		return (struct unit){ len, 0, true };
	if ((len = escape_len(s, n)) > 0)
		return (struct unit){ len, (int)len, false };
	if (u[0] >= 0x20 && u[0] < 0x7f)
		return (struct unit){ 1, 1, false };
	if (u[0] < 0x80)
		return t; /* a control: display.c sends none but its ESC */
	if ((len = utf8_decode(u, n, &cp)) == 0)
		return (struct unit){ 1, 2, false };
	/* wcwidth -1 (not printable here, or the locale cannot say):
	 * count 2, a row may end short but never runs over. */
	cols = wcwidth((wchar_t)cp);
	return (struct unit){ len, cols < 0 ? 2 : cols, false };
}

/* Remember an SGR sequence: a reset forgets them all. */
static void
track_sgr(struct wrap *w, const char *s, size_t len)
{
	if (len == 3 || (len == 4 && s[2] == '0')) {
		w->sgrlen = 0;
		return;
	}
	if (w->sgrlen + len > sizeof(w->sgr))
		w->sgrlen = 0; /* keep the newest: it is the one in force */
	memcpy(w->sgr + w->sgrlen, s, len);
	w->sgrlen += len;
}

void
wrap_init(struct wrap *w, const char *s, size_t n, int width, bool utf8)
{
	w->s = s;
	w->n = n;
	w->pos = 0;
	w->sgrlen = 0;
	w->started = false;
	/* Under the timestamp, so the text starts where a nick does; a
	 * narrow window keeps only the arrow. */
	if (width >= 24) {
		w->mark = utf8 ? "    \xe2\x86\xb3 " : "    | ";
		w->mark_cols = 6;
	} else {
		w->mark = utf8 ? "\xe2\x86\xb3" : "|";
		w->mark_cols = 1;
	}
	w->width = width > w->mark_cols ? width : 0;
	w->indent = w->mark_cols;
}

void
wrap_indent(struct wrap *w, int col)
{
	if (w->mark_cols < 6 || w->width == 0)
		return;
	if (col > w->width / 3)
		col = w->width / 3;
	w->indent = col > w->mark_cols ? col : w->mark_cols;
}

static void
append(char *out, size_t *len, const char *s, size_t n)
{
	memcpy(out + *len, s, n);
	*len += n;
}

/* The last place in a row after a space: where a word may go down. */
struct brk {
	bool ok;
	size_t pos, len;
	int col;
	char sgr[WRAP_SGR_MAX];
	size_t sgrlen;
};

static void
brk_save(const struct wrap *w, struct brk *b, int col, size_t len)
{
	b->ok = true;
	b->pos = w->pos;
	b->len = len;
	b->col = col;
	memcpy(b->sgr, w->sgr, w->sgrlen);
	b->sgrlen = w->sgrlen;
}

/*
 * A row is full: end it after its last space instead, as irssi does,
 * when the word cut would take at most half the row; the space stays at
 * the end of the row, so the rows still join up to the line.
 */
static void
word_break(struct wrap *w, const struct brk *b, int col, int base,
    size_t *len)
{
	if (!b->ok || col - b->col > (w->width - base) / 2)
		return;
	w->pos = b->pos;
	*len = b->len;
	memcpy(w->sgr, b->sgr, b->sgrlen);
	w->sgrlen = b->sgrlen;
}

bool
wrap_next(struct wrap *w, char *out, size_t cap, size_t *len)
{
	size_t tail = sizeof(SGR_RESET); /* a reset and the NUL */
	int col = 0, base = 0;
	struct brk b = { .ok = false };
	bool more;

	*len = 0;
	if (w->started && w->pos >= w->n)
		return false;
	if (w->started) {
		/* Room left for a unit after the spaces: WRAP_ROW_MIN. */
		size_t sp = (size_t)(w->indent - w->mark_cols);

		if (sp > cap - WRAP_ROW_MIN)
			sp = cap - WRAP_ROW_MIN;
		append(out, len, w->mark, strlen(w->mark));
		memset(out + *len, ' ', sp);
		*len += sp;
		append(out, len, w->sgr, w->sgrlen);
		col = base = w->mark_cols + (int)sp;
	}
	w->started = true;
	/* Each step takes at least one byte: at most n - pos steps. */
	while (w->pos < w->n) {
		struct unit t = next_unit(w->s + w->pos, w->n - w->pos);

		if (w->width > 0 && t.cols > 0 && col + t.cols > w->width) {
			if (col > base) {
				word_break(w, &b, col, base, len);
				break;
			}
			/* Alone wider than a row: an escape goes byte by
			 * byte; a wide character at 1 column runs over. */
			if (!t.sgr && t.bytes == (size_t)t.cols) {
				t.bytes = (size_t)(w->width - col);
				t.cols = (int)t.bytes;
			}
		}
		if (*len + t.bytes + tail > cap)
			break;
		if (t.sgr)
			track_sgr(w, w->s + w->pos, t.bytes);
		append(out, len, w->s + w->pos, t.bytes);
		w->pos += t.bytes;
		col += t.cols;
		if (t.bytes == 1 && w->s[w->pos - 1] == ' ')
			brk_save(w, &b, col, *len);
	}
	more = w->pos < w->n;
	if (more && w->sgrlen > 0)
		append(out, len, SGR_RESET, strlen(SGR_RESET));
	out[*len] = '\0';
	return true;
}
