//! [`PeopleStore`] for [`SqlStore`]: each method is a short query here or a call into the query
//! module of its area.

use super::*;

#[async_trait]
impl PeopleStore for SqlStore {
    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        entities::create_user(self, user).await
    }

    async fn user(&self, id: Uuid) -> StoreResult<Option<User>> {
        let row = sqlx::query(&format!("{USER_SELECT} WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(r) => Ok(Some(self.user_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn check_password(&self, username: &str, password: &str) -> StoreResult<Option<User>> {
        entities::check_password(self, username, password).await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        stored_u64("user count", n)
    }

    async fn create_session(&self, s: &Session) -> StoreResult<()> {
        let _w = self.write.lock().await;
        // Expired sessions are dead anyway; clearing them here keeps the table small.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id)
        .bind(s.user_id.to_string())
        .bind(&s.csrf)
        .bind(now_ms())
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id: &str, now: i64) -> StoreResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.id, s.user_id, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.id = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                id: r.try_get("id")?,
                user_id: uuid_col(&r, "user_id")?,
                csrf: r.try_get("csrf")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        let _w = self.write.lock().await;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_user_sessions(&self, user_id: Uuid) -> StoreResult<u64> {
        let _w = self.write.lock().await;
        let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn record_login_failure(&self, keys: &[&str], at: i64) -> StoreResult<()> {
        login_limits::record(self, keys, at).await
    }

    async fn login_failures(&self, key: &str, since: i64) -> StoreResult<u64> {
        login_limits::count(self, key, since).await
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        login_limits::clear(self, key).await
    }

    async fn prune_login_failures(&self, before: i64) -> StoreResult<u64> {
        login_limits::prune(self, before).await
    }

    async fn reserve_login_attempt(
        &self,
        keys: &[(&str, i64)],
        attempt: &str,
        now: i64,
        decide: &(dyn for<'s> Fn(&'s [AttemptStats]) -> bool + Send + Sync),
    ) -> StoreResult<bool> {
        login_limits::reserve(self, keys, attempt, now, decide).await
    }

    async fn release_login_attempt(&self, attempt: &str, clear: &[&str]) -> StoreResult<()> {
        login_limits::release(self, attempt, clear).await
    }

    async fn user_names(&self) -> StoreResult<Vec<(Uuid, String)>> {
        figures::user_names(self).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        pages::list_users(self).await
    }

    async fn update_user(
        &self,
        id: Uuid,
        change: UserChange,
        actor: &str,
        now: i64,
    ) -> StoreResult<User> {
        pages::update_user(self, id, change, actor, now).await
    }
}
