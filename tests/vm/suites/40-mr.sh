#!/bin/bash
# VM suite "mr": tests/vm/mr_test.c, pinned memory regions on rodp0
# (cmocka, TAP output: its own plan and cases).
set -u
CMOCKA_MESSAGE_OUTPUT=TAP exec "$RODP_REPO/build/cmake/tests/vm/mr_test" rodp0
