/*
 * echod: a process-per-connection TCP echo and chat daemon.
 *
 * echod [-c FILE] [-t] [-d] [-V] [-h]
 *
 * Runs in the foreground (systemd supervises it: Type=notify), never
 * daemonizes, writes no PID file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctlproto.h"
#include "forkprep.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "supervisor.h"
#include "worker.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: echod [-c FILE] [-t] [-d] [-V] [-h]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -t       check the configuration and exit (0 valid, 1 not)\n"
	    "  -d       log to stderr, even under systemd\n"
	    "  -V       print the version and exit\n"
	    "  -h       this help\n",
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
	/* Static: the struct is large and lives for the whole run. */
	static struct supervisor sv;
	struct config_errors errs = { 0 };
	const char *path = CONFIG_DEFAULT_PATH;
	bool explicit_path = false, test = false, debug = false, missing;
	int ch;

	while ((ch = getopt(argc, argv, "c:tdVh")) != -1) {
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

	notify_init();
	log_init(debug);
	config_defaults(&sv.cfg);
	if (config_load(path, &sv.cfg, &errs, &missing) > 0) {
		if (missing && !explicit_path) {
			config_defaults(&sv.cfg);
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
	snprintf(sv.cfg_path, sizeof(sv.cfg_path), "%s", path);
	sv.cfg_explicit = explicit_path;
	log_set_level(sv.cfg.log_level);
	log_event(LOG_INFO, EV_START, NULL, 0, "echod %s starting (pid %ld)",
	    ECHOD_VERSION, (long)getpid());
	/* Before the first fork: cheaper children (forkprep.c). */
	log_debug("fork: page tables of %u read-only segments shared with "
	    "children", forkprep());
	worker_prefault();
	return supervisor_run(&sv);
}
