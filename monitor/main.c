/* SPDX-License-Identifier: ISC */
/*
 * corral-monit: the dashboard's own program, which `corral monit [args]`
 * runs in its place (client_exec_monit), so that the corral CLI links no
 * ncurses. argv[0] stands for "monit"; the other words go to the daemon's
 * monit command.
 */
#include "monit.h"

int
main(int argc, char **argv)
{
	return monit_main(argc, argv);
}
