#!/bin/sh
# gen.sh — rebuild the binary fixtures in this directory from src/*.conf with sid's
# checkpolicy 3.11 (writes versions up to 35), as provisioned by `scripts/provision.sh .cache
# trixie`. The outputs are committed so that unit tests need no provisioning.
#
#   rich.{33,34,35}     an MLS policy using most of the format: booleans and conditional
#                       rules, unconditional allowxperm/dontauditxperm, typebounds, permissive,
#                       filename and role transitions, default_* incl. glblub, constraints with
#                       names, validatetrans, every ocontext kind incl. InfiniBand, genfscon.
#   nonmls.{33,34,35}   the same without MLS.
#   condxperm.{34,35}   rich + an allowxperm inside an if-block: needs version 34.
#   neveraudit.35       rich + `neveraudit child_t`: the version-35 bitmap is not empty.
#   nlmsg.34            rich + an nlmsg allowxperm (xperms type 3, Linux >= 6.13).
set -eu
cd "$(dirname "$0")"
cp=${CHECKPOLICY35:-../../../.cache/trixie/bin/checkpolicy-35}
for v in 33 34 35; do
	"$cp" -M -c $v -o rich.$v src/rich.conf
	"$cp" -c $v -o nonmls.$v src/nonmls.conf
done
for v in 34 35; do "$cp" -M -c $v -o condxperm.$v src/condxperm.conf; done
"$cp" -M -c 35 -o neveraudit.35 src/neveraudit.conf
"$cp" -M -c 34 -o nlmsg.34 src/nlmsg.conf
# policytest.Image's body: the smallest fixture that passes the admission check.
cp rich.33 ../policytest/testdata/policy.33
