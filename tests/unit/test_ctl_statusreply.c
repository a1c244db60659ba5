/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/statusreply.c: reading a STATUS reply (the
 * round trip from echod's writer, and replies that are broken, too big,
 * incomplete or of the wrong types) and the summary it prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "control.h"
#include "ctlproto.h"
#include "statusreply.h"

static char reply[ECHOD_CTL_MAX_REPLY];
static char err[512];

/* Every member set, none to its zero value. */
static void
sample(struct echod_status *st)
{
	memset(st, 0, sizeof(*st));
	strcpy(st->version, "0.1.0");
	st->pid = 4321;
	st->uptime_s = 90061; /* 1d 01h 01m 01s */
	strcpy(st->config, "/etc/echod.ini");
	st->listen.n = 2;
	strcpy(st->listen.v[0], "127.0.0.1:5188");
	strcpy(st->listen.v[1], "[::1]:5188");
	st->workers = 5;
	st->echo_connections = 3;
	st->chat_members = 2;
	st->rooms = 1;
	st->connections_total = 1234;
	st->rejected_total = 7;
	st->bytes_echoed = 3 << 20;
	st->messages_relayed = 99;
	st->spares = 4;
	st->engine_pid = 4322;
	strcpy(st->engine_state, ECHOD_ENGINE_RESTARTING);
	st->engine_restarts = 3;
	st->log_lines_lost = 12;
	strcpy(st->cluster.state, ECHOD_CLUSTER_UP);
	strcpy(st->cluster.node, "n1");
	st->cluster.nodes = 2;
	st->cluster.members = 7;
	st->cluster.rooms = 3;
	st->limits = (struct echod_status_limits){.max_connections = 1024,
	    .max_per_source = 64,
	    .ipv6_prefix = 64,
	    .backlog = 128,
	    .first_byte_timeout = 10,
	    .idle_timeout = 300,
	    .shutdown_timeout = 10,
	    .spares = 4,
	    .max_line = 1024,
	    .max_backlog = 262144,
	    .max_rooms = 100,
	    .max_members_per_room = 50,
	    .greeting_wait = 250,
	    .rate_lines = 20,
	    .rate_bytes = 8192,
	    .rate_burst_lines = 128,
	    .rate_burst_bytes = 65536,
	    .history = 100,
	    .history_bytes = 131072,
	    .history_total = 16777216,
	    .crowd = 50,
	    .crowd_interval = 1000};
}

/* echod's reply for st, as echod writes it. */
static size_t
write_reply(const struct echod_status *st)
{
	int n = control_format_status(st, reply, sizeof(reply));

	assert_true(n > 0);
	return (size_t)n;
}

/* The sample reply as a jansson object, for a test to break. */
static json_t *
sample_object(void)
{
	struct echod_status st;
	json_t *o;

	sample(&st);
	o = json_loadb(reply, write_reply(&st), 0, NULL);
	assert_non_null(o);
	return o;
}

/* Parse o (dumped as one line); its reference is consumed. */
static int
parse_object(json_t *o, struct echod_status *out)
{
	char *s = json_dumps(o, JSON_COMPACT);
	int r;

	assert_non_null(s);
	json_decref(o);
	r = statusreply_parse(s, strlen(s), out, err, sizeof(err));
	free(s);
	return r;
}

/* text is refused, and err begins with want. */
static void
assert_refused(const char *text, size_t n, const char *want)
{
	struct echod_status out;

	err[0] = '\0';
	assert_int_equal(statusreply_parse(text, n, &out, err, sizeof(err)), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("err \"%s\", want \"%s...\"", err, want);
}

static void
assert_object_refused(json_t *o, const char *want)
{
	struct echod_status out;

	err[0] = '\0';
	assert_int_equal(parse_object(o, &out), -1);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("err \"%s\", want \"%s...\"", err, want);
}

static void
test_round_trip(void **state)
{
	struct echod_status in, out;
	size_t n;

	(void)state;
	sample(&in);
	n = write_reply(&in);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(statusreply_parse(reply, n, &out, err, sizeof(err)), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	/* Each string at its bound, controls and non-ASCII in it, every
	 * listener, the numbers' extremes. */
	memset(in.version, 'v', sizeof(in.version) - 1);
	memset(in.config, 'c', sizeof(in.config) - 1);
	memcpy(in.config, "/tmp/\n\x1b[2J\"\\\xc3\xa9", 14);
	memset(in.engine_state, 's', sizeof(in.engine_state) - 1);
	memset(in.cluster.node, 'n', sizeof(in.cluster.node) - 1);
	in.cluster.rooms = (uint64_t)INT64_MAX;
	in.listen.n = ECHOD_STATUS_MAX_LISTEN;
	for (unsigned i = 0; i < ECHOD_STATUS_MAX_LISTEN; i++)
		memset(in.listen.v[i], 'a' + (int)i, sizeof(in.listen.v[i]) - 1);
	in.pid = INT64_MIN;
	in.engine_pid = INT64_MAX;
	in.bytes_echoed = (uint64_t)INT64_MAX;
	in.limits.greeting_wait = 0;
	n = write_reply(&in);
	assert_int_equal(statusreply_parse(reply, n, &out, err, sizeof(err)), 0);
	assert_memory_equal(&in, &out, sizeof(in));
	/* Without the LF, too. */
	assert_int_equal(statusreply_parse(reply, n - 1, &out, err, sizeof(err)), 0);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void
test_unknown_members_ignored(void **state)
{
	struct echod_status want, out;
	json_t *o = sample_object();

	(void)state;
	sample(&want);
	json_object_set_new(o, "future", json_pack("{s:[i]}", "x", 1));
	json_object_set_new(json_object_get(o, "limits"), "max_future",
	    json_string("big"));
	assert_int_equal(parse_object(o, &out), 0);
	assert_memory_equal(&want, &out, sizeof(want));
}

static void
test_not_a_status_reply(void **state)
{
	static const char dup[] = "{\"pid\":1,\"pid\":2}\n";
	struct echod_status st;
	size_t n;

	(void)state;
	assert_refused("\x1b[2Jhello\n", 10, "not a STATUS reply: ");
	assert_refused("", 0, "not a STATUS reply: ");
	assert_refused("\n", 1, "not a STATUS reply: ");
	assert_refused("[1,2]\n", 6, "not a STATUS reply: not a JSON object");
	assert_refused("\"pid\"\n", 6, "not a STATUS reply: ");
	assert_refused(dup, sizeof(dup) - 1, "not a STATUS reply: ");
	assert_refused("{\"pid\":99999999999999999999}\n", 29,
	    "not a STATUS reply: ");
	assert_refused("{\"version\":\"a\\u0000b\"}\n", 23,
	    "not a STATUS reply: ");
	assert_refused("{\"version\":\"\xff\"}\n", 16, "not a STATUS reply: ");
	/* The length counts, not a NUL: a good reply and more after it. */
	sample(&st);
	n = write_reply(&st) - 1;
	memcpy(reply + n, "\0{}", 3);
	assert_refused(reply, n + 3, "not a STATUS reply: ");
	memcpy(reply + n, "{}\n", 3);
	assert_refused(reply, n + 3, "not a STATUS reply: ");
	memcpy(reply + n, "\n{}", 3);
	assert_refused(reply, n + 3, "not a STATUS reply: more than one line");
}

static void
test_too_big(void **state)
{
	static char big[ECHOD_CTL_MAX_REPLY + 1];
	struct echod_status st;
	json_t *o, *a;
	char s[128];
	size_t n;

	(void)state;
	/* Whatever is in it: nothing that long comes from echod. */
	sample(&st);
	n = write_reply(&st) - 1;
	memcpy(big, reply, n);
	memset(big + n, ' ', sizeof(big) - n);
	big[ECHOD_CTL_MAX_REPLY - 1] = '\n';
	assert_int_equal(statusreply_parse(big, ECHOD_CTL_MAX_REPLY - 1, &st, err,
			     sizeof(err)), 0);
	assert_refused(big, ECHOD_CTL_MAX_REPLY, "not a STATUS reply: ");
	assert_refused(big, sizeof(big), "not a STATUS reply: ");
	/* Each string within its array, the list within its bound. */
	o = sample_object();
	memset(s, 'v', 32);
	json_object_set_new(o, "version", json_stringn(s, 32));
	assert_object_refused(o, "version is longer than 31 bytes");
	o = sample_object();
	memset(s, 's', 16);
	json_object_set_new(o, "engine_state", json_stringn(s, 16));
	assert_object_refused(o, "engine_state is longer than 15 bytes");
	o = sample_object();
	memset(s, 'a', ADDR_STRLEN);
	json_array_set_new(json_object_get(o, "listen"), 1,
	    json_stringn(s, ADDR_STRLEN));
	assert_object_refused(o, "listen[1] is longer than 71 bytes");
	o = sample_object();
	a = json_object_get(o, "listen");
	for (int i = 0; i < ECHOD_STATUS_MAX_LISTEN - 1; i++)
		json_array_append_new(a, json_string("192.0.2.1:1"));
	assert_object_refused(o, "listen has more than 16 addresses");
}

static void
test_missing_members_named(void **state)
{
	json_t *o;

	(void)state;
	o = sample_object();
	json_object_del(o, "pid");
	json_object_del(o, "engine_state");
	assert_object_refused(o, "the reply lacks pid, engine_state");
	o = sample_object();
	json_object_del(json_object_get(o, "limits"), "backlog");
	json_object_del(json_object_get(o, "limits"), "greeting_wait");
	assert_object_refused(
	    o, "the reply lacks limits.backlog, limits.greeting_wait");
	assert_refused("{}", 2,
	    "the reply lacks version, pid, uptime_s, config, listen, workers, "
	    "echo_connections, chat_members, rooms, connections_total, "
	    "rejected_total, bytes_echoed, messages_relayed, spares, "
	    "engine_pid, engine_state, engine_restarts, log_lines_lost, "
	    "limits");
	/* The cluster's members, once it is more than "off". */
	o = sample_object();
	json_object_del(json_object_get(o, "cluster"), "node");
	json_object_del(json_object_get(o, "cluster"), "rooms");
	assert_object_refused(
	    o, "the reply lacks cluster.node, cluster.rooms");
	o = sample_object();
	json_object_del(json_object_get(o, "cluster"), "state");
	assert_object_refused(o, "the reply lacks cluster.state");
	/* A tiny err: cut, never overrun. */
	char small[20];
	struct echod_status out;

	assert_int_equal(statusreply_parse("{}", 2, &out, small, sizeof(small)),
	    -1);
	assert_string_equal(small, "the reply lacks ver");
}

static void
test_wrong_types(void **state)
{
	static const struct {
		const char *key, *json, *want;
	} cases[] = {
	    {"pid", "\"12\"", "pid is not an integer"},
	    {"pid", "12.0", "pid is not an integer"},
	    {"pid", "null", "pid is not an integer"},
	    {"uptime_s", "-1", "uptime_s is negative"},
	    {"workers", "1.5", "workers is not an integer"},
	    {"bytes_echoed", "true", "bytes_echoed is not an integer"},
	    {"version", "5", "version is not a string"},
	    {"engine_state", "[\"running\"]", "engine_state is not a string"},
	    {"listen", "\"127.0.0.1:5188\"", "listen is not a list"},
	    {"listen", "[\"a:1\",2]", "listen[1] is not a string"},
	    {"limits", "[]", "limits is not an object"},
	    {"limits", "{\"max_connections\":1}", "the reply lacks "
						    "limits.max_per_source"},
	    {"cluster", "\"up\"", "cluster is not an object"},
	    {"cluster", "null", "cluster is not an object"},
	    {"cluster", "{\"state\":1}", "cluster.state is not a string"},
	    {"cluster", "{\"state\":\"\"}", "cluster.state is empty"},
	    {"cluster", "{\"state\":\"up\"}", "the reply lacks cluster.node"},
	    {"cluster",
		"{\"state\":\"up\",\"node\":\"n\",\"nodes\":-1,"
		"\"members\":0,\"rooms\":0}",
		"cluster.nodes is negative"},
	};
	json_error_t je;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *o = sample_object();
		json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY, &je);

		assert_non_null(v);
		json_object_set_new(o, cases[i].key, v);
		assert_object_refused(o, cases[i].want);
	}
	{
		json_t *o = sample_object();

		json_object_set_new(json_object_get(o, "limits"), "max_line",
		    json_integer(-5));
		assert_object_refused(o, "limits.max_line is negative");
	}
}

/* Any prefix or one-byte change of a good reply: 0 or -1 with a reason. */
static void
test_never_crashes(void **state)
{
	static const char bytes[] = {'\0', '"', '}', ']', ',', '\\', '\xff',
	    '9', '-', '\n'};
	static char copy[ECHOD_CTL_MAX_REPLY];
	struct echod_status st;
	size_t n;

	(void)state;
	sample(&st);
	n = write_reply(&st);
	for (size_t k = 0; k < n; k++) {
		err[0] = '\0';
		/* Only the whole line, with or without its LF, is a reply. */
		memcpy(copy, reply, k);
		if (statusreply_parse(copy, k, &st, err, sizeof(err)) == 0)
			assert_int_equal(k, n - 1);
		else
			assert_true(err[0] != '\0');
	}
	for (size_t k = 0; k < n; k++)
		for (size_t b = 0; b < sizeof(bytes); b++) {
			memcpy(copy, reply, n);
			copy[k] = bytes[b];
			err[0] = '\0';
			if (statusreply_parse(copy, n, &st, err, sizeof(err)) == -1)
				assert_true(err[0] != '\0');
		}
}

/* What status_print writes for st. */
static char *
printed(const struct echod_status *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	statusreply_print(f, st);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/*
 * An echod from before the cluster sends none: the reply is good, and
 * the summary has no cluster line. One host sends only "off".
 */
static void
test_cluster_optional(void **state)
{
	struct echod_status want, out;
	json_t *o;
	char *text;

	(void)state;
	sample(&want);
	memset(&want.cluster, 0, sizeof(want.cluster));
	o = sample_object();
	json_object_del(o, "cluster");
	assert_int_equal(parse_object(o, &out), 0);
	assert_memory_equal(&want, &out, sizeof(want));
	text = printed(&out);
	assert_null(strstr(text, "cluster"));
	free(text);
	/* "off": the rest, if any, is not looked at. */
	o = sample_object();
	json_object_set_new(o, "cluster",
	    json_pack("{s:s, s:s}", "state", "off", "nodes", "many"));
	strcpy(want.cluster.state, ECHOD_CLUSTER_OFF);
	assert_int_equal(parse_object(o, &out), 0);
	assert_memory_equal(&want, &out, sizeof(want));
	/* As echod writes it. */
	assert_int_equal(statusreply_parse(reply, write_reply(&want), &out, err,
			     sizeof(err)), 0);
	assert_memory_equal(&want, &out, sizeof(want));
	assert_non_null(strstr(reply, ",\"cluster\":{\"state\":\"off\"},"));
}

static void
test_print(void **state)
{
	struct echod_status st;
	char *out;

	(void)state;
	sample(&st);
	out = printed(&st);
	assert_string_equal(out,
	    "echod 0.1.0 (pid 4321), up 1d 01h 01m 01s\n"
	    "  config:       /etc/echod.ini\n"
	    "  listening:    127.0.0.1:5188, [::1]:5188\n"
	    "  connections:  5 live (3 echo, 2 chat); 1 room\n"
	    "  cluster:      node n1, redis up; 2 nodes, 7 members in 3 rooms "
	    "across nodes\n"
	    "  totals:       1234 served, 7 refused; 3.0 MiB echoed, 99 chat "
	    "messages relayed\n"
	    "  data plane:   engine pid 4322, restarting, 3 restarts; 4 spare "
	    "workers\n"
	    "  log:          12 lines lost\n"
	    "  limits:       max_connections 1024, max_per_source 64, "
	    "ipv6_prefix 64,\n"
	    "                backlog 128, first_byte_timeout 10 s, "
	    "idle_timeout 300 s,\n"
	    "                shutdown_timeout 10 s, spares 4, "
	    "max_line 1024 bytes,\n"
	    "                max_backlog 262144 bytes, max_rooms 100, "
	    "max_members_per_room 50,\n"
	    "                greeting_wait 250 ms, rate_lines 20/s, "
	    "rate_bytes 8192 bytes/s,\n"
	    "                rate_burst_lines 128, rate_burst_bytes 65536 "
	    "bytes, history 100 lines,\n"
	    "                history_bytes 131072 bytes, history_total 16777216 "
	    "bytes, crowd 50 members,\n"
	    "                crowd_interval 1000 ms\n");
	free(out);
	/* No engine, nothing lost, ones, nothing to listen on. */
	st.engine_pid = 0;
	strcpy(st.engine_state, ECHOD_ENGINE_NOT_ANSWERING);
	st.engine_restarts = 1;
	st.spares = 1;
	st.log_lines_lost = 0;
	st.listen.n = 0;
	st.rooms = 2;
	st.messages_relayed = 1;
	st.bytes_echoed = 1;
	st.uptime_s = 59;
	out = printed(&st);
	assert_non_null(strstr(out, "(pid 4321), up 59s\n"));
	assert_non_null(strstr(out, "  listening:    nothing\n"));
	assert_non_null(strstr(out, "; 2 rooms\n"));
	assert_non_null(strstr(out, "; 1 bytes echoed, 1 chat message "
				    "relayed\n"));
	assert_non_null(strstr(out, "  data plane:   no engine process, "
				    "not-answering, 1 restart; 1 spare "
				    "worker\n"));
	assert_null(strstr(out, "log:"));
	free(out);
	/* The cluster: ones, each state, one host. */
	static const struct {
		const char *state, *want;
	} cl[] = {
	    {"up", "  cluster:      node n1, redis up; 1 node, 1 member in 1 "
		   "room across nodes\n"},
	    {"down", "  cluster:      node n1, redis down (chat refused until "
		     "it is back)\n"},
	    {"connecting", "  cluster:      node n1, connecting to redis\n"},
	    {"sleepy", "  cluster:      node n1, redis sleepy\n"},
	    {"off", "  cluster:      off (one host)\n"},
	};
	st.cluster.nodes = st.cluster.members = st.cluster.rooms = 1;
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		strcpy(st.cluster.state, cl[i].state);
		out = printed(&st);
		if (strstr(out, cl[i].want) == NULL)
			fail_msg("for %s: want \"%s\" in:\n%s", cl[i].state,
			    cl[i].want, out);
		free(out);
	}
}

/* Every string from the reply reaches the terminal escaped. */
static void
test_print_escapes(void **state)
{
	struct echod_status st;
	char *out;

	(void)state;
	sample(&st);
	strcpy(st.version, "1\x1b]0;owned\x07");
	strcpy(st.config, "/tmp/\x1b[2J\r.ini");
	strcpy(st.listen.v[1], "\xe2\x80\xae:1");
	strcpy(st.engine_state, "\x1b[31mred\x7f");
	strcpy(st.cluster.node, "\x1b[8mn1");
	out = printed(&st);
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\x07'));
	assert_null(strchr(out, '\x7f'));
	assert_null(strstr(out, "\xe2\x80\xae"));
	assert_non_null(strstr(out, "echod 1^[]0;owned^G (pid"));
	assert_non_null(strstr(out, "  config:       /tmp/^[[2J^M.ini\n"));
	assert_non_null(strstr(out, ", <U+202E>:1\n"));
	assert_non_null(strstr(out, "engine pid 4322, ^[[31mred^?, 3"));
	assert_non_null(strstr(out, "cluster:      node ^[[8mn1, redis up"));
	free(out);
	strcpy(st.cluster.state, "\x1b[5m");
	out = printed(&st);
	assert_null(strchr(out, '\x1b'));
	assert_non_null(strstr(out, ", redis ^[[5m\n"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_unknown_members_ignored),
		cmocka_unit_test(test_not_a_status_reply),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_missing_members_named),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_cluster_optional),
		cmocka_unit_test(test_never_crashes),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_escapes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
