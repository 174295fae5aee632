//! Agent releases in the console: the stored releases with how many routers run each
//! and which lag behind, each rollout's commands and their outcome, an upload form and a rollout
//! form confirmed twice (a button showing the routers it reaches, then the version typed).
//! Upload and rollout call what the JSON API calls (`releases::store_release`,
//! `releases::start_rollout`), which check and audit.
//!
//! These routes are part of `releases::router`: the upload needs the releases' body limit and
//! folder.

use crate::app::{AppError, AppResult, AppState};
use crate::auth::{AdminOnly, Auth, CurrentUser};
use crate::refusal::Refusal;
use crate::releases::{self, ReleaseInfo, ReleasesDir, Rollout};
use crate::store::{CommandRecord, RouterStatus};
use crate::web::render;
use crate::web::utc_minute;
use crate::web::Page;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Form, Router};
use mtm_common::release::is_newer;
use mtm_common::CommandKind;
use serde::{Deserialize, Serialize};
use std::path::Path as FsPath;
use uuid::Uuid;

/// How many update commands the page reads back (newest first).
const COMMANDS_SHOWN: u32 = 1000;

/// Release page routes (layers come from `releases::router`).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/releases", get(page).post(upload))
        .route(
            "/admin/releases/{id}/rollout",
            get(confirm_page).post(rollout),
        )
}

/// Where a router stands against one release.
fn standing(release: &str, running: Option<&str>) -> &'static str {
    match running.map(|v| (is_newer(release, v), is_newer(v, release))) {
        None => "unknown",
        Some((Ok(false), Ok(false))) => "current",
        Some((Ok(true), _)) => "older",
        Some((_, Ok(true))) => "newer",
        Some(_) => "unknown",
    }
}

/// A router not yet on a release's version.
#[derive(Debug, Serialize)]
struct Straggler<'a> {
    name: &'a str,
    agent_id: &'a str,
    version: Option<&'a str>,
    online: bool,
}

/// An update command that carries a release, and how it went.
#[derive(Debug, Serialize)]
struct RolloutCommand<'a> {
    agent_id: &'a str,
    router: String,
    state: &'a str,
    attempts: u32,
    result: Option<&'a str>,
    issued: String,
    closed: Option<String>,
}

/// One release as the page lists it: how many routers run it, which do not, its commands.
#[derive(Debug, Serialize)]
struct ReleaseRow<'a> {
    release: &'a ReleaseInfo,
    sha_short: &'a str,
    uploaded: String,
    current: usize,
    older: usize,
    unknown: usize,
    stragglers: Vec<Straggler<'a>>,
    commands: Vec<RolloutCommand<'a>>,
}

/// The releases page: every release, the router count, and the release key's state.
#[derive(Debug, Serialize)]
struct ReleasesView<'a> {
    releases: Vec<ReleaseRow<'a>>,
    routers: usize,
    error: Option<String>,
    notice: Option<String>,
    key_checked: bool,
    key_error: Option<String>,
}

/// The rollout about to be confirmed: the release and the agents it goes to.
#[derive(Debug, Serialize)]
struct PendingRollout<'a> {
    release: ReleaseInfo,
    agents: Vec<String>,
    percent: &'a str,
    agent_ids: &'a str,
}

/// The releases page asking to confirm a rollout.
#[derive(Debug, Serialize)]
struct ConfirmView<'a> {
    confirm: PendingRollout<'a>,
    error: Option<String>,
}

/// One release as the page shows it: counts by version, stragglers, rollout commands.
fn release_row<'a>(
    r: &'a ReleaseInfo,
    routers: &'a [RouterStatus],
    commands: &'a [CommandRecord],
) -> ReleaseRow<'a> {
    let count = |s: &str| {
        routers
            .iter()
            .filter(|x| standing(&r.version, x.router.agent_version.as_deref()) == s)
            .count()
    };
    let stragglers = routers
        .iter()
        .filter(|x| {
            matches!(
                standing(&r.version, x.router.agent_version.as_deref()),
                "older" | "unknown"
            )
        })
        .map(|x| Straggler {
            name: &x.router.name,
            agent_id: &x.router.agent_id,
            version: x.router.agent_version.as_deref(),
            online: x.router.online,
        })
        .collect();
    let path = releases::download_path(r.id);
    let name_of = |agent: &str| {
        routers
            .iter()
            .find(|x| x.router.agent_id == agent)
            .map(|x| x.router.name.clone())
            .unwrap_or_default()
    };
    let commands = commands
        .iter()
        .filter(|c| matches!(&c.command.kind, CommandKind::UpdateAgent(u) if u.url_path == path))
        .map(|c| RolloutCommand {
            agent_id: &c.command.agent_id,
            router: name_of(&c.command.agent_id),
            state: &c.command.state,
            attempts: c.command.attempts,
            result: c.result.as_deref(),
            issued: utc_minute(c.command.issued_at),
            closed: c.closed_at.map(utc_minute),
        })
        .collect();
    ReleaseRow {
        release: r,
        sha_short: r.sha256_hex.get(..12).unwrap_or(&r.sha256_hex),
        uploaded: utc_minute(r.created_at),
        current: count("current"),
        older: count("older"),
        unknown: count("unknown"),
        stragglers,
        commands,
    }
}

/// The page, with an error on top when a form was refused.
async fn page_with(
    state: &AppState,
    cur: &CurrentUser,
    dir: &FsPath,
    error: Option<String>,
    notice: Option<String>,
) -> AppResult<Response> {
    let list = releases::list(dir)?;
    let routers = state.store.list_routers().await?;
    let commands = state
        .store
        .commands_of_kind("update_agent", COMMANDS_SHOWN)
        .await?;
    // A broken key file shows as a warning here; uploads report it as their error.
    let key = releases::release_key(dir);
    let view = ReleasesView {
        releases: list
            .iter()
            .map(|r| release_row(r, &routers, &commands))
            .collect(),
        routers: routers.len(),
        error,
        notice,
        key_checked: matches!(key, Ok(Some(_))),
        key_error: key
            .err()
            .map(|e| e.page_message().unwrap_or_else(|e| e.to_string())),
    };
    Ok(render("admin_releases.html", &Page::of(cur), view)?.into_response())
}

/// `?uploaded=ID` or `?rolled_out=ID` after a form: a line saying what was done.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    /// A release just uploaded.
    pub uploaded: Option<Uuid>,
    /// A release just rolled out.
    pub rolled_out: Option<Uuid>,
}

async fn page(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Query(done): Query<Done>,
) -> AppResult<Response> {
    let version = |id: Uuid| releases::load(&dir, id).ok().map(|r| r.version);
    let said = |key: &str, v: String| {
        crate::i18n::tr_args(crate::web::lang_for(&cur), key, &[("version", v.into())])
    };
    let notice = match (done.uploaded, done.rolled_out) {
        (Some(id), _) => version(id).map(|v| said("rl-uploaded", v)),
        (None, Some(id)) => version(id).map(|v| said("rl-rolling-out", v)),
        (None, None) => None,
    };
    page_with(&state, &cur, &dir, None, notice).await
}

/// The upload form's fields, read from the multipart body.
#[derive(Debug, Default)]
struct UploadForm {
    version: String,
    target: String,
    signature_hex: String,
    binary: Vec<u8>,
}

async fn read_upload(mut m: Multipart) -> AppResult<UploadForm> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::Refused(Refusal::new("err-upload-unreadable").arg("reason", e.body_text()))
    };
    let mut f = UploadForm::default();
    while let Some(field) = m.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "binary" => f.binary = field.bytes().await.map_err(bad)?.to_vec(),
            "version" => f.version = field.text().await.map_err(bad)?,
            "target" => f.target = field.text().await.map_err(bad)?,
            "signature_hex" => f.signature_hex = field.text().await.map_err(bad)?,
            _ => {}
        }
    }
    if f.binary.is_empty() {
        return Err(AppError::Refused(Refusal::new("err-upload-choose-binary")));
    }
    Ok(f)
}

// The form is sent by htmx (which adds the CSRF header a multipart body cannot carry to the
// session layer); success sends the browser to the fresh page, an error is swapped in.
async fn upload(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    headers: HeaderMap,
    m: Multipart,
) -> AppResult<Response> {
    let stored = match read_upload(m).await {
        Ok(f) => {
            releases::store_release(
                &state,
                &dir,
                &cur,
                &f.version,
                &f.target,
                &f.signature_hex,
                &f.binary,
            )
            .await
        }
        Err(e) => Err(e),
    };
    let info = match stored {
        Ok(info) => info,
        Err(e) => {
            let m = e.page_message()?;
            return page_with(&state, &cur, &dir, Some(m), None).await;
        }
    };
    // The query makes it a new page: a change of fragment alone would not load it.
    let to = format!("/admin/releases?uploaded={0}#release-{0}", info.id);
    if headers.contains_key("hx-request") {
        return Ok(([("hx-redirect", to)], "").into_response());
    }
    Ok(Redirect::to(&to).into_response())
}

/// The rollout form: a percentage or agent ids, and on the confirmation the typed version.
#[derive(Debug, Deserialize, Default)]
pub struct RolloutForm {
    /// Percent of routers, 1-100; empty when agent ids are given.
    #[serde(default)]
    pub percent: String,
    /// Agent ids separated by commas or spaces; empty for a percentage.
    #[serde(default)]
    pub agent_ids: String,
    /// Must equal the release's version.
    #[serde(default)]
    pub confirm: String,
}

impl RolloutForm {
    fn rollout(&self) -> AppResult<Rollout> {
        let ids: Vec<String> = self
            .agent_ids
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let percent = self.percent.trim();
        match (percent.is_empty(), ids.is_empty()) {
            (true, false) => Ok(Rollout {
                percent: None,
                agent_ids: Some(ids),
            }),
            (false, true) => match percent.parse::<u8>() {
                Ok(p) if (1..=100).contains(&p) => Ok(Rollout {
                    percent: Some(p),
                    agent_ids: None,
                }),
                _ => Err(AppError::Refused(Refusal::new("err-rollout-percent"))),
            },
            _ => Err(AppError::Refused(Refusal::new("err-rollout-either"))),
        }
    }
}

/// The confirmation: what the rollout reaches, then the version typed.
async fn confirm_with(
    state: &AppState,
    cur: &CurrentUser,
    dir: &FsPath,
    id: Uuid,
    f: &RolloutForm,
    error: Option<String>,
) -> AppResult<Response> {
    let info = releases::load(dir, id)?;
    let chosen = match f.rollout() {
        Ok(r) => releases::rollout_agents(state, id, &r).await,
        Err(e) => Err(e),
    };
    let agents = match chosen {
        Ok(a) => a,
        Err(e) => return page_with(state, cur, dir, Some(e.page_message()?), None).await,
    };
    let view = ConfirmView {
        confirm: PendingRollout {
            release: info,
            agents,
            percent: f.percent.trim(),
            agent_ids: f.agent_ids.trim(),
        },
        error,
    };
    Ok(render("admin_releases.html", &Page::of(cur), view)?.into_response())
}

async fn confirm_page(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Query(f): Query<RolloutForm>,
) -> AppResult<Response> {
    confirm_with(&state, &cur, &dir, id, &f, None).await
}

async fn rollout(
    State(state): State<AppState>,
    Extension(ReleasesDir(dir)): Extension<ReleasesDir>,
    Auth(cur, _): Auth<AdminOnly>,
    Path(id): Path<Uuid>,
    Form(f): Form<RolloutForm>,
) -> AppResult<Response> {
    let info = releases::load(&dir, id)?;
    if f.confirm.trim() != info.version {
        let m = crate::i18n::tr(crate::web::lang_for(&cur), "rl-version-mismatch");
        return confirm_with(&state, &cur, &dir, id, &f, Some(m)).await;
    }
    let done = match f.rollout() {
        Ok(r) => releases::start_rollout(&state, &dir, &cur, id, &r).await,
        Err(e) => Err(e),
    };
    if let Err(e) = done {
        return page_with(&state, &cur, &dir, Some(e.page_message()?), None).await;
    }
    let to = format!("/admin/releases?rolled_out={id}#release-{id}");
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_compares_versions() {
        assert_eq!(standing("1.2.0", Some("1.2.0")), "current");
        assert_eq!(standing("1.2.0", Some("1.1.9")), "older");
        assert_eq!(standing("1.2.0", Some("1.10.0")), "newer");
        assert_eq!(standing("1.2.0", None), "unknown");
        assert_eq!(standing("1.2.0", Some("dev")), "unknown");
    }

    #[test]
    fn rollout_form_takes_a_percentage_or_a_list() {
        let f = |percent: &str, agent_ids: &str| RolloutForm {
            percent: percent.into(),
            agent_ids: agent_ids.into(),
            confirm: String::new(),
        };
        assert_eq!(f("25", "").rollout().unwrap().percent, Some(25));
        let ids = f(" ", "a-1, a-2\nb").rollout().unwrap().agent_ids.unwrap();
        assert_eq!(ids, ["a-1", "a-2", "b"]);
        for (p, a) in [("0", ""), ("101", ""), ("x", ""), ("", ""), ("5", "a-1")] {
            assert!(f(p, a).rollout().is_err(), "{p:?} {a:?}");
        }
    }
}
