#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""
pyverbs_run.py TESTS_DIR DEVICE OUT.tsv: run rdma-core's own verbs tests
(the tests/ folder that python3-pyverbs ships, unpacked into TESTS_DIR)
against one RDMA device, the way its run_tests.py does, and write one line
per test to OUT.tsv: the test id, its outcome (ok, skip, fail, error) and,
for the last three, the first line of the reason.  Exit status 0 unless
the run itself could not start.
"""
import importlib.machinery
import os
import sys
import unittest


class TsvResult(unittest.TestResult):
    """Records each test's outcome by its id."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def _line(self, test, outcome, reason=''):
        reason = str(reason).strip().splitlines()
        reason = reason[-1] if reason else ''
        self.out.write('%s\t%s\t%s\n' % (test.id(), outcome,
                                         reason.replace('\t', ' ')))
        self.out.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, 'ok')

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, 'skip', reason)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, 'fail', self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, 'error', self._exc_info_to_string(err, test))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(test, 'ok')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(test, 'fail', 'unexpected success')


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    tests_dir, dev, out_path = sys.argv[1:]
    sys.path.insert(0, tests_dir)
    # The tests read their device from rdma-core's own argument parser.
    sys.argv = [sys.argv[0], '--dev', dev]
    from args_parser import parser
    parser.parse_args()
    init = os.path.join(tests_dir, '__init__.py')
    tests = importlib.machinery.SourceFileLoader('tests', init).load_module()
    suite = unittest.defaultTestLoader.loadTestsFromModule(tests)
    with open(out_path, 'w') as out:
        suite.run(TsvResult(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
