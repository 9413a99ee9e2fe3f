#!/usr/bin/env python3
"""Creates a "legacy" and a "new" stack in LocalStack for the demo and the benchmarks.

Usage: .tools/venv/bin/python tools/fixtures.py NAME [ENDPOINT]   (prints the stack as JSON on stdout)

legacy: VPC + 2 subnets, ALB "NAME-legacy" with target group "NAME-ec2" (2 EC2-style targets, healthy in
        LocalStack), HTTP:80 listener forwarding to it, public zone "NAME.example.com" with a simple alias
        record "api.NAME.example.com" -> the legacy ALB.
new:    ALB "NAME-ecs" with target group "NAME-ecs" (ip targets, 2 registered) and an empty target group
        "NAME-empty" (to make a health gate fail).
"""

import json
import pathlib
import sys

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    name = sys.argv[1]
    endpoint = sys.argv[2] if len(sys.argv) > 2 else (ROOT / ".tools/localstack/endpoint").read_text().strip()
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    ec2, elb, r53 = boto3.client("ec2", **kw), boto3.client("elbv2", **kw), boto3.client("route53", **kw)

    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]

    def alb(suffix):
        return elb.create_load_balancer(Name=f"{name}-{suffix}", Subnets=subnets, Type="application")["LoadBalancers"][0]

    def tg(suffix, kind):
        return elb.create_target_group(Name=f"{name}-{suffix}", Protocol="HTTP", Port=80, VpcId=vpc, TargetType=kind)["TargetGroups"][0]

    legacy_lb, new_lb = alb("legacy"), alb("ecs")
    ec2_tg, ecs_tg, empty_tg = tg("ec2", "instance"), tg("ecs", "ip"), tg("empty", "ip")
    elb.register_targets(TargetGroupArn=ec2_tg["TargetGroupArn"], Targets=[{"Id": "i-0legacy0000000001"}, {"Id": "i-0legacy0000000002"}])
    elb.register_targets(TargetGroupArn=ecs_tg["TargetGroupArn"], Targets=[{"Id": "10.20.1.10"}, {"Id": "10.20.2.10"}])
    listener = elb.create_listener(
        LoadBalancerArn=legacy_lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": ec2_tg["TargetGroupArn"]}],
    )["Listeners"][0]

    zone_name = f"{name}.example.com"
    zone = r53.create_hosted_zone(Name=zone_name, CallerReference=f"{name}-zone")["HostedZone"]
    zone_id = zone["Id"].split("/")[-1]
    record = f"api.{zone_name}"
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "CREATE",
        "ResourceRecordSet": {"Name": record, "Type": "A", "AliasTarget": {
            "HostedZoneId": legacy_lb["CanonicalHostedZoneId"], "DNSName": legacy_lb["DNSName"], "EvaluateTargetHealth": True}},
    }]})

    json.dump({
        "zone_id": zone_id, "zone_name": zone_name, "record_name": record,
        "legacy_lb_name": legacy_lb["LoadBalancerName"], "legacy_lb_arn": legacy_lb["LoadBalancerArn"],
        "legacy_lb_dns_name": legacy_lb["DNSName"], "legacy_lb_zone_id": legacy_lb["CanonicalHostedZoneId"],
        "legacy_listener_arn": listener["ListenerArn"], "legacy_tg_arn": ec2_tg["TargetGroupArn"],
        "new_lb_arn": new_lb["LoadBalancerArn"], "new_lb_dns_name": new_lb["DNSName"], "new_lb_zone_id": new_lb["CanonicalHostedZoneId"],
        "new_tg_arn": ecs_tg["TargetGroupArn"], "empty_tg_arn": empty_tg["TargetGroupArn"],
    }, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
