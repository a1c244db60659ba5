/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Long messages into pieces that fit a line (see split.h). */
#include "split.h"

/* A UTF-8 continuation byte: a piece never starts or ends inside one. */
static int
is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

size_t
split_next(const char *text, size_t len, size_t max, size_t *next)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t cut;

	if (len <= max) {
		*next = len;
		return len;
	}
	/* A space just past max: the piece is max bytes, the space goes. */
	if (s[max] == ' ') {
		*next = max + 1;
		return max;
	}
	/* The last space within max, not at the start (the piece would be
	 * empty). Bounded by max. */
	for (cut = max - 1; cut > 0 && s[cut] != ' '; cut--)
		;
	if (cut > 0) {
		*next = cut + 1;
		return cut;
	}
	/* No space: back off to a character boundary (at most 3 bytes). */
	cut = max;
	while (cut > 0 && is_cont(s[cut]))
		cut--;
	if (cut == 0)
		cut = max; /* not UTF-8 after all: cut anyway, bounded */
	*next = cut;
	return cut;
}
