/* cmocka: daemon/control.c's pure parts: requests, policy, STATUS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "control.h"
#include "json.h"
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

struct fixture {
	struct config cfg;
	struct listen_set ls;
	struct sv_stats st;
	struct control_status cs;
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
	    .cfg = &f->cfg};
}

static void
test_status_has_exactly_the_protocol_fields(void **state)
{
	static const char *const fields[] = {"version", "pid", "uptime_s",
	    "config", "listen", "workers", "echo_connections", "chat_members",
	    "rooms", "connections_total", "rejected_total", "bytes_echoed",
	    "messages_relayed", "limits"};
	struct fixture f;
	char buf[4096], s[64];
	struct json_span top, k, v, el;
	uint64_t n;
	size_t it = 0, nfields = 0;
	int len;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	len = control_format_status(&f.cs, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal((size_t)len, strlen(buf));
	/* One line: LF at the end and nowhere else. */
	assert_int_equal(buf[len - 1], '\n');
	assert_null(memchr(buf, '\n', (size_t)len - 1));
	assert_int_equal(json_parse(buf, (size_t)len, &top), 0);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		assert_int_equal(json_get(top, fields[i], &v), 1);
	/* No others, and in the order of PROTOCOL.md. */
	while (json_object_next(top, &it, &k, &v) == 1) {
		assert_true(nfields < sizeof(fields) / sizeof(fields[0]));
		assert_int_equal(json_string(k, s, sizeof(s)), 0);
		assert_string_equal(s, fields[nfields]);
		nfields++;
	}
	assert_int_equal(nfields, sizeof(fields) / sizeof(fields[0]));
	it = 0;

	assert_int_equal(json_get_string(top, "version", s, sizeof(s)), 0);
	assert_string_equal(s, "0.1.0");
	assert_int_equal(json_get_u64(top, "pid", &n), 0);
	assert_int_equal(n, 4321);
	assert_int_equal(json_get_u64(top, "uptime_s", &n), 0);
	assert_int_equal(n, 3723); /* rounded down */
	assert_int_equal(json_get_u64(top, "workers", &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(json_get_u64(top, "echo_connections", &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(json_get_u64(top, "chat_members", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(json_get_u64(top, "bytes_echoed", &n), 0);
	assert_true(n == 1ULL << 40);
	assert_int_equal(json_get_u64(top, "rejected_total", &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(json_get(top, "listen", &v), 1);
	assert_int_equal(json_array_next(v, &it, &el), 1);
	assert_int_equal(json_string(el, s, sizeof(s)), 0);
	assert_string_equal(s, "127.0.0.1:5188");
	assert_int_equal(json_array_next(v, &it, &el), 1);
	assert_int_equal(json_string(el, s, sizeof(s)), 0);
	assert_string_equal(s, "[::1]:5188");
	assert_int_equal(json_array_next(v, &it, &el), 0);
	assert_int_equal(json_get(top, "limits", &v), 1);
	assert_int_equal(json_get_u64(v, "max_connections", &n), 0);
	assert_int_equal(n, f.cfg.max_connections);
	assert_int_equal(json_get_u64(v, "max_per_source", &n), 0);
	assert_int_equal(n, f.cfg.max_per_source);
	assert_int_equal(json_get_u64(v, "idle_timeout", &n), 0);
	assert_int_equal(n, f.cfg.idle_timeout);
	assert_int_equal(json_get_u64(v, "max_backlog", &n), 0);
	assert_int_equal(n, f.cfg.max_backlog);
}

static void
test_status_escapes_the_config_path(void **state)
{
	struct fixture f;
	char buf[4096], s[64];
	struct json_span top;
	int len;

	(void)state;
	fixture_init(&f, "/tmp/a \"b\"\\c\n\x1b[2J\xff.ini");
	len = control_format_status(&f.cs, buf, sizeof(buf));
	assert_true(len > 0);
	assert_null(memchr(buf, '\n', (size_t)len - 1));
	assert_null(memchr(buf, '\x1b', (size_t)len));
	assert_int_equal(json_parse(buf, (size_t)len, &top), 0);
	assert_int_equal(json_get_string(top, "config", s, sizeof(s)), 0);
	/* Quotes, backslash and controls survive; the bad byte is U+FFFD. */
	assert_string_equal(s, "/tmp/a \"b\"\\c\n\x1b[2J\xef\xbf\xbd.ini");
}

static void
test_status_empty_listen_and_too_small(void **state)
{
	struct fixture f;
	char buf[4096];
	struct json_span top, v, el;
	size_t it = 0;
	int len;

	(void)state;
	fixture_init(&f, "/etc/echod.ini");
	f.ls.n = 0;
	len = control_format_status(&f.cs, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(json_parse(buf, (size_t)len, &top), 0);
	assert_int_equal(json_get(top, "listen", &v), 1);
	assert_int_equal(json_array_next(v, &it, &el), 0);
	/* Does not fit: -1, never a cut reply. */
	assert_int_equal(control_format_status(&f.cs, buf, 64), -1);
	assert_int_equal(control_format_status(&f.cs, buf, (size_t)len), -1);
	assert_int_equal(
	    control_format_status(&f.cs, buf, (size_t)len + 1), len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_request),
	    cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_status_has_exactly_the_protocol_fields),
	    cmocka_unit_test(test_status_escapes_the_config_path),
	    cmocka_unit_test(test_status_empty_listen_and_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
