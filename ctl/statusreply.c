/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * chatctl status's pure parts (ctl/statusreply.h): a STATUS reply read
 * with jansson into struct echod_status, checked against ctlproto.h's
 * tables before anything in it is used, and its summary for people with
 * every string term_escape'd. The socket is ctl/status.c's.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto.h"
#include "statusreply.h"
#include "utf8.h"

/* ------------------------------------------------------ reading STATUS */

/*
 * One member each, by type (ECHOD_STATUS_FIELDS): v is its value (NULL if
 * absent), prefix and key its name for err.
 */
static int
get_STR(const json_t *v, const char *prefix, const char *key, char *dst,
    size_t cap, char *err, size_t errlen)
{
	size_t len;

	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s%s is not a string", prefix, key);
		return -1;
	}
	/* No NUL inside: json_loadb refuses \u0000 without JSON_ALLOW_NUL. */
	if ((len = json_string_length(v)) >= cap) {
		snprintf(err, errlen, "%s%s is longer than %zu bytes", prefix,
		    key, cap - 1);
		return -1;
	}
	memcpy(dst, json_string_value(v), len + 1);
	return 0;
}

static int
get_INT(const json_t *v, const char *prefix, const char *key, int64_t *dst,
    char *err, size_t errlen)
{
	if (!json_is_integer(v)) {
		snprintf(err, errlen, "%s%s is not an integer", prefix, key);
		return -1;
	}
	*dst = json_integer_value(v);
	return 0;
}

static int
get_UINT(const json_t *v, const char *prefix, const char *key,
    uint64_t *dst, char *err, size_t errlen)
{
	int64_t i;

	if (get_INT(v, prefix, key, &i, err, errlen) == -1)
		return -1;
	if (i < 0) {
		snprintf(err, errlen, "%s%s is negative", prefix, key);
		return -1;
	}
	*dst = (uint64_t)i;
	return 0;
}

static int
get_LIST(const json_t *v, const char *prefix, const char *key,
    struct echod_status_list *dst, char *err, size_t errlen)
{
	char el[64];

	if (!json_is_array(v)) {
		snprintf(err, errlen, "%s%s is not a list", prefix, key);
		return -1;
	}
	if (json_array_size(v) > ECHOD_STATUS_MAX_LISTEN) {
		snprintf(err, errlen, "%s%s has more than %d addresses", prefix,
		    key, ECHOD_STATUS_MAX_LISTEN);
		return -1;
	}
	dst->n = (unsigned)json_array_size(v);
	for (unsigned i = 0; i < dst->n; i++) {
		snprintf(el, sizeof(el), "%s[%u]", key, i);
		if (get_STR(json_array_get(v, i), prefix, el, dst->v[i],
			sizeof(dst->v[i]), err, errlen) == -1)
			return -1;
	}
	return 0;
}

/*
 * Whether o lacks any of want[0..n): if so, err names them all, as "the
 * reply lacks a, limits.b" (prefix "limits."), and 1.
 */
static int
lacks(const json_t *o, const char *prefix, const char *const *want,
    size_t n, char *err, size_t errlen)
{
	size_t off = 0, missing = 0;

	for (size_t i = 0; i < n; i++) {
		int w;

		if (json_object_get(o, want[i]) != NULL)
			continue;
		w = snprintf(err + off, errlen - off, "%s%s%s",
		    missing++ ? ", " : "the reply lacks ", prefix, want[i]);
		if (w < 0 || (size_t)w >= errlen - off)
			break; /* err is full: enough said */
		off += (size_t)w;
	}
	return missing > 0;
}

/* How each type's get_ function is given its member of *to. */
#define GET_DST_STR(m) (m), sizeof(m)
#define GET_DST_INT(m) (&(m))
#define GET_DST_UINT(m) (&(m))
#define GET_DST_LIST(m) (&(m))
#define GET_DST_CLUSTER(m) (&(m))
#define GET_DST_LIMITS(m) (&(m))
/* "|| get_TYPE(o's member key, prefix, "key", &to->key...) == -1" */
#define GET(key, type, size)                                              \
	|| get_##type(json_object_get(o, #key), prefix, #key,             \
	       GET_DST_##type(to->key), err, errlen) == -1
/* The keys a reply must have: all but the optional cluster. */
#define KEY(key, type, size) KEY_##type(key)
#define KEY_STR(key) #key,
#define KEY_INT(key) #key,
#define KEY_UINT(key) #key,
#define KEY_LIST(key) #key,
#define KEY_LIMITS(key) #key,
#define KEY_CLUSTER(key)

static int
get_LIMITS(const json_t *o, const char *parent, const char *name,
    struct echod_status_limits *to, char *err, size_t errlen)
{
	static const char *const keys[] = {ECHOD_STATUS_LIMITS(KEY)};
	const char *prefix = "limits.";

	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s%s is not an object", parent, name);
		return -1;
	}
	if (lacks(o, prefix, keys, sizeof(keys) / sizeof(keys[0]), err,
		errlen) ECHOD_STATUS_LIMITS(GET))
		return -1;
	return 0;
}

/*
 * Optional: absent (an echod before the cluster), it stays zeroed, state
 * "". With state off the rest is not needed; otherwise all of it is.
 */
static int
get_CLUSTER(const json_t *o, const char *parent, const char *name,
    struct echod_status_cluster *to, char *err, size_t errlen)
{
	static const char *const keys[] = {ECHOD_STATUS_CLUSTER(KEY)};
	static const char *const state[] = {"state"};
	const char *prefix = "cluster.";

	if (o == NULL)
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s%s is not an object", parent, name);
		return -1;
	}
	if (lacks(o, prefix, state, 1, err, errlen) ||
	    get_STR(json_object_get(o, "state"), prefix, "state", to->state,
		sizeof(to->state), err, errlen) == -1)
		return -1;
	if (to->state[0] == '\0') {
		snprintf(err, errlen, "%sstate is empty", prefix);
		return -1;
	}
	if (strcmp(to->state, ECHOD_CLUSTER_OFF) == 0)
		return 0;
	if (lacks(o, prefix, keys, sizeof(keys) / sizeof(keys[0]), err,
		errlen) ECHOD_STATUS_CLUSTER(GET))
		return -1;
	return 0;
}

int
statusreply_parse(const char *reply, size_t n, struct echod_status *to,
    char *err, size_t errlen)
{
	static const char *const keys[] = {ECHOD_STATUS_FIELDS(KEY)};
	const char *lf = memchr(reply, '\n', n), *prefix = "";
	char text[TERM_ESCAPE_MAX(JSON_ERROR_TEXT_LENGTH) + 1];
	json_error_t je;
	json_t *o;
	int r = 0;

	memset(to, 0, sizeof(*to));
	if (n >= ECHOD_CTL_MAX_REPLY) {
		snprintf(err, errlen,
		    "not a STATUS reply: %zu bytes, echod sends less than %d",
		    n, ECHOD_CTL_MAX_REPLY);
		return -1;
	}
	if (lf != NULL && lf != reply + n - 1) {
		snprintf(err, errlen, "not a STATUS reply: more than one line");
		return -1;
	}
	/* Two "pid"s: which is echod's? Neither. */
	if ((o = json_loadb(reply, n, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		/* jansson's text quotes the reply ("near '...'"). */
		term_escape((const unsigned char *)je.text,
		    strnlen(je.text, sizeof(je.text)), text, sizeof(text));
		snprintf(err, errlen, "not a STATUS reply: %s (at byte %d)",
		    text, je.position);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "not a STATUS reply: not a JSON object");
		r = -1;
	} else if (lacks(o, prefix, keys, sizeof(keys) / sizeof(keys[0]), err,
		       errlen) ECHOD_STATUS_FIELDS(GET))
		r = -1;
	json_decref(o);
	if (r == -1)
		memset(to, 0, sizeof(*to));
	return r;
}

#undef GET
#undef KEY
#undef KEY_STR
#undef KEY_INT
#undef KEY_UINT
#undef KEY_LIST
#undef KEY_LIMITS
#undef KEY_CLUSTER
#undef GET_DST_CLUSTER
#undef GET_DST_STR
#undef GET_DST_INT
#undef GET_DST_UINT
#undef GET_DST_LIST
#undef GET_DST_LIMITS

/* ----------------------------------------------------- showing STATUS */

static void
fmt_duration(uint64_t s, char *buf, size_t cap)
{
	uint64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;

	if (d > 0)
		snprintf(buf, cap,
		    "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
		    d, h, m, s % 60);
	else if (h > 0)
		snprintf(buf, cap, "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s",
		    h, m, s % 60);
	else if (m > 0)
		snprintf(buf, cap, "%" PRIu64 "m %02" PRIu64 "s", m, s % 60);
	else
		snprintf(buf, cap, "%" PRIu64 "s", s);
}

static void
fmt_bytes(uint64_t b, char *buf, size_t cap)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, cap, "%" PRIu64 " bytes", b);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, unit[u]);
}

static const char *
plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A string from the reply, made safe for the terminal. */
static void
print_str(FILE *f, const char *s)
{
	char out[TERM_ESCAPE_MAX(512) + 1];
	size_t n = strlen(s);

	term_escape((const unsigned char *)s, n > 512 ? 512 : n, out,
	    sizeof(out));
	fputs(out, f);
}

/* "key value unit", a new line every three, under the first. */
static void
show_limit(FILE *f, unsigned *shown, const char *key, uint64_t v,
    const char *unit)
{
	fprintf(f, "%s%s %" PRIu64 "%s",
	    *shown == 0	      ? ""
	    : *shown % 3 == 0 ? ",\n                "
			      : ", ",
	    key, v, unit);
	(*shown)++;
}

/* Nothing from an echod without the cluster; the counts only while up. */
static void
print_cluster(FILE *f, const struct echod_status_cluster *c)
{
	if (c->state[0] == '\0')
		return;
	fputs("  cluster:      ", f);
	if (strcmp(c->state, ECHOD_CLUSTER_OFF) == 0) {
		fputs("off (one host)\n", f);
		return;
	}
	fputs("node ", f);
	print_str(f, c->node);
	if (strcmp(c->state, ECHOD_CLUSTER_UP) == 0)
		fprintf(f, ", redis up; %" PRIu64 " %s, %" PRIu64 " %s in %"
		    PRIu64 " %s across nodes\n", c->nodes,
		    plural(c->nodes, "node", "nodes"), c->members,
		    plural(c->members, "member", "members"), c->rooms,
		    plural(c->rooms, "room", "rooms"));
	else if (strcmp(c->state, ECHOD_CLUSTER_CONNECTING) == 0)
		fputs(", connecting to redis\n", f);
	else if (strcmp(c->state, ECHOD_CLUSTER_DOWN) == 0)
		fputs(", redis down (chat refused until it is back)\n", f);
	else {
		fputs(", redis ", f);
		print_str(f, c->state);
		fputc('\n', f);
	}
}

void
statusreply_print(FILE *f, const struct echod_status *st)
{
	char dur[48], bytes[32];
	unsigned shown = 0;

	fmt_duration(st->uptime_s, dur, sizeof(dur));
	fputs("echod ", f);
	print_str(f, st->version);
	fprintf(f, " (pid %" PRId64 "), up %s\n", st->pid, dur);
	fputs("  config:       ", f);
	print_str(f, st->config);
	fputs("\n  listening:    ", f);
	for (unsigned i = 0; i < st->listen.n && i < ECHOD_STATUS_MAX_LISTEN;
	     i++) {
		fputs(i > 0 ? ", " : "", f);
		print_str(f, st->listen.v[i]);
	}
	fprintf(f, "%s\n", st->listen.n > 0 ? "" : "nothing");
	fprintf(f,
	    "  connections:  %" PRIu64 " live (%" PRIu64 " echo, %" PRIu64
	    " chat); %" PRIu64 " %s\n",
	    st->workers, st->echo_connections, st->chat_members, st->rooms,
	    plural(st->rooms, "room", "rooms"));
	print_cluster(f, &st->cluster);
	fmt_bytes(st->bytes_echoed, bytes, sizeof(bytes));
	fprintf(f,
	    "  totals:       %" PRIu64 " served, %" PRIu64 " refused; %s "
	    "echoed, %" PRIu64 " chat %s relayed\n",
	    st->connections_total, st->rejected_total, bytes,
	    st->messages_relayed,
	    plural(st->messages_relayed, "message", "messages"));
	fputs("  data plane:   ", f);
	if (st->engine_pid > 0)
		fprintf(f, "engine pid %" PRId64 ", ", st->engine_pid);
	else
		fputs("no engine process, ", f);
	print_str(f, st->engine_state);
	fprintf(f, ", %" PRIu64 " %s; %" PRIu64 " spare %s\n",
	    st->engine_restarts, plural(st->engine_restarts, "restart",
	    "restarts"), st->spares, plural(st->spares, "worker", "workers"));
	if (st->log_lines_lost > 0)
		fprintf(f, "  log:          %" PRIu64 " %s lost\n",
		    st->log_lines_lost, plural(st->log_lines_lost, "line",
		    "lines"));
	/* Named as in echod.ini: what to edit to change one. */
	fputs("  limits:       ", f);
#define SHOW_LIMIT(key, type, unit) \
	show_limit(f, &shown, #key, st->limits.key, unit);
	ECHOD_STATUS_LIMITS(SHOW_LIMIT)
#undef SHOW_LIMIT
	fputc('\n', f);
}
