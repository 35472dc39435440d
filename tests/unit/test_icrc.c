// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CRC-32 and ICRC: known answers, both CRC variants against a bit-by-bit
 * reference, incremental use, and which packet bytes the ICRC covers.
 * (ICRC known answers from real rxe packets are in test_capture.c.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/crc32.h>
#include <rcore/icrc.h>
#include <rcore/pkt.h>

/* The CRC register update, one bit at a time, straight from the polynomial. */
static uint32_t ref_crc32_le(uint32_t crc, const uint8_t *p, size_t len)
{
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ ((crc & 1) ? 0xedb88320u : 0);
	}
	return crc;
}

static void test_crc32_kat(void **state)
{
	static const char fox[] = "The quick brown fox jumps over the lazy dog";
	static const uint8_t ff[8] = { 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff };

	assert_int_equal(rcore_crc32("123456789", 9), 0xcbf43926);
	assert_int_equal(rcore_crc32("", 0), 0);
	assert_int_equal(rcore_crc32("a", 1), 0xe8b7be43);
	assert_int_equal(rcore_crc32(fox, strlen(fox)), 0x414fa339);
	/* the register after the LRH stand-in, as rxe seeds it */
	assert_int_equal(rcore_crc32_le(0xffffffff, ff, 8), 0xdebb20e3);
}

static void test_crc32_table(void **state)
{
	uint8_t b;
	unsigned int n;

	/* one byte from a zero register reads table entry [byte] */
	for (n = 0; n < 256; n++) {
		b = (uint8_t)n;
		assert_int_equal(rcore_crc32_le_bytewise(0, &b, 1),
				 ref_crc32_le(0, &b, 1));
		assert_int_equal(rcore_crc32_le(0, &b, 1),
				 ref_crc32_le(0, &b, 1));
	}
}

static void test_crc32_variants(void **state)
{
	uint8_t buf[300];
	uint32_t x = 1, seed, ref;
	size_t off, len, i;

	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	/* every alignment, lengths across the 8-byte steps */
	for (off = 0; off < 8; off++) {
		for (len = 0; len + off <= 280; len += (len < 40 ? 1 : 13)) {
			seed = 0xffffffffu ^ (uint32_t)(off * 977 + len);
			ref = ref_crc32_le(seed, buf + off, len);
			assert_int_equal(rcore_crc32_le(seed, buf + off, len),
					 ref);
			assert_int_equal(
				rcore_crc32_le_bytewise(seed, buf + off, len),
				ref);
		}
	}
	/* in pieces: same as in one go */
	ref = rcore_crc32_le(0xffffffffu, buf, sizeof(buf));
	for (i = 0; i <= sizeof(buf); i += 7) {
		seed = rcore_crc32_le(0xffffffffu, buf, i);
		assert_int_equal(rcore_crc32_le(seed, buf + i, sizeof(buf) - i),
				 ref);
	}
}

/*
 * A synthetic RoCEv2 packet: IPv4 (or IPv6) + UDP + RC_SEND_ONLY with a
 * 10-byte payload, 2 pad bytes and room for the ICRC.  Returns its length
 * without the ICRC.
 */
static size_t synth(uint8_t *buf, int v6)
{
	struct rcore_pkt p = { 0 };
	size_t ip_len = v6 ? 40 : 20, i;
	int hlen;

	memset(buf, 0, 128);
	if (v6) {
		buf[0] = 0x6a;	/* version 6, traffic class 0xa5 */
		buf[1] = 0x5b;	/* ... flow label 0xb1234 */
		buf[2] = 0x12;
		buf[3] = 0x34;
		buf[5] = 8 + 12 + 12 + 4;
		buf[6] = RCORE_IPPROTO_UDP;
		buf[7] = 64;
		for (i = 8; i < 40; i++)
			buf[i] = (uint8_t)(0x20 + i);
	} else {
		buf[0] = 0x45;
		buf[1] = 0x02;		/* ECN ECT(0) */
		buf[3] = 20 + 8 + 12 + 12 + 4;
		buf[4] = 0x12;		/* id */
		buf[6] = 0x40;		/* DF */
		buf[8] = 64;		/* TTL */
		buf[9] = RCORE_IPPROTO_UDP;
		buf[10] = 0xab;		/* checksum */
		buf[11] = 0xcd;
		buf[12] = 10; buf[13] = 77; buf[14] = 0; buf[15] = 2;
		buf[16] = 10; buf[17] = 77; buf[18] = 0; buf[19] = 10;
	}
	buf[ip_len + 0] = 0xc0;		/* UDP source port */
	buf[ip_len + 1] = 0x01;
	buf[ip_len + 2] = 0x12;		/* 4791 */
	buf[ip_len + 3] = 0xb7;
	buf[ip_len + 5] = 8 + 12 + 12 + 4;
	buf[ip_len + 6] = 0x55;		/* UDP checksum */
	buf[ip_len + 7] = 0x66;
	p.bth = (struct rcore_bth){ .opcode = RCORE_RC_SEND_ONLY, .pad = 2,
				    .pkey = 0xffff, .dqpn = 0x11, .fecn = true,
				    .psn = 0x123 };
	hlen = rcore_pkt_build(buf + ip_len + 8, 64, &p);
	assert_int_equal(hlen, 12);
	for (i = 0; i < 10; i++)
		buf[ip_len + 8 + 12 + i] = (uint8_t)('a' + i);
	return ip_len + 8 + 12 + 12;
}

/* Is byte @i of the synthetic packet a variant (masked) field? */
static int masked(size_t i, int v6)
{
	size_t udp = v6 ? 40 : 20;

	if (v6 && (i == 1 || i == 2 || i == 3 || i == 7))
		return 1;
	if (!v6 && (i == 1 || i == 8 || i == 10 || i == 11))
		return 1;
	return i == udp + 6 || i == udp + 7 || i == udp + 8 + 4;
}

static void check_coverage(int v6)
{
	uint8_t buf[128];
	uint32_t base, icrc;
	size_t len, i;
	uint8_t save, flip;

	len = synth(buf, v6);
	assert_int_equal(rcore_icrc_calc(buf, len, &base), RCORE_OK);
	for (i = 0; i < len; i++) {
		save = buf[i];
		for (flip = 1; flip; flip <<= 1) {
			/* the IPv6 version nibble must stay 6 */
			if (v6 && i == 0 && flip >= 0x10)
				continue;
			buf[i] = save ^ flip;
			/*
			 * Version, IHL, protocol: mostly not RoCEv2 any
			 * more; where it still is, the ICRC must change.
			 */
			if (((!v6 && (i == 0 || i == 9)) || (v6 && i == 6)) &&
			    rcore_icrc_calc(buf, len, &icrc) < 0)
				continue;
			assert_int_equal(rcore_icrc_calc(buf, len, &icrc),
					 RCORE_OK);
			if (masked(i, v6) || (v6 && i == 0))
				assert_int_equal(icrc, base);
			else if (icrc == base)
				fail_msg("byte %zu bit %02x not covered", i,
					 flip);
		}
		buf[i] = save;
	}
	/* the ICRC ends where the caller says: the trailer is not covered */
	rcore_icrc_put(buf + len, base);
	assert_int_equal(rcore_icrc_check(buf, len + 4), RCORE_OK);
	buf[len] ^= 1;
	assert_int_equal(rcore_icrc_check(buf, len + 4), RCORE_ERR_ICRC);
}

static void test_icrc_coverage_v4(void **state)
{
	check_coverage(0);
}

static void test_icrc_coverage_v6(void **state)
{
	check_coverage(1);
}

static void test_icrc_incremental(void **state)
{
	struct rcore_icrc ctx;
	uint8_t buf[128];
	uint32_t whole;
	size_t len, split;
	int v6, n;

	for (v6 = 0; v6 < 2; v6++) {
		len = synth(buf, v6);
		assert_int_equal(rcore_icrc_calc(buf, len, &whole), RCORE_OK);
		n = rcore_icrc_begin(&ctx, buf, len);
		/* begin consumes IP, UDP and BTH */
		assert_int_equal(n, (v6 ? 40 : 20) + 8 + 12);
		for (split = (size_t)n; split <= len; split++) {
			assert_int_equal(rcore_icrc_begin(&ctx, buf, len), n);
			rcore_icrc_update(&ctx, buf + n, split - (size_t)n);
			rcore_icrc_update(&ctx, buf + split, len - split);
			assert_int_equal(rcore_icrc_final(&ctx), whole);
		}
		/* begin needs only the headers */
		assert_int_equal(rcore_icrc_begin(&ctx, buf, (size_t)n), n);
		rcore_icrc_update(&ctx, buf + n, len - (size_t)n);
		assert_int_equal(rcore_icrc_final(&ctx), whole);
	}
}

static void test_icrc_ipv4_options(void **state)
{
	uint8_t buf[160], opt[160];
	uint32_t a, b;
	size_t len;

	/* the same packet with 8 bytes of IPv4 options: IHL 7 */
	len = synth(buf, 0);
	memcpy(opt, buf, 20);
	opt[0] = 0x47;
	memset(opt + 20, 0x01, 8);	/* NOPs */
	memcpy(opt + 28, buf + 20, len - 20);
	assert_int_equal(rcore_icrc_bth_offset(opt, len + 8), 36);
	assert_int_equal(rcore_icrc_calc(opt, len + 8, &a), RCORE_OK);
	assert_int_equal(rcore_icrc_calc(buf, len, &b), RCORE_OK);
	assert_int_not_equal(a, b);
	opt[29] ^= 0x10;	/* an option byte is covered */
	assert_int_equal(rcore_icrc_calc(opt, len + 8, &b), RCORE_OK);
	assert_int_not_equal(a, b);
}

static void test_icrc_errors(void **state)
{
	struct rcore_icrc ctx;
	uint8_t buf[128];
	uint32_t icrc;
	size_t len, l;

	len = synth(buf, 0);
	assert_int_equal(rcore_icrc_bth_offset(buf, len), 28);
	for (l = 0; l < 20 + 8 + 12; l++) {
		assert_int_equal(rcore_icrc_calc(buf, l, &icrc),
				 RCORE_ERR_TRUNCATED);
		assert_int_equal(rcore_icrc_begin(&ctx, buf, l),
				 RCORE_ERR_TRUNCATED);
	}
	for (l = 0; l < 4; l++)
		assert_int_equal(rcore_icrc_check(buf, l), RCORE_ERR_TRUNCATED);
	buf[9] = 6;		/* TCP */
	assert_int_equal(rcore_icrc_calc(buf, len, &icrc), RCORE_ERR_PROTO);
	buf[9] = RCORE_IPPROTO_UDP;
	buf[0] = 0x44;		/* IHL 4: too short */
	assert_int_equal(rcore_icrc_calc(buf, len, &icrc), RCORE_ERR_LENGTH);
	buf[0] = 0x4f;		/* IHL 15: headers beyond the buffer */
	assert_int_equal(rcore_icrc_calc(buf, 60 + 8 + 11, &icrc),
			 RCORE_ERR_TRUNCATED);
	buf[0] = 0x55;
	assert_int_equal(rcore_icrc_calc(buf, len, &icrc), RCORE_ERR_VERSION);

	len = synth(buf, 1);
	assert_int_equal(rcore_icrc_bth_offset(buf, len), 48);
	buf[6] = 0;		/* hop-by-hop extension header */
	assert_int_equal(rcore_icrc_calc(buf, len, &icrc), RCORE_ERR_PROTO);
	buf[6] = RCORE_IPPROTO_UDP;
	assert_int_equal(rcore_icrc_calc(buf, 59, &icrc), RCORE_ERR_TRUNCATED);
	assert_int_equal(rcore_icrc_calc(buf, 60, &icrc), RCORE_OK);
}

static void test_icrc_wire_order(void **state)
{
	uint8_t b[4];

	/* least significant byte first, as rxe writes it on x86 */
	rcore_icrc_put(b, 0x11223344);
	assert_int_equal(b[0], 0x44);
	assert_int_equal(b[3], 0x11);
	assert_int_equal(rcore_icrc_get(b), 0x11223344);
}

/*
 * Two RC FLUSH packets (IPv4 on, ICRC last) captured on the bridge port
 * of rxe0 in the test guest on Linux 7.2.13: rodp0's, with IBA's ICRC,
 * which rxe dropped, and rxe0's, with rxe's own ICRC (its headers fed in
 * twice), which rodp dropped before it learned that form.
 */
static const uint8_t flush_rodp[64] = {
	0x45, 0x00, 0x00, 0x40, 0xe5, 0x45, 0x40, 0x00, 0x40, 0x11, 0x40, 0xc2,
	0x0a, 0x4d, 0x00, 0x0a, 0x0a, 0x4d, 0x00, 0x02, 0xc1, 0x10, 0x12, 0xb7,
	0x00, 0x2c, 0x00, 0x00, 0x1c, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x11,
	0x80, 0x0b, 0x12, 0xb8, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x21, 0x91, 0xe0, 0x00, 0x00, 0x00, 0x02, 0xd9, 0x00, 0x00, 0x04, 0x00,
	0x10, 0x3e, 0xf7, 0xc2,
};

static const uint8_t flush_rxe[64] = {
	0x45, 0x00, 0x00, 0x40, 0x3f, 0x9a, 0x40, 0x00, 0x40, 0x11, 0xe6, 0x6d,
	0x0a, 0x4d, 0x00, 0x02, 0x0a, 0x4d, 0x00, 0x0a, 0xc1, 0x32, 0x12, 0xb7,
	0x00, 0x2c, 0x00, 0x00, 0x1c, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x11,
	0x80, 0xe5, 0x39, 0xb1, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x21, 0x85, 0x90, 0x00, 0x00, 0x00, 0x03, 0x03, 0x00, 0x00, 0x04, 0x00,
	0xc4, 0x56, 0xa3, 0xfc,
};

static void test_icrc_rxe_flush(void **state)
{
	uint8_t buf[64];
	uint32_t icrc;

	/* each form checks only as itself */
	assert_int_equal(rcore_icrc_check(flush_rodp, 64), RCORE_OK);
	assert_int_equal(rcore_icrc_check_rxe_flush(flush_rodp, 64),
			 RCORE_ERR_ICRC);
	assert_int_equal(rcore_icrc_check(flush_rxe, 64), RCORE_ERR_ICRC);
	assert_int_equal(rcore_icrc_check_rxe_flush(flush_rxe, 64), RCORE_OK);
	assert_int_equal(rcore_icrc_calc_rxe_flush(flush_rxe, 60, &icrc),
			 RCORE_OK);
	assert_int_equal(icrc, rcore_icrc_get(flush_rxe + 60));

	/* rxe's form is for FLUSH only */
	memcpy(buf, flush_rxe, sizeof(buf));
	buf[28] = RCORE_RC_WRITE_ONLY;
	assert_int_equal(rcore_icrc_calc_rxe_flush(buf, 60, &icrc), RCORE_OK);
	rcore_icrc_put(buf + 60, icrc);
	assert_int_equal(rcore_icrc_check_rxe_flush(buf, 64), RCORE_ERR_ICRC);

	/* a changed byte, truncation */
	memcpy(buf, flush_rxe, sizeof(buf));
	buf[50] ^= 1;
	assert_int_equal(rcore_icrc_check_rxe_flush(buf, 64), RCORE_ERR_ICRC);
	assert_int_equal(rcore_icrc_check_rxe_flush(buf, 3),
			 RCORE_ERR_TRUNCATED);
	assert_int_equal(rcore_icrc_check_rxe_flush(buf, 40),
			 RCORE_ERR_TRUNCATED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icrc_rxe_flush),
		cmocka_unit_test(test_crc32_kat),
		cmocka_unit_test(test_crc32_table),
		cmocka_unit_test(test_crc32_variants),
		cmocka_unit_test(test_icrc_coverage_v4),
		cmocka_unit_test(test_icrc_coverage_v6),
		cmocka_unit_test(test_icrc_incremental),
		cmocka_unit_test(test_icrc_ipv4_options),
		cmocka_unit_test(test_icrc_errors),
		cmocka_unit_test(test_icrc_wire_order),
	};

	return cmocka_run_group_tests_name("rcore icrc", tests, NULL, NULL);
}
