//! The examples and docs users copy from (issue 5): every page and example
//! the issue lists exists, `examples/` is `terraform fmt` clean, every
//! example validates with the real provider, and each complete scenario
//! (`dns-cutover`, `alb-canary`, `full-migration`) is applied against
//! LocalStack as written — only its variables point at fixtures — re-plans
//! empty, and is destroyed cleanly.
//!
//! `cargo test -p bluegreen-acceptance --test examples -- --test-threads=4`
//! (add `--nocapture` to see timings).
//!
//! The helpers this file needs live in this file, so that it does not depend
//! on helpers other suites are adding to lib.rs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext;
use aws_sdk_elasticloadbalancingv2::types as elb;
use bluegreen_acceptance::{aws, block_on, fixture, test_env, unique_suffix, StatusServer, Workdir};

/// The repository root (no LocalStack needed to find it).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

// ---------------------------------------------------------------------------
// What issue 5 lists
// ---------------------------------------------------------------------------

const DATA_SOURCES: [&str; 6] = [
    "bluegreen_hosted_zone",
    "bluegreen_load_balancer",
    "bluegreen_listener",
    "bluegreen_target_group",
    "bluegreen_record",
    "bluegreen_records",
];

fn listed_files() -> Vec<String> {
    let mut files: Vec<String> = [
        "README.md",
        "docs/index.md",
        "docs/resources/switch.md",
        "docs/resources/canary_listener.md",
        "docs/guides/ec2-to-ecs-cutover.md",
        "docs/guides/rolling-back.md",
        "docs/guides/modules.md",
        "docs/guides/testing-with-localstack.md",
        "docs/guides/iam-policy.md",
        "examples/provider/provider.tf",
        "examples/quick-start/main.tf",
        "examples/resources/bluegreen_switch/resource.tf",
        "examples/resources/bluegreen_switch/import.sh",
        "examples/resources/bluegreen_canary_listener/resource.tf",
        "examples/resources/bluegreen_canary_listener/import.sh",
        "examples/dns-cutover/main.tf",
        "examples/alb-canary/main.tf",
        "examples/full-migration/main.tf",
        "examples/full-migration/modules/cutover/main.tf",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for ds in DATA_SOURCES {
        files.push(format!("docs/data-sources/{}.md", ds.trim_start_matches("bluegreen_")));
        files.push(format!("examples/data-sources/{ds}/data-source.tf"));
    }
    files
}

#[test]
fn every_listed_page_and_example_exists() {
    let missing: Vec<String> = listed_files().into_iter().filter(|f| !root().join(f).is_file()).collect();
    assert!(missing.is_empty(), "missing: {missing:#?}");
}

// ---------------------------------------------------------------------------
// fmt and validate
// ---------------------------------------------------------------------------

#[test]
fn examples_are_terraform_fmt_clean() {
    let env = test_env();
    let out = Command::new(&env.terraform)
        .args(["fmt", "-check", "-recursive", "-diff", "-no-color", "examples/"])
        .current_dir(&env.root)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform fmt");
    assert!(
        out.status.success(),
        "terraform fmt -check -recursive examples/ failed; run `.tools/bin/terraform fmt -recursive examples/`\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every directory of `examples/` holding `.tf` files, except modules (they
/// are validated through the configuration that calls them).
fn example_roots() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).expect("read examples/").flatten().map(|e| e.path()).collect();
        entries.sort();
        if entries.iter().any(|p| p.extension().is_some_and(|x| x == "tf")) {
            out.push(dir.strip_prefix(base).expect("under the root").display().to_string());
        }
        for p in entries.iter().filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "modules")) {
            walk(p, base, out);
        }
    }
    let mut out = Vec::new();
    walk(&root().join("examples"), &root(), &mut out);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())).flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        }
    }
}

/// A work directory holding a copy of `examples/<rel>` as it is (its own
/// `terraform` block replaces the harness's `versions.tf`), with local
/// modules installed.
fn example_workdir(rel: &str) -> Workdir {
    let wd = Workdir::new(&rel.replace('/', "-"));
    let src = root().join(rel);
    copy_dir(&src, wd.path());
    let own_block = std::fs::read_dir(&src)
        .expect("read the example")
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("required_providers")));
    if own_block {
        std::fs::remove_file(wd.path().join("versions.tf")).expect("remove versions.tf");
    }
    if src.join("modules").is_dir() {
        // Installs the local modules only (`init` would ask the registry about the overridden provider).
        wd.run(&["get", "-no-color"]).assert_success();
    }
    wd
}

#[test]
fn every_example_validates_with_the_real_provider() {
    let roots = example_roots();
    for must in
        ["examples/provider", "examples/resources/bluegreen_switch", "examples/resources/bluegreen_canary_listener", "examples/dns-cutover"]
    {
        assert!(roots.iter().any(|r| r == must), "{must} not found among {roots:#?}");
    }
    // Actions (examples/actions) are Terraform ≥ 1.14 syntax: older versions refuse the `action` block.
    let have = Workdir::new("version").env().terraform_version;
    let roots: Vec<String> = if have < bluegreen_acceptance::TerraformVersion::new(1, 14, 0) {
        let (newer, older): (Vec<String>, Vec<String>) = roots.into_iter().partition(|r| r.starts_with("examples/actions/"));
        println!("skipped on Terraform {have}: {newer:?} need Terraform ≥ 1.14 (actions)");
        older
    } else {
        roots
    };
    let started = Instant::now();
    // Two at a time: each validate starts the provider; the machine is shared.
    let failures: Vec<String> = roots
        .chunks(2)
        .flat_map(|pair| {
            std::thread::scope(|s| {
                let handles: Vec<_> = pair
                    .iter()
                    .map(|rel| {
                        s.spawn(move || {
                            let wd = example_workdir(rel);
                            let out = wd.validate_output();
                            (!out.success() || !out.stdout.contains("The configuration is valid")).then(|| format!("{rel}:\n{out}"))
                        })
                    })
                    .collect();
                handles.into_iter().filter_map(|h| h.join().expect("validate thread")).collect::<Vec<_>>()
            })
        })
        .collect();
    println!("validated {} examples in {:.1?}", roots.len(), started.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Complete scenarios against LocalStack
// ---------------------------------------------------------------------------

/// A target group named `name` in the VPC with two registered targets
/// (healthy at once in LocalStack): the ECS service's tasks.
fn ecs_target_group(vpc_id: &str, name: &str) -> String {
    block_on(async {
        let c = &aws().elbv2;
        let out = c
            .create_target_group()
            .name(name)
            .protocol(elb::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(vpc_id)
            .target_type(elb::TargetTypeEnum::Instance)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateTargetGroup {name}: {}", DisplayErrorContext(&e)));
        let arn = out.target_groups().first().and_then(|t| t.target_group_arn()).expect("target group arn").to_string();
        let targets = ["i-0ec5ec5ec5ec50001", "i-0ec5ec5ec5ec50002"]
            .iter()
            .map(|id| elb::TargetDescription::builder().id(*id).port(8080).build())
            .collect();
        c.register_targets()
            .target_group_arn(&arn)
            .set_targets(Some(targets))
            .send()
            .await
            .unwrap_or_else(|e| panic!("RegisterTargets {name}: {}", DisplayErrorContext(&e)));
        arn
    })
}

/// A listener rule as the tests compare it.
#[derive(Debug, Clone)]
struct RuleView {
    priority: String,
    header: Option<(String, Vec<String>)>,
    /// Target groups the forward action sends to, with their weights.
    forward: Vec<(String, i32)>,
}

fn forward_of(actions: &[elb::Action]) -> Vec<(String, i32)> {
    let mut v = Vec::new();
    for a in actions.iter().filter(|a| a.r#type() == Some(&elb::ActionTypeEnum::Forward)) {
        let tgs = a.forward_config().map(|f| f.target_groups()).unwrap_or_default();
        if tgs.is_empty() {
            v.extend(a.target_group_arn().map(|arn| (arn.to_string(), 1)));
        } else {
            v.extend(tgs.iter().map(|t| (t.target_group_arn().unwrap_or_default().to_string(), t.weight().unwrap_or(1))));
        }
    }
    v
}

/// The listener's rules other than the default one, by priority.
/// After a promoting destroy of a canary with a host `match` at 100 %: one plain rule at priority 100 forwards that
/// host to `green` (the test rule is gone), and the default action still forwards to `blue`.
#[track_caller]
fn assert_promoted_to_a_plain_rule(listener: &str, green: &str, blue: &str) {
    let left = rules(listener);
    assert_eq!(left.len(), 1, "{left:#?}");
    assert_eq!((left[0].priority.as_str(), left[0].header.is_none()), ("100", true), "{left:#?}");
    assert_eq!(left[0].forward, [(green.to_string(), 1)], "{left:#?}");
    assert_eq!(listener_default(listener), [(blue.to_string(), 1)], "the default action is untouched");
}

fn rules(listener: &str) -> Vec<RuleView> {
    let out = block_on(aws().elbv2.describe_rules().listener_arn(listener).send())
        .unwrap_or_else(|e| panic!("DescribeRules {listener}: {}", DisplayErrorContext(&e)));
    let mut v: Vec<RuleView> = out
        .rules()
        .iter()
        .filter(|r| r.priority() != Some("default"))
        .map(|r| RuleView {
            priority: r.priority().unwrap_or_default().to_string(),
            header: r
                .conditions()
                .iter()
                .find(|c| c.field() == Some("http-header"))
                .and_then(|c| c.http_header_config())
                .map(|h| (h.http_header_name().unwrap_or_default().to_string(), h.values().to_vec())),
            forward: forward_of(r.actions()),
        })
        .collect();
    v.sort_by_key(|r| r.priority.parse::<i64>().unwrap_or(i64::MAX));
    v
}

/// Where the listener's default action forwards.
fn listener_default(listener: &str) -> Vec<(String, i32)> {
    let out = block_on(aws().elbv2.describe_listeners().listener_arns(listener).send())
        .unwrap_or_else(|e| panic!("DescribeListeners {listener}: {}", DisplayErrorContext(&e)));
    forward_of(out.listeners().first().expect("the listener").default_actions())
}

/// The canary's two rules: weighted at `priority` (blue, green weights) and
/// the `X-Canary: 1` route just before it, to green only.
#[track_caller]
fn assert_canary(listener: &str, priority: i32, blue_tg: &str, green_tg: &str, traffic: i32) {
    let r = rules(listener);
    assert_eq!(r.len(), 2, "the weighted rule and the test route: {r:#?}");
    assert_eq!(r[0].priority, (priority - 1).to_string(), "{r:#?}");
    assert_eq!(r[0].header, Some(("X-Canary".to_string(), vec!["1".to_string()])), "{r:#?}");
    assert_eq!(r[0].forward, [(green_tg.to_string(), 1)], "the test route goes to green only: {r:#?}");
    assert_eq!(r[1].priority, priority.to_string(), "{r:#?}");
    assert_eq!(r[1].forward, [(blue_tg.to_string(), 100 - traffic), (green_tg.to_string(), traffic)], "{r:#?}");
}

/// The weighted pair of the switch as `(blue, green)` weights.
#[track_caller]
fn dns_weights(zone_id: &str, name: &str) -> (i64, i64) {
    let w = fixture::weights(zone_id, name);
    assert_eq!(w.len(), 2, "expected only the pair at {name}: {:#?}", fixture::record_sets(zone_id, name));
    assert_eq!((w[0].0.as_str(), w[1].0.as_str()), ("blue", "green"), "{w:?}");
    (w[0].1, w[1].1)
}

/// After destroy: one simple A alias to `dns_name`.
#[track_caller]
fn assert_collapsed_to(zone_id: &str, name: &str, dns_name: &str) {
    let sets = fixture::record_sets(zone_id, name);
    assert_eq!(sets.len(), 1, "{sets:#?}");
    assert_eq!(sets[0].set_identifier, None, "a simple record: {sets:#?}");
    assert_eq!(sets[0].alias.as_ref().map(|a| fixture::fqdn(&a.dns_name)), Some(fixture::fqdn(dns_name)), "{sets:#?}");
}

/// The HTTP gate reached green with the public name as Host.
#[track_caller]
fn assert_checked_with_host(server: &StatusServer, host: &str) {
    let reqs = server.requests();
    assert!(!reqs.is_empty(), "the http_check never ran");
    let want = format!("host: {host}").to_ascii_lowercase();
    assert!(reqs.iter().all(|r| r.to_ascii_lowercase().lines().any(|l| l.trim() == want)), "{reqs:#?}");
}

#[test]
fn dns_cutover_applies_replans_empty_and_destroys() {
    let started = Instant::now();
    let blue = fixture::legacy_stack(&unique_suffix("exd"));
    // A second stack's ALB and target group stand in for the new ECS stack.
    let green = fixture::legacy_stack(&unique_suffix("exe"));
    let server = StatusServer::start(&[], 200);
    let name = blue.alias_record_name.clone();
    let wd = example_workdir("examples/dns-cutover");
    let vars = |traffic: i64| {
        format!(
            "zone_name             = \"{}\"\nrecord_name           = \"{name}\"\nlegacy_lb_name        = \"{}\"\necs_lb_name           = \"{}\"\necs_target_group_name = \"{}\"\nhealth_check_url      = \"{}\"\nrollout_steps         = [10, 25]\nbake_time             = \"1s\"\ntraffic               = {traffic}\n",
            blue.zone_name,
            blue.lb_name,
            green.lb_name,
            green.tg_name,
            server.url("/healthz")
        )
    };

    // Adopt the simple alias and walk 10 → 25 → 50 behind both gates.
    wd.write("test.auto.tfvars", &vars(50));
    let out = wd.apply(&[]);
    out.assert_line("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    assert_eq!(dns_weights(&blue.zone_id, &name), (50, 50));
    assert_checked_with_host(&server, &name);
    assert_eq!(wd.output("active"), "split");
    wd.assert_no_changes();

    wd.write("test.auto.tfvars", &vars(100));
    wd.apply(&[]);
    assert_eq!(dns_weights(&blue.zone_id, &name), (0, 100));
    wd.assert_no_changes();

    // Collapse: one simple record for green, in one change.
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 1 destroyed.");
    assert_collapsed_to(&blue.zone_id, &name, &green.lb_dns_name);
    println!("dns-cutover: {:.1?}", started.elapsed());
}

#[test]
fn alb_canary_applies_replans_empty_and_destroys() {
    let started = Instant::now();
    let s = fixture::legacy_stack(&unique_suffix("exc"));
    let ecs_tg_name = format!("ecs-{}", s.suffix);
    let ecs_tg = ecs_target_group(&s.vpc_id, &ecs_tg_name);
    let host = s.alias_record_name.clone();
    let wd = example_workdir("examples/alb-canary");
    let vars = |traffic: i64| {
        format!(
            "legacy_lb_name        = \"{}\"\nlistener_port         = {}\nec2_target_group_name = \"{}\"\necs_target_group_name = \"{ecs_tg_name}\"\nhost                  = \"{host}\"\nbake_time             = \"1s\"\ntraffic               = {traffic}\n",
            s.lb_name, s.listener_port, s.tg_name
        )
    };

    wd.write("test.auto.tfvars", &vars(25));
    let out = wd.apply(&[]);
    out.assert_line("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    assert_canary(&s.listener_arn, 100, &s.tg_arn, &ecs_tg, 25);
    assert_eq!(wd.output("active"), "split");
    wd.assert_no_changes();

    wd.write("test.auto.tfvars", &vars(100));
    wd.apply(&[]);
    assert_canary(&s.listener_arn, 100, &s.tg_arn, &ecs_tg, 100);
    wd.assert_no_changes();

    // Promote: the canary matched one host, so its rule stays as a plain forward of that host to ECS and the test rule
    // goes; the listener's default action (other hosts) is untouched.
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 1 destroyed.");
    assert_promoted_to_a_plain_rule(&s.listener_arn, &ecs_tg, &s.tg_arn);
    println!("alb-canary: {:.1?}", started.elapsed());
}

#[test]
fn full_migration_applies_both_phases_replans_empty_and_destroys() {
    let started = Instant::now();
    let legacy = fixture::legacy_stack(&unique_suffix("exm"));
    let new = fixture::legacy_stack(&unique_suffix("exn"));
    let ecs_on_legacy_name = format!("ecs-{}", legacy.suffix);
    let ecs_on_legacy = ecs_target_group(&legacy.vpc_id, &ecs_on_legacy_name);
    let server = StatusServer::start(&[], 200);
    let name = legacy.alias_record_name.clone();
    let wd = example_workdir("examples/full-migration");
    let vars = |alb: i64, dns: i64| {
        format!(
            "zone_name                           = \"{}\"\nrecord_name                         = \"{name}\"\nlegacy_lb_name                      = \"{}\"\nlegacy_listener_port                = {}\nec2_target_group_name               = \"{}\"\necs_on_legacy_alb_target_group_name = \"{ecs_on_legacy_name}\"\necs_lb_name                         = \"{}\"\necs_target_group_name               = \"{}\"\nhealth_check_url                    = \"{}\"\nbake_time                           = \"1s\"\nalb_traffic                         = {alb}\ndns_traffic                         = {dns}\n",
            legacy.zone_name,
            legacy.lb_name,
            legacy.listener_port,
            legacy.tg_name,
            new.lb_name,
            new.tg_name,
            server.url("/healthz")
        )
    };

    // Phase 1: ECS behind the legacy ALB; the name is adopted but still all blue.
    wd.write("test.auto.tfvars", &vars(25, 0));
    let out = wd.apply(&[]);
    out.assert_line("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    assert_canary(&legacy.listener_arn, 100, &legacy.tg_arn, &ecs_on_legacy, 25);
    assert_eq!(dns_weights(&legacy.zone_id, &name), (100, 0));
    assert_eq!((wd.output("alb_active"), wd.output("dns_active")), ("split".into(), "blue".into()));
    wd.assert_no_changes();

    // Phase 2: all of the legacy ALB's share on ECS, and the name on the new ALB.
    wd.write("test.auto.tfvars", &vars(100, 100));
    wd.apply(&[]);
    assert_canary(&legacy.listener_arn, 100, &legacy.tg_arn, &ecs_on_legacy, 100);
    assert_eq!(dns_weights(&legacy.zone_id, &name), (0, 100));
    assert_checked_with_host(&server, &name);
    wd.assert_no_changes();

    // Retire: the listener forwards to ECS, the name is one record for the new ALB.
    let out = wd.destroy_output(&[]);
    out.assert_success();
    out.assert_line("Destroy complete! Resources: 2 destroyed.");
    assert_promoted_to_a_plain_rule(&legacy.listener_arn, &ecs_on_legacy, &legacy.tg_arn);
    assert_collapsed_to(&legacy.zone_id, &name, &new.lb_dns_name);
    println!("full-migration: {:.1?}", started.elapsed());
}

// ---------------------------------------------------------------------------
// Docs that run as written (issue 19)
// ---------------------------------------------------------------------------

/// The fenced blocks of `lang` in a Markdown text, in order.
fn fenced_blocks(markdown: &str, lang: &str) -> Vec<String> {
    let open = format!("```{lang}");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == open => current = Some(String::new()),
            Some(_) if line.trim_end() == "```" => blocks.push(current.take().expect("open block")),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```{lang} block");
    blocks
}

/// The runbook's configuration: its top-level blocks in order, a block declared again replacing its earlier version
/// (the guide builds one configuration up step by step); its indented snippets (parts of a resource shown in full
/// later); and every full snippet, in which each indented one must appear.
fn runbook_configuration(markdown: &str) -> (String, Vec<String>, String) {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut fragments = Vec::new();
    let mut every = String::new();
    for snippet in fenced_blocks(markdown, "terraform") {
        let first = snippet.lines().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')).unwrap_or_default();
        if first.starts_with(' ') {
            fragments.push(snippet);
            continue;
        }
        every.push_str(&snippet);
        let mut header: Option<String> = None;
        let mut body = String::new();
        for line in snippet.lines() {
            if header.is_none() && !line.starts_with([' ', '#', '}']) && line.trim_end().ends_with('{') {
                header = Some(line.trim_end().to_string());
            }
            body.push_str(line);
            body.push('\n');
            if line == "}" {
                let h = header.take().unwrap_or_else(|| panic!("a block without a header in:\n{snippet}"));
                match blocks.iter_mut().find(|(k, _)| *k == h) {
                    Some(b) => b.1 = std::mem::take(&mut body),
                    None => blocks.push((h, std::mem::take(&mut body))),
                }
            }
        }
    }
    (blocks.into_iter().map(|(_, b)| b).collect::<Vec<_>>().join("\n"), fragments, every)
}

/// The runbook declares everything it uses (issue 19: step 5 used `data.bluegreen_load_balancer.new` and
/// `data.bluegreen_target_group.ec2`, declared nowhere): its snippets, assembled, validate with the real provider.
#[test]
fn the_cutover_runbook_snippets_validate_as_written() {
    let guide = std::fs::read_to_string(root().join("docs/guides/ec2-to-ecs-cutover.md")).expect("read the runbook");
    let (config, fragments, every) = runbook_configuration(&guide);
    let flat = bluegreen_acceptance::collapse_ws(&every);
    for f in &fragments {
        assert!(flat.contains(&bluegreen_acceptance::collapse_ws(f)), "this snippet is in no block of the runbook:\n{f}");
    }
    for must in
        ["data \"bluegreen_load_balancer\" \"ecs\"", "data \"bluegreen_target_group\" \"ec2\"", "resource \"bluegreen_switch\" \"api\""]
    {
        assert!(config.contains(must), "{must} not in the assembled runbook:\n{config}");
    }
    let wd = Workdir::new("runbook-validate");
    wd.config(&config);
    let out = wd.validate_output();
    assert!(out.success() && out.stdout.contains("The configuration is valid"), "the runbook's configuration:\n{config}\n{out}");
}

/// Every `endpoints` block users copy names every service (issue 19: without `cloudwatch`, an alarm gate went to real
/// AWS), and no snippet assumes LocalStack on 4566: `make localstack-up` picks a free port.
#[test]
fn documented_endpoints_name_every_service_and_no_fixed_port() {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "md" || x == "tf") {
                out.push(p);
            }
        }
    }
    let mut all = vec![root().join("README.md")];
    files(&root().join("docs"), &mut all);
    files(&root().join("examples"), &mut all);
    let mut blocks = 0;
    for path in &all {
        let text = std::fs::read_to_string(path).expect("read");
        let rel = path.strip_prefix(root()).expect("under the root").display().to_string();
        assert!(!text.contains(":4566"), "{rel} assumes LocalStack on port 4566");
        let lines: Vec<&str> = text.lines().collect();
        for (i, _) in lines.iter().enumerate().filter(|(_, l)| l.trim() == "endpoints {") {
            let block: Vec<&str> = lines[i + 1..].iter().take_while(|l| l.trim() != "}").copied().collect();
            for service in ["route53", "elbv2", "sts", "cloudwatch"] {
                assert!(block.iter().any(|l| l.trim_start().starts_with(service)), "{rel}:{}: endpoints without {service}", i + 1);
            }
            blocks += 1;
        }
    }
    assert!(blocks >= 1, "no endpoints block found at all");
}

/// The LocalStack provider example, as written, with the URL `make localstack-up` printed: every service goes there,
/// CloudWatch included (a switch's alarm gate is checked at plan). AWS_ENDPOINT_URL points nowhere, so only the
/// example's `endpoints` can reach LocalStack.
#[test]
fn the_localstack_provider_example_reaches_localstack_for_every_service() {
    let (_, zone_id) = fixture::hosted_zone(&unique_suffix("lsx"));
    let wd = example_workdir("examples/provider/localstack");
    let wd = wd.with_endpoint("http://127.0.0.1:9");
    wd.write(
        "switch.tf",
        &format!(
            "resource \"bluegreen_switch\" \"x\" {{\n  zone_id = \"{zone_id}\"\n  name    = \"api.example.com\"\n  blue {{\n    records = [\"192.0.2.10\"]\n  }}\n  green {{\n    records = [\"192.0.2.20\"]\n  }}\n  traffic = 10\n  health_gate {{\n    cloudwatch_alarms = [\"no-such-alarm\"]\n  }}\n}}\n"
        ),
    );
    let var = format!("localstack_url={}", test_env().endpoint);
    let out = wd.plan_output(&["-var", &var]);
    out.assert_failure();
    let e = out.only_error();
    assert_eq!(e.summary, "CloudWatch alarm not found", "CloudWatch answered from LocalStack\n{out}");
}

/// `examples/every-legacy-name`: every name aliasing the legacy ALB (here `api.` and `www.`) adopted by one
/// `for_each` fed by `bluegreen_records`, moved to 20 % (one name to 50 %), an empty plan after, and back to 0 %
/// with an empty plan again. No destroy: the example's switches use the default set identifiers `blue` and `green`
/// for every name, and LocalStack deletes a set identifier across the whole zone (tools/LOCALSTACK_NOTES.md), so
/// collapsing one name there would delete the other's pair too, which AWS does not.
#[test]
fn every_legacy_name_adopts_each_name_on_the_legacy_alb() {
    let blue = fixture::legacy_stack(&unique_suffix("exn"));
    let green = fixture::legacy_stack(&unique_suffix("exo"));
    let api = blue.alias_record_name.clone();
    let www = format!("www.{}", blue.zone_name);
    fixture::simple_alias_record(&blue.zone_id, &www, &blue.lb_dns_name, &blue.lb_zone_id, false);
    let wd = example_workdir("examples/every-legacy-name");
    let vars = |default: i64, api_traffic: i64| {
        format!(
            "zone_name       = \"{}\"\nlegacy_lb_name  = \"{}\"\necs_lb_name     = \"{}\"\ndefault_traffic = {default}\ntraffic         = {{ \"{api}\" = {api_traffic} }}\nrollout_steps   = [10]\nbake_time       = \"1s\"\n",
            blue.zone_name, blue.lb_name, green.lb_name
        )
    };
    wd.write("test.auto.tfvars", &vars(20, 50));
    wd.apply(&[]).assert_line("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    assert_eq!(dns_weights(&blue.zone_id, &api), (50, 50));
    assert_eq!(dns_weights(&blue.zone_id, &www), (80, 20));
    let switched = wd.output("switched");
    assert_eq!(switched[format!("{www}/A")]["traffic"], 20, "{switched:#}");
    wd.assert_no_changes();
    wd.write("test.auto.tfvars", &vars(0, 0));
    wd.apply(&[]);
    assert_eq!(dns_weights(&blue.zone_id, &api), (100, 0));
    assert_eq!(dns_weights(&blue.zone_id, &www), (100, 0));
    wd.assert_no_changes();
}
