#!/bin/bash
# VM suite "mr": tests/vm/mr_test.c, pinned memory regions on rodp0
# (cmocka, TAP output: its own plan and cases).  Two 2 MiB hugetlb pages
# are reserved for the hugetlb case, and given back after.
set -u
old=$(cat /proc/sys/vm/nr_hugepages)
echo $((old + 2)) >/proc/sys/vm/nr_hugepages
CMOCKA_MESSAGE_OUTPUT=TAP "$RODP_REPO/build/cmake/tests/vm/mr_test" rodp0
rc=$?
echo "$old" >/proc/sys/vm/nr_hugepages
exit $rc
