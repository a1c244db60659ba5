/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Run a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer: `replay_<target> FILE|DIR...`. Used by `make check` to replay
 * the seed corpora and the regression inputs of every crash the fuzzers
 * found. Prints one line per input it could not read, and a count.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (4 * 1024 * 1024)

static int
replay_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1 || fstat(fd, &st) == -1 || st.st_size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* One byte more than needed: malloc(0) may return NULL. */
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	/* An exact-size copy so ASan sees reads past the end. */
	uint8_t *exact = malloc(got ? got : 1);

	if (exact == NULL) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, got);
	free(buf);
	/* The last name printed is the input that failed. */
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(exact, got);
	free(exact);
	return 0;
}

static int
replay_path(const char *path, unsigned *n)
{
	struct stat st;
	struct dirent **ents;
	int k, bad = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return replay_file(path);
	}
	k = scandir(path, &ents, NULL, alphasort);
	if (k < 0)
		return -1;
	for (int i = 0; i < k; i++) {
		char sub[4096];

		if (ents[i]->d_name[0] != '.' &&
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
			ents[i]->d_name) < sizeof(sub) &&
		    replay_path(sub, n) == -1)
			bad = -1;
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int
main(int argc, char **argv)
{
	unsigned n = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &n) == -1)
			bad = 1;
	printf("replayed %u inputs\n", n);
	return bad;
}
