#!/usr/bin/env python3
"""Creates the demo's "legacy" and "new" stacks in LocalStack and prints them as JSON.

Usage: .tools/venv/bin/python tools/demo/fixtures.py NAME ENDPOINT > stack.json

legacy (blue): VPC + 2 subnets; ALB "NAME-legacy" with an HTTP:80 listener whose default action forwards to
               target group "NAME-ec2" (2 EC2 instances); public zone "NAME.example.com" with a simple alias
               record "api.NAME.example.com" -> the legacy ALB. This is what production looks like today.
new (green):   ALB "NAME-ecs" with an HTTP:80 listener forwarding to target group "NAME-ecs" (2 Fargate task
               IPs), and target group "NAME-ecs-via-legacy": the same ECS service registered a second time so the
               legacy ALB can reach it (an ALB target group belongs to one load balancer).

alarms:        the kind a team already pages on, named as the seed migration's write-up lists them: "NAME-ecs
               healthy hosts < 1" (AWS/ApplicationELB HealthyHostCount of the ECS target group) and "NAME-ecs
               application errors" (a log metric filter's metric). They are the switch's gate.

Every name carries NAME, so several runs can share one LocalStack. LocalStack reports every registered target
as healthy at once (see tools/LOCALSTACK_NOTES.md).
"""

import json
import sys

import boto3

REGION = "us-east-1"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    name, endpoint = sys.argv[1], sys.argv[2]
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    ec2, elb, r53 = boto3.client("ec2", **kw), boto3.client("elbv2", **kw), boto3.client("route53", **kw)
    cw = boto3.client("cloudwatch", **kw)

    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]

    def alb(lb_name):
        return elb.create_load_balancer(Name=lb_name, Subnets=subnets, Type="application")["LoadBalancers"][0]

    def target_group(tg_name, kind, targets):
        tg = elb.create_target_group(Name=tg_name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType=kind)["TargetGroups"][0]
        elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": t} for t in targets])
        return tg

    def listener(lb, tg):
        return elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
        )["Listeners"][0]

    # Blue: EC2 behind the legacy ALB.
    legacy_lb = alb(f"{name}-legacy")
    ec2_tg = target_group(f"{name}-ec2", "instance", ["i-0legacy0000000001", "i-0legacy0000000002"])
    legacy_listener = listener(legacy_lb, ec2_tg)

    # Green: ECS Fargate tasks behind the new ALB, and the same tasks in a second target group for the legacy ALB.
    tasks = ["10.20.1.10", "10.20.2.10"]
    new_lb = alb(f"{name}-ecs")
    ecs_tg = target_group(f"{name}-ecs", "ip", tasks)
    new_listener = listener(new_lb, ecs_tg)
    ecs_via_legacy_tg = target_group(f"{name}-ecs-via-legacy", "ip", tasks)

    # Today's DNS: one simple alias record for the public name, pointing at the legacy ALB.
    zone_name = f"{name}.example.com"
    zone_id = r53.create_hosted_zone(Name=zone_name, CallerReference=f"{name}-zone")["HostedZone"]["Id"].split("/")[-1]
    record = f"api.{zone_name}"
    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": "CREATE",
        "ResourceRecordSet": {"Name": record, "Type": "A", "AliasTarget": {
            "HostedZoneId": legacy_lb["CanonicalHostedZoneId"], "DNSName": legacy_lb["DNSName"], "EvaluateTargetHealth": True}},
    }]})

    # The alarms the team already has for the new service (created before any data: INSUFFICIENT_DATA until then).
    dim = lambda arn, kind: arn.split(f":{kind}/", 1)[1]
    alarms = [f"{name}-ecs-healthy-hosts-below-1", f"{name}-ecs-application-errors"]
    cw.put_metric_alarm(
        AlarmName=alarms[0], Namespace="AWS/ApplicationELB", MetricName="HealthyHostCount", Statistic="Minimum",
        Dimensions=[{"Name": "TargetGroup", "Value": "targetgroup/" + dim(ecs_tg["TargetGroupArn"], "targetgroup")},
                    {"Name": "LoadBalancer", "Value": dim(new_lb["LoadBalancerArn"], "loadbalancer")}],
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="LessThanThreshold")
    cw.put_metric_alarm(
        AlarmName=alarms[1], Namespace=f"{name}/api", MetricName="ApplicationErrors", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")

    json.dump({
        "name": name, "endpoint": endpoint, "region": REGION, "vpc_id": vpc,
        "zone_id": zone_id, "zone_name": zone_name, "record_name": record,
        "legacy_lb_name": legacy_lb["LoadBalancerName"], "legacy_lb_arn": legacy_lb["LoadBalancerArn"],
        "legacy_lb_dns_name": legacy_lb["DNSName"], "legacy_lb_zone_id": legacy_lb["CanonicalHostedZoneId"],
        "legacy_listener_arn": legacy_listener["ListenerArn"],
        "legacy_tg_name": ec2_tg["TargetGroupName"], "legacy_tg_arn": ec2_tg["TargetGroupArn"],
        "new_lb_name": new_lb["LoadBalancerName"], "new_lb_arn": new_lb["LoadBalancerArn"],
        "new_lb_dns_name": new_lb["DNSName"], "new_lb_zone_id": new_lb["CanonicalHostedZoneId"],
        "new_listener_arn": new_listener["ListenerArn"],
        "green_tg_name": ecs_tg["TargetGroupName"], "green_tg_arn": ecs_tg["TargetGroupArn"],
        "green_via_legacy_tg_name": ecs_via_legacy_tg["TargetGroupName"], "green_via_legacy_tg_arn": ecs_via_legacy_tg["TargetGroupArn"],
        "green_alarms": alarms,
    }, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
