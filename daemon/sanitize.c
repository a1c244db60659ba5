/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sanitizer builds only (make SANITIZE=1): LeakSanitizer for children.
 *
 * LeakSanitizer checks a process when it calls exit() or returns from
 * main. Workers, spares and the hub end with _exit, as forked children
 * should, and so would never be checked. In sanitizer builds echod is
 * linked with -Wl,--wrap=_exit: every _exit in echod's own code lands
 * here, runs a leak check and then really exits. A leak is reported
 * (to ASAN_OPTIONS log_path, which the test harness watches) and turns a
 * zero exit status into 23, LeakSanitizer's own exit code.
 *
 * A leak check in a freshly forked child is costly (tens of ms, mostly
 * page faults while it scans the sanitizer runtime's own globals); one
 * check at start-up, before any fork, faults those pages in once for
 * every child to inherit, and roughly halves the cost.
 *
 * In normal builds this file is empty and nothing is wrapped.
 */
#ifdef ECHOD_SANITIZE

#include <sanitizer/lsan_interface.h>
#include <stdnoreturn.h>
#include <unistd.h>

#define LEAK_EXIT_STATUS 23

noreturn void __wrap__exit(int status);
noreturn void __real__exit(int status);

__attribute__((constructor)) static void
sanitize_warm_up(void)
{
	(void)__lsan_do_recoverable_leak_check();
}

void
__wrap__exit(int status)
{
	if (__lsan_do_recoverable_leak_check() != 0 && status == 0)
		status = LEAK_EXIT_STATUS;
	__real__exit(status);
}

#else

/* ISO C wants something in every translation unit. */
typedef int sanitize_unused;

#endif
