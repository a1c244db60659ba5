/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a line typed into chatctl talk means: a message, or one of the
 * commands /who /nick /join /me /quit /help. Pure: no I/O.
 *
 * Only a "/" in the first column starts a command; "//text" sends "/text".
 * Command words are case-insensitive. The line must already be clean
 * (valid UTF-8, no control characters but TAB: see input_clean).
 */
#ifndef CHATCTL_SLASH_H
#define CHATCTL_SLASH_H

#include <stddef.h>

enum slash_kind {
	SLASH_NONE, /* empty line: nothing to do */
	SLASH_MSG, /* arg: the text */
	SLASH_ME, /* arg: the text */
	SLASH_NICK, /* arg: a valid nick */
	SLASH_JOIN, /* arg: a valid room */
	SLASH_WHO, /* no arg */
	SLASH_QUIT, /* arg: the reason, may be empty */
	SLASH_HELP, /* no arg: show slash_help */
	SLASH_ERROR /* error: what was wrong, for the user */
};

struct slash {
	enum slash_kind kind;
	const char *arg; /* points into the parsed line */
	size_t arglen;
	char error[120];
};

/* Parse line[0..len). Always fills *out; returns out->kind. */
enum slash_kind slash_parse(const char *line, size_t len, struct slash *out);

/*
 * The CHAT/1 line for a parsed command, into buf[0..cap) with LF and NUL.
 * Returns its length, or -1 if the command sends nothing (NONE, HELP,
 * ERROR) or the line does not fit.
 */
int slash_wire(const struct slash *s, char *buf, size_t cap);

/* The i-th command word ("who", ...), or NULL past the last: for Tab. */
const char *slash_command(size_t i);

/* Help text: lines separated by LF, no LF at the end. */
extern const char slash_help[];

/*
 * Make a typed or piped line safe to send: each invalid byte and each
 * control character but TAB becomes U+FFFD (utf8_sanitize). Output
 * convention of utf8_sanitize: size out as UTF8_SANITIZE_MAX(n) + 1.
 */
size_t input_clean(const char *in, size_t n, char *out, size_t cap);

#endif
