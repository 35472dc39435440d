// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RoCEv2 transport packet parser and header builder.
 */
#include <rcore/pkt.h>
#include <rcore/bytes.h>
#include <rcore/icrc.h>

/* Decode the extension headers of @hdrs from @buf, which holds them all. */
static void rcore_pkt_decode_ext(const uint8_t *buf, size_t len,
				 unsigned int hdrs, struct rcore_pkt *pkt)
{
	size_t off = RCORE_BTH_LEN;

	/*
	 * The caller checked that @len covers the opcode's header length,
	 * so none of these fail; the lengths are still passed to keep each
	 * decoder's own bound check meaningful.
	 */
	if (hdrs & RCORE_HDR_RDETH)
		off += rcore_rdeth_decode(buf + off, len - off, &pkt->rdeth);
	if (hdrs & RCORE_HDR_DETH)
		off += rcore_deth_decode(buf + off, len - off, &pkt->deth);
	if (hdrs & RCORE_HDR_XRCETH)
		off += rcore_xrceth_decode(buf + off, len - off,
					   &pkt->xrc_srqn);
	if (hdrs & RCORE_HDR_FETH)
		off += rcore_feth_decode(buf + off, len - off, &pkt->feth);
	if (hdrs & RCORE_HDR_RETH)
		off += rcore_reth_decode(buf + off, len - off, &pkt->reth);
	if (hdrs & RCORE_HDR_ATMETH)
		off += rcore_atmeth_decode(buf + off, len - off, &pkt->atmeth);
	if (hdrs & RCORE_HDR_AETH)
		off += rcore_aeth_decode(buf + off, len - off, &pkt->aeth);
	if (hdrs & RCORE_HDR_ATMACK)
		off += rcore_atmack_decode(buf + off, len - off, &pkt->atmack);
	if (hdrs & RCORE_HDR_IMMDT)
		off += rcore_immdt_decode(buf + off, len - off, &pkt->imm);
	if (hdrs & RCORE_HDR_IETH)
		rcore_ieth_decode(buf + off, len - off, &pkt->ieth_rkey);
}

int rcore_pkt_parse_head(const uint8_t *buf, size_t avail, size_t len,
			 struct rcore_pkt *pkt)
{
	const struct rcore_opcode_info *info;
	size_t data;

	*pkt = (struct rcore_pkt){ 0 };
	if (avail > len)
		return RCORE_ERR_RANGE;
	if (len < RCORE_BTH_LEN + RCORE_ICRC_LEN || avail < RCORE_BTH_LEN)
		return RCORE_ERR_TRUNCATED;
	rcore_bth_decode(buf, avail, &pkt->bth);
	if (pkt->bth.tver != 0)
		return RCORE_ERR_VERSION;
	info = rcore_opcode_info(pkt->bth.opcode);
	if (!info)
		return RCORE_ERR_OPCODE;
	if (len < (size_t)info->hdr_len + RCORE_ICRC_LEN ||
	    avail < info->hdr_len)
		return RCORE_ERR_TRUNCATED;
	if (len > RCORE_PKT_MAX_LEN)
		return RCORE_ERR_LENGTH;

	/* Payload and pad together, between the headers and the ICRC. */
	data = len - info->hdr_len - RCORE_ICRC_LEN;
	if (data & 3)
		return RCORE_ERR_LENGTH;
	if (pkt->bth.pad > data)
		return RCORE_ERR_PAD;
	if (data && !(info->flags & RCORE_OPF_PAYLOAD))
		return RCORE_ERR_PAYLOAD;

	rcore_pkt_decode_ext(buf, avail, info->hdrs, pkt);
	pkt->info = info;
	pkt->hdr_len = info->hdr_len;
	pkt->payload_len = (uint32_t)(data - pkt->bth.pad);
	if (avail == len)
		pkt->icrc = rcore_icrc_get(buf + len - RCORE_ICRC_LEN);
	return RCORE_OK;
}

int rcore_pkt_parse(const uint8_t *buf, size_t len, struct rcore_pkt *pkt)
{
	return rcore_pkt_parse_head(buf, len, len, pkt);
}

/* Write one extension header if the opcode has it; advance *off. */
static int rcore_pkt_put_ext(uint8_t *buf, size_t len, size_t *off,
			     unsigned int hdr, const struct rcore_pkt *pkt)
{
	uint8_t *p = buf + *off;
	size_t room = len - *off;
	unsigned int i;
	int ret;

	switch (hdr) {
	case RCORE_HDR_RDETH:
		ret = rcore_rdeth_encode(p, room, &pkt->rdeth);
		break;
	case RCORE_HDR_DETH:
		ret = rcore_deth_encode(p, room, &pkt->deth);
		break;
	case RCORE_HDR_XRCETH:
		ret = rcore_xrceth_encode(p, room, pkt->xrc_srqn);
		break;
	case RCORE_HDR_FETH:
		ret = rcore_feth_encode(p, room, &pkt->feth);
		break;
	case RCORE_HDR_RETH:
		ret = rcore_reth_encode(p, room, &pkt->reth);
		break;
	case RCORE_HDR_ATMETH:
		ret = rcore_atmeth_encode(p, room, &pkt->atmeth);
		break;
	case RCORE_HDR_AETH:
		ret = rcore_aeth_encode(p, room, &pkt->aeth);
		break;
	case RCORE_HDR_ATMACK:
		ret = rcore_atmack_encode(p, room, &pkt->atmack);
		break;
	case RCORE_HDR_IMMDT:
		ret = rcore_immdt_encode(p, room, pkt->imm);
		break;
	case RCORE_HDR_IETH:
		ret = rcore_ieth_encode(p, room, pkt->ieth_rkey);
		break;
	case RCORE_HDR_CNP:
		if (room < RCORE_CNP_RSVD_LEN)
			return RCORE_ERR_TRUNCATED;
		for (i = 0; i < RCORE_CNP_RSVD_LEN; i++)
			p[i] = 0;
		ret = RCORE_CNP_RSVD_LEN;
		break;
	default:
		return RCORE_ERR_OPCODE;
	}
	if (ret < 0)
		return ret;
	*off += (size_t)ret;
	return RCORE_OK;
}

int rcore_pkt_build(uint8_t *buf, size_t len, const struct rcore_pkt *pkt)
{
	const struct rcore_opcode_info *info;
	unsigned int bit;
	size_t off;
	int ret;

	info = rcore_opcode_info(pkt->bth.opcode);
	if (!info)
		return RCORE_ERR_OPCODE;
	if (len < info->hdr_len)
		return RCORE_ERR_TRUNCATED;
	ret = rcore_bth_encode(buf, len, &pkt->bth);
	if (ret < 0)
		return ret;
	off = (size_t)ret;
	for (bit = 1; bit <= RCORE_HDR_ALL; bit <<= 1) {
		if (!(info->hdrs & bit))
			continue;
		ret = rcore_pkt_put_ext(buf, len, &off, bit, pkt);
		if (ret < 0)
			return ret;
	}
	return (int)off;
}
