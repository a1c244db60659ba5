/* SPDX-License-Identifier: GPL-3.0-or-later */
/* chatctl's error messages (see errmsg.h). */
#include <stdio.h>

#include "errmsg.h"

static const char *command;

void
errmsg_command(const char *name)
{
	command = name;
}

void
errmsg_v(const char *fmt, va_list ap)
{
	/* Whatever stdout still holds goes first, so lines keep their order. */
	fflush(stdout);
	if (command != NULL)
		fprintf(stderr, "chatctl: %s: ", command);
	else
		fputs("chatctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errmsg_v(fmt, ap);
	va_end(ap);
}

void
errmsg_hint(const char *fmt, ...)
{
	va_list ap;

	fputs("chatctl: hint: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
