//! System menus (`/system/resource`, `/system/identity`, `/system/clock`) and hotspot cookies.

use std::time::Duration;

use super::{dur, num, opt, req};
use crate::client::Client;
use crate::error::Error;

/// `/system/resource` figures.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SystemResource {
    /// Time since boot.
    pub uptime: Duration,
    /// e.g. `7.15.3 (stable)`.
    pub version: String,
    /// e.g. `hAP ax^3`.
    pub board_name: String,
    /// e.g. `arm64`.
    pub architecture_name: String,
    /// CPU load in percent.
    pub cpu_load: u8,
    /// Free RAM in bytes.
    pub free_memory: u64,
    /// Total RAM in bytes.
    pub total_memory: u64,
}

/// A `/ip/hotspot/cookie` entry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HotspotCookie {
    /// `.id`.
    pub id: String,
    /// Hotspot user the cookie logs in.
    pub user: String,
    /// Customer MAC address.
    pub mac_address: Option<String>,
    /// Remaining lifetime.
    pub expires_in: Option<Duration>,
}

/// `/system/clock` reading, as the router reports it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SystemClock {
    /// `HH:MM:SS`.
    pub time: String,
    /// `2024-05-17` or `may/17/2024`.
    pub date: String,
    /// e.g. `Europe/Berlin`.
    pub time_zone_name: Option<String>,
}

impl Client {
    /// `/system/resource/print`.
    pub async fn system_resource(&self) -> Result<SystemResource, Error> {
        let reply = self.command(&["/system/resource/print"]).await?;
        let row = reply
            .rows
            .first()
            .ok_or_else(|| Error::Protocol("system resource returned no row".into()))?;
        Ok(SystemResource {
            uptime: dur(row, "uptime")?.unwrap_or_default(),
            version: opt(row, "version").unwrap_or_default(),
            board_name: opt(row, "board-name").unwrap_or_default(),
            architecture_name: opt(row, "architecture-name").unwrap_or_default(),
            cpu_load: row
                .get("cpu-load")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            free_memory: num(row, "free-memory")?.unwrap_or(0),
            total_memory: num(row, "total-memory")?.unwrap_or(0),
        })
    }

    /// `/system/identity` name.
    pub async fn identity(&self) -> Result<String, Error> {
        let reply = self.command(&["/system/identity/print"]).await?;
        reply
            .rows
            .first()
            .and_then(|r| r.get("name").cloned())
            .ok_or_else(|| Error::Protocol("identity returned no name".into()))
    }

    /// `/system/clock` reading.
    pub async fn clock(&self) -> Result<SystemClock, Error> {
        let reply = self.command(&["/system/clock/print"]).await?;
        let row = reply
            .rows
            .first()
            .ok_or_else(|| Error::Protocol("clock returned no row".into()))?;
        Ok(SystemClock {
            time: opt(row, "time").unwrap_or_default(),
            date: opt(row, "date").unwrap_or_default(),
            time_zone_name: opt(row, "time-zone-name"),
        })
    }

    /// All hotspot cookies.
    pub async fn hotspot_cookies(&self) -> Result<Vec<HotspotCookie>, Error> {
        let reply = self.command(&["/ip/hotspot/cookie/print"]).await?;
        reply
            .rows
            .iter()
            .map(|row| {
                Ok(HotspotCookie {
                    id: req(row, ".id")?,
                    user: req(row, "user")?,
                    mac_address: opt(row, "mac-address"),
                    expires_in: dur(row, "expires-in")?,
                })
            })
            .collect()
    }

    /// Removes a cookie (the customer must log in again).
    pub async fn remove_hotspot_cookie(&self, id: &str) -> Result<(), Error> {
        self.command(&["/ip/hotspot/cookie/remove", &format!("=.id={id}")])
            .await?;
        Ok(())
    }
}
