/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The BTH opcode table.
 *
 * An opcode is a transport (top 3 bits: RC, UC, RD, UD, CNP...) and an
 * operation (low 5 bits).  For every opcode rcore knows, the table gives
 * its name, the extension headers that follow the BTH (in wire order:
 * RDETH, DETH, XRCETH, RETH, AtomicETH, AETH, AtomicAckETH, ImmDt, IETH,
 * then the CNP's reserved bytes), whether payload may follow, the packet's place in
 * its message, its direction and the kind of operation.
 */
#ifndef RCORE_OPCODE_H
#define RCORE_OPCODE_H

#include <rcore/types.h>

enum rcore_transport {
	RCORE_TR_RC	= 0,
	RCORE_TR_UC	= 1,
	RCORE_TR_RD	= 2,
	RCORE_TR_UD	= 3,
	RCORE_TR_CNP	= 4,
	RCORE_TR_XRC	= 5,
};

/* Operation codes: the low 5 bits of an opcode. */
enum rcore_op {
	RCORE_OP_SEND_FIRST		= 0x00,
	RCORE_OP_SEND_MIDDLE		= 0x01,
	RCORE_OP_SEND_LAST		= 0x02,
	RCORE_OP_SEND_LAST_IMM		= 0x03,
	RCORE_OP_SEND_ONLY		= 0x04,
	RCORE_OP_SEND_ONLY_IMM		= 0x05,
	RCORE_OP_WRITE_FIRST		= 0x06,
	RCORE_OP_WRITE_MIDDLE		= 0x07,
	RCORE_OP_WRITE_LAST		= 0x08,
	RCORE_OP_WRITE_LAST_IMM		= 0x09,
	RCORE_OP_WRITE_ONLY		= 0x0a,
	RCORE_OP_WRITE_ONLY_IMM		= 0x0b,
	RCORE_OP_READ_REQ		= 0x0c,
	RCORE_OP_READ_RESP_FIRST	= 0x0d,
	RCORE_OP_READ_RESP_MIDDLE	= 0x0e,
	RCORE_OP_READ_RESP_LAST		= 0x0f,
	RCORE_OP_READ_RESP_ONLY		= 0x10,
	RCORE_OP_ACK			= 0x11,
	RCORE_OP_ATOMIC_ACK		= 0x12,
	RCORE_OP_CMP_SWAP		= 0x13,
	RCORE_OP_FETCH_ADD		= 0x14,
	RCORE_OP_RESYNC			= 0x15,	/* RD only */
	RCORE_OP_SEND_LAST_INV		= 0x16,
	RCORE_OP_SEND_ONLY_INV		= 0x17,
	RCORE_OP_FLUSH			= 0x1c,	/* IBA 1.5 */
	RCORE_OP_ATOMIC_WRITE		= 0x1d,	/* RC only (IBA 1.5) */
};

/**
 * RCORE_OPCODE - build an opcode
 * @tr: an enum rcore_transport value
 * @op: an enum rcore_op value
 */
#define RCORE_OPCODE(tr, op)	((uint8_t)((tr) << 5 | (op)))

/* Full opcodes, for the transports rodp uses (the table has RD too). */
enum rcore_opcode {
	RCORE_RC_SEND_FIRST		= 0x00,
	RCORE_RC_SEND_MIDDLE		= 0x01,
	RCORE_RC_SEND_LAST		= 0x02,
	RCORE_RC_SEND_LAST_IMM		= 0x03,
	RCORE_RC_SEND_ONLY		= 0x04,
	RCORE_RC_SEND_ONLY_IMM		= 0x05,
	RCORE_RC_WRITE_FIRST		= 0x06,
	RCORE_RC_WRITE_MIDDLE		= 0x07,
	RCORE_RC_WRITE_LAST		= 0x08,
	RCORE_RC_WRITE_LAST_IMM		= 0x09,
	RCORE_RC_WRITE_ONLY		= 0x0a,
	RCORE_RC_WRITE_ONLY_IMM		= 0x0b,
	RCORE_RC_READ_REQ		= 0x0c,
	RCORE_RC_READ_RESP_FIRST	= 0x0d,
	RCORE_RC_READ_RESP_MIDDLE	= 0x0e,
	RCORE_RC_READ_RESP_LAST		= 0x0f,
	RCORE_RC_READ_RESP_ONLY		= 0x10,
	RCORE_RC_ACK			= 0x11,
	RCORE_RC_ATOMIC_ACK		= 0x12,
	RCORE_RC_CMP_SWAP		= 0x13,
	RCORE_RC_FETCH_ADD		= 0x14,
	RCORE_RC_SEND_LAST_INV		= 0x16,
	RCORE_RC_SEND_ONLY_INV		= 0x17,
	/* FETH and RETH, no payload: make earlier writes visible */
	RCORE_RC_FLUSH			= 0x1c,
	/* RETH and 8 bytes stored at once, acknowledged like a WRITE */
	RCORE_RC_ATOMIC_WRITE		= 0x1d,

	RCORE_UC_SEND_FIRST		= 0x20,
	RCORE_UC_SEND_MIDDLE		= 0x21,
	RCORE_UC_SEND_LAST		= 0x22,
	RCORE_UC_SEND_LAST_IMM		= 0x23,
	RCORE_UC_SEND_ONLY		= 0x24,
	RCORE_UC_SEND_ONLY_IMM		= 0x25,
	RCORE_UC_WRITE_FIRST		= 0x26,
	RCORE_UC_WRITE_MIDDLE		= 0x27,
	RCORE_UC_WRITE_LAST		= 0x28,
	RCORE_UC_WRITE_LAST_IMM		= 0x29,
	RCORE_UC_WRITE_ONLY		= 0x2a,
	RCORE_UC_WRITE_ONLY_IMM		= 0x2b,

	RCORE_UD_SEND_ONLY		= 0x64,
	RCORE_UD_SEND_ONLY_IMM		= 0x65,

	/* XRC: the RC operations at 0xa0 + op (RCORE_OPCODE(XRC, op)). */
	RCORE_XRC_FIRST			= 0xa0,
	RCORE_XRC_LAST			= 0xbd,

	RCORE_CNP			= 0x81,
};

/* Extension headers (struct rcore_opcode_info.hdrs), in wire order. */
#define RCORE_HDR_RDETH		0x001u
#define RCORE_HDR_DETH		0x002u
#define RCORE_HDR_XRCETH	0x004u	/* XRC requests only */
#define RCORE_HDR_FETH		0x008u	/* FLUSH, before its RETH */
#define RCORE_HDR_RETH		0x010u
#define RCORE_HDR_ATMETH	0x020u
#define RCORE_HDR_AETH		0x040u
#define RCORE_HDR_ATMACK	0x080u
#define RCORE_HDR_IMMDT		0x100u
#define RCORE_HDR_IETH		0x200u
#define RCORE_HDR_CNP		0x400u	/* a CNP's 16 reserved bytes */
#define RCORE_HDR_ALL		0x7ffu
#define RCORE_HDR_COUNT		11

/* Flags (struct rcore_opcode_info.flags). */
#define RCORE_OPF_FIRST		0x001u	/* first packet of a message */
#define RCORE_OPF_MIDDLE	0x002u	/* middle packet */
#define RCORE_OPF_LAST		0x004u	/* last packet */
#define RCORE_OPF_ONLY		(RCORE_OPF_FIRST | RCORE_OPF_LAST)
#define RCORE_OPF_REQ		0x008u	/* sent by a requester */
#define RCORE_OPF_RESP		0x010u	/* sent by a responder */
/* an acknowledgement (ACK, atomic ACK) */
#define RCORE_OPF_ACK		0x020u
#define RCORE_OPF_PAYLOAD	0x040u	/* payload may follow the headers */

/* What a packet is part of (struct rcore_opcode_info.kind). */
enum rcore_op_kind {
	RCORE_OPK_SEND		= 1,	/* send, with/without imm or inv */
	RCORE_OPK_WRITE		= 2,	/* RDMA write, with/without imm */
	RCORE_OPK_READ		= 3,	/* RDMA read request and responses */
	/* compare&swap, fetch&add, atomic ACK */
	RCORE_OPK_ATOMIC	= 4,
	RCORE_OPK_ACK		= 5,	/* plain ACK/NAK */
	RCORE_OPK_RESYNC	= 6,	/* RD resync */
	RCORE_OPK_CNP		= 7,	/* RoCEv2 congestion notification */
	RCORE_OPK_FLUSH		= 8,	/* RDMA FLUSH (IBA 1.5) */
};

/**
 * struct rcore_opcode_info - what one opcode means
 * @name: e.g. "RC_SEND_FIRST"; NULL for an opcode not in the table
 * @hdrs: RCORE_HDR_* mask of the extension headers after the BTH
 * @flags: RCORE_OPF_* flags
 * @kind: an enum rcore_op_kind value
 * @hdr_len: bytes of BTH and extension headers, the payload's offset
 */
struct rcore_opcode_info {
	const char *name;
	uint16_t hdrs;
	uint16_t flags;
	uint8_t kind;
	uint8_t hdr_len;
};

/**
 * rcore_opcode_info - look up an opcode
 * @opcode: BTH opcode
 *
 * Return: the opcode's table entry, or NULL when rcore does not know the
 * opcode (reserved, manufacturer-specific...).
 */
const struct rcore_opcode_info *rcore_opcode_info(uint8_t opcode);

/**
 * rcore_opcode_transport - transport of an opcode
 * @opcode: BTH opcode
 *
 * Return: the top 3 bits, an enum rcore_transport value (or 6, 7).
 */
static inline enum rcore_transport rcore_opcode_transport(uint8_t opcode)
{
	return (enum rcore_transport)(opcode >> 5);
}

/**
 * rcore_opcode_op - operation of an opcode
 * @opcode: BTH opcode
 *
 * Return: the low 5 bits, an enum rcore_op value for RC/UC/RD/UD.
 */
static inline enum rcore_op rcore_opcode_op(uint8_t opcode)
{
	return (enum rcore_op)(opcode & 0x1f);
}

/**
 * rcore_xrc_opcode - the XRC opcode of an RC opcode
 * @rc_opcode: an RC opcode (transport bits 0)
 *
 * XRC carries the RC operations under its own transport bits; requests
 * add an XRCETH after the BTH, responses are RC's.
 *
 * Return: @rc_opcode with the XRC transport bits.
 */
static inline uint8_t rcore_xrc_opcode(uint8_t rc_opcode)
{
	return RCORE_OPCODE(RCORE_TR_XRC, rc_opcode & 0x1f);
}

/**
 * rcore_xrc_rc_opcode - the RC opcode an XRC opcode stands for
 * @opcode: an XRC opcode
 *
 * Return: the same operation with the RC transport bits (0).
 */
static inline uint8_t rcore_xrc_rc_opcode(uint8_t opcode)
{
	return RCORE_OPCODE(RCORE_TR_RC, opcode & 0x1f);
}

/**
 * rcore_hdr_size - size of one extension header
 * @hdr: a single RCORE_HDR_* bit
 *
 * Return: its size in bytes, 0 when @hdr is not exactly one known bit.
 */
unsigned int rcore_hdr_size(unsigned int hdr);

/**
 * rcore_hdr_offset - offset of an extension header in a packet
 * @hdrs: the opcode's RCORE_HDR_* mask
 * @hdr: a single RCORE_HDR_* bit
 *
 * Return: the header's offset from the start of the BTH (counting the BTH
 * and the headers that precede it in wire order), or 0 when @hdr is not in
 * @hdrs.
 */
unsigned int rcore_hdr_offset(unsigned int hdrs, unsigned int hdr);

#endif /* RCORE_OPCODE_H */
