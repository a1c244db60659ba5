/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Echo (RFC 862 over TCP, PROTOCOL.md section 2): every byte back,
 * unchanged, in order, until the client closes or goes idle.
 *
 * Blocking I/O on purpose: one read and one write per chunk is the least a
 * round trip can cost, and a client that sends without reading is held
 * back by TCP flow control (our write blocks, so we stop reading), never by
 * buffering here. SO_RCVTIMEO/SO_SNDTIMEO implement idle_timeout; SIGTERM
 * interrupts a blocked call (no SA_RESTART) and we finish gracefully.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"
#include "worker.h"

/* How long a finishing worker waits for the client's own FIN. */
#define LINGER_MSEC 1000

static void
set_timeouts(int fd, unsigned seconds)
{
	struct timeval tv = { .tv_sec = seconds };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Write all of buf. EINTR (SIGTERM) does not stop us: bytes we read are
 * owed to the client. Returns 0 or a close reason.
 */
static const char *
echo_write(struct session *s, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = send(s->w->fd, buf, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return "send-timeout";
			return errno == EPIPE || errno == ECONNRESET ? "reset" :
								      "error";
		}
		buf += w;
		n -= (size_t)w;
		s->bytes_out += (uint64_t)w;
		atomic_fetch_add_explicit(&s->ctr->bytes_echoed, (uint64_t)w,
		    memory_order_relaxed);
		/* Kept current: a worker killed now still gets a true log. */
		atomic_store_explicit(&s->ctr->slot[s->w->slot].bytes_in,
		    s->bytes_in, memory_order_relaxed);
		atomic_store_explicit(&s->ctr->slot[s->w->slot].bytes_out,
		    s->bytes_out, memory_order_relaxed);
	}
	return NULL;
}

/*
 * SIGTERM: echo what has already arrived, send FIN, give the client a
 * moment to close its side, and leave. Bytes the client sends after our
 * FIN cannot be echoed; the client learns the session ended from the EOF.
 */
static void
echo_finish(struct session *s)
{
	int fd = s->w->fd;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int64_t deadline = now_mono_usec() + LINGER_MSEC * 1000;

	s->reason = "shutdown";
	fd_set_nonblock(fd, true);
	for (;;) {
		ssize_t r = recv(fd, worker_buf, WORKER_BUFSZ, 0);

		if (r <= 0)
			break;
		s->bytes_in += (uint64_t)r;
		fd_set_nonblock(fd, false);
		if (echo_write(s, worker_buf, (size_t)r) != NULL)
			return;
		fd_set_nonblock(fd, true);
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		int64_t left = deadline - now_mono_usec();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)(left / 1000) + 1) <= 0)
			break;
		r = recv(fd, worker_buf, WORKER_BUFSZ, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (r > 0)
			s->bytes_in += (uint64_t)r; /* counted, not echoed */
	}
}

void
echo_session(struct session *s, const char *pre, size_t npre)
{
	int fd = s->w->fd;
	int one = 1;

	s->proto = "echo";
	atomic_store_explicit(&s->ctr->slot[s->w->slot].kind, SLOT_ECHO,
	    memory_order_relaxed);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_timeouts(fd, s->cfg->idle_timeout);
	if (npre > 0) {
		s->bytes_in += npre;
		if ((s->reason = echo_write(s, pre, npre)) != NULL)
			return;
	}
	for (;;) {
		ssize_t r;

		if (worker_terminate) {
			echo_finish(s);
			return;
		}
		r = recv(fd, worker_buf, WORKER_BUFSZ, 0);
		if (r > 0) {
			s->bytes_in += (uint64_t)r;
			if ((s->reason = echo_write(s, worker_buf, (size_t)r)) !=
			    NULL)
				return;
			continue;
		}
		if (r == 0) {
			s->reason = "eof";
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->reason = "idle";
		else if (errno == ECONNRESET)
			s->reason = "reset";
		else
			s->reason = "error";
		return;
	}
}
