/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "remain.h"

#include <stdlib.h>
#include <string.h>

int
remain_keep(struct remain *r, const char *p, size_t n, size_t sent)
{
	remain_clear(r);
	if (sent > 0)
		r->midline = p[sent - 1] != '\n';
	if (sent >= n)
		return 0;
	if ((r->buf = malloc(n - sent)) == NULL)
		return -1;
	memcpy(r->buf, p + sent, n - sent);
	r->len = n - sent;
	return 0;
}

void
remain_sent(struct remain *r, size_t w)
{
	if (w > remain_left(r))
		w = remain_left(r);
	if (w == 0)
		return;
	r->off += w;
	r->midline = r->buf[r->off - 1] != '\n';
	if (r->off == r->len) {
		bool midline = r->midline;

		remain_clear(r);
		r->midline = midline;
	}
}

void
remain_clear(struct remain *r)
{
	free(r->buf);
	r->buf = NULL;
	r->off = r->len = 0;
	r->midline = false;
}
