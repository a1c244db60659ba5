/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Server events as display lines (see display.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "display.h"

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_RED "\033[31m"
#define SGR_DIM "\033[2m"
#define SGR_MENTION "\033[1;7m" /* bold, reverse video */

/* A bounded output line; after the first cut, everything more is dropped. */
struct out {
	char *p;
	size_t cap, len;
	bool full;
};

/* Kept free for a final SGR_RESET, so a cut line never leaves colour on. */
#define RESERVE sizeof(SGR_RESET)

static void
out_init(struct out *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = cap > RESERVE ? cap - RESERVE : 0;
	o->len = 0;
	o->full = o->cap == 0;
	if (cap > 0)
		p[0] = '\0';
}

static size_t
out_end(struct out *o, const struct display *d)
{
	if (o->full && d->color && o->cap > 0) {
		memcpy(o->p + o->len, SGR_RESET, sizeof(SGR_RESET));
		o->len += strlen(SGR_RESET);
	}
	return o->len;
}

/* chatctl's own bytes: cut at cap, never inside an SGR sequence. */
static void
put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->full || o->len + n >= o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n + 1);
	o->len += n;
}

/* Bytes from the server: always through term_escape. */
static void
put_esc(struct out *o, const char *s, size_t n)
{
	size_t need;

	if (o->full)
		return;
	need = term_escape((const unsigned char *)s, n, o->p + o->len,
	    o->cap - o->len);
	if (need < o->cap - o->len) {
		o->len += need;
		return;
	}
	/* Cut on an escape or character boundary; its output has no NUL. */
	o->len += strlen(o->p + o->len);
	o->full = true;
}

static void
put_str(struct out *o, const struct chat_str *s)
{
	put_esc(o, s->p, s->n);
}

static void
put_sgr(struct out *o, const struct display *d, const char *sgr)
{
	if (d->color)
		put(o, sgr);
}

/* Red last: the first members must not look like an error ("!!!"). */
static const int palette[DISPLAY_PALETTE] = { 32, 33, 34, 35, 36, 92, 93,
	94, 95, 96, 91, 31 };

int
display_nick_color(const char *nick, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)nick[i]) * 16777619u;
	return palette[h % DISPLAY_PALETTE];
}

static int
colors_find(const struct display_colors *c, const char *nick, size_t n)
{
	for (size_t i = 0; i < c->n; i++)
		if (strlen(c->nick[i]) == n && memcmp(c->nick[i], nick, n) == 0)
			return (int)i;
	return -1;
}

static void
colors_add(struct display_colors *c, const char *nick, size_t n, int color)
{
	if (c->n >= DISPLAY_COLORS_MAX || n > CHAT_NAME_MAX)
		return;
	memcpy(c->nick[c->n], nick, n);
	c->nick[c->n][n] = '\0';
	c->color[c->n++] = color;
}

int
display_color_of(struct display_colors *c, const char *nick, size_t n)
{
	int i;

	if (c == NULL)
		return display_nick_color(nick, n);
	if ((i = colors_find(c, nick, n)) >= 0)
		return c->color[i];
	if (c->used >= DISPLAY_PALETTE || c->n >= DISPLAY_COLORS_MAX)
		return display_nick_color(nick, n);
	colors_add(c, nick, n, palette[c->used++]);
	return c->color[c->n - 1];
}

/* A new nick keeps the colour of the old one, if it has none yet. */
static void
colors_rename(struct display_colors *c, const struct chat_str *old,
    const struct chat_str *new)
{
	int i;

	if (c == NULL || colors_find(c, new->p, new->n) >= 0 ||
	    (i = colors_find(c, old->p, old->n)) < 0)
		return;
	colors_add(c, new->p, new->n, c->color[i]);
}

static void
put_nick(struct out *o, const struct display *d, const struct chat_str *nick)
{
	char sgr[16];
	bool self = d->self != NULL && strlen(d->self) == nick->n &&
	    memcmp(d->self, nick->p, nick->n) == 0;

	if (d->color) {
		snprintf(sgr, sizeof(sgr), "\033[%s%dm", self ? "1;" : "",
		    display_color_of(d->colors, nick->p, nick->n));
		put(o, sgr);
	}
	put_str(o, nick);
	put_sgr(o, d, SGR_RESET);
}

static bool
word_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z') || c == '_' || c == '-' || c >= 0x80;
}

/* Where self appears as a whole word in s[from..n): its offset, or n. */
static size_t
find_word(const struct chat_str *s, size_t from, const char *self,
    size_t slen)
{
	const unsigned char *u = (const unsigned char *)s->p;

	/* Each step moves on by one byte: at most n steps. */
	for (size_t i = from; slen > 0 && i + slen <= s->n; i++) {
		if (strncasecmp(s->p + i, self, slen) == 0 &&
		    (i == 0 || !word_byte(u[i - 1])) &&
		    (i + slen == s->n || !word_byte(u[i + slen])))
			return i;
	}
	return s->n;
}

bool
display_mentions(const char *self, const struct chat_server_evt *ev)
{
	size_t slen;

	if (self == NULL ||
	    (ev->type != CHAT_EVT_MSG && ev->type != CHAT_EVT_ME))
		return false;
	slen = strlen(self);
	if (slen == ev->nick.n && memcmp(self, ev->nick.p, slen) == 0)
		return false;
	return find_word(&ev->text, 0, self, slen) < ev->text.n;
}

/* A message's text, each mention of self in bold reverse with colour. */
static void
put_text(struct out *o, const struct display *d, const struct chat_str *t,
    bool mark)
{
	size_t slen = d->self ? strlen(d->self) : 0, at, pos = 0;

	if (!mark || !d->color) {
		put_str(o, t);
		return;
	}
	/* Each mention moves pos on: at most n / slen rounds. */
	while (pos < t->n) {
		at = find_word(t, pos, d->self, slen);
		put_esc(o, t->p + pos, at - pos);
		if (at == t->n)
			break;
		put(o, SGR_MENTION);
		put_esc(o, t->p + at, slen);
		put(o, SGR_RESET);
		pos = at + slen;
	}
}

/* Our own line starts: what follows "HH:MM " up to the text. */
int
display_text_col(const char *s, size_t n)
{
	char v[64]; /* the visible ASCII start of the line, SGR skipped */
	size_t k = 0, i = 0, off;
	const char *gt;

	/* Each step takes one byte or one SGR: at most n steps. */
	while (i < n && k < sizeof(v) - 1) {
		if (s[i] == '\033') {
			const char *m = memchr(s + i, 'm', n - i);

			if (m == NULL)
				break;
			i = (size_t)(m - s) + 1;
			continue;
		}
		if ((unsigned char)s[i] >= 0x80)
			break;
		v[k++] = s[i++];
	}
	v[k] = '\0';
	off = v[0] == '!' ? 1 : 0;
	if (k < off + 10 || v[off + 2] != ':' || v[off + 5] != ' ')
		return 0;
	off += 6;
	if (v[off] == '<' && v[off + 1] != '-' &&
	    (gt = strstr(v + off, "> ")) != NULL)
		return (int)(gt - v) + 2;
	if (v[off] == '*' && v[off + 1] == ' ' &&
	    (gt = strchr(v + off + 2, ' ')) != NULL)
		return (int)(gt - v) + 1;
	if (v[off + 3] == ' ' && strchr("-<!?", v[off]) != NULL)
		return (int)off + 4;
	return 0;
}

static void
put_room(struct out *o, const struct chat_str *room)
{
	put_str(o, room);
}

static void
put_time(struct out *o, const struct display *d, int64_t ms)
{
	char hm[8];
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (localtime_r(&t, &tm) == NULL)
		snprintf(hm, sizeof(hm), "--:--");
	else
		snprintf(hm, sizeof(hm), "%02d:%02d", tm.tm_hour, tm.tm_min);
	put_sgr(o, d, SGR_DIM);
	put(o, hm);
	put_sgr(o, d, SGR_RESET);
	put(o, " ");
}

static void
put_u(struct out *o, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	put(o, num);
}

size_t
display_event(const struct display *d, const struct chat_server_evt *ev,
    int64_t now_ms, char *out, size_t cap)
{
	struct out o;
	struct chat_str room = { d->room, d->room ? strlen(d->room) : 0 };
	struct chat_str name;
	size_t pos = 0;
	bool first = true;
	bool mark = d->highlight && display_mentions(d->self, ev);

	if (ev->type == CHAT_EVT_JOINS || ev->type == CHAT_EVT_PARTS)
		return display_crowd(d, ev, out, cap);
	out_init(&o, out, cap);
	if (mark && !d->color)
		put(&o, "!");
	switch (ev->type) {
	case CHAT_EVT_MSG:
	case CHAT_EVT_ME:
	case CHAT_EVT_JOIN:
	case CHAT_EVT_PART:
	case CHAT_EVT_NICK:
		put_time(&o, d, ev->unix_ms);
		break;
	case CHAT_EVT_PONG:
	case CHAT_EVT_INFO:
	case CHAT_EVT_HIST_END:
		return 0;
	default:
		put_time(&o, d, now_ms);
		break;
	}
	switch (ev->type) {
	case CHAT_EVT_MSG:
		put(&o, "<");
		put_nick(&o, d, &ev->nick);
		put(&o, "> ");
		put_text(&o, d, &ev->text, mark);
		break;
	case CHAT_EVT_ME:
		put(&o, "* ");
		put_nick(&o, d, &ev->nick);
		put(&o, " ");
		put_text(&o, d, &ev->text, mark);
		break;
	case CHAT_EVT_JOIN:
		put(&o, "--> ");
		put_nick(&o, d, &ev->nick);
		put(&o, " joined");
		if (room.n > 0) {
			put(&o, " ");
			put_room(&o, &room);
		}
		break;
	case CHAT_EVT_PART:
		put(&o, "<-- ");
		put_nick(&o, d, &ev->nick);
		put(&o, " left (");
		put_str(&o, &ev->text);
		put(&o, ")");
		break;
	case CHAT_EVT_NICK:
		put(&o, "--- ");
		put_nick(&o, d, &ev->nick);
		put(&o, " is now ");
		colors_rename(d->colors, &ev->nick, &ev->nick2);
		put_nick(&o, d, &ev->nick2);
		break;
	case CHAT_EVT_OK:
		put(&o, "--- you are ");
		put_nick(&o, d, &ev->nick);
		put(&o, " in ");
		put_room(&o, &ev->room);
		put(&o, " (");
		put_u(&o, ev->members);
		put(&o, ev->members == 1 ? " member)" : " members)");
		break;
	case CHAT_EVT_WHO:
		put(&o, "--- in ");
		if (room.n > 0)
			put_room(&o, &room);
		else
			put(&o, "this room");
		put(&o, ":");
		while (chat_who_next(ev, &pos, &name)) {
			put(&o, first ? " " : ", ");
			put_nick(&o, d, &name);
			first = false;
		}
		if (first)
			put(&o, " nobody");
		break;
	case CHAT_EVT_ERR:
		put_sgr(&o, d, SGR_RED);
		put(&o, "!!! ");
		put_str(&o, &ev->code);
		if (ev->text.n > 0) {
			put(&o, ": ");
			put_str(&o, &ev->text);
		}
		put_sgr(&o, d, SGR_RESET);
		break;
	case CHAT_EVT_BYE:
		if (ev->text.n == 4 && memcmp(ev->text.p, "quit", 4) == 0) {
			put(&o, "--- bye");
		} else {
			put(&o, "--- the server closed the connection (");
			put_str(&o, &ev->text);
			put(&o, ")");
		}
		break;
	case CHAT_EVT_PONG:
	case CHAT_EVT_INFO:
	case CHAT_EVT_HIST_END:
	case CHAT_EVT_JOINS:
	case CHAT_EVT_PARTS:
		break;
	}
	return out_end(&o, d);
}

size_t
display_unknown(const struct display *d, const char *line, size_t len,
    int64_t now_ms, char *out, size_t cap)
{
	struct out o;

	out_init(&o, out, cap);
	put_time(&o, d, now_ms);
	put(&o, "??? ");
	put_esc(&o, line, len);
	return out_end(&o, d);
}

size_t
display_too_long(const struct display *d, size_t max, int64_t now_ms, char *out,
    size_t cap)
{
	struct out o;

	out_init(&o, out, cap);
	put_time(&o, d, now_ms);
	put(&o, "??? the server sent a line of more than ");
	put_u(&o, max);
	put(&o, " bytes: dropped");
	return out_end(&o, d);
}

size_t
display_note(const struct display *d, const char *text, int64_t now_ms,
    char *out, size_t cap)
{
	struct out o;

	out_init(&o, out, cap);
	put_time(&o, d, now_ms);
	put(&o, "--- ");
	put_esc(&o, text, strlen(text));
	return out_end(&o, d);
}

size_t
display_history(const struct display *d, const struct chat_server_evt *ev,
    int64_t now_ms, char *out, size_t cap)
{
	struct out o;
	size_t n;

	out_init(&o, out, cap);
	put_sgr(&o, d, SGR_DIM);
	put(&o, "[history]");
	put_sgr(&o, d, SGR_RESET);
	put(&o, " ");
	if (o.full)
		return out_end(&o, d);
	n = display_event(d, ev, now_ms, out + o.len, cap - o.len);
	return n == 0 ? 0 : o.len + n;
}

size_t
display_part(const struct display *d, const struct chat_server_evt *ev,
    int64_t now_ms, char *out, size_t cap)
{
	struct out o;
	bool moved = ev->text.n == 5 && memcmp(ev->text.p, "moved", 5) == 0;

	if (ev->type != CHAT_EVT_PART || ev->detail.n == 0)
		return display_event(d, ev, now_ms, out, cap);
	out_init(&o, out, cap);
	put_time(&o, d, ev->unix_ms);
	put(&o, "<-- ");
	put_nick(&o, d, &ev->nick);
	if (moved) {
		put(&o, " left for ");
		put_room(&o, &ev->detail);
	} else {
		put(&o, " left (");
		put_str(&o, &ev->text);
		put(&o, ": ");
		put_str(&o, &ev->detail);
		put(&o, ")");
	}
	return out_end(&o, d);
}

size_t
display_crowd(const struct display *d, const struct chat_server_evt *ev,
    char *out, size_t cap)
{
	struct out o;
	struct chat_str room = { d->room, d->room ? strlen(d->room) : 0 };
	struct chat_str name;
	bool joins = ev->type == CHAT_EVT_JOINS;
	size_t pos = 0, shown = 0;

	out_init(&o, out, cap);
	put_time(&o, d, ev->unix_ms);
	put(&o, joins ? "--> " : "<-- ");
	if (ev->count == 1 && ev->listed == 1) {
		/* One: as a JOIN or PART would look. */
		(void)chat_who_next(ev, &pos, &name);
		put_nick(&o, d, &name);
	} else {
		put_u(&o, ev->count);
	}
	put(&o, joins ? " joined" : " left");
	if (joins && room.n > 0) {
		put(&o, " ");
		put_room(&o, &room);
	}
	if (ev->count == 1 && ev->listed == 1)
		return out_end(&o, d);
	/* At most DISPLAY_CROWD_NAMES names: the line stays one line. */
	while (shown < DISPLAY_CROWD_NAMES && chat_who_next(ev, &pos, &name)) {
		put(&o, shown == 0 ? ": " : ", ");
		put_nick(&o, d, &name);
		shown++;
	}
	if (shown > 0 && ev->count > shown) {
		put(&o, ", ... and ");
		put_u(&o, ev->count - shown);
		put(&o, " more");
	}
	return out_end(&o, d);
}

size_t
display_pending(const struct display *d, bool me, const char *text,
    size_t len, char *out, size_t cap)
{
	struct out o;

	out_init(&o, out, cap);
	put_sgr(&o, d, SGR_DIM);
	put(&o, me ? "--:-- * " : "--:-- <");
	put_esc(&o, d->self ? d->self : "", d->self ? strlen(d->self) : 0);
	put(&o, me ? " " : "> ");
	put_esc(&o, text, len);
	put(&o, " (sending)");
	put_sgr(&o, d, SGR_RESET);
	return out_end(&o, d);
}
