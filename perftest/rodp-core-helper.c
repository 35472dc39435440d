// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp-core-helper: the pipe core_pattern helper of rodp-exit-stress
 * (its abort scenario).  core_pattern "|rodp-core-helper SECONDS": the
 * kernel runs it with the dump on its standard input; it sleeps SECONDS
 * before it reads, so that the dying process's mm stays held for that
 * long while the peer goes on, then reads the dump to the end and drops
 * it.  Linked statically: the kernel starts it in the root of PID 1,
 * which in the test guest is the initramfs, without the libraries.
 */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536];

	sleep(argc > 1 ? (unsigned int)atoi(argv[1]) : 1);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
