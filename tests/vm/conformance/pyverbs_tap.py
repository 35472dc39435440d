#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""
pyverbs_tap.py RXE.tsv RODP.tsv GAPS: TAP from two runs of rdma-core's
verbs tests (pyverbs_run.py), one on rxe0 (the control), one on rodp0.

Cases, in order:
- the control ran: rxe0 passed at least one test;
- every test rodp0 ran (did not skip): passed, or not;
- every test rxe0 passes and rodp0 skips: a failure, unless GAPS lists
  it (a known gap, reported as a TAP skip with rodp0's reason, never as a
  pass);
- GAPS is current: each entry is a test rxe0 passes and rodp0 still
  skips (an entry rodp0 now passes, or one that is no gap, fails this
  case, so the list only ever shrinks with the work).
Tests both devices skip (other vendors' hardware) are counted in a
diagnostic only.  GAPS holds one test id per line; '#' starts a comment.
"""
import sys


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            if len(parts) >= 2:
                res[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else '')
    return res


def load_gaps(path):
    gaps = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                gaps.append(line)
    return gaps


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    rxe, rodp, gaps = load(sys.argv[1]), load(sys.argv[2]), \
        load_gaps(sys.argv[3])
    ran = sorted(t for t, (o, _) in rodp.items() if o != 'skip')
    missing = sorted(t for t, (o, _) in rxe.items()
                     if o == 'ok' and rodp.get(t, ('none', ''))[0] == 'skip')
    cases = []
    rxe_ok = sum(1 for o, _ in rxe.values() if o == 'ok')
    cases.append((rxe_ok > 0, 'control: rxe0 passes %d of %d tests'
                  % (rxe_ok, len(rxe)), None))
    for t in ran:
        o, why = rodp[t]
        cases.append((o == 'ok', 'rodp0: %s' % t,
                      None if o == 'ok' else '%s: %s' % (o, why)))
    for t in missing:
        why = rodp[t][1]
        if t in gaps:
            cases.append((True, 'rodp0: %s # SKIP known gap: %s' % (t, why),
                          None))
        else:
            cases.append((False, 'rodp0 skips what rxe0 passes: %s' % t,
                          why))
    stale = [g for g in gaps if g not in missing]
    cases.append((not stale, 'known-gap list: %d entries, each still a gap'
                  % len(gaps),
                  'no longer a gap (passes on rodp0, or rxe0 fails it): %s'
                  % ' '.join(stale) if stale else None))

    both = sum(1 for t, (o, _) in rodp.items()
               if o == 'skip' and rxe.get(t, ('', ''))[0] != 'ok')
    print('1..%d' % len(cases))
    print('# rodp0: %d ran, %d passed; %d skipped where rxe0 passes '
          '(%d listed as known gaps); %d skipped that rxe0 does not pass'
          % (len(ran), sum(1 for t in ran if rodp[t][0] == 'ok'),
             len(missing), len([m for m in missing if m in gaps]), both))
    failed = 0
    for n, (ok, name, why) in enumerate(cases, 1):
        print('%sok %d - %s' % ('' if ok else 'not ', n, name))
        if why and not ok:
            print('# %s' % why)
        failed += not ok
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
