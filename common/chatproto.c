/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * CHAT/1 line grammar: PROTOCOL.md section 3 and the notes in chatproto.h.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chatproto.h"
#include "utf8.h"

#define CHAT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *code;
	const char *text;
} chat_errs[CHAT_ERR_COUNT_] = {
    [CHAT_OK] = {"ok", ""},
    [CHAT_ERR_BAD_GREETING] = {"bad-greeting",
	"expected CHAT/1 <nick> [<room>]"},
    [CHAT_ERR_BAD_NICK] = {"bad-nick",
	"a nick is 1 to 32 of A-Z a-z 0-9 _ . -"},
    [CHAT_ERR_NICK_TAKEN] = {"nick-taken", "that nick is in use"},
    [CHAT_ERR_BAD_ROOM] = {"bad-room",
	"a room is 1 to 32 of A-Z a-z 0-9 _ . -"},
    [CHAT_ERR_LINE_TOO_LONG] = {"line-too-long",
	"the line was longer than the server accepts"},
    [CHAT_ERR_BAD_UTF8] = {"bad-utf8", "the line is not valid UTF-8"},
    [CHAT_ERR_UNKNOWN_COMMAND] = {"unknown-command",
	"commands are MSG ME NICK JOIN WHO PING QUIT"},
    [CHAT_ERR_ROOM_FULL] = {"room-full", "the room is full"},
    [CHAT_ERR_BAD_SYNTAX] = {"bad-syntax",
	"expected MSG <text>, ME <text>, WHO or PING [<token>]"},
    [CHAT_ERR_NO_SUCH_ROOM] = {"no-such-room", "nobody is in that room"},
};

const char *
chat_err_code(enum chat_err e)
{
	if ((unsigned)e >= CHAT_ERR_COUNT_)
		return NULL;
	return chat_errs[e].code;
}

const char *
chat_err_text(enum chat_err e)
{
	if ((unsigned)e >= CHAT_ERR_COUNT_)
		return "";
	return chat_errs[e].text;
}

int
chat_err_lookup(const char *s, size_t n)
{
	size_t i;

	for (i = 1; i < CHAT_ERR_COUNT_; i++)
		if (strlen(chat_errs[i].code) == n &&
		    memcmp(chat_errs[i].code, s, n) == 0)
			return (int)i;
	return -1;
}

bool
chat_valid_name(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	if (n < 1 || n > CHAT_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		/* Spelled out: isalnum() would follow the locale. */
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' ||
			c == '-'))
			return false;
	}
	return true;
}

bool
chat_valid_token(const char *s, size_t n)
{
	size_t i;

	if (n < 1)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* A NUL-terminated name, checked without reading past CHAT_NAME_MAX + 1. */
static bool
chat_valid_cname(const char *s)
{
	return s != NULL && chat_valid_name(s, strnlen(s, CHAT_NAME_MAX + 1));
}

static bool
chat_str_eq(struct chat_str a, const char *lit)
{
	return strlen(lit) == a.n && memcmp(a.p, lit, a.n) == 0;
}

/* ---- field cursor ---- */

/*
 * Walks the fields after a line's first word. more: a separating space was
 * seen, so a field (possibly empty, which is an error) follows.
 */
struct chat_cur {
	const char *p;
	const char *end;
	bool more;
};

/* Split off the first word; the cursor gets what follows its space. */
static struct chat_str
chat_cur_init(struct chat_cur *c, const char *line, size_t len)
{
	struct chat_str w;
	const char *sp;

	sp = memchr(line, ' ', len);
	w.p = line;
	w.n = sp != NULL ? (size_t)(sp - line) : len;
	c->end = line + len;
	c->more = sp != NULL;
	c->p = sp != NULL ? sp + 1 : c->end;
	return w;
}

/* Next space-delimited field; false if none or empty. */
static bool
chat_cur_field(struct chat_cur *c, struct chat_str *f)
{
	const char *sp;

	if (!c->more)
		return false;
	sp = memchr(c->p, ' ', (size_t)(c->end - c->p));
	f->p = c->p;
	f->n = (size_t)((sp != NULL ? sp : c->end) - c->p);
	c->more = sp != NULL;
	c->p = sp != NULL ? sp + 1 : c->end;
	return f->n > 0;
}

/* The rest of the line as one field (spaces included); false if empty. */
static bool
chat_cur_rest(struct chat_cur *c, struct chat_str *f)
{
	if (!c->more)
		return false;
	f->p = c->p;
	f->n = (size_t)(c->end - c->p);
	c->p = c->end;
	c->more = false;
	return f->n > 0;
}

static bool
chat_cur_done(const struct chat_cur *c)
{
	return !c->more;
}

/*
 * Canonical decimal in [min, max]: digits only, no sign, no leading zero.
 * At most 20 digits are looked at, so the loop is bounded.
 */
static bool
chat_parse_dec(struct chat_str f, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	unsigned d;

	if (f.n < 1 || f.n > 20 || (f.n > 1 && f.p[0] == '0'))
		return false;
	for (i = 0; i < f.n; i++) {
		if (f.p[i] < '0' || f.p[i] > '9')
			return false;
		d = (unsigned)(f.p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* ---- client lines ---- */

static const struct {
	const char *word;
	enum chat_cmd cmd;
} chat_cmds[] = {
    {"MSG", CHAT_CMD_MSG},
    {"ME", CHAT_CMD_ME},
    {"NICK", CHAT_CMD_NICK},
    {"JOIN", CHAT_CMD_JOIN},
    {"WHO", CHAT_CMD_WHO},
    {"PING", CHAT_CMD_PING},
    {"QUIT", CHAT_CMD_QUIT},
};

/* An option word: 1 to CHAT_OPT_MAX bytes of a-z 0-9 _ . = - */
static bool
chat_valid_opt(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	if (n < 1 || n > CHAT_OPT_MAX)
		return false;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '.' || c == '=' || c == '-'))
			return false;
	}
	return true;
}

/* f starts with lit; *val gets what follows it. */
static bool
chat_str_prefix(struct chat_str f, const char *lit, struct chat_str *val)
{
	size_t n = strlen(lit);

	if (f.n < n || memcmp(f.p, lit, n) != 0)
		return false;
	val->p = f.p + n;
	val->n = f.n - n;
	return true;
}

#define CHAT_OPT_IDS 1u
#define CHAT_OPT_LAST 2u
#define CHAT_OPT_SINCE 4u

/* One greeting option; *seen: the known ones so far (each at most once). */
static int
chat_parse_opt(struct chat_str f, unsigned *seen, struct chat_client_cmd *out)
{
	struct chat_str val;
	unsigned bit;
	uint64_t v;

	if (!chat_valid_opt(f.p, f.n))
		return CHAT_ERR_BAD_GREETING;
	if (chat_str_eq(f, "ids")) {
		bit = CHAT_OPT_IDS;
	} else if (chat_str_prefix(f, "last=", &val)) {
		bit = CHAT_OPT_LAST;
		if (!chat_parse_dec(val, 0, CHAT_LAST_MAX, &v))
			return CHAT_ERR_BAD_GREETING;
		out->last = (int32_t)v;
	} else if (chat_str_prefix(f, "since=", &val)) {
		bit = CHAT_OPT_SINCE;
		if (!chat_parse_dec(val, 1, INT64_MAX, &v))
			return CHAT_ERR_BAD_GREETING;
		out->since = (int64_t)v;
	} else {
		return CHAT_OK; /* a newer client's option */
	}
	if (*seen & bit)
		return CHAT_ERR_BAD_GREETING;
	*seen |= bit;
	out->ids = true;
	return CHAT_OK;
}

static int
chat_parse_greeting(const char *line, size_t len, struct chat_client_cmd *out)
{
	struct chat_cur c;
	struct chat_str f;
	unsigned seen = 0;
	int r;

	if (len < CHAT_GREETING_LEN ||
	    memcmp(line, CHAT_GREETING, CHAT_GREETING_LEN) != 0)
		return CHAT_ERR_BAD_GREETING;
	out->cmd = CHAT_CMD_GREETING;
	out->last = -1;
	c.p = line + CHAT_GREETING_LEN;
	c.end = line + len;
	c.more = true;
	(void)chat_cur_field(&c, &f);
	if (f.n == 1 && f.p[0] == '*')
		out->probe = true;
	else if (!chat_valid_name(f.p, f.n))
		return CHAT_ERR_BAD_NICK;
	else
		out->nick = f;
	if (chat_cur_done(&c))
		return CHAT_OK;
	/* An empty room between two spaces is a missing field. */
	if (!chat_cur_field(&c, &out->room))
		return c.more ? CHAT_ERR_BAD_GREETING : CHAT_ERR_BAD_ROOM;
	/* "*": the default room, for a client that gives options before it
	 * knows the room's name (PROTOCOL.md 6). */
	if (out->room.n == 1 && out->room.p[0] == '*')
		out->room.n = 0;
	else if (!chat_valid_name(out->room.p, out->room.n))
		return CHAT_ERR_BAD_ROOM;
	/* Each option takes at least two bytes of the line: bounded by len. */
	while (!chat_cur_done(&c)) {
		if (!chat_cur_field(&c, &f))
			return CHAT_ERR_BAD_GREETING;
		if ((r = chat_parse_opt(f, &seen, out)) != CHAT_OK)
			return r;
	}
	return CHAT_OK;
}

static int
chat_parse_command(const char *line, size_t len, struct chat_client_cmd *out)
{
	struct chat_cur c;
	struct chat_str w, arg = {NULL, 0};
	size_t i;

	w = chat_cur_init(&c, line, len);
	for (i = 0; i < CHAT_ARRAY_SIZE(chat_cmds); i++)
		if (chat_str_eq(w, chat_cmds[i].word))
			break;
	if (i == CHAT_ARRAY_SIZE(chat_cmds))
		return CHAT_ERR_UNKNOWN_COMMAND;
	out->cmd = chat_cmds[i].cmd;
	/* arg: the rest of the line, possibly empty; c is spent after this. */
	(void)chat_cur_rest(&c, &arg);
	switch (out->cmd) {
	case CHAT_CMD_MSG:
	case CHAT_CMD_ME:
		if (arg.n == 0)
			return CHAT_ERR_BAD_SYNTAX;
		out->text = arg;
		return CHAT_OK;
	case CHAT_CMD_NICK:
		if (!chat_valid_name(arg.p, arg.n))
			return CHAT_ERR_BAD_NICK;
		out->nick = arg;
		return CHAT_OK;
	case CHAT_CMD_JOIN:
		if (!chat_valid_name(arg.p, arg.n))
			return CHAT_ERR_BAD_ROOM;
		out->room = arg;
		return CHAT_OK;
	case CHAT_CMD_WHO:
		if (w.n != len)
			return CHAT_ERR_BAD_SYNTAX;
		return CHAT_OK;
	case CHAT_CMD_PING:
		if (w.n != len && !chat_valid_token(arg.p, arg.n))
			return CHAT_ERR_BAD_SYNTAX;
		out->text = arg;
		return CHAT_OK;
	case CHAT_CMD_QUIT:
		/* Leaving must never fail: any reason, even an empty one. */
		out->text = arg;
		return CHAT_OK;
	case CHAT_CMD_GREETING:
		break;
	}
	return CHAT_ERR_UNKNOWN_COMMAND;
}

int
chat_parse_client(
    const char *line, size_t len, bool greeted, struct chat_client_cmd *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (!utf8_valid((const unsigned char *)line, len))
		return CHAT_ERR_BAD_UTF8;
	if (greeted)
		r = chat_parse_command(line, len, out);
	else
		r = chat_parse_greeting(line, len, out);
	if (r != CHAT_OK)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- server lines ---- */

static bool
chat_field_ms(struct chat_cur *c, int64_t *ms)
{
	struct chat_str f;
	uint64_t v;

	if (!chat_cur_field(c, &f) || !chat_parse_dec(f, 0, INT64_MAX, &v))
		return false;
	*ms = (int64_t)v;
	return true;
}

static bool
chat_field_name(struct chat_cur *c, struct chat_str *f)
{
	return chat_cur_field(c, f) && chat_valid_name(f->p, f->n);
}

static bool
chat_parse_who(struct chat_cur *c, struct chat_server_evt *out)
{
	struct chat_str name;
	size_t pos = 0;

	if (chat_cur_done(c))
		return true; /* "WHO": nobody */
	if (!chat_cur_rest(c, &out->names))
		return false;
	/* Each name is at least one byte plus a space: bounded by names.n. */
	while (chat_who_next(out, &pos, &name)) {
		if (!chat_valid_name(name.p, name.n))
			return false;
		out->count++;
	}
	/* A trailing space leaves an empty last name that next skips. */
	return out->names.p[out->names.n - 1] != ' ';
}

/* After PART's reason: nothing, or its detail. */
static bool
chat_parse_part_detail(struct chat_cur *c, struct chat_server_evt *out)
{
	if (chat_cur_done(c))
		return true;
	if (chat_str_eq(out->text, "moved"))
		return chat_field_name(c, &out->detail) && chat_cur_done(c);
	if (chat_str_eq(out->text, "quit"))
		return chat_cur_rest(c, &out->detail);
	return false; /* other reasons have no detail */
}

/* "INFO" or "INFO <word> ...": no empty word (strict separators). */
static bool
chat_parse_info(struct chat_cur *c, struct chat_server_evt *out)
{
	struct chat_str f;

	if (chat_cur_done(c))
		return true;
	out->text.p = c->p;
	/* Each word takes at least two bytes: bounded by the line. */
	while (!chat_cur_done(c))
		if (!chat_cur_field(c, &f))
			return false;
	out->text.n = (size_t)(c->end - out->text.p);
	return true;
}

/* JOINS and PARTS: "<ms> <count>" and up to count names. */
static bool
chat_parse_crowd(struct chat_cur *c, struct chat_server_evt *out)
{
	struct chat_str f, name;
	uint64_t v;
	size_t pos = 0;

	if (!chat_field_ms(c, &out->unix_ms) || !chat_cur_field(c, &f) ||
	    !chat_parse_dec(f, 1, UINT32_MAX, &v))
		return false;
	out->count = (size_t)v;
	if (chat_cur_done(c))
		return true; /* none listed */
	if (!chat_cur_rest(c, &out->names) ||
	    out->names.n > CHAT_CROWD_NAMES_MAX)
		return false;
	/* Each name is at least one byte plus a space: bounded by names.n. */
	while (chat_who_next(out, &pos, &name)) {
		if (!chat_valid_name(name.p, name.n))
			return false;
		out->listed++;
	}
	return out->listed <= out->count &&
	    out->names.p[out->names.n - 1] != ' ';
}

/* After "HIST": "END <count> complete|gap". */
static bool
chat_parse_hist_end(struct chat_cur *c, struct chat_server_evt *out)
{
	struct chat_str f;
	uint64_t v;

	if (!chat_cur_field(c, &f) || !chat_str_eq(f, "END") ||
	    !chat_cur_field(c, &f) || !chat_parse_dec(f, 0, UINT32_MAX, &v) ||
	    !chat_cur_field(c, &f) || !chat_cur_done(c))
		return false;
	out->count = (size_t)v;
	if (chat_str_eq(f, "gap"))
		out->gap = true;
	else if (!chat_str_eq(f, "complete"))
		return false;
	return true;
}

static bool
chat_parse_evt(struct chat_cur *c, struct chat_server_evt *out)
{
	struct chat_str f;
	uint64_t v;

	switch (out->type) {
	case CHAT_EVT_OK:
		if (!chat_field_name(c, &out->nick) ||
		    !chat_field_name(c, &out->room) || !chat_cur_field(c, &f) ||
		    !chat_parse_dec(f, 1, UINT32_MAX, &v))
			return false;
		out->members = (uint32_t)v;
		return chat_cur_done(c);
	case CHAT_EVT_MSG:
	case CHAT_EVT_ME:
		return chat_field_ms(c, &out->unix_ms) &&
		       chat_field_name(c, &out->nick) &&
		       chat_cur_rest(c, &out->text);
	case CHAT_EVT_JOIN:
		return chat_field_ms(c, &out->unix_ms) &&
		       chat_field_name(c, &out->nick) && chat_cur_done(c);
	case CHAT_EVT_PART:
		return chat_field_ms(c, &out->unix_ms) &&
		       chat_field_name(c, &out->nick) &&
		       chat_field_name(c, &out->text) && chat_parse_part_detail(c, out);
	case CHAT_EVT_NICK:
		return chat_field_ms(c, &out->unix_ms) &&
		       chat_field_name(c, &out->nick) &&
		       chat_field_name(c, &out->nick2) && chat_cur_done(c);
	case CHAT_EVT_WHO:
		return chat_parse_who(c, out);
	case CHAT_EVT_PONG:
		if (chat_cur_done(c))
			return true; /* answer to a PING without token */
		return chat_cur_rest(c, &out->text) &&
		       chat_valid_token(out->text.p, out->text.n);
	case CHAT_EVT_ERR:
		if (!chat_field_name(c, &out->code))
			return false;
		out->err = chat_err_lookup(out->code.p, out->code.n);
		return chat_cur_done(c) || chat_cur_rest(c, &out->text);
	case CHAT_EVT_BYE:
		return chat_field_name(c, &out->text) && chat_cur_done(c);
	case CHAT_EVT_INFO:
		return chat_parse_info(c, out);
	case CHAT_EVT_HIST_END:
		return chat_parse_hist_end(c, out);
	case CHAT_EVT_JOINS:
	case CHAT_EVT_PARTS:
		return chat_parse_crowd(c, out);
	}
	return false;
}

static const struct {
	const char *word;
	enum chat_evt type;
} chat_evts[] = {
    {"OK", CHAT_EVT_OK},
    {"MSG", CHAT_EVT_MSG},
    {"ME", CHAT_EVT_ME},
    {"JOIN", CHAT_EVT_JOIN},
    {"PART", CHAT_EVT_PART},
    {"NICK", CHAT_EVT_NICK},
    {"WHO", CHAT_EVT_WHO},
    {"PONG", CHAT_EVT_PONG},
    {"ERR", CHAT_EVT_ERR},
    {"BYE", CHAT_EVT_BYE},
    {"INFO", CHAT_EVT_INFO},
    {"HIST", CHAT_EVT_HIST_END},
    {"JOINS", CHAT_EVT_JOINS},
    {"PARTS", CHAT_EVT_PARTS},
};

/* Events that may carry an id: the room lines. */
static bool
chat_evt_has_id(enum chat_evt t)
{
	return t == CHAT_EVT_MSG || t == CHAT_EVT_ME || t == CHAT_EVT_JOIN ||
	       t == CHAT_EVT_PART || t == CHAT_EVT_NICK ||
	       t == CHAT_EVT_JOINS || t == CHAT_EVT_PARTS;
}

/*
 * "@<id> " and "@<id> HIST " before the event word: *w becomes that word.
 * Returns false if the prefix is malformed.
 */
static bool
chat_parse_prefix(
    struct chat_cur *c, struct chat_str *w, struct chat_server_evt *out)
{
	struct chat_str idf;
	uint64_t v;

	idf.p = w->p + 1;
	idf.n = w->n - 1;
	if (!chat_parse_dec(idf, 1, INT64_MAX, &v) || !chat_cur_field(c, w))
		return false;
	out->id = (int64_t)v;
	if (chat_str_eq(*w, "HIST")) {
		out->history = true;
		return chat_cur_field(c, w);
	}
	return true;
}

int
chat_parse_server(const char *line, size_t len, struct chat_server_evt *out)
{
	struct chat_cur c;
	struct chat_str w;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if (!utf8_valid((const unsigned char *)line, len))
		return CHAT_SRV_MALFORMED;
	w = chat_cur_init(&c, line, len);
	if (w.n > 0 && w.p[0] == '@' && !chat_parse_prefix(&c, &w, out)) {
		memset(out, 0, sizeof(*out));
		return CHAT_SRV_MALFORMED;
	}
	for (i = 0; i < CHAT_ARRAY_SIZE(chat_evts); i++)
		if (chat_str_eq(w, chat_evts[i].word))
			break;
	if (i == CHAT_ARRAY_SIZE(chat_evts)) {
		/* A newer server's event, with an id or not; not in a replay. */
		r = out->history ? CHAT_SRV_MALFORMED : CHAT_SRV_UNKNOWN;
		memset(out, 0, sizeof(*out));
		return r;
	}
	out->type = chat_evts[i].type;
	if ((out->id != 0 && !chat_evt_has_id(out->type)) ||
	    (out->history && out->type != CHAT_EVT_MSG &&
		out->type != CHAT_EVT_ME) ||
	    !chat_parse_evt(&c, out)) {
		memset(out, 0, sizeof(*out));
		return CHAT_SRV_MALFORMED;
	}
	return 0;
}

bool
chat_who_next(
    const struct chat_server_evt *evt, size_t *pos, struct chat_str *name)
{
	const char *p, *sp;
	size_t left;

	if ((evt->type != CHAT_EVT_WHO && evt->type != CHAT_EVT_JOINS &&
		evt->type != CHAT_EVT_PARTS) ||
	    *pos >= evt->names.n)
		return false;
	p = evt->names.p + *pos;
	left = evt->names.n - *pos;
	sp = memchr(p, ' ', left);
	name->p = p;
	name->n = sp != NULL ? (size_t)(sp - p) : left;
	*pos += name->n + (sp != NULL ? 1 : 0);
	return true;
}

bool
chat_info_get(
    const struct chat_server_evt *evt, const char *key, int64_t *value)
{
	struct chat_str w, val;
	const char *p, *end, *sp;
	size_t klen;
	uint64_t v;

	if (evt->type != CHAT_EVT_INFO || key == NULL || evt->text.n == 0)
		return false;
	klen = strlen(key);
	p = evt->text.p;
	end = p + evt->text.n;
	/* One word per step, each at least one byte: bounded by text.n. */
	while (p < end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		w.p = p;
		w.n = (size_t)((sp != NULL ? sp : end) - p);
		p = sp != NULL ? sp + 1 : end;
		if (w.n > klen && memcmp(w.p, key, klen) == 0 &&
		    w.p[klen] == '=') {
			val.p = w.p + klen + 1;
			val.n = w.n - klen - 1;
			if (!chat_parse_dec(val, 0, INT64_MAX, &v))
				return false;
			*value = (int64_t)v;
			return true;
		}
	}
	return false;
}

/* ---- line building ---- */

/*
 * Appends to buf[0..cap) keeping room for a NUL; after the first append
 * that does not fit (or a bad argument) the line is marked bad and the
 * rest is ignored, so formatters check once, at the end.
 */
struct chat_line {
	char *buf;
	size_t cap;
	size_t len;
	bool bad;
};

static void
chat_line_init(struct chat_line *l, char *buf, size_t cap)
{
	l->buf = buf;
	l->cap = cap;
	l->len = 0;
	l->bad = buf == NULL || cap == 0;
}

static void
chat_line_put(struct chat_line *l, const char *s, size_t n)
{
	if (l->bad || n >= l->cap - l->len) {
		l->bad = true;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
chat_line_str(struct chat_line *l, const char *s)
{
	chat_line_put(l, s, strlen(s));
}

/* " <name>", refusing anything that is not a valid name. */
static void
chat_line_name(struct chat_line *l, const char *name)
{
	if (!chat_valid_cname(name)) {
		l->bad = true;
		return;
	}
	chat_line_put(l, " ", 1);
	chat_line_str(l, name);
}

/* "<n>" in decimal, after the byte lead ("@", " "). */
static void
chat_line_num(struct chat_line *l, char lead, uint64_t v)
{
	char d[21]; /* the lead and up to 20 digits (UINT64_MAX) */
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && i > 1);
	d[--i] = lead;
	chat_line_put(l, d + i, sizeof(d) - i);
}

/* " <n>" in decimal. */
static void
chat_line_dec(struct chat_line *l, uint64_t v)
{
	chat_line_num(l, ' ', v);
}

/* " <unix-ms>" */
static void
chat_line_ms(struct chat_line *l, int64_t ms)
{
	if (ms < 0) {
		l->bad = true;
		return;
	}
	chat_line_dec(l, (uint64_t)ms);
}

/* " <text>", sanitized so no control can leave echod. */
static void
chat_line_text(struct chat_line *l, const char *text, size_t n)
{
	size_t need;

	if (text == NULL || n == 0) {
		l->bad = true;
		return;
	}
	chat_line_put(l, " ", 1);
	if (l->bad)
		return;
	need = utf8_sanitize(
	    (const unsigned char *)text, n, l->buf + l->len, l->cap - l->len);
	if (need >= l->cap - l->len)
		l->bad = true;
	else
		l->len += need;
}

static int
chat_line_end(struct chat_line *l)
{
	chat_line_put(l, "\n", 1);
	if (l->bad || l->len > INT_MAX)
		return -1;
	l->buf[l->len] = '\0';
	return (int)l->len;
}

/* ---- server formatters ---- */

int
chat_fmt_ok(
    char *buf, size_t cap, const char *nick, const char *room, uint32_t members)
{
	struct chat_line l;

	if (members == 0)
		return -1;
	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "OK");
	chat_line_name(&l, nick);
	chat_line_name(&l, room);
	chat_line_dec(&l, members);
	return chat_line_end(&l);
}

static int
chat_fmt_said(char *buf, size_t cap, const char *word, int64_t unix_ms,
    const char *nick, const char *text, size_t textlen)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, word);
	chat_line_ms(&l, unix_ms);
	chat_line_name(&l, nick);
	chat_line_text(&l, text, textlen);
	return chat_line_end(&l);
}

int
chat_fmt_msg(char *buf, size_t cap, int64_t unix_ms, const char *nick,
    const char *text, size_t textlen)
{
	return chat_fmt_said(buf, cap, "MSG", unix_ms, nick, text, textlen);
}

int
chat_fmt_me(char *buf, size_t cap, int64_t unix_ms, const char *nick,
    const char *text, size_t textlen)
{
	return chat_fmt_said(buf, cap, "ME", unix_ms, nick, text, textlen);
}

int
chat_fmt_join(char *buf, size_t cap, int64_t unix_ms, const char *nick)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "JOIN");
	chat_line_ms(&l, unix_ms);
	chat_line_name(&l, nick);
	return chat_line_end(&l);
}

int
chat_fmt_part(char *buf, size_t cap, int64_t unix_ms, const char *nick,
    const char *reason)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "PART");
	chat_line_ms(&l, unix_ms);
	chat_line_name(&l, nick);
	chat_line_name(&l, reason);
	return chat_line_end(&l);
}

int
chat_fmt_nick(char *buf, size_t cap, int64_t unix_ms, const char *oldnick,
    const char *newnick)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "NICK");
	chat_line_ms(&l, unix_ms);
	chat_line_name(&l, oldnick);
	chat_line_name(&l, newnick);
	return chat_line_end(&l);
}

int
chat_fmt_err(char *buf, size_t cap, enum chat_err code, const char *fmt, ...)
{
	struct chat_line l;
	char text[CHAT_ERR_TEXT_MAX + 1];
	va_list ap;
	size_t n;
	int r;

	if (code == CHAT_OK || chat_err_code(code) == NULL || fmt == NULL)
		return -1;
	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	n = (size_t)r;
	if (n > CHAT_ERR_TEXT_MAX)
		n = utf8_trim_partial(
		    (const unsigned char *)text, CHAT_ERR_TEXT_MAX);
	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "ERR ");
	chat_line_str(&l, chat_err_code(code));
	if (n > 0)
		chat_line_text(&l, text, n);
	return chat_line_end(&l);
}

int
chat_fmt_bye(char *buf, size_t cap, const char *reason)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "BYE");
	chat_line_name(&l, reason);
	return chat_line_end(&l);
}

int
chat_fmt_pong(char *buf, size_t cap, const char *token, size_t tokenlen)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "PONG");
	if (tokenlen > 0) {
		if (token == NULL || !chat_valid_token(token, tokenlen))
			return -1;
		chat_line_put(&l, " ", 1);
		chat_line_put(&l, token, tokenlen);
	}
	return chat_line_end(&l);
}

/* ---- server formatters of the extensions ---- */

int
chat_fmt_with_id(char *buf, size_t cap, int64_t id, bool hist,
    const char *line, size_t linelen)
{
	struct chat_line l;

	if (id < 1 || line == NULL || linelen == 0 ||
	    line[linelen - 1] != '\n')
		return -1;
	chat_line_init(&l, buf, cap);
	chat_line_num(&l, '@', (uint64_t)id);
	chat_line_str(&l, hist ? " HIST " : " ");
	chat_line_put(&l, line, linelen - 1);
	return chat_line_end(&l);
}

int
chat_fmt_part_detail(char *buf, size_t cap, int64_t unix_ms,
    const char *nick, const char *reason, const char *detail,
    size_t detaillen)
{
	struct chat_line l;
	size_t n = detaillen;

	if (n > CHAT_PART_DETAIL_MAX)
		n = utf8_trim_partial(
		    (const unsigned char *)detail, CHAT_PART_DETAIL_MAX);
	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "PART");
	chat_line_ms(&l, unix_ms);
	chat_line_name(&l, nick);
	chat_line_name(&l, reason);
	if (detaillen > 0)
		chat_line_text(&l, detail, n);
	return chat_line_end(&l);
}

/* An INFO key: 1 to 32 of a-z 0-9 _. */
static bool
chat_valid_info_key(const char *k)
{
	size_t i, n;

	if (k == NULL || (n = strnlen(k, 33)) < 1 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
			(k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

int
chat_fmt_info(char *buf, size_t cap, const struct chat_info_kv *kv, size_t n)
{
	struct chat_line l;
	size_t i;

	if (kv == NULL || n == 0)
		return -1;
	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "INFO");
	for (i = 0; i < n && !l.bad; i++) {
		if (!chat_valid_info_key(kv[i].key) || kv[i].value < 0)
			return -1;
		chat_line_put(&l, " ", 1);
		chat_line_str(&l, kv[i].key);
		chat_line_num(&l, '=', (uint64_t)kv[i].value);
	}
	return chat_line_end(&l);
}

int
chat_fmt_hist_end(char *buf, size_t cap, uint32_t count, bool gap)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "HIST END");
	chat_line_dec(&l, count);
	chat_line_str(&l, gap ? " gap" : " complete");
	return chat_line_end(&l);
}

int
chat_fmt_crowd(char *buf, size_t cap, bool parts, int64_t unix_ms,
    uint32_t count, const char *names, size_t len)
{
	struct chat_line l;
	const char *p = names, *end, *sp;
	uint32_t listed = 0;

	if (count == 0 || len > CHAT_CROWD_NAMES_MAX ||
	    (len > 0 && names == NULL))
		return -1;
	end = len > 0 ? names + len : names; /* no arithmetic on NULL */
	/* Each name takes at least one byte: bounded by len. */
	while (p < end) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (sp == NULL)
			sp = end;
		if (!chat_valid_name(p, (size_t)(sp - p)) || ++listed > count ||
		    (sp < end && sp + 1 == end))
			return -1;
		p = sp < end ? sp + 1 : end;
	}
	chat_line_init(&l, buf, cap);
	chat_line_str(&l, parts ? "PARTS" : "JOINS");
	chat_line_ms(&l, unix_ms);
	chat_line_dec(&l, count);
	if (len > 0) {
		chat_line_put(&l, " ", 1);
		chat_line_put(&l, names, len);
	}
	return chat_line_end(&l);
}

/* ---- WHO builder ---- */

static int
chat_name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int r;

	r = memcmp(a, b, an < bn ? an : bn);
	if (r != 0)
		return r;
	return an < bn ? -1 : an > bn;
}

void
chat_who_begin(struct chat_who *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->count = 0;
	/* "WHO\n" and a NUL. */
	w->ok = buf != NULL && cap >= 5;
	if (w->ok) {
		memcpy(buf, "WHO", 3);
		w->len = 3;
	}
}

int
chat_who_add(struct chat_who *w, const char *nick)
{
	size_t n, pos, s;

	if (!w->ok || !chat_valid_cname(nick))
		return -1;
	n = strlen(nick);
	/* " nick", then room for "\n" and the NUL. */
	if (w->cap - w->len < n + 3)
		return -1;
	/*
	 * Find the place from the end: names already there are sorted, so
	 * in-order input stops at the first comparison. Every name is
	 * preceded by a space and buf[3] is the first one, so the inner
	 * scan stops there at the latest.
	 */
	pos = w->len;
	while (pos > 3) {
		for (s = pos - 1; w->buf[s] != ' '; s--)
			;
		if (chat_name_cmp(w->buf + s + 1, pos - s - 1, nick, n) <= 0)
			break;
		pos = s;
	}
	memmove(w->buf + pos + 1 + n, w->buf + pos, w->len - pos);
	w->buf[pos] = ' ';
	memcpy(w->buf + pos + 1, nick, n);
	w->len += 1 + n;
	w->count++;
	return 0;
}

int
chat_who_end(struct chat_who *w)
{
	if (!w->ok || w->len + 2 > w->cap || w->len >= INT_MAX)
		return -1;
	w->buf[w->len] = '\n';
	w->buf[w->len + 1] = '\0';
	return (int)(w->len + 1);
}

/* ---- client formatters ---- */

/* " <text>" from the client: must be one non-empty line of valid UTF-8. */
static void
chat_line_ctext(struct chat_line *l, const char *text, size_t n)
{
	if (text == NULL || n == 0 ||
	    !utf8_valid((const unsigned char *)text, n) ||
	    memchr(text, '\n', n) != NULL || memchr(text, '\r', n) != NULL) {
		l->bad = true;
		return;
	}
	chat_line_put(l, " ", 1);
	chat_line_put(l, text, n);
}

int
chat_fmt_greeting(char *buf, size_t cap, const char *nick, const char *room)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "CHAT/1");
	chat_line_name(&l, nick);
	if (room != NULL && room[0] != '\0')
		chat_line_name(&l, room);
	return chat_line_end(&l);
}

int
chat_fmt_greeting_opts(char *buf, size_t cap, const char *nick,
    const char *room, const char *opts)
{
	struct chat_line l;
	const char *p, *sp;
	size_t n, left;

	if (opts == NULL || opts[0] == '\0')
		return chat_fmt_greeting(buf, cap, nick, room);
	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "CHAT/1");
	chat_line_name(&l, nick);
	if (room != NULL && room[0] != '\0')
		chat_line_name(&l, room);
	else
		chat_line_str(&l, " *"); /* the default room */
	/* Bounded by the buffer: every word is put or the line is bad. */
	for (p = opts; !l.bad;) {
		left = strnlen(p, cap);
		sp = memchr(p, ' ', left);
		n = sp != NULL ? (size_t)(sp - p) : left;
		if (!chat_valid_opt(p, n))
			return -1;
		chat_line_put(&l, " ", 1);
		chat_line_put(&l, p, n);
		if (sp == NULL) {
			if (p[n] != '\0')
				return -1; /* longer than the buffer */
			break;
		}
		p = sp + 1;
	}
	return chat_line_end(&l);
}

int
chat_fmt_probe(char *buf, size_t cap, const char *room)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "CHAT/1 *");
	if (room != NULL && room[0] != '\0')
		chat_line_name(&l, room);
	return chat_line_end(&l);
}

int
chat_fmt_cmd_msg(char *buf, size_t cap, const char *text, size_t textlen)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "MSG");
	chat_line_ctext(&l, text, textlen);
	return chat_line_end(&l);
}

int
chat_fmt_cmd_me(char *buf, size_t cap, const char *text, size_t textlen)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "ME");
	chat_line_ctext(&l, text, textlen);
	return chat_line_end(&l);
}

int
chat_fmt_cmd_nick(char *buf, size_t cap, const char *nick)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "NICK");
	chat_line_name(&l, nick);
	return chat_line_end(&l);
}

int
chat_fmt_cmd_join(char *buf, size_t cap, const char *room)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "JOIN");
	chat_line_name(&l, room);
	return chat_line_end(&l);
}

int
chat_fmt_cmd_who(char *buf, size_t cap)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "WHO");
	return chat_line_end(&l);
}

int
chat_fmt_cmd_ping(char *buf, size_t cap, const char *token)
{
	struct chat_line l;
	size_t n;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "PING");
	if (token != NULL && (n = strlen(token)) > 0) {
		if (!chat_valid_token(token, n))
			return -1;
		chat_line_put(&l, " ", 1);
		chat_line_put(&l, token, n);
	}
	return chat_line_end(&l);
}

int
chat_fmt_cmd_quit(char *buf, size_t cap, const char *reason)
{
	struct chat_line l;

	chat_line_init(&l, buf, cap);
	chat_line_str(&l, "QUIT");
	if (reason != NULL && reason[0] != '\0')
		chat_line_ctext(&l, reason, strlen(reason));
	return chat_line_end(&l);
}
