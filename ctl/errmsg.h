/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl's one error style, "chatctl: COMMAND: what was wrong", on
 * stderr. main names the command once (errmsg_command); every other file
 * just says what was wrong and where.
 */
#ifndef CHATCTL_ERRMSG_H
#define CHATCTL_ERRMSG_H

#include <stdarg.h>

/* The command named in every later message (a string that outlives it). */
void errmsg_command(const char *name);

/* "chatctl: COMMAND: " fmt "\n" ("chatctl: " alone before a command). */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void errmsg_v(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* "chatctl: hint: " fmt "\n": what to do about the error just printed. */
void errmsg_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
