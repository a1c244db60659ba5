/*
 * Make fork cheaper for every child the engine will create.
 *
 * fork() copies page table entries only for mappings that have anonymous
 * pages (an anon_vma). The executable's read-only segments (code, rodata)
 * have none, so the kernel leaves them out and every child takes a page
 * fault for each code or rodata page it touches: about ten per worker on
 * the accept-to-_exit path (22.9 faults per connection before, 12.9
 * after). What that buys in connections/s was +9% in the first A/B and
 * within noise once the worker path itself was trimmed (BENCHMARKS.md,
 * "Where a connection's time goes"); it is kept because it removes work
 * from every child at the cost of one pass at start-up.
 *
 * So, once, before the first fork: map every page of those segments in the
 * engine (MADV_POPULATE_READ), and give each segment an anon_vma by
 * rewriting one byte of it with the same value through /proc/self/mem (a
 * private copy of that one page; the mapping stays read-only and nothing
 * ever becomes writable and executable, so MemoryDenyWriteExecute= holds).
 * From then on fork copies those entries in one pass and children fault
 * only on what they write.
 *
 * Purely an optimisation: any step that fails is skipped silently, and
 * echod works exactly as before.
 */
#include "forkprep.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* The binary is a handful of segments; a sanity bound on the maps walk. */
#define MAX_MAPS_LINES 4096

static bool
prepare(int mem, unsigned long start, unsigned long end)
{
	unsigned char b;

	if (madvise((void *)start, end - start, MADV_POPULATE_READ) == -1)
		return false;
	return pread(mem, &b, 1, (off_t)start) == 1 &&
	    pwrite(mem, &b, 1, (off_t)start) == 1;
}

unsigned
forkprep(void)
{
	char exe[512], line[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	unsigned done = 0;
	FILE *maps;
	int mem;

	if (n <= 0)
		return 0;
	exe[n] = '\0';
	if ((maps = fopen("/proc/self/maps", "re")) == NULL)
		return 0;
	if ((mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC)) == -1) {
		fclose(maps);
		return 0;
	}
	for (int i = 0; i < MAX_MAPS_LINES &&
	    fgets(line, sizeof(line), maps) != NULL; i++) {
		unsigned long start, end;
		char perms[5], *path = strchr(line, '/');

		if (path == NULL || sscanf(line, "%lx-%lx %4s", &start, &end,
		    perms) != 3)
			continue;
		path[strcspn(path, "\n")] = '\0';
		/* Read-only segments of our own binary: code and rodata. */
		if (strcmp(path, exe) != 0 || perms[1] == 'w' ||
		    perms[3] != 'p')
			continue;
		if (prepare(mem, start, end))
			done++;
	}
	close(mem);
	fclose(maps);
	return done;
}
