/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The worker's side of the PROXY protocol (proxyhdr.h). */
#include "proxyhdr.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "proxyproto.h"
#include "util.h"

/* Tell the engine; fd: the reply socket for REAL, else -1. */
static int
report(struct session *s, enum proxy_msg type,
    const struct proxyproto_hdr *h, const char *why, int fd)
{
	struct proxy_report r = { .slot = s->w->slot };

	if (h != NULL) {
		r.peerlen = h->srclen;
		memcpy(&r.peer, &h->src, sizeof(r.peer));
	}
	if (why != NULL)
		snprintf(r.why, sizeof(r.why), "%s", why);
	/* Blocking, under the channel's SO_SNDTIMEO (engine.c). */
	return ipc_send(s->w->report, (uint16_t)type, &r, sizeof(r),
	    fd == -1 ? NULL : &fd, fd == -1 ? 0 : 1, 0);
}

/*
 * Read until the parser decides, at most PROXYPROTO_MAX bytes (so bytes
 * after the header are at most that many, kept for the session) and until
 * PROXY_HEADER_TIMEOUT_MS after accept. The result, or INVALID with why.
 */
static enum proxyproto_result
read_header(struct session *s, struct proxyproto_hdr *h, size_t *n,
    const char **why)
{
	int64_t deadline = s->w->accepted_usec +
	    (int64_t)PROXY_HEADER_TIMEOUT_MS * 1000;
	struct pollfd pfd = { .fd = s->w->fd, .events = POLLIN };

	*n = 0;
	/* Bounded: each turn reads a byte or more of at most 536, or ends. */
	for (;;) {
		int64_t left = deadline - now_mono_usec();
		enum proxyproto_result r;
		ssize_t got;
		int p;

		if (left <= 0) {
			*why = *n == 0 ? "no PROXY header in 3 s" :
					 "PROXY header not complete in 3 s";
			return PROXYPROTO_INVALID;
		}
		p = poll(&pfd, 1, (int)((left + 999) / 1000));
		if (p < 0 && errno == EINTR && worker_terminate) {
			*why = NULL;
			return PROXYPROTO_INVALID;
		}
		if (p <= 0)
			continue;
		got = recv(s->w->fd, worker_buf + *n, PROXYPROTO_MAX - *n,
		    MSG_DONTWAIT);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0) {
			*why = got == 0 ? "connection closed before the end "
					  "of its PROXY header" :
					  "connection reset during its PROXY "
					  "header";
			return PROXYPROTO_INVALID;
		}
		*n += (size_t)got;
		r = proxyproto_parse(worker_buf, *n, h);
		if (r == PROXYPROTO_INVALID)
			*why = h->why;
		if (r != PROXYPROTO_NEED_MORE)
			return r;
	}
}

/* REAL reported: wait for OK or REFUSED on the reply socket. */
static bool
verdict(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct ipc_msg m;
	char none[1];

	if (poll(&pfd, 1, PROXY_VERDICT_TIMEOUT_MS) != 1 ||
	    ipc_recv(fd, none, sizeof(none), &m, MSG_DONTWAIT) != 1) {
		return false;
	}
	ipc_close_fds(&m);
	return m.type == PROXY_OK;
}

static int
accept_client(struct session *s, const struct proxyproto_hdr *h, size_t n,
    size_t *npre)
{
	int rp[2];
	bool ok;

	if (ipc_pair(rp, false) == -1) {
		s->reason = "proxy-error";
		return -1;
	}
	if (report(s, PROXY_REAL, h, NULL, rp[1]) == -1) {
		close(rp[0]);
		close(rp[1]);
		s->reason = "proxy-error";
		return -1;
	}
	close(rp[1]);
	ok = verdict(rp[0]);
	close(rp[0]);
	if (!ok) {
		s->reason = "refused";
		return -1;
	}
	s->w->peerlen = h->srclen;
	memcpy(&s->w->peer, &h->src, sizeof(s->w->peer));
	*npre = n - h->len;
	memmove(worker_buf, worker_buf + h->len, *npre);
	return 0;
}

int
proxyhdr_accept(struct session *s, size_t *npre)
{
	struct proxyproto_hdr h;
	const char *why = NULL;
	size_t n;
	int ret = -1;

	*npre = 0;
	switch (read_header(s, &h, &n, &why)) {
	case PROXYPROTO_DONE:
		if (h.cmd == PROXYPROTO_PROXY) {
			ret = accept_client(s, &h, n, npre);
			break;
		}
		(void)report(s, PROXY_LOCAL, NULL, NULL, -1);
		s->reason = "proxy-local";
		break;
	case PROXYPROTO_INVALID:
		if (why == NULL) {
			s->reason = "shutdown";
			break;
		}
		(void)report(s, PROXY_BAD, NULL, why, -1);
		s->reason = "proxy-bad";
		break;
	case PROXYPROTO_NEED_MORE:
		break; /* read_header never returns it */
	}
	close(s->w->report);
	s->w->report = -1;
	return ret;
}
