/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rcore: everything of the RoCEv2 protocol core in one include.
 */
#ifndef RCORE_RCORE_H
#define RCORE_RCORE_H

#include <rcore/types.h>
#include <rcore/err.h>
#include <rcore/bytes.h>
#include <rcore/hdr.h>
#include <rcore/opcode.h>
#include <rcore/pkt.h>
#include <rcore/psn.h>
#include <rcore/crc32.h>
#include <rcore/icrc.h>
#include <rcore/rc.h>

#endif /* RCORE_RCORE_H */
