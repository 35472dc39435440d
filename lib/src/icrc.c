// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RoCEv2 ICRC: CRC-32 over the packet with the variant fields masked.
 */
#include <rcore/icrc.h>
#include <rcore/crc32.h>
#include <rcore/hdr.h>
#include <rcore/opcode.h>

/* Longest masked prefix: LRH stand-in, IPv4 with options, UDP, BTH. */
#define RCORE_ICRC_PREFIX_MAX	(8 + 60 + RCORE_UDP_HLEN + RCORE_BTH_LEN)

int rcore_icrc_bth_offset(const uint8_t *ip, size_t len)
{
	size_t hlen;

	if (len < 1)
		return RCORE_ERR_TRUNCATED;
	switch (ip[0] >> 4) {
	case 4:
		hlen = (size_t)(ip[0] & 0x0f) * 4;
		if (hlen < RCORE_IPV4_MIN_HLEN)
			return RCORE_ERR_LENGTH;
		if (len < RCORE_IPV4_MIN_HLEN)
			return RCORE_ERR_TRUNCATED;
		if (ip[9] != RCORE_IPPROTO_UDP)
			return RCORE_ERR_PROTO;
		break;
	case 6:
		hlen = RCORE_IPV6_HLEN;
		if (len < hlen)
			return RCORE_ERR_TRUNCATED;
		if (ip[6] != RCORE_IPPROTO_UDP)
			return RCORE_ERR_PROTO;
		break;
	default:
		return RCORE_ERR_VERSION;
	}
	if (len < hlen + RCORE_UDP_HLEN + RCORE_BTH_LEN)
		return RCORE_ERR_TRUNCATED;
	return (int)(hlen + RCORE_UDP_HLEN);
}

int rcore_icrc_begin(struct rcore_icrc *ctx, const uint8_t *ip, size_t len)
{
	uint8_t pre[RCORE_ICRC_PREFIX_MAX];
	uint8_t *iph = pre + 8;
	size_t i, n;
	int bth;

	bth = rcore_icrc_bth_offset(ip, len);
	if (bth < 0)
		return bth;
	n = (size_t)bth + RCORE_BTH_LEN;

	for (i = 0; i < 8; i++)
		pre[i] = 0xff;
	rcore_copy_bytes(iph, ip, n);
	if ((ip[0] >> 4) == 4) {
		iph[1] = 0xff;			/* TOS: DSCP and ECN */
		iph[8] = 0xff;			/* TTL */
		iph[10] = 0xff;			/* header checksum */
		iph[11] = 0xff;
	} else {
		iph[0] |= 0x0f;			/* traffic class, */
		iph[1] = 0xff;			/* flow label */
		iph[2] = 0xff;
		iph[3] = 0xff;
		iph[7] = 0xff;			/* hop limit */
	}
	iph[bth - 2] = 0xff;			/* UDP checksum */
	iph[bth - 1] = 0xff;
	iph[bth + 4] = 0xff;			/* BTH FECN, BECN, resv6 */

	ctx->crc = rcore_crc32_le(rcore_crc32_init(), pre, 8 + n);
	return (int)n;
}

void rcore_icrc_update(struct rcore_icrc *ctx, const void *buf, size_t len)
{
	ctx->crc = rcore_crc32_le(ctx->crc, buf, len);
}

uint32_t rcore_icrc_final(const struct rcore_icrc *ctx)
{
	return rcore_crc32_final(ctx->crc);
}

int rcore_icrc_calc(const uint8_t *ip, size_t len, uint32_t *icrc)
{
	struct rcore_icrc ctx;
	int n;

	n = rcore_icrc_begin(&ctx, ip, len);
	if (n < 0)
		return n;
	rcore_icrc_update(&ctx, ip + n, len - (size_t)n);
	*icrc = rcore_icrc_final(&ctx);
	return RCORE_OK;
}

int rcore_icrc_calc_rxe_flush(const uint8_t *ip, size_t len, uint32_t *icrc)
{
	struct rcore_icrc ctx;
	int bth, n;

	bth = rcore_icrc_bth_offset(ip, len);
	if (bth < 0)
		return bth;
	n = rcore_icrc_begin(&ctx, ip, len);
	if (n < 0)
		return n;
	rcore_icrc_update(&ctx, ip + n, len - (size_t)n);
	/* the "payload" rxe takes: the BTH on, as sent */
	rcore_icrc_update(&ctx, ip + bth, len - (size_t)bth);
	*icrc = rcore_icrc_final(&ctx);
	return RCORE_OK;
}

int rcore_icrc_check_rxe_flush(const uint8_t *ip, size_t len)
{
	uint32_t icrc;
	int bth, ret;

	if (len < RCORE_ICRC_LEN)
		return RCORE_ERR_TRUNCATED;
	bth = rcore_icrc_bth_offset(ip, len - RCORE_ICRC_LEN);
	if (bth < 0)
		return bth;
	if (ip[bth] != RCORE_RC_FLUSH)
		return RCORE_ERR_ICRC;
	ret = rcore_icrc_calc_rxe_flush(ip, len - RCORE_ICRC_LEN, &icrc);
	if (ret < 0)
		return ret;
	if (icrc != rcore_icrc_get(ip + len - RCORE_ICRC_LEN))
		return RCORE_ERR_ICRC;
	return RCORE_OK;
}

int rcore_icrc_check(const uint8_t *ip, size_t len)
{
	uint32_t icrc;
	int ret;

	if (len < RCORE_ICRC_LEN)
		return RCORE_ERR_TRUNCATED;
	ret = rcore_icrc_calc(ip, len - RCORE_ICRC_LEN, &icrc);
	if (ret < 0)
		return ret;
	if (icrc != rcore_icrc_get(ip + len - RCORE_ICRC_LEN))
		return RCORE_ERR_ICRC;
	return RCORE_OK;
}
