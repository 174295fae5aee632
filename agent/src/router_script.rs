//! `mtm-agent router-script`: the RouterOS scripts of `firmware-config/` filled in for one site.
//!
//! Every placeholder sits inside a double-quoted RouterOS string (the firmware-config check makes
//! sure of that), so a value is safe once `\`, `"` and `$` are escaped and control characters are
//! refused: it can never end the string or start a variable. Comment lines are copied as they
//! are, so a password never lands in a comment.

use std::net::Ipv4Addr;

/// The scripts, in the order a technician runs them.
pub const API_USER: &str = include_str!("../../firmware-config/api-user.rsc");
/// See [`API_USER`].
pub const API_SERVICE: &str = include_str!("../../firmware-config/api-service.rsc");
/// See [`API_USER`].
pub const HOTSPOT_PROFILES: &str = include_str!("../../firmware-config/hotspot-profiles.rsc");
/// Container set-up for RouterOS 7.4-7.19.
pub const CONTAINER: &str = include_str!("../../firmware-config/container.rsc");
/// Container set-up for RouterOS 7.20 and later.
pub const CONTAINER_7_20: &str = include_str!("../../firmware-config/container-7.20.rsc");

/// Which container syntax to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterOs {
    /// 7.4 to 7.19.
    V7_19,
    /// 7.20 and later.
    V7_20,
}

impl std::str::FromStr for RouterOs {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "7.19" | "7.4-7.19" | "7.19-" => Ok(RouterOs::V7_19),
            "7.20" | "7.20+" => Ok(RouterOs::V7_20),
            other => {
                let minor = other
                    .strip_prefix("7.")
                    .and_then(|m| m.split('.').next())
                    .and_then(|m| m.parse::<u32>().ok());
                match minor {
                    Some(m) if (4..20).contains(&m) => Ok(RouterOs::V7_19),
                    Some(m) if m >= 20 => Ok(RouterOs::V7_20),
                    _ => Err(format!(
                        "RouterOS {other:?}: give 7.19 (7.4-7.19) or 7.20 (7.20 and later)"
                    )),
                }
            }
        }
    }
}

/// Values for one site.
#[derive(Clone)]
pub struct SiteValues {
    /// Site name (only in the header comment).
    pub site: String,
    /// IPv4 address the agent connects from.
    pub agent_address: String,
    /// The agent's RouterOS account and group.
    pub api_user: String,
    /// Its password.
    pub api_password: String,
    /// Rate limit of the baseline profiles.
    pub rate_limit: String,
    /// Container scripts too.
    pub container: bool,
    /// Container syntax.
    pub routeros: RouterOs,
    /// Router storage for the container.
    pub disk: String,
    /// Registry of the agent image.
    pub registry_url: String,
    /// Agent image and tag.
    pub image: String,
    /// The control plane's URL (container enrollment).
    pub server_url: String,
    /// One-time enrollment code (container enrollment).
    pub enroll_code: String,
}

impl std::fmt::Debug for SiteValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteValues")
            .field("site", &self.site)
            .field("agent_address", &self.agent_address)
            .field("api_user", &self.api_user)
            .field("api_password", &"<redacted>")
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

/// Why the scripts cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScriptError(pub String);

/// A random API password: 24 characters of letters and digits (no quoting needed anywhere).
pub fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// Escape a value for the inside of a RouterOS double-quoted string.
pub fn quote_value(name: &str, v: &str) -> Result<String, ScriptError> {
    if v.chars().any(char::is_control) {
        return Err(ScriptError(format!(
            "{name} must not contain control characters"
        )));
    }
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        if matches!(c, '\\' | '"' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

impl SiteValues {
    fn check(&self) -> Result<(), ScriptError> {
        let bad = |m: String| Err(ScriptError(m));
        if self.agent_address.parse::<Ipv4Addr>().is_err() {
            return bad(format!(
                "--agent-address {:?} must be an IPv4 address",
                self.agent_address
            ));
        }
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !name_ok(&self.api_user) {
            return bad("--api-user must be 1-64 letters, digits, '-' or '_'".into());
        }
        if self.api_password.len() < 12 {
            return bad("--api-password must be at least 12 characters".into());
        }
        if self.container {
            if self.server_url.is_empty() || self.enroll_code.is_empty() {
                return bad(
                    "--container needs --server and --code (the agent enrolls at its first start)"
                        .into(),
                );
            }
            if self.image.is_empty() {
                return bad("--container needs --image".into());
            }
        }
        if self.site.chars().any(char::is_control) {
            return bad("--site must be one line".into());
        }
        Ok(())
    }

    fn value(&self, name: &str) -> Result<String, ScriptError> {
        let v = match name {
            "agent_address" => &self.agent_address,
            "api_user" => &self.api_user,
            "api_password" => &self.api_password,
            "rate_limit" => &self.rate_limit,
            "disk" => &self.disk,
            "registry_url" => &self.registry_url,
            "image" => &self.image,
            "server_url" => &self.server_url,
            "enroll_code" => &self.enroll_code,
            other => return Err(ScriptError(format!("unknown placeholder {{{{{other}}}}}"))),
        };
        quote_value(name, v)
    }
}

/// Fill every `{{name}}` of the command lines of `script`.
pub fn fill(script: &str, v: &SiteValues) -> Result<String, ScriptError> {
    let mut out = String::with_capacity(script.len() + 256);
    for line in script.lines() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| ScriptError(format!("unclosed placeholder in {line:?}")))?;
            out.push_str(&rest[..start]);
            out.push_str(&v.value(rest[start + 2..start + end].trim())?);
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

/// Every script for the site, each under a header naming its file.
pub fn render(v: &SiteValues) -> Result<String, ScriptError> {
    v.check()?;
    let mut parts = vec![
        ("api-user.rsc", API_USER),
        ("api-service.rsc", API_SERVICE),
        ("hotspot-profiles.rsc", HOTSPOT_PROFILES),
    ];
    if v.container {
        parts.push(match v.routeros {
            RouterOs::V7_19 => ("container.rsc", CONTAINER),
            RouterOs::V7_20 => ("container-7.20.rsc", CONTAINER_7_20),
        });
    }
    let mut out = format!(
        "# mtm router scripts for site {:?}, agent at {} (made by mtm-agent {}).\n\
         # Paste each part into a RouterOS terminal, in this order; each is safe to run twice.\n\
         # The agent's [router] username is {:?}; its password is the api_password in api-user.rsc.\n",
        v.site,
        v.agent_address,
        crate::version::VERSION,
        v.api_user
    );
    for (name, text) in parts {
        out.push_str(&format!("\n# ===== {name} =====\n"));
        out.push_str(&fill(text, v)?);
    }
    Ok(out)
}
