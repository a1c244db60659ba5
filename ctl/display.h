/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What chatctl shows for each line a CHAT/1 server sends: one line of text
 * for a person (or a script), "12:34 <alice> hello". Pure: no I/O; the
 * only outside input is the local time zone (localtime_r).
 *
 * Every byte that came from the server goes through term_escape(), nick
 * and room included, even though the parser has already checked names:
 * the server may be hostile, and this is the one place that decides what
 * reaches the terminal.
 */
#ifndef CHATCTL_DISPLAY_H
#define CHATCTL_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chatproto.h"
#include "utf8.h"

/* Room for the display of a server line of n bytes: all escaped, plus ours. */
#define DISPLAY_MAX(n) (TERM_ESCAPE_MAX(n) + 256)

/* Colours given so far, in order of first appearance (display_nick_sgr). */
#define DISPLAY_PALETTE 12 /* 32..36, 92..96, then 91 and 31 */
#define DISPLAY_COLORS_MAX 32
#define DISPLAY_CROWD_NAMES 10 /* names a JOINS or PARTS line shows */ /* nicks remembered: palette and renames */

struct display_colors {
	char nick[DISPLAY_COLORS_MAX][CHAT_NAME_MAX + 1];
	int color[DISPLAY_COLORS_MAX];
	size_t n;
	size_t used; /* palette entries given */
};

struct display {
	bool color; /* ANSI colours: the caller decides (colormode.h) */
	const char *self; /* our nick, shown bold; NULL if not known yet */
	const char *room; /* our room, for "joined lobby"; NULL if not known */
	/*
	 * Mark a message of someone else that names self (display_mentions):
	 * with colour, each mention in bold reverse video; without, the line
	 * starts with "!" ("!12:34 <bob> alice: hi").
	 */
	bool highlight;
	/* Where nicks keep their colours for the session; NULL: the hash. */
	struct display_colors *colors;
};

/*
 * Render a parsed event. Timestamps ("HH:MM", local time) come from the
 * event, or from now_ms for events that carry none (OK, WHO, ERR, BYE).
 * Writes a NUL-terminated line without LF to out[0..cap) and returns its
 * length (cut on a character or escape boundary if cap is short); returns
 * 0 for events not shown (PONG).
 */
size_t display_event(const struct display *d, const struct chat_server_evt *ev,
    int64_t now_ms, char *out, size_t cap);

/* A line the parser refused: shown escaped, marked "???". */
size_t display_unknown(const struct display *d, const char *line, size_t len,
    int64_t now_ms, char *out, size_t cap);

/* A server line longer than max bytes, dropped unread. */
size_t display_too_long(const struct display *d, size_t max, int64_t now_ms,
    char *out, size_t cap);

/* chatctl's own remark (help, a refused command): "HH:MM --- text". */
size_t display_note(const struct display *d, const char *text, int64_t now_ms,
    char *out, size_t cap);

/*
 * chatctl talk's extensions (CHAT/1 ids, history, PART details), kept
 * apart from display_event:
 * - display_history: a replayed line (ev->history), after a leading
 *   "[history] " (dim): "[history] 12:34 <bob> hi".
 * - display_part: a PART with a detail: "<-- bob left (quit: gone
 *   fishing)", "<-- bob left for kitchen"; without one as display_event.
 * - display_crowd: a JOINS or PARTS (a crowd's notices), on one line:
 *   "--> 12 joined lobby: alice, bob, carol, ... and 9 more", "<-- 3
 *   left: dave, erin, frank"; at most DISPLAY_CROWD_NAMES names; a
 *   count of one as a JOIN or PART looks. display_event calls it.
 * - display_pending: our own line not yet echoed by the server, as it
 *   will look but with "--:--" for the time and " (sending)" after it,
 *   all dim.
 */
size_t display_history(const struct display *d,
    const struct chat_server_evt *ev, int64_t now_ms, char *out, size_t cap);
size_t display_part(const struct display *d, const struct chat_server_evt *ev,
    int64_t now_ms, char *out, size_t cap);
size_t display_crowd(const struct display *d,
    const struct chat_server_evt *ev, char *out, size_t cap);
size_t display_pending(const struct display *d, bool me, const char *text,
    size_t len, char *out, size_t cap);

/* The ANSI colour a nick gets by hash (31..36, 91..96): always the same. */
int display_nick_color(const char *nick, size_t n);

/*
 * The colour of a nick on screen: its own colour if it has one, else the
 * next of the palette, in order (32..36, 92..96, 91, 31: red last, as
 * errors are red), kept for the session;
 * the hash once the palette is used up. colors NULL: the hash.
 */
int display_color_of(struct display_colors *colors, const char *nick,
    size_t n);

/*
 * Whether ev is a MSG or ME of someone other than self whose text names
 * self as a whole word (case-insensitive; a word is made of ASCII letters,
 * digits, "_", "-" and non-ASCII bytes). false if self is NULL.
 */
bool display_mentions(const char *self, const struct chat_server_evt *ev);

/*
 * The column where the text of display line s[0..n) starts: after
 * "12:34 <alice> ", "12:34 * alice " or "12:34 --- ". Continuation rows
 * are indented to it (wrap.h). 0 if s is no line of ours.
 */
int display_text_col(const char *s, size_t n);

#endif
