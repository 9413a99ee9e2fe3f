#!/usr/bin/env python3
"""Trims one terraform run to what a newcomer needs to see (tools/demo.sh keeps the full output).

Usage: tfout.py OUTPUT [PROVIDER_LOG]
  OUTPUT        terraform's stdout and stderr (-no-color)
  PROVIDER_LOG  the provider's log for the same run (TF_LOG_PROVIDER=INFO, TF_LOG_PATH=...)

Prints the plan's headline (which resource changes, its traffic, the Plan: line), what the provider logged while
it moved traffic (steps, health gates, rollbacks, with seconds since the provider started the change), how each
resource finished, and every error with its explanation.
"""

import datetime
import os
import re
import sys

PLAN_ATTRS = ("traffic", "adopt_existing")
FLAG_FIELDS = ("adopted",)
SKIP_MESSAGES = ("provider exiting", "applying")


def trimmed_output(text):
    """(plan lines, result lines) of terraform's output."""
    plan, result = [], []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if re.match(r"# \S+ (will be|must be)", s):
            plan.append("  " + s)
        elif re.match(r"[+~] (%s)\s+=" % "|".join(PLAN_ATTRS), s):
            plan.append("      " + re.sub(r"\s+=\s+", " = ", s))
        elif s.startswith(("Plan: ", "No changes.")):
            plan.append("  " + s)
        elif re.match(r"(Apply|Destroy) complete!", s):
            result.append("  " + s)
        elif re.search(r": (Creation|Modifications|Destruction) complete after", s):
            result.append("  " + re.sub(r" \[id=.*\]$", "", s))
        elif s.startswith("Error: "):
            # The summary, then the explanation after the source snippet ("with …", "on …", "NN: …").
            result.append("  " + s)
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(("Error: ", "Warning: ")):
                d = lines[i].strip()
                if d and not re.match(r"(with |on \S+ line \d+|\d+: )", d):
                    result.append("    " + d)
                i += 1
            continue
        i += 1
    return plan, result


def provider_lines(text):
    out, t0 = [], None
    for line in text.splitlines():
        m = re.match(r"(\S+) \[(INFO|WARN|ERROR)\]\s+provider\.terraform-provider-bluegreen: (.*)$", line)
        if not m:
            continue
        ts, level, rest = m.groups()
        # "message: key=value key="quoted value" …": the message ends where the first key=value starts.
        fm = re.search(r': (?=[@\w.]+=)', rest)
        message, fields = (rest[:fm.start()], rest[fm.end():]) if fm else (rest, "")
        if message.startswith(SKIP_MESSAGES):
            continue
        kept = {k: v.strip('"').replace('\\"', '"') for k, v in re.findall(r'([@\w.]+)=("(?:[^"\\]|\\.)*"|\S+)', fields)}
        try:
            t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            t = None
        t0 = t0 or t
        at = f"+{(t - t0).total_seconds():5.2f}s" if t and t0 else ""
        mark = "!" if level != "INFO" else " "
        flags = [f"{k}={kept[k]}" for k in FLAG_FIELDS if k in kept]
        out.append(f"   {mark}{at}  {message}" + (f" ({', '.join(flags)})" if flags else ""))
        # What a gate saw: "observed" lists every check of a passing gate ("…: 2 of 2 targets healthy; GET … answered
        # 200"), one per line; "observation" is the failing check.
        out += [f"              {o}" for o in kept.get("observed", "").split("; ") if o]
        out += [f"              {kept[k]}" for k in ("observation", "error") if k in kept]
    return out


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    head, tail = trimmed_output(open(sys.argv[1], errors="replace").read())
    # Plan headline first, then the provider's story, then how it ended.
    for l in head:
        print(l)
    if len(sys.argv) == 3 and os.path.exists(sys.argv[2]):  # no log when terraform never started the provider
        story = provider_lines(open(sys.argv[2], errors="replace").read())
        if story:
            print("  provider (log):")
            for l in story:
                print(l)
    for l in tail:
        print(l)


if __name__ == "__main__":
    main()
