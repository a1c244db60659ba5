/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: daemon/control.c's pure parts: requests, policy, STATUS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "counters.h"
#include "control.h"
#include "ctlproto.h"
#include "listener.h"

static void
test_parse_request(void **state)
{
	(void)state;
	assert_int_equal(
	    control_parse_request("STATUS", 6), CONTROL_REQ_STATUS);
	assert_int_equal(
	    control_parse_request("RELOAD", 6), CONTROL_REQ_RELOAD);
	assert_int_equal(
	    control_parse_request("STATUS\r", 7), CONTROL_REQ_STATUS);
	assert_int_equal(
	    control_parse_request("status", 6), CONTROL_REQ_UNKNOWN);
	assert_int_equal(
	    control_parse_request("STATUS ", 7), CONTROL_REQ_UNKNOWN);
	assert_int_equal(
	    control_parse_request("RELOADX", 7), CONTROL_REQ_UNKNOWN);
	assert_int_equal(control_parse_request("STAT", 4), CONTROL_REQ_UNKNOWN);
	assert_int_equal(control_parse_request("", 0), CONTROL_REQ_UNKNOWN);
	assert_int_equal(control_parse_request("\r", 1), CONTROL_REQ_UNKNOWN);
	/* The length counts, not a NUL. */
	assert_int_equal(
	    control_parse_request("STATUS\0x", 8), CONTROL_REQ_UNKNOWN);
}

static void
test_policy(void **state)
{
	const uid_t me = 990;
	const gid_t grp = 991;
	gid_t groups[] = {100, 991}, other[] = {100, 27};
	struct control_peer root = {0, 0, NULL, 0};
	struct control_peer self = {990, 990, NULL, 0};
	struct control_peer primary = {1000, 991, NULL, 0};
	struct control_peer member = {1000, 1000, groups, 2};
	struct control_peer stranger = {1000, 1000, other, 2};
	struct control_peer nobody = {65534, 65534, NULL, 0};

	(void)state;
	/* STATUS and unknown requests: anyone the mode lets connect. */
	assert_true(control_permitted(CONTROL_REQ_STATUS, &nobody, me, grp));
	assert_true(control_permitted(CONTROL_REQ_UNKNOWN, &nobody, me, grp));
	/* RELOAD: root, echod's user, echod's group (either way). */
	assert_true(control_permitted(CONTROL_REQ_RELOAD, &root, me, grp));
	assert_true(control_permitted(CONTROL_REQ_RELOAD, &self, me, grp));
	assert_true(control_permitted(CONTROL_REQ_RELOAD, &primary, me, grp));
	assert_true(control_permitted(CONTROL_REQ_RELOAD, &member, me, grp));
	assert_false(control_permitted(CONTROL_REQ_RELOAD, &stranger, me, grp));
	assert_false(control_permitted(CONTROL_REQ_RELOAD, &nobody, me, grp));
	/* echod running as root: only root (uid or gid 0) may reload. */
	assert_false(control_permitted(CONTROL_REQ_RELOAD, &nobody, 0, 0));
	assert_false(control_permitted(CONTROL_REQ_RELOAD, &member, 0, 0));
	assert_true(control_permitted(CONTROL_REQ_RELOAD, &root, 0, 0));
}

static void
test_privileged(void **state)
{
	const gid_t other[] = { 100, 4242 }, plain[] = { 100, 27 };
	struct control_peer root = { .uid = 0, .gid = 0 },
			    self = { .uid = 999, .gid = 100 },
			    primary = { .uid = 1000, .gid = 4242 },
			    member = { .uid = 1001, .gid = 100, .groups = other,
				.ngroups = 2 },
			    stranger = { .uid = 1002, .gid = 100,
				.groups = plain, .ngroups = 2 };

	(void)state;
	assert_true(control_privileged(&root, 999, 4242));
	assert_true(control_privileged(&self, 999, 4242));
	assert_true(control_privileged(&primary, 999, 4242));
	assert_true(control_privileged(&member, 999, 4242));
	assert_false(control_privileged(&stranger, 999, 4242));
	/* Groups beyond ngroups are not looked at. */
	member.ngroups = 1;
	assert_false(control_privileged(&member, 999, 4242));
}

static void
test_reserved_slots(void **state)
{
	unsigned open = CONTROL_MAX_CLIENTS - CONTROL_RESERVED_CLIENTS;

	(void)state;
	assert_int_equal(CONTROL_MAX_CLIENTS, 8);
	assert_int_equal(CONTROL_RESERVED_CLIENTS, 2);
	/* Anyone, while more than the reserved slots are free. */
	for (unsigned n = 0; n < open; n++) {
		assert_true(control_slot_admit(n, false));
		assert_true(control_slot_admit(n, true));
	}
	/* The reserved ones: privileged peers only. */
	for (unsigned n = open; n < CONTROL_MAX_CLIENTS; n++) {
		assert_false(control_slot_admit(n, false));
		assert_true(control_slot_admit(n, true));
	}
	/* All taken: nobody (newcomers wait in the backlog). */
	assert_false(control_slot_admit(CONTROL_MAX_CLIENTS, true));
	assert_false(control_slot_admit(CONTROL_MAX_CLIENTS, false));
	assert_false(control_slot_admit(CONTROL_MAX_CLIENTS + 1, true));
}

struct fixture {
	struct config cfg;
	struct listen_set ls;
	struct sv_stats st;
	struct control_status cs;
	struct echod_status es;
};

static void
fixture_init(struct fixture *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	config_defaults(&f->cfg);
	f->ls.n = 2;
	strcpy(f->ls.l[0].name, "127.0.0.1:5188");
	strcpy(f->ls.l[1].name, "[::1]:5188");
	f->st = (struct sv_stats){.workers = 5,
	    .echo = 3,
	    .chat = 2,
	    .spares = 4,
	    .connections_total = 1234,
	    .rejected_total = 7,
	    .bytes_echoed = 1ULL << 40,
	    .messages_relayed = 99,
	    .chat_members = 2,
	    .rooms = 1,
	    .uptime_usec = 3723999999};
	f->cs = (struct control_status){.version = "0.1.0",
	    .pid = 4321,
	    .config_path = path,
	    .ls = &f->ls,
	    .st = &f->st,
	    .cfg = &f->cfg,
	    .engine_pid = 4322,
	    .engine_state = "restarting",
	    .engine_restarts = 3,
	    .log_lines_lost = 12};
	control_status_fill(&f->cs, &f->es);
}

/* The reply as a jansson object; asserts it is one line of JSON. */
static json_t *
format_and_load(const struct echod_status *es, char *buf, size_t cap)
{
	json_error_t e;
	json_t *top;
	int len = control_format_status(es, buf, cap);

	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	/* One line: LF at the end and nowhere else. */
	assert_int_equal(buf[len - 1], '\n');
	assert_null(memchr(buf, '\n', (size_t)len - 1));
	top = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(top);
	assert_true(json_is_object(top));
	return top;
}

/* obj's keys are exactly want[0..n), in that order. */
static void
assert_keys(json_t *obj, const char *const *want, size_t n)
{
	size_t i = 0;
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		assert_true(i < n);
		assert_string_equal(k, want[i]);
		i++;
	}
	assert_int_equal(i, n);
}

static json_int_t
int_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *
str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void
test_status_has_exactly_the_protocol_fields(void **state)
{
	/* Written out, not from ctlproto.h: PROTOCOL.md section 4's order. */
	static const char *const fields[] = {"version", "pid", "uptime_s",
	    "config", "listen", "workers", "echo_connections", "chat_members",
	    "rooms", "connections_total", "rejected_total", "bytes_echoed",
	    "messages_relayed", "spares", "engine_pid", "engine_state",
	    "engine_restarts", "log_lines_lost", "cluster", "limits"};
	struct fixture f;
	char buf[4096];
	json_t *top, *v;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	top = format_and_load(&f.es, buf, sizeof(buf));
	assert_keys(top, fields, sizeof(fields) / sizeof(fields[0]));
	assert_string_equal(str_of(top, "version"), "0.1.0");
	assert_int_equal(int_of(top, "pid"), 4321);
	assert_int_equal(int_of(top, "uptime_s"), 3723); /* rounded down */
	assert_string_equal(str_of(top, "config"), "/etc/echod.ini");
	assert_int_equal(int_of(top, "workers"), 5);
	assert_int_equal(int_of(top, "echo_connections"), 3);
	assert_int_equal(int_of(top, "chat_members"), 2);
	assert_int_equal(int_of(top, "rooms"), 1);
	assert_int_equal(int_of(top, "connections_total"), 1234);
	assert_int_equal(int_of(top, "rejected_total"), 7);
	assert_true(int_of(top, "bytes_echoed") == 1LL << 40);
	assert_int_equal(int_of(top, "messages_relayed"), 99);
	assert_int_equal(int_of(top, "spares"), 4);
	assert_int_equal(int_of(top, "engine_pid"), 4322);
	assert_string_equal(str_of(top, "engine_state"), "restarting");
	assert_int_equal(int_of(top, "engine_restarts"), 3);
	assert_int_equal(int_of(top, "log_lines_lost"), 12);
	v = json_object_get(top, "listen");
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(
	    json_string_value(json_array_get(v, 0)), "127.0.0.1:5188");
	assert_string_equal(
	    json_string_value(json_array_get(v, 1)), "[::1]:5188");
	json_decref(top);
}

/* A cluster object's keys, for the state given; its counts 2, 7, 3. */
static json_t *
cluster_of(struct fixture *f, unsigned state, char *buf, size_t cap)
{
	json_t *top, *c;

	f->st.cluster_state = state;
	strcpy(f->st.cluster_node, "n1");
	f->st.cluster_nodes = 2;
	f->st.cluster_members = 7;
	f->st.cluster_rooms = 3;
	control_status_fill(&f->cs, &f->es);
	top = format_and_load(&f->es, buf, cap);
	c = json_incref(json_object_get(top, "cluster"));
	json_decref(top);
	assert_true(json_is_object(c));
	return c;
}

static void
test_status_cluster(void **state)
{
	static const char *const all[] = {"state", "node", "nodes", "members",
	    "rooms"};
	static const char *const off[] = {"state"};
	static const struct {
		unsigned state;
		const char *word;
	} words[] = {{CLUSTER_CONNECTING, "connecting"}, {CLUSTER_UP, "up"},
	    {CLUSTER_DOWN, "down"}, {99, "down"}};
	struct fixture f;
	char buf[4096];
	json_t *c;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	/* One host: the state alone, whatever else the counters hold. */
	c = cluster_of(&f, CLUSTER_OFF, buf, sizeof(buf));
	assert_keys(c, off, 1);
	assert_string_equal(str_of(c, "state"), "off");
	json_decref(c);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		c = cluster_of(&f, words[i].state, buf, sizeof(buf));
		assert_keys(c, all, sizeof(all) / sizeof(all[0]));
		assert_string_equal(str_of(c, "state"), words[i].word);
		assert_string_equal(str_of(c, "node"), "n1");
		assert_int_equal(int_of(c, "nodes"), 2);
		assert_int_equal(int_of(c, "members"), 7);
		assert_int_equal(int_of(c, "rooms"), 3);
		json_decref(c);
	}
	/* A node name at its bound, not terminated: cut, never overrun. */
	memset(f.st.cluster_node, 'n', sizeof(f.st.cluster_node));
	f.st.cluster_state = CLUSTER_UP;
	control_status_fill(&f.cs, &f.es);
	assert_int_equal(strlen(f.es.cluster.node), sizeof(f.es.cluster.node) - 1);
}

static void
test_status_limits_follow_the_config(void **state)
{
	/* In the table's order; each a value of its own. */
	static const char *const limits[] = {"max_connections",
	    "max_per_source", "ipv6_prefix", "backlog", "first_byte_timeout",
	    "idle_timeout", "shutdown_timeout", "spares", "max_line",
	    "max_backlog", "max_rooms", "max_members_per_room", "greeting_wait",
	    "rate_lines", "rate_bytes", "rate_burst_lines", "rate_burst_bytes",
	    "history", "history_bytes", "history_total", "crowd",
	    "crowd_interval"};
	struct fixture f;
	char buf[4096];
	json_t *top, *lim;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	f.cfg.max_connections = 11;
	f.cfg.max_per_source = 12;
	f.cfg.ipv6_prefix = 13;
	f.cfg.backlog = 14;
	f.cfg.first_byte_timeout = 15;
	f.cfg.idle_timeout = 16;
	f.cfg.shutdown_timeout = 17;
	f.cfg.spares = 18;
	f.cfg.max_line = 19;
	f.cfg.max_backlog = 20;
	f.cfg.max_rooms = 21;
	f.cfg.max_members_per_room = 22;
	f.cfg.greeting_wait = 23;
	f.cfg.rate_lines = 24;
	f.cfg.rate_bytes = 25;
	f.cfg.rate_burst_lines = 26;
	f.cfg.rate_burst_bytes = 27;
	f.cfg.history = 28;
	f.cfg.history_bytes = 29;
	f.cfg.history_total = 30;
	f.cfg.crowd = 31;
	f.cfg.crowd_interval = 32;
	control_status_fill(&f.cs, &f.es);
	top = format_and_load(&f.es, buf, sizeof(buf));
	lim = json_object_get(top, "limits");
	assert_true(json_is_object(lim));
	assert_keys(lim, limits, sizeof(limits) / sizeof(limits[0]));
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		assert_int_equal(int_of(lim, limits[i]), 11 + (int)i);
	json_decref(top);
}

static void
test_status_escapes_the_config_path(void **state)
{
	struct fixture f;
	char buf[4096];
	json_t *top;

	(void)state;
	fixture_init(&f, "/tmp/a \"b\"\\c\n\x1b[2J\xff.ini");
	top = format_and_load(&f.es, buf, sizeof(buf));
	assert_null(memchr(buf, '\x1b', strlen(buf)));
	/* Quotes, backslash and controls survive; the bad byte is U+FFFD. */
	assert_string_equal(str_of(top, "config"),
	    "/tmp/a \"b\"\\c\n\x1b[2J\xef\xbf\xbd.ini");
	json_decref(top);
	/* Every string goes the same way: a cut sequence too. */
	strcpy(f.es.engine_state, "ab\xc3");
	strcpy(f.es.listen.v[0], "\x80:1");
	top = format_and_load(&f.es, buf, sizeof(buf));
	assert_string_equal(str_of(top, "engine_state"), "ab\xef\xbf\xbd");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(top, "listen"), 0)),
	    "\xef\xbf\xbd:1");
	json_decref(top);
}

static void
test_status_clamps_what_json_cannot_hold(void **state)
{
	struct fixture f;
	char buf[4096];
	json_t *top;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	f.es.bytes_echoed = UINT64_MAX;
	f.es.connections_total = (uint64_t)INT64_MAX;
	f.es.pid = -1;
	top = format_and_load(&f.es, buf, sizeof(buf));
	assert_true(int_of(top, "bytes_echoed") == INT64_MAX);
	assert_true(int_of(top, "connections_total") == INT64_MAX);
	assert_int_equal(int_of(top, "pid"), -1);
	json_decref(top);
}

static void
test_status_empty_listen_and_too_small(void **state)
{
	struct fixture f;
	char buf[4096];
	json_t *top, *v;
	int len;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	f.ls.n = 0;
	control_status_fill(&f.cs, &f.es);
	top = format_and_load(&f.es, buf, sizeof(buf));
	v = json_object_get(top, "listen");
	assert_true(json_is_array(v));
	assert_int_equal(json_array_size(v), 0);
	json_decref(top);
	len = (int)strlen(buf);
	/* Does not fit: -1, never a cut reply. */
	assert_int_equal(control_format_status(&f.es, buf, 64), -1);
	assert_int_equal(control_format_status(&f.es, buf, (size_t)len), -1);
	assert_int_equal(
	    control_format_status(&f.es, buf, (size_t)len + 1), len);
}

static void
test_status_fill_takes_every_listener(void **state)
{
	struct fixture f;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	f.ls.n = MAX_LISTENERS;
	for (unsigned i = 0; i < MAX_LISTENERS; i++)
		snprintf(f.ls.l[i].name, sizeof(f.ls.l[i].name),
		    "[2001:db8::%x]:%u", i, 5000 + i);
	control_status_fill(&f.cs, &f.es);
	assert_int_equal(f.es.listen.n, MAX_LISTENERS);
	assert_string_equal(f.es.listen.v[0], "[2001:db8::0]:5000");
	assert_string_equal(
	    f.es.listen.v[MAX_LISTENERS - 1], "[2001:db8::f]:5015");
	/* Before any second has passed, and a clock that went back. */
	f.st.uptime_usec = 999999;
	control_status_fill(&f.cs, &f.es);
	assert_int_equal(f.es.uptime_s, 0);
	f.st.uptime_usec = -5000000;
	control_status_fill(&f.cs, &f.es);
	assert_int_equal(f.es.uptime_s, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_request),
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_privileged),
	    cmocka_unit_test(test_reserved_slots),
	    cmocka_unit_test(test_status_has_exactly_the_protocol_fields),
	    cmocka_unit_test(test_status_cluster),
	    cmocka_unit_test(test_status_limits_follow_the_config),
	    cmocka_unit_test(test_status_escapes_the_config_path),
	    cmocka_unit_test(test_status_clamps_what_json_cannot_hold),
	    cmocka_unit_test(test_status_empty_listen_and_too_small),
	    cmocka_unit_test(test_status_fill_takes_every_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
