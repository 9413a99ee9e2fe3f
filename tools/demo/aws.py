#!/usr/bin/env python3
"""What AWS (LocalStack) says, for tools/demo.sh: shows and checks the record sets and listener rules, watches
them during an apply, and retires the legacy stack at the end. Never reads terraform's state.

Usage (STACK is the JSON tools/demo/fixtures.py printed):
  aws.py show STACK [--dns EXPECT] [--alb EXPECT]
      Prints the Route 53 record sets of the public name (ListResourceRecordSets) and/or the legacy listener's
      rules (DescribeRules), and checks them. Exit 1 when they differ from EXPECT:
        --dns simple:legacy | simple:new | pair:BLUE/GREEN     (weights, blue -> legacy ALB, green -> new ALB)
        --alb plain | canary:BLUE/GREEN | promoted             (plain: no rules, default action -> EC2;
                                                                promoted: no rules, default action -> ECS)
  aws.py watch STACK dns|alb OUT STOPFILE
      Polls as fast as it can until STOPFILE exists; one JSON line per poll in OUT.
  aws.py report OUT dns|alb EXPECT... [--no-gap]
      Summarises a watch and checks that the distinct states it saw, in order, are EXPECT...
      --no-gap: also require an answer for the name at every poll (and enough polls to mean something).
  aws.py rule STACK PRIORITY
      Prints the Conditions and Actions of the legacy listener's rule at PRIORITY as ELBv2 returns them.
  aws.py retire STACK
      Checks that nothing routes to the legacy ALB or its EC2 target group any more, then deletes them.
  aws.py users STACK RATIOFILE STOPFILE
      Real users, as CloudWatch sees them: every half second reads the public name's weights and publishes the
      ALB metrics of 1000 requests split by them (RequestCount, HTTPCode_Target_5XX_Count of each side's target
      group on its load balancer). Green answers the fraction of its requests written in RATIOFILE with a 5xx;
      blue 0.1 %. Runs until STOPFILE exists.
"""

import json
import os
import re
import sys
import time

import boto3
import botocore.config

PASS, FAIL = "\u2713", "\u2717"


def clients(stack):
    kw = dict(endpoint_url=stack["endpoint"], region_name=stack["region"], aws_access_key_id="test",
              aws_secret_access_key="test", config=botocore.config.Config(retries={"max_attempts": 2}))
    return boto3.client("route53", **kw), boto3.client("elbv2", **kw)


def norm(dns_name):
    return (dns_name or "").lower().rstrip(".")


# ---------------------------------------------------------------------------
# Route 53
# ---------------------------------------------------------------------------

def record_sets(r53, stack):
    """The A record sets of the public name (LocalStack ignores StartRecordIdentifier: one page, then filter)."""
    name = stack["record_name"].rstrip(".") + "."
    out = r53.list_resource_record_sets(HostedZoneId=stack["zone_id"], StartRecordName=name, StartRecordType="A")
    return [r for r in out["ResourceRecordSets"] if r["Name"].lower() == name.lower() and r["Type"] == "A"]


def target_label(stack, record):
    alias = record.get("AliasTarget")
    if not alias:
        return "values " + ",".join(v["Value"] for v in record.get("ResourceRecords", []))
    dns = norm(alias["DNSName"])
    if dns == norm(stack["legacy_lb_dns_name"]):
        return "legacy"
    if dns == norm(stack["new_lb_dns_name"]):
        return "new"
    return "alias " + dns


def dns_state(stack, sets):
    """One word for what the name answers: empty, simple:legacy, pair:90/10, or other:...."""
    if not sets:
        return "empty"
    if len(sets) == 1 and "SetIdentifier" not in sets[0]:
        return "simple:" + target_label(stack, sets[0])
    by_id = {r.get("SetIdentifier"): r for r in sets}
    if len(sets) == 1 and set(by_id) <= {"blue", "green"}:
        return "partial:" + ",".join(f"{i}@{r.get('Weight')}" for i, r in by_id.items())
    if len(sets) == 2 and set(by_id) == {"blue", "green"} \
            and target_label(stack, by_id["blue"]) == "legacy" and target_label(stack, by_id["green"]) == "new":
        return f"pair:{by_id['blue'].get('Weight')}/{by_id['green'].get('Weight')}"
    return "other:" + ",".join(f"{r.get('SetIdentifier', 'simple')}->{target_label(stack, r)}@{r.get('Weight', '-')}" for r in sets)


def print_dns(stack, sets):
    print(f"  Route 53: {stack['record_name']} A  (ListResourceRecordSets)")
    if not sets:
        print("    (no record sets: the name does not answer)")
    labels = {"legacy": "legacy ALB", "new": "new ALB"}
    for r in sets:
        kind = f"{r['SetIdentifier']:<6} weight {r.get('Weight', '?'):>3}" if "SetIdentifier" in r else "simple record   "
        t = target_label(stack, r)
        print(f"    {kind}  -> {labels.get(t, t):<10}  {norm(r.get('AliasTarget', {}).get('DNSName')) or ''}")


# ---------------------------------------------------------------------------
# ELBv2
# ---------------------------------------------------------------------------

def tg_label(stack, arn):
    return {stack["legacy_tg_arn"]: "EC2 (blue)", stack["green_via_legacy_tg_arn"]: "ECS (green)"}.get(arn, arn.rsplit("/", 2)[-2] if "/" in arn else arn)


def forwards(action):
    """[(target group arn, weight)] of a forward action, in either shape ELBv2 returns."""
    if action.get("Type") != "forward":
        return []
    tgs = action.get("ForwardConfig", {}).get("TargetGroups") or []
    if tgs:
        return [(t["TargetGroupArn"], t.get("Weight", 1)) for t in tgs]
    return [(action["TargetGroupArn"], 1)] if action.get("TargetGroupArn") else []


def conditions(rule):
    out = []
    for c in rule.get("Conditions", []):
        f = c.get("Field")
        if f == "host-header":
            out.append(("host", tuple(c.get("HostHeaderConfig", {}).get("Values") or c.get("Values") or [])))
        elif f == "path-pattern":
            out.append(("path", tuple(c.get("PathPatternConfig", {}).get("Values") or c.get("Values") or [])))
        elif f == "http-header":
            h = c.get("HttpHeaderConfig", {})
            out.append(("header", (h.get("HttpHeaderName"),) + tuple(h.get("Values") or [])))
        else:
            out.append((f, tuple(c.get("Values") or [])))
    return out


def rules(elb, stack):
    """The legacy listener's rules, sorted by priority with the default last (LocalStack lists them in creation order)."""
    rs = elb.describe_rules(ListenerArn=stack["legacy_listener_arn"])["Rules"]
    return sorted(rs, key=lambda r: (r["Priority"] == "default", int(r["Priority"]) if r["Priority"].isdigit() else 0))


def alb_state(stack, rs):
    """One word for the weighted rule (priority 100): rule:90/10, or norule."""
    main = [r for r in rs if r["Priority"] == "100"]
    if not main:
        return "norule"
    w = dict(forwards(main[0]["Actions"][0])) if main[0]["Actions"] else {}
    return f"rule:{w.get(stack['legacy_tg_arn'], '-')}/{w.get(stack['green_via_legacy_tg_arn'], '-')}"


def print_alb(stack, rs):
    print("  ELBv2: legacy ALB, listener HTTP:80  (DescribeRules)")
    lines = []
    for r in rs:
        conds = " + ".join(
            f"host {','.join(v)}" if k == "host" else f"header {v[0]}: {','.join(v[1:])}" if k == "header" else f"{k} {','.join(v)}"
            for k, v in conditions(r)) or "any other request"
        fw = [(tg_label(stack, arn), w) for a in r["Actions"] for arn, w in forwards(a)]
        fw = fw[0][0] if len(fw) == 1 else ", ".join(f"{tg} weight {w}" for tg, w in fw)
        lines.append((r["Priority"], conds, fw))
    width = max(len(c) for _, c, _ in lines)
    for prio, conds, fw in lines:
        print(f"    priority {prio:<8} {conds:<{width}}  -> {fw}")


ALB_EXPECT = {"plain": "untouched (default action -> EC2)", "promoted": "promoted (no rules, default action -> ECS)"}


def said(option, expect):
    """An expectation of `show`, in words."""
    if option == "--dns":
        return "Route 53 " + human(expect)
    if expect in ALB_EXPECT:
        return "legacy listener " + ALB_EXPECT[expect]
    return "legacy listener: test rule -> ECS, weighted rule " + human("rule:" + expect.split(":", 1)[1])


def check_alb(stack, rs, expect):
    """Problems with the listener's rules against EXPECT (plain, promoted, canary:B/G)."""
    problems = []
    default = [r for r in rs if r["Priority"] == "default"]
    others = [r for r in rs if r["Priority"] != "default"]
    default_to = [arn for a in (default[0]["Actions"] if default else []) for arn, _ in forwards(a)]
    want_default = stack["green_via_legacy_tg_arn"] if expect == "promoted" else stack["legacy_tg_arn"]
    if default_to != [want_default]:
        problems.append(f"default action forwards to {[tg_label(stack, a) for a in default_to]}, expected {tg_label(stack, want_default)}")
    if expect in ("plain", "promoted"):
        if others:
            problems.append(f"expected no rules besides the default one, found priorities {[r['Priority'] for r in others]}")
        return problems
    blue, green = (int(x) for x in expect.split(":")[1].split("/"))
    by_prio = {r["Priority"]: r for r in others}
    if sorted(by_prio) != ["100", "99"]:
        return problems + [f"expected rules at priorities 99 (test route) and 100 (weighted), found {sorted(by_prio)}"]
    test, main = by_prio["99"], by_prio["100"]
    if conditions(test) != [("header", ("X-Canary", "1"))]:
        problems.append(f"test rule conditions are {conditions(test)}")
    if [f for a in test["Actions"] for f in forwards(a)] not in ([(stack["green_via_legacy_tg_arn"], 1)],):
        problems.append(f"test rule forwards to {[f for a in test['Actions'] for f in forwards(a)]}, expected ECS (green) only")
    if conditions(main) != [("path", ("/*",))]:
        problems.append(f"weighted rule conditions are {conditions(main)}")
    got = [f for a in main["Actions"] for f in forwards(a)]
    want = [(stack["legacy_tg_arn"], blue), (stack["green_via_legacy_tg_arn"], green)]
    if got != want:
        problems.append(f"weighted rule forwards {[(tg_label(stack, a), w) for a, w in got]}, expected {[(tg_label(stack, a), w) for a, w in want]}")
    return problems


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

def cmd_show(stack, args):
    r53, elb = clients(stack)
    expect = dict(zip(args[0::2], args[1::2]))
    problems = []
    if "--dns" in expect or not expect:
        sets = record_sets(r53, stack)
        print_dns(stack, sets)
        got = dns_state(stack, sets)
        if "--dns" in expect and got != expect["--dns"]:
            problems.append(f"Route 53: expected {human(expect['--dns'])}, AWS reports {human(got)}")
    if "--alb" in expect or not expect:
        rs = rules(elb, stack)
        print_alb(stack, rs)
        if "--alb" in expect:
            problems += [f"ELBv2: {p}" for p in check_alb(stack, rs, expect["--alb"])]
    for p in problems:
        print(f"  {FAIL} {p}")
    if problems:
        return 1
    print(f"  {PASS} as this phase should leave it: " + "; ".join(said(k, v) for k, v in expect.items()))
    return 0


def cmd_watch(stack, what, out_path, stop_path):
    r53, elb = clients(stack)
    t0 = time.monotonic()
    with open(out_path, "w") as out:
        while not os.path.exists(stop_path):
            t = time.monotonic() - t0
            try:
                state = dns_state(stack, record_sets(r53, stack)) if what == "dns" else alb_state(stack, rules(elb, stack))
            except Exception as e:  # a failed call is not an observation of the name
                state = "error:" + type(e).__name__
            out.write(json.dumps({"t": round(t, 3), "state": state}) + "\n")
            out.flush()
    return 0


def cmd_users(stack, ratio_path, stop_path):
    r53, _ = clients(stack)
    kw = dict(endpoint_url=stack["endpoint"], region_name=stack["region"], aws_access_key_id="test",
              aws_secret_access_key="test")
    cw = boto3.client("cloudwatch", **kw)

    def dims(tg_arn, lb_arn):
        return [{"Name": "TargetGroup", "Value": "targetgroup/" + tg_arn.split(":targetgroup/", 1)[1]},
                {"Name": "LoadBalancer", "Value": lb_arn.split(":loadbalancer/", 1)[1]}]

    blue = dims(stack["legacy_tg_arn"], stack["legacy_lb_arn"])
    green = dims(stack["green_tg_arn"], stack["new_lb_arn"])
    while not os.path.exists(stop_path):
        try:
            state = dns_state(stack, record_sets(r53, stack))
            m = re.match(r"pair:(\d+)/(\d+)$", state)
            b, g = (int(m.group(1)), int(m.group(2))) if m else ((0, 100) if state == "simple:new" else (100, 0))
            total = max(b + g, 1)
            green_requests = round(1000 * g / total)
            blue_requests = 1000 - green_requests
            try:
                ratio = float(open(ratio_path).read().strip() or 0)
            except (OSError, ValueError):
                ratio = 0.0
            data = []
            for d, requests, errors in ((blue, blue_requests, round(blue_requests * 0.001)),
                                        (green, green_requests, round(green_requests * ratio))):
                data.append({"MetricName": "RequestCount", "Dimensions": d, "Value": requests})
                data.append({"MetricName": "HTTPCode_Target_5XX_Count", "Dimensions": d, "Value": errors})
            cw.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
        except Exception as e:  # a failed call is retried at the next tick
            print(f"users: {type(e).__name__}: {e}", file=sys.stderr)
        time.sleep(0.5)
    return 0


def human(state):
    """pair:90/10 -> "blue 90 / green 10", and so on."""
    kind, _, rest = state.partition(":")
    if kind == "simple":
        return f"simple record -> {rest} ALB" if rest in ("legacy", "new") else f"simple record -> {rest}"
    if kind in ("pair", "rule") and "/" in rest:
        b, g = rest.split("/")
        return f"blue {b} / green {g}" if kind == "pair" else f"EC2 {b} / ECS {g}"
    return {"empty": "NO ANSWER (no record sets)", "norule": "no weighted rule"}.get(state, state)


def transient(state):
    """A state between two changes of one Route 53 change batch: a pair whose weights do not add up to 100, or one
    side of the pair alone. LocalStack applies a batch one change at a time (AWS applies it atomically), so a poll
    can land in between. (An empty answer is never excused.)"""
    if state.startswith("partial:"):
        return True
    try:
        b, g = (int(x) for x in state.split(":")[1].split("/"))
        return b + g != 100
    except (IndexError, ValueError):
        return False


def cmd_report(path, what, expect, no_gap):
    polls = [json.loads(line) for line in open(path)]
    errors = [p for p in polls if p["state"].startswith("error:")]
    seen = [p for p in polls if not p["state"].startswith("error:")]
    runs = []  # [state, first t, last t, polls]
    for p in seen:
        if runs and runs[-1][0] == p["state"]:
            runs[-1][2], runs[-1][3] = p["t"], runs[-1][3] + 1
        else:
            runs.append([p["state"], p["t"], p["t"], 1])
    mid = [r for r in runs if r[3] == 1 and transient(r[0])]
    steady = [r for r in runs if r not in mid]
    # Merge neighbours that a dropped transient state separated.
    merged = []
    for r in steady:
        if merged and merged[-1][0] == r[0]:
            merged[-1][2], merged[-1][3] = r[2], merged[-1][3] + r[3]
        else:
            merged.append(list(r))
    span = polls[-1]["t"] - polls[0]["t"] if polls else 0
    longest = max((b["t"] - a["t"] for a, b in zip(polls, polls[1:])), default=0)
    label = "ListResourceRecordSets" if what == "dns" else "DescribeRules"
    print(f"  {len(polls)} {label} calls while terraform ran ({span:.1f}s; one every {1000 * span / max(len(polls) - 1, 1):.0f} ms "
          f"on average, at most {1000 * longest:.0f} ms apart):")
    for state, a, b, n in merged:
        print(f"    {a:6.2f}s - {b:6.2f}s  {human(state):<28} ({n} polls)")
    if mid:
        print(f"    + {len(mid)} poll(s) between the two changes of one Route 53 batch ({', '.join(r[0] for r in mid)}): "
              "LocalStack applies a batch one change at a time, AWS atomically")
    problems = []
    if errors:
        print(f"    ({len(errors)} poll(s) failed and observed nothing: {sorted(set(p['state'] for p in errors))})")
        if len(errors) * 10 > len(polls):
            problems.append(f"{len(errors)} of {len(polls)} polls failed")
    got = [r[0] for r in merged]
    if got != expect:
        problems.append(f"expected {' -> '.join(map(human, expect))}, saw {' -> '.join(map(human, got)) or 'nothing'}")
    if no_gap:
        empty = [p for p in seen if p["state"] == "empty"]
        if empty:
            problems.append(f"the name had no answer at {len(empty)} poll(s), first at {empty[0]['t']:.2f}s")
        if len(seen) < 10:
            problems.append(f"only {len(seen)} successful polls: too few to say there was no gap")
    for p in problems:
        print(f"  {FAIL} {p}")
    if problems:
        return 1
    print(f"  {PASS} " + " -> ".join(map(human, expect)) + (f"; the name had an answer at every one of {len(seen)} polls" if no_gap else ""))
    return 0


def cmd_retire(stack):
    r53, elb = clients(stack)
    problems = []
    legacy = norm(stack["legacy_lb_dns_name"])
    sets = r53.list_resource_record_sets(HostedZoneId=stack["zone_id"])["ResourceRecordSets"]  # one page: a small zone
    pointing = [r["Name"] for r in sets if norm(r.get("AliasTarget", {}).get("DNSName")) == legacy]
    if pointing:
        problems.append(f"records still alias the legacy ALB: {pointing}")
    for r in rules(elb, stack):
        if any(arn == stack["legacy_tg_arn"] for a in r["Actions"] for arn, _ in forwards(a)):
            problems.append(f"listener rule {r['Priority']} still forwards to the EC2 target group")
    for p in problems:
        print(f"  {FAIL} {p}")
    if problems:
        return 1
    print(f"  {PASS} no record in {stack['zone_name']} aliases the legacy ALB; nothing forwards to the EC2 target group")
    elb.delete_listener(ListenerArn=stack["legacy_listener_arn"])
    elb.delete_load_balancer(LoadBalancerArn=stack["legacy_lb_arn"])
    elb.delete_target_group(TargetGroupArn=stack["legacy_tg_arn"])
    elb.delete_target_group(TargetGroupArn=stack["green_via_legacy_tg_arn"])
    try:
        elb.describe_load_balancers(Names=[stack["legacy_lb_name"]])
        print(f"  {FAIL} the legacy ALB is still there after DeleteLoadBalancer")
        return 1
    except elb.exceptions.LoadBalancerNotFoundException:
        pass
    print(f"  {PASS} deleted the legacy ALB {stack['legacy_lb_name']}, its listener, and target groups "
          f"{stack['legacy_tg_name']} and {stack['green_via_legacy_tg_name']}")
    return 0


def cmd_rule(stack, priority):
    _, elb = clients(stack)
    found = [r for r in rules(elb, stack) if r["Priority"] == priority]
    if not found:
        print(f"  {FAIL} no rule at priority {priority}")
        return 1
    for key in ("Conditions", "Actions"):
        for i, item in enumerate(found[0][key]):
            text = json.dumps(item)
            # ARNs are long; the target group's name is what matters here.
            text = re.sub(r'"arn:aws:elasticloadbalancing:[^"]*:targetgroup/([^/"]+)/[0-9a-f]+"', r'"arn:…:targetgroup/\1/…"', text)
            print(f"    {key + ':' if i == 0 else '':<12}{text}")
    return 0


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd = argv[1]
    if cmd == "report":
        no_gap = "--no-gap" in argv
        rest = [a for a in argv[4:] if a != "--no-gap"]
        return cmd_report(argv[2], argv[3], rest, no_gap)
    stack = json.load(open(argv[2]))
    if cmd == "show":
        return cmd_show(stack, argv[3:])
    if cmd == "watch":
        return cmd_watch(stack, *argv[3:6])
    if cmd == "rule":
        return cmd_rule(stack, argv[3])
    if cmd == "retire":
        return cmd_retire(stack)
    if cmd == "users":
        return cmd_users(stack, argv[3], argv[4])
    sys.exit(__doc__)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:  # Ctrl-C: tools/demo.sh reports it
        sys.exit(130)
