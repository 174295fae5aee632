//! Users, routers, packages and queued commands: the longer inserts behind the trait.

use super::rows::*;
use crate::store::*;
use sqlx::Row;

pub(super) async fn create_user(s: &super::SqlStore, user: NewUser) -> StoreResult<User> {
    let username = credentials::normalize_username(&user.username).map_err(StoreError::Refused)?;
    credentials::check_password(&user.password, &username).map_err(StoreError::Refused)?;
    let pw = user.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| StoreError::Hash(e.to_string()))??;
    let id = Uuid::new_v4();
    let now = now_ms();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    // Unique regardless of case: `Admin` cannot sit beside `admin`.
    let taken: Option<String> =
        sqlx::query_scalar("SELECT username FROM users WHERE LOWER(username) = $1")
            .bind(credentials::username_key(&username))
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(existing) = taken {
        return Err(StoreError::RefusedConflict(
            crate::refusal::Refusal::new("err-user-exists").arg("existing", existing),
        ));
    }
    sqlx::query(
        "INSERT INTO users (id, username, password_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(&username)
    .bind(&hash)
    .bind(user.role.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(|e| conflict_on_unique(e, "user"))?;
    for loc in &user.location_ids {
        sqlx::query("INSERT INTO user_locations (user_id, location_id) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(loc.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict_on_unique(e, "user location"))?;
    }
    tx.commit().await?;
    Ok(User {
        id,
        username,
        role: user.role,
        disabled: false,
        location_ids: user.location_ids,
        language: None,
        created_at: now,
    })
}

pub(super) async fn check_password(
    s: &super::SqlStore,
    username: &str,
    password: &str,
) -> StoreResult<Option<User>> {
    // Compared as stored names are made unique: normalised and regardless of case.
    let row = sqlx::query("SELECT * FROM users WHERE LOWER(username) = $1 ORDER BY created_at")
        .bind(credentials::username_key(username))
        .fetch_optional(&s.pool)
        .await?;
    let Some(row) = row else {
        // Spend the same time as a real check so timing does not reveal usernames.
        let pw = password.to_owned();
        let _ = tokio::task::spawn_blocking(move || hash_password(&pw)).await;
        return Ok(None);
    };
    let hash: String = row.try_get("password_hash")?;
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .unwrap_or(false);
    let user = s.user_from_row(&row).await?;
    Ok((ok && !user.disabled).then_some(user))
}

pub(super) async fn create_router(s: &super::SqlStore, r: NewRouter) -> StoreResult<Router> {
    if !mtm_common::topics::valid_agent_id(&r.agent_id) {
        return Err(StoreError::Refused(crate::refusal::Refusal::new(
            "err-agent-id",
        )));
    }
    // An empty key: the router waits for enrollment with a code and has no MQTT login yet.
    let pending = r.public_key_hex.trim().is_empty();
    if !pending {
        mtm_common::keys::parse_public_key(&r.public_key_hex).map_err(|e| {
            StoreError::Refused(crate::refusal::Refusal::new(match e {
                mtm_common::keys::KeyError::Format => "err-key-format",
                mtm_common::keys::KeyError::Invalid => "err-key-invalid",
            }))
        })?;
    }
    let password_hash = if pending || r.mqtt_password.is_empty() {
        String::new()
    } else {
        mqtt_password_hash(&r.mqtt_password)
    };
    let id = Uuid::new_v4();
    let now = now_ms();
    let _w = s.write.lock().await;
    sqlx::query(
        "INSERT INTO routers (id, location_id, name, agent_id, public_key_hex, mqtt_password_hash, created_at, seq_key_hex)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $5)",
    )
    .bind(id.to_string())
    .bind(r.location_id.to_string())
    .bind(&r.name)
    .bind(&r.agent_id)
    .bind(r.public_key_hex.trim().to_lowercase())
    .bind(password_hash)
    .bind(now)
    .execute(&s.pool)
    .await
    .map_err(|e| conflict_on_unique(e, "router"))?;
    drop(_w);
    s.router_by_agent(&r.agent_id)
        .await?
        .ok_or_else(|| StoreError::NotFound("router just created".into()))
}

pub(super) async fn list_routers(s: &super::SqlStore) -> StoreResult<Vec<RouterStatus>> {
    let rows = sqlx::query(
        "SELECT r.*,
           (SELECT active_sessions FROM router_health h WHERE h.router_id = r.id ORDER BY at DESC, id DESC LIMIT 1) AS h_sessions,
           (SELECT router_reachable FROM router_health h WHERE h.router_id = r.id ORDER BY at DESC, id DESC LIMIT 1) AS h_reachable,
           (SELECT MAX(at) FROM router_health h WHERE h.router_id = r.id) AS h_at,
           (SELECT MAX(at) FROM usage u WHERE u.router_id = r.id) AS last_usage_at,
           (SELECT COUNT(*) FROM agent_commands c WHERE c.router_id = r.id AND c.state IN ('pending','sent')) AS pending
         FROM routers r ORDER BY r.name",
    )
    .fetch_all(&s.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RouterStatus {
                router: router_from_row(r)?,
                active_sessions: r
                    .try_get::<Option<i64>, _>("h_sessions")?
                    .map(|v| super::rows::stored_u32("active sessions", v))
                    .transpose()?,
                router_reachable: r.try_get::<Option<i64>, _>("h_reachable")?.map(|v| v != 0),
                last_health_at: r.try_get("h_at")?,
                last_usage_at: r.try_get("last_usage_at")?,
                pending_commands: u64_col(r, "pending")?,
            })
        })
        .collect()
}

pub(super) async fn create_package(s: &super::SqlStore, p: NewPackage) -> StoreResult<Package> {
    let slug_ok = !p.slug.is_empty()
        && p.slug.len() <= 32
        && p.slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    // The same bounds as an edit (price, durations, data, shared users, name and rate limit
    // lengths); 0 shared users has always meant 1 on create.
    let as_edit = PackageChange {
        name: p.name.clone(),
        price_minor: p.price_minor,
        limit_uptime_s: p.limit_uptime_s,
        limit_bytes_total: p.limit_bytes_total,
        rate_limit: p.rate_limit.clone(),
        shared_users: p.shared_users.max(1),
        validity_s: p.validity_s,
        active: true,
        lock_to_mac: p.lock_to_mac,
    };
    as_edit.validate().map_err(StoreError::Refused)?;
    if !slug_ok || p.name.trim().is_empty() || p.price_minor < 0 || p.currency.len() != 3 {
        return Err(StoreError::Refused(crate::refusal::Refusal::new(
            "err-package-fields",
        )));
    }
    let now = now_ms();
    let pkg = Package {
        id: Uuid::new_v4(),
        slug: p.slug,
        name: p.name.trim().to_owned(),
        price_minor: p.price_minor,
        currency: p.currency.to_uppercase(),
        limit_uptime_s: p.limit_uptime_s,
        limit_bytes_total: p.limit_bytes_total,
        rate_limit: p.rate_limit,
        shared_users: p.shared_users.max(1),
        validity_s: p.validity_s,
        uses_password: p.uses_password,
        lock_to_mac: p.lock_to_mac,
        active: true,
        created_at: now,
        updated_at: now,
    };
    let _w = s.write.lock().await;
    sqlx::query(
        "INSERT INTO packages (id, slug, name, price_minor, currency, limit_uptime_s, limit_bytes_total,
           rate_limit, shared_users, validity_s, uses_password, created_at, updated_at, lock_to_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)",
    )
    .bind(pkg.id.to_string())
    .bind(&pkg.slug)
    .bind(&pkg.name)
    .bind(pkg.price_minor)
    .bind(&pkg.currency)
    .bind(pkg.limit_uptime_s.map(|v| v as i64))
    .bind(pkg.limit_bytes_total.map(|v| v as i64))
    .bind(&pkg.rate_limit)
    .bind(pkg.shared_users as i64)
    .bind(pkg.validity_s.map(|v| v as i64))
    .bind(pkg.uses_password as i64)
    .bind(pkg.created_at)
    .bind(pkg.lock_to_mac as i64)
    .execute(&s.pool)
    .await
    .map_err(|e| conflict_on_unique(e, "package"))?;
    Ok(pkg)
}

pub(super) async fn enqueue_command(
    s: &super::SqlStore,
    agent_id: &str,
    kind: mtm_common::CommandKind,
    supersede: bool,
) -> StoreResult<StoredCommand> {
    enqueue_commands(s, &[(agent_id.to_owned(), kind)], supersede)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Invalid("no command stored".into()))
}

pub(super) async fn enqueue_commands(
    s: &super::SqlStore,
    commands: &[(String, mtm_common::CommandKind)],
    supersede: bool,
) -> StoreResult<Vec<StoredCommand>> {
    let now = now_ms();
    let mut stored = Vec::with_capacity(commands.len());
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    for (agent_id, kind) in commands {
        let router_id: String = sqlx::query_scalar("SELECT id FROM routers WHERE agent_id = $1")
            .bind(agent_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("agent {agent_id}")))?;
        let cmd =
            insert_command(&mut tx, &router_id, agent_id, kind.clone(), supersede, now).await?;
        stored.push(cmd);
    }
    tx.commit().await?;
    Ok(stored)
}

/// Queue one command for an agent inside `tx`; with `supersede`, the agent's open commands of
/// the same kind are closed as superseded first (only the latest catalog or inventory matters).
pub(super) async fn insert_command(
    tx: &mut sqlx::AnyConnection,
    router_id: &str,
    agent_id: &str,
    kind: mtm_common::CommandKind,
    supersede: bool,
    now: i64,
) -> StoreResult<StoredCommand> {
    let payload = mtm_common::envelope::to_cbor(&kind)
        .map_err(|e| StoreError::Invalid(format!("encode command: {e}")))?;
    let name = command_kind_name(&kind);
    if supersede {
        sqlx::query(
            "UPDATE agent_commands SET state = 'failed', result = 'superseded', closed_at = $1
             WHERE agent_id = $2 AND kind = $3 AND state IN ('pending', 'sent')",
        )
        .bind(now)
        .bind(agent_id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO agent_commands (id, router_id, agent_id, kind, payload, state, issued_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
    )
    .bind(id.to_string())
    .bind(router_id)
    .bind(agent_id)
    .bind(name)
    .bind(payload)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(StoredCommand {
        id,
        agent_id: agent_id.to_owned(),
        issued_at: now,
        kind,
        state: "pending".into(),
        attempts: 0,
    })
}

pub(super) async fn mark_commands_sent(
    s: &super::SqlStore,
    ids: &[Uuid],
    now: i64,
) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    // Each row's update is ordered against its other writers by PostgreSQL itself; in id
    // order, so two of these never wait on each other's rows in a cycle.
    let _w = s.sqlite_writer().await;
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut tx = s.begin_write().await?;
    for id in &ids {
        sqlx::query(
            "UPDATE agent_commands SET state = CASE WHEN state = 'pending' THEN 'sent' ELSE state END,
               attempts = attempts + 1, sent_at = $1 WHERE id = $2",
        )
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
