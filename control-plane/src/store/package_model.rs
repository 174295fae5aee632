//! Editing a package (the admin page and its store call).

use crate::bounds;
use crate::refusal::Refusal;
use serde::{Deserialize, Serialize};

/// New values for a package's editable fields. The slug (the router profile's name) and the
/// currency (of every revenue record) stay as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageChange {
    /// Display name.
    pub name: String,
    /// Price in minor units, for tokens issued from now on.
    pub price_minor: i64,
    /// Uptime limit, seconds.
    pub limit_uptime_s: Option<u64>,
    /// Data limit, bytes.
    pub limit_bytes_total: Option<u64>,
    /// RouterOS rate limit, e.g. `2M/5M`.
    pub rate_limit: Option<String>,
    /// Simultaneous logins allowed (at least 1).
    pub shared_users: u32,
    /// Valid this long after first login.
    pub validity_s: Option<u64>,
    /// On sale (`false`: retired).
    pub active: bool,
    /// Bind each voucher sold from now on to the first device that logs in with it (vouchers
    /// already sold keep what they were sold with). Omitted: `false`.
    #[serde(default)]
    pub lock_to_mac: bool,
}

impl PackageChange {
    /// Reject values no package can have, with a refusal a page shows in its reader's language.
    pub fn validate(&self) -> Result<(), Refusal> {
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err(Refusal::new("err-package-name").arg("max", 100));
        }
        bounds::money("col-price", self.price_minor)?;
        if self.shared_users == 0 || self.shared_users > bounds::MAX_SHARED_USERS {
            return Err(Refusal::new("err-shared-users-range")
                .arg("max", bounds::MAX_SHARED_USERS)
                .in_field("pk-shared-users"));
        }
        if let Some(v) = self.limit_uptime_s {
            bounds::duration_s("pk-time-limit", v)?;
        }
        if let Some(v) = self.validity_s {
            bounds::duration_s("pk-valid-for", v)?;
        }
        if let Some(v) = self.limit_bytes_total {
            bounds::bytes("pk-data-limit", v)?;
        }
        if self.rate_limit.as_ref().is_some_and(|r| r.len() > 64) {
            return Err(Refusal::new("err-text-too-long")
                .arg("max", 64)
                .in_field("pk-rate-limit"));
        }
        Ok(())
    }
}
