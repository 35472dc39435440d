// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Header codecs: known-answer vectors written from the IBA wire layouts,
 * round trips, truncation and range errors, AETH syndrome helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/hdr.h>
#include <rcore/bytes.h>

/* Guard bytes around every encode, to catch writes past the header. */
#define GUARD 0x5a

static void check_guard(const uint8_t *buf, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		assert_int_equal(buf[i], GUARD);
}

static void test_bth_kat(void **state)
{
	static const uint8_t wire[RCORE_BTH_LEN] = {
		0x0a,			/* RC_WRITE_ONLY */
		0xa0,			/* SE, pad 2, tver 0 */
		0xff, 0xff,		/* P_Key */
		0x80,			/* FECN */
		0x12, 0x34, 0x56,	/* dest QP */
		0x80,			/* AckReq */
		0xab, 0xcd, 0xef,	/* PSN */
	};
	struct rcore_bth h = {
		.opcode = 0x0a, .se = true, .pad = 2, .pkey = 0xffff,
		.fecn = true, .dqpn = 0x123456, .ackreq = true,
		.psn = 0xabcdef,
	};
	struct rcore_bth d;
	uint8_t buf[RCORE_BTH_LEN + 4];

	memset(buf, GUARD, sizeof(buf));
	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h), RCORE_BTH_LEN);
	assert_memory_equal(buf, wire, sizeof(wire));
	check_guard(buf, RCORE_BTH_LEN, sizeof(buf));

	assert_int_equal(rcore_bth_decode(wire, sizeof(wire), &d),
			 RCORE_BTH_LEN);
	assert_int_equal(d.opcode, 0x0a);
	assert_true(d.se);
	assert_false(d.mig);
	assert_int_equal(d.pad, 2);
	assert_int_equal(d.tver, 0);
	assert_int_equal(d.pkey, 0xffff);
	assert_true(d.fecn);
	assert_false(d.becn);
	assert_int_equal(d.dqpn, 0x123456);
	assert_true(d.ackreq);
	assert_int_equal(d.psn, 0xabcdef);
}

static void test_bth_bits(void **state)
{
	/* Each flag alone, to pin every bit position. */
	static const uint8_t wire[RCORE_BTH_LEN] = {
		0x81, 0x4f, 0x12, 0x34, 0x40, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00,
	};
	struct rcore_bth h = {
		.opcode = 0x81, .mig = true, .tver = 15, .pkey = 0x1234,
		.becn = true, .dqpn = 1,
	};
	struct rcore_bth d;
	uint8_t buf[RCORE_BTH_LEN];

	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h), RCORE_BTH_LEN);
	assert_memory_equal(buf, wire, sizeof(wire));
	assert_int_equal(rcore_bth_decode(buf, sizeof(buf), &d), RCORE_BTH_LEN);
	assert_int_equal(d.opcode, 0x81);
	assert_int_equal(d.pkey, 0x1234);
	assert_int_equal(d.dqpn, 1);
	assert_true(d.mig && d.becn && !d.se && !d.fecn && !d.ackreq);
	assert_int_equal(d.tver, 15);
	assert_int_equal(d.pad, 0);
}

static void test_bth_reserved_ignored(void **state)
{
	/* Reserved bits set on the wire are ignored by the decoder. */
	static const uint8_t wire[RCORE_BTH_LEN] = {
		0x04, 0x00, 0xff, 0xff, 0x3f, 0x00, 0x00, 0x11,
		0x7f, 0x00, 0x00, 0x05,
	};
	struct rcore_bth d;
	uint8_t again[RCORE_BTH_LEN];

	assert_int_equal(rcore_bth_decode(wire, sizeof(wire), &d),
			 RCORE_BTH_LEN);
	assert_false(d.fecn || d.becn || d.ackreq);
	assert_int_equal(d.dqpn, 0x11);
	assert_int_equal(d.psn, 5);
	/* and are written back as zero */
	assert_int_equal(rcore_bth_encode(again, sizeof(again), &d),
			 RCORE_BTH_LEN);
	assert_int_equal(again[4], 0);
	assert_int_equal(again[8], 0);
}

static void test_bth_range(void **state)
{
	struct rcore_bth ok = { .opcode = 4, .dqpn = 0xffffff,
				.psn = 0xffffff, .pad = 3, .tver = 15 };
	struct rcore_bth h;
	uint8_t buf[RCORE_BTH_LEN];

	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &ok),
			 RCORE_BTH_LEN);
	h = ok;
	h.dqpn = 0x1000000;
	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h),
			 RCORE_ERR_RANGE);
	h = ok;
	h.psn = 0x1000000;
	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h),
			 RCORE_ERR_RANGE);
	h = ok;
	h.pad = 4;
	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h),
			 RCORE_ERR_RANGE);
	h = ok;
	h.tver = 16;
	assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h),
			 RCORE_ERR_RANGE);
}

static void test_bth_roundtrip(void **state)
{
	struct rcore_bth h, d;
	uint8_t buf[RCORE_BTH_LEN];
	uint32_t x = 12345;
	int i;

	for (i = 0; i < 10000; i++) {
		/* xorshift32: cheap varied field values */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		h = (struct rcore_bth){
			.opcode = (uint8_t)x, .se = x & 0x100,
			.mig = x & 0x200, .pad = (x >> 10) & 3,
			.tver = (x >> 12) & 15, .pkey = (uint16_t)(x >> 16),
			.fecn = x & 0x400, .becn = x & 0x800,
			.dqpn = (x * 2654435761u) & 0xffffff,
			.ackreq = x & 0x1000, .psn = (x >> 5) & 0xffffff,
		};
		assert_int_equal(rcore_bth_encode(buf, sizeof(buf), &h),
				 RCORE_BTH_LEN);
		assert_int_equal(rcore_bth_decode(buf, sizeof(buf), &d),
				 RCORE_BTH_LEN);
		assert_int_equal(d.opcode, h.opcode);
		assert_int_equal(d.se, h.se);
		assert_int_equal(d.mig, h.mig);
		assert_int_equal(d.pad, h.pad);
		assert_int_equal(d.tver, h.tver);
		assert_int_equal(d.pkey, h.pkey);
		assert_int_equal(d.fecn, h.fecn);
		assert_int_equal(d.becn, h.becn);
		assert_int_equal(d.dqpn, h.dqpn);
		assert_int_equal(d.ackreq, h.ackreq);
		assert_int_equal(d.psn, h.psn);
	}
}

static void test_reth_kat(void **state)
{
	static const uint8_t wire[RCORE_RETH_LEN] = {
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		0xa1, 0xb2, 0xc3, 0xd4,
		0x00, 0x00, 0x0b, 0xb8,
	};
	struct rcore_reth h = { .va = 0x1122334455667788ull,
				.rkey = 0xa1b2c3d4, .len = 3000 };
	struct rcore_reth d;
	uint8_t buf[RCORE_RETH_LEN + 3];

	memset(buf, GUARD, sizeof(buf));
	/* odd offset: the codecs must not assume alignment */
	assert_int_equal(rcore_reth_encode(buf + 1, RCORE_RETH_LEN, &h),
			 RCORE_RETH_LEN);
	assert_memory_equal(buf + 1, wire, sizeof(wire));
	assert_int_equal(buf[0], GUARD);
	check_guard(buf, 1 + RCORE_RETH_LEN, sizeof(buf));
	assert_int_equal(rcore_reth_decode(buf + 1, RCORE_RETH_LEN, &d),
			 RCORE_RETH_LEN);
	assert_true(d.va == h.va);
	assert_int_equal(d.rkey, h.rkey);
	assert_int_equal(d.len, h.len);
}

/* FETH: SelectivityLevel in bits 5:4, PlT in 3:0, the rest reserved. */
static void test_feth_kat(void **state)
{
	static const uint8_t wire[RCORE_FETH_LEN] = { 0x00, 0x00, 0x00, 0x13 };
	struct rcore_feth h = { .plt = 3, .sel = 1 };
	struct rcore_feth d;
	uint8_t buf[RCORE_FETH_LEN + 3];
	uint8_t rsv[RCORE_FETH_LEN] = { 0xff, 0xff, 0xff, 0xe2 };

	memset(buf, GUARD, sizeof(buf));
	assert_int_equal(rcore_feth_encode(buf + 1, RCORE_FETH_LEN, &h),
			 RCORE_FETH_LEN);
	assert_memory_equal(buf + 1, wire, sizeof(wire));
	assert_int_equal(buf[0], GUARD);
	check_guard(buf, 1 + RCORE_FETH_LEN, sizeof(buf));
	assert_int_equal(rcore_feth_decode(buf + 1, RCORE_FETH_LEN, &d),
			 RCORE_FETH_LEN);
	assert_int_equal(d.plt, 3);
	assert_int_equal(d.sel, 1);
	/* reserved bits ignored */
	assert_int_equal(rcore_feth_decode(rsv, RCORE_FETH_LEN, &d),
			 RCORE_FETH_LEN);
	assert_int_equal(d.plt, 2);
	assert_int_equal(d.sel, 2);
	/* fields wider than the wire's */
	h.plt = 0x10;
	assert_int_equal(rcore_feth_encode(buf, RCORE_FETH_LEN, &h),
			 RCORE_ERR_RANGE);
	h = (struct rcore_feth){ .plt = 1, .sel = 4 };
	assert_int_equal(rcore_feth_encode(buf, RCORE_FETH_LEN, &h),
			 RCORE_ERR_RANGE);
}

static void test_atmeth_kat(void **state)
{
	static const uint8_t wire[RCORE_ATMETH_LEN] = {
		0x00, 0x00, 0x7f, 0xff, 0xde, 0xad, 0x10, 0x08,	/* va */
		0x00, 0x00, 0x12, 0x34,				/* rkey */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* swap */
		0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,	/* cmp */
	};
	struct rcore_atmeth h = {
		.va = 0x00007fffdead1008ull, .rkey = 0x1234,
		.swap_add = 0x0102030405060708ull,
		.compare = 0xf1f2f3f4f5f6f7f8ull,
	};
	struct rcore_atmeth d;
	uint8_t buf[RCORE_ATMETH_LEN + 4];

	memset(buf, GUARD, sizeof(buf));
	assert_int_equal(rcore_atmeth_encode(buf, sizeof(buf), &h),
			 RCORE_ATMETH_LEN);
	assert_memory_equal(buf, wire, sizeof(wire));
	check_guard(buf, RCORE_ATMETH_LEN, sizeof(buf));
	assert_int_equal(rcore_atmeth_decode(wire, sizeof(wire), &d),
			 RCORE_ATMETH_LEN);
	assert_true(d.va == h.va);
	assert_int_equal(d.rkey, h.rkey);
	assert_true(d.swap_add == h.swap_add);
	assert_true(d.compare == h.compare);
}

static void test_aeth_kat(void **state)
{
	/* NAK, remote access error, MSN 0x010203 */
	static const uint8_t wire[RCORE_AETH_LEN] = { 0x62, 0x01, 0x02, 0x03 };
	struct rcore_aeth h = {
		.syndrome = rcore_aeth_nak(RCORE_NAK_REMOTE_ACCESS_ERR),
		.msn = 0x010203,
	};
	struct rcore_aeth d;
	uint8_t buf[RCORE_AETH_LEN];

	assert_int_equal(rcore_aeth_encode(buf, sizeof(buf), &h),
			 RCORE_AETH_LEN);
	assert_memory_equal(buf, wire, sizeof(wire));
	assert_int_equal(rcore_aeth_decode(wire, sizeof(wire), &d),
			 RCORE_AETH_LEN);
	assert_int_equal(d.syndrome, 0x62);
	assert_int_equal(d.msn, 0x010203);
	h.msn = 0x1000000;
	assert_int_equal(rcore_aeth_encode(buf, sizeof(buf), &h),
			 RCORE_ERR_RANGE);
}

static void test_aeth_syndromes(void **state)
{
	/* IBA table 44: bits 6..5 type, 4..0 value */
	assert_int_equal(rcore_aeth_ack(0x1f), 0x1f);
	assert_int_equal(rcore_aeth_ack(0), 0x00);
	assert_int_equal(rcore_aeth_rnr_nak(0), 0x20);
	assert_int_equal(rcore_aeth_rnr_nak(14), 0x2e);
	assert_int_equal(rcore_aeth_nak(RCORE_NAK_PSN_SEQ_ERR), 0x60);
	assert_int_equal(rcore_aeth_nak(RCORE_NAK_INVALID_REQ), 0x61);
	assert_int_equal(rcore_aeth_nak(RCORE_NAK_REMOTE_ACCESS_ERR), 0x62);
	assert_int_equal(rcore_aeth_nak(RCORE_NAK_REMOTE_OP_ERR), 0x63);
	assert_int_equal(rcore_aeth_nak(RCORE_NAK_INVALID_RD_REQ), 0x64);

	assert_int_equal(rcore_aeth_syn_type(0x1f), RCORE_AETH_ACK);
	assert_int_equal(rcore_aeth_syn_type(0x2e), RCORE_AETH_RNR_NAK);
	assert_int_equal(rcore_aeth_syn_type(0x41), RCORE_AETH_RESERVED);
	assert_int_equal(rcore_aeth_syn_type(0x63), RCORE_AETH_NAK);
	assert_int_equal(rcore_aeth_syn_value(0x63), 3);
	assert_int_equal(rcore_aeth_syn_value(0x2e), 14);
	/* bit 7 is reserved and does not change the type */
	assert_int_equal(rcore_aeth_syn_type(0xe3), RCORE_AETH_NAK);
}

static void test_aeth_credits(void **state)
{
	static const int counts[31] = {
		0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192,
		256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192,
		12288, 16384, 24576, 32768,
	};
	uint32_t n;
	uint8_t c;

	for (c = 0; c < 31; c++) {
		assert_int_equal(rcore_aeth_credits(c), counts[c]);
		assert_int_equal(rcore_aeth_credit_code((uint32_t)counts[c]),
				 c);
	}
	assert_int_equal(rcore_aeth_credits(RCORE_AETH_CREDIT_INVALID), -1);
	/* codes round down: never advertise more than there is */
	for (n = 0; n < 40000; n++) {
		c = rcore_aeth_credit_code(n);
		assert_true(c <= 30);
		assert_true((uint32_t)rcore_aeth_credits(c) <= n);
		if (c < 30)
			assert_true((uint32_t)rcore_aeth_credits(c + 1) > n);
	}
	assert_int_equal(rcore_aeth_credit_code(0xffffffffu), 30);
}

static void test_rnr_timer(void **state)
{
	/* IBA table 46, in microseconds */
	assert_int_equal(rcore_rnr_timer_usec(0), 655360);
	assert_int_equal(rcore_rnr_timer_usec(1), 10);
	assert_int_equal(rcore_rnr_timer_usec(12), 640);
	assert_int_equal(rcore_rnr_timer_usec(14), 1280);
	assert_int_equal(rcore_rnr_timer_usec(31), 491520);
	assert_int_equal(rcore_rnr_timer_usec(31 + 32), 491520);
}

static void test_small_headers_kat(void **state)
{
	static const uint8_t deth[RCORE_DETH_LEN] = {
		0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	};
	static const uint8_t rdeth[RCORE_RDETH_LEN] = {
		0x00, 0xfe, 0xdc, 0xba,
	};
	static const uint8_t atmack[RCORE_ATMACK_LEN] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
	};
	static const uint8_t be32[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct rcore_deth dh = { .qkey = RCORE_GSI_QKEY, .sqpn = 1 }, dd;
	struct rcore_rdeth rh = { .eec = 0xfedcba }, rd;
	struct rcore_atmack ah = { .orig = 42 }, ad;
	uint8_t buf[16];
	uint32_t v;

	assert_int_equal(rcore_deth_encode(buf, sizeof(buf), &dh),
			 RCORE_DETH_LEN);
	assert_memory_equal(buf, deth, sizeof(deth));
	assert_int_equal(rcore_deth_decode(deth, sizeof(deth), &dd),
			 RCORE_DETH_LEN);
	assert_int_equal(dd.qkey, RCORE_GSI_QKEY);
	assert_int_equal(dd.sqpn, 1);
	dh.sqpn = 0x1000000;
	assert_int_equal(rcore_deth_encode(buf, sizeof(buf), &dh),
			 RCORE_ERR_RANGE);

	assert_int_equal(rcore_rdeth_encode(buf, sizeof(buf), &rh),
			 RCORE_RDETH_LEN);
	assert_memory_equal(buf, rdeth, sizeof(rdeth));
	assert_int_equal(rcore_rdeth_decode(rdeth, sizeof(rdeth), &rd),
			 RCORE_RDETH_LEN);
	assert_int_equal(rd.eec, 0xfedcba);
	rh.eec = 0x1000000;
	assert_int_equal(rcore_rdeth_encode(buf, sizeof(buf), &rh),
			 RCORE_ERR_RANGE);

	assert_int_equal(rcore_atmack_encode(buf, sizeof(buf), &ah),
			 RCORE_ATMACK_LEN);
	assert_memory_equal(buf, atmack, sizeof(atmack));
	assert_int_equal(rcore_atmack_decode(atmack, sizeof(atmack), &ad),
			 RCORE_ATMACK_LEN);
	assert_true(ad.orig == 42);

	assert_int_equal(rcore_immdt_encode(buf, 4, 0xdeadbeef),
			 RCORE_IMMDT_LEN);
	assert_memory_equal(buf, be32, 4);
	assert_int_equal(rcore_immdt_decode(be32, 4, &v), RCORE_IMMDT_LEN);
	assert_int_equal(v, 0xdeadbeef);
	assert_int_equal(rcore_ieth_encode(buf, 4, 0xdeadbeef),
			 RCORE_IETH_LEN);
	assert_memory_equal(buf, be32, 4);
	assert_int_equal(rcore_ieth_decode(be32, 4, &v), RCORE_IETH_LEN);
	assert_int_equal(v, 0xdeadbeef);

	/* XRCETH: a reserved byte (written 0, ignored), the SRQ number */
	assert_int_equal(rcore_xrceth_encode(buf, 4, 0xbeef01),
			 RCORE_XRCETH_LEN);
	assert_memory_equal(buf, ((const uint8_t[]){ 0, 0xbe, 0xef, 0x01 }),
			    4);
	assert_int_equal(rcore_xrceth_decode(be32, 4, &v), RCORE_XRCETH_LEN);
	assert_int_equal(v, 0xadbeef);
	assert_int_equal(rcore_xrceth_encode(buf, 4, 0x1000000),
			 RCORE_ERR_RANGE);
}

/*
 * Every codec, every length short of its header: an error, and not a byte
 * written.
 */
static void test_truncation(void **state)
{
	union {
		struct rcore_bth bth;
		struct rcore_rdeth rdeth;
		struct rcore_deth deth;
		struct rcore_feth feth;
		struct rcore_reth reth;
		struct rcore_atmeth atmeth;
		struct rcore_aeth aeth;
		struct rcore_atmack atmack;
		uint32_t u32;
	} h;
	uint8_t buf[64];
	size_t len;

	memset(&h, 0, sizeof(h));
	for (len = 0; len < RCORE_ATMETH_LEN; len++) {
		memset(buf, GUARD, sizeof(buf));
#define CHECK(name, LEN, arg)						\
		if (len < LEN) {					\
			assert_int_equal(rcore_##name##_encode(buf, len, arg), \
					 RCORE_ERR_TRUNCATED);		\
			assert_int_equal(rcore_##name##_decode(buf, len, \
							       (void *)&h), \
					 RCORE_ERR_TRUNCATED);		\
		}
		CHECK(bth, RCORE_BTH_LEN, &h.bth)
		CHECK(rdeth, RCORE_RDETH_LEN, &h.rdeth)
		CHECK(deth, RCORE_DETH_LEN, &h.deth)
		CHECK(feth, RCORE_FETH_LEN, &h.feth)
		CHECK(reth, RCORE_RETH_LEN, &h.reth)
		CHECK(atmeth, RCORE_ATMETH_LEN, &h.atmeth)
		CHECK(aeth, RCORE_AETH_LEN, &h.aeth)
		CHECK(atmack, RCORE_ATMACK_LEN, &h.atmack)
		CHECK(immdt, RCORE_IMMDT_LEN, 0)
		CHECK(ieth, RCORE_IETH_LEN, 0)
		CHECK(xrceth, RCORE_XRCETH_LEN, 0)
#undef CHECK
		check_guard(buf, 0, sizeof(buf));
	}
}

static void test_bytes(void **state)
{
	static const uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t o[8];

	assert_int_equal(rcore_get_be16(b), 0x0102);
	assert_int_equal(rcore_get_be24(b), 0x010203);
	assert_int_equal(rcore_get_be32(b), 0x01020304);
	assert_true(rcore_get_be64(b) == 0x0102030405060708ull);
	assert_int_equal(rcore_get_le32(b), 0x04030201);
	rcore_put_be64(o, 0x0102030405060708ull);
	assert_memory_equal(o, b, 8);
	memset(o, 0, sizeof(o));
	rcore_put_le32(o, 0x04030201);
	assert_memory_equal(o, b, 4);
	rcore_put_be24(o, 0xff010203);
	assert_memory_equal(o, b, 3);
	assert_int_equal(o[3], 4);	/* untouched */
	rcore_copy_bytes(o, b + 4, 4);
	assert_memory_equal(o, b + 4, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bth_kat),
		cmocka_unit_test(test_bth_bits),
		cmocka_unit_test(test_bth_reserved_ignored),
		cmocka_unit_test(test_bth_range),
		cmocka_unit_test(test_bth_roundtrip),
		cmocka_unit_test(test_reth_kat),
		cmocka_unit_test(test_feth_kat),
		cmocka_unit_test(test_atmeth_kat),
		cmocka_unit_test(test_aeth_kat),
		cmocka_unit_test(test_aeth_syndromes),
		cmocka_unit_test(test_aeth_credits),
		cmocka_unit_test(test_rnr_timer),
		cmocka_unit_test(test_small_headers_kat),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bytes),
	};

	return cmocka_run_group_tests_name("rcore headers", tests, NULL, NULL);
}
