// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet parser and header builder: a hand-written packet, build/parse
 * round trips for every opcode, and every rejection the parser makes.
 * Truncated inputs are parsed from exact-size heap copies, so the
 * sanitizer build catches any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/pkt.h>
#include <rcore/icrc.h>

/* Parse @len bytes of @src from a heap buffer of exactly @len bytes. */
static int parse_exact(const uint8_t *src, size_t len, struct rcore_pkt *pkt)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	if (len)
		memcpy(copy, src, len);
	ret = rcore_pkt_parse(copy, len, pkt);
	free(copy);
	return ret;
}

static void test_kat_write_only_imm(void **state)
{
	static const uint8_t wire[] = {
		/* BTH: RC_WRITE_ONLY_IMM, SE, pad 3, pkey ffff, QP 0x0000d1,
		 * AckReq, PSN 0xfffffe */
		0x0b, 0xb0, 0xff, 0xff, 0x00, 0x00, 0x00, 0xd1,
		0x80, 0xff, 0xff, 0xfe,
		/* RETH: va, rkey, len 5 */
		0x00, 0x00, 0x55, 0x55, 0x12, 0x34, 0x50, 0x00,
		0x00, 0x0a, 0x0b, 0x0c, 0x00, 0x00, 0x00, 0x05,
		/* ImmDt */
		0xca, 0xfe, 0xf0, 0x0d,
		/* payload (5) + pad (3) */
		'h', 'e', 'l', 'l', 'o', 0, 0, 0,
		/* ICRC (not checked by the parser) */
		0x78, 0x56, 0x34, 0x12,
	};
	struct rcore_pkt p;

	assert_int_equal(parse_exact(wire, sizeof(wire), &p), RCORE_OK);
	assert_non_null(p.info);
	assert_string_equal(p.info->name, "RC_WRITE_ONLY_IMM");
	assert_int_equal(p.bth.opcode, RCORE_RC_WRITE_ONLY_IMM);
	assert_true(p.bth.se);
	assert_int_equal(p.bth.pad, 3);
	assert_int_equal(p.bth.dqpn, 0xd1);
	assert_true(p.bth.ackreq);
	assert_int_equal(p.bth.psn, 0xfffffe);
	assert_true(p.reth.va == 0x0000555512345000ull);
	assert_int_equal(p.reth.rkey, 0x000a0b0c);
	assert_int_equal(p.reth.len, 5);
	assert_int_equal(p.imm, 0xcafef00d);
	assert_int_equal(p.hdr_len, 32);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(wire + p.hdr_len, "hello", 5);
	assert_int_equal(p.icrc, 0x12345678);
	/* headers the opcode does not have stay zero */
	assert_int_equal(p.aeth.msn, 0);
	assert_int_equal(p.deth.qkey, 0);
	assert_true(p.atmeth.va == 0);
}

/* Fill every header with values that differ per field. */
static void fill_all(struct rcore_pkt *p, uint8_t opcode, uint8_t pad)
{
	memset(p, 0, sizeof(*p));
	p->bth = (struct rcore_bth){
		.opcode = opcode, .se = true, .pad = pad, .pkey = 0x8001,
		.becn = true, .dqpn = 0xabcdef, .ackreq = true,
		.psn = 0x00fedc,
	};
	p->rdeth.eec = 0x010203;
	p->deth = (struct rcore_deth){ .qkey = 0x11111111, .sqpn = 0x222222 };
	p->xrc_srqn = 0x123456;
	p->feth = (struct rcore_feth){ .plt = 0xa, .sel = 0x2 };
	p->reth = (struct rcore_reth){ .va = 0x3333333333333333ull,
				       .rkey = 0x44444444, .len = 0x55555555 };
	p->atmeth = (struct rcore_atmeth){
		.va = 0x6666666666666666ull, .rkey = 0x77777777,
		.swap_add = 0x8888888888888888ull,
		.compare = 0x9999999999999999ull,
	};
	p->aeth = (struct rcore_aeth){ .syndrome = 0x1f, .msn = 0xaaaaaa };
	p->atmack.orig = 0xbbbbbbbbbbbbbbbbull;
	p->imm = 0xcccccccc;
	p->ieth_rkey = 0xdddddddd;
}

static void test_roundtrip_all_opcodes(void **state)
{
	const struct rcore_opcode_info *info;
	struct rcore_pkt in, out;
	uint8_t buf[128];
	unsigned int opc, plen, i;
	int hlen;

	for (opc = 0; opc < 256; opc++) {
		info = rcore_opcode_info((uint8_t)opc);
		if (!info)
			continue;
		for (plen = 0; plen <= 9; plen++) {
			if (plen && !(info->flags & RCORE_OPF_PAYLOAD))
				break;
			fill_all(&in, (uint8_t)opc, rcore_pad_len(plen));
			memset(buf, 0xee, sizeof(buf));
			hlen = rcore_pkt_build(buf, sizeof(buf), &in);
			assert_int_equal(hlen, info->hdr_len);
			for (i = 0; i < plen; i++)
				buf[hlen + i] = (uint8_t)(i + 1);
			for (; i < plen + in.bth.pad; i++)
				buf[hlen + i] = 0;
			rcore_icrc_put(buf + hlen + i, 0x01020304);
			i += RCORE_ICRC_LEN;

			assert_int_equal(parse_exact(buf, hlen + i, &out),
					 RCORE_OK);
			assert_ptr_equal(out.info, info);
			assert_int_equal(out.hdr_len, info->hdr_len);
			assert_int_equal(out.payload_len, plen);
			assert_int_equal(out.icrc, 0x01020304);
			assert_int_equal(out.bth.dqpn, 0xabcdef);
			assert_int_equal(out.bth.psn, 0x00fedc);
			assert_int_equal(out.bth.pkey, 0x8001);
			assert_int_equal(out.bth.pad, in.bth.pad);
			assert_true(out.bth.se && out.bth.becn &&
				    out.bth.ackreq && !out.bth.fecn);
#define SAME_IF(bit, field, size)					\
			do {						\
				if (info->hdrs & (bit))			\
					assert_memory_equal(&out.field,	\
							    &in.field, size); \
				else					\
					assert_true(out.field == 0);	\
			} while (0)
			SAME_IF(RCORE_HDR_RDETH, rdeth.eec, 4);
			SAME_IF(RCORE_HDR_DETH, deth.qkey, 4);
			SAME_IF(RCORE_HDR_DETH, deth.sqpn, 4);
			SAME_IF(RCORE_HDR_XRCETH, xrc_srqn, 4);
			SAME_IF(RCORE_HDR_FETH, feth.plt, 1);
			SAME_IF(RCORE_HDR_FETH, feth.sel, 1);
			SAME_IF(RCORE_HDR_RETH, reth.va, 8);
			SAME_IF(RCORE_HDR_RETH, reth.rkey, 4);
			SAME_IF(RCORE_HDR_RETH, reth.len, 4);
			SAME_IF(RCORE_HDR_ATMETH, atmeth.va, 8);
			SAME_IF(RCORE_HDR_ATMETH, atmeth.rkey, 4);
			SAME_IF(RCORE_HDR_ATMETH, atmeth.swap_add, 8);
			SAME_IF(RCORE_HDR_ATMETH, atmeth.compare, 8);
			SAME_IF(RCORE_HDR_AETH, aeth.syndrome, 1);
			SAME_IF(RCORE_HDR_AETH, aeth.msn, 4);
			SAME_IF(RCORE_HDR_ATMACK, atmack.orig, 8);
			SAME_IF(RCORE_HDR_IMMDT, imm, 4);
			SAME_IF(RCORE_HDR_IETH, ieth_rkey, 4);
#undef SAME_IF
			/* the CNP's reserved bytes are written as zeros */
			if (info->hdrs & RCORE_HDR_CNP)
				for (i = 12; i < 28; i++)
					assert_int_equal(buf[i], 0);
		}
	}
}

/* A minimal valid packet of @opc: headers, @data bytes, ICRC. */
static size_t make_pkt(uint8_t *buf, size_t size, uint8_t opc,
		       unsigned int data, uint8_t pad)
{
	struct rcore_pkt p;
	int hlen;

	fill_all(&p, opc, pad);
	hlen = rcore_pkt_build(buf, size, &p);
	assert_true(hlen > 0);
	assert_true((size_t)hlen + data + 4 <= size);
	memset(buf + hlen, 0x42, data + 4);
	return (size_t)hlen + data + 4;
}

static void test_reject_short(void **state)
{
	const struct rcore_opcode_info *info;
	struct rcore_pkt p;
	uint8_t buf[128];
	unsigned int opc;
	size_t len, full;

	memset(buf, 0, sizeof(buf));
	for (len = 0; len < RCORE_BTH_LEN + RCORE_ICRC_LEN; len++)
		assert_int_equal(parse_exact(buf, len, &p),
				 RCORE_ERR_TRUNCATED);

	/* every known opcode, every length short of headers + ICRC */
	for (opc = 0; opc < 256; opc++) {
		info = rcore_opcode_info((uint8_t)opc);
		if (!info)
			continue;
		full = make_pkt(buf, sizeof(buf), (uint8_t)opc, 0, 0);
		assert_int_equal(full, info->hdr_len + 4u);
		assert_int_equal(parse_exact(buf, full, &p), RCORE_OK);
		for (len = 0; len < full; len++)
			assert_int_equal(parse_exact(buf, len, &p),
					 RCORE_ERR_TRUNCATED);
	}
}

static void test_reject_opcode(void **state)
{
	struct rcore_pkt p;
	uint8_t buf[64];
	unsigned int opc, unknown = 0;

	memset(buf, 0, sizeof(buf));
	for (opc = 0; opc < 256; opc++) {
		if (rcore_opcode_info((uint8_t)opc))
			continue;
		buf[0] = (uint8_t)opc;
		/* long enough for any header set */
		assert_int_equal(parse_exact(buf, sizeof(buf), &p),
				 RCORE_ERR_OPCODE);
		unknown++;
	}
	assert_int_equal(unknown, 256 - 61 - 26);
}

static void test_reject_version(void **state)
{
	struct rcore_pkt p;
	uint8_t buf[64];
	size_t len;
	uint8_t v;

	len = make_pkt(buf, sizeof(buf), RCORE_RC_SEND_ONLY, 8, 0);
	for (v = 1; v < 16; v++) {
		buf[1] = (uint8_t)((buf[1] & 0xf0) | v);
		assert_int_equal(parse_exact(buf, len, &p),
				 RCORE_ERR_VERSION);
	}
	buf[1] &= 0xf0;
	assert_int_equal(parse_exact(buf, len, &p), RCORE_OK);
}

static void test_reject_misaligned(void **state)
{
	struct rcore_pkt p;
	uint8_t buf[64];
	size_t len;
	unsigned int extra;

	for (extra = 1; extra < 4; extra++) {
		len = make_pkt(buf, sizeof(buf), RCORE_RC_SEND_ONLY,
			       8 + extra, 0);
		assert_int_equal(parse_exact(buf, len, &p), RCORE_ERR_LENGTH);
		len = make_pkt(buf, sizeof(buf), RCORE_RC_ACK, extra, 0);
		assert_int_equal(parse_exact(buf, len, &p), RCORE_ERR_LENGTH);
	}
}

static void test_pad(void **state)
{
	struct rcore_pkt p;
	uint8_t buf[64];
	size_t len;
	uint8_t pad;

	/* no data at all: any pad count is larger than the data */
	for (pad = 1; pad < 4; pad++) {
		len = make_pkt(buf, sizeof(buf), RCORE_RC_SEND_ONLY, 0, pad);
		assert_int_equal(parse_exact(buf, len, &p), RCORE_ERR_PAD);
		len = make_pkt(buf, sizeof(buf), RCORE_RC_ACK, 0, pad);
		assert_int_equal(parse_exact(buf, len, &p), RCORE_ERR_PAD);
	}
	/* 4 bytes of data: pad 0..3 leaves 4..1 payload bytes */
	for (pad = 0; pad < 4; pad++) {
		len = make_pkt(buf, sizeof(buf), RCORE_UD_SEND_ONLY, 4, pad);
		assert_int_equal(parse_exact(buf, len, &p), RCORE_OK);
		assert_int_equal(p.payload_len, 4 - pad);
		assert_int_equal(p.hdr_len, 20);
	}
	/* zero-length send */
	len = make_pkt(buf, sizeof(buf), RCORE_RC_SEND_ONLY, 0, 0);
	assert_int_equal(parse_exact(buf, len, &p), RCORE_OK);
	assert_int_equal(p.payload_len, 0);

	for (len = 0; len < 64; len++)
		assert_int_equal((len + rcore_pad_len((uint32_t)len)) % 4, 0);
	assert_int_equal(rcore_pad_len(5), 3);
	assert_int_equal(rcore_pad_len(8), 0);
}

static void test_reject_payload(void **state)
{
	static const uint8_t no_payload[] = {
		RCORE_RC_READ_REQ, RCORE_RC_ACK, RCORE_RC_ATOMIC_ACK,
		RCORE_RC_CMP_SWAP, RCORE_RC_FETCH_ADD, RCORE_CNP, 0x55,
	};
	struct rcore_pkt p;
	uint8_t buf[128];
	size_t i, len;

	for (i = 0; i < sizeof(no_payload); i++) {
		len = make_pkt(buf, sizeof(buf), no_payload[i], 0, 0);
		assert_int_equal(parse_exact(buf, len, &p), RCORE_OK);
		len = make_pkt(buf, sizeof(buf), no_payload[i], 4, 0);
		assert_int_equal(parse_exact(buf, len, &p),
				 RCORE_ERR_PAYLOAD);
		len = make_pkt(buf, sizeof(buf), no_payload[i], 4, 3);
		assert_int_equal(parse_exact(buf, len, &p),
				 RCORE_ERR_PAYLOAD);
	}
}

static void test_reject_too_long(void **state)
{
	size_t max = RCORE_PKT_MAX_LEN;
	struct rcore_pkt p;
	uint8_t *buf = calloc(1, max + 8);

	assert_non_null(buf);
	buf[0] = RCORE_RC_SEND_ONLY;
	/* RCORE_PKT_MAX_LEN is 3 mod 4: the largest aligned one is fine */
	assert_int_equal(rcore_pkt_parse(buf, max - 3, &p), RCORE_OK);
	assert_int_equal(p.payload_len, max - 3 - 12 - 4);
	assert_int_equal(rcore_pkt_parse(buf, max + 1, &p), RCORE_ERR_LENGTH);
	assert_int_equal(rcore_pkt_parse(buf, max + 5, &p), RCORE_ERR_LENGTH);
	free(buf);
}

/*
 * rcore_pkt_parse_head(): a packet whose headers only are readable (its
 * payload elsewhere, as in a kernel skb's page fragments) parses as the
 * whole packet does, but for the ICRC, and never reads past the headers;
 * headers cut short are refused.
 */
static void test_parse_head(void **state)
{
	const struct rcore_opcode_info *info;
	struct rcore_pkt whole, head;
	uint8_t buf[128], *copy;
	uint32_t icrc;
	unsigned int opc, data;
	size_t len, avail;

	for (opc = 0; opc < 256; opc++) {
		info = rcore_opcode_info((uint8_t)opc);
		if (!info)
			continue;
		data = info->flags & RCORE_OPF_PAYLOAD ? 8 : 0;
		len = make_pkt(buf, sizeof(buf), (uint8_t)opc, data,
			       data ? 3 : 0);
		assert_int_equal(rcore_pkt_parse(buf, len, &whole), RCORE_OK);
		icrc = whole.icrc;
		for (avail = 0; avail <= len; avail++) {
			copy = malloc(avail ? avail : 1);
			assert_non_null(copy);
			memcpy(copy, buf, avail);
			if (avail < info->hdr_len) {
				assert_int_equal(rcore_pkt_parse_head(copy,
						 avail, len, &head),
						 RCORE_ERR_TRUNCATED);
				free(copy);
				continue;
			}
			assert_int_equal(rcore_pkt_parse_head(copy, avail, len,
							      &head), RCORE_OK);
			free(copy);
			whole.icrc = avail < len ? 0 : icrc;
			assert_memory_equal(&head, &whole, sizeof(head));
		}
		/* the same length checks as the whole packet's */
		assert_int_equal(rcore_pkt_parse_head(buf, info->hdr_len,
						      len + 1, &head),
				 RCORE_ERR_LENGTH);
		assert_int_equal(rcore_pkt_parse_head(buf, info->hdr_len,
						      len + 4, &head),
				 data ? RCORE_OK : RCORE_ERR_PAYLOAD);
		assert_int_equal(rcore_pkt_parse_head(buf, len, len - 1,
						      &head), RCORE_ERR_RANGE);
	}
}

static void test_build_errors(void **state)
{
	const struct rcore_opcode_info *info;
	struct rcore_pkt p;
	uint8_t buf[64];
	size_t len, i;

	fill_all(&p, 0x15, 0);		/* RC RESYNC does not exist */
	assert_int_equal(rcore_pkt_build(buf, sizeof(buf), &p),
			 RCORE_ERR_OPCODE);

	fill_all(&p, RCORE_RC_CMP_SWAP, 0);
	info = rcore_opcode_info(RCORE_RC_CMP_SWAP);
	for (len = 0; len < info->hdr_len; len++) {
		memset(buf, 0x5a, sizeof(buf));
		assert_int_equal(rcore_pkt_build(buf, len, &p),
				 RCORE_ERR_TRUNCATED);
		for (i = 0; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0x5a);
	}
	p.bth.dqpn = 0x1000000;
	assert_int_equal(rcore_pkt_build(buf, sizeof(buf), &p),
			 RCORE_ERR_RANGE);
	fill_all(&p, RCORE_RC_ACK, 0);
	p.aeth.msn = 0x1000000;
	assert_int_equal(rcore_pkt_build(buf, sizeof(buf), &p),
			 RCORE_ERR_RANGE);
}

static void test_strerror(void **state)
{
	const char *names[RCORE_ERR_MAX + 1];
	int i, j;

	for (i = 0; i <= RCORE_ERR_MAX; i++) {
		names[i] = rcore_strerror(-i);
		assert_non_null(names[i]);
		assert_string_not_equal(names[i], "unknown");
		for (j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
	assert_string_equal(rcore_strerror(RCORE_ERR_TRUNCATED), "truncated");
	assert_string_equal(rcore_strerror(1), "unknown");
	assert_string_equal(rcore_strerror(-RCORE_ERR_MAX - 1), "unknown");
	assert_string_equal(rcore_strerror(-1000000), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_write_only_imm),
		cmocka_unit_test(test_roundtrip_all_opcodes),
		cmocka_unit_test(test_reject_short),
		cmocka_unit_test(test_reject_opcode),
		cmocka_unit_test(test_reject_version),
		cmocka_unit_test(test_reject_misaligned),
		cmocka_unit_test(test_pad),
		cmocka_unit_test(test_reject_payload),
		cmocka_unit_test(test_reject_too_long),
		cmocka_unit_test(test_parse_head),
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests_name("rcore packets", tests, NULL, NULL);
}
