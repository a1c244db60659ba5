/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cutting a message that is too long for one CHAT/1 line into pieces that
 * each fit. Pure.
 *
 * A piece is at most max bytes. It ends at the last space that lets it
 * fit (the space itself is dropped: it was the break), or, with no such
 * space, at the last whole UTF-8 character that fits: never inside one.
 * Every piece is non-empty. The text must be valid UTF-8 (input_clean).
 */
#ifndef CHATCTL_SPLIT_H
#define CHATCTL_SPLIT_H

#include <stddef.h>

/*
 * The next piece of text[0..len): returns its length (0 only if len is 0)
 * and stores in *next how many bytes it consumed (its length, plus the
 * space it broke at). max must be at least 4 (one character of any size).
 */
size_t split_next(const char *text, size_t len, size_t max, size_t *next);

#endif
