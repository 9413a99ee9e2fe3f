#!/usr/bin/env python3
"""Smoke test: does the running LocalStack serve everything terraform-provider-bluegreen needs?

Usage:  .tools/venv/bin/python tools/smoke_localstack.py [ENDPOINT]
        (ENDPOINT defaults to the contents of <repo>/.tools/localstack/endpoint)

Part 1 (checks, exit 1 if any fails): the Route 53 + ELBv2 (+ EC2 for the VPC) calls the provider makes.
Part 2 (notes, never fail): behaviour where LocalStack/moto differs from real AWS, measured live, so a
provider author knows what the acceptance tests will and will not exercise (see tools/LOCALSTACK_NOTES.md).
Every run uses fresh random names, so it can run against an instance that already holds state.
"""

import json
import pathlib
import sys
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = pathlib.Path(__file__).resolve().parent.parent
FAILURES: list[str] = []
NOTES: list[str] = []


def check(cond, what, detail=None):
    print(("  ok    " if cond else "  FAIL  ") + what + ("" if cond or detail is None else f"  -> {detail}"))
    if not cond:
        FAILURES.append(what)
    return cond


def note(text):
    NOTES.append(text)


def error_of(fn):
    """Run fn; return None on success, else (code, message, http_status) of the AWS error."""
    try:
        fn()
        return None
    except ClientError as e:
        err = e.response.get("Error", {})
        return err.get("Code"), err.get("Message"), e.response["ResponseMetadata"]["HTTPStatusCode"]


def fmt_err(e):
    return "accepted (no error)" if e is None else f"{e[0]} (HTTP {e[2]}): {e[1]}"


def main():
    endpoint = sys.argv[1] if len(sys.argv) > 1 else (ROOT / ".tools/localstack/endpoint").read_text().strip()
    kw = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),  # see errors as they are, no SDK retries
    )
    sts, ec2, elb, r53 = (boto3.client(s, **kw) for s in ("sts", "ec2", "elbv2", "route53"))
    run = uuid.uuid4().hex[:8]
    print(f"LocalStack smoke test against {endpoint} (run {run})")

    print("STS / EC2")
    ident = sts.get_caller_identity()
    check(ident["Account"] == "000000000000", f"sts GetCallerIdentity (account {ident['Account']})")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    check(len(subnets) == 2, f"ec2 CreateVpc {vpc} + 2 subnets")

    # ---------------------------------------------------------------- ELBv2
    print("ELBv2")
    lb_name, tg1_name, tg2_name = f"smoke-{run}", f"blue-{run}", f"green-{run}"
    lb = elb.create_load_balancer(Name=lb_name, Subnets=subnets, Type="application", Scheme="internet-facing")[
        "LoadBalancers"
    ][0]
    lb_arn = lb["LoadBalancerArn"]
    check(lb["DNSName"] and lb["CanonicalHostedZoneId"], f"CreateLoadBalancer -> {lb['DNSName']} / {lb['CanonicalHostedZoneId']}")
    note(
        f"ALB: DNSName `{lb['DNSName']}`, CanonicalHostedZoneId `{lb['CanonicalHostedZoneId']}` (fake; real us-east-1 "
        f"ALBs use Z35SXDOTRQ7X7K); State right after create `{lb['State']['Code']}`, in the first Describe "
        f"`{elb.describe_load_balancers(LoadBalancerArns=[lb_arn])['LoadBalancers'][0]['State']['Code']}`."
    )
    tg1 = elb.create_target_group(Name=tg1_name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    tg2 = elb.create_target_group(Name=tg2_name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")[
        "TargetGroups"
    ][0]["TargetGroupArn"]
    check(tg1 and tg2, "CreateTargetGroup x2 (instance + ip)")

    def fwd(w1, w2):
        return [{"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": tg1, "Weight": w1}, {"TargetGroupArn": tg2, "Weight": w2}]}}]

    def weights(actions):
        return [(t["TargetGroupArn"], t.get("Weight")) for t in actions[0].get("ForwardConfig", {}).get("TargetGroups", [])]

    listener = elb.create_listener(
        LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg1}]
    )["Listeners"][0]
    li = listener["ListenerArn"]
    check(listener["DefaultActions"][0].get("TargetGroupArn") == tg1 or weights(listener["DefaultActions"]) == [(tg1, 1)],
          "CreateListener HTTP:80 default forward -> TG1")
    if "ForwardConfig" not in listener["DefaultActions"][0]:
        note("A forward action given as plain `TargetGroupArn` comes back exactly like that: LocalStack does *not* add "
             "the `ForwardConfig {TargetGroups:[{arn, Weight:1}]}` that AWS adds. Read both shapes.")

    host_cond = [{"Field": "host-header", "HostHeaderConfig": {"Values": [f"app-{run}.example.com"]}}]
    r1 = elb.create_rule(ListenerArn=li, Priority=10, Conditions=host_cond, Actions=fwd(90, 10))["Rules"][0]
    check(weights(r1["Actions"]) == [(tg1, 90), (tg2, 10)], "CreateRule prio 10, host-header, weighted forward 90/10")
    if "TargetGroupStickinessConfig" in r1["Actions"][0]["ForwardConfig"]:
        note(f"ForwardConfig comes back with `TargetGroupStickinessConfig` "
             f"`{r1['Actions'][0]['ForwardConfig']['TargetGroupStickinessConfig']}` added even when not sent.")
    hdr_cond = [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["1"]}}]
    r2 = elb.create_rule(ListenerArn=li, Priority=20, Conditions=hdr_cond,
                         Actions=[{"Type": "forward", "TargetGroupArn": tg2}])["Rules"][0]
    check(r2["Conditions"][0].get("HttpHeaderConfig", {}).get("HttpHeaderName") == "X-Canary",
          "CreateRule prio 20, http-header X-Canary: 1 -> TG2")
    note(f"Rule `Priority` is a string (`{r1['Priority']!r}`; the default rule has `'default'`).")

    e = error_of(lambda: elb.create_rule(ListenerArn=li, Priority=10, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/taken"]}}], Actions=fwd(1, 1)))
    check(e is not None, "CreateRule at a taken priority is rejected", fmt_err(e))
    note(f"CreateRule at a taken priority: {fmt_err(e)}")

    mod = elb.modify_rule(RuleArn=r1["RuleArn"], Actions=fwd(50, 50))["Rules"][0]
    check(weights(mod["Actions"]) == [(tg1, 50), (tg2, 50)] and mod["Conditions"] == r1["Conditions"],
          "ModifyRule (actions only; conditions kept) -> 50/50")
    elb.set_rule_priorities(RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 30},
                                            {"RuleArn": r2["RuleArn"], "Priority": 5}])
    e = error_of(lambda: elb.set_rule_priorities(RulePriorities=[{"RuleArn": r1["RuleArn"], "Priority": 5}]))
    note(f"SetRulePriorities onto a taken priority: {fmt_err(e)}")
    rules = elb.describe_rules(ListenerArn=li)["Rules"]
    prio = {r["RuleArn"]: r["Priority"] for r in rules}
    check(prio.get(r1["RuleArn"]) == "30" and prio.get(r2["RuleArn"]) == "5" and len(rules) == 3
          and rules[-1]["IsDefault"], "SetRulePriorities 10->30, 20->5; DescribeRules(ListenerArn) shows 2 rules + default")
    order = [r["Priority"] for r in rules]
    note(f"DescribeRules order: `{order}` (rules in creation order, default last; AWS sorts by priority) "
         "-> sort by priority yourself." if order != ["5", "30", "default"] else
         f"DescribeRules order: `{order}` (sorted by priority, default last).")

    e_w = error_of(lambda: elb.create_rule(ListenerArn=li, Priority=40, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/w"]}}], Actions=fwd(1000, 1)))
    e_0 = error_of(lambda: elb.create_rule(ListenerArn=li, Priority=41, Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/z"]}}], Actions=fwd(0, 0)))
    note(f"ForwardConfig weight 1000 (AWS max 999): {fmt_err(e_w)}; all weights 0: {fmt_err(e_0)}.")
    gone = [r["RuleArn"] for r in elb.describe_rules(ListenerArn=li)["Rules"] if r["Priority"] in ("40", "41")]
    for arn in gone:
        elb.delete_rule(RuleArn=arn)
    if gone:
        note(f"DeleteRule of an already deleted rule: {fmt_err(error_of(lambda: elb.delete_rule(RuleArn=gone[0])))} "
             "(AWS: RuleNotFound).")

    ml = elb.modify_listener(ListenerArn=li, DefaultActions=fwd(0, 100))["Listeners"][0]
    check(weights(ml["DefaultActions"]) == [(tg1, 0), (tg2, 100)], "ModifyListener default action -> 0/100")
    dl = elb.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    check([l["ListenerArn"] for l in dl] == [li] and weights(dl[0]["DefaultActions"]) == [(tg1, 0), (tg2, 100)],
          "DescribeListeners(LoadBalancerArn) reflects ModifyListener")

    th = elb.describe_target_health(TargetGroupArn=tg2)["TargetHealthDescriptions"]
    check(th == [], "DescribeTargetHealth on empty TG -> 0 targets")
    elb.register_targets(TargetGroupArn=tg2, Targets=[{"Id": "10.0.1.10", "Port": 80}])
    th = elb.describe_target_health(TargetGroupArn=tg2)["TargetHealthDescriptions"]
    check([t["TargetHealth"]["State"] for t in th] == ["healthy"], "RegisterTargets(ip) -> DescribeTargetHealth healthy",
          th)
    e = error_of(lambda: elb.register_targets(TargetGroupArn=tg1, Targets=[{"Id": "i-0123456789abcdef0"}]))
    th = elb.describe_target_health(TargetGroupArn=tg1)["TargetHealthDescriptions"]
    note(f"RegisterTargets with a non-existent instance id: {fmt_err(e)}; its health: "
         f"`{[t['TargetHealth']['State'] for t in th]}` (every registered target is `healthy`, immediately).")

    by_name = elb.describe_load_balancers(Names=[lb_name])["LoadBalancers"]
    by_arn = elb.describe_load_balancers(LoadBalancerArns=[lb_arn])["LoadBalancers"]
    check([x["LoadBalancerArn"] for x in by_name] == [lb_arn] == [x["LoadBalancerArn"] for x in by_arn],
          "DescribeLoadBalancers by name and by arn")
    tgs = elb.describe_target_groups(Names=[tg1_name, tg2_name])["TargetGroups"]
    check(sorted(t["TargetGroupArn"] for t in tgs) == sorted([tg1, tg2]), "DescribeTargetGroups by name")

    bogus_lb_arn = lb_arn.replace(lb_name, f"nope-{run}")
    errors = {
        "DescribeLoadBalancers(unknown name)": error_of(lambda: elb.describe_load_balancers(Names=[f"nope-{run}"])),
        "DescribeLoadBalancers(unknown arn)": error_of(lambda: elb.describe_load_balancers(LoadBalancerArns=[bogus_lb_arn])),
        "DescribeListeners(unknown LoadBalancerArn)": error_of(lambda: elb.describe_listeners(LoadBalancerArn=bogus_lb_arn)),
        "DescribeListeners(unknown ListenerArns)": error_of(lambda: elb.describe_listeners(ListenerArns=[li + "0"])),
        "DescribeRules(unknown ListenerArn)": error_of(lambda: elb.describe_rules(ListenerArn=li + "0")),
        "DescribeRules(unknown RuleArns)": error_of(lambda: elb.describe_rules(RuleArns=[r1["RuleArn"] + "0"])),
        "ModifyRule(unknown RuleArn)": error_of(lambda: elb.modify_rule(RuleArn=r1["RuleArn"] + "0", Actions=fwd(1, 1))),
        "DescribeTargetGroups(unknown name)": error_of(lambda: elb.describe_target_groups(Names=[f"nope-{run}"])),
        "DescribeTargetHealth(unknown TG arn)": error_of(lambda: elb.describe_target_health(TargetGroupArn=tg1 + "0")),
    }
    for what, e in errors.items():
        check(e is not None, f"{what} is an error", fmt_err(e))
        note(f"{what}: {fmt_err(e)}")

    # ---------------------------------------------------------------- Route 53
    print("Route 53")
    zone_name = f"bg-{run}.example.com"
    z = r53.create_hosted_zone(Name=zone_name, CallerReference=run)
    zid = z["HostedZone"]["Id"]
    check(zid.startswith("/hostedzone/"), f"CreateHostedZone {zone_name} -> {zid}")
    app = f"app.{zone_name}"
    alias = {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": lb["DNSName"], "EvaluateTargetHealth": False}

    def change(*changes, zone=None):
        return r53.change_resource_record_sets(HostedZoneId=zone or zid, ChangeBatch={"Changes": list(changes)})

    def rrsets(**kw):
        return r53.list_resource_record_sets(HostedZoneId=zid, **kw)

    simple = {"Name": app, "Type": "A", "AliasTarget": alias}
    ci = change({"Action": "CREATE", "ResourceRecordSet": simple})["ChangeInfo"]
    check(ci["Status"] in ("PENDING", "INSYNC"), f"CREATE simple A alias -> ALB (change {ci['Id']}, {ci['Status']})")
    gc = r53.get_change(Id=ci["Id"])["ChangeInfo"]
    check(gc["Status"] == "INSYNC", f"GetChange -> {gc['Status']}")
    ci2 = change({"Action": "UPSERT", "ResourceRecordSet": {"Name": f"other.{zone_name}", "Type": "A", "TTL": 60,
                                                            "ResourceRecords": [{"Value": "192.0.2.1"}]}})["ChangeInfo"]
    note(f"ChangeResourceRecordSets ChangeInfo: Id `{ci['Id']}` for every change (second change: `{ci2['Id']}`), "
         f"SubmittedAt `{ci['SubmittedAt'].isoformat()}`, Status `{ci['Status']}`. GetChange echoes the id it was "
         f"given (`{gc['Id']}`; boto3 strips `/change/`) and is always INSYNC, even for an unknown id: "
         f"{fmt_err(error_of(lambda: r53.get_change(Id='C0000000000UNKNOWN')))}.")

    e = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": simple}))
    note(f"CREATE of an identical existing record: {fmt_err(e)}")
    e = error_of(lambda: change({"Action": "DELETE", "ResourceRecordSet": {"Name": f"missing.{zone_name}", "Type": "A",
                                                                       "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.9"}]}}))
    note(f"DELETE of a record that never existed: {fmt_err(e)} (AWS: InvalidChangeBatch "
         "\"Tried to delete resource record set ... but it was not found\").")
    e = error_of(lambda: change({"Action": "DELETE", "ResourceRecordSet": {"Name": f"other.{zone_name}", "Type": "A",
                                                                       "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.99"}]}}))
    note(f"DELETE with a value that does not match the existing record: {fmt_err(e)}")

    # The cut-over: simple alias -> two weighted aliases, in one batch.
    blue = {"Name": app, "Type": "A", "SetIdentifier": "blue", "Weight": 100, "AliasTarget": alias}
    green = {"Name": app, "Type": "A", "SetIdentifier": "green", "Weight": 0, "AliasTarget": alias}
    change({"Action": "DELETE", "ResourceRecordSet": simple},
           {"Action": "CREATE", "ResourceRecordSet": blue},
           {"Action": "CREATE", "ResourceRecordSet": green})
    got = [r for r in rrsets(StartRecordName=app, StartRecordType="A")["ResourceRecordSets"]
           if r["Name"].rstrip(".").lower() == app and r["Type"] == "A"]
    check(sorted((r.get("SetIdentifier"), int(r.get("Weight", -1))) for r in got) == [("blue", 100), ("green", 0)],
          "one batch: DELETE simple + CREATE weighted blue(100)/green(0)", got)
    if got:
        note(f"Record names come back with a trailing dot: `{got[0]['Name']}`; alias DNSName as sent: "
             f"`{got[0]['AliasTarget']['DNSName']}` (AWS appends a dot and lower-cases); Weight as int "
             f"`{got[0].get('Weight')!r}`.")
    e = error_of(lambda: change({"Action": "UPSERT", "ResourceRecordSet": {**blue, "Weight": 0}}))
    got = {r["SetIdentifier"]: r.get("Weight") for r in rrsets(StartRecordName=app, StartRecordType="A")["ResourceRecordSets"]
           if r.get("SetIdentifier")}
    note(f"UPSERT to weight 0 on both weighted records: {fmt_err(e)}; weights now `{got}`.")
    e = error_of(lambda: change({"Action": "UPSERT", "ResourceRecordSet": {**blue, "Weight": 256}}))
    note(f"Weight 256 (AWS max 255): {fmt_err(e)}.")
    change({"Action": "UPSERT", "ResourceRecordSet": blue})

    e = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"ghost.{zone_name}", "Type": "A",
        "AliasTarget": {"HostedZoneId": "ZNOTAZONE", "DNSName": "does-not-exist.invalid", "EvaluateTargetHealth": False}}}))
    note(f"Alias to a non-existent name/zone: {fmt_err(e)} (AWS rejects with InvalidChangeBatch).")

    # Names / ordering / paging, in a second zone that holds no weighted records.
    pzone = f"pg-{run}.example.com"
    pzid = r53.create_hosted_zone(Name=pzone, CallerReference=f"pg-{run}")["HostedZone"]["Id"]
    for n in ("b", "B2", "a.b", "*", "z", "a-b"):
        change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"{n}.{pzone}", "Type": "A", "TTL": 60,
                                                          "ResourceRecords": [{"Value": "192.0.2.2"}]}}, zone=pzid)
    change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"b.{pzone}", "Type": "TXT", "TTL": 60,
                                                      "ResourceRecords": [{"Value": '"x"'}]}}, zone=pzid)
    full = [(r["Name"], r["Type"]) for r in r53.list_resource_record_sets(HostedZoneId=pzid)["ResourceRecordSets"]]
    short = [f"{n[:-len(pzone) - 2] or '@'}/{t}" for n, t in full]
    note(f"ListResourceRecordSets order (zone apex = @): `{short}`. Names keep the case they were created with; `*` "
         "is stored literally (AWS returns `\\052`); sorting is by reversed labels then type, byte-wise "
         "(upper case before lower case).")
    seen, req = [], {}
    for _ in range(len(full) + 2):  # bounded: a broken pager must not hang the smoke test
        page = r53.list_resource_record_sets(HostedZoneId=pzid, MaxItems="1", **req)
        seen += [(r["Name"], r["Type"]) for r in page["ResourceRecordSets"]]
        if not page["IsTruncated"]:
            break
        req = {"StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"]}
    check(seen == full, f"ListResourceRecordSets paging with MaxItems=1 + StartRecordName/Type: {len(seen)} pages "
          "= the unpaged list", seen)

    # Paging inside a weighted set (app: blue, green) needs StartRecordIdentifier.
    p1 = rrsets(StartRecordName=app, StartRecordType="A", MaxItems="1")
    p2 = rrsets(StartRecordName=app, StartRecordType="A", StartRecordIdentifier="green", MaxItems="1")
    first = [r.get("SetIdentifier") for r in p1["ResourceRecordSets"]]
    second = [r.get("SetIdentifier") for r in p2["ResourceRecordSets"]]
    check(first and first[0] in ("blue", "green"), "ListResourceRecordSets(StartRecordName, StartRecordType, "
          "MaxItems=1) lands on the weighted set", first)
    note(f"Weighted set, MaxItems=1: page 1 `{first}`, NextRecordName/Type/Identifier = "
         f"`{p1.get('NextRecordName')}`/`{p1.get('NextRecordType')}`/`{p1.get('NextRecordIdentifier')}`; "
         f"asking for StartRecordIdentifier=green returns `{second}`. moto ignores StartRecordIdentifier and never "
         "sends NextRecordIdentifier, so following Next* inside a weighted set repeats the same page forever -> "
         "guard pagers against pages that make no progress; simplest: StartRecordName+StartRecordType with the "
         "default MaxItems (300) and stop at the first record of another name/type.")

    # Batch semantics that differ from AWS.
    e = error_of(lambda: change(
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"partial.{zone_name}", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "192.0.2.3"}]}},
        {"Action": "CREATE", "ResourceRecordSet": {"Name": "outside.example.net", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": "192.0.2.3"}]}}))
    applied = any(r["Name"].startswith("partial.") for r in rrsets()["ResourceRecordSets"])
    note(f"Batch [valid CREATE, CREATE outside the zone]: {fmt_err(e)}; first change applied anyway: {applied} "
         "(AWS: atomic, nothing applied).")
    e = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": {
        "Name": f"other.{zone_name}", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.77"}]}}))
    dup = [r["ResourceRecords"] for r in rrsets()["ResourceRecordSets"] if r["Name"].startswith("other.")]
    note(f"CREATE of an existing name/type with a *different* value: {fmt_err(e)}; records named other. now: "
         f"{len(dup)} (AWS: InvalidChangeBatch ... already exists). moto only rejects a CREATE identical to an "
         "earlier change.")
    other = {"Name": f"other-app.{zone_name}", "Type": "A", "SetIdentifier": "blue", "Weight": 1, "AliasTarget": alias}
    change({"Action": "CREATE", "ResourceRecordSet": other})
    change({"Action": "DELETE", "ResourceRecordSet": other})
    left = [r["Name"] for r in rrsets()["ResourceRecordSets"] if r.get("SetIdentifier") == "blue"]
    note(f"DELETE of weighted `other-app`/blue also deleted `app`/blue: {not left} (moto deletes by SetIdentifier "
         "across the whole zone) -> give weighted records zone-unique SetIdentifiers in tests.")
    change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"mix.{zone_name}", "Type": "A", "SetIdentifier": "w",
                                                      "Weight": 1, "AliasTarget": alias}})
    e = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"mix.{zone_name}", "Type": "A",
                                                                       "AliasTarget": alias}}))
    note(f"CREATE simple record next to a weighted one of the same name/type: {fmt_err(e)} (AWS rejects).")
    e = error_of(lambda: change({"Action": "DELETE", "ResourceRecordSet": {"Name": f"mix.{zone_name}", "Type": "A",
                                                                       "AliasTarget": alias}}))
    left = [r.get("SetIdentifier") for r in rrsets()["ResourceRecordSets"] if r["Name"].startswith("mix.")]
    note(f"DELETE without SetIdentifier: {fmt_err(e)}; records left at that name: `{left}` (moto deletes every "
         "record of that name+type, weighted ones included).")
    cname = {"Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.invalid"}]}
    e_mixed = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"Case.{zone_name}", **cname}}))
    e_lower = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"case.{zone_name}", **cname}}))
    e_upper = error_of(lambda: change({"Action": "CREATE", "ResourceRecordSet": {"Name": f"up.{zone_name.upper()}", **cname}}))
    stored = [r["Name"] for r in rrsets()["ResourceRecordSets"] if r["Name"].lower().startswith("case.")]
    note(f"Case: CREATE `Case.<zone>` {fmt_err(e_mixed)}, then `case.<zone>` {fmt_err(e_lower)} -> stored names "
         f"`{stored}` (case preserved, compared case-sensitively: two distinct records). `up.<ZONE IN UPPER CASE>`: "
         f"{fmt_err(e_upper)}. -> lower-case names before sending and when comparing.")
    e = error_of(lambda: r53.list_resource_record_sets(HostedZoneId="ZNOSUCHZONE"))
    note(f"ListResourceRecordSets(unknown zone): {fmt_err(e)}")

    # ---------------------------------------------------------------- report
    print("\nObserved LocalStack behaviour (informational):")
    for n in NOTES:
        print(f"  - {n}")
    if FAILURES:
        print(f"\nSMOKE FAILED: {len(FAILURES)} check(s): {FAILURES}")
        return 1
    print("\nSMOKE OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
