#!/usr/bin/env python3
"""The IAM guide's policy against the AWS calls the provider made in the acceptance suites.

Every suite's terraform runs reach AWS through a recording proxy (tests/src/proxy, BLUEGREEN_CALL_LOG), which appends
`<signing name> <operation>` per call to <calls dir>/calls-<pid>.log. This derives the set of IAM actions
(`service:Action`) from those lines, writes it to <out>, and fails when one of them is not allowed by the policy JSON
in docs/guides/iam-policy.md. `sts:GetCallerIdentity` needs no permission (AWS allows it to every principal), and
`sts:AssumeRole` (the provider's `assume_role`) is granted to the base credentials and by the role's trust policy, not
by the policy of the role the provider runs as, which this guide describes.

usage: check-iam-policy.py <calls dir> <iam-policy.md> <out file>
"""
import json
import pathlib
import re
import sys

# SigV4 signing name -> IAM service prefix.
PREFIX = {"route53": "route53", "elasticloadbalancing": "elasticloadbalancing", "monitoring": "cloudwatch", "sts": "sts"}
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# Made with the base credentials before the role is assumed: not the role's policy (see the guide's assume_role note).
BASE_CREDENTIALS = {"sts:AssumeRole"}


def policy_actions(guide: str) -> set:
    m = re.search(r"```json\n(.*?)```", guide, re.S)
    if not m:
        sys.exit("check-iam-policy: no ```json policy in the guide")
    actions = set()
    for st in json.loads(m.group(1))["Statement"]:
        a = st["Action"]
        actions.update([a] if isinstance(a, str) else a)
    return actions


def main() -> int:
    calls_dir, guide_path, out = map(pathlib.Path, sys.argv[1:4])
    called, unknown = {}, set()
    for f in sorted(calls_dir.glob("calls-*.log")):
        for line in f.read_text().splitlines():
            service, _, operation = line.partition(" ")
            if service not in PREFIX or not operation or operation == "Unknown":
                unknown.add(line)
                continue
            action = f"{PREFIX[service]}:{operation}"
            called[action] = called.get(action, 0) + 1
    if not called:
        print("check-iam-policy: no calls were recorded", file=sys.stderr)
        return 1
    granted = policy_actions(guide_path.read_text())
    missing = sorted(a for a in called if a not in granted and a not in ALWAYS_ALLOWED and a not in BASE_CREDENTIALS)
    out.write_text("".join(f"{a} {n}\n" for a, n in sorted(called.items())))
    print(f"check-iam-policy: {len(called)} actions called ({out}):")
    for a, n in sorted(called.items()):
        mark = (
            "MISSING from the policy" if a in missing
            else "no permission needed" if a in ALWAYS_ALLOWED
            else "the base credentials' (assume_role)" if a in BASE_CREDENTIALS
            else "allowed"
        )
        print(f"  {a:50} {n:6} calls  {mark}")
    if unknown:
        print(f"check-iam-policy: calls the proxy could not name: {sorted(unknown)}", file=sys.stderr)
        return 1
    if missing:
        print(f"check-iam-policy: the policy in {guide_path} does not allow {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
