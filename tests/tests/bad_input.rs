//! The bad-input matrix: malformed configurations of both resources, the
//! provider block and the data sources. Each must fail `terraform plan` with
//! exactly one error that names the attribute and points at its line, must
//! never crash the provider, and must make no AWS call at all: the provider
//! talks to AWS through a recording proxy of the case's own, which must see
//! nothing.
//!
//! One `#[test]` per case (libtest runs them in parallel threads; each is a
//! single terraform run of ~1–3 s), so a failure names its case. Lookups that
//! need AWS to fail (a zone that does not exist) are not bad input and are in
//! `diagnostics.rs`; the cases here overlap little with the per-resource
//! matrices in `switch.rs`, `canary.rs` and `diagnostics.rs`, which check
//! messages in more depth but not the absence of AWS calls.

use bluegreen_acceptance::bad_input::{
    add, canary_base, case, edit, Aws, BadInput, GREEN_TG_ARN as GREEN_TG, LB_ARN as LB, LISTENER_ARN as LISTENER,
};

/// Each case through a recording proxy of its own, which must see no AWS call.
fn check(name: &str, c: BadInput) {
    c.aws(Aws::NoCalls).check(&format!("bad-{name}"));
}

// ---------------------------------------------------------------------------
// Valid bases, each broken in one place per case
// ---------------------------------------------------------------------------

const SWITCH: &str = r#"resource "bluegreen_switch" "x" {
  zone_id = "Z0123456789ABCDEFGHIJ"
  name    = "api.example.com"

  blue {
    records = ["203.0.113.10"]
  }

  green {
    set_identifier = "green"
    records        = ["203.0.113.20"]
  }

  traffic = 10
}
"#;

fn switch(from: &str, to: &str) -> String {
    edit(SWITCH, from, to)
}

fn switch_with(block: &str) -> String {
    add(SWITCH, block)
}

fn canary(from: &str, to: &str) -> String {
    edit(&canary_base(), from, to)
}

fn canary_with(block: &str) -> String {
    add(&canary_base(), block)
}

/// A provider block with `body`, and a data source so the provider is used.
fn provider(body: &str) -> String {
    format!("provider \"bluegreen\" {{\n{body}\n}}\n\ndata \"bluegreen_hosted_zone\" \"z\" {{\n  name = \"example.com\"\n}}\n")
}

fn data(kind: &str, body: &str) -> String {
    format!("data \"{kind}\" \"d\" {{\n{body}\n}}\n")
}

use bluegreen_acceptance::cases;

cases! {
    // --- bluegreen_switch ---
    switch_record_list_with_null => case(switch("[\"203.0.113.20\"]", "[\"203.0.113.20\", null]"),
        "Invalid records", "[\"203.0.113.20\", null]", "records must not contain null, got null at index 1; remove it.");
    switch_steps_with_null => case(switch_with("\n  rollout {\n    steps = [10, null]\n  }\n"),
        "Invalid steps", "steps = [10, null]", "steps must not contain null, got null at index 1; remove it.");
    switch_step_fraction => case(switch_with("\n  rollout {\n    steps = [10.5]\n  }\n"),
        "Invalid steps", "steps = [10.5]", "steps must be a whole number, got 10.5.");
    switch_traffic_huge => case(switch("traffic = 10", "traffic = 1e300"),
        "Invalid traffic", "traffic = 1e300", "traffic must be between 0 and 100");
    switch_ttl_beyond_int32 => case(switch("    records        = [\"203.0.113.20\"]\n", "    records        = [\"203.0.113.20\"]\n    ttl            = 2147483648\n"),
        "Invalid ttl", "ttl            = 2147483648", "ttl must be between 0 and 2147483647, got 2147483648.");
    switch_set_identifier_129_chars => case(switch("set_identifier = \"green\"", &format!("set_identifier = \"{}\"", "g".repeat(129))),
        "Invalid set_identifier", "set_identifier = \"ggg", "set_identifier must have at most 128 characters, got 129.");
    switch_name_256_chars => case(switch("\"api.example.com\"", &format!("\"{}.{}.example.com\"", "a".repeat(61), vec!["a".repeat(60); 3].join("."))),
        "Invalid name", "name    = ", "name must have at most 255 characters, got 256.");
    switch_empty_name => case(switch("\"api.example.com\"", "\"\""),
        "Invalid name", "name    = \"\"", "name must not be empty.");
    switch_alias_without_zone_id_value => case(switch("    records = [\"203.0.113.10\"]\n", "    alias {\n      name    = \"legacy.elb.amazonaws.com\"\n      zone_id = \"\"\n    }\n"),
        "Invalid zone_id", "zone_id = \"\"", "zone_id must be a hosted zone id such as \"Z35SXDOTRQ7X7K\", got \"\".");
    switch_aaaa_value_for_a => case(switch("[\"203.0.113.20\"]", "[\"2001:db8::20\"]"),
        "Record does not fit the type", "[\"2001:db8::20\"]", "\"2001:db8::20\" is not an IPv4 address");
    switch_101_records => case(switch("[\"203.0.113.20\"]", &format!("[{}]", (0..101).map(|i| format!("\"10.0.{}.{}\"", i / 200, i % 200 + 1)).collect::<Vec<_>>().join(", "))),
        "Invalid records", "records        = [\"10.0.0.1\"", "records allows at most 100 element(s), got 101.");
    switch_empty_type => case(switch("  name    = \"api.example.com\"\n", "  name    = \"api.example.com\"\n  type    = \"\"\n"),
        "Invalid type", "type    = \"\"", "type must be one of \"A\", \"AAAA\", \"CNAME\", got \"\".");
    switch_sync_timeout_2h => case(switch_with("\n  sync_timeout = \"2h\"\n"),
        "Invalid sync_timeout", "sync_timeout = \"2h\"", "sync_timeout must be between 1s and 1h, got \"2h\".");
    switch_sync_timeout_soon => case(switch_with("\n  sync_timeout = \"soon\"\n"),
        "Invalid sync_timeout", "sync_timeout = \"soon\"", "\"soon\" is not a duration");
    switch_gate_target_group_null => case(switch_with("\n  health_gate {\n    target_group_arns = [null]\n  }\n"),
        "Invalid target_group_arns", "target_group_arns = [null]", "target_group_arns must not contain null, got null at index 0; remove it.");
    switch_gate_status_fraction => case(switch_with("\n  health_gate {\n    http_check {\n      url           = \"https://green.example.net/healthz\"\n      expect_status = [200.5]\n    }\n  }\n"),
        "Invalid expect_status", "expect_status = [200.5]", "expect_status must be a whole number, got 200.5.");
    switch_gate_status_99 => case(switch_with("\n  health_gate {\n    http_check {\n      url           = \"https://green.example.net/healthz\"\n      expect_status = [99]\n    }\n  }\n"),
        "Invalid status code", "expect_status = [99]", "99 is not an HTTP status code");
    switch_gate_url_without_host => case(switch_with("\n  health_gate {\n    http_check {\n      url = \"https:///healthz\"\n    }\n  }\n"),
        "Invalid url", "url = \"https:///healthz\"", "https:///healthz");
    switch_on_destroy_empty => case(switch_with("\n  on_destroy = \"\"\n"),
        "Invalid on_destroy", "on_destroy = \"\"", "on_destroy must be one of \"collapse\", \"delete\", got \"\".");
    switch_steps_too_many => case(switch_with(&format!("\n  rollout {{\n    steps = [{}]\n  }}\n", (1..=21).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))),
        "Invalid steps", "steps = [1, 2", "steps allows at most 20 element(s), got 21.");

    // --- canary_listener ---
    canary_priority_fraction => case(canary("priority     = 100", "priority     = 2.5"),
        "Invalid priority", "priority     = 2.5", "priority must be a whole number, got 2.5.");
    canary_priority_most_negative => case(canary("priority     = 100", "priority     = -9223372036854775808"),
        "Invalid priority", "priority     = -9223372036854775808", "priority must be between 1 and 50000, got -9223372036854775808.");
    canary_traffic_fraction => case(canary("traffic                = 10", "traffic                = 50.5"),
        "Invalid traffic", "traffic                = 50.5", "traffic must be a whole number, got 50.5.");
    canary_no_header_values => case(canary("header_values = [\"1\"]", "header_values = []"),
        "Invalid header_values", "header_values = []", "header_values needs at least 1 element(s), got 0.");
    canary_header_value_null => case(canary("header_values = [\"1\"]", "header_values = [\"1\", null]"),
        "Invalid header_values", "header_values = [\"1\", null]", "header_values must not contain null, got null at index 1; remove it.");
    canary_no_host_header => case(canary("host_header = [\"api.example.com\"]", "host_header = []"),
        "Invalid host_header", "host_header = []", "host_header needs at least 1 element(s), got 0.");
    canary_four_path_patterns => case(canary("host_header = [\"api.example.com\"]", "path_pattern = [\"/a\", \"/b\", \"/c\", \"/d\"]"),
        "Invalid path_pattern", "path_pattern = ", "path_pattern allows at most 3 element(s), got 4.");
    canary_test_priority_0 => case(canary("header_values = [\"1\"]", "header_values = [\"1\"]\n    priority      = 0"),
        "Invalid priority", "priority      = 0", "priority must be between 1 and 50000, got 0.");
    canary_test_priority_50001 => case(canary("header_values = [\"1\"]", "header_values = [\"1\"]\n    priority      = 50001"),
        "Invalid priority", "priority      = 50001", "priority must be between 1 and 50000, got 50001.");
    canary_empty_header_name => case(canary("\"X-Canary\"", "\"\""),
        "Invalid header_name", "header_name   = \"\"", "header_name must not be empty.");
    canary_stickiness_over_7d => case(canary_with("\n  stickiness {\n    duration = \"604801s\"\n  }\n"),
        "Invalid stickiness duration", "duration = ", "got \"604801s\".");
    canary_green_is_a_listener => case(canary(&format!("\"{GREEN_TG}\""), &format!("\"{LISTENER}\"")),
        "Invalid green_target_group_arn", "green_target_group_arn = ", "green_target_group_arn must be a target group ARN");
    canary_empty_listener_arn => case(canary(&format!("\"{LISTENER}\""), "\"\""),
        "Invalid listener_arn", "listener_arn = \"\"", "listener_arn must be a listener ARN, got \"\".");
    canary_min_healthy_1001 => case(canary_with("\n  health_gate {\n    min_healthy_targets = 1001\n  }\n"),
        "Invalid min_healthy_targets", "min_healthy_targets = 1001", "min_healthy_targets must be between 1 and 1000, got 1001.");
    canary_on_destroy_collapse => case(canary_with("\n  on_destroy = \"collapse\"\n"),
        "Invalid on_destroy", "on_destroy = ", "on_destroy must be one of \"delete\", \"promote\", got \"collapse\".");

    // --- the provider block ---
    provider_empty_region => case(provider("  region = \"\""),
        "Invalid region", "region = \"\"", "region must be an AWS region name such as \"eu-west-1\", got \"\".");
    provider_negative_max_retries => case(provider("  max_retries = -1"),
        "Invalid max_retries", "max_retries = -1", "max_retries must be between 0 and 25, got -1.");
    provider_fractional_max_retries => case(provider("  max_retries = 2.5"),
        "Invalid max_retries", "max_retries = 2.5", "max_retries must be a whole number, got 2.5.");
    provider_empty_profile => case(provider("  profile = \"\""),
        "Invalid profile", "profile = \"\"", "profile must not be empty.");
    provider_elbv2_endpoint_bad_port => case(provider("  endpoints {\n    elbv2 = \"http://localhost:99999\"\n  }"),
        "Invalid endpoint URL", "elbv2 = ", "has an invalid port \"99999\"");
    provider_route53_endpoint_without_scheme => case(provider("  endpoints {\n    route53 = \"127.0.0.1:45135\"\n  }"),
        "Invalid endpoint URL", "route53 = ", "\"127.0.0.1:45135\" is not an http:// or https:// URL.");
    provider_sts_endpoint_with_space => case(provider("  endpoints {\n    sts = \"http://sts .example.com\"\n  }"),
        "Invalid endpoint URL", "sts = ", "contains white space");
    provider_short_session_name => case(provider("  assume_role {\n    role_arn     = \"arn:aws:iam::123456789012:role/cutover\"\n    session_name = \"x\"\n  }"),
        "Invalid session_name", "session_name = ", "session_name must have at least 2 characters.");
    provider_short_external_id => case(provider("  assume_role {\n    role_arn    = \"arn:aws:iam::123456789012:role/cutover\"\n    external_id = \"x\"\n  }"),
        "Invalid external_id", "external_id = ", "external_id must have at least 2 characters.");
    // A sensitive attribute that is set is pointed at (only a missing one points at the block header).
    provider_empty_access_key => case(provider("  access_key = \"\"\n  secret_key = \"s\""),
        "Invalid access_key", "access_key = \"\"", "access_key must not be empty.");

    // --- data sources ---
    hosted_zone_bare_prefix => case(data("bluegreen_hosted_zone", "  zone_id = \"/hostedzone/\""),
        "Invalid zone_id", "zone_id = ", "zone_id must be a hosted zone id");
    load_balancer_name_33_chars => case(data("bluegreen_load_balancer", &format!("  name = \"{}\"", "l".repeat(33))),
        "Invalid name", "name = ", "name must be a load balancer name");
    listener_port_0 => case(data("bluegreen_listener", &format!("  load_balancer_arn = \"{LB}\"\n  port              = 0")),
        "Invalid port", "port              = 0", "port must be between 1 and 65535, got 0.");
    listener_port_fraction => case(data("bluegreen_listener", &format!("  load_balancer_arn = \"{LB}\"\n  port              = 443.5")),
        "Invalid port", "port              = 443.5", "port must be a whole number, got 443.5.");
    target_group_name_trailing_hyphen => case(data("bluegreen_target_group", "  name = \"legacy-\""),
        "Invalid name", "name = ", "name must be a target group name");
    record_empty_type => case(data("bluegreen_record", "  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api.example.com\"\n  type    = \"\""),
        "Invalid type", "type    = \"\"", "got \"\".");
    record_empty_name => case(data("bluegreen_record", "  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"\"\n  type    = \"A\""),
        "Invalid name", "name    = \"\"", "name must not be empty.");
    record_set_identifier_129_chars => case(data("bluegreen_record", &format!("  zone_id        = \"Z0123456789ABCDEFGHIJ\"\n  name           = \"api.example.com\"\n  type           = \"A\"\n  set_identifier = \"{}\"", "s".repeat(129))),
        "Invalid set_identifier", "set_identifier = ", "set_identifier must have at most 128 characters, got 129.");
}
