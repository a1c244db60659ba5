/* SPDX-License-Identifier: GPL-3.0-or-later */
/* chatctl talk's send queue (see outbox.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatproto.h"
#include "outbox.h"
#include "split.h"

int
outbox_init(struct outbox *o)
{
	static const struct outbox_limits none = { -1, -1, -1, -1, -1 };

	memset(o, 0, sizeof(*o));
	o->e = calloc(OUTBOX_MAX_LINES, sizeof(o->e[0]));
	if (o->e == NULL)
		return -1;
	outbox_set_limits(o, &none);
	o->tok_l = o->burst_l;
	o->tok_b = o->burst_b;
	return 0;
}

void
outbox_free(struct outbox *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->e[i].text);
	free(o->e);
	o->e = NULL;
	o->n = o->bytes = 0;
}

/* Half the server's rate (0: off, so unpaced), our default if unknown. */
static double
half(int64_t server, int64_t dflt)
{
	if (server < 0)
		return (double)dflt;
	return (double)server / 2;
}

/* Half the server's burst, at most ours; at least one line's worth. */
static double
burst(int64_t server, int64_t ours)
{
	double b = server < 0 ? (double)ours : (double)server / 2;

	if (b > (double)ours)
		b = (double)ours;
	return b < 1 ? 1 : b;
}

void
outbox_set_limits(struct outbox *o, const struct outbox_limits *l)
{
	/* The shortest MSG line is "MSG x": below that nothing could go. */
	o->max_line = l->max_line >= 8 && l->max_line <= 1 << 20 ?
	    (size_t)l->max_line :
	    CHAT_MAX_LINE_DEFAULT;
	o->lines_s = half(l->rate_lines, OUTBOX_DEFAULT_LINES);
	o->bytes_s = half(l->rate_bytes, OUTBOX_DEFAULT_BYTES);
	o->burst_l = burst(l->burst_lines, OUTBOX_BURST_LINES);
	o->burst_b = burst(l->burst_bytes, OUTBOX_BURST_BYTES);
	if (o->tok_l > o->burst_l)
		o->tok_l = o->burst_l;
	if (o->tok_b > o->burst_b)
		o->tok_b = o->burst_b;
}

bool
outbox_has_room(const struct outbox *o, size_t len)
{
	/* A piece per max_line/4 bytes at worst (4-byte characters). */
	size_t pieces = len / (o->max_line / 4 > 0 ? o->max_line / 4 : 1) + 1;

	return o->n + pieces <= OUTBOX_MAX_LINES &&
	    o->bytes + len <= OUTBOX_MAX_BYTES;
}

static bool
push(struct outbox *o, enum outbox_kind kind, const char *text, size_t len,
    bool now)
{
	struct outbox_entry *e = &o->e[o->n];

	e->text = malloc(len + 1);
	if (e->text == NULL)
		return false;
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	e->kind = kind;
	e->sent = false;
	e->now = now;
	o->n++;
	o->bytes += len;
	return true;
}

int
outbox_add(struct outbox *o, enum outbox_kind kind, const char *text,
    size_t len, bool typed)
{
	size_t max, off = 0, piece, next, first = o->n;
	bool alone = typed && !outbox_unsent(o);
	int added = 0;

	if (len == 0 || !outbox_has_room(o, len))
		return -1;
	if (kind == OUTBOX_OTHER)
		return push(o, kind, text, len, alone) ? 1 : -1;
	/* "MSG " or "ME " and the text within max_line (LF not counted). */
	max = o->max_line - (kind == OUTBOX_MSG ? 4 : 3);
	/* Each piece takes at least one character: at most len pieces. */
	while (off < len && o->n < OUTBOX_MAX_LINES) {
		piece = split_next(text + off, len - off, max, &next);
		if (piece == 0)
			break;
		if (!push(o, kind, text + off, piece, false))
			goto undo;
		off += next;
		added++;
	}
	if (off < len)
		goto undo;
	if (alone && added == 1)
		o->e[first].now = true;
	return added;
undo:
	while (o->n > first) {
		o->n--;
		o->bytes -= o->e[o->n].len;
		free(o->e[o->n].text);
	}
	return -1;
}

static void
refill(struct outbox *o, int64_t now_us)
{
	double dt =
	    now_us > o->last_us ? (double)(now_us - o->last_us) / 1e6 : 0;

	o->last_us = now_us;
	o->tok_l += dt * o->lines_s;
	o->tok_b += dt * o->bytes_s;
	if (o->tok_l > o->burst_l || o->lines_s == 0)
		o->tok_l = o->burst_l;
	if (o->tok_b > o->burst_b || o->bytes_s == 0)
		o->tok_b = o->burst_b;
}

/* Microseconds until have >= need at rate per second (0: now). */
static int64_t
wait_for(double have, double need, double rate)
{
	if (have >= need || rate <= 0)
		return 0;
	return (int64_t)((need - have) / rate * 1e6) + 1;
}

static int
format(const struct outbox_entry *e, char *wire, size_t cap)
{
	if (e->kind == OUTBOX_MSG)
		return chat_fmt_cmd_msg(wire, cap, e->text, e->len);
	if (e->kind == OUTBOX_ME)
		return chat_fmt_cmd_me(wire, cap, e->text, e->len);
	if (e->len + 1 > cap)
		return -1;
	memcpy(wire, e->text, e->len);
	wire[e->len] = '\0';
	return (int)e->len;
}

static void
remove_at(struct outbox *o, size_t i)
{
	o->bytes -= o->e[i].len;
	free(o->e[i].text);
	memmove(&o->e[i], &o->e[i + 1], (o->n - i - 1) * sizeof(o->e[0]));
	o->n--;
}

int
outbox_next(struct outbox *o, int64_t now_us, char *wire, size_t cap,
    int64_t *wake_us)
{
	size_t i;
	int n;
	double need_b;
	int64_t wl, wb;

	*wake_us = -1;
	for (i = 0; i < o->n && o->e[i].sent; i++)
		;
	if (i == o->n)
		return 0;
	n = format(&o->e[i], wire, cap);
	if (n < 0) {
		remove_at(o, i); /* cannot be sent: never blocks the rest */
		return outbox_next(o, now_us, wire, cap, wake_us);
	}
	refill(o, now_us);
	/* A line longer than the byte burst waits for a full bucket. */
	need_b = (double)n < o->burst_b ? (double)n : o->burst_b;
	if (!o->e[i].now) {
		wl = wait_for(o->tok_l, 1, o->lines_s);
		wb = wait_for(o->tok_b, need_b, o->bytes_s);
		if (wl > 0 || wb > 0) {
			*wake_us = now_us + (wl > wb ? wl : wb);
			return 0;
		}
	}
	/* A line sent at once may put us in debt, at most one burst. */
	o->tok_l -= 1;
	o->tok_b -= (double)n;
	if (o->tok_l < -o->burst_l)
		o->tok_l = -o->burst_l;
	if (o->tok_b < -o->burst_b)
		o->tok_b = -o->burst_b;
	if (o->e[i].kind == OUTBOX_OTHER)
		remove_at(o, i);
	else
		o->e[i].sent = true;
	return n;
}

bool
outbox_confirm(struct outbox *o, enum outbox_kind kind, const char *text,
    size_t len)
{
	for (size_t i = 0; i < o->n && o->e[i].sent; i++) {
		if (o->e[i].kind == kind && o->e[i].len == len &&
		    memcmp(o->e[i].text, text, len) == 0) {
			remove_at(o, i);
			return true;
		}
	}
	return false;
}

bool
outbox_refused(struct outbox *o)
{
	if (o->n == 0 || !o->e[0].sent)
		return false;
	remove_at(o, 0);
	return true;
}

void
outbox_unsend(struct outbox *o)
{
	for (size_t i = 0; i < o->n; i++) {
		o->e[i].sent = false;
		o->e[i].now = false;
	}
}

size_t
outbox_count(const struct outbox *o)
{
	return o->n;
}

bool
outbox_unsent(const struct outbox *o)
{
	return o->n > 0 && !o->e[o->n - 1].sent;
}

const struct outbox_entry *
outbox_at(const struct outbox *o, size_t i)
{
	return i < o->n ? &o->e[i] : NULL;
}
