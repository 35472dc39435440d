// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * roce_check PCAP...: read captures with rcore's own parser.  Every
 * RoCEv2 packet (UDP port 4791) must parse (rcore_pkt_parse) and carry a
 * correct ICRC (rcore_icrc_check).  Prints one line per opcode seen and a
 * summary "roce_check: N packets, N parsed, N icrc ok"; exit status 0
 * only if there was at least one packet and all of them passed, 1 if
 * any failed, 2 on an unreadable file.  Used by the two-guest suite
 * (tests/wire/suite.sh) on the capture taken on guest B's NIC.
 */
#include <stdio.h>

#include <rcore/pkt.h>
#include <rcore/icrc.h>

#include "pcap_read.h"

int main(int argc, char **argv)
{
	unsigned long seen[256] = { 0 };
	unsigned long total = 0, parsed = 0, icrc_ok = 0;
	struct pcap_file f;
	struct pcap_roce r;
	struct rcore_pkt p;
	int i, ret;

	if (argc < 2) {
		fprintf(stderr, "usage: roce_check PCAP...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (pcap_open(&f, argv[i]))
			return 2;
		while ((ret = pcap_next_roce(&f, &r)) == 1) {
			total++;
			if (rcore_pkt_parse(r.ip + r.bth_off,
					    r.ip_len - r.bth_off, &p)) {
				printf("packet %lu: does not parse\n", total);
				continue;
			}
			parsed++;
			seen[p.bth.opcode]++;
			if (rcore_icrc_check(r.ip, r.ip_len))
				printf("packet %lu (%s): bad ICRC\n", total,
				       p.info->name);
			else
				icrc_ok++;
		}
		pcap_close(&f);
		if (ret < 0) {
			fprintf(stderr, "%s: truncated\n", argv[i]);
			return 2;
		}
	}
	for (i = 0; i < 256; i++)
		if (seen[i])
			printf("opcode 0x%02x %-24s %lu\n", i,
			       rcore_opcode_info((uint8_t)i)->name, seen[i]);
	printf("roce_check: %lu packets, %lu parsed, %lu icrc ok\n", total,
	       parsed, icrc_ok);
	return total && parsed == total && icrc_ok == total ? 0 : 1;
}
