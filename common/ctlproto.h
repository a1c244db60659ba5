/*
 * What crosses echod's control socket (PROTOCOL.md section 4), shared by
 * echod and chatctl so that each thing is defined once: the socket's
 * default path, the requests and reply words and their bounds, and the
 * STATUS object as tables from which echod's writer and chatctl's reader
 * are both generated. The version and default port are here because both
 * programs show or use them. Nothing internal to either side belongs here.
 */
#ifndef ECHOD_CTLPROTO_H
#define ECHOD_CTLPROTO_H

/* The Makefile passes the real one; this is for other builds. */
#ifndef ECHOD_VERSION
#define ECHOD_VERSION "0.1.0"
#endif

#define CTLPROTO_STR_(x) #x
#define CTLPROTO_STR(x) CTLPROTO_STR_(x)

#define ECHOD_DEFAULT_PORT 5188
#define ECHOD_DEFAULT_PORT_STR CTLPROTO_STR(ECHOD_DEFAULT_PORT)
#define ECHOD_DEFAULT_CONTROL "/run/echod/control.sock"

/* Requests: one of these as a line (LF, or CR LF). */
#define ECHOD_REQ_STATUS "STATUS"
#define ECHOD_REQ_RELOAD "RELOAD"
/* Replies other than STATUS's JSON: "OK", or "ERR " and a text. */
#define ECHOD_REPLY_OK "OK"
#define ECHOD_REPLY_ERR "ERR "

/* A request line, LF included; longer ones get "ERR request-too-long". */
#define ECHOD_CTL_MAX_REQUEST 256
/* Every reply, LF included, is shorter than this. */
#define ECHOD_CTL_MAX_REPLY 16384

#endif
