/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The INI parser, through config_parse_buffer: the same code path as
 * `echod -t`, start-up and reload (config_load reads the file, then calls
 * it). Properties:
 * - a config either parses (0 problems) or reports >= 1 problem, and the
 *   count returned is what was recorded;
 * - every problem has a line number within the input (1 .. lines) and
 *   NUL-terminated, formattable key and message;
 * - a config that parses holds only values in their documented ranges;
 * - parsing is deterministic: the same input twice gives the same result.
 */
#include <string.h>
#include <syslog.h>

#include "chatproto.h"
#include "config.h"
#include "fuzz.h"

static unsigned
count_lines(const uint8_t *data, size_t size)
{
	unsigned lines = 0;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	if (size > 0 && data[size - 1] != '\n')
		lines++;
	return lines;
}

static void
check_valid(const struct config *c)
{
	FUZZ_ASSERT(strcmp(c->path, "fuzz.ini") == 0);
	FUZZ_ASSERT(memchr(c->bind, '\0', sizeof(c->bind)) != NULL);
	FUZZ_ASSERT(c->port >= 1);
	FUZZ_ASSERT(c->backlog >= 1 && c->backlog <= 65535);
	FUZZ_ASSERT(c->max_connections >= 1 &&
	    c->max_connections <= ECHOD_MAX_CONNECTIONS);
	FUZZ_ASSERT(c->max_per_source >= 1 &&
	    c->max_per_source <= ECHOD_MAX_CONNECTIONS);
	FUZZ_ASSERT(c->idle_timeout <= 7 * 24 * 3600);
	FUZZ_ASSERT(c->shutdown_timeout <= 3600);
	FUZZ_ASSERT(c->spares <= ECHOD_MAX_SPARES);
	FUZZ_ASSERT(chat_valid_name(c->default_room, strlen(c->default_room)));
	FUZZ_ASSERT(c->max_line >= 64 && c->max_line <= 65536);
	FUZZ_ASSERT(
	    c->max_backlog >= 4096 && c->max_backlog <= 64 * 1024 * 1024);
	FUZZ_ASSERT(c->max_rooms >= 1 && c->max_rooms <= 100000);
	FUZZ_ASSERT(c->max_members_per_room >= 1 &&
	    c->max_members_per_room <= ECHOD_MAX_CONNECTIONS);
	FUZZ_ASSERT(c->greeting_wait <= 10000);
	FUZZ_ASSERT(strcmp(config_level_name(c->log_level), "?") != 0);
	FUZZ_ASSERT(
	    memchr(c->control_socket, '\0', sizeof(c->control_socket)) != NULL);
	FUZZ_ASSERT(c->control_socket[0] == '/');
	FUZZ_ASSERT(c->control_mode <= 0777);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg, again;
	static struct config_errors errs, errs2;
	unsigned n, n2, lines = count_lines(data, size);
	char line[400];

	config_defaults(&cfg);
	memset(&errs, 0, sizeof(errs));
	n = config_parse_buffer("fuzz.ini", (const char *)data, size, &cfg,
	    &errs);
	FUZZ_ASSERT(n == errs.n + errs.dropped);
	FUZZ_ASSERT(errs.n <= CONFIG_MAX_ERRORS);
	FUZZ_ASSERT(errs.dropped == 0 || errs.n == CONFIG_MAX_ERRORS);
	for (unsigned i = 0; i < errs.n; i++) {
		const struct config_error *e = &errs.e[i];

		FUZZ_ASSERT(e->line >= 1 && e->line <= lines);
		FUZZ_ASSERT(memchr(e->key, '\0', sizeof(e->key)) != NULL);
		FUZZ_ASSERT(memchr(e->msg, '\0', sizeof(e->msg)) != NULL);
		FUZZ_ASSERT(e->msg[0] != '\0');
		config_error_format("fuzz.ini", e, line, sizeof(line));
		FUZZ_ASSERT(strncmp(line, "fuzz.ini:", 9) == 0);
	}
	if (n == 0)
		check_valid(&cfg);

	config_defaults(&again);
	memset(&errs2, 0, sizeof(errs2));
	n2 = config_parse_buffer("fuzz.ini", (const char *)data, size, &again,
	    &errs2);
	FUZZ_ASSERT(n2 == n);
	FUZZ_ASSERT(memcmp(&errs, &errs2, sizeof(errs)) == 0);
	if (n == 0)
		FUZZ_ASSERT(memcmp(&cfg, &again, sizeof(cfg)) == 0);
	return 0;
}
