/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Line assembly over a caller-supplied buffer. See linebuf.h.
 *
 * Invariants: start <= scanned <= len <= cap. Bytes before start belong
 * to lines already returned and are reclaimed only by lb_space() and
 * lb_append(), so lines returned by lb_next() stay put until then. Bytes
 * between start and scanned were searched for LF already and are never
 * searched again.
 */
#include <string.h>

#include "linebuf.h"

int
lb_init(struct linebuf *lb, char *storage, size_t cap, size_t max_line)
{
	memset(lb, 0, sizeof(*lb));
	if (storage == NULL || max_line > (size_t)-1 - 2 ||
	    cap < LB_MIN_CAP(max_line))
		return -1;
	lb->buf = storage;
	lb->cap = cap;
	lb->max_line = max_line;
	return 0;
}

void
lb_reset(struct linebuf *lb)
{
	lb->len = lb->start = lb->scanned = 0;
	lb->discard = false;
}

/* Reclaim the bytes of lines already returned. */
static void
lb_compact(struct linebuf *lb)
{
	if (lb->start == 0)
		return;
	memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
	lb->len -= lb->start;
	lb->scanned -= lb->start;
	lb->start = 0;
}

char *
lb_space(struct linebuf *lb, size_t *avail)
{
	lb_compact(lb);
	*avail = lb->cap - lb->len;
	return lb->buf + lb->len;
}

void
lb_commit(struct linebuf *lb, size_t n)
{
	if (n > lb->cap - lb->len)
		n = lb->cap - lb->len;
	lb->len += n;
}

size_t
lb_append(struct linebuf *lb, const void *data, size_t n)
{
	size_t avail;
	char *p;

	p = lb_space(lb, &avail);
	if (n > avail)
		n = avail;
	memcpy(p, data, n);
	lb->len += n;
	return n;
}

/*
 * An incomplete line of n bytes is already too long once it has more than
 * max_line bytes, unless byte max_line + 1 is a CR that a following LF
 * would strip.
 */
static bool
lb_overflowed(const struct linebuf *lb, size_t n)
{
	if (n <= lb->max_line)
		return false;
	if (n == lb->max_line + 1 && lb->buf[lb->start + lb->max_line] == '\r')
		return false;
	return true;
}

enum lb_status
lb_next(struct linebuf *lb, const char **line, size_t *len)
{
	const char *lf;
	size_t begin, end, n;

	/*
	 * At most two rounds: a discarded line's end, then one event. Every
	 * round either returns or moves start past an LF.
	 */
	for (;;) {
		if (lb->start == lb->len) {
			/* Nothing buffered: start over at the front. */
			lb->len = lb->start = lb->scanned = 0;
			return LB_NONE;
		}
		lf = memchr(lb->buf + lb->scanned, '\n', lb->len - lb->scanned);
		if (lb->discard) {
			if (lf == NULL) {
				lb->len = lb->start = lb->scanned = 0;
				return LB_NONE;
			}
			lb->start = lb->scanned = (size_t)(lf - lb->buf) + 1;
			lb->discard = false;
			continue;
		}
		if (lf == NULL) {
			lb->scanned = lb->len;
			if (!lb_overflowed(lb, lb->len - lb->start))
				return LB_NONE;
			/* Report now; drop this and the rest of it. */
			lb->len = lb->start = lb->scanned = 0;
			lb->discard = true;
			return LB_TOO_LONG;
		}
		begin = lb->start;
		end = (size_t)(lf - lb->buf);
		n = end - begin;
		if (n > 0 && lb->buf[end - 1] == '\r')
			n--;
		lb->start = lb->scanned = end + 1;
		if (n > lb->max_line)
			return LB_TOO_LONG;
		/* Overwrites the CR or LF: the line is also a C string. */
		lb->buf[begin + n] = '\0';
		*line = lb->buf + begin;
		*len = n;
		return LB_LINE;
	}
}

size_t
lb_pending(const struct linebuf *lb)
{
	return lb->discard ? 0 : lb->len - lb->start;
}
