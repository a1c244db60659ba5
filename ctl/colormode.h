/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --color=WHEN: whether chatctl talk colours what it shows. Pure: the
 * caller passes isatty(STDOUT_FILENO), $TERM and $NO_COLOR.
 */
#ifndef CHATCTL_COLORMODE_H
#define CHATCTL_COLORMODE_H

#include <stdbool.h>

enum colormode { COLORMODE_AUTO, COLORMODE_ALWAYS, COLORMODE_NEVER };

/* "auto", "always" or "never", as ls and grep take them: 0, or -1. */
int colormode_parse(const char *s, enum colormode *out);

/*
 * always and never mean just that. auto colours only a terminal (tty)
 * whose TERM is set and not "dumb", and only while NO_COLOR is unset or
 * empty (no-color.org). term and no_color may be NULL (unset).
 */
bool colormode_use(enum colormode m, bool tty, const char *term,
    const char *no_color);

#endif
