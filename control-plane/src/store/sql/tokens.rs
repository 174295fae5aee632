//! Shifts and tokens: the transactions behind clock-in, clock-out and dispensing.

use super::chain::{append_audit, append_ledger_and_audit, LedgerEntry};
use super::rows::*;
use crate::refusal::Refusal;
use crate::store::*;
use mtm_common::{CommandKind, CreateToken};
use serde_json::json;

pub(super) async fn open_shift(
    s: &super::SqlStore,
    staff_id: Uuid,
    location_id: Uuid,
    float: i64,
    actor: &str,
) -> StoreResult<Shift> {
    crate::bounds::money("opening-float", float).map_err(StoreError::Refused)?;
    let now = now_ms();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    let member: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM user_locations WHERE user_id = $1 AND location_id = $2",
    )
    .bind(staff_id.to_string())
    .bind(location_id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    if member.is_none() {
        return Err(StoreError::Refused(Refusal::new("err-not-your-location")));
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO shifts (id, staff_id, location_id, opened_at, opening_float_minor)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(staff_id.to_string())
    .bind(location_id.to_string())
    .bind(now)
    .bind(float)
    .execute(&mut *tx)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("a shift is already open".into())
        }
        _ => StoreError::Db(e),
    })?;
    let audit = AuditEntry {
        actor: actor.into(),
        action: "shift.open".into(),
        target: id.to_string(),
        detail: json!({"location_id": location_id, "opening_float_minor": float}),
    };
    append_audit(&mut tx, &audit, now).await?;
    tx.commit().await?;
    Ok(Shift {
        id,
        staff_id,
        location_id,
        opened_at: now,
        opening_float_minor: float,
        closed_at: None,
        declared_cash_minor: None,
        expected_cash_minor: None,
        variance_minor: None,
    })
}

pub(super) async fn close_shift(
    s: &super::SqlStore,
    staff_id: Uuid,
    declared: i64,
    actor: &str,
) -> StoreResult<Shift> {
    crate::bounds::money("clock-out-cash", declared).map_err(StoreError::Refused)?;
    let now = now_ms();
    let _w = s.write.lock().await;
    let mut tx = s.begin_write().await?;
    // Locked: a sale in flight on another replica (or, on PostgreSQL, in this process) is
    // counted in the close or refused after it, never lost between the two.
    let row = sqlx::query(&format!(
        "SELECT * FROM shifts WHERE staff_id = $1 AND closed_at IS NULL{}",
        s.dialect.for_update()
    ))
    .bind(staff_id.to_string())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::Refused(Refusal::new("err-no-open-shift")))?;
    let mut shift = shift_from_row(&row)?;
    settle_shift(&mut tx, &mut shift, declared, None, now).await?;
    let audit = AuditEntry {
        actor: actor.into(),
        action: "shift.close".into(),
        target: shift.id.to_string(),
        detail: json!({"declared_cash_minor": declared, "expected_cash_minor": shift.expected_cash_minor,
            "variance_minor": shift.variance_minor}),
    };
    append_audit(&mut tx, &audit, now).await?;
    tx.commit().await?;
    Ok(shift)
}

/// Close `shift` inside the caller's transaction, whoever closes it: the expected cash (opening
/// float plus the shift's sales, summed by the database), the variance against `declared`, the
/// sales confirmed, and every session of the staff member ended (clocked out, or gone without
/// doing so). `shift` comes back as stored.
pub(super) async fn settle_shift(
    tx: &mut sqlx::AnyConnection,
    shift: &mut Shift,
    declared: i64,
    note: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    let sid = shift.id.to_string();
    let revenue: i64 = sqlx::query_scalar(&format!(
        "SELECT COALESCE(SUM(expected_minor), 0){} FROM revenue_records WHERE shift_id = $1",
        super::Dialect::of(tx).sum_as_bigint()
    ))
    .bind(&sid)
    .fetch_one(&mut *tx)
    .await?;
    // Checked: a float stored before amounts were bounded must not panic or wrap the close.
    let expected =
        crate::bounds::add(shift.opening_float_minor, revenue).map_err(StoreError::Refused)?;
    let variance = crate::bounds::sub(declared, expected).map_err(StoreError::Refused)?;
    sqlx::query(
        "UPDATE shifts SET closed_at = $1, declared_cash_minor = $2, expected_cash_minor = $3,
           variance_minor = $4, note = COALESCE($5, note) WHERE id = $6",
    )
    .bind(now)
    .bind(declared)
    .bind(expected)
    .bind(variance)
    .bind(note)
    .bind(&sid)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE revenue_records SET confirmed_at = $1 WHERE shift_id = $2")
        .bind(now)
        .bind(&sid)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(shift.staff_id.to_string())
        .execute(&mut *tx)
        .await?;
    shift.closed_at = Some(now);
    shift.declared_cash_minor = Some(declared);
    shift.expected_cash_minor = Some(expected);
    shift.variance_minor = Some(variance);
    Ok(())
}

/// Where a sale by `staff_id` of `package_id` goes: the staff member's open shift, the active
/// package, and the location's enrolled router.
pub(super) struct SaleContext {
    pub(super) shift: Shift,
    pub(super) pkg: Package,
    pub(super) router: Router,
}

/// Read the [`SaleContext`] inside the sale's transaction.
pub(super) async fn sale_context(
    conn: &mut sqlx::AnyConnection,
    staff_id: Uuid,
    package_id: Uuid,
) -> StoreResult<SaleContext> {
    // Held to commit: the shift cannot close under the sale (its close waits and then counts
    // it), and a sale that waited for a close finds no open shift.
    let shift = sqlx::query(&format!(
        "SELECT * FROM shifts WHERE staff_id = $1 AND closed_at IS NULL{}",
        super::Dialect::of(conn).for_share()
    ))
    .bind(staff_id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::Refused(Refusal::new("err-clock-in-first")))?;
    let shift = shift_from_row(&shift)?;
    let pkg = sqlx::query("SELECT * FROM packages WHERE id = $1 AND active = 1")
        .bind(package_id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound("package".into()))?;
    let pkg = package_from_row(&pkg)?;
    // A router waiting for enrollment or revoked cannot take the voucher (and a revoked
    // device must not receive its code).
    let router = sqlx::query(
        "SELECT * FROM routers WHERE location_id = $1 AND public_key_hex <> ''
         ORDER BY created_at, id LIMIT 1",
    )
    .bind(shift.location_id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::Refused(Refusal::new("err-no-enrolled-router")))?;
    let router = router_from_row(&router)?;
    Ok(SaleContext { shift, pkg, router })
}

/// One voucher sold, single or in a batch.
pub(super) struct Sale<'a> {
    pub(super) id: Uuid,
    pub(super) code: &'a str,
    /// The password asked for; kept only if the package uses one.
    pub(super) password: Option<String>,
    pub(super) staff_id: Uuid,
    pub(super) staff_username: &'a str,
    pub(super) batch_id: Option<Uuid>,
    /// The till's key for a single sale; unique per staff member.
    pub(super) sale_key: Option<&'a str>,
    pub(super) now: i64,
}

/// The chain entries of a transaction's sales, appended together just before it commits. On
/// PostgreSQL each chain's lock is held from its append to the commit, so concurrent sales and
/// the ingest wait for one another over those last statements only, not the whole sale.
#[derive(Default)]
pub(super) struct SaleChains {
    ledger: Vec<LedgerEntry>,
    audit: Vec<AuditEntry>,
}

impl SaleChains {
    /// One more audit row, after those of the sales.
    pub(super) fn audit(&mut self, entry: AuditEntry) {
        self.audit.push(entry);
    }

    /// Append the ledger entries, then the audit rows dated `at` (every writer takes the two
    /// chains' locks in that order, so none waits on another in a cycle).
    pub(super) async fn append(self, conn: &mut sqlx::AnyConnection, at: i64) -> StoreResult<()> {
        append_ledger_and_audit(conn, self.ledger, self.audit, at).await
    }
}

/// Store a sold voucher the one way every sale is stored: its token row and revenue record
/// now, its `issued` ledger entry and audit row into `chains` (the caller appends them before
/// it commits). The command that carries it is the caller's.
pub(super) async fn record_sale(
    conn: &mut sqlx::AnyConnection,
    ctx: &SaleContext,
    sale: Sale<'_>,
    chains: &mut SaleChains,
) -> StoreResult<Token> {
    let SaleContext { shift, pkg, router } = ctx;
    let now = sale.now;
    let password = if pkg.uses_password {
        sale.password
    } else {
        None
    };
    sqlx::query(
        "INSERT INTO tokens (id, code, password, package_id, staff_id, location_id, router_id,
           shift_id, price_minor, currency, state, created_at, updated_at, lock_to_mac, batch_id,
           sale_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'issued', $11, $11, $12, $13, $14)",
    )
    .bind(sale.id.to_string())
    .bind(sale.code)
    .bind(&password)
    .bind(pkg.id.to_string())
    .bind(sale.staff_id.to_string())
    .bind(shift.location_id.to_string())
    .bind(router.id.to_string())
    .bind(shift.id.to_string())
    .bind(pkg.price_minor)
    .bind(&pkg.currency)
    .bind(now)
    .bind(pkg.lock_to_mac as i64)
    .bind(sale.batch_id.map(|b| b.to_string()))
    .bind(sale.sale_key)
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        // The code, or the sale key of a retry racing its first attempt: either way the
        // caller tries again (and then finds the sale by its key).
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("token code already used".into())
        }
        _ => StoreError::Db(e),
    })?;
    let mut detail = json!({
        "code": sale.code, "package": pkg.slug, "price_minor": pkg.price_minor,
        "currency": pkg.currency, "location_id": shift.location_id, "router_id": router.id,
        "shift_id": shift.id, "staff_id": sale.staff_id,
        "password_sha256": password.as_deref().map(mqtt_password_hash),
    });
    let mut audit_detail =
        json!({"code": sale.code, "package": pkg.slug, "router": router.agent_id});
    if let Some(b) = sale.batch_id {
        detail["batch_id"] = json!(b);
        audit_detail["batch_id"] = json!(b);
    }
    sqlx::query(
        "INSERT INTO revenue_records (id, token_id, shift_id, staff_id, location_id, expected_minor, currency, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(sale.id.to_string())
    .bind(shift.id.to_string())
    .bind(sale.staff_id.to_string())
    .bind(shift.location_id.to_string())
    .bind(pkg.price_minor)
    .bind(&pkg.currency)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    chains.ledger.push(LedgerEntry {
        token_id: sale.id,
        event: "issued",
        detail: detail.to_string(),
        actor: sale.staff_username.to_owned(),
        at: now,
    });
    chains.audit(AuditEntry {
        actor: sale.staff_username.to_owned(),
        action: "token.issue".into(),
        target: sale.id.to_string(),
        detail: audit_detail,
    });
    Ok(Token {
        id: sale.id,
        code: sale.code.to_owned(),
        password,
        package_id: pkg.id,
        package_slug: pkg.slug.clone(),
        staff_id: sale.staff_id,
        location_id: shift.location_id,
        router_id: router.id,
        shift_id: Some(shift.id),
        price_minor: pkg.price_minor,
        currency: pkg.currency.clone(),
        state: TokenState::Issued,
        created_at: now,
        applied_at: None,
        first_login_at: None,
        expired_at: None,
        uptime_s: 0,
        bytes_in: 0,
        bytes_out: 0,
        extra_uptime_s: 0,
        extra_bytes_total: 0,
        reprints: 0,
        replaces: None,
        lock_to_mac: pkg.lock_to_mac,
        bound_mac: None,
        mac_bound_at: None,
    })
}

/// The voucher as the router is told to make it.
pub(super) fn create_command(token: &Token, pkg: &Package) -> CreateToken {
    CreateToken {
        token_id: token.id,
        code: token.code.clone(),
        password: token.password.clone(),
        package_slug: pkg.slug.clone(),
        limit_uptime_s: pkg.limit_uptime_s,
        limit_bytes_total: pkg.limit_bytes_total,
        validity_s: pkg.validity_s,
        profile: None,
        lock_to_mac: pkg.lock_to_mac,
    }
}

pub(super) async fn issue_token(
    s: &super::SqlStore,
    req: IssueToken,
) -> StoreResult<(Token, StoredCommand)> {
    let now = now_ms();
    // On PostgreSQL sales run side by side: the shift's row lock and the chains' locks order
    // them against every other writer, in this process as across replicas.
    let _w = s.sqlite_writer().await;
    let mut tx = s.begin_write().await?;
    let ctx = sale_context(&mut tx, req.staff_id, req.package_id).await?;
    let mut chains = SaleChains::default();
    let sale = Sale {
        id: req.id,
        code: &req.code,
        password: req.password.clone(),
        staff_id: req.staff_id,
        staff_username: &req.staff_username,
        batch_id: None,
        sale_key: req.sale_key.as_deref(),
        now,
    };
    let token = record_sale(&mut tx, &ctx, sale, &mut chains).await?;
    let mut create = create_command(&token, &ctx.pkg);
    create.profile = Some(Box::new(ctx.pkg.spec()));
    let kind = CommandKind::CreateToken(create);
    let payload = mtm_common::envelope::to_cbor(&kind)
        .map_err(|e| StoreError::Invalid(format!("encode command: {e}")))?;
    sqlx::query(
        "INSERT INTO agent_commands (id, router_id, agent_id, kind, payload, token_id, state, issued_at)
         VALUES ($1, $2, $3, 'create_token', $4, $5, 'pending', $6)",
    )
    .bind(req.command_id.to_string())
    .bind(ctx.router.id.to_string())
    .bind(&ctx.router.agent_id)
    .bind(payload)
    .bind(req.id.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    chains.append(&mut tx, now).await?;
    tx.commit().await?;
    let cmd = StoredCommand {
        id: req.command_id,
        agent_id: ctx.router.agent_id,
        issued_at: now,
        kind,
        state: "pending".into(),
        attempts: 0,
    };
    Ok((token, cmd))
}

pub(super) async fn list_tokens(s: &super::SqlStore, f: &TokenFilter) -> StoreResult<TokenPage> {
    let mut conds: Vec<String> = Vec::new();
    let mut binds: Vec<Bind> = Vec::new();
    let mut add = |cond: &str, b: Bind| {
        binds.push(b);
        conds.push(cond.replace('?', &format!("${}", binds.len())));
    };
    if let Some(l) = f.location_id {
        add("t.location_id = ?", Bind::Text(l.to_string()));
    }
    if let Some(st) = f.staff_id {
        add("t.staff_id = ?", Bind::Text(st.to_string()));
    }
    if let Some(state) = f.state {
        add("t.state = ?", Bind::Text(state.as_str().into()));
    }
    if let Some(from) = f.from {
        add("t.created_at >= ?", Bind::Int(from));
    }
    if let Some(to) = f.to {
        add("t.created_at < ?", Bind::Int(to));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    let limit = f.limit.unwrap_or(50).clamp(1, crate::bounds::MAX_PAGE) as i64;
    let offset = f.offset.unwrap_or(0) as i64;
    let count_sql = format!("SELECT COUNT(*) FROM tokens t{filter}");
    let mut q = sqlx::query_scalar::<_, i64>(&count_sql);
    for b in &binds {
        q = match b {
            Bind::Text(t) => q.bind(t.clone()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    let total = q.fetch_one(&s.pool).await?;
    let list_sql = format!(
        "{TOKEN_SELECT}{filter} ORDER BY t.created_at DESC, t.id LIMIT {limit} OFFSET {offset}"
    );
    let mut q = sqlx::query(&list_sql);
    for b in &binds {
        q = match b {
            Bind::Text(t) => q.bind(t.clone()),
            Bind::Int(i) => q.bind(*i),
        };
    }
    let rows = q.fetch_all(&s.pool).await?;
    let items = rows
        .iter()
        .map(token_from_row)
        .collect::<StoreResult<_>>()?;
    Ok(TokenPage {
        items,
        total: total as u64,
    })
}

enum Bind {
    Text(String),
    Int(i64),
}
