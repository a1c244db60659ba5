/* chatctl talk, who: built with the chat issue. */
#include <stdio.h>

#include "chatctl.h"

int
cmd_talk(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "chatctl: talk is not built yet\n");
	return EXIT_USAGE;
}

int
cmd_who(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "chatctl: who is not built yet\n");
	return EXIT_USAGE;
}
