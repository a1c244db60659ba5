/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What passes between a chat worker (chat.c) and the hub (hub.c).
 *
 * Each chat member has its own link: an IPC channel (ipc.h) the worker
 * makes at its first valid greeting. Through the door (a DOOR_MEMBER
 * message with a struct link_door) the worker passes the hub two
 * descriptors: its end of the link, and a dup of the client's TCP socket.
 * Every packet on a link is one IPC message of a type below.
 *
 * One writer to the client at any moment:
 * - the worker, until the door packet is sent (it first sends everything
 *   it queued: a refused greeting's ERR), so its bytes are in the socket
 *   before the hub's;
 * - then the hub alone: room lines, answers, and the worker's own ERRs,
 *   which the worker hands it as LINK_SAY so that they keep their place
 *   among the hub's lines;
 * - the worker again only once the hub let go: after LINK_DONE (the hub
 *   closed its copy of the socket first and hands over what it could not
 *   send), or when the link is lost without one (the hub died); then the
 *   worker reads slot.hub_out to know whether the client's stream was left
 *   at a line boundary (it may say BYE restart) or not (it says nothing).
 *
 * The link carries input and control only, never room traffic: worker to
 * hub, what the client asked for, already validated by the worker (UTF-8,
 * names, length) and with text already sanitized (the hub still
 * length-checks and re-validates every packet); hub to worker, the answer
 * to a greeting and the end of the session. A line said in the room costs
 * no worker a wakeup.
 */
#ifndef ECHOD_CHATLINK_H
#define ECHOD_CHATLINK_H

#include <stdint.h>
#include <sys/socket.h>

#include "chatproto.h"

enum link_type {
	/* worker -> hub, handled in order */
	LINK_HELLO = 1, /* what follows "CHAT/1 " in a greeting: "<nick>",
			   "<nick> <room>" or "<nick> <room> <opt> ..." */
	LINK_MSG, /* text (sanitized) */
	LINK_ME, /* text (sanitized) */
	LINK_NICK, /* new nick */
	LINK_JOIN, /* room */
	LINK_WHO, /* empty */
	LINK_PING, /* token, possibly empty */
	LINK_SAY, /* one "ERR ...\n" line the worker refuses a line with */
	LINK_LEAVE, /* reason word ("quit", "idle", "closed"...), or
		       "quit <text>": QUIT's reason, sanitized */
	LINK_PROBE, /* "" or "<room>": WHO of a room without joining it
		       (CHAT/1 *); the hub answers and lets go (LINK_DONE) */

	/* hub -> worker */
	LINK_OK = 32, /* "<nick> <room>": the greeting was accepted */
	LINK_ERR, /* empty: the greeting was refused (the ERR is sent) */
	LINK_DONE /* "<reason>[ <nick> <room>]\n" then the bytes still owed
		     to the client (whole lines but maybe the first): the hub
		     let go of the client; the worker writes them and ends */
};

/* The door's one message type: a member, with its link and socket. */
enum door_msg { DOOR_MEMBER = 1 };

/* Data sent with the link and the client's socket through the door. */
#define LINK_DOOR_MAGIC 0x4543484du /* "ECHM" */
struct link_door {
	uint32_t magic;
	uint32_t slot; /* the worker's slot: the hub adds bytes_out there */
	uint32_t errs; /* ERRs in a row so far (refused greetings) */
	uint32_t peerlen;
	struct sockaddr_storage peer; /* the client, for the hub's log */
};

/*
 * slot.hub_out (counters.h): where the hub, while it is the writer, left
 * the client's byte stream. Set to MIDLINE before each send, and after it
 * to where the send ended; a worker that loses its link without LINK_DONE
 * reads it to decide whether it may still write a line.
 */
enum hub_out {
	HUB_OUT_LINE = 0, /* at a line boundary */
	HUB_OUT_MIDLINE, /* maybe inside a line: write nothing more */
	HUB_OUT_ENDED /* the hub ended the member, its last word lost */
};

/*
 * The largest server line for the largest max_line config.c accepts
 * (65536), and the largest packet either way but LINK_DONE. Sized for that
 * ceiling, not the current config, so that workers forked before and after
 * a reload that raised max_line can share a room. WHO lines are cut to fit.
 */
#define LINK_MAX_LINE 65536
#define LINK_LINE_MAX CHAT_SERVER_LINE_MAX(LINK_MAX_LINE)
#define LINK_PKT_MAX LINK_LINE_MAX /* a payload */
/* The longest reason word, and a LINK_DONE's payload: reason, nick, room,
 * the rest of one write to the client (at most one line or WHO:
 * LINK_LINE_MAX) and a BYE line. */
#define LINK_REASON_MAX 22
#define LINK_BYE_MAX (4 + LINK_REASON_MAX + 1)
#define LINK_DONE_MAX                                                          \
	(LINK_REASON_MAX + 2 * (1 + CHAT_NAME_MAX) + 1 + LINK_LINE_MAX +       \
	    LINK_BYE_MAX)

#endif
