// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * rodp-memcpy-bw [-t SECONDS] SIZE...: the guest's memcpy bandwidth, the
 * ceiling of a software RDMA device that copies each byte once.
 *
 * For each SIZE (bytes): a source and a destination buffer of SIZE bytes,
 * touched first; memcpy from one to the other again and again for
 * SECONDS (default 1) of CLOCK_MONOTONIC; one line "SIZE MIB_PER_S" (MiB:
 * 2^20 bytes, as perftest counts).  ./rodp bench runs it in the same guest
 * as perftest, pinned to the CPU perftest's client uses, and sets rodp's
 * bandwidth against it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping copies nobody reads. */
static volatile unsigned char sink;

static double measure(size_t size, double seconds)
{
	unsigned char *src = malloc(size), *dst = malloc(size);
	double t0, t, bytes = 0;
	unsigned long n = 0;

	if (!src || !dst) {
		free(src);
		free(dst);
		return -1;
	}
	memset(src, 0x5a, size);
	memset(dst, 0, size);
	t0 = now();
	do {
		src[n % size] = (unsigned char)n;
		memcpy(dst, src, size);
		sink = dst[n % size];
		bytes += size;
		n++;
		t = now();
	} while (t - t0 < seconds);
	free(src);
	free(dst);
	return bytes / (t - t0) / (1 << 20);
}

int main(int argc, char **argv)
{
	double seconds = 1, v;
	char *end;
	int opt, i;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			goto usage;
		seconds = strtod(optarg, &end);
		if (*end || seconds <= 0)
			goto usage;
	}
	if (optind >= argc)
		goto usage;
	for (i = optind; i < argc; i++) {
		unsigned long size = strtoul(argv[i], &end, 0);

		if (*end || !size)
			goto usage;
		v = measure(size, seconds);
		if (v < 0) {
			fprintf(stderr, "rodp-memcpy-bw: no memory for %lu\n",
				size);
			return 1;
		}
		printf("%lu %.2f\n", size, v);
	}
	return 0;
usage:
	fprintf(stderr, "usage: rodp-memcpy-bw [-t SECONDS] SIZE...\n");
	return 2;
}
