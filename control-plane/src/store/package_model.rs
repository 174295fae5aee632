//! Editing a package (the admin page and its store call).

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
    /// Reject values no package can have.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err("a package needs a name (up to 100 characters)".into());
        }
        crate::bounds::money("the price", self.price_minor)?;
        if self.shared_users == 0 || self.shared_users > crate::bounds::MAX_SHARED_USERS {
            return Err(format!(
                "shared users must be from 1 to {}",
                crate::bounds::MAX_SHARED_USERS
            ));
        }
        if let Some(v) = self.limit_uptime_s {
            crate::bounds::duration_s("the uptime limit", v)?;
        }
        if let Some(v) = self.validity_s {
            crate::bounds::duration_s("the validity", v)?;
        }
        if let Some(v) = self.limit_bytes_total {
            crate::bounds::bytes("the data limit", v)?;
        }
        if self.rate_limit.as_ref().is_some_and(|r| r.len() > 64) {
            return Err("the rate limit is too long".into());
        }
        Ok(())
    }
}
