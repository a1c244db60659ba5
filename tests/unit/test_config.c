/* SPDX-License-Identifier: GPL-3.0-or-later */
/* cmocka: daemon/config.c, every key, defaults, every invalid case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "config.h"

static unsigned
parse(const char *text, struct config *cfg, struct config_errors *errs)
{
	config_defaults(cfg);
	memset(errs, 0, sizeof(*errs));
	return config_parse_buffer("t.ini", text, strlen(text), cfg, errs);
}

/* The formatted problem i, for exact comparisons. */
static const char *
problem(const struct config_errors *errs, unsigned i)
{
	static char buf[400];

	assert_true(i < errs->n);
	config_error_format("t.ini", &errs->e[i], buf, sizeof(buf));
	return buf;
}

static void
expect_one(const char *text, const char *msg)
{
	struct config cfg;
	struct config_errors errs;

	assert_int_equal(parse(text, &cfg, &errs), 1);
	assert_string_equal(problem(&errs, 0), msg);
}

static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.bind, "127.0.0.1");
	assert_int_equal(cfg.port, 5188);
	assert_int_equal(cfg.max_connections, 1024);
	assert_int_equal(cfg.max_per_source, 64);
	assert_int_equal(cfg.ipv6_prefix, 64);
	assert_int_equal(cfg.first_byte_timeout, 10);
	assert_int_equal(cfg.idle_timeout, 300);
	assert_int_equal(cfg.shutdown_timeout, 10);
	assert_true(cfg.chat_enabled);
	assert_string_equal(cfg.default_room, "lobby");
	assert_int_equal(cfg.max_line, 1024);
	assert_int_equal(cfg.max_backlog, 256 * 1024);
	assert_int_equal(cfg.rate_lines, 20);
	assert_int_equal(cfg.rate_bytes, 8 * 1024);
	assert_int_equal(cfg.rate_burst_lines, 128);
	assert_int_equal(cfg.rate_burst_bytes, 64 * 1024);
	assert_int_equal(cfg.history, 100);
	assert_int_equal(cfg.history_bytes, 128 * 1024);
	assert_int_equal(cfg.history_total, 16 * 1024 * 1024);
	assert_int_equal(cfg.crowd, 50);
	assert_int_equal(cfg.crowd_interval, 1000);
	assert_int_equal(cfg.log_connections, LOG_CONN_YES);
	assert_true(cfg.log_peer_addresses);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_string_equal(cfg.control_socket, "/run/echod/control.sock");
	assert_int_equal(cfg.control_mode, 0660);
}

static void
test_empty_file_is_valid(void **state)
{
	struct config cfg, def;
	struct config_errors errs;

	(void)state;
	assert_int_equal(parse("", &cfg, &errs), 0);
	config_defaults(&def);
	strcpy(def.path, "t.ini");
	assert_memory_equal(&cfg, &def, sizeof(cfg));
	assert_int_equal(parse("; only a comment\n\n# another\n", &cfg, &errs),
	    0);
}

static void
test_every_key(void **state)
{
	struct config cfg;
	struct config_errors errs;
	const char *text =
	    "[server]\n"
	    "bind = ::\n"
	    "port = 7\n"
	    "backlog = 16\n"
	    "max_connections = 10000\n"
	    "max_per_source = 3\n"
	    "ipv6_prefix = 48\n"
	    "first_byte_timeout = 0\n"
	    "idle_timeout = 0\n"
	    "shutdown_timeout = 2\n"
	    "spares = 0\n"
	    "[chat]\n"
	    "enabled = no\n"
	    "default_room = Main.room-1\n"
	    "max_line = 4096\n"
	    "max_backlog = 1M\n"
	    "max_rooms = 5\n"
	    "max_members_per_room = 6\n"
	    "greeting_wait = 0\n"
	    "rate_lines = 0\n"
	    "rate_bytes = 2M\n"
	    "rate_burst_lines = 1\n"
	    "rate_burst_bytes = 16K\n"
	    "history = 0\n"
	    "history_bytes = 2K\n"
	    "history_total = 1M\n"
	    "crowd = 0\n"
	    "crowd_interval = 100\n"
	    "[log]\n"
	    "connections = off\n"
	    "peer_addresses = false\n"
	    "level = debug\n"
	    "[control]\n"
	    "socket = /tmp/x.sock\n"
	    "mode = 0600\n";

	(void)state;
	assert_int_equal(parse(text, &cfg, &errs), 0);
	assert_string_equal(cfg.bind, "::");
	assert_int_equal(cfg.port, 7);
	assert_int_equal(cfg.backlog, 16);
	assert_int_equal(cfg.max_connections, 10000);
	assert_int_equal(cfg.max_per_source, 3);
	assert_int_equal(cfg.ipv6_prefix, 48);
	assert_int_equal(cfg.first_byte_timeout, 0);
	assert_int_equal(cfg.idle_timeout, 0);
	assert_int_equal(cfg.shutdown_timeout, 2);
	assert_int_equal(cfg.spares, 0);
	assert_false(cfg.chat_enabled);
	assert_string_equal(cfg.default_room, "Main.room-1");
	assert_int_equal(cfg.max_line, 4096);
	assert_int_equal(cfg.max_backlog, 1024 * 1024);
	assert_int_equal(cfg.max_rooms, 5);
	assert_int_equal(cfg.max_members_per_room, 6);
	assert_int_equal(cfg.greeting_wait, 0);
	assert_int_equal(cfg.rate_lines, 0);
	assert_int_equal(cfg.rate_bytes, 2 * 1024 * 1024);
	assert_int_equal(cfg.rate_burst_lines, 1);
	assert_int_equal(cfg.rate_burst_bytes, 16 * 1024);
	assert_int_equal(cfg.history, 0);
	assert_int_equal(cfg.history_bytes, 2 * 1024);
	assert_int_equal(cfg.history_total, 1024 * 1024);
	assert_int_equal(cfg.crowd, 0);
	assert_int_equal(cfg.crowd_interval, 100);
	assert_int_equal(cfg.log_connections, LOG_CONN_NO);
	assert_false(cfg.log_peer_addresses);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_string_equal(cfg.control_socket, "/tmp/x.sock");
	assert_int_equal(cfg.control_mode, 0600);
}

static void
test_syntax_variants(void **state)
{
	struct config cfg;
	struct config_errors errs;

	(void)state;
	/* Indented keys, CRLF, inline comments, ':' separator, a BOM. */
	assert_int_equal(parse("\xEF\xBB\xBF[server]\r\n"
			       "   port = 99 ; inline comment\r\n"
			       "\tbind: 10.0.0.1\r\n"
			       "  idle_timeout = 5\n",
			     &cfg, &errs),
	    0);
	assert_int_equal(cfg.port, 99);
	assert_string_equal(cfg.bind, "10.0.0.1");
	/* Indentation after a key is not a continuation of it. */
	assert_int_equal(cfg.idle_timeout, 5);
}

static void
test_port_errors(void **state)
{
	(void)state;
	expect_one("[server]\nport = 70000\n",
	    "t.ini:2: port: 70000 is not between 1 and 65535");
	expect_one("[server]\nport = 0\n",
	    "t.ini:2: port: 0 is not between 1 and 65535");
	expect_one("[server]\nport = -1\n",
	    "t.ini:2: port: -1 is not between 1 and 65535");
	expect_one("[server]\nport = 99999999999\n",
	    "t.ini:2: port: 99999999999 is not between 1 and 65535");
	expect_one("[server]\nport = 123456789012345678901234567890\n",
	    "t.ini:2: port: 123456789012345678901234567890 is not between 1 "
	    "and 65535");
	expect_one("[server]\nport = 80x\n",
	    "t.ini:2: port: \"80x\" is not a number");
	expect_one("[server]\nport =\n", "t.ini:2: port: no value");
}

static void
test_other_value_errors(void **state)
{
	(void)state;
	expect_one("[chat]\nenabled = maybe\n",
	    "t.ini:2: enabled: \"maybe\" is not yes or no");
	expect_one("[chat]\nmax_backlog = 12Q\n",
	    "t.ini:2: max_backlog: \"12Q\" is not a size (a number of bytes, or "
	    "with K or M)");
	expect_one("[chat]\nmax_backlog = 100\n",
	    "t.ini:2: max_backlog: 100 is not between 4096 and 67108864");
	expect_one("[chat]\nrate_lines = 100001\n",
	    "t.ini:2: rate_lines: 100001 is not between 0 and 100000");
	expect_one("[chat]\nrate_lines = -1\n",
	    "t.ini:2: rate_lines: -1 is not between 0 and 100000");
	expect_one("[chat]\nrate_bytes = 65M\n",
	    "t.ini:2: rate_bytes: 65M is not between 0 and 67108864");
	expect_one("[chat]\nrate_burst_lines = 0\n",
	    "t.ini:2: rate_burst_lines: 0 is not between 1 and 100000");
	expect_one("[chat]\nrate_burst_bytes = 0\n",
	    "t.ini:2: rate_burst_bytes: 0 is not between 1 and 67108864");
	expect_one("[chat]\nhistory = 10001\n",
	    "t.ini:2: history: 10001 is not between 0 and 10000");
	expect_one("[chat]\nhistory_bytes = 1023\n",
	    "t.ini:2: history_bytes: 1023 is not between 1024 and 67108864");
	expect_one("[chat]\ncrowd = 100001\n",
	    "t.ini:2: crowd: 100001 is not between 0 and 100000");
	expect_one("[chat]\ncrowd_interval = 99\n",
	    "t.ini:2: crowd_interval: 99 is not between 100 and 60000");
	expect_one("[chat]\nhistory_total = 1025M\n",
	    "t.ini:2: history_total: 1025M is not between 65536 and "
	    "1073741824");
	expect_one("[chat]\ndefault_room = no spaces\n",
	    "t.ini:2: default_room: \"no spaces\" is not a room name (1 to 32 "
	    "of A-Z a-z 0-9 _ . -)");
	expect_one("[log]\nlevel = loud\n",
	    "t.ini:2: level: \"loud\" is not one of err, warning, notice, "
	    "info, debug");
	expect_one("[control]\nsocket = relative.sock\n",
	    "t.ini:2: socket: \"relative.sock\" is not an absolute path");
	expect_one("[control]\nmode = 0999\n",
	    "t.ini:2: mode: \"0999\" is not an octal mode like 0660");
	expect_one("[server]\nmax_connections = 100001\n",
	    "t.ini:2: max_connections: 100001 is not between 1 and 100000");
	expect_one("[server]\nspares = 65\n",
	    "t.ini:2: spares: 65 is not between 0 and 64");
	expect_one("[server]\nipv6_prefix = 129\n",
	    "t.ini:2: ipv6_prefix: 129 is not between 0 and 128");
	expect_one("[server]\nipv6_prefix = /64\n",
	    "t.ini:2: ipv6_prefix: \"/64\" is not a number");
	expect_one("[server]\nfirst_byte_timeout = 3601\n",
	    "t.ini:2: first_byte_timeout: 3601 is not between 0 and 3600");
	expect_one("[server]\nfirst_byte_timeout = 10s\n",
	    "t.ini:2: first_byte_timeout: \"10s\" is not a number");
	expect_one("[log]\nconnections = closed\n",
	    "t.ini:2: connections: \"closed\" is not yes, no or close");
}

/* [log] connections takes the booleans and "close". */
static void
test_log_connections(void **state)
{
	const char *in[] = { "yes", "on", "close", "no", "false" };
	const int want[] = { LOG_CONN_YES, LOG_CONN_YES, LOG_CONN_CLOSE,
		LOG_CONN_NO, LOG_CONN_NO };

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char text[64];
		struct config cfg;
		struct config_errors errs;

		snprintf(text, sizeof(text), "[log]\nconnections = %s\n",
		    in[i]);
		assert_int_equal(parse(text, &cfg, &errs), 0);
		assert_int_equal(cfg.log_connections, want[i]);
	}
}

static void
test_structure_errors(void **state)
{
	(void)state;
	expect_one("[servr]\nport = 1\n",
	    "t.ini:1: [servr]: unknown section (expected [server], [chat], [cluster], "
	    "[log] or [control])");
	expect_one("[server]\nbnid = 1.2.3.4\n",
	    "t.ini:2: bnid: unknown key in [server]");
	expect_one("[server]\nmax_line = 5\n",
	    "t.ini:2: max_line: unknown key in [server]");
	expect_one("port = 5\n",
	    "t.ini:1: port: key outside any section (put it under [server], "
	    "[chat], [cluster], [log] or [control])");
	expect_one("[server]\nport = 1\nport = 2\n",
	    "t.ini:3: port: duplicate key (first set on line 2)");
	expect_one("[server]\njust words\n",
	    "t.ini:2: syntax error: expected \"key = value\" or \"[section]\"");
	expect_one("[server\n",
	    "t.ini:1: syntax error: section header without ']'");
	expect_one("[server]\n= 5\n", "t.ini:2: syntax error: no key before '='");
}

static void
test_every_problem_reported(void **state)
{
	struct config cfg;
	struct config_errors errs;
	const char *text = "[servr]\n"        /* 1 */
			   "port = 1\n"       /* 2: under unknown section */
			   "[server]\n"       /* 3 */
			   "port = 70000\n"   /* 4 */
			   "bnid = x\n"       /* 5 */
			   "garbage\n"        /* 6 */
			   "[chat]\n"         /* 7 */
			   "enabled = maybe\n"; /* 8 */

	(void)state;
	assert_int_equal(parse(text, &cfg, &errs), 5);
	assert_int_equal(errs.e[0].line, 1);
	assert_int_equal(errs.e[1].line, 4);
	assert_int_equal(errs.e[2].line, 5);
	assert_int_equal(errs.e[3].line, 6);
	assert_int_equal(errs.e[4].line, 8);
	/* Nothing valid in a broken file leaks into the result's port. */
	assert_int_equal(cfg.port, 5188);
}

static void
test_long_line_and_nul(void **state)
{
	struct config cfg;
	struct config_errors errs;
	static char big[1024 * 1024 + 64];

	(void)state;
	/* A 1 MB line is one problem on one line, not thousands. */
	strcpy(big, "[server]\nbind = ");
	memset(big + strlen(big), 'a', 1024 * 1024);
	strcat(big, "\nport = 6\n");
	assert_int_equal(parse(big, &cfg, &errs), 1);
	assert_int_equal(errs.e[0].line, 2);
	assert_non_null(strstr(errs.e[0].msg, "line is too long"));
	assert_int_equal(cfg.port, 6);

	config_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(config_parse_buffer("t.ini", "[server]\npo\0rt = 1\n",
			     19, &cfg, &errs),
	    1);
	assert_string_equal(problem(&errs, 0),
	    "t.ini:2: line contains a NUL byte");
}

static void
test_binary_garbage(void **state)
{
	struct config cfg;
	struct config_errors errs;
	char junk[4096];
	uint32_t x = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (char)(x >> 16);
	}
	config_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	/* Many problems, bounded storage, no crash. */
	assert_true(config_parse_buffer("t.ini", junk, sizeof(junk), &cfg,
			&errs) > 0);
	assert_true(errs.n <= CONFIG_MAX_ERRORS);
}

static void
test_too_many_errors_counted(void **state)
{
	struct config cfg;
	struct config_errors errs;
	char text[8192] = "[server]\n";

	(void)state;
	for (int i = 0; i < 50; i++)
		strcat(text, "nope = 1\n");
	assert_int_equal(parse(text, &cfg, &errs), 50);
	assert_int_equal(errs.n, CONFIG_MAX_ERRORS);
	assert_int_equal(errs.dropped, 50 - CONFIG_MAX_ERRORS);
}

static void
test_shipped_file(void **state)
{
	struct config cfg, def;
	struct config_errors errs = { 0 };
	bool missing;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load(ECHOD_SRCDIR "/conf/echod.ini", &cfg,
			     &errs, &missing),
	    0);
	/* It documents every key with its default: parsing changes nothing. */
	config_defaults(&def);
	strcpy(def.path, cfg.path);
	assert_memory_equal(&cfg, &def, sizeof(cfg));
}

static void
test_load_errors(void **state)
{
	struct config cfg;
	struct config_errors errs = { 0 };
	bool missing;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_load("/nonexistent/echod.ini", &cfg, &errs,
			     &missing),
	    1);
	assert_true(missing);
	assert_string_equal(errs.e[0].msg,
	    "cannot open: No such file or directory");
	memset(&errs, 0, sizeof(errs));
	assert_int_equal(config_load("/", &cfg, &errs, &missing), 1);
	assert_false(missing);
	assert_string_equal(errs.e[0].msg, "not a regular file");
}

static void
test_cluster_and_proxy_keys(void **state)
{
	struct config cfg;
	struct config_errors errs;
	uint8_t k[16] = { 0 };

	(void)state;
	assert_int_equal(parse("[cluster]\nredis = 10.0.0.5:6379\nnode = web-1:5188\n"
	    "[server]\nproxy_protocol = yes\n"
	    "proxy_trusted = 10.0.0.0/8, 192.168.1.7 2001:db8::/32\n",
	    &cfg, &errs), 0);
	assert_string_equal(cfg.cluster_redis, "10.0.0.5:6379");
	assert_string_equal(cfg.cluster_node, "web-1:5188");
	assert_true(cfg.proxy_protocol);
	assert_int_equal(cfg.nproxy_trusted, 3);
	/* 10.1.2.3 as an IPv4-mapped key is in 10.0.0.0/8, 11.0.0.1 not. */
	k[10] = k[11] = 0xff;
	k[12] = 10, k[13] = 1, k[14] = 2, k[15] = 3;
	assert_true(config_cidr_match(cfg.proxy_trusted, cfg.nproxy_trusted, k));
	k[12] = 11;
	assert_false(config_cidr_match(cfg.proxy_trusted, cfg.nproxy_trusted, k));
	k[12] = 192, k[13] = 168, k[14] = 1, k[15] = 7;
	assert_true(config_cidr_match(cfg.proxy_trusted, cfg.nproxy_trusted, k));
	k[15] = 8; /* a single address is a /32 */
	assert_false(config_cidr_match(cfg.proxy_trusted, cfg.nproxy_trusted, k));
	assert_int_equal(parse("[cluster]\nredis = unix:/run/redis/redis.sock\n",
	    &cfg, &errs), 0);
	assert_int_equal(parse("[cluster]\nredis = localhost:6379\n", &cfg,
	    &errs), 0);
	assert_int_equal(parse("[cluster]\nredis = [::1]:6379\n", &cfg, &errs),
	    0);
	expect_one("[cluster]\nredis = redis.example:6379\n",
	    "t.ini:2: redis: \"redis.example\": the host must be an IP address "
	    "or localhost (the hub resolves no names)");
	expect_one("[cluster]\nredis = 10.0.0.5\n",
	    "t.ini:2: redis: \"10.0.0.5\" is not HOST:PORT (the port is 1 to "
	    "65535) or unix:/PATH");
	expect_one("[cluster]\nredis = unix:run/redis.sock\n",
	    "t.ini:2: redis: \"unix:run/redis.sock\": unix: needs an absolute "
	    "path");
	expect_one("[cluster]\nnode = web 1\n",
	    "t.ini:2: node: \"web 1\" is not a node name (1 to 63 of A-Z a-z "
	    "0-9 _ . : -)");
	expect_one("[server]\nproxy_trusted = 10.1.2.3/8\n",
	    "t.ini:2: proxy_trusted: \"10.1.2.3/8\" is not an address or "
	    "ADDRESS/PREFIX (with the bits past the prefix zero)");
	expect_one("[server]\nproxy_trusted = 10.0.0.0/33\n",
	    "t.ini:2: proxy_trusted: \"10.0.0.0/33\" is not an address or "
	    "ADDRESS/PREFIX (with the bits past the prefix zero)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_file_is_valid),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_syntax_variants),
		cmocka_unit_test(test_port_errors),
		cmocka_unit_test(test_other_value_errors),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_log_connections),
		cmocka_unit_test(test_every_problem_reported),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_too_many_errors_counted),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_cluster_and_proxy_keys),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
