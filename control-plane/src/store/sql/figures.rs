//! Figures summed by the database and keyset pages for exports: what dashboards, shift close
//! and CSV exports read so that they stay exact (and fast) at any size.

use super::alerts::alert_from_row;
use super::rows::*;
use crate::store::*;
use sqlx::Row;

/// A bound value of a query built from optional filters.
enum Bind {
    Text(String),
    Int(i64),
}

/// `WHERE` conditions built one optional filter at a time, numbering their parameters; only the
/// filters given appear, so each query shape gets a plan that uses its index.
#[derive(Default)]
struct Conds {
    conds: Vec<String>,
    binds: Vec<Bind>,
}

impl Conds {
    /// Add `cond`, whose `?` is the next parameter, bound to `b`.
    fn add(&mut self, cond: &str, b: Bind) {
        self.binds.push(b);
        self.conds
            .push(cond.replace('?', &format!("${}", self.binds.len())));
    }

    /// ` WHERE a AND b`, or nothing.
    fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conds.join(" AND "))
        }
    }

    /// `q` with every parameter bound.
    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for b in &self.binds {
            q = match b {
                Bind::Text(t) => q.bind(t.as_str()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        q
    }
}

fn figure_conds(f: &FigureFilter, col: &str, at: &str) -> Conds {
    let mut c = Conds::default();
    if let Some(l) = f.location_id {
        c.add(&format!("{col}.location_id = ?"), Bind::Text(l.to_string()));
    }
    if let Some(s) = f.staff_id {
        c.add(&format!("{col}.staff_id = ?"), Bind::Text(s.to_string()));
    }
    c.add(&format!("{col}.{at} >= ?"), Bind::Int(f.from));
    if let Some(to) = f.to {
        c.add(&format!("{col}.{at} < ?"), Bind::Int(to));
    }
    c
}

fn count(r: &sqlx::any::AnyRow, col: &str) -> StoreResult<u64> {
    let n: i64 = r.try_get(col)?;
    super::rows::stored_u64(col, n)
}

pub(super) async fn token_figures(
    s: &super::SqlStore,
    f: &FigureFilter,
) -> StoreResult<Vec<TokenFigures>> {
    let c = figure_conds(f, "t", "created_at");
    // Used: a customer has logged in with it (a first login seen, or a state only a login
    // reaches). A SUM past i64 is an error in both databases (SQLite: "integer overflow"; PostgreSQL: the
    // NUMERIC sum does not fit the BIGINT cast), never a wrapped figure.
    let big = s.dialect.sum_as_bigint();
    let sql = format!(
        "SELECT t.location_id, t.staff_id, COUNT(*) AS issued,
           SUM(CASE WHEN t.first_login_at IS NOT NULL OR t.state IN ('in_use', 'used_up', 'expired')
               THEN 1 ELSE 0 END){big} AS used,
           SUM(t.price_minor){big} AS expected,
           SUM(CASE WHEN sh.closed_at IS NOT NULL THEN t.price_minor ELSE 0 END){big} AS confirmed
         FROM tokens t LEFT JOIN shifts sh ON sh.id = t.shift_id{}
         GROUP BY t.location_id, t.staff_id",
        c.sql()
    );
    let rows = c.bind(sqlx::query(&sql)).fetch_all(&s.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(TokenFigures {
                location_id: uuid_col(r, "location_id")?,
                staff_id: uuid_col(r, "staff_id")?,
                issued: count(r, "issued")?,
                used: count(r, "used")?,
                expected_minor: r.try_get("expected")?,
                confirmed_minor: r.try_get("confirmed")?,
            })
        })
        .collect()
}

pub(super) async fn shift_figures(
    s: &super::SqlStore,
    f: &FigureFilter,
) -> StoreResult<Vec<ShiftFigures>> {
    let c = figure_conds(f, "sh", "opened_at");
    let big = s.dialect.sum_as_bigint();
    let sql = format!(
        "SELECT sh.location_id, sh.staff_id, COUNT(*) AS shifts,
           COALESCE(SUM(sh.variance_minor), 0){big} AS variance
         FROM shifts sh{}
         GROUP BY sh.location_id, sh.staff_id",
        c.sql()
    );
    let rows = c.bind(sqlx::query(&sql)).fetch_all(&s.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(ShiftFigures {
                location_id: uuid_col(r, "location_id")?,
                staff_id: uuid_col(r, "staff_id")?,
                shifts: count(r, "shifts")?,
                variance_minor: r.try_get("variance")?,
            })
        })
        .collect()
}

pub(super) async fn user_names(s: &super::SqlStore) -> StoreResult<Vec<(Uuid, String)>> {
    let rows = sqlx::query("SELECT id, username FROM users")
        .fetch_all(&s.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((uuid_col(r, "id")?, r.try_get("username")?)))
        .collect()
}

fn alert_conds(f: &AlertFilter) -> Conds {
    let mut c = Conds::default();
    if let Some(st) = f.state {
        c.add("a.state = ?", Bind::Text(st.as_str().into()));
    }
    if let Some(l) = f.location_id {
        c.add("a.location_id = ?", Bind::Text(l.to_string()));
    }
    if let Some(from) = f.from {
        c.add("a.created_at >= ?", Bind::Int(from));
    }
    if let Some(to) = f.to {
        c.add("a.created_at < ?", Bind::Int(to));
    }
    c
}

pub(super) async fn alert_counts(
    s: &super::SqlStore,
    f: &AlertFilter,
) -> StoreResult<Vec<(Option<Uuid>, u64)>> {
    let c = alert_conds(f);
    let sql = format!(
        "SELECT a.location_id, COUNT(*) AS n FROM alerts a{} GROUP BY a.location_id",
        c.sql()
    );
    let rows = c.bind(sqlx::query(&sql)).fetch_all(&s.pool).await?;
    rows.iter()
        .map(|r| {
            let loc: Option<String> = r.try_get("location_id")?;
            let loc = loc
                .map(|l| l.parse::<Uuid>())
                .transpose()
                .map_err(|e| StoreError::Invalid(format!("stored alert location: {e}")))?;
            Ok((loc, count(r, "n")?))
        })
        .collect()
}

/// `(created_at, id)` after `cursor` in newest-first order.
fn after(c: &mut Conds, col: &str, cursor: Option<Cursor>) {
    if let Some(k) = cursor {
        c.binds.push(Bind::Int(k.created_at));
        let n = c.binds.len();
        c.binds.push(Bind::Text(k.id.to_string()));
        c.conds.push(format!(
            "({col}.created_at < ${n} OR ({col}.created_at = ${n} AND {col}.id > ${}))",
            n + 1
        ));
    }
}

pub(super) async fn tokens_after(
    s: &super::SqlStore,
    f: &TokenFilter,
    cursor: Option<Cursor>,
    n: u32,
) -> StoreResult<Vec<Token>> {
    let mut c = Conds::default();
    if let Some(l) = f.location_id {
        c.add("t.location_id = ?", Bind::Text(l.to_string()));
    }
    if let Some(st) = f.staff_id {
        c.add("t.staff_id = ?", Bind::Text(st.to_string()));
    }
    if let Some(state) = f.state {
        c.add("t.state = ?", Bind::Text(state.as_str().into()));
    }
    if let Some(from) = f.from {
        c.add("t.created_at >= ?", Bind::Int(from));
    }
    if let Some(to) = f.to {
        c.add("t.created_at < ?", Bind::Int(to));
    }
    after(&mut c, "t", cursor);
    let sql = format!(
        "{TOKEN_SELECT}{} ORDER BY t.created_at DESC, t.id LIMIT {}",
        c.sql(),
        n.max(1)
    );
    let rows = c.bind(sqlx::query(&sql)).fetch_all(&s.pool).await?;
    rows.iter().map(token_from_row).collect()
}

pub(super) async fn alerts_after(
    s: &super::SqlStore,
    f: &AlertFilter,
    cursor: Option<Cursor>,
    n: u32,
) -> StoreResult<Vec<Alert>> {
    let mut c = alert_conds(f);
    after(&mut c, "a", cursor);
    let sql = format!(
        "SELECT a.* FROM alerts a{} ORDER BY a.created_at DESC, a.id LIMIT {}",
        c.sql(),
        n.max(1)
    );
    let rows = c.bind(sqlx::query(&sql)).fetch_all(&s.pool).await?;
    rows.iter().map(alert_from_row).collect()
}
