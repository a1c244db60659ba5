/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CHAT/1 (PROTOCOL.md section 3): parsing and formatting of protocol lines,
 * shared by echod's chat worker and hub and by chatctl. Pure functions:
 * no allocation, no I/O, no state.
 *
 * Parsers take one line as lb_next() returns it (LF and CR removed, may
 * hold NULs) and fill a struct whose strings point into that line: nothing
 * is copied, so the result lives as long as the line.
 *
 * Formatters write one whole line ending in "\n" plus a NUL into buf[0..cap)
 * and return its length without the NUL, or -1 (buf unspecified) if it
 * does not fit or an argument is invalid (a name that is not a valid nick,
 * an empty text, a negative time). Text that came from a user is passed
 * through utf8_sanitize() inside the server formatters, so no C0/C1 control
 * other than TAB, and no invalid UTF-8, can leave echod whatever the caller
 * passes.
 *
 * Strictness (where PROTOCOL.md is silent):
 * - Commands are upper case and case-sensitive; "msg hi" is an unknown
 *   command. Fields are separated by exactly one space: a missing, empty,
 *   extra or trailing field is an error, except that text fields (MSG, ME,
 *   QUIT reason, ERR text) are the rest of the line, spaces and TABs kept.
 * - The whole line must be valid UTF-8 first (else bad-utf8), for every
 *   command; then the command is looked at.
 *
 * The opt-in extensions (PROTOCOL.md section 6: greeting options, the
 * probe, ids, HIST, INFO, PART details) are parsed and formatted here too;
 * the lines of a client that did not opt in are unchanged.
 */
#ifndef ECHOD_CHATPROTO_H
#define ECHOD_CHATPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAT_GREETING "CHAT/1 "
#define CHAT_GREETING_LEN 7
#define CHAT_NAME_MAX 32	   /* nick and room, bytes */
#define CHAT_MAX_LINE_DEFAULT 1024 /* [chat] max_line */
#define CHAT_ERR_TEXT_MAX 200	   /* ERR text bytes, cut before sanitizing */
#define CHAT_PART_DETAIL_MAX 200   /* PART quit reason bytes, cut likewise */
#define CHAT_OPT_MAX 32		   /* a greeting option word, bytes */
#define CHAT_LAST_MAX 1000000	   /* greeting option last=<n> */
/* "@<id> HIST " at its longest (19 digits), without a NUL. */
#define CHAT_ID_PREFIX_MAX (1 + 19 + 1 + 5)

/*
 * Buffer sizes, NUL included. A server line other than WHO, for client
 * lines of at most max_line bytes: the longer of an ME with max_line - 3
 * bytes of text that are all controls (each becomes 3 bytes) plus the
 * longest time and nick, and an ERR with the longest text. Size hub
 * buffers with it; chatctl's line buffer too (WHO aside).
 */
#define CHAT_ERR_LINE_MAX (7 + CHAT_NAME_MAX + 3 * CHAT_ERR_TEXT_MAX)
/*
 * Any line of the extensions: an id prefix on the longer of the above and
 * a PART with the longest quit detail ("PART", time, nick, "quit", text).
 */
#define CHAT_PART_LINE_MAX                                                     \
	(5 + 20 + 1 + CHAT_NAME_MAX + 6 + 3 * CHAT_PART_DETAIL_MAX + 2)
#define CHAT_SERVER_LINE_MAX(max_line)                                         \
	(CHAT_ID_PREFIX_MAX +                                                  \
	    (3 * (size_t)(max_line) + 64 > CHAT_ERR_LINE_MAX                   \
		    ? (3 * (size_t)(max_line) + 64 > CHAT_PART_LINE_MAX        \
			      ? 3 * (size_t)(max_line) + 64                    \
			      : (size_t)CHAT_PART_LINE_MAX)                    \
		    : (CHAT_ERR_LINE_MAX > CHAT_PART_LINE_MAX                  \
			      ? (size_t)CHAT_ERR_LINE_MAX                      \
			      : (size_t)CHAT_PART_LINE_MAX)))
/*
 * JOINS and PARTS (PROTOCOL.md section 6, crowds): the nicks they list
 * take at most this many bytes, spaces between included, so a whole line
 * with its id is at most CHAT_CROWD_LINE_MAX bytes, NUL included.
 */
#define CHAT_CROWD_NAMES_MAX 4096
#define CHAT_CROWD_LINE_MAX (CHAT_ID_PREFIX_MAX + 6 + 20 + 11 + 2 + \
	CHAT_CROWD_NAMES_MAX + 2)
/* A WHO line for n members: "WHO", n times " <nick>", "\n", NUL. */
#define CHAT_WHO_LINE_MAX(n) (5 + (size_t)(n) * (1 + CHAT_NAME_MAX))

/* A piece of a parsed line: not NUL-terminated, may be empty (n == 0). */
struct chat_str {
	const char *p;
	size_t n;
};

/*
 * ERR codes. CHAT_OK is success for chat_parse_client. bad-syntax is an
 * addition to PROTOCOL.md: a known command with arguments that fit no form
 * ("MSG" without text, "WHO x", a bad PING token).
 */
enum chat_err {
	CHAT_OK = 0,
	CHAT_ERR_BAD_GREETING,
	CHAT_ERR_BAD_NICK,
	CHAT_ERR_NICK_TAKEN,
	CHAT_ERR_BAD_ROOM,
	CHAT_ERR_LINE_TOO_LONG,
	CHAT_ERR_BAD_UTF8,
	CHAT_ERR_UNKNOWN_COMMAND,
	CHAT_ERR_ROOM_FULL,
	CHAT_ERR_BAD_SYNTAX,
	CHAT_ERR_NO_SUCH_ROOM, /* probe of a room nobody is in */
	CHAT_ERR_COUNT_
};

/* Wire spelling ("bad-nick"); "ok" for CHAT_OK; NULL if out of range. */
const char *chat_err_code(enum chat_err e);
/* A default human-readable ERR text for e; "" if none. */
const char *chat_err_text(enum chat_err e);
/* The code spelled s[0..n), or -1 if it is none of ours (a newer server). */
int chat_err_lookup(const char *s, size_t n);

/* 1 to CHAT_NAME_MAX bytes of A-Z a-z 0-9 _ . - (nick or room). */
bool chat_valid_name(const char *s, size_t n);
/* PING/PONG token: 1 or more bytes of visible ASCII (0x21..0x7E). */
bool chat_valid_token(const char *s, size_t n);

/* ---- client to server ---- */

enum chat_cmd {
	CHAT_CMD_GREETING, /* nick, room (room.n == 0: default room) */
	CHAT_CMD_MSG,	   /* text, non-empty */
	CHAT_CMD_ME,	   /* text, non-empty */
	CHAT_CMD_NICK,	   /* nick */
	CHAT_CMD_JOIN,	   /* room */
	CHAT_CMD_WHO,
	CHAT_CMD_PING, /* text: token, may be empty */
	CHAT_CMD_QUIT  /* text: reason, may be empty */
};

struct chat_client_cmd {
	enum chat_cmd cmd;
	struct chat_str nick; /* greeting: empty for a probe */
	struct chat_str room;
	struct chat_str text;
	/* Greeting only (cmd CHAT_CMD_GREETING): */
	bool probe;    /* "CHAT/1 * [<room>]": WHO without joining */
	bool ids;      /* option ids, or implied by last= or since= */
	int32_t last;  /* last=<n>: 0..CHAT_LAST_MAX; -1 if not given */
	int64_t since; /* since=<id>: 1..INT64_MAX; 0 if not given */
};

/*
 * Parse a client line. greeted: whether a greeting was accepted on this
 * connection. Returns CHAT_OK with *out filled, or the ERR code to answer
 * (*out then zeroed):
 * - not greeted: only "CHAT/1 <nick>", "CHAT/1 <nick> <room>" or
 *   "CHAT/1 <nick> <room> <opt> ..."; anything else, or an empty field
 *   between or after, is bad-greeting; a bad nick (also "CHAT/1 ")
 *   bad-nick; a bad or empty room ("CHAT/1 bob ") bad-room; the room "*"
 *   is the default room (room.n == 0). Options: ids,
 *   last=<n>, since=<id> (each at most once, values canonical decimal in
 *   range, else bad-greeting); any other word of 1 to CHAT_OPT_MAX bytes of
 *   a-z 0-9 _ . = - is ignored, other bytes are bad-greeting. "CHAT/1 *"
 *   and "CHAT/1 * <room> [<opt> ...]" are a probe (probe true, nick empty;
 *   options checked the same way, then of no use). Retrying after a
 *   refused greeting is the caller's business: pass greeted = false again.
 * - greeted: unknown command word (also "CHAT/1", "msg", an empty line)
 *   unknown-command; MSG/ME without text bad-syntax (text " " is text);
 *   NICK/JOIN whose argument (the rest of the line) is not a valid name,
 *   missing included, bad-nick/bad-room; "WHO" with anything after it
 *   bad-syntax; "PING" or "PING <token>", else bad-syntax; "QUIT" and
 *   "QUIT <anything>" (even "QUIT ") always accepted, never refused.
 * - Text keeps TABs and control characters: the server formatters
 *   sanitize them.
 */
int chat_parse_client(
    const char *line, size_t len, bool greeted, struct chat_client_cmd *out);

/* ---- server to client ---- */

enum chat_evt {
	CHAT_EVT_OK,   /* nick, room, members */
	CHAT_EVT_MSG,  /* unix_ms, nick, text */
	CHAT_EVT_ME,   /* unix_ms, nick, text */
	CHAT_EVT_JOIN, /* unix_ms, nick */
	CHAT_EVT_PART, /* unix_ms, nick, text: reason */
	CHAT_EVT_NICK, /* unix_ms, nick: old, nick2: new */
	CHAT_EVT_WHO,  /* names, count: see chat_who_next */
	CHAT_EVT_PONG, /* text: token, may be empty */
	CHAT_EVT_ERR,  /* code, err, text (may be empty) */
	CHAT_EVT_BYE,  /* text: reason */
	CHAT_EVT_INFO, /* text: the key=value words (see chat_info_get) */
	CHAT_EVT_HIST_END, /* count, gap */
	CHAT_EVT_JOINS, /* unix_ms, count, names (listed of them) */
	CHAT_EVT_PARTS	/* unix_ms, count, names (listed of them) */
};

struct chat_server_evt {
	enum chat_evt type;
	int64_t unix_ms;
	uint32_t members;
	struct chat_str nick;
	struct chat_str nick2;
	struct chat_str room;
	struct chat_str text;
	struct chat_str code;  /* ERR code as sent */
	int err;	       /* chat_err_lookup(code): -1 if unknown */
	struct chat_str names; /* WHO: "a b c" */
	size_t count;	       /* WHO: number of names; HIST END: lines;
				  JOINS, PARTS: members who came or left */
	size_t listed;	       /* JOINS, PARTS: names in the line, <= count */
	int64_t id;	       /* the line's "@<id> " prefix; 0: none */
	bool history;	       /* "@<id> HIST ...": a replayed MSG or ME */
	struct chat_str detail; /* PART: quit reason or moved-to room; n=0 none */
	bool gap;		/* HIST END: "gap" (lines may be missing) */
};

#define CHAT_SRV_UNKNOWN (-1)	/* first word is no event we know */
#define CHAT_SRV_MALFORMED (-2) /* known event, bad fields, or bad UTF-8 */

/*
 * Parse a server line. Returns 0 with *out filled, or CHAT_SRV_UNKNOWN or
 * CHAT_SRV_MALFORMED (*out zeroed). Checks: valid UTF-8; <unix-ms> is 1 to
 * 19 digits, no sign, no leading zero, at most INT64_MAX; <members> 1 to
 * UINT32_MAX, same form; names valid; PART, BYE reasons and ERR codes are
 * name-shaped words (any, for newer servers); MSG/ME text non-empty. Text
 * may still hold control characters if the server is hostile: print it
 * through term_escape().
 *
 * Extensions: "@<id> " (id as <unix-ms>, at least 1) before MSG, ME, JOIN,
 * PART or NICK (before any other known event: malformed; before an unknown
 * word: unknown); "@<id> HIST " before MSG or ME only; "HIST END <count>
 * complete|gap" (count 0..UINT32_MAX); "INFO" and "INFO <word> ...", words
 * non-empty; "PART <ms> <nick> quit <text>" (detail: the text, the rest of
 * the line), "PART <ms> <nick> moved <room>" (detail: a valid room); no
 * other reason has a detail. "JOINS <ms> <count>" and "PARTS <ms>
 * <count>", each optionally followed by " <nick> ..." (count 1 to
 * UINT32_MAX, at most count names, all valid, names.n at most
 * CHAT_CROWD_NAMES_MAX), with or without an id.
 */
int chat_parse_server(
    const char *line, size_t len, struct chat_server_evt *out);

/*
 * Iterate the names of a WHO, JOINS or PARTS event: start with *pos = 0; each call stores
 * the next name in *name and returns true, then false at the end.
 */
bool chat_who_next(
    const struct chat_server_evt *evt, size_t *pos, struct chat_str *name);

/*
 * The value of "<key>=<value>" in an INFO event: true with *value set if
 * the key is there with a canonical decimal value 0..INT64_MAX (the first
 * such word if repeated); false if not INFO, absent, or not a number.
 */
bool chat_info_get(
    const struct chat_server_evt *evt, const char *key, int64_t *value);

/* ---- server formatters (hub) ---- */

/* "OK <nick> <room> <members>"; members >= 1. */
int chat_fmt_ok(char *buf, size_t cap, const char *nick, const char *room,
    uint32_t members);
/* "MSG <unix-ms> <nick> <text>"; text sanitized, textlen >= 1. */
int chat_fmt_msg(char *buf, size_t cap, int64_t unix_ms, const char *nick,
    const char *text, size_t textlen);
/* "ME <unix-ms> <nick> <text>"; as chat_fmt_msg. */
int chat_fmt_me(char *buf, size_t cap, int64_t unix_ms, const char *nick,
    const char *text, size_t textlen);
/* "JOIN <unix-ms> <nick>". */
int chat_fmt_join(char *buf, size_t cap, int64_t unix_ms, const char *nick);
/* "PART <unix-ms> <nick> <reason>"; reason a name-shaped word ("quit"). */
int chat_fmt_part(char *buf, size_t cap, int64_t unix_ms, const char *nick,
    const char *reason);
/* "NICK <unix-ms> <old> <new>". */
int chat_fmt_nick(char *buf, size_t cap, int64_t unix_ms, const char *oldnick,
    const char *newnick);
/*
 * "ERR <code> <text>", or "ERR <code>" if the text is empty. The text is
 * printf-formatted, cut to CHAT_ERR_TEXT_MAX bytes on a character boundary,
 * then sanitized: user input may go in it.
 */
int chat_fmt_err(char *buf, size_t cap, enum chat_err code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));
/* "BYE <reason>"; reason a name-shaped word ("quit", "slow"). */
int chat_fmt_bye(char *buf, size_t cap, const char *reason);
/* "PONG <token>", or "PONG" for an empty token; token as chat_valid_token. */
int chat_fmt_pong(char *buf, size_t cap, const char *token, size_t tokenlen);

/* ---- server formatters of the extensions (hub) ---- */

/*
 * "@<id> " + line, or "@<id> HIST " + line if hist: line is a whole line
 * as the formatters above make it (ending in "\n"), copied as it is;
 * id >= 1. Returns the new line's length, or -1.
 */
int chat_fmt_with_id(char *buf, size_t cap, int64_t id, bool hist,
    const char *line, size_t linelen);
/*
 * "PART <unix-ms> <nick> <reason> <detail>": detail cut to
 * CHAT_PART_DETAIL_MAX bytes on a character boundary, then sanitized (a
 * QUIT reason from the user, or a room). detaillen 0: as chat_fmt_part.
 */
int chat_fmt_part_detail(char *buf, size_t cap, int64_t unix_ms,
    const char *nick, const char *reason, const char *detail,
    size_t detaillen);
/* One key=value word of INFO; key: 1 to 32 of a-z 0-9 _. */
struct chat_info_kv {
	const char *key;
	int64_t value; /* >= 0 */
};
/* "INFO <key>=<value> ..." for n >= 1 pairs, in the order given. */
int chat_fmt_info(
    char *buf, size_t cap, const struct chat_info_kv *kv, size_t n);
/* "HIST END <count> complete" or "HIST END <count> gap". */
int chat_fmt_hist_end(char *buf, size_t cap, uint32_t count, bool gap);
/*
 * "JOINS <unix-ms> <count> <nick> ..." (PARTS if parts): names[0..len)
 * the nicks separated by one space ("a b c"), len 0 for none, at most
 * CHAT_CROWD_NAMES_MAX bytes; each a valid name, no more than count
 * of them; count >= 1.
 */
int chat_fmt_crowd(char *buf, size_t cap, bool parts, int64_t unix_ms,
    uint32_t count, const char *names, size_t len);

/*
 * WHO builder: names are added in any order and kept sorted (byte order,
 * "Bob" < "alice") in buf. Adding in sorted order costs O(1) per name,
 * otherwise up to the line length.
 */
struct chat_who {
	char *buf;
	size_t cap;
	size_t len; /* "WHO" and names so far, without "\n" */
	size_t count;
	bool ok; /* false if cap cannot even hold "WHO\n" */
};

void chat_who_begin(struct chat_who *w, char *buf, size_t cap);
/*
 * Add a nick. Returns 0, or -1 (w unchanged) if the name is invalid or the
 * line would no longer fit: the caller may still end it, with fewer names.
 */
int chat_who_add(struct chat_who *w, const char *nick);
/* Finish the line "WHO <nick> ...\n"; returns its length, or -1. */
int chat_who_end(struct chat_who *w);

/* ---- client formatters (chatctl) ---- */

/* "CHAT/1 <nick>" or "CHAT/1 <nick> <room>" (room NULL or ""). */
int chat_fmt_greeting(
    char *buf, size_t cap, const char *nick, const char *room);
/*
 * "CHAT/1 <nick> <room> <opts>": opts the option words separated by one
 * space ("ids since=123"), each 1 to CHAT_OPT_MAX bytes of a-z 0-9 _ . = -;
 * room NULL or "": "*", the server's default room. opts NULL or "": as
 * chat_fmt_greeting.
 */
int chat_fmt_greeting_opts(char *buf, size_t cap, const char *nick,
    const char *room, const char *opts);
/* "CHAT/1 *" or "CHAT/1 * <room>" (room NULL or ""): WHO without joining. */
int chat_fmt_probe(char *buf, size_t cap, const char *room);
/*
 * "MSG <text>" / "ME <text>": textlen >= 1, valid UTF-8, no CR or LF (they
 * would break the line); other controls are left to the server.
 */
int chat_fmt_cmd_msg(char *buf, size_t cap, const char *text, size_t textlen);
int chat_fmt_cmd_me(char *buf, size_t cap, const char *text, size_t textlen);
/* "NICK <nick>". */
int chat_fmt_cmd_nick(char *buf, size_t cap, const char *nick);
/* "JOIN <room>". */
int chat_fmt_cmd_join(char *buf, size_t cap, const char *room);
/* "WHO". */
int chat_fmt_cmd_who(char *buf, size_t cap);
/* "PING" or "PING <token>" (token NULL or ""; else chat_valid_token). */
int chat_fmt_cmd_ping(char *buf, size_t cap, const char *token);
/* "QUIT" or "QUIT <reason>" (reason NULL or ""; rules as MSG text). */
int chat_fmt_cmd_quit(char *buf, size_t cap, const char *reason);

#endif
