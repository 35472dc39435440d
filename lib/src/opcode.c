// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The BTH opcode table (IBA 9.2, table 38) for RC, UC, RD, UD and XRC
 * (IBA annex A14), plus the RoCEv2 CNP (IBA annex A17).  Header lengths are written out rather than
 * derived from the masks, so the unit tests can check one against the
 * other.
 */
#include <rcore/opcode.h>
#include <rcore/hdr.h>

/* Flags: request, request with data, response with data, ACK. */
#define RQ(pos)		(RCORE_OPF_##pos | RCORE_OPF_REQ)
#define RQD(pos)	(RQ(pos) | RCORE_OPF_PAYLOAD)
#define RSD(pos)	(RCORE_OPF_##pos | RCORE_OPF_RESP | RCORE_OPF_PAYLOAD)
#define ACKF		(RCORE_OPF_ONLY | RCORE_OPF_RESP | RCORE_OPF_ACK)

#define H_RD	RCORE_HDR_RDETH
#define H_DE	RCORE_HDR_DETH
#define H_XR	RCORE_HDR_XRCETH
#define H_FE	RCORE_HDR_FETH
#define H_RE	RCORE_HDR_RETH
#define H_AT	RCORE_HDR_ATMETH
#define H_AE	RCORE_HDR_AETH
#define H_AA	RCORE_HDR_ATMACK
#define H_IM	RCORE_HDR_IMMDT
#define H_IE	RCORE_HDR_IETH
#define H_CNP	RCORE_HDR_CNP

#define OP(opc, nm, h, f, k, l)						\
	[opc] = { .name = nm, .hdrs = (h), .flags = (f),		\
		  .kind = RCORE_OPK_##k, .hdr_len = (l) }

static const struct rcore_opcode_info rcore_opcodes[256] = {
	/* Reliable Connection */
	OP(0x00, "RC_SEND_FIRST", 0, RQD(FIRST), SEND, 12),
	OP(0x01, "RC_SEND_MIDDLE", 0, RQD(MIDDLE), SEND, 12),
	OP(0x02, "RC_SEND_LAST", 0, RQD(LAST), SEND, 12),
	OP(0x03, "RC_SEND_LAST_IMM", H_IM, RQD(LAST), SEND, 16),
	OP(0x04, "RC_SEND_ONLY", 0, RQD(ONLY), SEND, 12),
	OP(0x05, "RC_SEND_ONLY_IMM", H_IM, RQD(ONLY), SEND, 16),
	OP(0x06, "RC_WRITE_FIRST", H_RE, RQD(FIRST), WRITE, 28),
	OP(0x07, "RC_WRITE_MIDDLE", 0, RQD(MIDDLE), WRITE, 12),
	OP(0x08, "RC_WRITE_LAST", 0, RQD(LAST), WRITE, 12),
	OP(0x09, "RC_WRITE_LAST_IMM", H_IM, RQD(LAST), WRITE, 16),
	OP(0x0a, "RC_WRITE_ONLY", H_RE, RQD(ONLY), WRITE, 28),
	OP(0x0b, "RC_WRITE_ONLY_IMM", H_RE | H_IM, RQD(ONLY), WRITE, 32),
	OP(0x0c, "RC_READ_REQ", H_RE, RQ(ONLY), READ, 28),
	OP(0x0d, "RC_READ_RESP_FIRST", H_AE, RSD(FIRST), READ, 16),
	OP(0x0e, "RC_READ_RESP_MIDDLE", 0, RSD(MIDDLE), READ, 12),
	OP(0x0f, "RC_READ_RESP_LAST", H_AE, RSD(LAST), READ, 16),
	OP(0x10, "RC_READ_RESP_ONLY", H_AE, RSD(ONLY), READ, 16),
	OP(0x11, "RC_ACK", H_AE, ACKF, ACK, 16),
	OP(0x12, "RC_ATOMIC_ACK", H_AE | H_AA, ACKF, ATOMIC, 24),
	OP(0x13, "RC_CMP_SWAP", H_AT, RQ(ONLY), ATOMIC, 40),
	OP(0x14, "RC_FETCH_ADD", H_AT, RQ(ONLY), ATOMIC, 40),
	OP(0x16, "RC_SEND_LAST_INV", H_IE, RQD(LAST), SEND, 16),
	OP(0x17, "RC_SEND_ONLY_INV", H_IE, RQD(ONLY), SEND, 16),
	OP(0x1c, "RC_FLUSH", H_FE | H_RE, RQ(ONLY), FLUSH, 32),
	OP(0x1d, "RC_ATOMIC_WRITE", H_RE, RQD(ONLY), WRITE, 28),

	/* Unreliable Connection */
	OP(0x20, "UC_SEND_FIRST", 0, RQD(FIRST), SEND, 12),
	OP(0x21, "UC_SEND_MIDDLE", 0, RQD(MIDDLE), SEND, 12),
	OP(0x22, "UC_SEND_LAST", 0, RQD(LAST), SEND, 12),
	OP(0x23, "UC_SEND_LAST_IMM", H_IM, RQD(LAST), SEND, 16),
	OP(0x24, "UC_SEND_ONLY", 0, RQD(ONLY), SEND, 12),
	OP(0x25, "UC_SEND_ONLY_IMM", H_IM, RQD(ONLY), SEND, 16),
	OP(0x26, "UC_WRITE_FIRST", H_RE, RQD(FIRST), WRITE, 28),
	OP(0x27, "UC_WRITE_MIDDLE", 0, RQD(MIDDLE), WRITE, 12),
	OP(0x28, "UC_WRITE_LAST", 0, RQD(LAST), WRITE, 12),
	OP(0x29, "UC_WRITE_LAST_IMM", H_IM, RQD(LAST), WRITE, 16),
	OP(0x2a, "UC_WRITE_ONLY", H_RE, RQD(ONLY), WRITE, 28),
	OP(0x2b, "UC_WRITE_ONLY_IMM", H_RE | H_IM, RQD(ONLY), WRITE, 32),

	/* Reliable Datagram: RDETH always, DETH on requests */
	OP(0x40, "RD_SEND_FIRST", H_RD | H_DE, RQD(FIRST), SEND, 24),
	OP(0x41, "RD_SEND_MIDDLE", H_RD | H_DE, RQD(MIDDLE), SEND, 24),
	OP(0x42, "RD_SEND_LAST", H_RD | H_DE, RQD(LAST), SEND, 24),
	OP(0x43, "RD_SEND_LAST_IMM", H_RD | H_DE | H_IM, RQD(LAST), SEND, 28),
	OP(0x44, "RD_SEND_ONLY", H_RD | H_DE, RQD(ONLY), SEND, 24),
	OP(0x45, "RD_SEND_ONLY_IMM", H_RD | H_DE | H_IM, RQD(ONLY), SEND, 28),
	OP(0x46, "RD_WRITE_FIRST", H_RD | H_DE | H_RE, RQD(FIRST), WRITE, 40),
	OP(0x47, "RD_WRITE_MIDDLE", H_RD | H_DE, RQD(MIDDLE), WRITE, 24),
	OP(0x48, "RD_WRITE_LAST", H_RD | H_DE, RQD(LAST), WRITE, 24),
	OP(0x49, "RD_WRITE_LAST_IMM", H_RD | H_DE | H_IM, RQD(LAST), WRITE, 28),
	OP(0x4a, "RD_WRITE_ONLY", H_RD | H_DE | H_RE, RQD(ONLY), WRITE, 40),
	OP(0x4b, "RD_WRITE_ONLY_IMM", H_RD | H_DE | H_RE | H_IM,
	   RQD(ONLY), WRITE, 44),
	OP(0x4c, "RD_READ_REQ", H_RD | H_DE | H_RE, RQ(ONLY), READ, 40),
	OP(0x4d, "RD_READ_RESP_FIRST", H_RD | H_AE, RSD(FIRST), READ, 20),
	OP(0x4e, "RD_READ_RESP_MIDDLE", H_RD, RSD(MIDDLE), READ, 16),
	OP(0x4f, "RD_READ_RESP_LAST", H_RD | H_AE, RSD(LAST), READ, 20),
	OP(0x50, "RD_READ_RESP_ONLY", H_RD | H_AE, RSD(ONLY), READ, 20),
	OP(0x51, "RD_ACK", H_RD | H_AE, ACKF, ACK, 20),
	OP(0x52, "RD_ATOMIC_ACK", H_RD | H_AE | H_AA, ACKF, ATOMIC, 28),
	OP(0x53, "RD_CMP_SWAP", H_RD | H_DE | H_AT, RQ(ONLY), ATOMIC, 52),
	OP(0x54, "RD_FETCH_ADD", H_RD | H_DE | H_AT, RQ(ONLY), ATOMIC, 52),
	OP(0x55, "RD_RESYNC", H_RD | H_DE, RQ(ONLY), RESYNC, 24),

	/* Unreliable Datagram */
	OP(0x64, "UD_SEND_ONLY", H_DE, RQD(ONLY), SEND, 20),
	OP(0x65, "UD_SEND_ONLY_IMM", H_DE | H_IM, RQD(ONLY), SEND, 24),

	/* eXtended Reliable Connection: XRCETH on requests */
	OP(0xa0, "XRC_SEND_FIRST", H_XR, RQD(FIRST), SEND, 16),
	OP(0xa1, "XRC_SEND_MIDDLE", H_XR, RQD(MIDDLE), SEND, 16),
	OP(0xa2, "XRC_SEND_LAST", H_XR, RQD(LAST), SEND, 16),
	OP(0xa3, "XRC_SEND_LAST_IMM", H_XR | H_IM, RQD(LAST), SEND, 20),
	OP(0xa4, "XRC_SEND_ONLY", H_XR, RQD(ONLY), SEND, 16),
	OP(0xa5, "XRC_SEND_ONLY_IMM", H_XR | H_IM, RQD(ONLY), SEND, 20),
	OP(0xa6, "XRC_WRITE_FIRST", H_XR | H_RE, RQD(FIRST), WRITE, 32),
	OP(0xa7, "XRC_WRITE_MIDDLE", H_XR, RQD(MIDDLE), WRITE, 16),
	OP(0xa8, "XRC_WRITE_LAST", H_XR, RQD(LAST), WRITE, 16),
	OP(0xa9, "XRC_WRITE_LAST_IMM", H_XR | H_IM, RQD(LAST), WRITE, 20),
	OP(0xaa, "XRC_WRITE_ONLY", H_XR | H_RE, RQD(ONLY), WRITE, 32),
	OP(0xab, "XRC_WRITE_ONLY_IMM", H_XR | H_RE | H_IM, RQD(ONLY), WRITE,
	   36),
	OP(0xac, "XRC_READ_REQ", H_XR | H_RE, RQ(ONLY), READ, 32),
	OP(0xad, "XRC_READ_RESP_FIRST", H_AE, RSD(FIRST), READ, 16),
	OP(0xae, "XRC_READ_RESP_MIDDLE", 0, RSD(MIDDLE), READ, 12),
	OP(0xaf, "XRC_READ_RESP_LAST", H_AE, RSD(LAST), READ, 16),
	OP(0xb0, "XRC_READ_RESP_ONLY", H_AE, RSD(ONLY), READ, 16),
	OP(0xb1, "XRC_ACK", H_AE, ACKF, ACK, 16),
	OP(0xb2, "XRC_ATOMIC_ACK", H_AE | H_AA, ACKF, ATOMIC, 24),
	OP(0xb3, "XRC_CMP_SWAP", H_XR | H_AT, RQ(ONLY), ATOMIC, 44),
	OP(0xb4, "XRC_FETCH_ADD", H_XR | H_AT, RQ(ONLY), ATOMIC, 44),
	OP(0xb6, "XRC_SEND_LAST_INV", H_XR | H_IE, RQD(LAST), SEND, 20),
	OP(0xb7, "XRC_SEND_ONLY_INV", H_XR | H_IE, RQD(ONLY), SEND, 20),
	OP(0xbc, "XRC_FLUSH", H_XR | H_FE | H_RE, RQ(ONLY), FLUSH, 36),
	OP(0xbd, "XRC_ATOMIC_WRITE", H_XR | H_RE, RQD(ONLY), WRITE, 32),

	/* RoCEv2 Congestion Notification Packet */
	OP(0x81, "CNP", H_CNP, 0, CNP, 28),
};

const struct rcore_opcode_info *rcore_opcode_info(uint8_t opcode)
{
	const struct rcore_opcode_info *info = &rcore_opcodes[opcode];

	return info->name ? info : NULL;
}

unsigned int rcore_hdr_size(unsigned int hdr)
{
	switch (hdr) {
	case RCORE_HDR_RDETH:
		return RCORE_RDETH_LEN;
	case RCORE_HDR_DETH:
		return RCORE_DETH_LEN;
	case RCORE_HDR_XRCETH:
		return RCORE_XRCETH_LEN;
	case RCORE_HDR_FETH:
		return RCORE_FETH_LEN;
	case RCORE_HDR_RETH:
		return RCORE_RETH_LEN;
	case RCORE_HDR_ATMETH:
		return RCORE_ATMETH_LEN;
	case RCORE_HDR_AETH:
		return RCORE_AETH_LEN;
	case RCORE_HDR_ATMACK:
		return RCORE_ATMACK_LEN;
	case RCORE_HDR_IMMDT:
		return RCORE_IMMDT_LEN;
	case RCORE_HDR_IETH:
		return RCORE_IETH_LEN;
	case RCORE_HDR_CNP:
		return RCORE_CNP_RSVD_LEN;
	default:
		return 0;
	}
}

unsigned int rcore_hdr_offset(unsigned int hdrs, unsigned int hdr)
{
	unsigned int off = RCORE_BTH_LEN;
	unsigned int bit;

	if (!(hdrs & hdr) || !rcore_hdr_size(hdr))
		return 0;
	/* Headers come in the order of their bits: add up the lower ones. */
	for (bit = 1; bit < hdr; bit <<= 1)
		if (hdrs & bit)
			off += rcore_hdr_size(bit);
	return off;
}
