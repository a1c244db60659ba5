/* chatctl status, reload: built with the operations issue. */
#include <stdio.h>

#include "chatctl.h"

int
cmd_status(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "chatctl: status is not built yet\n");
	return EXIT_USAGE;
}

int
cmd_reload(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "chatctl: reload is not built yet\n");
	return EXIT_USAGE;
}
