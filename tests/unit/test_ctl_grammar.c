/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for ctl/grammar.c, ctl/help.c and ctl/args.c: one meaning per
 * letter, a long name for every option, help that fits 80 columns, and
 * getopt_long driven by the tables.
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "args.h"
#include "grammar.h"
#include "help.h"

static void
test_one_meaning_per_letter_and_name(void **state)
{
	(void)state;
	for (size_t i = 0; i < grammar_nopts; i++) {
		const struct grammar_opt *a = &grammar_opts[i];

		/* Every option has a long name; every short one too. */
		assert_non_null(a->name);
		assert_true(strlen(a->name) > 1);
		assert_non_null(a->help);
		for (size_t j = i + 1; j < grammar_nopts; j++) {
			const struct grammar_opt *b = &grammar_opts[j];

			assert_int_not_equal(a->val, b->val);
			assert_string_not_equal(a->name, b->name);
			if (a->alias != NULL)
				assert_string_not_equal(a->alias, b->name);
			if (b->alias != NULL)
				assert_string_not_equal(b->alias, a->name);
		}
	}
	assert_int_equal(grammar_option('s')->val, 's');
	assert_string_equal(grammar_option('s')->name, "socket");
	assert_string_equal(grammar_option('S')->name, "size");
	assert_null(grammar_option('x'));
}

static void
test_commands_take_known_options_once(void **state)
{
	(void)state;
	for (size_t i = 0; i < grammar_ncmds; i++) {
		const struct grammar_cmd *c = &grammar_cmds[i];

		assert_true(grammar_takes(c, 'h'));
		assert_non_null(c->fn);
		for (size_t k = 0; k < GRAMMAR_MAX_OPTS && c->opts[k]; k++) {
			assert_non_null(grammar_option(c->opts[k]));
			for (size_t m = k + 1; m < GRAMMAR_MAX_OPTS; m++)
				assert_int_not_equal(c->opts[k], c->opts[m]);
		}
	}
	assert_true(grammar_takes(grammar_command("ping", &(size_t){ 0 }),
	    'S'));
	assert_false(grammar_takes(grammar_command("ping", &(size_t){ 0 }),
	    's'));
	assert_true(grammar_takes(grammar_command("status", &(size_t){ 0 }),
	    's'));
	assert_true(grammar_takes(grammar_command("reload", &(size_t){ 0 }),
	    's'));
}

static void
test_command_prefixes(void **state)
{
	size_t n;

	(void)state;
	assert_string_equal(grammar_command("status", &n)->name, "status");
	assert_int_equal(n, 1);
	assert_string_equal(grammar_command("st", &n)->name, "status");
	assert_string_equal(grammar_command("re", &n)->name, "reload");
	assert_string_equal(grammar_command("h", &n)->name, "help");
	assert_null(grammar_command("stats", &n));
	assert_int_equal(n, 0);
	assert_null(grammar_command("", &n));
	assert_int_equal(n, 0);
}

static void
test_getopt_tables(void **state)
{
	char optstring[GRAMMAR_OPTSTRING_MAX];
	struct option lo[GRAMMAR_LONGOPTS_MAX];
	size_t n;

	(void)state;
	assert_int_equal(grammar_getopt(grammar_command("ping", &n), optstring,
	    lo), 0);
	assert_string_equal(optstring, ":c:S:h");
	assert_string_equal(lo[0].name, "count");
	assert_int_equal(lo[0].has_arg, required_argument);
	assert_string_equal(lo[1].name, "size");
	assert_int_equal(lo[1].val, 'S');
	assert_string_equal(lo[2].name, "help");
	assert_int_equal(lo[2].has_arg, no_argument);
	assert_null(lo[3].name);
	assert_int_equal(grammar_getopt(grammar_command("talk", &n), optstring,
	    lo), 0);
	assert_string_equal(optstring, ":n:r:bh");
	assert_string_equal(lo[2].name, "bell");
	assert_int_equal(lo[2].val, 'b');
	assert_string_equal(lo[3].name, "color");
	assert_string_equal(lo[4].name, "colour");
	assert_int_equal(lo[3].val, OPT_COLOR);
	assert_int_equal(lo[3].val, OPT_COLOR);
}

/* Drive args_next over argv; the values it returns, as a string. */
static void
parse(char **argv, int argc, const char *cmd, const char *want)
{
	char got[64] = "";
	int c;

	optind = 0; /* glibc: start over */
	/* At most argc options; '?' ends it, as it ends the commands. */
	for (int i = 0; i < argc && (c = args_next(cmd, argc, argv)) != -1;
	    i++) {
		char one[32];

		snprintf(one, sizeof(one), "%s%c=%s", got[0] ? " " : "",
		    c == OPT_COLOR ? 'C' : c == OPT_JSON ? 'J' : c,
		    optarg ? optarg : "");
		strncat(got, one, sizeof(got) - strlen(got) - 1);
		if (c == '?')
			break;
	}
	assert_string_equal(got, want);
}

static void
test_args_next_long_and_short(void **state)
{
	char *talk[] = { "talk", "host", "--nick=bob", "--colour", "never",
		"-r", "ops", "--col=always", NULL };
	char *ping[] = { "ping", "-c3", "--size", "9", "host", NULL };
	char *status[] = { "status", "--json", "--socket=/x", "-s", "/y",
		NULL };

	(void)state;
	parse(talk, 8, "talk", "n=bob C=never r=ops C=always");
	parse(ping, 5, "ping", "c=3 S=9");
	parse(status, 5, "status", "J= s=/x s=/y");
	/* -s is not ping's: a usage error, not a size. */
	parse((char *[]){ "ping", "-s", "64", "h", NULL }, 4, "ping", "?=");
}

/* Every line of what fn prints is at most 80 columns; returns the text. */
static char *
printed(void (*fn)(FILE *, const struct grammar_cmd *),
    const struct grammar_cmd *c)
{
	char *buf = NULL, *line, *save = NULL, *copy;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (c != NULL)
		fn(f, c);
	else
		help_all(f);
	assert_int_equal(fclose(f), 0);
	copy = strdup(buf);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		assert_in_range(strlen(line), 0, HELP_COLUMNS);
	free(copy);
	return buf;
}

static void
test_help_fits_80_columns_and_lists_every_option(void **state)
{
	char *all = printed(NULL, NULL), *s;

	(void)state;
	for (size_t i = 0; i < grammar_ncmds; i++) {
		const struct grammar_cmd *c = &grammar_cmds[i];

		assert_non_null(strstr(all, c->name));
		s = printed(help_command, c);
		for (size_t k = 0; k < GRAMMAR_MAX_OPTS && c->opts[k]; k++) {
			char want[48];

			snprintf(want, sizeof(want), "--%s",
			    grammar_option(c->opts[k])->name);
			assert_non_null(strstr(s, want));
		}
		assert_non_null(strstr(s, "exit status: 0 success"));
		free(s);
	}
	free(all);
	s = printed(help_synopsis, grammar_command("ping", &(size_t){ 0 }));
	assert_string_equal(s, "chatctl ping HOST[:PORT] [-c COUNT] [-S SIZE]");
	free(s);
	s = printed(help_synopsis, grammar_command("talk", &(size_t){ 0 }));
	assert_string_equal(s,
	    "chatctl talk HOST[:PORT] [-n NICK] [-r ROOM] [-b] [--color=WHEN]");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_meaning_per_letter_and_name),
		cmocka_unit_test(test_commands_take_known_options_once),
		cmocka_unit_test(test_command_prefixes),
		cmocka_unit_test(test_getopt_tables),
		cmocka_unit_test(test_args_next_long_and_short),
		cmocka_unit_test(test_help_fits_80_columns_and_lists_every_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
