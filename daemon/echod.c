/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * echod: a process-per-connection TCP echo and chat daemon; this is its
 * control plane's main() (ctlplane.h).
 *
 * echod [-c FILE] [-t] [-d] [-V] [-h]
 *
 * Runs in the foreground (systemd supervises it: Type=notify), never
 * daemonizes, writes no PID file.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctlplane.h"
#include "ctlproto.h"
#include "journal.h"
#include "listener.h"
#include "log.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: echod [-c FILE] [-t] [-d] [-V] [-h]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "  -t, --test         check the configuration and exit (0 valid, "
	    "1 not)\n"
	    "  -d, --debug        log to stderr, even under systemd\n"
	    "  -V, --version      print the version and exit\n"
	    "  -h, --help         this help\n"
	    "See echod(8) and echod.ini(5).\n",
	    CONFIG_DEFAULT_PATH);
}

/* -t: print every problem as FILE:LINE: key: message; 0 if none. */
static int
check_config(const char *path, bool explicit_path)
{
	struct config cfg;
	struct config_errors errs = { 0 };
	struct listen_set ls;
	char line[320];
	bool missing;
	unsigned n;

	config_defaults(&cfg);
	n = config_load(path, &cfg, &errs, &missing);
	if (n > 0 && missing && !explicit_path) {
		printf("%s: not found; built-in defaults are valid\n", path);
		return 0;
	}
	for (unsigned i = 0; i < errs.n; i++) {
		config_error_format(path, &errs.e[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (errs.dropped)
		fprintf(stderr, "%s: %u more problems not shown\n", path,
		    errs.dropped);
	if (n == 0 && listen_resolve(&cfg, &ls, line, sizeof(line)) == -1) {
		fprintf(stderr, "%s: %s\n", path, line);
		n = 1;
	}
	if (n > 0) {
		fprintf(stderr, "%s: %u problem%s\n", path, n,
		    n == 1 ? "" : "s");
		return 1;
	}
	printf("%s: ok\n", path);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "test", no_argument, NULL, 't' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Static: the struct is large. */
	static struct config cfg;
	struct config_errors errs = { 0 };
	const char *path = CONFIG_DEFAULT_PATH;
	bool explicit_path = false, test = false, debug = false, missing;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:tdVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			explicit_path = true;
			break;
		case 't':
			test = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'V':
			printf("echod %s\n", ECHOD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "echod: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (test)
		return check_config(path, explicit_path);

	journal_init(debug);
	log_set_sink(journal_write);
	config_defaults(&cfg);
	if (config_load(path, &cfg, &errs, &missing) > 0) {
		if (missing && !explicit_path) {
			config_defaults(&cfg);
			log_event(LOG_NOTICE, EV_CONFIG_NOTICE, NULL, 0,
			    "%s not found; using built-in defaults", path);
		} else {
			char line[320];

			for (unsigned i = 0; i < errs.n; i++) {
				config_error_format(path, &errs.e[i], line,
				    sizeof(line));
				log_event(LOG_ERR, EV_CONFIG_NOTICE, NULL, 0,
				    "%s", line);
			}
			log_event(LOG_CRIT, EV_NONE, NULL, 0,
			    "%s: %u problem%s; not starting", path,
			    errs.n + errs.dropped,
			    errs.n + errs.dropped == 1 ? "" : "s");
			return 1;
		}
	}
	return ctlplane_run(&cfg, path, explicit_path);
}
