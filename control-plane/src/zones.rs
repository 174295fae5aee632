//! A location's time zone for business days: `UTC`, a fixed offset (`+01:00`), or an IANA name
//! read from the system zone database (`/usr/share/zoneinfo`, or `$ZONEINFO`).

use crate::reconcile::{parse_fixed_zone, TzifZone, ZoneOffset};
use std::path::PathBuf;

/// Why a zone name could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ZoneError {
    /// Not a fixed offset and not a safe IANA name.
    #[error("time zone {0:?} is not UTC, a fixed offset like +01:00, or a name like Africa/Lagos")]
    BadName(String),
    /// A well-formed name the zone database does not have.
    #[error("time zone {0:?} is not in the zone database")]
    Unknown(String),
}

impl ZoneError {
    /// The refusal as a message of the locales (its English is this error's `Display`).
    pub fn refusal(&self) -> crate::refusal::Refusal {
        use crate::refusal::Refusal;
        match self {
            ZoneError::BadName(name) => Refusal::new("err-zone-bad-name").arg("name", name),
            ZoneError::Unknown(name) => Refusal::new("err-zone-unknown").arg("name", name),
        }
    }
}

/// The zone a location's `timezone` names.
pub fn load_zone(name: &str) -> Result<Box<dyn ZoneOffset + Send + Sync>, ZoneError> {
    if name.trim().is_empty() {
        return Err(ZoneError::BadName(name.to_string()));
    }
    if let Ok(fixed) = parse_fixed_zone(name) {
        return Ok(Box::new(fixed));
    }
    // Only `Area/City`-like names: nothing that could walk out of the zone directory.
    let safe = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !safe {
        return Err(ZoneError::BadName(name.to_string()));
    }
    let dir = std::env::var_os("ZONEINFO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/zoneinfo"));
    let bytes = std::fs::read(dir.join(name)).map_err(|_| ZoneError::Unknown(name.to_string()))?;
    let zone = TzifZone::named(name, &bytes).map_err(|_| ZoneError::Unknown(name.to_string()))?;
    Ok(Box::new(zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_names_and_unsafe_names() {
        assert_eq!(load_zone("UTC").unwrap().offset_at(0).whole_hours(), 0);
        assert_eq!(load_zone("+01:00").unwrap().offset_at(0).whole_hours(), 1);
        for bad in ["../etc/passwd", "/etc/passwd", "Africa/../x", "a b", ""] {
            assert!(
                matches!(load_zone(bad), Err(ZoneError::BadName(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            load_zone("Nowhere/Atlantis"),
            Err(ZoneError::Unknown(_))
        ));
    }

    #[test]
    fn iana_names_from_the_zone_database() {
        if !std::path::Path::new("/usr/share/zoneinfo/Africa/Lagos").exists() {
            return; // no zone database on this machine
        }
        let lagos = load_zone("Africa/Lagos").unwrap();
        assert_eq!(lagos.offset_at(1_700_000_000).whole_hours(), 1);
    }
}
