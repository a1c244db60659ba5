/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control socket (PROTOCOL.md section 4), served from the control
 * plane's poll loop.
 *
 * Every client is non-blocking and has CONTROL_CLIENT_USEC from accept to
 * the end of its reply, and CONTROL_ANSWER_USEC more while its request is
 * with the caller; a request longer than ECHOD_CTL_MAX_REQUEST is answered
 * with an error, not buffered. At most CONTROL_MAX_CLIENTS are served at
 * once; beyond that the socket is not polled and newcomers wait in its
 * backlog. The last CONTROL_RESERVED_CLIENTS slots are for root and
 * echod's user and group only: anyone else who comes when only those are
 * left is turned away at once with ERR busy. RELOAD is answered only once the new configuration is in force
 * (or refused), which is what makes `systemctl reload echod` synchronous.
 *
 * The socket file: a stale one (nobody answers) is replaced, a live one is
 * never taken over, anything that is not a socket is left alone; the
 * directory is created when missing if its parent is safe; the file is
 * unlinked on exit only if it is still the one made here. Any problem is
 * logged and echod serves on without a control socket.
 */
#include "control.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "counters.h"
#include "ctlproto.h"
#include "listener.h"
#include "log.h"
#include "utf8.h"

#define CONTROL_BACKLOG 16
#define CONTROL_MAX_GROUPS 256		 /* supplementary groups looked at */
#define CONTROL_ACCEPT_PAUSE_USEC 100000 /* after EMFILE and the like */
#define CONTROL_BUSY_LOG_USEC 1000000	 /* one "turned away" line a second */

/* A client reads its request, waits for the answer, gets it written. */
enum cstate { C_FREE, C_READ, C_WAIT, C_WRITE };

struct cclient {
	enum cstate state;
	uint32_t gen; /* with the index, the id the caller answers to */
	int fd;
	int64_t deadline;
	struct ucred cred;
	bool privileged; /* control_privileged(): may reload, reserved slots */
	size_t inlen;
	char in[ECHOD_CTL_MAX_REQUEST];
	size_t outlen, outoff;
	char out[ECHOD_CTL_MAX_REPLY];
};

static struct {
	const struct control_ops *ops;
	uint32_t gen;
	int fd; /* the listening socket, -1 if none */
	char path[sizeof(((struct config *)0)->control_socket)];
	dev_t dev; /* of the socket file made here */
	ino_t ino;
	/* The [control] settings last acted on: a reload that changes them
	 * moves the socket; one that does not costs a strcmp. */
	char seen_path[sizeof(((struct config *)0)->control_socket)];
	unsigned seen_mode;
	int64_t accept_resume_at;
	int64_t busy_logged_at;
	unsigned busy_unlogged; /* turned away since the last such line */
	unsigned nclients;
	struct cclient c[CONTROL_MAX_CLIENTS];
} ctl = {.fd = -1};

/* ------------------------------------------------------------ pure parts */

enum control_req
control_parse_request(const char *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (n == strlen(ECHOD_REQ_STATUS) &&
	    memcmp(line, ECHOD_REQ_STATUS, n) == 0)
		return CONTROL_REQ_STATUS;
	if (n == strlen(ECHOD_REQ_RELOAD) &&
	    memcmp(line, ECHOD_REQ_RELOAD, n) == 0)
		return CONTROL_REQ_RELOAD;
	return CONTROL_REQ_UNKNOWN;
}

bool
control_privileged(const struct control_peer *peer, uid_t self_uid,
    gid_t self_gid)
{
	if (peer->uid == 0 || peer->uid == self_uid || peer->gid == self_gid)
		return true;
	for (size_t i = 0; peer->groups != NULL && i < peer->ngroups; i++)
		if (peer->groups[i] == self_gid)
			return true;
	return false;
}

bool
control_permitted(enum control_req req, const struct control_peer *peer,
    uid_t self_uid, gid_t self_gid)
{
	return req != CONTROL_REQ_RELOAD ||
	    control_privileged(peer, self_uid, self_gid);
}

_Static_assert(CONTROL_RESERVED_CLIENTS < CONTROL_MAX_CLIENTS,
    "some control slots are for anyone");

bool
control_slot_admit(unsigned nclients, bool privileged)
{
	if (nclients >= CONTROL_MAX_CLIENTS)
		return false;
	return privileged ||
	    CONTROL_MAX_CLIENTS - nclients > CONTROL_RESERVED_CLIENTS;
}

_Static_assert(MAX_LISTENERS <= ECHOD_STATUS_MAX_LISTEN,
    "STATUS lists every listener");

/* cluster.state for enum cluster_state; a value out of it is "down". */
static const char *
cluster_word(unsigned state)
{
	switch (state) {
	case CLUSTER_OFF:
		return ECHOD_CLUSTER_OFF;
	case CLUSTER_CONNECTING:
		return ECHOD_CLUSTER_CONNECTING;
	case CLUSTER_UP:
		return ECHOD_CLUSTER_UP;
	default:
		return ECHOD_CLUSTER_DOWN;
	}
}

static void
fill_cluster(const struct sv_stats *st, struct echod_status_cluster *out)
{
	snprintf(out->state, sizeof(out->state), "%s",
	    cluster_word(st->cluster_state));
	if (st->cluster_state == CLUSTER_OFF)
		return; /* one host: nothing else to say */
	snprintf(out->node, sizeof(out->node), "%.*s",
	    (int)sizeof(st->cluster_node), st->cluster_node);
	out->nodes = st->cluster_nodes;
	out->members = st->cluster_members;
	out->rooms = st->cluster_rooms;
}

void
control_status_fill(const struct control_status *s, struct echod_status *out)
{
	const struct sv_stats *st = s->st;
	const struct config *cfg = s->cfg;

	memset(out, 0, sizeof(*out));
	snprintf(out->version, sizeof(out->version), "%s", s->version);
	out->pid = s->pid;
	out->uptime_s =
	    st->uptime_usec > 0 ? (uint64_t)(st->uptime_usec / 1000000) : 0;
	snprintf(out->config, sizeof(out->config), "%s", s->config_path);
	for (unsigned i = 0; i < s->ls->n && i < ECHOD_STATUS_MAX_LISTEN; i++)
		snprintf(out->listen.v[out->listen.n++],
		    sizeof(out->listen.v[0]), "%s", s->ls->l[i].name);
	out->workers = st->workers;
	out->echo_connections = st->echo;
	out->chat_members = st->chat_members;
	out->rooms = st->rooms;
	out->connections_total = st->connections_total;
	out->rejected_total = st->rejected_total;
	out->bytes_echoed = st->bytes_echoed;
	out->messages_relayed = st->messages_relayed;
	out->spares = st->spares;
	out->engine_pid = s->engine_pid;
	snprintf(out->engine_state, sizeof(out->engine_state), "%s",
	    s->engine_state);
	out->engine_restarts = s->engine_restarts;
	out->log_lines_lost = s->log_lines_lost;
	fill_cluster(st, &out->cluster);
	/* Each limit has the name of its echod.ini key and config member. */
#define FILL_LIMIT(key, type, unit) out->limits.key = cfg->key;
	ECHOD_STATUS_LIMITS(FILL_LIMIT)
#undef FILL_LIMIT
}

/*
 * s as a JSON string. jansson takes only UTF-8 and a config path may hold
 * any byte: passing it unchecked would make the reply invalid JSON, and
 * refusing it would lose the whole reply, so each byte that is not UTF-8
 * becomes U+FFFD (controls stay: jansson escapes them).
 */
static json_t *
json_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), len = 0;
	json_t *j;
	char *buf;

	if (utf8_valid(u, n))
		return json_stringn_nocheck(s, n);
	if ((buf = malloc(UTF8_SANITIZE_MAX(n))) == NULL)
		return NULL;
	/* Bounded by n: each turn takes 1 to 4 bytes. */
	for (size_t i = 0, k; i < n; i += k) {
		if ((k = utf8_decode(u + i, n - i, NULL)) == 0) {
			memcpy(buf + len, "\xef\xbf\xbd", 3);
			len += 3;
			k = 1;
		} else {
			memcpy(buf + len, s + i, k);
			len += k;
		}
	}
	j = json_stringn_nocheck(buf, len);
	free(buf);
	return j;
}

/* One member each, by type (ECHOD_STATUS_FIELDS); 0, or -1 out of memory. */
static int
put_STR(json_t *o, const char *key, const char *s)
{
	return json_object_set_new(o, key, json_text(s));
}

static int
put_INT(json_t *o, const char *key, int64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v));
}

static int
put_UINT(json_t *o, const char *key, uint64_t v)
{
	/* json_int_t is signed: no counter comes near 2^63, but clamp. */
	return json_object_set_new(o, key,
	    json_integer(v > (uint64_t)LLONG_MAX ? LLONG_MAX : (json_int_t)v));
}

static int
put_LIST(json_t *o, const char *key, const struct echod_status_list *l)
{
	json_t *a = json_array();

	for (unsigned i = 0; a != NULL && i < l->n &&
	     i < ECHOD_STATUS_MAX_LISTEN; i++)
		if (json_array_append_new(a, json_text(l->v[i])) == -1) {
			json_decref(a);
			return -1;
		}
	return json_object_set_new(o, key, a);
}

/* How each type is passed to its put_ function. */
#define PUT_ARG_STR(m) (m)
#define PUT_ARG_INT(m) (m)
#define PUT_ARG_UINT(m) (m)
#define PUT_ARG_LIST(m) (&(m))
#define PUT_ARG_CLUSTER(m) (&(m))
#define PUT_ARG_LIMITS(m) (&(m))
/* "|| put_TYPE(o, "key", member) == -1" for each row of a table. */
#define PUT(key, type, size) \
	|| put_##type(o, #key, PUT_ARG_##type(from->key)) == -1

static int
put_LIMITS(json_t *parent, const char *name,
    const struct echod_status_limits *from)
{
	json_t *o = json_object();

	if (o == NULL ECHOD_STATUS_LIMITS(PUT)) {
		json_decref(o);
		return -1;
	}
	return json_object_set_new(parent, name, o);
}

/* Only "state" when off: a node and counts would mean nothing there. */
static int
put_CLUSTER(json_t *parent, const char *name,
    const struct echod_status_cluster *from)
{
	json_t *o = json_object();
	bool off = strcmp(from->state, ECHOD_CLUSTER_OFF) == 0;

	if (o == NULL ||
	    (off ? put_STR(o, "state", from->state) == -1
		 : (0 ECHOD_STATUS_CLUSTER(PUT)))) {
		json_decref(o);
		return -1;
	}
	return json_object_set_new(parent, name, o);
}

int
control_format_status(const struct echod_status *from, char *buf, size_t cap)
{
	json_t *o = json_object();
	size_t n;

	if (o == NULL ECHOD_STATUS_FIELDS(PUT)) {
		json_decref(o);
		return -1;
	}
	/* Insertion order is jansson's order since 2.8; the flag for older. */
	n = json_dumpb(o, buf, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	/* With its LF and NUL, or not at all: never a cut reply. */
	if (n == 0 || n >= INT_MAX || n + 2 > cap)
		return -1;
	buf[n++] = '\n';
	buf[n] = '\0';
	return (int)n;
}

#undef PUT
#undef PUT_ARG_STR
#undef PUT_ARG_INT
#undef PUT_ARG_UINT
#undef PUT_ARG_LIST
#undef PUT_ARG_CLUSTER
#undef PUT_ARG_LIMITS

/* ---------------------------------------------------------- socket file */

/*
 * A directory the socket may live in: ours or root's, and nobody else can
 * replace what is in it (not group/other-writable, or sticky like /tmp).
 */
static int
dir_safe(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
		    "%s: owned by uid %u, not by root or "
		    "echod's user",
		    dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "%s: writable by others (mode %04o)", dir,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* The socket's directory: checked, and made (one level) if missing. */
static int
prepare_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(ctl.path)], parent[sizeof(ctl.path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash[1] == '\0') {
		snprintf(err, errlen, "%s: not a socket path", path);
		return -1;
	}
	if (slash == dir)
		return dir_safe("/", err, errlen);
	*slash = '\0';
	if (access(dir, F_OK) == 0 || errno != ENOENT)
		return dir_safe(dir, err, errlen);
	/* Missing: make it only inside a directory nobody else controls. */
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (dir_safe(parent, err, errlen) == -1)
		return -1;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(
		    err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	/* 0755 whatever the umask: the socket's own mode decides access. */
	(void)chmod(dir, 0755);
	return dir_safe(dir, err, errlen);
}

/*
 * Something already at path: a stale socket is removed; a live one, or
 * anything else, is not ours to take. 0 when path is free.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sun, socklen_t len,
    char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
		    "%s exists and is not a socket; leaving "
		    "it alone",
		    path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sun, len);
	if (r == 0 || errno == EAGAIN) {
		struct ucred uc = {.pid = 0};
		socklen_t ul = sizeof(uc);

		if (r == 0)
			(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul);
		close(fd);
		if (uc.pid > 0)
			snprintf(err, errlen,
			    "%s is in use by process %ld "
			    "(another echod?); not taking it over",
			    path, (long)uc.pid);
		else
			snprintf(err, errlen,
			    "%s is in use by a live process "
			    "(another echod?); not taking it over",
			    path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	/* Nobody listens: left by an echod that did not exit cleanly. */
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale %s: %s", path,
		    strerror(errno));
		return -1;
	}
	log_notice("control: removed stale socket %s", path);
	return 0;
}

/* A listening socket at path with exactly mode; -1 and err on failure. */
static int
open_socket(const char *path, unsigned mode, dev_t *dev, ino_t *ino, char *err,
    size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	socklen_t len;
	struct stat st;
	mode_t old;
	int fd, e;

	if (n >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	if (prepare_dir(path, err, errlen) == -1 ||
	    clear_stale(path, &sun, len, err, errlen) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Created with the final mode: never more open, not even briefly. */
	old = umask((mode_t)(~mode & 0777));
	e = bind(fd, (struct sockaddr *)&sun, len) == -1 ? errno : 0;
	umask(old);
	if (e != 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	if (chmod(path, (mode_t)mode) == -1 ||
	    listen(fd, CONTROL_BACKLOG) == -1 || stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	return fd;
}

/* Unlink the socket file, unless someone has put another one there. */
static void
unlink_ours(void)
{
	struct stat st;

	if (lstat(ctl.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == ctl.dev && st.st_ino == ctl.ino)
		unlink(ctl.path);
}

static void
close_listener(void)
{
	if (ctl.fd == -1)
		return;
	close(ctl.fd);
	unlink_ours();
	ctl.fd = -1;
}

/* ------------------------------------------------------------- clients */

static void
client_close(struct cclient *c)
{
	close(c->fd);
	c->fd = -1;
	c->state = C_FREE;
	ctl.nclients--;
}

/*
 * Closing with unread input makes the kernel reset the connection, and the
 * client could see ECONNRESET instead of our reply's end: read what is
 * already there first (a bounded amount, never wait).
 */
static void
drain_input(int fd, char *buf, size_t cap)
{
	for (int i = 0; i < 16; i++)
		if (recv(fd, buf, cap, MSG_DONTWAIT) <= 0)
			break;
}

static void
client_write(struct cclient *c)
{
	/* Bounded: each turn sends something or stops. */
	while (c->outoff < c->outlen) {
		ssize_t w = send(c->fd, c->out + c->outoff,
		    c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			c->outoff += (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EAGAIN)
			return; /* the rest when POLLOUT says so */
		break;
	}
	drain_input(c->fd, c->in, sizeof(c->in));
	client_close(c);
}

static void
client_answer(struct cclient *c, const char *buf, size_t n)
{
	if (n > sizeof(c->out))
		n = sizeof(c->out);
	memcpy(c->out, buf, n);
	c->outlen = n;
	c->outoff = 0;
	c->state = C_WRITE;
	client_write(c);
}

/* One line for the protocol: no control characters in an ERR text. */
static void
one_line(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void
client_line(struct cclient *c, const char *text)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "%s", text);

	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n] = '\0';
	one_line(line);
	line[n++] = '\n';
	client_answer(c, line, (size_t)n);
}

static struct cclient *
client_by_id(uint32_t id)
{
	uint32_t i = id % CONTROL_MAX_CLIENTS;
	struct cclient *c = &ctl.c[i];

	if (c->state != C_WAIT || c->gen != id / CONTROL_MAX_CLIENTS)
		return NULL;
	return c;
}

void
control_reply(uint32_t id, const char *buf, size_t n)
{
	struct cclient *c = client_by_id(id);

	if (c != NULL)
		client_answer(c, buf, n);
}

void
control_reply_line(uint32_t id, bool ok, const char *text)
{
	struct cclient *c = client_by_id(id);
	char line[480];

	if (c == NULL)
		return;
	if (ok)
		snprintf(line, sizeof(line), ECHOD_REPLY_OK);
	else
		snprintf(line, sizeof(line), ECHOD_REPLY_ERR "%s",
		    text != NULL && text[0] != '\0' ? text : "failed");
	client_line(c, line);
}

/* RELOAD changes the running configuration: only for whom it may. */
static bool
may_reload(struct cclient *c)
{
	if (c->privileged) {
		log_info("control: RELOAD from uid %u (pid %ld)",
		    (unsigned)c->cred.uid, (long)c->cred.pid);
		return true;
	}
	log_notice("control: RELOAD from uid %u (pid %ld) refused: not root, "
	    "echod's user or group", (unsigned)c->cred.uid, (long)c->cred.pid);
	return false;
}

static void
client_request(struct cclient *c, size_t n, int64_t now)
{
	enum control_req req = control_parse_request(c->in, n);

	if (req == CONTROL_REQ_UNKNOWN) {
		client_line(c, ECHOD_REPLY_ERR "unknown-request");
		return;
	}
	if (req == CONTROL_REQ_RELOAD && !may_reload(c)) {
		client_line(c, ECHOD_REPLY_ERR "permission denied: RELOAD needs "
		    "root or echod's user or group");
		return;
	}
	c->state = C_WAIT;
	c->deadline = now + CONTROL_ANSWER_USEC;
	ctl.ops->request(ctl.ops->arg,
	    c->gen * CONTROL_MAX_CLIENTS + (uint32_t)(c - ctl.c), req);
}

static void
client_read(struct cclient *c, int64_t now)
{
	/* Bounded by the buffer: every turn adds bytes or stops. */
	while (c->inlen < sizeof(c->in)) {
		ssize_t r = recv(c->fd, c->in + c->inlen,
		    sizeof(c->in) - c->inlen, MSG_DONTWAIT);
		char *nl;

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		if (r == -1) {
			client_close(c);
			return;
		}
		if (r == 0) {
			/* A last line without LF still counts. */
			if (c->inlen > 0)
				client_request(c, c->inlen, now);
			else
				client_close(c);
			return;
		}
		nl = memchr(c->in + c->inlen, '\n', (size_t)r);
		c->inlen += (size_t)r;
		if (nl != NULL) {
			client_request(c, (size_t)(nl - c->in), now);
			return;
		}
	}
	client_line(c, ECHOD_REPLY_ERR "request-too-long");
}

/* Who is on fd's other end (SO_PEERCRED, SO_PEERGROUPS); -1 if unknown. */
static int
peer_of(int fd, struct ucred *cred, bool *privileged)
{
	gid_t groups[CONTROL_MAX_GROUPS];
	socklen_t len = sizeof(*cred), glen = sizeof(groups);
	struct control_peer peer;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1)
		return -1;
	peer = (struct control_peer){.uid = cred->uid, .gid = cred->gid};
	/* More groups than we look at: judged by uid and gid alone. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		peer.groups = groups;
		peer.ngroups = glen / sizeof(gid_t);
	}
	*privileged = control_privileged(&peer, geteuid(), getegid());
	return 0;
}

/*
 * Only reserved slots are left and this peer may not have one: tell it at
 * once (it would otherwise wait behind the slot holders) and close. Logged
 * once a second at most, since any local user can make these.
 */
static void
turn_away(int fd, const struct ucred *cred, int64_t now)
{
	static const char line[] = ECHOD_REPLY_ERR "busy: every control slot "
	    "open to all users is taken; try again shortly\n";
	char sink[256];

	(void)send(fd, line, sizeof(line) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	drain_input(fd, sink, sizeof(sink));
	close(fd);
	if (now - ctl.busy_logged_at < CONTROL_BUSY_LOG_USEC) {
		ctl.busy_unlogged++;
		return;
	}
	log_notice("control: uid %u (pid %ld) turned away: %u of %d slots in "
	    "use, the last %d are kept for root and echod's user and group "
	    "(%u more turned away since the last such line)",
	    (unsigned)cred->uid, (long)cred->pid, ctl.nclients,
	    CONTROL_MAX_CLIENTS, CONTROL_RESERVED_CLIENTS, ctl.busy_unlogged);
	ctl.busy_logged_at = now;
	ctl.busy_unlogged = 0;
}

static void
accept_clients(int64_t now)
{
	/* Bounded by the slots: at most that many accepted per call. */
	for (unsigned i = 0;
	     i < CONTROL_MAX_CLIENTS && ctl.nclients < CONTROL_MAX_CLIENTS;
	     i++) {
		struct cclient *c = NULL;
		struct ucred cred;
		bool privileged = false;
		int fd;

		fd = accept4(ctl.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN)
				return;
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* Out of fds or memory: pause, never spin. */
			log_warn("control: accept");
			ctl.accept_resume_at = now + CONTROL_ACCEPT_PAUSE_USEC;
			return;
		}
		if (peer_of(fd, &cred, &privileged) == -1) {
			log_warn("control: SO_PEERCRED");
			close(fd);
			continue;
		}
		if (!control_slot_admit(ctl.nclients, privileged)) {
			turn_away(fd, &cred, now);
			continue;
		}
		for (unsigned k = 0; k < CONTROL_MAX_CLIENTS && c == NULL; k++)
			if (ctl.c[k].state == C_FREE)
				c = &ctl.c[k];
		if (c == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->state = C_READ;
		c->gen = ++ctl.gen % (UINT32_MAX / CONTROL_MAX_CLIENTS);
		c->deadline = now + CONTROL_CLIENT_USEC;
		c->inlen = c->outlen = c->outoff = 0;
		c->cred = cred;
		c->privileged = privileged;
		ctl.nclients++;
	}
}

/* ---------------------------------------------------------------- hooks */

static void
open_logged(const char *path, unsigned mode)
{
	char err[400];
	dev_t dev;
	ino_t ino;
	int fd = open_socket(path, mode, &dev, &ino, err, sizeof(err));

	if (fd == -1) {
		log_warnx("control: %s; %s", err,
		    ctl.fd == -1 ? "going on without a control socket"
				 : "keeping the current one");
		return;
	}
	close_listener();
	ctl.fd = fd;
	snprintf(ctl.path, sizeof(ctl.path), "%s", path);
	ctl.dev = dev;
	ctl.ino = ino;
	log_info("control: listening on %s (mode %04o)", path, mode);
}

void
control_open(const struct control_ops *ops, const char *path, unsigned mode)
{
	ctl.ops = ops;
	ctl.fd = -1;
	ctl.nclients = 0;
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		ctl.c[i] = (struct cclient){.state = C_FREE, .fd = -1};
	snprintf(ctl.seen_path, sizeof(ctl.seen_path), "%s", path);
	ctl.seen_mode = mode;
	open_logged(path, mode);
}

void
control_close(void)
{
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (ctl.c[i].state != C_FREE)
			client_close(&ctl.c[i]);
	close_listener();
}

void
control_configure(const char *path, unsigned mode)
{
	if (strcmp(path, ctl.seen_path) == 0 && mode == ctl.seen_mode)
		return;
	snprintf(ctl.seen_path, sizeof(ctl.seen_path), "%s", path);
	ctl.seen_mode = mode;
	if (ctl.fd != -1 && strcmp(path, ctl.path) == 0) {
		if (chmod(path, (mode_t)mode) == -1)
			log_warn("control: chmod %s", path);
		else
			log_info("control: %s now has mode %04o", path, mode);
		return;
	}
	/* The new one first: if it cannot be made, the old one stays. */
	open_logged(path, mode);
}

unsigned
control_pollfds(struct pollfd *pfd, unsigned max, int64_t now,
    int64_t *deadline)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct cclient *c = &ctl.c[i];

		if (c->state != C_FREE && now >= c->deadline) {
			log_debug("control: client (pid %ld) timed out",
			    (long)c->cred.pid);
			client_close(c);
		}
	}
	if (ctl.fd != -1 && n < max) {
		bool paused = now < ctl.accept_resume_at;

		pfd[n++] = (struct pollfd){
		    .fd = ctl.nclients < CONTROL_MAX_CLIENTS && !paused ? ctl.fd
									: -1,
		    .events = POLLIN};
		if (paused &&
		    (*deadline <= 0 || ctl.accept_resume_at < *deadline))
			*deadline = ctl.accept_resume_at;
	}
	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++) {
		struct cclient *c = &ctl.c[i];

		if (c->state == C_FREE)
			continue;
		/* A waiting client is polled for nothing but its deadline. */
		pfd[n++] = (struct pollfd){.fd = c->state == C_WAIT ? -1 : c->fd,
		    .events = c->state == C_READ ? POLLIN : POLLOUT};
		if (*deadline <= 0 || c->deadline < *deadline)
			*deadline = c->deadline;
	}
	return n;
}

void
control_events(const struct pollfd *pfd, unsigned n, int64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		struct cclient *c = NULL;

		if (pfd[i].fd < 0 || pfd[i].revents == 0)
			continue;
		if (pfd[i].fd == ctl.fd) {
			accept_clients(now);
			continue;
		}
		/* Matched by fd: a client closed meanwhile is skipped. */
		for (unsigned k = 0; k < CONTROL_MAX_CLIENTS; k++)
			if (ctl.c[k].state != C_FREE &&
			    ctl.c[k].fd == pfd[i].fd)
				c = &ctl.c[k];
		if (c == NULL)
			continue;
		if (c->state == C_READ)
			client_read(c, now);
		else if (c->state == C_WRITE)
			client_write(c);
	}
}
