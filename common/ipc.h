/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Messages between echod's processes, after OpenBSD's imsg: every channel
 * (control plane and engine, engine and spares, the hub's door, member
 * links, the hub's config, the log channel) is an AF_UNIX SOCK_SEQPACKET
 * socket, and every packet on it is one message: a fixed header (type,
 * payload length) and the payload, with at most IPC_MAX_FDS descriptors.
 *
 * The receiver checks each message before anyone reads it: the header is
 * whole, the length it states is the length that came, nothing was cut,
 * no more descriptors came than allowed. A message that fails any check is
 * refused whole (its descriptors closed), so a garbled or hostile sender
 * can make its receiver drop it, never read past a buffer. What each type
 * carries is checked by its receiver with ipc_expect().
 *
 * Message types and payload structs live in one header per channel; this
 * module knows none of them. Helpers return -1 and leave errno; they never
 * log.
 */
#ifndef ECHOD_IPC_H
#define ECHOD_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* A door message carries two (the member's link, the client's socket). */
#define IPC_MAX_FDS 2

struct ipc_hdr {
	uint16_t type;
	uint16_t flags; /* 0; reserved */
	uint32_t len;   /* payload bytes after the header */
};
#define IPC_HDR_LEN sizeof(struct ipc_hdr)

struct ipc_msg {
	uint16_t type;
	size_t len;            /* payload bytes, in the caller's buffer */
	int fd[IPC_MAX_FDS];   /* -1 past nfds */
	unsigned nfds;
	pid_t pid;             /* sender, if the socket has SO_PASSCRED; else 0 */
	const char *bad;       /* EBADMSG: what was wrong ("an empty packet"...),
				  static, for the receiver's log; else NULL */
};

/* A connected pair, close-on-exec; nonblock applies to both ends. */
int ipc_pair(int fds[2], bool nonblock);

/*
 * Send one message: the header, then iovcnt pieces of payload (at most
 * 8), with nfds descriptors. flags go to sendmsg (MSG_DONTWAIT...;
 * MSG_NOSIGNAL is always added). 0, or -1 with errno (EAGAIN: no room,
 * EMSGSIZE: too big for the socket, EINVAL: too many pieces or fds).
 */
int ipc_sendv(int fd, uint16_t type, const struct iovec *iov, int iovcnt,
    const int *fds, unsigned nfds, int flags);
int ipc_send(int fd, uint16_t type, const void *data, size_t len,
    const int *fds, unsigned nfds, int flags);

/*
 * Send n messages of one type, payload[i] each, no descriptors, in one
 * system call (sendmmsg). Returns how many were sent (the first ones; 0 to
 * n), or -1 with errno if not even the first was.
 */
int ipc_send_many(int fd, uint16_t type, const struct iovec *payload,
    unsigned n, int flags);

/*
 * Receive one message; its payload goes to buf (cap bytes). Returns 1 with
 * *m filled (m->fd[] owned by the caller now), 0 at end of file (every
 * sender is gone), or -1 with errno: EAGAIN/EINTR as recvmsg, EBADMSG for
 * a message refused by the checks above (an empty packet included; m->bad
 * says which check), or another recvmsg error. On -1 no descriptor is left
 * open.
 */
int ipc_recv(int fd, void *buf, size_t cap, struct ipc_msg *m, int flags);

/*
 * What a receiver expects of a message: payload length in [min, max] and
 * exactly nfds descriptors. On false every descriptor it holds is closed.
 */
bool ipc_expect(struct ipc_msg *m, size_t min, size_t max, unsigned nfds);

/* Close whatever descriptors m still holds. */
void ipc_close_fds(struct ipc_msg *m);

#endif
