/*
 * The packets between a chat worker (chat.c) and the hub (hub.c).
 *
 * Each chat member has its own link: a socketpair(SOCK_SEQPACKET) the
 * worker makes at its first greeting. The worker passes one end to the hub
 * through the door (SCM_RIGHTS, with a struct link_door) and keeps the
 * other. SEQPACKET keeps packet boundaries, so a packet is simply one type
 * byte followed by its payload; nothing else frames it.
 *
 * Worker to hub: what the client asked for, already validated by the
 * worker (UTF-8, names, length) and with text already sanitized; the hub
 * still length-checks and re-validates every packet before using it.
 *
 * Hub to worker: whole server lines, LF-terminated, ready to go to the
 * client unchanged. The type tells the worker what the line means to it.
 * Every HELLO, NICK, JOIN, WHO and PING gets exactly one answer (LINK_OK,
 * LINK_ERR or LINK_REPLY): the worker waits for it before the client's
 * next line, so answers reach the client in the order of its lines.
 */
#ifndef ECHOD_CHATLINK_H
#define ECHOD_CHATLINK_H

#include <stdint.h>
#include <sys/socket.h>

#include "chatproto.h"

enum link_type {
	/* worker -> hub */
	LINK_HELLO = 1, /* "<nick>" or "<nick> <room>": a greeting */
	LINK_MSG, /* text (sanitized) */
	LINK_ME, /* text (sanitized) */
	LINK_NICK, /* new nick */
	LINK_JOIN, /* room */
	LINK_WHO, /* empty */
	LINK_PING, /* token, possibly empty */
	LINK_LEAVE, /* reason word ("quit", "idle"...); then the link closes */
	LINK_SYNC, /* empty: answer LINK_SYNCED behind all sent so far */

	/* hub -> worker: payload is server lines */
	LINK_LINES = 32, /* room traffic: pass on */
	LINK_OK, /* one "OK <nick> <room> <members>": now a member */
	LINK_ERR, /* one "ERR ..." refusing HELLO, NICK or JOIN */
	LINK_REPLY, /* one "WHO ..." or "PONG ...": answers WHO, PING */
	LINK_BYE, /* one "BYE <reason>": the hub dropped this member */
	LINK_SYNCED /* empty: the answer to LINK_SYNC */
};

/* Data sent with the hub's end of a new link through the door. */
#define LINK_DOOR_MAGIC 0x4543484cu /* "ECHL" */
struct link_door {
	uint32_t magic;
	uint32_t peerlen;
	struct sockaddr_storage peer; /* the client, for the hub's log */
};

/*
 * The largest packet either way: a type byte and the longest server line
 * for the largest max_line config.c accepts (65536). Sized for that ceiling,
 * not the current config, so that workers forked before and after a reload
 * that raised max_line can share a room. WHO lines are cut to fit.
 */
#define LINK_MAX_LINE 65536
#define LINK_PKT_MAX (1 + CHAT_SERVER_LINE_MAX(LINK_MAX_LINE))

#endif
