// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_seeds OUTDIR PCAP...: write the RoCEv2 packets of captures as
 * libFuzzer seed files: each IP packet whole (ipv4-N / ipv6-N) and its
 * UDP payload from the BTH on (bth-N).  Fails if no packet is found.
 */
#include <stdio.h>

#include "pcap_read.h"

static int put(const char *dir, const char *kind, unsigned int n,
	       const uint8_t *p, size_t len)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s-%u", dir, kind, n);
	fp = fopen(path, "wb");
	if (!fp || fwrite(p, 1, len, fp) != len || fclose(fp)) {
		perror(path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pcap_file f;
	struct pcap_roce r;
	unsigned int n = 0;
	int i, ret;

	if (argc < 3) {
		fprintf(stderr, "usage: fuzz_seeds OUTDIR PCAP...\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (pcap_open(&f, argv[i]))
			return 1;
		while ((ret = pcap_next_roce(&f, &r)) == 1) {
			if (put(argv[1], r.v6 ? "ipv6" : "ipv4", n, r.ip,
				r.ip_len) ||
			    put(argv[1], "bth", n, r.ip + r.bth_off,
				r.ip_len - r.bth_off))
				return 1;
			n++;
		}
		pcap_close(&f);
		if (ret < 0) {
			fprintf(stderr, "%s: truncated\n", argv[i]);
			return 1;
		}
	}
	if (!n) {
		fprintf(stderr, "fuzz_seeds: no RoCEv2 packets found\n");
		return 1;
	}
	printf("fuzz_seeds: %u packets\n", n);
	return 0;
}
