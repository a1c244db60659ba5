/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Nick keys (nickfold.h). Byte by byte, no locale: the fold must be the
 * same in every process and every release.
 */
#include "nickfold.h"

static char
fold(char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	switch (c) {
	case 'i':
	case '1':
		return 'l';
	case '0':
		return 'o';
	default:
		return c;
	}
}

void
nickfold_key(const char *nick, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = fold(nick[i]);
	out[n] = '\0';
}

bool
nickfold_same(const char *a, const char *b)
{
	/* Bounded by the shorter string: a fold never maps a byte to NUL. */
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (fold(*a) != fold(*b))
			return false;
	return *a == *b;
}
