/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The CHAT/1 client side of echod's worker: bytes from the socket go
 * through the line assembler (common/linebuf.c) in arbitrary chunks, each
 * line through chat_parse_client, and what the server answers or relays is
 * built by the chat formatters. Input: the byte stream a client sends (the
 * seeds are plain protocol text). It runs twice: with max_line 1024, the
 * default, and 64, the least allowed, each cut into chunks whose sizes
 * come from a hash of the input. Properties:
 * - the line assembler, fed in any chunks, yields exactly the lines and
 *   line-too-long events of a plain reference split of the whole stream;
 * - invalid UTF-8 is always bad-utf8, valid UTF-8 never is;
 * - accepted commands carry valid names and non-empty texts;
 * - every answer (OK, ERR with the offending line quoted, MSG/ME relaying
 *   the text, NICK, PONG, BYE) fits CHAT_SERVER_LINE_MAX(max_line), is one
 *   line of valid UTF-8 without controls other than TAB, and parses back
 *   (chat_parse_server) to what was formatted: round trips;
 * - chatctl's formatters round-trip through chat_parse_client;
 * - every line is also parsed as a server line: an accepted JOINS or
 *   PARTS lists valid names, no more than its count, within
 *   CHAT_CROWD_NAMES_MAX, and formats back to the same bytes;
 * - the nicks of accepted NICK commands come and go in a crowd
 *   (daemon/crowd.c): its lists stay within bounds and its JOINS line
 *   parses back with its count.
 */
#include <string.h>

#include "chatproto.h"
#include "crowd.h"
#include "fuzz.h"
#include "linebuf.h"
#include "utf8.h"

#define MAX_EVENTS 65536

enum { EV_LINE, EV_LONG };

struct event {
	int type;
	size_t off, len; /* EV_LINE: the line's bytes in the stream */
};

static struct event ref[MAX_EVENTS];
static size_t nref;

/* The reference: split the whole stream at LFs, no buffering at all. */
static size_t
reference_split(const uint8_t *s, size_t n, size_t max_line)
{
	size_t start = 0;

	nref = 0;
	for (size_t i = 0; i < n && nref < MAX_EVENTS; i++) {
		size_t len;

		if (s[i] != '\n')
			continue;
		len = i - start;
		if (len > 0 && s[i - 1] == '\r')
			len--;
		ref[nref++] =
		    (struct event){ len > max_line ? EV_LONG : EV_LINE, start,
			    len };
		start = i + 1;
	}
	/* An unfinished last line: too long already, or pending. */
	size_t rest = n - start;

	if (rest > max_line + 1 ||
	    (rest == max_line + 1 && s[start + max_line] != '\r')) {
		if (nref < MAX_EVENTS)
			ref[nref++] = (struct event){ EV_LONG, start, rest };
		return 0;
	}
	return rest;
}

/* One server line: LF-terminated, valid UTF-8, no control but TAB. */
static void
check_server_line(const char *buf, int n, size_t cap)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t i = 0, len;
	uint32_t cp;

	FUZZ_ASSERT(n >= 2 && (size_t)n < cap);
	FUZZ_ASSERT(buf[n - 1] == '\n' && buf[n] == '\0');
	FUZZ_ASSERT(memchr(buf, '\n', (size_t)n - 1) == NULL);
	FUZZ_ASSERT(utf8_valid(u, (size_t)n - 1));
	while (i < (size_t)n - 1) {
		len = utf8_decode(u + i, (size_t)n - 1 - i, &cp);
		FUZZ_ASSERT(len > 0);
		FUZZ_ASSERT(cp >= 0x20 || cp == '\t');
		FUZZ_ASSERT(cp < 0x7f || cp > 0x9f);
		i += len;
	}
}

static bool
str_eq(struct chat_str a, const char *b, size_t bn)
{
	/* An empty field may have a NULL pointer: no memcmp on it. */
	return a.n == bn && (bn == 0 || memcmp(a.p, b, bn) == 0);
}

/* A NUL-terminated copy of a validated name. */
static void
cname(char *dst, struct chat_str s)
{
	FUZZ_ASSERT(chat_valid_name(s.p, s.n));
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
}

static void
said_round_trip(char *out, size_t cap, enum chat_cmd cmd, struct chat_str t)
{
	static char clean[3 * 65536 + 1];
	static const char nick[] = "abcdefghijklmnopqrstuvwxyz012345";
	const int64_t ms = INT64_MAX; /* the longest time there is */
	struct chat_server_evt e;
	size_t need;
	int n;

	n = cmd == CHAT_CMD_MSG ? chat_fmt_msg(out, cap, ms, nick, t.p, t.n) :
				  chat_fmt_me(out, cap, ms, nick, t.p, t.n);
	FUZZ_ASSERT(n > 0);
	check_server_line(out, n, cap);
	FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
	FUZZ_ASSERT(
	    e.type == (cmd == CHAT_CMD_MSG ? CHAT_EVT_MSG : CHAT_EVT_ME));
	FUZZ_ASSERT(e.unix_ms == ms);
	FUZZ_ASSERT(str_eq(e.nick, nick, strlen(nick)));
	need = utf8_sanitize((const unsigned char *)t.p, t.n, clean,
	    sizeof(clean));
	FUZZ_ASSERT(need < sizeof(clean));
	FUZZ_ASSERT(str_eq(e.text, clean, need));
}

/* Whether an accepted greeting names the room "*" (the default room). */
static bool
star_room(const char *line, size_t len, const struct chat_client_cmd *c)
{
	size_t off = (size_t)(c->nick.p - line) + c->nick.n;

	return c->room.n == 0 && !c->probe && off + 2 <= len &&
	    memcmp(line + off, " *", 2) == 0;
}

/*
 * The option words of an accepted greeting: what follows "CHAT/1 <nick>
 * <room> ", NUL-terminated in a static buffer; "" if none.
 */
static const char *
opts_of(const char *line, size_t len, const struct chat_client_cmd *c)
{
	static char opts[65536];
	size_t off;

	if (star_room(line, len, c))
		off = (size_t)(c->nick.p - line) + c->nick.n + 2;
	else if (c->room.n == 0)
		return "";
	else
		off = (size_t)(c->room.p - line) + c->room.n;
	FUZZ_ASSERT(off == len || line[off] == ' ');
	if (off == len)
		return "";
	memcpy(opts, line + off + 1, len - off - 1);
	opts[len - off - 1] = '\0';
	return opts;
}

/*
 * An accepted greeting's options are in range, last= and since= imply
 * ids, a probe has no nick and formats back; what an opted-in member gets
 * first (INFO, HIST END) fits the line bound and parses back.
 */
static void
greeting_props(const char *line, size_t len, const struct chat_client_cmd *c,
    size_t cap)
{
	static char out[3 * 65536 + 64 + 1];
	static const struct chat_info_kv kv[] = {
	    {"max_line", 65536}, {"history", 10000},
	    {"rate_lines", INT64_MAX}, {"rate_bytes", INT64_MAX},
	    {"rate_burst_lines", INT64_MAX}, {"rate_burst_bytes", INT64_MAX},
	};
	char room[CHAT_NAME_MAX + 1];
	struct chat_server_evt e;
	int64_t v;
	int n;

	FUZZ_ASSERT(c->last >= -1 && c->last <= CHAT_LAST_MAX);
	FUZZ_ASSERT(c->since >= 0);
	FUZZ_ASSERT(c->ids || (c->last < 0 && c->since == 0));
	/* Options come after a room, "*" (the default room) included. */
	FUZZ_ASSERT(c->room.n > 0 || star_room(line, len, c) ||
	    (!c->ids && c->last < 0));
	if (c->probe) {
		FUZZ_ASSERT(c->nick.n == 0);
		if (c->room.n > 0)
			cname(room, c->room);
		n = chat_fmt_probe(out, sizeof(out), c->room.n > 0 ? room : NULL);
		FUZZ_ASSERT(n > 0 && (size_t)n <= len + 1);
		FUZZ_ASSERT(memcmp(out, line, (size_t)n - 1) == 0);
		return;
	}
	if (!c->ids)
		return;
	n = chat_fmt_info(out, cap, kv, sizeof(kv) / sizeof(kv[0]));
	FUZZ_ASSERT(n > 0);
	check_server_line(out, n, cap);
	FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
	FUZZ_ASSERT(e.type == CHAT_EVT_INFO &&
		    chat_info_get(&e, "rate_burst_bytes", &v) && v == INT64_MAX);
	n = chat_fmt_hist_end(out, cap, UINT32_MAX, c->since > 0);
	FUZZ_ASSERT(n > 0);
	check_server_line(out, n, cap);
	FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
	FUZZ_ASSERT(e.type == CHAT_EVT_HIST_END && e.gap == (c->since > 0));
}

static uint32_t hash(const uint8_t *d, size_t n);

/* A JOINS or PARTS line from a server: its fields, and back. */
static void
crowd_line_props(const char *line, size_t len)
{
	static char out[CHAT_CROWD_LINE_MAX];
	struct chat_server_evt e;
	struct chat_str name;
	size_t pos = 0, k = 0;
	const char *body = line;
	int n;

	if (chat_parse_server(line, len, &e) != 0 ||
	    (e.type != CHAT_EVT_JOINS && e.type != CHAT_EVT_PARTS))
		return;
	FUZZ_ASSERT(e.count >= 1 && e.count <= UINT32_MAX);
	FUZZ_ASSERT(e.listed <= e.count);
	FUZZ_ASSERT(e.names.n <= CHAT_CROWD_NAMES_MAX);
	FUZZ_ASSERT(!e.history);
	while (chat_who_next(&e, &pos, &name)) {
		FUZZ_ASSERT(chat_valid_name(name.p, name.n));
		k++;
	}
	FUZZ_ASSERT(k == e.listed);
	n = chat_fmt_crowd(out, sizeof(out), e.type == CHAT_EVT_PARTS,
	    e.unix_ms, (uint32_t)e.count, e.names.p, e.names.n);
	FUZZ_ASSERT(n > 0);
	if (e.id != 0) {
		body = memchr(line, ' ', len);
		FUZZ_ASSERT(body != NULL);
		body++;
	}
	FUZZ_ASSERT((size_t)n - 1 == len - (size_t)(body - line));
	FUZZ_ASSERT(memcmp(out, body, (size_t)n - 1) == 0);
}

static struct crowd crowd;
/* crowd_join's marks, as the hub keeps them per member: by nick. */
static struct {
	char nick[CHAT_NAME_MAX + 1];
	uint64_t mark;
} crowd_marks[64];

/* A nick comes (or, if it is listed among the joins, goes) in the crowd. */
static void
crowd_step(const char *nick, uint32_t h)
{
	static char out[CHAT_CROWD_LINE_MAX];
	struct chat_server_evt e;
	uint64_t *mark = &crowd_marks[h % 64].mark;
	int n;

	if (strcmp(crowd_marks[h % 64].nick, nick) != 0) {
		/* Another nick had the slot: this one's mark is unknown, and
		 * a part with mark 0 is the safe side (a real part). */
		snprintf(crowd_marks[h % 64].nick, CHAT_NAME_MAX + 1, "%s",
		    nick);
		*mark = 0;
	}
	if ((h >> 8) % 3 == 0) {
		crowd_part(&crowd, nick, *mark);
		*mark = 0;
	} else {
		*mark = crowd_join(&crowd, nick);
	}
	if ((h >> 12) % 17 == 0)
		crowd_reset(&crowd, crowd.batch + 1);
	FUZZ_ASSERT(crowd.joins.len <= CHAT_CROWD_NAMES_MAX);
	FUZZ_ASSERT(crowd.parts.len <= CHAT_CROWD_NAMES_MAX);
	if (crowd.joins.count == 0)
		return;
	n = chat_fmt_crowd(out, sizeof(out), false, 1, crowd.joins.count,
	    crowd.joins.names, crowd.joins.len);
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
	FUZZ_ASSERT(e.type == CHAT_EVT_JOINS && e.count == crowd.joins.count);
}

static void
handle_line(const char *line, size_t len, size_t max_line, bool *greeted)
{
	static char out[3 * 65536 + 64 + 1];
	static char cbuf[65536 + 16];
	size_t cap = CHAT_SERVER_LINE_MAX(max_line) + 1; /* and a NUL */
	struct chat_client_cmd c;
	struct chat_server_evt e;
	char nick[CHAT_NAME_MAX + 1], room[CHAT_NAME_MAX + 1];
	bool valid = utf8_valid((const unsigned char *)line, len);
	const char *opts;
	size_t same;
	int r, n;

	FUZZ_ASSERT(len <= max_line && line[len] == '\0');
	FUZZ_ASSERT(memchr(line, '\n', len) == NULL);
	crowd_line_props(line, len);
	r = chat_parse_client(line, len, *greeted, &c);
	FUZZ_ASSERT(r >= CHAT_OK && r < CHAT_ERR_COUNT_);
	FUZZ_ASSERT((r == CHAT_ERR_BAD_UTF8) == !valid);

	if (r != CHAT_OK) {
		/* The standard answer fits the server's line bound. */
		n = chat_fmt_err(out, cap, (enum chat_err)r, "%s",
		    chat_err_text((enum chat_err)r));
		FUZZ_ASSERT(n > 0);
		check_server_line(out, n, cap);
		FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
		FUZZ_ASSERT(e.type == CHAT_EVT_ERR && e.err == r);
		/*
		 * An answer quoting the offending line (user input) is cut to
		 * CHAT_ERR_TEXT_MAX bytes, then sanitized: each byte may become
		 * 3, so it is bounded by that, not by max_line.
		 */
		n = chat_fmt_err(out, sizeof(out), (enum chat_err)r, "%s: %.*s",
		    chat_err_text((enum chat_err)r), (int)len, line);
		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(
		    (size_t)n <= 4 + 16 + 1 + 3 * CHAT_ERR_TEXT_MAX + 1);
		check_server_line(out, n, sizeof(out));
		FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
		FUZZ_ASSERT(e.type == CHAT_EVT_ERR && e.err == r);
		return;
	}
	switch (c.cmd) {
	case CHAT_CMD_GREETING:
		FUZZ_ASSERT(!*greeted);
		greeting_props(line, len, &c, cap);
		if (c.probe)
			return; /* answered with WHO, then BYE: no member */
		cname(nick, c.nick);
		if (c.room.n > 0)
			cname(room, c.room);
		else
			strcpy(room, "lobby");
		n = chat_fmt_ok(out, cap, nick, room, UINT32_MAX);
		FUZZ_ASSERT(n > 0);
		check_server_line(out, n, cap);
		FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
		FUZZ_ASSERT(e.type == CHAT_EVT_OK && e.members == UINT32_MAX);
		FUZZ_ASSERT(str_eq(e.nick, nick, strlen(nick)));
		FUZZ_ASSERT(str_eq(e.room, room, strlen(room)));
		/* chatctl's greeting formatter gives the same line back
		 * ("CHAT/1 bob *" without options as "CHAT/1 bob"). */
		opts = opts_of(line, len, &c);
		same = star_room(line, len, &c) && opts[0] == '\0' ? len - 2 :
								       len;
		n = chat_fmt_greeting_opts(cbuf, sizeof(cbuf), nick,
		    c.room.n > 0 ? room : NULL, opts);
		FUZZ_ASSERT(n > 0 && (size_t)n == same + 1);
		FUZZ_ASSERT(memcmp(cbuf, line, same) == 0);
		*greeted = true;
		return;
	case CHAT_CMD_MSG:
	case CHAT_CMD_ME:
		FUZZ_ASSERT(c.text.n >= 1);
		said_round_trip(out, cap, c.cmd, c.text);
		return;
	case CHAT_CMD_NICK:
		FUZZ_ASSERT(*greeted);
		cname(nick, c.nick);
		n = chat_fmt_nick(out, cap, 0, "old", nick);
		FUZZ_ASSERT(n > 0);
		check_server_line(out, n, cap);
		FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
		FUZZ_ASSERT(e.type == CHAT_EVT_NICK &&
		    str_eq(e.nick2, nick, strlen(nick)));
		crowd_step(nick, hash((const uint8_t *)nick, strlen(nick)) ^
			(uint32_t)len << 8);
		return;
	case CHAT_CMD_JOIN:
		cname(room, c.room);
		n = chat_fmt_ok(out, cap, "me", room, 2);
		FUZZ_ASSERT(n > 0);
		check_server_line(out, n, cap);
		return;
	case CHAT_CMD_WHO:
		FUZZ_ASSERT(len == 3);
		return;
	case CHAT_CMD_PING:
		n = chat_fmt_pong(out, cap, c.text.p, c.text.n);
		FUZZ_ASSERT(n > 0);
		check_server_line(out, n, cap);
		FUZZ_ASSERT(chat_parse_server(out, (size_t)n - 1, &e) == 0);
		FUZZ_ASSERT(e.type == CHAT_EVT_PONG &&
		    str_eq(e.text, c.text.p, c.text.n));
		return;
	case CHAT_CMD_QUIT:
		n = chat_fmt_bye(out, cap, "quit");
		FUZZ_ASSERT(n > 0);
		check_server_line(out, n, cap);
		return;
	}
	FUZZ_ASSERT(!"unknown command accepted");
}

/* chatctl side: "MSG <text>" of any one-line valid text parses back. */
static void
client_round_trip(const char *text, size_t len)
{
	static char buf[65536 + 16];
	struct chat_client_cmd c;
	int n = chat_fmt_cmd_msg(buf, sizeof(buf), text, len);
	bool ok = len > 0 && utf8_valid((const unsigned char *)text, len) &&
	    memchr(text, '\r', len) == NULL && memchr(text, '\n', len) == NULL;

	FUZZ_ASSERT((n > 0) == ok);
	if (!ok)
		return;
	FUZZ_ASSERT(chat_parse_client(buf, (size_t)n - 1, true, &c) == CHAT_OK);
	FUZZ_ASSERT(c.cmd == CHAT_CMD_MSG && str_eq(c.text, text, len));
}

static uint32_t
hash(const uint8_t *d, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 16777619u;
	return h;
}

static void
run_stream(const uint8_t *data, size_t size, size_t max_line, uint32_t seed)
{
	struct linebuf lb;
	size_t pending, pos = 0, iev = 0;
	char *store;
	bool greeted = false;

	pending = reference_split(data, size, max_line);
	store = malloc(LB_MIN_CAP(max_line));
	FUZZ_ASSERT(store != NULL);
	FUZZ_ASSERT(lb_init(&lb, store, LB_MIN_CAP(max_line), max_line) == 0);
	while (pos < size) {
		size_t avail, chunk, len;
		char *p = lb_space(&lb, &avail);
		const char *line;
		enum lb_status st;

		FUZZ_ASSERT(avail >= 1);
		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % 300;
		if (chunk > avail)
			chunk = avail;
		if (chunk > size - pos)
			chunk = size - pos;
		memcpy(p, data + pos, chunk);
		lb_commit(&lb, chunk);
		pos += chunk;
		while ((st = lb_next(&lb, &line, &len)) != LB_NONE) {
			FUZZ_ASSERT(iev < nref);
			if (st == LB_TOO_LONG) {
				FUZZ_ASSERT(ref[iev].type == EV_LONG);
			} else {
				FUZZ_ASSERT(ref[iev].type == EV_LINE);
				FUZZ_ASSERT(len == ref[iev].len);
				FUZZ_ASSERT(memcmp(line, data + ref[iev].off,
						len) == 0);
				handle_line(line, len, max_line, &greeted);
				client_round_trip(line, len);
			}
			iev++;
		}
	}
	FUZZ_ASSERT(iev == nref || nref == MAX_EVENTS);
	FUZZ_ASSERT(lb_pending(&lb) == pending);
	free(store);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t h = hash(data, size);

	crowd_reset(&crowd, 1);
	memset(crowd_marks, 0, sizeof(crowd_marks));
	run_stream(data, size, CHAT_MAX_LINE_DEFAULT, h);
	run_stream(data, size, 64, h >> 8);
	return 0;
}
