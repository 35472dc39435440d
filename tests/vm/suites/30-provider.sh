#!/bin/bash
# VM suite "provider": tests/vm/provider_smoke.c, the provider's verbs
# against rodp.ko on rodp0 (it prints its own TAP plan and cases).
set -u
exec "$RODP_REPO/build/cmake/tests/vm/provider_smoke" rodp0
