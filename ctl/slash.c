/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Typed lines and slash commands (see slash.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "chatproto.h"
#include "slash.h"
#include "utf8.h"

static const struct {
	const char *word;
	enum slash_kind kind;
	enum { ARG_NONE, ARG_TEXT, ARG_NAME, ARG_OPTIONAL } arg;
	const char *usage;
} commands[] = {
	{ "who", SLASH_WHO, ARG_NONE, "/who" },
	{ "nick", SLASH_NICK, ARG_NAME, "/nick NEW" },
	{ "join", SLASH_JOIN, ARG_NAME, "/join ROOM" },
	{ "me", SLASH_ME, ARG_TEXT, "/me TEXT" },
	{ "quit", SLASH_QUIT, ARG_OPTIONAL, "/quit [REASON]" },
	{ "help", SLASH_HELP, ARG_NONE, "/help" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

const char slash_help[] =
    "/who          who is in this room\n"
    "/nick NEW     change your nick\n"
    "/join ROOM    leave this room for ROOM (created if need be)\n"
    "/me TEXT      an action: \"* you TEXT\"\n"
    "/quit [WHY]   leave (so does Ctrl-D on an empty line)\n"
    "/help         this list\n"
    "//TEXT        say \"/TEXT\"";

const char *
slash_command(size_t i)
{
	return i < NCOMMANDS ? commands[i].word : NULL;
}

static enum slash_kind fail(struct slash *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum slash_kind
fail(struct slash *out, const char *fmt, ...)
{
	va_list ap;

	out->kind = SLASH_ERROR;
	out->arg = NULL;
	out->arglen = 0;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	return SLASH_ERROR;
}

/* At most max bytes of s[0..n) for a message, not cutting a character. */
static int
shown(const char *s, size_t n, size_t max)
{
	return (
	    int)utf8_trim_partial((const unsigned char *)s, n > max ? max : n);
}

static bool
blank(char c)
{
	return c == ' ' || c == '\t';
}

enum slash_kind
slash_parse(const char *line, size_t len, struct slash *out)
{
	const char *word, *arg, *sp;
	size_t wlen, alen;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return out->kind = SLASH_NONE;
	if (line[0] != '/' || (len >= 2 && line[1] == '/')) {
		/* A message; "//x" says "/x". */
		out->kind = SLASH_MSG;
		out->arg = line[0] == '/' ? line + 1 : line;
		out->arglen = line[0] == '/' ? len - 1 : len;
		return SLASH_MSG;
	}
	word = line + 1;
	sp = memchr(word, ' ', len - 1);
	wlen = sp ? (size_t)(sp - word) : len - 1;
	arg = sp ? sp + 1 : line + len;
	alen = (size_t)(line + len - arg);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strlen(commands[i].word) != wlen ||
		    strncasecmp(commands[i].word, word, wlen) != 0)
			continue;
		if (commands[i].arg == ARG_NONE ||
		    commands[i].arg == ARG_NAME) {
			/* "/who " and "/nick  bob " mean what they seem. */
			while (alen > 0 && blank(arg[0])) {
				arg++;
				alen--;
			}
			while (alen > 0 && blank(arg[alen - 1]))
				alen--;
		}
		if ((commands[i].arg == ARG_NONE && alen > 0) ||
		    ((commands[i].arg == ARG_TEXT ||
			 commands[i].arg == ARG_NAME) &&
			alen == 0))
			return fail(out, "usage: %s", commands[i].usage);
		if (commands[i].arg == ARG_NAME && !chat_valid_name(arg, alen))
			return fail(out,
			    "%s \"%.*s%s\" is not valid: use 1 to %d of "
			    "A-Z a-z 0-9 _ . -",
			    commands[i].kind == SLASH_NICK ? "nick" : "room",
			    shown(arg, alen, 40), arg, alen > 40 ? "..." : "",
			    CHAT_NAME_MAX);
		out->kind = commands[i].kind;
		out->arg = arg;
		out->arglen = alen;
		return out->kind;
	}
	return fail(out, "unknown command /%.*s%s (/help lists them)",
	    shown(word, wlen, 20), word, wlen > 20 ? "..." : "");
}

int
slash_wire(const struct slash *s, char *buf, size_t cap)
{
	char name[CHAT_NAME_MAX + 1], reason[256];

	switch (s->kind) {
	case SLASH_MSG:
		return chat_fmt_cmd_msg(buf, cap, s->arg, s->arglen);
	case SLASH_ME:
		return chat_fmt_cmd_me(buf, cap, s->arg, s->arglen);
	case SLASH_NICK:
	case SLASH_JOIN:
		if (s->arglen >= sizeof(name))
			return -1;
		memcpy(name, s->arg, s->arglen);
		name[s->arglen] = '\0';
		return s->kind == SLASH_NICK ?
		    chat_fmt_cmd_nick(buf, cap, name) :
		    chat_fmt_cmd_join(buf, cap, name);
	case SLASH_WHO:
		return chat_fmt_cmd_who(buf, cap);
	case SLASH_QUIT:
		/* A reason is a courtesy: cut it rather than refuse to quit. */
		snprintf(reason, sizeof(reason), "%.*s",
		    (int)utf8_trim_partial((const unsigned char *)s->arg,
			s->arglen < sizeof(reason) ? s->arglen :
						     sizeof(reason) - 1),
		    s->arg);
		return chat_fmt_cmd_quit(buf, cap, reason);
	default:
		return -1;
	}
}

size_t
input_clean(const char *in, size_t n, char *out, size_t cap)
{
	return utf8_sanitize((const unsigned char *)in, n, out, cap);
}
