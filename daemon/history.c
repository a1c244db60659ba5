/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Room history: the bounds and the replay rule of history.h.
 */
#include "history.h"

#include <stdlib.h>
#include <string.h>

/* The header and malloc's own (16 bytes on glibc) within the overhead. */
_Static_assert(sizeof(struct history_line) + 16 <= HISTORY_LINE_OVERHEAD,
    "HISTORY_LINE_OVERHEAD does not cover a line's header");

void
history_init(struct history *h)
{
	memset(h, 0, sizeof(*h));
}

void
history_room_init(struct history_room *hr, int64_t start_id)
{
	memset(hr, 0, sizeof(*hr));
	hr->start_id = start_id;
}

static size_t
line_cost(size_t len)
{
	return len + HISTORY_LINE_OVERHEAD;
}

/* Take the oldest line of its room out of everything and free it. */
static void
drop_first(struct history *h, struct history_room *hr)
{
	struct history_line *l = hr->first;

	hr->first = l->rnext;
	if (hr->first == NULL)
		hr->last = NULL;
	hr->nlines--;
	hr->nbytes -= l->len;
	if (l->id > hr->lost_id)
		hr->lost_id = l->id;
	if (l->gprev != NULL)
		l->gprev->gnext = l->gnext;
	else
		h->oldest = l->gnext;
	if (l->gnext != NULL)
		l->gnext->gprev = l->gprev;
	else
		h->newest = l->gprev;
	h->total -= line_cost(l->len);
	h->nlines--;
	free(l);
}

void
history_room_free(struct history *h, struct history_room *hr)
{
	/* Bounded by the room's lines. */
	while (hr->first != NULL)
		drop_first(h, hr);
}

static void
lose(struct history_room *hr, int64_t id)
{
	if (id > hr->lost_id)
		hr->lost_id = id;
}

int
history_append(struct history *h, struct history_room *hr,
    const struct history_limits *lim, int64_t id, const char *line,
    size_t len)
{
	struct history_line *l;
	bool keep = lim->lines > 0 && len <= lim->bytes && len <= UINT32_MAX &&
	    line_cost(len) <= lim->total;
	size_t need = keep ? len : 0, cost = keep ? line_cost(len) : 0;

	/*
	 * Within the bounds in force (a reload may have lowered them), with
	 * room for the line if it is kept. Each turn drops one stored line:
	 * bounded by the lines stored.
	 */
	while (hr->first != NULL && (hr->nlines + keep > lim->lines ||
		hr->nbytes + need > lim->bytes))
		drop_first(h, hr);
	while (h->oldest != NULL && h->total + cost > lim->total)
		drop_first(h, h->oldest->room);
	if (!keep) {
		lose(hr, id);
		return 0;
	}
	if ((l = malloc(sizeof(*l) + len)) == NULL) {
		lose(hr, id);
		return -1;
	}
	l->rnext = NULL;
	l->room = hr;
	l->id = id;
	l->len = (uint32_t)len;
	memcpy(l->text, line, len);
	if (hr->last != NULL)
		hr->last->rnext = l;
	else
		hr->first = l;
	hr->last = l;
	hr->nlines++;
	hr->nbytes += len;
	l->gnext = NULL;
	l->gprev = h->newest;
	if (h->newest != NULL)
		h->newest->gnext = l;
	else
		h->oldest = l;
	h->newest = l;
	h->total += line_cost(len);
	h->nlines++;
	return 0;
}

void
history_select(const struct history_room *hr, int32_t last, int64_t since,
    uint32_t max, struct history_replay *out)
{
	const struct history_line *l = hr->first;
	uint32_t n = hr->nlines, want;

	memset(out, 0, sizeof(*out));
	if (since < 0)
		since = 0;
	/* Skip what is not after since: bounded by the room's lines. */
	while (l != NULL && l->id <= since) {
		l = l->rnext;
		n--;
	}
	want = n;
	if (last >= 0 && want > (uint32_t)last)
		want = (uint32_t)last;
	if (want > max) {
		want = max;
		out->gap = since > 0; /* lines after since left out */
	}
	while (n > want) {
		l = l->rnext;
		n--;
	}
	out->first = want > 0 ? l : NULL;
	out->count = want;
	if (since > 0 && (since < hr->start_id || hr->lost_id > since))
		out->gap = true;
}
