/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A crowded room's gathered notices (see crowd.h). */
#include <string.h>

#include "crowd.h"

void
crowd_reset(struct crowd *c, uint64_t batch)
{
	c->joins.count = c->parts.count = 0;
	c->joins.len = c->parts.len = 0;
	c->batch = batch;
}

bool
crowd_pending(const struct crowd *c)
{
	return c->joins.count > 0 || c->parts.count > 0;
}

/* Append nick if it fits; the count grows either way. */
static void
list_add(struct crowd_list *l, const char *nick)
{
	size_t n = strlen(nick), need = n + (l->len > 0 ? 1 : 0);

	l->count++;
	if (n == 0 || need > sizeof(l->names) - l->len)
		return;
	if (l->len > 0)
		l->names[l->len++] = ' ';
	memcpy(l->names + l->len, nick, n);
	l->len += n;
}

/* Take nick off the list; false if it is not listed. */
static bool
list_del(struct crowd_list *l, const char *nick)
{
	size_t n = strlen(nick), pos = 0, end;

	/* One name per step, each at least one byte: bounded by len. */
	while (pos < l->len) {
		const char *sp = memchr(l->names + pos, ' ', l->len - pos);

		end = sp != NULL ? (size_t)(sp - l->names) : l->len;
		if (end - pos == n && memcmp(l->names + pos, nick, n) == 0) {
			/* With the space after it, or before it if last. */
			if (end < l->len)
				end++;
			else if (pos > 0)
				pos--;
			memmove(l->names + pos, l->names + end, l->len - end);
			l->len -= end - pos;
			l->count--;
			return true;
		}
		pos = end + 1;
	}
	return false;
}

uint64_t
crowd_join(struct crowd *c, const char *nick)
{
	if (list_del(&c->parts, nick))
		return 0;
	list_add(&c->joins, nick);
	return c->batch;
}

void
crowd_part(struct crowd *c, const char *nick, uint64_t mark)
{
	if (mark != 0 && mark == c->batch && c->joins.count > 0) {
		/* Came this interval: listed or, past the list, counted. */
		if (!list_del(&c->joins, nick))
			c->joins.count--;
		return;
	}
	list_add(&c->parts, nick);
}
