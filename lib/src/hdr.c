// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RoCEv2 header encoders and decoders.
 *
 * BTH wire layout (IBA 9.2):
 *   byte 0      opcode
 *   byte 1      SE(7) M(6) PadCnt(5..4) TVer(3..0)
 *   bytes 2-3   P_Key
 *   byte 4      FECN(7) BECN(6) reserved(5..0)
 *   bytes 5-7   DestQP
 *   byte 8      AckReq(7) reserved(6..0)
 *   bytes 9-11  PSN
 */
#include <rcore/hdr.h>
#include <rcore/bytes.h>

int rcore_bth_encode(uint8_t *buf, size_t len, const struct rcore_bth *h)
{
	if (len < RCORE_BTH_LEN)
		return RCORE_ERR_TRUNCATED;
	if (h->pad > 3 || h->tver > 15 || h->dqpn > RCORE_QPN_MASK ||
	    h->psn > RCORE_PSN_MASK)
		return RCORE_ERR_RANGE;

	buf[0] = h->opcode;
	buf[1] = (uint8_t)((h->se ? 0x80 : 0) | (h->mig ? 0x40 : 0) |
			   h->pad << 4 | h->tver);
	rcore_put_be16(buf + 2, h->pkey);
	buf[4] = (uint8_t)((h->fecn ? 0x80 : 0) | (h->becn ? 0x40 : 0));
	rcore_put_be24(buf + 5, h->dqpn);
	buf[8] = h->ackreq ? 0x80 : 0;
	rcore_put_be24(buf + 9, h->psn);
	return RCORE_BTH_LEN;
}

int rcore_bth_decode(const uint8_t *buf, size_t len, struct rcore_bth *h)
{
	if (len < RCORE_BTH_LEN)
		return RCORE_ERR_TRUNCATED;

	h->opcode = buf[0];
	h->se = buf[1] & 0x80;
	h->mig = buf[1] & 0x40;
	h->pad = (buf[1] >> 4) & 3;
	h->tver = buf[1] & 0x0f;
	h->pkey = rcore_get_be16(buf + 2);
	h->fecn = buf[4] & 0x80;
	h->becn = buf[4] & 0x40;
	h->dqpn = rcore_get_be24(buf + 5);
	h->ackreq = buf[8] & 0x80;
	h->psn = rcore_get_be24(buf + 9);
	return RCORE_BTH_LEN;
}

/* RDETH: reserved byte, then the 24-bit EE context. */
int rcore_rdeth_encode(uint8_t *buf, size_t len, const struct rcore_rdeth *h)
{
	if (len < RCORE_RDETH_LEN)
		return RCORE_ERR_TRUNCATED;
	if (h->eec > 0xffffffu)
		return RCORE_ERR_RANGE;

	buf[0] = 0;
	rcore_put_be24(buf + 1, h->eec);
	return RCORE_RDETH_LEN;
}

int rcore_rdeth_decode(const uint8_t *buf, size_t len, struct rcore_rdeth *h)
{
	if (len < RCORE_RDETH_LEN)
		return RCORE_ERR_TRUNCATED;

	h->eec = rcore_get_be24(buf + 1);
	return RCORE_RDETH_LEN;
}

/* XRCETH: reserved byte, 24-bit XRC SRQ number. */
int rcore_xrceth_encode(uint8_t *buf, size_t len, uint32_t srqn)
{
	if (len < RCORE_XRCETH_LEN)
		return RCORE_ERR_TRUNCATED;
	if (srqn > RCORE_QPN_MASK)
		return RCORE_ERR_RANGE;

	buf[0] = 0;
	rcore_put_be24(buf + 1, srqn);
	return RCORE_XRCETH_LEN;
}

int rcore_xrceth_decode(const uint8_t *buf, size_t len, uint32_t *srqn)
{
	if (len < RCORE_XRCETH_LEN)
		return RCORE_ERR_TRUNCATED;

	*srqn = rcore_get_be24(buf + 1);
	return RCORE_XRCETH_LEN;
}

/* DETH: Q_Key, reserved byte, 24-bit source QP. */
int rcore_deth_encode(uint8_t *buf, size_t len, const struct rcore_deth *h)
{
	if (len < RCORE_DETH_LEN)
		return RCORE_ERR_TRUNCATED;
	if (h->sqpn > RCORE_QPN_MASK)
		return RCORE_ERR_RANGE;

	rcore_put_be32(buf, h->qkey);
	buf[4] = 0;
	rcore_put_be24(buf + 5, h->sqpn);
	return RCORE_DETH_LEN;
}

int rcore_deth_decode(const uint8_t *buf, size_t len, struct rcore_deth *h)
{
	if (len < RCORE_DETH_LEN)
		return RCORE_ERR_TRUNCATED;

	h->qkey = rcore_get_be32(buf);
	h->sqpn = rcore_get_be24(buf + 5);
	return RCORE_DETH_LEN;
}

/* FETH: selectivity level in bits 5:4, placement type in bits 3:0. */
int rcore_feth_encode(uint8_t *buf, size_t len, const struct rcore_feth *h)
{
	if (len < RCORE_FETH_LEN)
		return RCORE_ERR_TRUNCATED;
	if (h->plt > 0xf || h->sel > 3)
		return RCORE_ERR_RANGE;

	rcore_put_be32(buf, (uint32_t)h->sel << 4 | h->plt);
	return RCORE_FETH_LEN;
}

int rcore_feth_decode(const uint8_t *buf, size_t len, struct rcore_feth *h)
{
	uint32_t w;

	if (len < RCORE_FETH_LEN)
		return RCORE_ERR_TRUNCATED;

	w = rcore_get_be32(buf);
	h->plt = w & 0xf;
	h->sel = (w >> 4) & 3;
	return RCORE_FETH_LEN;
}

/* RETH: virtual address, R_Key, DMA length. */
int rcore_reth_encode(uint8_t *buf, size_t len, const struct rcore_reth *h)
{
	if (len < RCORE_RETH_LEN)
		return RCORE_ERR_TRUNCATED;

	rcore_put_be64(buf, h->va);
	rcore_put_be32(buf + 8, h->rkey);
	rcore_put_be32(buf + 12, h->len);
	return RCORE_RETH_LEN;
}

int rcore_reth_decode(const uint8_t *buf, size_t len, struct rcore_reth *h)
{
	if (len < RCORE_RETH_LEN)
		return RCORE_ERR_TRUNCATED;

	h->va = rcore_get_be64(buf);
	h->rkey = rcore_get_be32(buf + 8);
	h->len = rcore_get_be32(buf + 12);
	return RCORE_RETH_LEN;
}

/* AtomicETH: virtual address, R_Key, swap (or add) data, compare data. */
int rcore_atmeth_encode(uint8_t *buf, size_t len,
			const struct rcore_atmeth *h)
{
	if (len < RCORE_ATMETH_LEN)
		return RCORE_ERR_TRUNCATED;

	rcore_put_be64(buf, h->va);
	rcore_put_be32(buf + 8, h->rkey);
	rcore_put_be64(buf + 12, h->swap_add);
	rcore_put_be64(buf + 20, h->compare);
	return RCORE_ATMETH_LEN;
}

int rcore_atmeth_decode(const uint8_t *buf, size_t len,
			struct rcore_atmeth *h)
{
	if (len < RCORE_ATMETH_LEN)
		return RCORE_ERR_TRUNCATED;

	h->va = rcore_get_be64(buf);
	h->rkey = rcore_get_be32(buf + 8);
	h->swap_add = rcore_get_be64(buf + 12);
	h->compare = rcore_get_be64(buf + 20);
	return RCORE_ATMETH_LEN;
}

/* AETH: syndrome byte, 24-bit MSN. */
int rcore_aeth_encode(uint8_t *buf, size_t len, const struct rcore_aeth *h)
{
	if (len < RCORE_AETH_LEN)
		return RCORE_ERR_TRUNCATED;
	if (h->msn > RCORE_MSN_MASK)
		return RCORE_ERR_RANGE;

	buf[0] = h->syndrome;
	rcore_put_be24(buf + 1, h->msn);
	return RCORE_AETH_LEN;
}

int rcore_aeth_decode(const uint8_t *buf, size_t len, struct rcore_aeth *h)
{
	if (len < RCORE_AETH_LEN)
		return RCORE_ERR_TRUNCATED;

	h->syndrome = buf[0];
	h->msn = rcore_get_be24(buf + 1);
	return RCORE_AETH_LEN;
}

int rcore_atmack_encode(uint8_t *buf, size_t len,
			const struct rcore_atmack *h)
{
	if (len < RCORE_ATMACK_LEN)
		return RCORE_ERR_TRUNCATED;

	rcore_put_be64(buf, h->orig);
	return RCORE_ATMACK_LEN;
}

int rcore_atmack_decode(const uint8_t *buf, size_t len,
			struct rcore_atmack *h)
{
	if (len < RCORE_ATMACK_LEN)
		return RCORE_ERR_TRUNCATED;

	h->orig = rcore_get_be64(buf);
	return RCORE_ATMACK_LEN;
}

int rcore_immdt_encode(uint8_t *buf, size_t len, uint32_t imm)
{
	if (len < RCORE_IMMDT_LEN)
		return RCORE_ERR_TRUNCATED;

	rcore_put_be32(buf, imm);
	return RCORE_IMMDT_LEN;
}

int rcore_immdt_decode(const uint8_t *buf, size_t len, uint32_t *imm)
{
	if (len < RCORE_IMMDT_LEN)
		return RCORE_ERR_TRUNCATED;

	*imm = rcore_get_be32(buf);
	return RCORE_IMMDT_LEN;
}

int rcore_ieth_encode(uint8_t *buf, size_t len, uint32_t rkey)
{
	if (len < RCORE_IETH_LEN)
		return RCORE_ERR_TRUNCATED;

	rcore_put_be32(buf, rkey);
	return RCORE_IETH_LEN;
}

int rcore_ieth_decode(const uint8_t *buf, size_t len, uint32_t *rkey)
{
	if (len < RCORE_IETH_LEN)
		return RCORE_ERR_TRUNCATED;

	*rkey = rcore_get_be32(buf);
	return RCORE_IETH_LEN;
}

/* IBA table 45: credit count codes 0..30 (31 means "invalid"). */
static const uint16_t rcore_credit_counts[31] = {
	0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256,
	384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288,
	16384, 24576, 32768,
};

int rcore_aeth_credits(uint8_t code)
{
	code &= 0x1f;
	if (code == RCORE_AETH_CREDIT_INVALID)
		return -1;
	return rcore_credit_counts[code];
}

uint8_t rcore_aeth_credit_code(uint32_t credits)
{
	uint8_t code = 0;

	while (code < 30 && rcore_credit_counts[code + 1] <= credits)
		code++;
	return code;
}

/* IBA table 46: RNR NAK timer codes, in microseconds. */
static const uint32_t rcore_rnr_usec[32] = {
	655360, 10, 20, 30, 40, 60, 80, 120, 160, 240, 320, 480, 640, 960,
	1280, 1920, 2560, 3840, 5120, 7680, 10240, 15360, 20480, 30720,
	40960, 61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

uint32_t rcore_rnr_timer_usec(uint8_t code)
{
	return rcore_rnr_usec[code & 0x1f];
}
