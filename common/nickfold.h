/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The key nicks are unique on (PROTOCOL.md section 5): ASCII letters
 * folded to lower case, then i, l and 1 made one, and o and 0 made one, so
 * that alice, Alice, aIice and a1ice are one nick. Every other byte (the
 * rest of A-Z a-z 0-9 _ . -, and anything non-ASCII) is kept as it is.
 * The key is for comparing only; a nick is shown as it was spelled.
 */
#ifndef ECHOD_NICKFOLD_H
#define ECHOD_NICKFOLD_H

#include <stdbool.h>
#include <stddef.h>

/* The key of nick[0..n) into out[0..n], NUL-terminated (n + 1 bytes). */
void nickfold_key(const char *nick, size_t n, char *out);

/* Whether NUL-terminated a and b have the same key. */
bool nickfold_same(const char *a, const char *b);

#endif
