// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target for rcore's input-facing code.
 *
 * Each input is used as:
 *   - a transport packet (BTH onwards) for rcore_pkt_parse(); a packet
 *     that parses must have consistent lengths, and rebuilding its headers
 *     with rcore_pkt_build() must give back the input's header bytes (but
 *     for reserved bits);
 *   - the input of every header decoder;
 *   - an IP packet for the ICRC functions; where that works, computing it
 *     in two pieces must equal computing it in one, and the UDP payload is
 *     parsed as a transport packet too;
 *   - PSN pairs for the PSN helpers' invariants.
 * Sanitizers catch out-of-bounds accesses; a broken invariant aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rcore/rcore.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)							\
	do {								\
		if (!(cond))						\
			__builtin_trap();				\
	} while (0)

/* Clear the bits rcore_pkt_build() writes as zero. */
static void mask_reserved(uint8_t *h, const struct rcore_opcode_info *info)
{
	unsigned int off;

	h[4] &= 0xc0;		/* BTH: FECN, BECN, resv6 */
	h[8] &= 0x80;		/* BTH: AckReq, resv7 */
	off = rcore_hdr_offset(info->hdrs, RCORE_HDR_RDETH);
	if (off)
		h[off] = 0;
	off = rcore_hdr_offset(info->hdrs, RCORE_HDR_DETH);
	if (off)
		h[off + 4] = 0;
	off = rcore_hdr_offset(info->hdrs, RCORE_HDR_XRCETH);
	if (off)
		h[off] = 0;
	off = rcore_hdr_offset(info->hdrs, RCORE_HDR_FETH);
	if (off) {		/* FETH: resv26, SelectivityLevel, PlT */
		h[off] = h[off + 1] = h[off + 2] = 0;
		h[off + 3] &= 0x3f;
	}
	off = rcore_hdr_offset(info->hdrs, RCORE_HDR_CNP);
	if (off)
		memset(h + off, 0, RCORE_CNP_RSVD_LEN);
}

static void fuzz_transport(const uint8_t *data, size_t size)
{
	uint8_t orig[64], built[64];
	struct rcore_pkt pkt;
	int ret;

	ret = rcore_pkt_parse(data, size, &pkt);
	CHECK(ret <= 0 && ret >= -RCORE_ERR_MAX);
	if (ret)
		return;
	CHECK(pkt.info == rcore_opcode_info(data[0]));
	CHECK(pkt.hdr_len == pkt.info->hdr_len);
	CHECK(pkt.hdr_len + pkt.payload_len + pkt.bth.pad + RCORE_ICRC_LEN ==
	      size);
	CHECK(pkt.payload_len == 0 || (pkt.info->flags & RCORE_OPF_PAYLOAD));
	CHECK(pkt.bth.tver == 0);
	CHECK(pkt.icrc == rcore_icrc_get(data + size - RCORE_ICRC_LEN));

	CHECK(pkt.hdr_len <= sizeof(orig));
	ret = rcore_pkt_build(built, pkt.hdr_len, &pkt);
	CHECK(ret == (int)pkt.hdr_len);
	memcpy(orig, data, pkt.hdr_len);
	mask_reserved(orig, pkt.info);
	CHECK(memcmp(orig, built, pkt.hdr_len) == 0);
}

static void fuzz_decoders(const uint8_t *data, size_t size)
{
	struct rcore_bth bth;
	struct rcore_rdeth rdeth;
	struct rcore_deth deth;
	struct rcore_reth reth;
	struct rcore_atmeth atmeth;
	struct rcore_aeth aeth;
	struct rcore_atmack atmack;
	uint8_t out[RCORE_ATMETH_LEN];
	uint32_t v;

	/* decode, and where that works, encode back to the same bytes */
	if (rcore_bth_decode(data, size, &bth) > 0) {
		CHECK(rcore_bth_encode(out, sizeof(out), &bth) ==
		      RCORE_BTH_LEN);
		CHECK(!memcmp(out, data, 4) &&
		      out[4] == (data[4] & 0xc0) &&
		      !memcmp(out + 5, data + 5, 3) &&
		      out[8] == (data[8] & 0x80) &&
		      !memcmp(out + 9, data + 9, 3));
	}
	if (rcore_rdeth_decode(data, size, &rdeth) > 0)
		CHECK(rdeth.eec <= 0xffffff);
	if (rcore_deth_decode(data, size, &deth) > 0)
		CHECK(deth.sqpn <= RCORE_QPN_MASK);
	if (rcore_reth_decode(data, size, &reth) > 0) {
		rcore_reth_encode(out, sizeof(out), &reth);
		CHECK(!memcmp(out, data, RCORE_RETH_LEN));
	}
	if (rcore_atmeth_decode(data, size, &atmeth) > 0) {
		rcore_atmeth_encode(out, sizeof(out), &atmeth);
		CHECK(!memcmp(out, data, RCORE_ATMETH_LEN));
	}
	if (rcore_aeth_decode(data, size, &aeth) > 0) {
		CHECK(rcore_aeth_encode(out, sizeof(out), &aeth) > 0);
		CHECK(!memcmp(out, data, RCORE_AETH_LEN));
		(void)rcore_aeth_credits(aeth.syndrome);
		(void)rcore_rnr_timer_usec(aeth.syndrome);
	}
	if (rcore_atmack_decode(data, size, &atmack) > 0) {
		rcore_atmack_encode(out, sizeof(out), &atmack);
		CHECK(!memcmp(out, data, RCORE_ATMACK_LEN));
	}
	(void)rcore_immdt_decode(data, size, &v);
	(void)rcore_ieth_decode(data, size, &v);
	if (rcore_xrceth_decode(data, size, &v) > 0)
		CHECK(v <= RCORE_QPN_MASK);
}

static void fuzz_icrc(const uint8_t *data, size_t size)
{
	struct rcore_icrc ctx;
	uint32_t whole;
	size_t split;
	int ret, n, bth;

	ret = rcore_icrc_calc(data, size, &whole);
	CHECK(ret <= 0);
	(void)rcore_icrc_check(data, size);
	if (ret)
		return;
	n = rcore_icrc_begin(&ctx, data, size);
	CHECK(n > 0 && (size_t)n <= size);
	split = n + (size - (size_t)n) / 3;
	rcore_icrc_update(&ctx, data + n, split - (size_t)n);
	rcore_icrc_update(&ctx, data + split, size - split);
	CHECK(rcore_icrc_final(&ctx) == whole);

	bth = rcore_icrc_bth_offset(data, size);
	CHECK(bth + RCORE_BTH_LEN == n);
	fuzz_transport(data + bth, size - (size_t)bth);
}

static void fuzz_psn(const uint8_t *data, size_t size)
{
	uint32_t a, b;
	int32_t d;

	if (size < 6)
		return;
	a = rcore_get_be24(data);
	b = rcore_get_be24(data + 3);
	d = rcore_psn_diff(a, b);
	CHECK(d >= -(int32_t)RCORE_PSN_HALF && d < (int32_t)RCORE_PSN_HALF);
	CHECK(rcore_psn_add(b, d) == a);
	CHECK((rcore_psn_classify(b, a) == RCORE_PSN_NEW) == (a == b));
	CHECK((rcore_psn_classify(b, a) == RCORE_PSN_DUPLICATE) ==
	      rcore_psn_before(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size heap copy: any read past @size is caught by ASan */
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	if (size)
		memcpy(copy, data, size);
	fuzz_transport(copy, size);
	fuzz_decoders(copy, size);
	fuzz_icrc(copy, size);
	fuzz_psn(copy, size);
	free(copy);
	return 0;
}
