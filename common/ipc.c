/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One message per SOCK_SEQPACKET packet, checked on receipt (ipc.h).
 */
#include "ipc.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IPC_MAX_IOV 8

/* Room for IPC_MAX_FDS + 1 descriptors (one too many is detected, not
 * cut) and the sender's credentials. */
union ipc_cmsg {
	struct cmsghdr hdr;
	char buf[CMSG_SPACE((IPC_MAX_FDS + 1) * sizeof(int)) +
	    CMSG_SPACE(sizeof(struct ucred))];
};

int
ipc_pair(int fds[2], bool nonblock)
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0, fds);
}

int
ipc_sendv(int fd, uint16_t type, const struct iovec *iov, int iovcnt,
    const int *fds, unsigned nfds, int flags)
{
	struct ipc_hdr h = { .type = type };
	struct iovec v[1 + IPC_MAX_IOV];
	union ipc_cmsg cm;
	struct msghdr msg = { .msg_iov = v };
	size_t len = 0;
	ssize_t r;

	if (iovcnt < 0 || iovcnt > IPC_MAX_IOV || nfds > IPC_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		v[1 + i] = iov[i];
		len += iov[i].iov_len;
	}
	if (len > UINT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	h.len = (uint32_t)len;
	v[0] = (struct iovec){ &h, sizeof(h) };
	msg.msg_iovlen = (size_t)iovcnt + 1;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do {
		r = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR && !(flags & MSG_DONTWAIT));
	if (r < 0) {
		if (errno == EWOULDBLOCK)
			errno = EAGAIN;
		return -1;
	}
	/* SEQPACKET sends whole packets or nothing. */
	return 0;
}

int
ipc_send(int fd, uint16_t type, const void *data, size_t len,
    const int *fds, unsigned nfds, int flags)
{
	struct iovec v = { (void *)(uintptr_t)data, len };

	return ipc_sendv(fd, type, &v, len > 0 ? 1 : 0, fds, nfds, flags);
}

#define IPC_MANY_MAX 16 /* messages per sendmmsg call: a shallow stack */

int
ipc_send_many(int fd, uint16_t type, const struct iovec *payload,
    unsigned n, int flags)
{
	struct ipc_hdr h[IPC_MANY_MAX];
	struct iovec v[IPC_MANY_MAX][2];
	struct mmsghdr mm[IPC_MANY_MAX];
	unsigned done = 0;

	/* Bounded: IPC_MANY_MAX messages a call, n in all. */
	while (done < n) {
		unsigned k = n - done < IPC_MANY_MAX ? n - done : IPC_MANY_MAX;
		int r;

		for (unsigned i = 0; i < k; i++) {
			const struct iovec *p = &payload[done + i];

			if (p->iov_len > UINT32_MAX) {
				errno = EMSGSIZE;
				return done > 0 ? (int)done : -1;
			}
			h[i] = (struct ipc_hdr){ .type = type,
				.len = (uint32_t)p->iov_len };
			v[i][0] = (struct iovec){ &h[i], sizeof(h[i]) };
			v[i][1] = *p;
			mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = v[i],
				.msg_iovlen = 2 } };
		}
		do {
			r = sendmmsg(fd, mm, k, flags | MSG_NOSIGNAL);
		} while (r < 0 && errno == EINTR && !(flags & MSG_DONTWAIT));
		if (r < 0) {
			if (errno == EWOULDBLOCK)
				errno = EAGAIN;
			return done > 0 ? (int)done : -1;
		}
		done += (unsigned)r;
		if ((unsigned)r < k)
			break;
	}
	return (int)done;
}

void
ipc_close_fds(struct ipc_msg *m)
{
	for (unsigned i = 0; i < m->nfds && i < IPC_MAX_FDS; i++)
		if (m->fd[i] != -1)
			close(m->fd[i]);
	for (unsigned i = 0; i < IPC_MAX_FDS; i++)
		m->fd[i] = -1;
	m->nfds = 0;
}

bool
ipc_expect(struct ipc_msg *m, size_t min, size_t max, unsigned nfds)
{
	if (m->len >= min && m->len <= max && m->nfds == nfds)
		return true;
	ipc_close_fds(m);
	return false;
}

/*
 * A zero-byte read on SEQPACKET is either the end (the peer closed) or an
 * empty packet, which no sender of ours makes: ask poll which.
 */
static bool
at_eof(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

/* Take every descriptor that came; one more than allowed marks it bad. */
static bool
take_fds(struct msghdr *msg, struct ipc_msg *m)
{
	bool ok = true;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
	     c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			m->pid = uc.pid;
			continue;
		}
		if (c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t k = 0; k < n; k++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + k * sizeof(int), sizeof(f));
			if (m->nfds < IPC_MAX_FDS) {
				m->fd[m->nfds++] = f;
			} else {
				close(f);
				ok = false;
			}
		}
	}
	return ok;
}

/* What is wrong with a packet of r bytes, header h; NULL: nothing. */
static const char *
bad_reason(bool fds_ok, int flags, size_t r, const struct ipc_hdr *h)
{
	if (!fds_ok)
		return "a packet with too many descriptors";
	if (flags & MSG_CTRUNC)
		return "a packet whose descriptors were cut";
	if (flags & MSG_TRUNC)
		return "a packet longer than its receiver takes";
	if (r == 0)
		return "an empty packet";
	if (r < sizeof(*h))
		return "a packet shorter than a header";
	if (h->flags != 0)
		return "a packet with reserved flags set";
	if (r - sizeof(*h) != h->len)
		return "a packet whose length is not the one it states";
	return NULL;
}

int
ipc_recv(int fd, void *buf, size_t cap, struct ipc_msg *m, int flags)
{
	struct ipc_hdr h;
	struct iovec v[2] = { { &h, sizeof(h) }, { buf, cap } };
	union ipc_cmsg cm;
	struct msghdr msg = { .msg_iov = v, .msg_iovlen = 2,
		.msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	bool fds_ok;
	ssize_t r;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < IPC_MAX_FDS; i++)
		m->fd[i] = -1;
	r = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (r < 0) {
		if (errno == EWOULDBLOCK)
			errno = EAGAIN;
		return -1;
	}
	fds_ok = take_fds(&msg, m);
	if (r == 0 && m->nfds == 0 && at_eof(fd))
		return 0;
	m->bad = bad_reason(fds_ok, msg.msg_flags, (size_t)r, &h);
	if (m->bad != NULL) {
		ipc_close_fds(m);
		errno = EBADMSG;
		return -1;
	}
	m->type = h.type;
	m->len = h.len;
	return 1;
}
