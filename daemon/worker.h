/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A worker serves exactly one connection and exits. It is forked either
 * with the connection in hand, or ahead of time as a "spare" that waits on
 * its channel for the engine to pass it one connection.
 * Either way it is a fresh process that never served anyone before.
 */
#ifndef ECHOD_WORKER_H
#define ECHOD_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/socket.h>

#include "addr.h"
#include "config.h"
#include "counters.h"

/*
 * The engine's channel to a spare: one message, SPARE_CONN, with a struct
 * handover and the connection's socket. Its end closing retires the spare.
 */
enum spare_msg { SPARE_CONN = 1 };

/* What the engine hands a spare with the connection's fd. */
struct handover {
	uint32_t slot;
	uint32_t peerlen;
	int64_t accepted_usec;
	struct sockaddr_storage peer;
	uint32_t proxied; /* from a proxy_trusted address: a PROXY header
			     comes first (proxyhdr.h) */
};

struct worker_ctx {
	int fd;
	uint32_t slot;
	int door; /* hub door for chat members, -1 if chat is off */
	int report; /* PROXY report channel (proxyhdr.h), -1 if none */
	bool proxied;
	int64_t accepted_usec;
	socklen_t peerlen;
	struct sockaddr_storage peer; /* the client's: a proxied one's once
					 its header is read */
};

/* One session's facts, filled by echo/chat and logged at close. */
struct session {
	const struct config *cfg;
	struct counters *ctr;
	struct worker_ctx *w;
	const char *proto;      /* "echo" or "chat" */
	const char *reason;     /* why it ended: eof, idle, reset, ... */
	uint64_t bytes_in, bytes_out;
	bool bytes_live; /* kept current in the slot as they go (chat: the
			    hub adds bytes_out there too): not stored at end */
	char nick[33], room[33]; /* chat only, for the close log line */
};

/* Set by the SIGTERM handler: finish the session and leave. */
extern volatile sig_atomic_t worker_terminate;

/*
 * In a freshly forked child: default signal handling, SIGTERM sets
 * worker_terminate and interrupts blocking calls, nothing blocked.
 */
void worker_child_init(void);
/* Name this process "echod-<role>" (comm) and tag its log entries. */
void worker_set_role(const char *role);

noreturn void worker_run(const struct config *cfg, struct counters *ctr,
    struct worker_ctx *w);

/* A worker's context from the engine's handover (peerlen bounded);
 * report: the PROXY report channel or -1. */
void worker_ctx_init(struct worker_ctx *w, const struct handover *h, int fd,
    int door, int report);

/* A spare: wait on chan for one connection, then worker_run(). */
noreturn void worker_spare(const struct config *cfg, struct counters *ctr,
    int chan, int door, int report);

/* Sessions (echo.c, chat.c). pre: bytes already read from the client. */
void echo_session(struct session *s, const char *pre, size_t npre);
void chat_session(struct session *s, const char *pre, size_t npre);

/* Shared by sessions: the 128 KiB I/O buffer of this worker. */
#define WORKER_BUFSZ (128 * 1024)
extern char worker_buf[WORKER_BUFSZ];

#endif
