/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The hub's link to Redis (cluster.h has the keys, the faults and the
 * bounds). hiredis does RESP; this file drives it from the hub's epoll
 * set (the adapter below: hiredis asks to watch a socket for reading or
 * writing, we tell epoll), keeps the commands in flight in a ring (Redis
 * answers each connection in order, so the oldest is the one whose
 * answer is late) and holds the Lua scripts that make a membership
 * change one atomic step in Redis.
 */
#include "cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "addr.h"
#include "chatlink.h"
#include "counters.h"
#include "log.h"
#include "util.h"

enum req_kind { REQ_SAY, REQ_JOIN, REQ_PART, REQ_NICK, REQ_BEAT, REQ_UNBLOCK };

struct req {
	uint8_t kind;
	uint64_t tag;
	int64_t at; /* sent, mono usec */
	size_t bytes;
};

struct watch {
	char room[CHAT_NAME_MAX + 1];
	char key[CHAT_NAME_MAX + 12]; /* "echod:room:<room>" */
	char pos[48];		      /* the last id read, "ms-seq" */
};

/* What hiredis asked us to watch on one connection. */
struct evs {
	redisAsyncContext *ac;
	uint64_t key;
	uint32_t mask;
	bool added;
	int fd;
};

enum cl_state { CL_DOWN, CL_CONNECTING, CL_UP };

unsigned cluster_stats[3];

static struct {
	struct config cfg;
	bool on;
	int ep;
	struct cluster_hooks h;
	char node[CLUSTER_NODE_MAX + 1];
	char maxlen[16];
	enum cl_state state;
	redisAsyncContext *cmd, *rd;
	struct evs ecmd, erd;
	bool cmd_conn, rd_conn; /* connected */
	bool reaped;		/* our own earlier members PARTed */
	bool ever_up;
	bool in_read;		/* on_read is handing entries out */
	long long rd_id;	/* CLIENT ID of rd, 0 unknown */
	bool rd_busy;		/* an XREAD (or CLIENT ID) is out */
	bool rd_stale;		/* the watches changed under it */
	int64_t rd_at;
	int64_t started, retry_at, backoff, beat_at;
	struct req ring[CLUSTER_MAX_INFLIGHT];
	unsigned head, count;
	size_t outbytes;
	struct watch *w; /* CLUSTER_MAX_ROOMS */
	unsigned nw;
	/* The join reply, decoded for joined(). */
	struct cluster_entry *replay;
	const char **others;
	char warned[160];
} cl;

/* ------------------------------------------------------------ the Lua */

/* Shared by every script: id order, PART and the reaping of a node. */
#define LUA_PRELUDE                                                            \
	"local P = 'echod:'\n"                                                 \
	"local maxlen = ARGV[#ARGV]\n"                                         \
	"local function idlt(x, y)\n"                                          \
	"  local a1, b1 = string.match(x, '^(%d+)%-(%d+)$')\n"                 \
	"  local a2, b2 = string.match(y, '^(%d+)%-(%d+)$')\n"                 \
	"  a1, b1, a2, b2 = tonumber(a1), tonumber(b1), tonumber(a2), "        \
	"tonumber(b2)\n"                                                       \
	"  return a1 < a2 or (a1 == a2 and b1 < b2)\n"                         \
	"end\n"                                                                \
	"local function part(node, r, k, reason, detail)\n"                    \
	"  local nk = P..'nicks:'..r\n"                                        \
	"  local v = redis.call('HGET', nk, k)\n"                              \
	"  if not v or string.sub(v, 1, #node + 1) ~= node..'\\t' then "       \
	"return end\n"                                                         \
	"  redis.call('HDEL', nk, k)\n"                                        \
	"  redis.call('HDEL', P..'members:'..node, r..'\\t'..k)\n"             \
	"  redis.call('HINCRBY', P..'count', 'members', -1)\n"                 \
	"  if redis.call('EXISTS', nk) == 0 then\n"                            \
	"    redis.call('HINCRBY', P..'count', 'rooms', -1) end\n"             \
	"  redis.call('XADD', P..'room:'..r, 'MAXLEN', '~', maxlen, '*', "     \
	"'t', 'p', 'd', node, 'n', string.sub(v, #node + 2), 'o', reason, "    \
	"'y', detail)\n"                                                       \
	"end\n"                                                                \
	"local function reap(node)\n"                                          \
	"  local mk = P..'members:'..node\n"                                   \
	"  local all = redis.call('HGETALL', mk)\n"                            \
	"  for i = 1, #all, 2 do\n"                                            \
	"    local r, k = string.match(all[i], '^([^\\t]*)\\t(.*)$')\n"        \
	"    if r then part(node, r, k, 'lost', '') end\n"                     \
	"  end\n"                                                              \
	"  redis.call('DEL', mk)\n"                                            \
	"  redis.call('SREM', P..'nodes', node)\n"                             \
	"end\n"                                                                \
	"local function free(nk, k, me)\n"                                     \
	"  local cur = redis.call('HGET', nk, k)\n"                            \
	"  if not cur then return true end\n"                                  \
	"  local h = string.match(cur, '^([^\\t]*)\\t') or ''\n"               \
	"  if h == me or redis.call('EXISTS', P..'node:'..h) == 1 then "       \
	"return false end\n"                                                   \
	"  reap(h)\n"                                                          \
	"  return true\n"                                                      \
	"end\n"

/* ARGV: me room key nick snapshot mode arg max from fromkey scan maxlen */
static const char lua_join[] = LUA_PRELUDE
    "local me, room, key, nick = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local nk, sk = P..'nicks:'..room, P..'room:'..room\n"
    "if not free(nk, key, me) then return {0, room, key, nick} end\n"
    "local out, gap = {}, 0\n"
    "local mode, maxn, scan = ARGV[6], tonumber(ARGV[8]), tonumber(ARGV[11])\n"
    "local function kind(e)\n"
    "  local f = e[2]\n"
    "  for j = 1, #f, 2 do if f[j] == 't' then return f[j + 1] end end\n"
    "end\n"
    "if mode == 'since' then\n"
    "  local first = redis.call('XRANGE', sk, '-', '+', 'COUNT', 1)\n"
    "  if #first > 0 and idlt(ARGV[7], first[1][1]) then gap = 1 end\n"
    "  local es = redis.call('XRANGE', sk, '('..ARGV[7], '+', 'COUNT', scan)\n"
    "  if #es >= scan then gap = 1 end\n"
    "  for i = 1, #es do\n"
    "    local t = kind(es[i])\n"
    "    if t == 'm' or t == 'e' then out[#out + 1] = es[i] end\n"
    "  end\n"
    "  if #out > maxn then\n"
    "    gap = 1\n"
    "    local cut = {}\n"
    "    for i = #out - maxn + 1, #out do cut[#cut + 1] = out[i] end\n"
    "    out = cut\n"
    "  end\n"
    "elseif mode == 'last' then\n"
    "  local want = tonumber(ARGV[7])\n"
    "  if want > maxn then want = maxn end\n"
    "  if want > 0 then\n"
    "    local es = redis.call('XREVRANGE', sk, '+', '-', 'COUNT', scan)\n"
    "    for i = 1, #es do\n"
    "      local t = kind(es[i])\n"
    "      if t == 'm' or t == 'e' then\n"
    "        table.insert(out, 1, es[i])\n"
    "        if #out >= want then break end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "if ARGV[9] ~= '' then part(me, ARGV[9], ARGV[10], 'moved', room) end\n"
    "local others = {}\n"
    "if ARGV[5] == '1' then\n"
    "  local all = redis.call('HGETALL', nk)\n"
    "  for i = 2, #all, 2 do\n"
    "    local h = string.match(all[i], '^([^\\t]*)\\t') or ''\n"
    "    if h ~= me then others[#others + 1] = string.sub(all[i], #h + 2) end\n"
    "  end\n"
    "end\n"
    "if redis.call('EXISTS', nk) == 0 then\n"
    "  redis.call('HINCRBY', P..'count', 'rooms', 1) end\n"
    "redis.call('HSET', nk, key, me..'\\t'..nick)\n"
    "redis.call('HSET', P..'members:'..me, room..'\\t'..key, nick)\n"
    "redis.call('HINCRBY', P..'count', 'members', 1)\n"
    "redis.call('SADD', P..'nodes', me)\n"
    "local id = redis.call('XADD', sk, 'MAXLEN', '~', maxlen, '*', "
    "'t', 'j', 'd', me, 'n', nick)\n"
    "return {1, id, others, out, gap, room, key, nick}\n";

/* ARGV: me room key reason detail maxlen */
static const char lua_part[] = LUA_PRELUDE
    "part(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])\n"
    "return 1\n";

/* ARGV: me room oldkey newkey old new maxlen */
static const char lua_nick[] = LUA_PRELUDE
    "local me, room, ok, nk2 = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local nk = P..'nicks:'..room\n"
    "if nk2 ~= ok then\n"
    "  if not free(nk, nk2, me) then return {0, room, nk2} end\n"
    "  redis.call('HDEL', nk, ok)\n"
    "  redis.call('HDEL', P..'members:'..me, room..'\\t'..ok)\n"
    "end\n"
    "redis.call('HSET', nk, nk2, me..'\\t'..ARGV[6])\n"
    "redis.call('HSET', P..'members:'..me, room..'\\t'..nk2, ARGV[6])\n"
    "redis.call('XADD', P..'room:'..room, 'MAXLEN', '~', maxlen, '*', "
    "'t', 'n', 'd', me, 'n', ARGV[6], 'o', ARGV[5])\n"
    "return {1, room, nk2}\n";

/* ARGV: me ttl selfreap maxlen. Answers live nodes, members, rooms. */
static const char lua_beat[] = LUA_PRELUDE
    "local me = ARGV[1]\n"
    "if ARGV[3] == '1' then reap(me) end\n"
    "redis.call('SET', P..'node:'..me, '1', 'PX', ARGV[2])\n"
    "redis.call('SADD', P..'nodes', me)\n"
    "local ns = redis.call('SMEMBERS', P..'nodes')\n"
    "local live = 0\n"
    "for i = 1, #ns do\n"
    "  if ns[i] == me or redis.call('EXISTS', P..'node:'..ns[i]) == 1 then\n"
    "    live = live + 1\n"
    "  else reap(ns[i]) end\n"
    "end\n"
    "local c = redis.call('HMGET', P..'count', 'members', 'rooms')\n"
    "return {live, tonumber(c[1] or '0') or 0, tonumber(c[2] or '0') or 0}\n";

/* ------------------------------------------------------------ ids */

int64_t
cluster_id_of(const char *s, size_t n)
{
	uint64_t ms = 0, seq = 0;
	size_t i = 0, d = 0;

	for (; i < n && s[i] >= '0' && s[i] <= '9' && d < 15; i++, d++)
		ms = ms * 10 + (uint64_t)(s[i] - '0');
	if (d == 0 || i >= n || s[i] != '-')
		return -1;
	for (i++, d = 0; i < n && s[i] >= '0' && s[i] <= '9' && d < 7;
	     i++, d++)
		seq = seq * 10 + (uint64_t)(s[i] - '0');
	/* seq up to 999999: a million lines in one ms of one stream. */
	if (d == 0 || i != n || seq > 999999 || ms > 9000000000000ull)
		return -1;
	return (int64_t)(ms * 1000000 + seq);
}

int
cluster_id_format(int64_t id, char *buf, size_t cap)
{
	if (id < 0)
		return -1;
	int r = snprintf(buf, cap, "%lld-%lld", (long long)(id / 1000000),
	    (long long)(id % 1000000));

	return r > 0 && (size_t)r < cap ? r : -1;
}

/* ------------------------------------------------- bounded replies */

/* hiredis makes an array of whatever length Redis announces: past
 * CLUSTER_MAX_ELEMENTS it is garbage (the reader fails, the link goes
 * down), so a hostile answer cannot make the hub allocate gigabytes. */
static redisReplyObjectFunctions bounded_fns;
static void *(*default_array)(const redisReadTask *, int);

static void *
bounded_array(const redisReadTask *task, int elements)
{
	if (elements < 0 || elements > CLUSTER_MAX_ELEMENTS)
		return NULL; /* the reader reports "Out of memory" */
	return default_array(task, elements);
}

void
cluster_bound_reader(redisReader *r)
{
	if (r == NULL || r->fn == NULL)
		return;
	if (default_array == NULL) {
		bounded_fns = *r->fn;
		default_array = bounded_fns.createArray;
		bounded_fns.createArray = bounded_array;
	}
	r->fn = &bounded_fns;
}

/* ------------------------------------------------------ the adapter */

static void
ev_apply(struct evs *e)
{
	struct epoll_event ev = { .events = e->mask, .data.u64 = e->key };

	if (e->fd < 0)
		return;
	if (!e->added) {
		if (epoll_ctl(cl.ep, EPOLL_CTL_ADD, e->fd, &ev) == 0)
			e->added = true;
		else
			log_warn("cluster: epoll_ctl");
	} else {
		(void)epoll_ctl(cl.ep, EPOLL_CTL_MOD, e->fd, &ev);
	}
}

static void
ev_add_read(void *p)
{
	struct evs *e = p;

	e->mask |= EPOLLIN;
	ev_apply(e);
}

static void
ev_del_read(void *p)
{
	struct evs *e = p;

	e->mask &= ~(uint32_t)EPOLLIN;
	ev_apply(e);
}

static void
ev_add_write(void *p)
{
	struct evs *e = p;

	e->mask |= EPOLLOUT;
	ev_apply(e);
}

static void
ev_del_write(void *p)
{
	struct evs *e = p;

	e->mask &= ~(uint32_t)EPOLLOUT;
	ev_apply(e);
}

static void
ev_cleanup(void *p)
{
	struct evs *e = p;

	if (e->added && e->fd >= 0)
		(void)epoll_ctl(cl.ep, EPOLL_CTL_DEL, e->fd, NULL);
	e->added = false;
	e->mask = 0;
	e->fd = -1;
	e->ac = NULL;
}

static void
ev_attach(redisAsyncContext *ac, struct evs *e, uint64_t key)
{
	*e = (struct evs){ .ac = ac, .key = key, .fd = ac->c.fd };
	ac->ev.data = e;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
}

/* ------------------------------------------------------- up and down */

static void
go_down(const char *why)
{
	redisAsyncContext *a = cl.cmd, *b = cl.rd;
	bool was_up = cl.state == CL_UP;

	if (cl.state == CL_DOWN)
		return;
	cl.state = CL_DOWN;
	cl.cmd = cl.rd = NULL;
	cl.cmd_conn = cl.rd_conn = cl.reaped = false;
	cl.rd_busy = cl.rd_stale = false;
	cl.rd_id = 0;
	cl.head = cl.count = 0;
	cl.outbytes = 0;
	cl.nw = 0;
	/* Their callbacks come with no reply, and are ignored (state). */
	if (a != NULL)
		redisAsyncFree(a);
	if (b != NULL)
		redisAsyncFree(b);
	cl.backoff = cl.backoff == 0 ? 100000 :
	    cl.backoff * 2 > 5000000     ? 5000000 :
					   cl.backoff * 2;
	/* Jittered down to half, so that nodes do not come back in step. */
	cl.retry_at = now_mono_usec() + cl.backoff / 2 +
	    (int64_t)((uint64_t)random() % (uint64_t)(cl.backoff / 2 + 1));
	if (was_up || strcmp(cl.warned, why) != 0) {
		log_warnx("cluster: Redis %s: %s; chat is refused until it is "
			  "back (retrying)",
		    cl.cfg.cluster_redis, why);
		snprintf(cl.warned, sizeof(cl.warned), "%s", why);
	}
	if (cl.h.down != NULL)
		cl.h.down(why);
}

static bool
ring_push(enum req_kind kind, uint64_t tag, size_t bytes, struct req **out)
{
	if (cl.count == CLUSTER_MAX_INFLIGHT ||
	    cl.outbytes + bytes > CLUSTER_MAX_OUTBYTES)
		return false;
	struct req *r = &cl.ring[(cl.head + cl.count) % CLUSTER_MAX_INFLIGHT];

	*r = (struct req){ kind, tag, now_mono_usec(), bytes };
	cl.count++;
	cl.outbytes += bytes;
	*out = r;
	return true;
}

/* The answer for the oldest command: it must be r. */
static bool
ring_pop(const struct req *r)
{
	if (cl.count == 0 || &cl.ring[cl.head] != r)
		return false;
	cl.outbytes -= cl.ring[cl.head].bytes;
	cl.head = (cl.head + 1) % CLUSTER_MAX_INFLIGHT;
	cl.count--;
	return true;
}

static void on_cmd(redisAsyncContext *ac, void *reply, void *priv);

static int
send_cmd(enum req_kind kind, uint64_t tag, int argc, const char **argv,
    const size_t *len)
{
	struct req *r;
	size_t bytes = 0;

	if (cl.state != CL_UP && !(kind == REQ_BEAT && cl.cmd_conn))
		return -1;
	for (int i = 0; i < argc; i++)
		bytes += len[i] + 16;
	if (!ring_push(kind, tag, bytes, &r))
		return -1;
	if (redisAsyncCommandArgv(cl.cmd, on_cmd, r, argc, argv, len) !=
	    REDIS_OK) {
		cl.count--;
		cl.outbytes -= bytes;
		go_down("could not send a command");
		return -1;
	}
	return 0;
}

static int
eval(enum req_kind kind, uint64_t tag, const char *script, int nargs,
    const char **args, const size_t *alen)
{
	const char *argv[20];
	size_t len[20];
	int n = 0;

	argv[n] = "EVAL", len[n++] = 4;
	argv[n] = script, len[n++] = strlen(script);
	argv[n] = "0", len[n++] = 1;
	for (int i = 0; i < nargs && n < 19; i++)
		argv[n] = args[i], len[n++] = alen != NULL ? alen[i] :
							   strlen(args[i]);
	argv[n] = cl.maxlen, len[n++] = strlen(cl.maxlen);
	return send_cmd(kind, tag, n, argv, len);
}

static void
beat(bool selfreap)
{
	char ttl[16];
	const char *a[3] = { cl.node, ttl, selfreap ? "1" : "0" };

	snprintf(ttl, sizeof(ttl), "%d", CLUSTER_TTL_MS);
	cl.beat_at = now_mono_usec() + CLUSTER_BEAT_MS * 1000;
	if (eval(REQ_BEAT, selfreap, lua_beat, 3, a, NULL) == -1 &&
	    cl.state == CL_UP)
		go_down("too much waiting for it");
}

/* ------------------------------------------------------------ reading */

static void on_read(redisAsyncContext *ac, void *reply, void *priv);

static struct watch *
watch_find(const char *room, size_t n)
{
	for (unsigned i = 0; i < cl.nw; i++)
		if (strlen(cl.w[i].room) == n && memcmp(cl.w[i].room, room, n) == 0)
			return &cl.w[i];
	return NULL;
}

static void
read_next(void)
{
	static const char *argv[2 * CLUSTER_MAX_ROOMS + 8];
	static size_t len[2 * CLUSTER_MAX_ROOMS + 8];
	char count[16], block[16];
	int n = 0;

	if (cl.state != CL_UP || cl.rd_busy || cl.nw == 0)
		return;
	/* A reply of every stream's count longest lines stays under the
	 * bound of what Redis may send us at once. */
	size_t per = (size_t)cl.nw * (cl.cfg.max_line + 256), want =
	    CLUSTER_MAX_INBYTES / 2 / per;

	snprintf(count, sizeof(count), "%zu", want < 1 ? 1 :
		want > CLUSTER_READ_COUNT ? CLUSTER_READ_COUNT : want);
	snprintf(block, sizeof(block), "%d", CLUSTER_BLOCK_MS);
	argv[n++] = "XREAD";
	argv[n++] = "COUNT";
	argv[n++] = count;
	argv[n++] = "BLOCK";
	argv[n++] = block;
	argv[n++] = "STREAMS";
	for (unsigned i = 0; i < cl.nw; i++)
		argv[n++] = cl.w[i].key;
	for (unsigned i = 0; i < cl.nw; i++)
		argv[n++] = cl.w[i].pos;
	for (int i = 0; i < n; i++)
		len[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(cl.rd, on_read, NULL, n, argv, len) !=
	    REDIS_OK) {
		go_down("could not send XREAD");
		return;
	}
	cl.rd_busy = true;
	cl.rd_stale = false;
	cl.rd_at = now_mono_usec();
}

/* The watches changed: an XREAD waiting on the old set is let go. */
static void
read_restart(void)
{
	char id[24];
	const char *argv[3] = { "CLIENT", "UNBLOCK", id };
	size_t len[3] = { 6, 7, 0 };

	if (cl.in_read)
		return; /* on_read asks again with the new set */
	if (!cl.rd_busy) {
		read_next();
		return;
	}
	if (cl.rd_stale || cl.rd_id == 0)
		return;
	cl.rd_stale = true;
	snprintf(id, sizeof(id), "%lld", cl.rd_id);
	len[2] = strlen(id);
	(void)send_cmd(REQ_UNBLOCK, 0, 3, argv, len);
}

static bool
str_is(const redisReply *r)
{
	return r != NULL && (r->type == REDIS_REPLY_STRING ||
				r->type == REDIS_REPLY_STATUS);
}

static bool
copy_name(char *out, size_t cap, const redisReply *v, bool node)
{
	if (!str_is(v) || v->len == 0 || v->len >= cap)
		return false;
	if (!node && !chat_valid_name(v->str, v->len))
		return false;
	for (size_t i = 0; node && i < v->len; i++) {
		char c = v->str[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		    c == ':' || c == '-'))
			return false;
	}
	memcpy(out, v->str, v->len);
	out[v->len] = '\0';
	return true;
}

/* One [id, [field, value, ...]] into e; false if it is not one of ours. */
bool
cluster_parse_entry(const redisReply *r, const char *room,
    struct cluster_entry *e)
{
	const redisReply *f;
	bool have_n = false, have_o = false;

	memset(e, 0, sizeof(*e));
	e->room = room;
	e->text = "";
	if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    !str_is(r->element[0]) || (f = r->element[1]) == NULL ||
	    f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0 ||
	    f->elements > 16)
		return false;
	if ((e->id = cluster_id_of(r->element[0]->str, r->element[0]->len)) < 0)
		return false;
	for (size_t i = 0; i < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];

		if (!str_is(k) || k->len != 1 || !str_is(v))
			return false;
		switch (k->str[0]) {
		case 't':
			if (v->len != 1 || strchr("mejpn", v->str[0]) == NULL)
				return false;
			e->type = v->str[0];
			break;
		case 'd':
			if (!copy_name(e->node, sizeof(e->node), v, true))
				return false;
			break;
		case 'n':
			if (!copy_name(e->nick, sizeof(e->nick), v, false))
				return false;
			have_n = true;
			break;
		case 'o':
			if (!copy_name(e->old, sizeof(e->old), v, false))
				return false;
			have_o = true;
			break;
		case 'x':
		case 'y':
			if (v->len > LINK_MAX_LINE)
				return false;
			e->text = v->str;
			e->textlen = v->len;
			break;
		default:
			break; /* a newer node's field */
		}
	}
	if (e->type == 0 || e->node[0] == '\0' || !have_n)
		return false;
	if ((e->type == 'm' || e->type == 'e') && e->textlen == 0)
		return false;
	if ((e->type == 'n' || e->type == 'p') && !have_o)
		return false;
	return true;
}

/* Why a reply is missing: hiredis's own words if it has any. */
static const char *
lost(const redisAsyncContext *ac)
{
	static char why[160];

	if (ac != NULL && ac->err != 0 && ac->errstr[0] != '\0') {
		snprintf(why, sizeof(why), "%.140s", ac->errstr);
		return why;
	}
	return "the connection was lost";
}

static void
on_read(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *r = reply;
	bool stale = cl.rd_stale;

	(void)priv;
	if (cl.state == CL_DOWN)
		return;
	cl.rd_busy = false;
	cl.rd_stale = false;
	if (r == NULL) {
		go_down(lost(ac));
		return;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		char why[160];

		snprintf(why, sizeof(why), "XREAD failed: %.100s", r->str);
		go_down(why);
		return;
	}
	if (r->type == REDIS_REPLY_INTEGER) { /* CLIENT ID */
		cl.rd_id = r->integer;
		read_next();
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && !stale) {
		cl.in_read = true;
		for (size_t i = 0; i < r->elements && cl.state == CL_UP; i++) {
			const redisReply *s = r->element[i], *es;
			struct watch *w;

			if (s == NULL || s->type != REDIS_REPLY_ARRAY ||
			    s->elements != 2 || !str_is(s->element[0]) ||
			    s->element[0]->len < 11 ||
			    (es = s->element[1])->type != REDIS_REPLY_ARRAY) {
				cl.in_read = false;
				go_down("XREAD answered garbage");
				return;
			}
			w = watch_find(s->element[0]->str + 11,
			    s->element[0]->len - 11);
			if (w == NULL)
				continue;
			for (size_t j = 0; j < es->elements; j++) {
				struct cluster_entry e;
				const redisReply *x = es->element[j];
				char room[CHAT_NAME_MAX + 1];

				if (x != NULL && x->type == REDIS_REPLY_ARRAY &&
				    x->elements == 2 && str_is(x->element[0]) &&
				    x->element[0]->len < sizeof(w->pos)) {
					memcpy(w->pos, x->element[0]->str,
					    x->element[0]->len);
					w->pos[x->element[0]->len] = '\0';
				}
				/* The hook may unwatch this room. */
				strcpy(room, w->room);
				if (cluster_parse_entry(x, room, &e))
					cl.h.entry(&e);
				else
					log_debug("cluster: an entry of %s "
						   "that is not ours, skipped",
					    room);
				if (cl.state != CL_UP ||
				    (w = watch_find(room, strlen(room))) ==
					NULL)
					break;
			}
		}
		cl.in_read = false;
	} else if (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_ARRAY) {
		go_down("XREAD answered garbage");
		return;
	}
	read_next();
}

/* ------------------------------------------------------------ answers */

static void
joined(uint64_t tag, const redisReply *r)
{
	struct cluster_joined j = { 0 };
	const redisReply *o, *es;
	size_t max = CLUSTER_MAX_REPLAY;

	redisReply *const *x = r->element;
	size_t base = r->elements == 4 ? 1 : 5;

	if ((r->elements != 4 && r->elements != 8) ||
	    x[0]->type != REDIS_REPLY_INTEGER ||
	    !copy_name(j.room, sizeof(j.room), x[base], false) ||
	    !str_is(x[base + 1]) || x[base + 1]->len == 0 ||
	    x[base + 1]->len >= sizeof(j.key) ||
	    !copy_name(j.nick, sizeof(j.nick), x[base + 2], false)) {
		go_down("a join answered garbage");
		return;
	}
	memcpy(j.key, x[base + 1]->str, x[base + 1]->len);
	j.key[x[base + 1]->len] = '\0';
	if (x[0]->integer == 0) {
		cl.h.joined(tag, &j);
		return;
	}
	if (!str_is(r->element[1]) ||
	    (o = r->element[2])->type != REDIS_REPLY_ARRAY ||
	    (es = r->element[3])->type != REDIS_REPLY_ARRAY ||
	    r->element[4]->type != REDIS_REPLY_INTEGER ||
	    (j.id = cluster_id_of(r->element[1]->str, r->element[1]->len)) <
		0) {
		go_down("a join answered garbage");
		return;
	}
	j.ok = true;
	j.gap = r->element[4]->integer != 0;
	for (size_t i = 0; i < o->elements && j.nothers < CLUSTER_MAX_OTHERS;
	     i++)
		if (str_is(o->element[i]) &&
		    chat_valid_name(o->element[i]->str, o->element[i]->len))
			cl.others[j.nothers++] = o->element[i]->str;
	for (size_t i = 0; i < es->elements && j.nreplay < max; i++)
		if (cluster_parse_entry(es->element[i], "", &cl.replay[j.nreplay]) &&
		    (cl.replay[j.nreplay].type == 'm' ||
			cl.replay[j.nreplay].type == 'e'))
			j.nreplay++;
	j.others = cl.others;
	j.replay = cl.replay;
	cl.h.joined(tag, &j);
}

static void
beaten(const redisReply *r, bool selfreap)
{
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		go_down("a heartbeat answered garbage");
		return;
	}
	for (int i = 0; i < 3; i++)
		if (r->element[i]->type != REDIS_REPLY_INTEGER) {
			go_down("a heartbeat answered garbage");
			return;
		}
	cluster_stats[0] = (unsigned)(r->element[0]->integer > 0 ?
		r->element[0]->integer : 0);
	cluster_stats[1] = (unsigned)(r->element[1]->integer > 0 ?
		r->element[1]->integer : 0);
	cluster_stats[2] = (unsigned)(r->element[2]->integer > 0 ?
		r->element[2]->integer : 0);
	if (selfreap && cl.state == CL_CONNECTING) {
		cl.state = CL_UP;
		cl.ever_up = true;
		cl.backoff = 0;
		cl.warned[0] = '\0';
		log_info("cluster: Redis %s up, node %s", cl.cfg.cluster_redis,
		    cl.node);
		if (cl.h.up != NULL)
			cl.h.up();
		read_next();
	}
}

static void
on_cmd(redisAsyncContext *ac, void *reply, void *priv)
{
	const redisReply *r = reply;
	struct req q;

	if (cl.state == CL_DOWN)
		return;
	if (!ring_pop(priv)) {
		go_down("answers out of order");
		return;
	}
	q = *(struct req *)priv;
	if (r == NULL) {
		go_down(lost(ac));
		return;
	}
	switch (q.kind) {
	case REQ_SAY:
		if (r->type != REDIS_REPLY_STRING)
			cl.h.said_failed(q.tag);
		return;
	case REQ_JOIN:
		if (r->type == REDIS_REPLY_ERROR) {
			log_warnx("cluster: a join failed: %.100s", r->str);
			cl.h.joined(q.tag, NULL);
		} else if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
			go_down("a join answered garbage");
		} else {
			joined(q.tag, r);
		}
		return;
	case REQ_NICK: {
		char room[CHAT_NAME_MAX + 1], key[CHAT_NAME_MAX + 1];

		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    r->element[0]->type == REDIS_REPLY_INTEGER &&
		    copy_name(room, sizeof(room), r->element[1], false) &&
		    str_is(r->element[2]) && r->element[2]->len > 0 &&
		    r->element[2]->len < sizeof(key)) {
			memcpy(key, r->element[2]->str, r->element[2]->len);
			key[r->element[2]->len] = '\0';
			cl.h.renamed(q.tag, r->element[0]->integer == 1, false,
			    room, key);
		} else {
			if (r->type == REDIS_REPLY_ERROR)
				log_warnx("cluster: a nick change failed: "
					  "%.100s",
				    r->str);
			cl.h.renamed(q.tag, false, true, "", "");
		}
		return;
	}
	case REQ_BEAT:
		if (r->type == REDIS_REPLY_ERROR) {
			char why[160];

			snprintf(why, sizeof(why), "a heartbeat failed: %.100s",
			    r->str);
			go_down(why);
			return;
		}
		beaten(r, q.tag != 0);
		return;
	case REQ_PART:
	case REQ_UNBLOCK:
		if (r->type == REDIS_REPLY_ERROR)
			log_warnx("cluster: a %s failed: %.100s",
			    q.kind == REQ_PART ? "part" : "client unblock",
			    r->str);
		return;
	}
}

/* ------------------------------------------------------- connecting */

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	(void)status;
	/* Freed by hiredis after this: forget it first. */
	if (ac == cl.cmd)
		cl.cmd = NULL;
	if (ac == cl.rd)
		cl.rd = NULL;
	go_down(ac->errstr[0] != '\0' ? ac->errstr : "the connection closed");
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	if (status != REDIS_OK) {
		char why[160];

		snprintf(why, sizeof(why), "cannot connect: %.100s",
		    ac->errstr);
		if (ac == cl.cmd)
			cl.cmd = NULL;
		if (ac == cl.rd)
			cl.rd = NULL;
		go_down(why);
		return;
	}
	if (ac == cl.cmd) {
		cl.cmd_conn = true;
		beat(true); /* PART what Redis holds of our earlier members */
	} else if (ac == cl.rd) {
		const char *argv[2] = { "CLIENT", "ID" };
		size_t len[2] = { 6, 2 };

		cl.rd_conn = true;
		if (redisAsyncCommandArgv(cl.rd, on_read, NULL, 2, argv, len) !=
		    REDIS_OK)
			go_down("could not send CLIENT ID");
		else
			cl.rd_busy = true, cl.rd_at = now_mono_usec();
	}
}

static redisAsyncContext *
open_one(struct evs *e, uint64_t key)
{
	const char *spec = cl.cfg.cluster_redis;
	redisAsyncContext *ac;

	if (strncmp(spec, "unix:", 5) == 0) {
		ac = redisAsyncConnectUnix(spec + 5);
	} else {
		char host[64], port[8], err[80];

		if (addr_split_hostport(spec, "6379", host, sizeof(host), port,
		    sizeof(port), err, sizeof(err)) == -1)
			return NULL;
		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		ac = redisAsyncConnect(host, atoi(port));
	}
	if (ac == NULL)
		return NULL;
	if (ac->err) {
		redisAsyncFree(ac);
		return NULL;
	}
	ev_attach(ac, e, key);
	cluster_bound_reader(ac->c.reader);
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return ac;
}

static void
connect_now(void)
{
	cl.state = CL_CONNECTING;
	cl.started = now_mono_usec();
	cl.head = cl.count = 0;
	cl.outbytes = 0;
	cl.cmd = open_one(&cl.ecmd, CLUSTER_KEY_CMD);
	cl.rd = cl.cmd != NULL ? open_one(&cl.erd, CLUSTER_KEY_READ) : NULL;
	if (cl.cmd == NULL || cl.rd == NULL)
		go_down("cannot connect");
}

/* --------------------------------------------------------- the API */

void
cluster_start(const struct config *cfg, int ep,
    const struct cluster_hooks *hooks)
{
	char host[64];

	cl.cfg = *cfg;
	cl.on = cfg->cluster_redis[0] != '\0';
	cl.ep = ep;
	cl.h = *hooks;
	cl.ecmd.fd = cl.erd.fd = -1;
	if (!cl.on)
		return;
	if (cfg->cluster_node[0] != '\0') {
		snprintf(cl.node, sizeof(cl.node), "%s", cfg->cluster_node);
	} else {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "echod");
		host[sizeof(host) - 1] = '\0';
		snprintf(cl.node, sizeof(cl.node), "%.50s:%u", host, cfg->port);
		for (char *p = cl.node; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') ||
			    strchr("_.:-", *p) != NULL))
				*p = '_';
	}
	cluster_config(cfg);
	cl.w = calloc(CLUSTER_MAX_ROOMS, sizeof(*cl.w));
	cl.replay = calloc(CLUSTER_MAX_REPLAY, sizeof(*cl.replay));
	cl.others = calloc(CLUSTER_MAX_OTHERS, sizeof(*cl.others));
	if (cl.w == NULL || cl.replay == NULL || cl.others == NULL)
		fatal("cluster: out of memory");
	srandom((unsigned)getpid() ^ (unsigned)now_mono_usec());
	connect_now();
}

void
cluster_config(const struct config *cfg)
{
	unsigned keep = cfg->history > CLUSTER_MIN_STREAM ? cfg->history :
							    CLUSTER_MIN_STREAM;
	/* The Redis address and node name are the hub's start's: a reload
	 * that changes them takes a restart (echod.ini(5)). */
	char redis[sizeof(cl.cfg.cluster_redis)], node[sizeof(cl.cfg.cluster_node)];

	memcpy(redis, cl.cfg.cluster_redis, sizeof(redis));
	memcpy(node, cl.cfg.cluster_node, sizeof(node));
	cl.cfg = *cfg;
	memcpy(cl.cfg.cluster_redis, redis, sizeof(redis));
	memcpy(cl.cfg.cluster_node, node, sizeof(node));
	snprintf(cl.maxlen, sizeof(cl.maxlen), "%u", keep);
}

bool
cluster_on(void)
{
	return cl.on;
}

bool
cluster_up(void)
{
	return cl.on && cl.state == CL_UP;
}

int
cluster_status(void)
{
	if (!cl.on)
		return CLUSTER_OFF;
	if (cl.state == CL_UP)
		return CLUSTER_UP;
	return cl.ever_up ? CLUSTER_DOWN : CLUSTER_CONNECTING;
}

const char *
cluster_node(void)
{
	return cl.node;
}

void
cluster_event(uint64_t key, uint32_t events)
{
	redisAsyncContext *ac = key == CLUSTER_KEY_CMD ? cl.cmd : cl.rd;

	if (ac == NULL)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		redisAsyncHandleRead(ac);
		ac = key == CLUSTER_KEY_CMD ? cl.cmd : cl.rd;
		if (ac != NULL && ac->c.reader != NULL &&
		    ac->c.reader->len - ac->c.reader->pos >
			CLUSTER_MAX_INBYTES) {
			go_down("an answer too long");
			return;
		}
	}
	if (ac != NULL && (events & EPOLLOUT))
		redisAsyncHandleWrite(ac);
}

int64_t
cluster_timers(int64_t now)
{
	int64_t next = 0;

	if (!cl.on)
		return 0;
	if (cl.state == CL_DOWN) {
		if (now >= cl.retry_at)
			connect_now();
		if (cl.state == CL_DOWN)
			return cl.retry_at;
	}
	if (cl.state == CL_CONNECTING) {
		if (now - cl.started > CLUSTER_STALL_MS * 1000) {
			go_down("no answer to connecting");
			return cl.retry_at;
		}
		return cl.started + CLUSTER_STALL_MS * 1000 + 1000;
	}
	if (cl.count > 0 &&
	    now - cl.ring[cl.head].at > CLUSTER_STALL_MS * 1000) {
		go_down("no answer for 3 s");
		return cl.retry_at;
	}
	if (cl.rd_busy &&
	    now - cl.rd_at > (CLUSTER_BLOCK_MS + CLUSTER_STALL_MS) * 1000) {
		go_down("no answer to XREAD for 4 s");
		return cl.retry_at;
	}
	if (now >= cl.beat_at)
		beat(false);
	if (cl.state != CL_UP)
		return cl.retry_at;
	next = cl.beat_at;
	if (cl.count > 0 &&
	    cl.ring[cl.head].at + CLUSTER_STALL_MS * 1000 + 1000 < next)
		next = cl.ring[cl.head].at + CLUSTER_STALL_MS * 1000 + 1000;
	return next;
}

int
cluster_join(uint64_t tag, const char *room, const char *key,
    const char *nick, bool snapshot, int32_t last, int64_t since,
    uint32_t max, const char *from, const char *fromkey)
{
	char arg[24] = "", smax[16], scan[16];
	const char *mode = "";
	const char *a[11] = { cl.node, room, key, nick, snapshot ? "1" : "0",
		mode, arg, smax, from, fromkey, scan };

	if (since > 0) {
		mode = "since";
		if (cluster_id_format(since, arg, sizeof(arg)) == -1)
			return -1;
	} else if (last >= 0) {
		mode = "last";
		snprintf(arg, sizeof(arg), "%d", last);
	}
	a[5] = mode;
	snprintf(smax, sizeof(smax), "%u",
	    max < CLUSTER_MAX_REPLAY ? max : CLUSTER_MAX_REPLAY);
	snprintf(scan, sizeof(scan), "%d", CLUSTER_SCAN_MAX);
	return eval(REQ_JOIN, tag, lua_join, 11, a, NULL);
}

int
cluster_part(const char *room, const char *key, const char *nick,
    const char *reason, const char *detail, size_t detaillen)
{
	const char *a[5] = { cl.node, room, key, reason, detail };
	size_t len[5] = { strlen(cl.node), strlen(room), strlen(key),
		strlen(reason), detaillen };

	(void)nick;
	return eval(REQ_PART, 0, lua_part, 5, a, len);
}

int
cluster_rename(uint64_t tag, const char *room, const char *oldkey,
    const char *newkey, const char *oldnick, const char *newnick)
{
	const char *a[6] = { cl.node, room, oldkey, newkey, oldnick, newnick };

	return eval(REQ_NICK, tag, lua_nick, 6, a, NULL);
}

int
cluster_say(uint64_t tag, const char *room, const char *nick, char type,
    const char *text, size_t n)
{
	char key[CHAT_NAME_MAX + 12];
	char t[2] = { type, '\0' };
	const char *argv[14] = { "XADD", key, "MAXLEN", "~", cl.maxlen, "*",
		"t", t, "d", cl.node, "n", nick, "x", text };
	size_t len[14];

	snprintf(key, sizeof(key), "echod:room:%s", room);
	for (int i = 0; i < 13; i++)
		len[i] = strlen(argv[i]);
	len[13] = n;
	return send_cmd(REQ_SAY, tag, 14, argv, len);
}

void
cluster_watch(const char *room, int64_t after)
{
	struct watch *w = watch_find(room, strlen(room));

	if (w == NULL) {
		if (cl.nw == CLUSTER_MAX_ROOMS) {
			log_warnx("cluster: more than %d rooms to read; %s "
				  "is not read",
			    CLUSTER_MAX_ROOMS, room);
			return;
		}
		w = &cl.w[cl.nw++];
		snprintf(w->room, sizeof(w->room), "%s", room);
		snprintf(w->key, sizeof(w->key), "echod:room:%s", room);
	}
	if (cluster_id_format(after, w->pos, sizeof(w->pos)) == -1)
		strcpy(w->pos, "$");
	read_restart();
}

void
cluster_unwatch(const char *room)
{
	struct watch *w = watch_find(room, strlen(room));

	if (w == NULL)
		return;
	*w = cl.w[--cl.nw];
	read_restart();
}
