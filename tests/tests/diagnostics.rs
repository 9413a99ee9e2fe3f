//! Bad input must fail `terraform plan` with an error that names the
//! attribute at fault and points at the configuration line, as terraform
//! 1.0.3 prints it. One test per case, so libtest runs them in parallel.

use std::sync::OnceLock;

use bluegreen_acceptance::{fixture, line_of, unique_suffix, Workdir};

/// One bad configuration and what terraform must say about it.
struct Case {
    /// `main.tf`.
    config: String,
    /// The error's summary, exactly.
    summary: &'static str,
    /// Texts the detail must contain (terraform re-wraps it; compared with
    /// whitespace collapsed).
    detail: Vec<String>,
    /// Text of the `main.tf` line the error must point at (the first line
    /// containing it).
    points_at: &'static str,
    /// What the summary or detail must mention: the attribute at fault, or
    /// for a failed lookup the value that was searched for.
    names: &'static str,
}

impl Case {
    fn new(config: impl Into<String>, summary: &'static str, points_at: &'static str, names: &'static str) -> Case {
        Case { config: config.into(), summary, detail: Vec::new(), points_at, names }
    }

    fn detail(mut self, text: impl Into<String>) -> Case {
        self.detail.push(text.into());
        self
    }
}

fn check(name: &str, case: Case) {
    let wd = Workdir::new(name);
    wd.config(&case.config);
    let out = wd.plan_output(&[]);
    out.assert_failure();
    let errors = out.errors();
    assert_eq!(errors.len(), 1, "expected exactly one error\n{out}");
    let d = out.error(case.summary);
    // Shown with --nocapture, to review how the messages read.
    println!("---- {name}\n{d}\n");

    // The pointer: `on main.tf line N, …` followed by the quoted line N.
    let want = line_of(&case.config, case.points_at);
    let line_text = case.config.lines().nth(want - 1).expect("line exists");
    assert_eq!(d.subject(), Some(("main.tf".to_string(), want)), "error points at the wrong place (want line {want}: {line_text:?})\n{d}");
    assert!(d.body.contains(&format!("{want}: {line_text}")), "the quoted source line is missing\n{d}");

    let detail = d.detail();
    for text in &case.detail {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(detail.contains(&text), "detail lacks {text:?}\ndetail: {detail}\n{d}");
    }
    assert!(
        d.summary.contains(case.names) || detail.contains(case.names),
        "neither summary nor detail names the attribute {:?}\n{d}",
        case.names
    );
    assert!(detail.ends_with('.'), "detail is not a sentence: {detail:?}");
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

const LB_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/legacy/0123456789abcdef";
const LISTENER_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/legacy/0123456789abcdef/0123456789abcdef";
const TG_ARN: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/legacy/0123456789abcdef";

use bluegreen_acceptance::cases;

cases! {
    // --- selectors: exactly one ---
    hosted_zone_without_selector => Case::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n}\n",
        "No hosted zone selected", "data \"bluegreen_hosted_zone\" \"z\" {", "zone_id",
    ).detail("Set exactly one of `zone_id` or `name`");

    hosted_zone_with_both_selectors => Case::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"example.com\"\n}\n",
        "Conflicting hosted zone selectors", "name    =", "name",
    ).detail("Set exactly one of `zone_id` or `name`, not `zone_id` and `name`.");

    load_balancer_without_selector => Case::new(
        "data \"bluegreen_load_balancer\" \"lb\" {\n}\n",
        "No load balancer selected", "data \"bluegreen_load_balancer\"", "arn",
    ).detail("Set exactly one of `name` or `arn`");

    load_balancer_with_both_selectors => Case::new(
        format!("data \"bluegreen_load_balancer\" \"lb\" {{\n  name = \"legacy\"\n  arn  = \"{LB_ARN}\"\n}}\n"),
        "Conflicting load balancer selectors", "arn  =", "arn",
    ).detail("not `name` and `arn`");

    target_group_without_selector => Case::new(
        "data \"bluegreen_target_group\" \"tg\" {\n}\n",
        "No target group selected", "data \"bluegreen_target_group\"", "arn",
    ).detail("Set exactly one of `name` or `arn`");

    target_group_with_both_selectors => Case::new(
        format!("data \"bluegreen_target_group\" \"tg\" {{\n  name = \"legacy\"\n  arn  = \"{TG_ARN}\"\n}}\n"),
        "Conflicting target group selectors", "arn  =", "arn",
    ).detail("not `name` and `arn`");

    listener_without_selector => Case::new(
        "data \"bluegreen_listener\" \"l\" {\n}\n",
        "No listener selected", "data \"bluegreen_listener\"", "load_balancer_arn",
    ).detail("Set exactly one of `arn` or `load_balancer_arn`");

    listener_with_arn_and_load_balancer => Case::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  arn               = \"{LISTENER_ARN}\"\n  load_balancer_arn = \"{LB_ARN}\"\n  port              = 443\n}}\n"),
        "Conflicting listener selectors", "load_balancer_arn =", "load_balancer_arn",
    ).detail("not `arn` and `load_balancer_arn`");

    listener_port_without_load_balancer => Case::new(
        "data \"bluegreen_listener\" \"l\" {\n  port = 443\n}\n",
        "Missing load_balancer_arn", "port = ", "load_balancer_arn",
    ).detail("port selects a listener of the load balancer named by load_balancer_arn");

    listener_load_balancer_without_port => Case::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  load_balancer_arn = \"{LB_ARN}\"\n}}\n"),
        "Missing port", "load_balancer_arn = ", "port",
    ).detail("With load_balancer_arn, set port");

    // --- malformed values ---
    hosted_zone_malformed_zone_id => Case::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  zone_id = \"z-lower\"\n}\n",
        "Invalid zone_id", "zone_id = ", "zone_id",
    ).detail("zone_id must be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\", got \"z-lower\".");

    hosted_zone_name_with_space => Case::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  name = \"bad name.example.com\"\n}\n",
        "Invalid name", "name = ", "name",
    ).detail("label \"bad name\" contains ' '");

    load_balancer_malformed_arn => Case::new(
        // A target group's ARN where the load balancer's belongs: a likely mix-up.
        format!("data \"bluegreen_load_balancer\" \"lb\" {{\n  arn = \"{TG_ARN}\"\n}}\n"),
        "Invalid arn", "arn = ", "arn",
    ).detail("arn must be a load balancer ARN such as").detail(format!("got \"{TG_ARN}\""));

    load_balancer_malformed_name => Case::new(
        "data \"bluegreen_load_balancer\" \"lb\" {\n  name = \"-legacy\"\n}\n",
        "Invalid name", "name = ", "name",
    ).detail("name must be a load balancer name: 1-32 letters, digits and hyphens");

    listener_malformed_arn => Case::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  arn = \"{LB_ARN}\"\n}}\n"),
        "Invalid arn", "arn = ", "arn",
    ).detail("arn must be a listener ARN such as");

    listener_malformed_load_balancer_arn => Case::new(
        "data \"bluegreen_listener\" \"l\" {\n  load_balancer_arn = \"legacy\"\n  port              = 443\n}\n",
        "Invalid load_balancer_arn", "load_balancer_arn = ", "load_balancer_arn",
    ).detail("load_balancer_arn must be a load balancer ARN, got \"legacy\".");

    listener_port_out_of_range => Case::new(
        format!("data \"bluegreen_listener\" \"l\" {{\n  load_balancer_arn = \"{LB_ARN}\"\n  port              = 70000\n}}\n"),
        "Invalid port", "port              = 70000", "port",
    ).detail("port must be between 1 and 65535, got 70000.");

    target_group_malformed_arn => Case::new(
        "data \"bluegreen_target_group\" \"tg\" {\n  arn = \"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/legacy\"\n}\n",
        "Invalid arn", "arn = ", "arn",
    ).detail("arn must be a target group ARN such as");

    record_malformed_zone_id => Case::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"example.com\"\n  name    = \"api.example.com\"\n  type    = \"A\"\n}\n",
        "Invalid zone_id", "zone_id = ", "zone_id",
    ).detail("zone_id must be a hosted zone id");

    record_lower_case_type => Case::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api.example.com\"\n  type    = \"a\"\n}\n",
        "Invalid type", "type    = ", "type",
    ).detail("type must be a Route 53 record type in upper case, such as \"A\", \"AAAA\" or \"CNAME\", got \"a\".");

    record_unknown_type => Case::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api.example.com\"\n  type    = \"ALIAS\"\n}\n",
        "Invalid type", "type    = ", "type",
    ).detail("got \"ALIAS\"");

    record_name_with_space => Case::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"Z0123456789ABCDEFGHIJ\"\n  name    = \"api .example.com\"\n  type    = \"A\"\n}\n",
        "Invalid name", "name    = ", "name",
    ).detail("label \"api \" contains ' '");

    record_empty_set_identifier => Case::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id        = \"Z0123456789ABCDEFGHIJ\"\n  name           = \"api.example.com\"\n  type           = \"A\"\n  set_identifier = \"\"\n}\n",
        "Invalid set_identifier", "set_identifier = ", "set_identifier",
    ).detail("set_identifier must not be empty.");

    // --- the provider block ---
    // Terraform 1.0.3 points provider-block errors on sensitive attributes at the block header.
    provider_access_key_without_secret_key => Case::new(
        provider("  access_key = \"AKIAEXAMPLE\""),
        "Missing secret_key", "provider \"bluegreen\" {", "secret_key",
    ).detail("access_key is set, so secret_key must be set too");

    provider_secret_key_without_access_key => Case::new(
        provider("  secret_key = \"secret\""),
        "Missing access_key", "provider \"bluegreen\" {", "access_key",
    ).detail("secret_key is set, so access_key must be set too");

    provider_endpoint_without_scheme => Case::new(
        provider("  endpoints {\n    route53 = \"localhost:4566\"\n  }"),
        "Invalid endpoint URL", "route53 = ", "route53",
    ).detail("\"localhost:4566\" is not an http:// or https:// URL").detail("\"http://127.0.0.1:4566\"");

    provider_unknown_profile => Case::new(
        provider("  profile = \"no-such-profile\""),
        "Invalid profile", "profile = ", "profile",
    ).detail("Profile \"no-such-profile\" is not defined in the shared AWS config or credentials file");

    provider_malformed_region => Case::new(
        provider("  region = \"useast1\""),
        "Invalid region", "region = ", "region",
    ).detail("region must be an AWS region name such as \"eu-west-1\", got \"useast1\".");

    provider_max_retries_out_of_range => Case::new(
        provider("  max_retries = 100"),
        "Invalid max_retries", "max_retries = ", "max_retries",
    ).detail("max_retries must be between 0 and 25, got 100.");

    provider_malformed_role_arn => Case::new(
        provider("  assume_role {\n    role_arn = \"cutover\"\n  }"),
        "Invalid role_arn", "role_arn = ", "role_arn",
    ).detail("role_arn must be an IAM role ARN such as");

    // --- lookups that find nothing (LocalStack) ---
    hosted_zone_name_not_found => {
        let name = format!("{}.example.com", unique_suffix("nope-"));
        Case::new(
            format!("data \"bluegreen_hosted_zone\" \"z\" {{\n  name = \"{name}\"\n}}\n"),
            "Hosted zone not found", "name = ", "name",
        ).detail(format!("No hosted zone matched: public zone named \"{name}\"."))
    };

    private_hosted_zone_not_found => {
        // The zone exists, but is public.
        let s = stack();
        Case::new(
            format!("data \"bluegreen_hosted_zone\" \"z\" {{\n  name         = \"{}\"\n  private_zone = true\n}}\n", s.zone_name),
            "Hosted zone not found", "name         = ", "name",
        ).detail(format!("private zone named \"{}\"", s.zone_name))
    };

    hosted_zone_id_not_found => Case::new(
        "data \"bluegreen_hosted_zone\" \"z\" {\n  zone_id = \"ZNOSUCHZONE0123456789\"\n}\n",
        "Hosted zone not found", "zone_id = ", "zone_id",
    ).detail("No hosted zone matched: zone_id = \"ZNOSUCHZONE0123456789\".");

    load_balancer_name_not_found => {
        let name = unique_suffix("nope-");
        Case::new(
            format!("data \"bluegreen_load_balancer\" \"lb\" {{\n  name = \"{name}\"\n}}\n"),
            "Load balancer not found", "name = ", "name",
        ).detail(format!("No load balancer matched: name = \"{name}\"."))
    };

    target_group_arn_not_found => Case::new(
        format!("data \"bluegreen_target_group\" \"tg\" {{\n  arn = \"{TG_ARN}\"\n}}\n"),
        "Target group not found", "arn = ", "arn",
    ).detail(format!("No target group matched: arn = \"{TG_ARN}\"."));

    listener_port_not_found => {
        let s = stack();
        Case::new(
            format!("data \"bluegreen_listener\" \"l\" {{\n  load_balancer_arn = \"{}\"\n  port              = 8443\n}}\n", s.lb_arn),
            "Listener not found", "port              = 8443", "port",
        ).detail(format!("No listener matched: port 8443 on load balancer \"{}\".", s.lb_arn))
    };

    record_not_found => {
        let s = stack();
        Case::new(
            format!("data \"bluegreen_record\" \"r\" {{\n  zone_id = \"{}\"\n  name    = \"nope.{}\"\n  type    = \"A\"\n}}\n", s.zone_id, s.zone_name),
            "Record not found", "name    = ", "nope.",
        ).detail(format!("No record matched: A record \"nope.{}\" in zone {}.", s.zone_name, s.zone_id))
    };

    record_set_identifier_not_found => {
        let s = stack();
        Case::new(
            format!(
                "data \"bluegreen_record\" \"r\" {{\n  zone_id        = \"{}\"\n  name           = \"{}\"\n  type           = \"A\"\n  set_identifier = \"purple\"\n}}\n",
                s.zone_id, s.weighted_name
            ),
            "Record not found", "set_identifier = ", "set_identifier",
        ).detail("with set_identifier \"purple\"")
    };

    // A missing zone is the zone_id's fault.
    record_in_missing_zone => Case::new(
        "data \"bluegreen_record\" \"r\" {\n  zone_id = \"ZNOSUCHZONE0123456789\"\n  name    = \"api.example.com\"\n  type    = \"A\"\n}\n",
        "Hosted zone not found", "zone_id = ", "zone_id",
    ).detail("zone_id = \"ZNOSUCHZONE0123456789\"");

    // --- ambiguous ---
    weighted_record_without_set_identifier => {
        let s = stack();
        Case::new(
            format!("data \"bluegreen_record\" \"r\" {{\n  zone_id = \"{}\"\n  name    = \"{}\"\n  type    = \"A\"\n}}\n", s.zone_id, s.weighted_name),
            "More than one record matches", "name    = ", "set_identifier",
        )
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
    let out = wd.plan(&[]);
    let warnings: Vec<_> = out.diagnostics().into_iter().filter(|d| d.summary == "private_zone is ignored").collect();
    assert_eq!(warnings.len(), 1, "{out}");
    let w = &warnings[0];
    assert_eq!(w.severity, bluegreen_acceptance::Severity::Warning);
    assert_eq!(w.subject(), Some(("main.tf".to_string(), line_of(&config, "private_zone ="))), "{w}");
    assert!(w.detail().contains("private_zone only applies when selecting the zone by name."), "{w}");
}
