//! Data sources: the legacy stack is referenced, never managed.

pub mod hosted_zone;
pub mod listener;
pub mod load_balancer;
pub mod record;
pub mod records;
pub mod target_group;

use std::sync::Arc;

use crate::data_source::{Adapter, DataSource};
use crate::diag::{attr_path, Diagnostics};

pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![
        Arc::new(Adapter::<hosted_zone::HostedZoneDataSource>::new()),
        Arc::new(Adapter::<load_balancer::LoadBalancerDataSource>::new()),
        Arc::new(Adapter::<listener::ListenerDataSource>::new()),
        Arc::new(Adapter::<target_group::TargetGroupDataSource>::new()),
        Arc::new(Adapter::<record::RecordDataSource>::new()),
        Arc::new(Adapter::<records::RecordsDataSource>::new()),
    ]
}

/// Selector attributes of which exactly one must be set. `set` holds each
/// name with whether it is set (known or not).
pub(crate) fn exactly_one_of(diags: &mut Diagnostics, what: &str, set: &[(&str, bool)]) {
    let names: Vec<String> = set.iter().map(|(n, _)| format!("`{n}`")).collect();
    let chosen: Vec<&str> = set.iter().filter(|(_, s)| *s).map(|(n, _)| *n).collect();
    match chosen.as_slice() {
        [_] => {}
        [] => diags.error_at(
            attr_path(&[set[0].0]),
            format!("No {what} selected"),
            format!("Set exactly one of {} to say which {what} to read.", names.join(" or ")),
        ),
        [_, second, ..] => diags.error_at(
            attr_path(&[second]),
            format!("Conflicting {what} selectors"),
            format!(
                "Set exactly one of {}, not {}.",
                names.join(" or "),
                chosen.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(" and ")
            ),
        ),
    }
}

/// Regular expressions for AWS identifiers, shared by the models' schemas.
pub(crate) mod patterns {
    pub const LB_ARN: &str =
        "^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/(app|net|gwy)/[A-Za-z0-9-]{1,32}/[0-9a-f]+$";
    pub const LISTENER_ARN: &str =
        "^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:listener/(app|net|gwy)/[A-Za-z0-9-]{1,32}/[0-9a-f]+/[0-9a-f]+$";
    pub const TG_ARN: &str = "^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]+$";
    pub const ELB_NAME: &str = "^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$";
    pub const ZONE_ID: &str = "^(/hostedzone/)?[A-Z0-9]{1,32}$";
}
