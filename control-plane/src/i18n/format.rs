//! Money and dates as each language writes them. Amounts stay integer minor units until here,
//! with the currency's ISO 4217 exponent (`money::format_amount`); only the separators and the
//! order change.

use super::Lang;

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
    fn dates_put_the_day_first_in_french_and_swahili() {
        let ms = 1_796_235_044_256;
        assert_eq!(datetime(Lang::En, ms), "2026-12-02 18:10:44 UTC");
        assert_eq!(datetime(Lang::Fr, ms), "02/12/2026 18:10:44 UTC");
        assert_eq!(datetime(Lang::Sw, ms), "02/12/2026 18:10:44 UTC");
    }
}
