#!/bin/bash
# robust.t - the fault and load scenarios of t/robust/run.sh in quick mode
# (200 policy connections for 8 s, 1,000 messages, 200 per fault). The full
# sizes (1,000 connections for 60 s, 10,000 messages) are run by hand:
#   t/robust/run.sh
export ROBUST_QUICK=1
exec bash "${MOAT_SRCDIR:-$(dirname "$0")/..}/t/robust/run.sh"
