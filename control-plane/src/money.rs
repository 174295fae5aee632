//! Money as people type and read it: amounts in currency units ("12.50 USD", "1500 XOF",
//! "1.250 BHD"), with each currency's ISO 4217 exponent, held everywhere else as integer minor
//! units. Parsing is exact (no floating point) and bounded, so a typed amount can neither lose a
//! digit nor overflow a sum later.

use iso_currency::Currency;
use thiserror::Error;

/// The largest amount anyone may enter, in minor units (10^15: ten trillion dollars in cents).
/// Far above any drawer or price, and low enough that a day's sums cannot overflow an `i64`.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// Why a typed amount was refused; the text is shown next to the form field.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MoneyError {
    /// Nothing was typed.
    #[error("enter an amount")]
    Empty,
    /// Not a plain decimal number.
    #[error("{0:?} is not an amount: type digits with a point for decimals, e.g. {1}")]
    NotANumber(String, String),
    /// More decimals than the currency has.
    #[error("{currency} has {max} decimal place(s); {text:?} has more")]
    TooManyDecimals {
        /// What was typed.
        text: String,
        /// The currency's code.
        currency: String,
        /// Its exponent.
        max: u32,
    },
    /// A negative amount where only zero or more makes sense.
    #[error("the amount cannot be negative")]
    Negative,
    /// Beyond [`MAX_AMOUNT_MINOR`].
    #[error("the amount is too large")]
    TooLarge,
}

/// Whether `code` is an ISO 4217 currency code.
pub fn is_known_currency(code: &str) -> bool {
    Currency::from_code(code).is_some()
}

/// Decimal places of `currency`: ISO 4217's exponent (JPY 0, USD 2, BHD 3). Codes that are not
/// ISO currencies, and ISO codes without minor units (gold, special drawing rights), count as 2
/// and 0 respectively, so that stored amounts of older packages still read sensibly.
pub fn exponent(currency: &str) -> u32 {
    match Currency::from_code(currency) {
        Some(c) => c.exponent().map_or(0, u32::from),
        None => 2,
    }
}

/// `minor` in currency units without the code: `1250` USD → `12.50`, `1500` XOF → `1500`.
pub fn format_amount(minor: i64, currency: &str) -> String {
    let exp = exponent(currency);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    if exp == 0 {
        return format!("{sign}{m}");
    }
    let scale = 10u64.pow(exp);
    format!(
        "{sign}{}.{:0width$}",
        m / scale,
        m % scale,
        width = exp as usize
    )
}

/// `minor` in currency units with the code: `1250` USD → `12.50 USD` (no code when the
/// currency is not known yet, e.g. before any package exists).
pub fn format(minor: i64, currency: &str) -> String {
    let amount = format_amount(minor, currency);
    if currency.is_empty() {
        amount
    } else {
        format!("{amount} {currency}")
    }
}

/// The `step` of an HTML number field for `currency`: `0.01` for USD, `1` for XOF.
pub fn input_step(currency: &str) -> String {
    match exponent(currency) {
        0 => "1".into(),
        exp => format!("0.{}1", "0".repeat(exp as usize - 1)),
    }
}

/// Parse an amount typed in currency units (`12`, `12.5`, `12.50`) into minor units. Zero or
/// more, at most [`MAX_AMOUNT_MINOR`], no more decimals than the currency has.
pub fn parse(text: &str, currency: &str) -> Result<i64, MoneyError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(MoneyError::Empty);
    }
    let exp = exponent(currency);
    let not_a_number = || {
        MoneyError::NotANumber(
            t.to_string(),
            format_amount(1250 * 10i64.pow(exp) / 100, currency),
        )
    };
    if t.starts_with('-') {
        return Err(MoneyError::Negative);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(not_a_number());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > exp as usize {
        return Err(MoneyError::TooManyDecimals {
            text: t.to_string(),
            currency: currency.to_string(),
            max: exp,
        });
    }
    let whole = whole.trim_start_matches('0');
    // 19 digits cannot overflow below; anything longer is too large anyway.
    if whole.len() > 18 {
        return Err(MoneyError::TooLarge);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| not_a_number())?
    };
    let frac_minor: i64 = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<width$}", width = exp as usize);
        padded.parse().map_err(|_| not_a_number())?
    };
    let minor = whole
        .checked_mul(10i64.pow(exp))
        .and_then(|w| w.checked_add(frac_minor))
        .ok_or(MoneyError::TooLarge)?;
    if minor > MAX_AMOUNT_MINOR {
        return Err(MoneyError::TooLarge);
    }
    Ok(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_currency_is_read_and_written_with_its_own_decimals() {
        assert_eq!(parse("12.50", "USD"), Ok(1250));
        assert_eq!(parse("12.5", "USD"), Ok(1250));
        assert_eq!(parse("12", "USD"), Ok(1200));
        assert_eq!(parse(" 0.07 ", "EUR"), Ok(7));
        assert_eq!(parse("1500", "XOF"), Ok(1500));
        assert_eq!(parse("1500.00", "JPY"), Ok(1500));
        assert_eq!(parse("1.250", "BHD"), Ok(1250));
        assert_eq!(parse(".5", "USD"), Ok(50));
        assert_eq!(format(1250, "USD"), "12.50 USD");
        assert_eq!(format(-6600, "USD"), "-66.00 USD");
        assert_eq!(format(1500, "XOF"), "1500 XOF");
        assert_eq!(format(1250, "BHD"), "1.250 BHD");
        assert_eq!(format(5, "KWD"), "0.005 KWD");
        assert_eq!(input_step("USD"), "0.01");
        assert_eq!(input_step("JPY"), "1");
        assert_eq!(input_step("TND"), "0.001");
    }

    #[test]
    fn what_cannot_be_an_amount_is_refused_with_a_reason() {
        assert_eq!(parse("", "USD"), Err(MoneyError::Empty));
        assert_eq!(parse("-1", "USD"), Err(MoneyError::Negative));
        assert!(matches!(
            parse("1.005", "USD"),
            Err(MoneyError::TooManyDecimals { max: 2, .. })
        ));
        assert!(matches!(
            parse("10.5", "XOF"),
            Err(MoneyError::TooManyDecimals { max: 0, .. })
        ));
        for bad in ["1,50", "1e3", "12 USD", "0x10", ".", "1.2.3", "+5", "٣"] {
            assert!(
                matches!(parse(bad, "USD"), Err(MoneyError::NotANumber(..))),
                "{bad}"
            );
        }
        assert_eq!(
            parse("9223372036854775807", "USD"),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(parse("10000000000000.01", "USD"), Err(MoneyError::TooLarge));
        assert_eq!(parse("10000000000000.00", "USD"), Ok(MAX_AMOUNT_MINOR));
        assert_eq!(
            parse("000000000000000000000000012", "USD"),
            Ok(1200),
            "leading zeros are not digits of size"
        );
    }

    #[test]
    fn every_amount_written_reads_back_the_same() {
        for currency in ["USD", "JPY", "BHD", "XOF", "NOTACODE"] {
            for minor in [0, 1, 9, 10, 99, 100, 12345, MAX_AMOUNT_MINOR] {
                assert_eq!(
                    parse(&format_amount(minor, currency), currency),
                    Ok(minor),
                    "{minor} {currency}"
                );
            }
        }
    }
}
