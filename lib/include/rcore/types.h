/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rcore: the portable RoCEv2 protocol core of rodp.
 *
 * The core is freestanding C: no libc and no kernel headers beyond what this
 * file selects.  It is compiled into rodp.ko (with __KERNEL__ defined) and
 * into a userspace static library (librcore.a).  Only the compiler's own
 * freestanding headers are used outside the kernel.
 */
#ifndef RCORE_TYPES_H
#define RCORE_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/compiler.h>
#include <asm/barrier.h>

#define rcore_load_acquire_u32(p)	smp_load_acquire(p)
#define rcore_store_release_u32(p, v)	smp_store_release(p, v)
#define rcore_read_once_u32(p)		READ_ONCE(*(p))
#else
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define rcore_load_acquire_u32(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define rcore_store_release_u32(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)
#define rcore_read_once_u32(p)		__atomic_load_n(p, __ATOMIC_RELAXED)
#endif

#define RCORE_STATIC_ASSERT(cond, msg)	_Static_assert(cond, msg)

#endif /* RCORE_TYPES_H */
