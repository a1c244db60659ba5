/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * forkcost: what one fork + _exit + waitpid costs from this process, which
 * is built three ways (bench.mk): static, dynamic, and dynamic with
 * libsystemd mapped (and its libraries). The difference is why echod's
 * process that forks per connection is a small static program apart from
 * the one that links libsystemd.
 *
 * usage: forkcost SECONDS	prints "N forks/s, p50 US us"
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef FORKCOST_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define MAX_SAMPLES 200000

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	static double lat[MAX_SAMPLES];
	double secs = argc > 1 ? atof(argv[1]) : 2, t0, end;
	size_t n = 0;

#ifdef FORKCOST_SYSTEMD
	/* Make sure libsystemd is loaded and used, as in echod's control plane. */
	(void)sd_booted();
#endif
	if (secs <= 0)
		secs = 2;
	t0 = now();
	end = t0 + secs;
	while (n < MAX_SAMPLES) {
		double a = now();
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			perror("forkcost");
			return 1;
		}
		lat[n++] = now() - a;
		if (lat[n - 1] + a >= end)
			break;
	}
	qsort(lat, n, sizeof(lat[0]), cmp);
	printf("%.0f forks/s, p50 %.0f us\n", n / (now() - t0),
	    n ? lat[n / 2] * 1e6 : 0);
	return 0;
}
