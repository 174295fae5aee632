//! The version this binary is and reports (in `Hello`, the enrollment request and the HTTP
//! `User-Agent`).

/// The version compiled into this binary: `MTM_AGENT_VERSION` at build time (release builds
/// are stamped with the version they are signed as), else the crate version. It is what the
/// agent reports, so a release signed as one version but built as another fails its trial
/// (the restarted binary is neither the old nor the new version) and is rolled back.
pub const VERSION: &str = match option_env!("MTM_AGENT_VERSION") {
    Some(v) => v,
    None => env!("CARGO_PKG_VERSION"),
};

/// The version this agent runs and reports: the one compiled in ([`VERSION`]).
pub fn running_version() -> &'static str {
    VERSION
}
