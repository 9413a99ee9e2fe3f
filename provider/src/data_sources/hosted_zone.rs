//! `bluegreen_hosted_zone`: a Route 53 hosted zone, by id or by name.

use async_trait::async_trait;
use bluegreen_core::dns::{check_name, display_name};
use bluegreen_core::legacy::{self, ZoneQuery};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{exactly_one_of, patterns};
use crate::data_source::DataSourceImpl;
use crate::diag::{attr_path, Diagnostics};
use crate::errors::report;
use crate::resource::Ctx;
use crate::typed::Val;

/// Looks up a Route 53 hosted zone — typically the one holding the legacy record you are about to cut over.
/// Select it by `zone_id` or by `name` (with `private_zone` for private zones).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema)]
pub struct HostedZoneModel {
    /// The zone's id, e.g. `Z0123456789ABCDEFGHIJ` (a `/hostedzone/` prefix is accepted). Set this or `name`; reported either way.
    #[serde(default)]
    #[schemars(regex(pattern = patterns::ZONE_ID), extend("x-computed" = true, "x-pattern-hint" = "be a hosted zone id such as \"Z0123456789ABCDEFGHIJ\""))]
    pub zone_id: Val<String>,
    /// The zone's domain name, e.g. `example.com` (case and trailing dot do not matter). Set this or `zone_id`; when selecting by `zone_id` it is reported without the trailing dot.
    #[serde(default)]
    #[schemars(extend("x-computed" = true))]
    pub name: Val<String>,
    /// With `name`: whether to look for a private zone rather than a public one. Defaults to `false`.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    pub private_zone: Val<bool>,
    /// Number of record sets in the zone, as Route 53 counts them.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub record_count: Val<i64>,
    /// Same as `zone_id`.
    #[serde(default)]
    #[schemars(extend("readOnly" = true))]
    pub id: Val<String>,
}

pub struct HostedZoneDataSource;

#[async_trait]
impl DataSourceImpl for HostedZoneDataSource {
    type Model = HostedZoneModel;
    const TYPE_NAME: &'static str = "bluegreen_hosted_zone";

    fn validate(m: &HostedZoneModel, diags: &mut Diagnostics) {
        exactly_one_of(diags, "hosted zone", &[("zone_id", m.zone_id.is_set()), ("name", m.name.is_set())]);
        if let Some(Err(e)) = m.name.known().map(|n| check_name(n)) {
            diags.error_at(attr_path(&["name"]), "Invalid name", format!("{e}."));
        }
        if m.zone_id.is_set() && m.private_zone.is_set() {
            diags.warning_at(
                attr_path(&["private_zone"]),
                "private_zone is ignored",
                "private_zone only applies when selecting the zone by name.",
            );
        }
    }

    async fn read(ctx: &Ctx, mut m: HostedZoneModel) -> Result<HostedZoneModel, Diagnostics> {
        let (query, path) = match (m.zone_id.known(), m.name.known()) {
            (Some(id), _) => (ZoneQuery::Id(id.clone()), "zone_id"),
            (None, Some(name)) => {
                (ZoneQuery::Name { name: name.clone(), private: m.private_zone.known().copied().unwrap_or(false) }, "name")
            }
            _ => unreachable!("validated: exactly one selector is set"),
        };
        let zone = legacy::hosted_zone(ctx.clients.route53.as_ref(), &query).await.map_err(|e| {
            let mut d = Diagnostics::new();
            report(&mut d, &e, Some(attr_path(&[path])), "Reading hosted zone");
            d
        })?;
        m.zone_id.fill(zone.id.clone());
        m.id = Val::Known(zone.id);
        m.name.fill(display_name(&zone.name));
        m.record_count = Val::Known(zone.record_count);
        Ok(m)
    }
}
