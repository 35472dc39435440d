#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""
flush_pairs.py TESTS_DIR [A:B...]: RDMA FLUSH between two devices, each pairing
built from rdma-core's own FLUSH resources (tests/test_qpex.py's
QpExRCFlush, unpacked into TESTS_DIR), the requester on one device and
the responder on the other, each addressing the other's RoCEv2 IPv4 GID.
rdma-core's own tests put both QPs on one device; these cross devices,
and rodp and rxe.

For each pairing, TAP cases:
- RDMA WRITEs then FLUSHes of the range (global visibility): every one
  completes with success and the responder's buffer holds the data;
- FLUSHes of the whole MR (length 0 first, then any): success;
- a persistent FLUSH to the MR, which allows only global visibility:
  IBV_WC_REM_ACCESS_ERR (the QP ends there, so it comes last).
and, rxe to rodp, one more: rodp took rxe's FLUSHes, whose ICRC rxe
computes its own way (rodp's counter rx_icrc_rxe_flush rose).  rodp to
rxe runs with rodp's rxe_flush_icrc parameter on, as rxe drops a FLUSH
with IBA's ICRC (RODP_FLUSH_IBA_ICRC=1 leaves it off: rxe's bug shows).
A pairing whose devices or user space cannot do FLUSH (rdma-core before
45, a kernel before 6.2, a device without it) is reported as skipped,
with the reason.

First, on every kernel and rdma-core, what rodp0 says and refuses (with
pyverbs' oldest calls and the flags by number):
- device_cap_flags_ex has FLUSH_GLOBAL and FLUSH_PERSISTENT (bits 38,
  39) and rc_odp_caps FLUSH and ATOMIC_WRITE (1 << 6, 1 << 7);
- an MR with IBV_ACCESS_FLUSH_GLOBAL: refused with EINVAL before 6.2
  (the core knows no such flag), registered from 6.2 on;
- an MR with IBV_ACCESS_FLUSH_PERSISTENT: EINVAL (the core before 6.2,
  rodp after: no rodp memory is persistent).
"""
import errno
import importlib.machinery
import os
import random
import sys
import traceback

PAIRS = [('rodp0', 'rodp1'), ('rodp0', 'rodp0'), ('rodp0', 'rxe0'),
         ('rxe0', 'rodp0'), ('rxe0', 'rxe0')]
ITERS = 10
CASES = ['write and range flush', 'whole-MR flush',
         'persistent flush refused']
RXE_ICRC = '/sys/class/infiniband/%s/ports/1/hw_counters/rx_icrc_rxe_flush'
RXE_PARAM = '/sys/module/rodp/parameters/rxe_flush_icrc'


def read_int(path):
    with open(path) as f:
        return int(f.read().strip())


def set_param(on):
    with open(RXE_PARAM, 'w') as f:
        f.write('Y' if on else 'N')


def roce_v2_ipv4_gid(ctx, e):
    """The index of the device's RoCEv2 GID of an IPv4 address."""
    for idx in range(ctx.query_port(1).gid_tbl_len):
        gid = ctx.query_gid(1, idx)
        if not str(gid).startswith('0000:0000:0000:0000:0000:ffff:'):
            continue
        if ctx.query_gid_type(1, idx) == \
                e.ibv_gid_type_sysfs.IBV_GID_TYPE_SYSFS_ROCE_V2:
            return idx
    return None


ACC_LOCAL_WRITE = 1
ACC_FLUSH_GLOBAL = 1 << 8
ACC_FLUSH_PERSISTENT = 1 << 9


def kernel_has_flush():
    """Does the running kernel's core know FLUSH (6.2 and later)?"""
    major, minor = os.uname().release.split('.')[:2]
    return (int(major), int(minor)) >= (6, 2)


def reg_errno(pd, access):
    """0 when an MR with @access registers, else the errno."""
    from pyverbs.mr import MR
    from pyverbs.pyverbs_error import PyverbsRDMAError
    try:
        MR(pd, 4096, access).close()
        return 0
    except PyverbsRDMAError as ex:
        return ex.error_code


def device_cases(dev):
    """The capability and registration cases of @dev (see above)."""
    from pyverbs.device import Context
    from pyverbs.pd import PD
    out = []
    with Context(name=dev) as ctx:
        ax = ctx.query_device_ex()
        caps = ax.device_cap_flags_ex
        rc_odp = ax.odp_caps.rc_odp_caps
        out.append((bool(caps & (1 << 38)) and bool(caps & (1 << 39)),
                    '%s reports FLUSH_GLOBAL and FLUSH_PERSISTENT' % dev,
                    'device_cap_flags_ex %#x' % caps))
        out.append((rc_odp & 0xc0 == 0xc0,
                    '%s rc_odp_caps has FLUSH and ATOMIC_WRITE' % dev,
                    'rc_odp_caps %#x' % rc_odp))
        with PD(ctx) as pd:
            err = reg_errno(pd, ACC_LOCAL_WRITE | ACC_FLUSH_GLOBAL)
            want = 0 if kernel_has_flush() else errno.EINVAL
            out.append((err == want,
                        '%s MR with FLUSH_GLOBAL: %s' %
                        (dev, 'registered' if not want else 'EINVAL'),
                        'errno %d on %s' % (err, os.uname().release)))
            err = reg_errno(pd, ACC_LOCAL_WRITE | ACC_FLUSH_PERSISTENT)
            out.append((err == errno.EINVAL,
                        '%s MR with FLUSH_PERSISTENT: EINVAL' % dev,
                        'errno %d' % err))
    return out


def main():
    global PAIRS
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    tests_dir = sys.argv[1]
    if len(sys.argv) > 2:
        PAIRS = [tuple(p.split(':')) for p in sys.argv[2:]]
    sys.path.insert(0, tests_dir)
    # rdma-core's tests read their options from their own parser.
    sys.argv = [sys.argv[0]]
    from args_parser import parser
    parser.parse_args()
    importlib.machinery.SourceFileLoader(
        'tests', tests_dir + '/__init__.py').load_module()

    out = []
    try:
        out += device_cases('rodp0')
    except Exception:
        out.append((False, 'rodp0 FLUSH capabilities and registrations',
                    traceback.format_exc().strip().splitlines()[-1]))
    try:
        import pyverbs.libibverbs_enums as e
        from pyverbs.addr import AHAttr, GlobalRoute
        from pyverbs.device import Context
        from pyverbs.pyverbs_error import PyverbsRDMAError
        import tests.base as base
        import tests.utils as u
        from tests.test_qpex import QpExRCFlush
        wr_flush = e.ibv_wr_opcode.IBV_WR_FLUSH
    except (ImportError, AttributeError) as ex:
        why = 'no RDMA FLUSH in this rdma-core (45 and later): %s' % ex
        for a, b in PAIRS:
            for c in CASES:
                out.append((None, '%s -> %s: %s' % (a, b, c), why))
        return report(out)

    class Player(QpExRCFlush):
        """QpExRCFlush, connected to another device's GID."""
        remote_gid = None

        def to_rts(self):
            attr = self.create_qp_attr()
            attr.path_mtu = base.PATH_MTU
            # (rdma-core 56's RCResources has them as constants only)
            attr.max_dest_rd_atomic = getattr(self, 'max_dest_rd_atomic',
                                              base.MAX_DEST_RD_ATOMIC)
            base.set_rnr_attributes(attr)
            attr.max_rd_atomic = getattr(self, 'max_rd_atomic',
                                         base.MAX_RD_ATOMIC)
            gr = GlobalRoute(dgid=self.remote_gid, sgid_index=self.gid_index)
            attr.ah_attr = AHAttr(port_num=self.ib_port, is_global=1,
                                  gr=gr, dlid=self.port_attr.lid)
            for i in range(self.qp_count):
                attr.dest_qp_num = self.rqps_num[i]
                attr.rq_psn = self.psns[i]
                attr.sq_psn = self.rpsns[i]
                self.qps[i].to_rts(attr)

    def player(dev):
        with Context(name=dev) as ctx:
            idx = roce_v2_ipv4_gid(ctx, e)
        if idx is None:
            raise LookupError('%s has no RoCEv2 IPv4 GID' % dev)
        return Player(dev_name=dev, ib_port=1, gid_index=idx)

    ok_status = e.ibv_wc_status.IBV_WC_SUCCESS
    for a, b in PAIRS:
        name = '%s -> %s' % (a, b)
        try:
            client, server = player(a), player(b)
        except Exception as ex:   # unittest.SkipTest from rdma-core's code
            why = str(ex).strip().splitlines()[-1] if str(ex) else repr(ex)
            skipped = type(ex).__name__ == 'SkipTest' or (
                isinstance(ex, PyverbsRDMAError) and
                ex.error_code in (errno.EOPNOTSUPP, errno.EINVAL))
            for c in CASES:
                out.append((None if skipped else False,
                            '%s: %s' % (name, c), why))
            continue
        rxe_to_rodp = a.startswith('rxe') and b.startswith('rodp')
        if rxe_to_rodp:
            taken = read_int(RXE_ICRC % b)
        set_param(a.startswith('rodp') and b.startswith('rxe') and
                  os.environ.get('RODP_FLUSH_IBA_ICRC') != '1')
        args = dict(client=client, server=server, iters=ITERS,
                    gid_idx=client.gid_index, port=1, new_send=True,
                    send_op=wr_flush)
        try:
            client.remote_gid = server.ctx.query_gid(1, server.gid_index)
            server.remote_gid = client.ctx.query_gid(1, client.gid_index)
            client.pre_run(server.psns, server.qps_num)
            server.pre_run(client.psns, client.qps_num)
            client.rkey, client.raddr = server.mr.rkey, server.mr.buf
            server.rkey, server.raddr = client.mr.rkey, client.mr.buf
            client.ptype = e.ibv_placement_type.IBV_FLUSH_GLOBAL
            client.level = e.ibv_selectivity_level.IBV_FLUSH_RANGE
            wcs = u.flush_traffic(**args)
            size = client.msg_size
            data_ok = server.mr.read(size, 0) == client.mr.read(size, 0)
            out.append((wcs[0].status == ok_status and data_ok,
                        '%s: %s' % (name, CASES[0]),
                        'status %s, data %s' %
                        (u.wc_status_to_str(wcs[0].status),
                         'as written' if data_ok else 'not as written')))

            client.level = e.ibv_selectivity_level.IBV_FLUSH_MR
            wcs = u.flush_traffic(**args)
            out.append((wcs[0].status == ok_status,
                        '%s: %s' % (name, CASES[1]),
                        'status %s' % u.wc_status_to_str(wcs[0].status)))

            client.msg_size = size
            client.level = e.ibv_selectivity_level.IBV_FLUSH_RANGE
            client.ptype = e.ibv_placement_type.IBV_FLUSH_PERSISTENT
            u.send(client, None, wr_flush, True)
            wcs = u._poll_cq(client.cq)
            want = e.ibv_wc_status.IBV_WC_REM_ACCESS_ERR
            out.append((wcs[0].status == want, '%s: %s' % (name, CASES[2]),
                        'status %s' % u.wc_status_to_str(wcs[0].status)))
        except Exception:
            why = traceback.format_exc().strip().splitlines()[-1]
            done = len([o for o in out if o[1].startswith(name + ':')])
            for c in CASES[done:]:
                out.append((False, '%s: %s' % (name, c), why))
        set_param(False)
        if rxe_to_rodp:
            taken = read_int(RXE_ICRC % b) - taken
            out.append((taken > 0, '%s: rxe\'s FLUSH ICRC taken' % name,
                        '%s rx_icrc_rxe_flush +%d' % (b, taken)))
    return report(out)


def report(out):
    print('1..%d' % len(out))
    for n, (ok, name, why) in enumerate(out, 1):
        if ok is None:
            print('ok %d - %s # SKIP %s' % (n, name, why))
            continue
        print('%sok %d - %s' % ('' if ok else 'not ', n, name))
        if why:
            print('# %s' % why)
    return 0


if __name__ == '__main__':
    random.seed(19)
    sys.exit(main())
