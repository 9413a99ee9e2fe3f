//! The provider never modifies what it does not own: a weighted record set
//! or a listener rule someone else made is refused with guidance, and is
//! exactly as it was afterwards (read back with the AWS SDK).
//!
//! (TLS between terraform and the provider is covered by
//! `provider/tests/protocol.rs`; credentials in logs by `logging.rs`.)

use aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext;
use aws_sdk_elasticloadbalancingv2::types as elb;
use aws_sdk_route53::types as r53;
use bluegreen_acceptance::{aws, block_on, fixture, line_of, unique_suffix, StatusServer, TestCa, Workdir};

fn switch_tf(zone_id: &str, name: &str) -> String {
    format!(
        "resource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{zone_id}\"\n  name    = \"{name}\"\n\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n\n  traffic = 0\n}}\n"
    )
}

/// A weighted A record set made outside terraform.
fn foreign_weighted(zone_id: &str, name: &str, set_identifier: &str) {
    let rrs = r53::ResourceRecordSet::builder()
        .name(fixture::fqdn(name))
        .r#type(r53::RrType::A)
        .set_identifier(set_identifier)
        .weight(7)
        .ttl(300)
        .resource_records(r53::ResourceRecord::builder().value("198.51.100.77").build().expect("record"))
        .build()
        .expect("record set");
    fixture::change_record_sets(zone_id, vec![(r53::ChangeAction::Create, rrs)]);
}

/// A foreign weighted set under the switch's own set identifier (`blue`, the
/// default) is not taken over, and one under another identifier is not
/// joined; either way the record set is untouched and nothing is in state.
#[test]
fn foreign_weighted_record_sets_are_refused_and_left_untouched() {
    for (foreign_id, summary, guidance) in [
        ("blue", "Weighted record set already exists", "It is not taken over silently: import it"),
        ("canary", "Record sets not owned by this switch", "The switch only manages its own pair and will not join or replace them"),
    ] {
        let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("ow"));
        let name = format!("api.{zone_name}");
        foreign_weighted(&zone_id, &name, foreign_id);
        let before = fixture::record_sets(&zone_id, &name);
        assert_eq!(before.len(), 1);

        let wd = Workdir::new("security-foreign-record");
        wd.config(&switch_tf(&zone_id, &name));
        let out = wd.apply_output(&[]);
        let e = out.assert_failure().only_error();
        println!("---- foreign weighted set {foreign_id:?}:\n{e}\n");
        assert_eq!(e.summary, summary, "{out}");
        assert!(e.detail().contains(guidance), "{e}");
        assert!(e.detail().contains(&format!("{foreign_id:?}")), "the detail names the foreign set: {e}");
        assert_eq!(fixture::record_sets(&zone_id, &name), before, "the foreign record set was changed");
        assert!(wd.state_addresses().is_empty(), "a refused create left something in the state");
    }
}

fn rules(listener: &str) -> Vec<elb::Rule> {
    block_on(aws().elbv2.describe_rules().listener_arn(listener).send())
        .unwrap_or_else(|e| panic!("DescribeRules {listener}: {}", DisplayErrorContext(&e)))
        .rules()
        .to_vec()
}

/// A listener rule someone else made at the canary's priority: the create is
/// refused naming the holder and pointing at `priority`, nothing is created,
/// and the foreign rule (priority, conditions, actions) is unchanged.
#[test]
fn a_foreign_listener_rule_at_the_canarys_priority_is_refused_and_left_untouched() {
    let s = fixture::legacy_stack(&unique_suffix("os"));
    let action = elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&s.tg_arn).build();
    let condition = elb::RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(elb::PathPatternConditionConfig::builder().values("/theirs/*").build())
        .build();
    let created =
        block_on(aws().elbv2.create_rule().listener_arn(&s.listener_arn).priority(100).conditions(condition).actions(action).send())
            .unwrap_or_else(|e| panic!("CreateRule: {}", DisplayErrorContext(&e)));
    let foreign_arn = created.rules().first().and_then(|r| r.rule_arn()).expect("rule arn").to_string();
    let before = rules(&s.listener_arn);

    let config = format!(
        "resource \"canary_listener\" \"x\" {{\n  provider     = bluegreen\n  listener_arn = \"{}\"\n  priority     = 100\n\n  blue_target_group_arn  = \"{}\"\n  green_target_group_arn = \"{}\"\n  traffic                = 0\n\n  test_route {{\n    header_name   = \"X-Canary\"\n    header_values = [\"1\"]\n  }}\n}}\n",
        s.listener_arn, s.tg_arn, s.empty_tg_arn
    );
    let wd = Workdir::new("security-foreign-rule");
    wd.config(&config);
    let out = wd.apply_output(&[]);
    let e = out.assert_failure().only_error();
    println!("---- foreign rule at priority 100:\n{e}\n");
    assert_eq!(e.summary, "Listener rule priority in use", "{out}");
    assert!(e.detail().contains(&foreign_arn), "the detail names the rule holding the priority: {e}");
    assert!(e.detail().contains("import"), "the detail says how to take it over deliberately: {e}");
    assert_eq!(e.subject(), Some(("main.tf".to_string(), line_of(&config, "priority     = 100"))), "{e}");
    assert_eq!(rules(&s.listener_arn), before, "the listener's rules changed");
    assert!(wd.state_addresses().is_empty(), "a refused create left something in the state");
}

/// The health gate's HTTPS check verifies green's certificate instead of skipping it: `host_header` is the TLS server
/// name (green's ALB hostname in `url`, the public name on the certificate), and a private CA is trusted through
/// `ca_bundle`. Green here is a local HTTPS server whose certificate a throwaway CA issued for the public name only.
#[test]
fn an_https_check_verifies_the_certificate_against_host_header_and_ca_bundle() {
    let public = "api.green.internal.test";
    let ca = TestCa::issue(&[public]);
    let server = StatusServer::start_tls(&[], 200, &ca);
    let (zone_name, zone_id) = fixture::hosted_zone(&unique_suffix("tls"));
    let name = format!("api.{zone_name}");
    let wd = Workdir::new("security-tls");
    wd.write("ca.pem", &ca.ca_pem);
    let config = |traffic: i64, ca_bundle: bool| {
        let bundle = if ca_bundle { "\n      ca_bundle   = file(\"${path.module}/ca.pem\")" } else { "" };
        format!(
            "resource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{zone_id}\"\n  name    = \"{name}\"\n\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n\n  traffic = {traffic}\n\n  health_gate {{\n    http_check {{\n      url         = \"{}\"\n      host_header = \"{public}\"{bundle}\n      timeout     = \"3s\"\n    }}\n  }}\n}}\n",
            server.url("/healthz")
        )
    };
    wd.config(&config(0, false));
    wd.apply(&[]);

    // The private CA is not trusted: the increase is refused, nothing moves.
    wd.config(&config(50, false));
    let out = wd.apply_output(&[]);
    let e = out.assert_failure().only_error();
    println!("---- private CA without ca_bundle:\n{e}\n");
    assert!(e.detail().contains(&format!("TLS handshake with server name \"{public}\" failed")), "{e}");
    assert!(e.detail().contains("ca_bundle"), "the error says how to trust a private CA: {e}");
    assert!(server.requests().is_empty(), "a request went through an unverified connection");
    assert_eq!(fixture::weights(&zone_id, &name), [("blue".to_string(), 100), ("green".to_string(), 0)]);

    // With the CA's certificate in ca_bundle, the certificate checks out against host_header.
    wd.config(&config(50, true));
    wd.apply(&[]);
    assert_eq!(fixture::weights(&zone_id, &name), [("blue".to_string(), 50), ("green".to_string(), 50)]);
    let requests = server.requests();
    assert!(!requests.is_empty() && requests.iter().all(|r| r.contains(&format!("Host: {public}"))), "{requests:?}");
}
