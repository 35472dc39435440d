// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Opcode table sanity: the set of known opcodes, header lengths against
 * the header masks, and every flag against what the opcode's name says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rcore/opcode.h>
#include <rcore/hdr.h>

/*
 * Every opcode the table must know (IBA table 38, RC's ATOMIC WRITE and
 * FLUSH from IBA 1.5, the CNP), and no other.
 */
static const uint8_t known[] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x16,
	0x17, 0x1c, 0x1d,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
	0x2b,
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
	0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
	0x64, 0x65,
	0x81,
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
	0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb6,
	0xb7, 0xbc, 0xbd,
};

static int is_known(unsigned int opc)
{
	size_t i;

	for (i = 0; i < sizeof(known); i++)
		if (known[i] == opc)
			return 1;
	return 0;
}

static int has(const char *name, const char *part)
{
	return strstr(name, part) != NULL;
}

static void test_known_set(void **state)
{
	unsigned int opc;

	for (opc = 0; opc < 256; opc++) {
		if (is_known(opc))
			assert_non_null(rcore_opcode_info((uint8_t)opc));
		else if (rcore_opcode_info((uint8_t)opc))
			fail_msg("opcode 0x%02x should be unknown", opc);
	}
}

static void test_lengths_match_masks(void **state)
{
	const struct rcore_opcode_info *info;
	unsigned int opc, bit, len;

	for (opc = 0; opc < 256; opc++) {
		info = rcore_opcode_info((uint8_t)opc);
		if (!info)
			continue;
		assert_int_equal(info->hdrs & ~RCORE_HDR_ALL, 0);
		len = RCORE_BTH_LEN;
		for (bit = 1; bit <= RCORE_HDR_ALL; bit <<= 1)
			if (info->hdrs & bit)
				len += rcore_hdr_size(bit);
		if (len != info->hdr_len)
			fail_msg("%s: hdr_len %u, headers add up to %u",
				 info->name, info->hdr_len, len);
		assert_int_equal(info->hdr_len % 4, 0);
	}
}

static void test_spec_lengths(void **state)
{
	static const struct { uint8_t opc; uint8_t len; } v[] = {
		{ RCORE_RC_SEND_ONLY, 12 }, { RCORE_RC_SEND_ONLY_IMM, 16 },
		{ RCORE_RC_WRITE_FIRST, 28 }, { RCORE_RC_WRITE_MIDDLE, 12 },
		{ RCORE_RC_WRITE_ONLY_IMM, 32 }, { RCORE_RC_READ_REQ, 28 },
		{ RCORE_RC_READ_RESP_MIDDLE, 12 },
		{ RCORE_RC_READ_RESP_ONLY, 16 }, { RCORE_RC_ACK, 16 },
		{ RCORE_RC_ATOMIC_ACK, 24 }, { RCORE_RC_CMP_SWAP, 40 },
		{ RCORE_RC_FETCH_ADD, 40 }, { RCORE_RC_SEND_ONLY_INV, 16 },
		{ RCORE_RC_ATOMIC_WRITE, 28 },
		{ RCORE_UC_WRITE_ONLY, 28 }, { RCORE_UD_SEND_ONLY, 20 },
		{ RCORE_UD_SEND_ONLY_IMM, 24 }, { RCORE_CNP, 28 },
		{ 0x4b, 44 }, { 0x53, 52 }, { 0x4e, 16 },
		/* XRC: RC's, plus the XRCETH on requests */
		{ 0xa4, 16 }, { 0xab, 36 }, { 0xac, 32 }, { 0xb3, 44 },
		{ 0xb1, 16 }, { 0xb2, 24 }, { 0xad, 16 }, { 0xb7, 20 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_non_null(rcore_opcode_info(v[i].opc));
		assert_int_equal(rcore_opcode_info(v[i].opc)->hdr_len,
				 v[i].len);
	}
}

/* The flags and header masks must agree with the IBA name. */
static void test_flags_match_names(void **state)
{
	const struct rcore_opcode_info *info;
	static const char *const prefix[] = { "RC_", "UC_", "RD_", "UD_",
					      NULL, "XRC_" };
	unsigned int opc, pos, tr;
	const char *n;

	for (opc = 0; opc < 256; opc++) {
		info = rcore_opcode_info((uint8_t)opc);
		if (!info)
			continue;
		n = info->name;
		tr = opc >> 5;
		assert_int_equal(rcore_opcode_transport((uint8_t)opc), tr);
		if (opc == RCORE_CNP) {
			assert_string_equal(n, "CNP");
			assert_int_equal(info->kind, RCORE_OPK_CNP);
			assert_int_equal(info->hdrs, RCORE_HDR_CNP);
			assert_int_equal(info->flags, 0);
			continue;
		}
		assert_true(tr < 4 || tr == 5);
		assert_memory_equal(n, prefix[tr], strlen(prefix[tr]));

		/* position in the message */
		pos = info->flags & (RCORE_OPF_FIRST | RCORE_OPF_MIDDLE |
				     RCORE_OPF_LAST);
		if (has(n, "_FIRST"))
			assert_int_equal(pos, RCORE_OPF_FIRST);
		else if (has(n, "_MIDDLE"))
			assert_int_equal(pos, RCORE_OPF_MIDDLE);
		else if (has(n, "_LAST"))
			assert_int_equal(pos, RCORE_OPF_LAST);
		else
			assert_int_equal(pos, RCORE_OPF_ONLY);

		/* direction */
		if (has(n, "_RESP") || has(n, "ACK")) {
			assert_true(info->flags & RCORE_OPF_RESP);
			assert_false(info->flags & RCORE_OPF_REQ);
		} else {
			assert_true(info->flags & RCORE_OPF_REQ);
			assert_false(info->flags & RCORE_OPF_RESP);
		}
		assert_int_equal(!!(info->flags & RCORE_OPF_ACK),
				 !!has(n, "ACK"));

		/* payload: sends, writes and read responses */
		assert_int_equal(!!(info->flags & RCORE_OPF_PAYLOAD),
				 has(n, "SEND") || has(n, "WRITE") ||
				 has(n, "READ_RESP"));

		/* kind */
		if (has(n, "SEND"))
			assert_int_equal(info->kind, RCORE_OPK_SEND);
		else if (has(n, "WRITE"))
			assert_int_equal(info->kind, RCORE_OPK_WRITE);
		else if (has(n, "READ"))
			assert_int_equal(info->kind, RCORE_OPK_READ);
		else if (has(n, "CMP_SWAP") || has(n, "FETCH_ADD") ||
			 has(n, "ATOMIC_ACK"))
			assert_int_equal(info->kind, RCORE_OPK_ATOMIC);
		else if (has(n, "_ACK"))
			assert_int_equal(info->kind, RCORE_OPK_ACK);
		else if (has(n, "RESYNC"))
			assert_int_equal(info->kind, RCORE_OPK_RESYNC);
		else if (has(n, "FLUSH"))
			assert_int_equal(info->kind, RCORE_OPK_FLUSH);
		else
			fail_msg("no kind for %s", n);

		/* extension headers */
		assert_int_equal(!!(info->hdrs & RCORE_HDR_RDETH), tr == 2);
		assert_int_equal(!!(info->hdrs & RCORE_HDR_XRCETH),
				 tr == 5 && (info->flags & RCORE_OPF_REQ));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_DETH),
				 tr == 3 || (tr == 2 &&
					     (info->flags & RCORE_OPF_REQ)));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_IMMDT),
				 !!has(n, "_IMM"));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_IETH),
				 !!has(n, "_INV"));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_RETH),
				 has(n, "WRITE_FIRST") ||
				 has(n, "WRITE_ONLY") || has(n, "READ_REQ") ||
				 has(n, "ATOMIC_WRITE") || has(n, "FLUSH"));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_FETH),
				 !!has(n, "FLUSH"));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_ATMETH),
				 has(n, "CMP_SWAP") || has(n, "FETCH_ADD"));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_ATMACK),
				 !!has(n, "ATOMIC_ACK"));
		assert_int_equal(!!(info->hdrs & RCORE_HDR_AETH),
				 has(n, "ACK") || has(n, "RESP_FIRST") ||
				 has(n, "RESP_LAST") || has(n, "RESP_ONLY"));
		assert_false(info->hdrs & RCORE_HDR_CNP);
	}
}

/* RC and UC share operation codes: same name after the prefix. */
static void test_transports_agree(void **state)
{
	const struct rcore_opcode_info *rc, *uc, *rd, *xrc;
	unsigned int op;

	for (op = 0; op < 32; op++) {
		rc = rcore_opcode_info(RCORE_OPCODE(RCORE_TR_RC, op));
		uc = rcore_opcode_info(RCORE_OPCODE(RCORE_TR_UC, op));
		rd = rcore_opcode_info(RCORE_OPCODE(RCORE_TR_RD, op));
		xrc = rcore_opcode_info(RCORE_OPCODE(RCORE_TR_XRC, op));
		/* XRC has exactly RC's operations, the same apart from the
		 * XRCETH of requests */
		assert_int_equal(!rc, !xrc);
		if (xrc) {
			assert_string_equal(rc->name + 3, xrc->name + 4);
			assert_int_equal(rc->flags, xrc->flags);
			assert_int_equal(rc->hdrs | ((rc->flags &
				RCORE_OPF_REQ) ? RCORE_HDR_XRCETH : 0),
				xrc->hdrs);
			assert_int_equal(rcore_xrc_opcode((uint8_t)op),
					 RCORE_OPCODE(RCORE_TR_XRC, op));
			assert_int_equal(rcore_xrc_rc_opcode(
				rcore_xrc_opcode((uint8_t)op)), op);
		}
		if (uc) {
			assert_non_null(rc);
			assert_string_equal(rc->name + 3, uc->name + 3);
			assert_int_equal(rc->hdrs, uc->hdrs);
			assert_int_equal(rc->flags, uc->flags);
		}
		if (rc && rd) {
			assert_string_equal(rc->name + 3, rd->name + 3);
			assert_int_equal(rc->flags, rd->flags);
			assert_int_equal(rcore_opcode_op(RCORE_OPCODE(
					 RCORE_TR_RD, op)), op);
		}
	}
	assert_int_equal(RCORE_OPCODE(RCORE_TR_UD, RCORE_OP_SEND_ONLY),
			 RCORE_UD_SEND_ONLY);
	assert_int_equal(RCORE_OPCODE(RCORE_TR_UC, RCORE_OP_WRITE_ONLY_IMM),
			 RCORE_UC_WRITE_ONLY_IMM);
}

static void test_hdr_offsets(void **state)
{
	const struct rcore_opcode_info *i;

	i = rcore_opcode_info(RCORE_RC_WRITE_ONLY_IMM);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_RETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_IMMDT), 28);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_AETH), 0);
	i = rcore_opcode_info(0x4b);	/* RD_WRITE_ONLY_IMM */
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_RDETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_DETH), 16);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_RETH), 24);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_IMMDT), 40);
	i = rcore_opcode_info(RCORE_RC_ATOMIC_ACK);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_AETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_ATMACK), 16);
	i = rcore_opcode_info(0xab);	/* XRC_WRITE_ONLY_IMM */
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_XRCETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_RETH), 16);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_IMMDT), 32);
	/* FLUSH: the FETH comes before the RETH (after an XRCETH) */
	i = rcore_opcode_info(RCORE_RC_FLUSH);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_FETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_RETH), 16);
	assert_int_equal(i->hdr_len, 32);
	i = rcore_opcode_info(0xbc);	/* XRC_FLUSH */
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_XRCETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_FETH), 16);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_RETH), 20);
	i = rcore_opcode_info(RCORE_UD_SEND_ONLY_IMM);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_DETH), 12);
	assert_int_equal(rcore_hdr_offset(i->hdrs, RCORE_HDR_IMMDT), 20);
	/* not a single header bit */
	assert_int_equal(rcore_hdr_offset(RCORE_HDR_ALL, 0), 0);
	assert_int_equal(rcore_hdr_offset(RCORE_HDR_ALL, 3), 0);
	assert_int_equal(rcore_hdr_size(0), 0);
	assert_int_equal(rcore_hdr_size(RCORE_HDR_RETH | RCORE_HDR_AETH), 0);
	assert_int_equal(rcore_hdr_size(RCORE_HDR_ALL + 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_set),
		cmocka_unit_test(test_lengths_match_masks),
		cmocka_unit_test(test_spec_lengths),
		cmocka_unit_test(test_flags_match_names),
		cmocka_unit_test(test_transports_agree),
		cmocka_unit_test(test_hdr_offsets),
	};

	return cmocka_run_group_tests_name("rcore opcodes", tests, NULL, NULL);
}
