//! The templates' side: `t("key", name=value)` for a message, and the `money` and `datetime`
//! filters in the page's language. The language is the `page.lang` of the context every page
//! gets, so a template never picks one itself.

use super::{format, messages, Lang};
use fluent_bundle::FluentValue;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};

/// Add `t`, `money` and `datetime` to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("t", t);
    env.add_filter("money", money);
    env.add_filter("amount", amount);
    env.add_filter("datetime", datetime);
    env.add_filter("alert_kind", alert_kind);
    env.add_filter("alert_summary", alert_summary);
    #[cfg(test)]
    env.set_formatter(pseudo::formatter);
}

/// The language of the page being rendered (`page.lang`), English when there is none.
pub fn lang_of(state: &State) -> Lang {
    state
        .lookup("page")
        .and_then(|p| p.get_attr("lang").ok())
        .and_then(|l| l.as_str().and_then(Lang::parse))
        .unwrap_or_default()
}

/// `t("key")`, `t("key", n=3, name=x)`: the message in the page's language.
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let mut args: Vec<(&str, FluentValue<'_>)> = Vec::new();
    let names: Vec<&str> = kwargs.args().collect();
    for name in names {
        let v: Value = kwargs.get(name)?;
        let fv = if let Some(n) = v.as_i64() {
            FluentValue::from(n)
        } else if let Some(s) = v.as_str() {
            FluentValue::from(s.to_string())
        } else if v.is_none() || v.is_undefined() {
            FluentValue::from("")
        } else {
            FluentValue::from(v.to_string())
        };
        args.push((name, fv));
    }
    if key.is_empty() {
        return Err(Error::new(ErrorKind::InvalidOperation, "t() needs a key"));
    }
    Ok(messages::tr_args(lang_of(state), key, &args))
}

/// `500|money("USD")` → `5.00 USD` (English), `5,00 USD` (French), `USD 5.00` (Swahili).
fn money(state: &State, minor: i64, currency: String) -> String {
    format::money(lang_of(state), minor, &currency)
}

/// `500|amount("USD")` → `5.00` (French `5,00`): a stored amount as it goes back into a form
/// field, read back by `i18n::parse_money` in the same language.
fn amount(state: &State, minor: i64, currency: String) -> String {
    format::amount_field(lang_of(state), minor, &currency)
}

/// `"cash_short"|alert_kind` → "Cash short" in the page's language.
fn alert_kind(state: &State, kind: &str) -> String {
    format::alert_kind(lang_of(state), kind)
}

/// `alert|alert_summary`: an alert's one-line summary in the page's language (the stored
/// English line for an alert raised before its words were kept as a message).
fn alert_summary(state: &State, alert: Value) -> String {
    let summary = alert
        .get_attr("summary")
        .ok()
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default();
    let evidence = alert
        .get_attr("evidence")
        .ok()
        .and_then(|e| serde_json::to_value(&e).ok())
        .unwrap_or_default();
    format::alert_summary(lang_of(state), &summary, &evidence)
}

/// Unix ms → a date and time as the page's language writes it.
fn datetime(state: &State, ms: i64) -> String {
    format::datetime(lang_of(state), ms)
}

/// Tests only: in the pseudo-language every value a template prints is wrapped in `⟪…⟫`, as
/// every message is in `⟦…⟧`, so text in neither was typed into a template untranslated.
#[cfg(test)]
mod pseudo {
    use minijinja::{Output, State, Value};

    pub fn formatter(
        out: &mut Output,
        state: &State,
        value: &Value,
    ) -> Result<(), minijinja::Error> {
        let pseudo = super::lang_of(state) == super::Lang::Qps;
        if pseudo {
            out.write_str("⟪")?;
        }
        minijinja::escape_formatter(out, state, value)?;
        if pseudo {
            out.write_str("⟫")?;
        }
        Ok(())
    }
}
