//! Money and dates as each language writes them. Amounts stay integer minor units until here,
//! with the currency's ISO 4217 exponent (`money::format_amount`); only the separators and the
//! order change.

use super::Lang;
use crate::money::MoneyError;
use fluent_bundle::FluentValue;

/// `minor` of `currency` for a reader of `lang`: English `1234.50 USD`, French `1 234,50 USD`
/// (narrow no-break space between thousands, comma before decimals), Swahili `USD 1,234.50`
/// (code first, comma between thousands, as in Kenya and Tanzania).
pub fn money(lang: Lang, minor: i64, currency: &str) -> String {
    let plain = crate::money::format_amount(minor, currency);
    let (sign, digits) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let amount = match lang {
        Lang::Fr => join(sign, &group(whole, '\u{202f}'), ',', frac),
        Lang::Sw => join(sign, &group(whole, ','), '.', frac),
        _ => plain.clone(),
    };
    if currency.is_empty() {
        return amount;
    }
    match lang {
        Lang::Sw => format!("{currency} {amount}"),
        Lang::Fr => format!("{amount}\u{a0}{currency}"),
        _ => format!("{amount} {currency}"),
    }
}

/// An amount typed into a form by a reader of `lang`, as minor units of `currency`. Every
/// language takes the point (`12.50`: what the API takes and older habits type); French also
/// takes its decimal comma and thousands spaces (`1 234,50`), English and Swahili their
/// thousands commas (`1,234.50`). A comma is never read as a decimal point in English or
/// Swahili, where `1,500` means fifteen hundred.
pub fn parse_money(lang: Lang, text: &str, currency: &str) -> Result<i64, MoneyError> {
    let t = text.trim();
    let plain = match lang {
        Lang::Fr => {
            let s: String = t
                .chars()
                .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
                .collect();
            if s.contains('.') && s.contains(',') {
                // `1.234,50` (German) or `1,234.50` (English): not a French amount.
                t.to_string()
            } else {
                s.replacen(',', ".", 1)
            }
        }
        _ => ungroup(t).unwrap_or_else(|| t.to_string()),
    };
    crate::money::parse(&plain, currency).map_err(|e| match e {
        MoneyError::NotANumber(_, example) => MoneyError::NotANumber(
            t.to_string(),
            match lang {
                Lang::Fr => example.replace('.', ","),
                _ => example,
            },
        ),
        other => other,
    })
}

/// `1,234,567.50` → `1234567.50`; `None` unless every comma groups three digits.
fn ungroup(t: &str) -> Option<String> {
    let (whole, frac) = t.split_once('.').map_or((t, None), |(w, f)| (w, Some(f)));
    if !whole.contains(',') {
        return None;
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    let digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    if first.is_empty() || first.len() > 3 || !digits(first) {
        return None;
    }
    if !groups.all(|g| g.len() == 3 && digits(g)) {
        return None;
    }
    let whole = whole.replace(',', "");
    Some(match frac {
        Some(f) => format!("{whole}.{f}"),
        None => whole,
    })
}

/// A stored amount as it goes back into a form field for a reader of `lang`: `12.50`, in
/// French `12,50` (no grouping, so it reads back whatever the field's language).
pub fn amount_field(lang: Lang, minor: i64, currency: &str) -> String {
    let plain = crate::money::format_amount(minor, currency);
    match lang {
        Lang::Fr => plain.replace('.', ","),
        _ => plain,
    }
}

fn join(sign: &str, whole: &str, point: char, frac: &str) -> String {
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}{point}{frac}")
    }
}

/// `1234567` → `1,234,567` with `sep`; French and Swahili leave four digits ungrouped only in
/// prose, never in figures, so every amount of four digits or more is grouped.
fn group(whole: &str, sep: char) -> String {
    let n = whole.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// An alert kind (`cash_short`) as people read it in `lang` ("Cash short"); a kind without a
/// message (a newer one) shows as it is.
pub fn alert_kind(lang: Lang, kind: &str) -> String {
    let key = format!("alert-kind-{kind}");
    if super::has_message(Lang::En, &key) {
        super::tr(lang, &key)
    } else {
        kind.to_string()
    }
}

/// An alert's one-line summary in `lang`, from the message its finding kept in the evidence
/// (`message`: id and arguments, see `reconcile::Finding::with_message`) and the shifts it
/// was attributed to (`on_duty`). Alerts stored before their words were kept that way, or
/// whose message this build lacks, show the stored English `summary`.
pub fn alert_summary(lang: Lang, summary: &str, evidence: &serde_json::Value) -> String {
    let message = &evidence["message"];
    let Some(id) = message["id"].as_str() else {
        return summary.to_string();
    };
    if !super::has_message(Lang::En, id) {
        return summary.to_string();
    }
    let mut args: Vec<(String, FluentValue<'static>)> = Vec::new();
    if let Some(given) = message["args"].as_object() {
        for (name, value) in given {
            args.push((name.clone(), argument(lang, name, value).into()));
        }
    }
    let named: Vec<(&str, FluentValue<'_>)> =
        args.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    let mut text = super::tr_args(lang, id, &named);
    if let Some(duty) = evidence["on_duty"].as_array() {
        let mut names: Vec<&str> = Vec::new();
        for name in duty.iter().filter_map(|s| s["staff"].as_str()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let suffix = match names.as_slice() {
            [] => super::tr(lang, "alert-duty-nobody"),
            [one] => super::tr_args(lang, "alert-duty-one", &[("name", (*one).into())]),
            many => super::tr_args(
                lang,
                "alert-duty-many",
                &[("names", many.join(", ").into())],
            ),
        };
        text.push(' ');
        text.push_str(&suffix);
    }
    text
}

/// One argument of an alert's message as `lang` writes it: money and times formatted, a
/// rogue voucher's reason and a voucher state in words, a list joined with commas.
fn argument(lang: Lang, name: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) if name == "reason" || name == "state" => {
            let key = match name {
                "reason" => format!("alert-reason-{s}"),
                _ => format!("state-{s}"),
            };
            if super::has_message(Lang::En, &key) {
                super::tr(lang, &key)
            } else {
                s.replace('_', " ")
            }
        }
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| argument(lang, "", v))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => match (o.get("minor").and_then(Value::as_i64), o.get("at")) {
            (Some(minor), _) => money(lang, minor, o["currency"].as_str().unwrap_or_default()),
            (None, Some(at)) => at
                .as_i64()
                .map_or_else(String::new, |ms| datetime(lang, ms)),
            (None, None) => value.to_string(),
        },
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
    }
}

/// Unix ms as a date and time for `lang`: English `2026-12-03 06:20:15 UTC`, French and
/// Swahili day first, `03/12/2026 06:20:15 UTC`. The raw number when it is no date.
pub fn datetime(lang: Lang, ms: i64) -> String {
    let format = match lang {
        Lang::Fr | Lang::Sw => {
            time::macros::format_description!("[day]/[month]/[year] [hour]:[minute]:[second] UTC")
        }
        _ => time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"),
    };
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_each_language_writes_it() {
        assert_eq!(money(Lang::En, 123_450, "USD"), "1234.50 USD");
        assert_eq!(money(Lang::Fr, 123_450, "USD"), "1\u{202f}234,50\u{a0}USD");
        assert_eq!(money(Lang::Sw, 123_450, "KES"), "KES 1,234.50");
        assert_eq!(money(Lang::Fr, -1500, "XOF"), "-1\u{202f}500\u{a0}XOF");
        assert_eq!(money(Lang::Sw, 1_250, "BHD"), "BHD 1.250");
        assert_eq!(money(Lang::Fr, 5, "EUR"), "0,05\u{a0}EUR");
        assert_eq!(money(Lang::Fr, 999_999, "JPY"), "999\u{202f}999\u{a0}JPY");
        assert_eq!(money(Lang::Sw, 100, ""), "1.00");
    }

    #[test]
    fn amounts_typed_in_each_language_are_read_exactly() {
        let fr = |t: &str| parse_money(Lang::Fr, t, "EUR");
        assert_eq!(fr("12,50"), Ok(1250));
        assert_eq!(fr("12.50"), Ok(1250));
        assert_eq!(fr("1\u{202f}234,5"), Ok(123_450));
        assert_eq!(fr("1 234,50"), Ok(123_450));
        assert_eq!(fr("1\u{a0}234"), Ok(123_400));
        assert_eq!(fr(",5"), Ok(50));
        assert!(matches!(fr("1.234,50"), Err(MoneyError::NotANumber(..))));
        assert!(matches!(fr("1,2,3"), Err(MoneyError::NotANumber(..))));
        assert!(matches!(
            fr("12,505"),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        match fr("douze") {
            Err(MoneyError::NotANumber(text, example)) => {
                assert_eq!((text.as_str(), example.as_str()), ("douze", "12,50"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_money(Lang::Fr, "1500", "XOF"), Ok(1500));
        assert_eq!(parse_money(Lang::Fr, "1,250", "BHD"), Ok(1250));
        for lang in [Lang::En, Lang::Sw] {
            let p = |t: &str| parse_money(lang, t, "KES");
            assert_eq!(p("1,234.50"), Ok(123_450));
            assert_eq!(p("1,234,567"), Ok(123_456_700));
            assert_eq!(p("12.50"), Ok(1250));
            // A comma is a thousands separator here, never a decimal point.
            for bad in ["12,50", "1,2345", ",500", "1,234,5"] {
                assert!(matches!(p(bad), Err(MoneyError::NotANumber(..))), "{bad}");
            }
        }
    }

    #[test]
    fn every_amount_written_for_a_form_reads_back_in_its_language() {
        for lang in [Lang::En, Lang::Fr, Lang::Sw] {
            for currency in ["USD", "XOF", "BHD"] {
                for minor in [0, 5, 1250, 123_456_789] {
                    let shown = amount_field(lang, minor, currency);
                    assert_eq!(parse_money(lang, &shown, currency), Ok(minor), "{shown}");
                    let written = money(lang, minor, "");
                    assert_eq!(parse_money(lang, &written, ""), Ok(minor), "{written}");
                }
            }
        }
    }

    #[test]
    fn dates_put_the_day_first_in_french_and_swahili() {
        let ms = 1_796_235_044_256;
        assert_eq!(datetime(Lang::En, ms), "2026-12-02 18:10:44 UTC");
        assert_eq!(datetime(Lang::Fr, ms), "02/12/2026 18:10:44 UTC");
        assert_eq!(datetime(Lang::Sw, ms), "02/12/2026 18:10:44 UTC");
    }
}
