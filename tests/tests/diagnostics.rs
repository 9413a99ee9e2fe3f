//! Bad input must fail `terraform plan` with an error that names the
//! attribute at fault and points at the configuration line (read from
//! `plan -json`, see `bluegreen_acceptance::bad_input`). One test per case,
//! so libtest runs them in parallel.

use std::sync::OnceLock;

use bluegreen_acceptance::bad_input::{BadInput, BLUE_TG_ARN as TG_ARN, LB_ARN, LISTENER_ARN};
use bluegreen_acceptance::{fixture, line_of, unique_suffix, Workdir};

fn check(name: &str, case: BadInput) {
    case.check(name);
}

/// A legacy stack shared by the cases that need existing objects (no case
/// changes it). Created once per test binary, with its own unique suffix.
fn stack() -> &'static fixture::LegacyStack {
    static STACK: OnceLock<fixture::LegacyStack> = OnceLock::new();
    STACK.get_or_init(|| fixture::legacy_stack(&unique_suffix("dg")))
}

/// A data source for provider-block cases, so that the provider is used.
const LOOKUP: &str = "\ndata \"bluegreen_hosted_zone\" \"z\" {\n  name = \"example.com\"\n}\n";

fn provider(body: &str) -> String {
    format!("provider \"bluegreen\" {{\n{body}\n}}\n{LOOKUP}")
}

use bluegreen_acceptance::cases;

cases! {
    // --- selectors: exactly one ---
    hosted_zone_without_selector => BadInput::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n}\n",
        "No hosted zone selected", "data \"bluegreen_hosted_zone\" \"z\" {",
    ).names("zone_id").detail("Set exactly one of `zone_id` or `name`");

    hosted_zone_with_both_selectors => BadInput::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"example.com\"\n}\n",
        "Conflicting hosted zone selectors", "name    =",
    ).names("name").detail("Set exactly one of `zone_id` or `name`, not `zone_id` and `name`.");

    load_balancer_without_selector => BadInput::new(
        "data \"bluegreen_load_balancer\" \"lb\" {\n}\n",
        "No load balancer selected", "data \"bluegreen_load_balancer\"",
    ).names("arn").detail("Set exactly one of `name` or `arn`");

    load_balancer_with_both_selectors => BadInput::new(
        format!("data \"bluegreen_load_balancer\" \"lb\" {{\n  name = \"legacy\"\n  arn  = \"{LB_ARN}\"\n}}\n"),
        "Conflicting load balancer selectors", "arn  =",
    ).names("arn").detail("not `name` and `arn`");

    target_group_without_selector => BadInput::new(
        "data \"bluegreen_target_group\" \"tg\" {\n}\n",
        "No target group selected", "data \"bluegreen_target_group\"",
    ).names("arn").detail("Set exactly one of `name` or `arn`");

    target_group_with_both_selectors => BadInput::new(
        format!("data \"bluegreen_target_group\" \"tg\" {{\n  name = \"legacy\"\n  arn  = \"{TG_ARN}\"\n}}\n"),
        "Conflicting target group selectors", "arn  =",
    ).names("arn").detail("not `name` and `arn`");

    listener_without_selector => BadInput::new(
        "data \"bluegreen_listener\" \"l\" {\n}\n",
        "No listener selected", "data \"bluegreen_listener\"",
    ).names("load_balancer_arn").detail("Set exactly one of `arn` or `load_balancer_arn`");

    listener_with_arn_and_load_balancer => BadInput::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  arn               = \"{LISTENER_ARN}\"\n  load_balancer_arn = \"{LB_ARN}\"\n  port              = 443\n}}\n"),
        "Conflicting listener selectors", "load_balancer_arn =",
    ).names("load_balancer_arn").detail("not `arn` and `load_balancer_arn`");

    listener_port_without_load_balancer => BadInput::new(
        "data \"bluegreen_listener\" \"l\" {\n  port = 443\n}\n",
        "Missing load_balancer_arn", "port = ",
    ).names("load_balancer_arn").detail("port selects a listener of the load balancer named by load_balancer_arn");

    listener_load_balancer_without_port => BadInput::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  load_balancer_arn = \"{LB_ARN}\"\n}}\n"),
        "Missing port", "load_balancer_arn = ",
    ).names("port").detail("With load_balancer_arn, set port");

    // --- malformed values ---
    hosted_zone_malformed_zone_id => BadInput::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  zone_id = \"z-lower\"\n}\n",
        "Invalid zone_id", "zone_id = ",
    ).names("zone_id").detail("zone_id must be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\", got \"z-lower\".");

    hosted_zone_name_with_space => BadInput::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  name = \"bad name.example.com\"\n}\n",
        "Invalid name", "name = ",
    ).names("name").detail("label \"bad name\" contains ' '");

    load_balancer_malformed_arn => BadInput::new(
        // A target group's ARN where the load balancer's belongs: a likely mix-up.
        format!("data \"bluegreen_load_balancer\" \"lb\" {{\n  arn = \"{TG_ARN}\"\n}}\n"),
        "Invalid arn", "arn = ",
    ).names("arn").detail("arn must be a load balancer ARN such as").detail(format!("got \"{TG_ARN}\""));

    load_balancer_malformed_name => BadInput::new(
        "data \"bluegreen_load_balancer\" \"lb\" {\n  name = \"-legacy\"\n}\n",
        "Invalid name", "name = ",
    ).names("name").detail("name must be a load balancer name: 1-32 letters, digits and hyphens");

    listener_malformed_arn => BadInput::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  arn = \"{LB_ARN}\"\n}}\n"),
        "Invalid arn", "arn = ",
    ).names("arn").detail("arn must be a listener ARN such as");

    listener_malformed_load_balancer_arn => BadInput::new(
        "data \"bluegreen_listener\" \"l\" {\n  load_balancer_arn = \"legacy\"\n  port              = 443\n}\n",
        "Invalid load_balancer_arn", "load_balancer_arn = ",
    ).names("load_balancer_arn").detail("load_balancer_arn must be a load balancer ARN, got \"legacy\".");

    listener_port_out_of_range => BadInput::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  load_balancer_arn = \"{LB_ARN}\"\n  port              = 70000\n}}\n"),
        "Invalid port", "port              = 70000",
    ).names("port").detail("port must be between 1 and 65535, got 70000.");

    target_group_malformed_arn => BadInput::new(
        "data \"bluegreen_target_group\" \"tg\" {\n  arn = \"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/legacy\"\n}\n",
        "Invalid arn", "arn = ",
    ).names("arn").detail("arn must be a target group ARN such as");

    record_malformed_zone_id => BadInput::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"example.com\"\n  name    = \"api.example.com\"\n  type    = \"A\"\n}\n",
        "Invalid zone_id", "zone_id = ",
    ).names("zone_id").detail("zone_id must be a hosted zone id");

    record_lower_case_type => BadInput::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api.example.com\"\n  type    = \"a\"\n}\n",
        "Invalid type", "type    = ",
    ).names("type").detail("type must be a Route 53 record type in upper case, such as \"A\", \"AAAA\" or \"CNAME\", got \"a\".");

    record_unknown_type => BadInput::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api.example.com\"\n  type    = \"ALIAS\"\n}\n",
        "Invalid type", "type    = ",
    ).names("type").detail("got \"ALIAS\"");

    record_name_with_space => BadInput::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api .example.com\"\n  type    = \"A\"\n}\n",
        "Invalid name", "name    = ",
    ).names("name").detail("label \"api \" contains ' '");

    record_empty_set_identifier => BadInput::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id        = \"Z0123456789ABCDEFGHIJ\"\n  name           = \"api.example.com\"\n  type           = \"A\"\n  set_identifier = \"\"\n}\n",
        "Invalid set_identifier", "set_identifier = ",
    ).names("set_identifier").detail("set_identifier must not be empty.");

    // --- the provider block ---
    // Terraform 1.0.3 points provider-block errors on sensitive attributes at the block header.
    provider_access_key_without_secret_key => BadInput::new(
        provider("  access_key = \"AKIAEXAMPLE\""),
        "Missing secret_key", "provider \"bluegreen\" {",
    ).names("secret_key").detail("access_key is set, so secret_key must be set too");

    provider_secret_key_without_access_key => BadInput::new(
        provider("  secret_key = \"secret\""),
        "Missing access_key", "provider \"bluegreen\" {",
    ).names("access_key").detail("secret_key is set, so access_key must be set too");

    provider_endpoint_without_scheme => BadInput::new(
        provider("  endpoints {\n    route53 = \"localhost:4566\"\n  }"),
        "Invalid endpoint URL", "route53 = ",
    ).names("route53").detail("\"localhost:4566\" is not an http:// or https:// URL").detail("\"http://127.0.0.1:4566\"");

    provider_unknown_profile => BadInput::new(
        provider("  profile = \"no-such-profile\""),
        "Invalid profile", "profile = ",
    ).names("profile").detail("Profile \"no-such-profile\" is not defined in the shared AWS config or credentials file");

    provider_malformed_region => BadInput::new(
        provider("  region = \"useast1\""),
        "Invalid region", "region = ",
    ).names("region").detail("region must be an AWS region name such as \"eu-west-1\", got \"useast1\".");

    provider_max_retries_out_of_range => BadInput::new(
        provider("  max_retries = 100"),
        "Invalid max_retries", "max_retries = ",
    ).names("max_retries").detail("max_retries must be between 0 and 25, got 100.");

    provider_malformed_role_arn => BadInput::new(
        provider("  assume_role {\n    role_arn = \"cutover\"\n  }"),
        "Invalid role_arn", "role_arn = ",
    ).names("role_arn").detail("role_arn must be an IAM role ARN such as");

    // --- lookups that find nothing (LocalStack) ---
    hosted_zone_name_not_found => {
        let name = format!("{}.example.com", unique_suffix("nope-"));
        BadInput::new(
            format!("data \"bluegreen_hosted_zone\" \"z\" {{\n  name = \"{name}\"\n}}\n"),
            "Hosted zone not found", "name = ",
        ).names("name").detail(format!("No hosted zone matched: public zone named \"{name}\"."))
    };

    private_hosted_zone_not_found => {
        // The zone exists, but is public.
        let s = stack();
        BadInput::new(
            format!("data \"bluegreen_hosted_zone\" \"z\" {{\n  name         = \"{}\"\n  private_zone = true\n}}\n", s.zone_name),
            "Hosted zone not found", "name         = ",
        ).names("name").detail(format!("private zone named \"{}\"", s.zone_name))
    };

    hosted_zone_id_not_found => BadInput::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  zone_id = \"ZNOSUCHZONE0123456789\"\n}\n",
        "Hosted zone not found", "zone_id = ",
    ).names("zone_id").detail("No hosted zone matched: zone_id = \"ZNOSUCHZONE0123456789\".");

    load_balancer_name_not_found => {
        let name = unique_suffix("nope-");
        BadInput::new(
            format!("data \"bluegreen_load_balancer\" \"lb\" {{\n  name = \"{name}\"\n}}\n"),
            "Load balancer not found", "name = ",
        ).names("name").detail(format!("No load balancer matched: name = \"{name}\"."))
    };

    target_group_arn_not_found => BadInput::new(
        format!("data \"bluegreen_target_group\" \"tg\" {{\n  arn = \"{TG_ARN}\"\n}}\n"),
        "Target group not found", "arn = ",
    ).names("arn").detail(format!("No target group matched: arn = \"{TG_ARN}\"."));

    listener_port_not_found => {
        let s = stack();
        BadInput::new(
            format!("data \"bluegreen_listener\" \"l\" {{\n  load_balancer_arn = \"{}\"\n  port              = 8443\n}}\n", s.lb_arn),
            "Listener not found", "port              = 8443",
        ).names("port").detail(format!("No listener matched: port 8443 on load balancer \"{}\".", s.lb_arn))
    };

    record_not_found => {
        let s = stack();
        BadInput::new(
            format!("data \"bluegreen_record\" \"r\" {{\n  zone_id = \"{}\"\n  name    = \"nope.{}\"\n  type    = \"A\"\n}}\n", s.zone_id, s.zone_name),
            "Record not found", "name    = ",
        ).names("nope.").detail(format!("No record matched: A record \"nope.{}\" in zone {}.", s.zone_name, s.zone_id))
    };

    record_set_identifier_not_found => {
        let s = stack();
        BadInput::new(
            format!(
                "data \"bluegreen_record\" \"r\" {{\n  zone_id        = \"{}\"\n  name           = \"{}\"\n  type           = \"A\"\n  set_identifier = \"purple\"\n}}\n",
                s.zone_id, s.weighted_name
            ),
            "Record not found", "set_identifier = ",
        ).names("set_identifier").detail("with set_identifier \"purple\"")
    };

    // A missing zone is the zone_id's fault.
    record_in_missing_zone => BadInput::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"ZNOSUCHZONE0123456789\"\n  name    = \"api.example.com\"\n  type    = \"A\"\n}\n",
        "Hosted zone not found", "zone_id = ",
    ).names("zone_id").detail("zone_id = \"ZNOSUCHZONE0123456789\"");

    // --- ambiguous ---
    weighted_record_without_set_identifier => {
        let s = stack();
        BadInput::new(
            format!("data \"bluegreen_record\" \"r\" {{\n  zone_id = \"{}\"\n  name    = \"{}\"\n  type    = \"A\"\n}}\n", s.zone_id, s.weighted_name),
            "More than one record matches", "name    = ",
        ).names("set_identifier")
        .detail("Set set_identifier to one of them")
        .detail(format!("{}, {}", s.weighted[0].set_identifier, s.weighted[1].set_identifier))
    };
}

/// A warning does not fail the plan, and still points at the attribute.
#[test]
fn private_zone_with_zone_id_warns() {
    let s = stack();
    let config = format!("data \"bluegreen_hosted_zone\" \"z\" {{\n  zone_id      = \"{}\"\n  private_zone = false\n}}\n", s.zone_id);
    let wd = Workdir::new("private-zone-warning");
    wd.config(&config);
    // The human output: terraform 1.0.3's `plan -json` reports this warning twice (1.15.5 once).
    let out = wd.plan(&[]);
    let warnings: Vec<_> = out.diagnostics().into_iter().filter(|d| d.summary == "private_zone is ignored").collect();
    assert_eq!(warnings.len(), 1, "{out}");
    let w = &warnings[0];
    assert_eq!(w.severity, bluegreen_acceptance::Severity::Warning);
    assert_eq!(w.subject(), Some(("main.tf".to_string(), line_of(&config, "private_zone ="))), "{w}");
    assert!(w.detail().contains("private_zone only applies when selecting the zone by name."), "{w}");
}
