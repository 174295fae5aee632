//! Refusals people read: a bad amount, a missing location, a sale without a shift. The service
//! layer names the message (its key in `locales/*/main.ftl`) and its arguments instead of an
//! English sentence, so the JSON API and the logs read English while a page shows the same
//! refusal in its reader's language.

use crate::i18n::{tr_args, Lang};
use fluent_bundle::FluentValue;
use std::fmt;

/// One argument of a refusal: a value written as it is, or another message (a form field's
/// label, the reason under a field) written in the reader's language too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Shown as it is (a typed text, a number, a currency code).
    Text(String),
    /// A message of its own.
    Message(Refusal),
}

/// A message of the locales and its named arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The message key, e.g. `err-no-location`.
    pub id: &'static str,
    /// Named arguments, in the order given.
    pub args: Vec<(&'static str, Arg)>,
}

impl Refusal {
    /// The message `id` without arguments.
    pub fn new(id: &'static str) -> Refusal {
        Refusal {
            id,
            args: Vec::new(),
        }
    }

    /// Add the argument `name`, shown as it is.
    pub fn arg(mut self, name: &'static str, value: impl fmt::Display) -> Refusal {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }

    /// Add the argument `name`, itself a message in the reader's language.
    pub fn arg_message(mut self, name: &'static str, value: Refusal) -> Refusal {
        self.args.push((name, Arg::Message(value)));
        self
    }

    /// "{field}: {this}", with `field` the key of the form field's label.
    pub fn in_field(self, field: &'static str) -> Refusal {
        Refusal::new("err-in-field")
            .arg_message("field", Refusal::new(field))
            .arg_message("error", self)
    }

    /// The words in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let args: Vec<(&str, FluentValue<'_>)> = self
            .args
            .iter()
            .map(|(name, arg)| {
                let value = match arg {
                    Arg::Text(t) => t.clone(),
                    Arg::Message(m) => m.text(lang),
                };
                (*name, FluentValue::from(value))
            })
            .collect();
        tr_args(lang, self.id, &args)
    }
}

/// English: what the JSON API answers and the logs record.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text(Lang::En))
    }
}

// Here rather than in `money`, so that amounts need nothing of the messages they are refused
// with.
impl crate::money::MoneyError {
    /// The refusal as a message of the locales, for a page in its reader's language (the
    /// English text is this error's `Display`).
    pub fn refusal(&self) -> Refusal {
        match self {
            crate::money::MoneyError::Empty => Refusal::new("money-empty"),
            crate::money::MoneyError::NotANumber(text, example) => {
                Refusal::new("money-not-a-number")
                    .arg("text", text)
                    .arg("example", example)
            }
            crate::money::MoneyError::TooManyDecimals {
                text,
                currency,
                max,
            } => Refusal::new("money-too-many-decimals")
                .arg("text", text)
                .arg("currency", currency)
                .arg("max", max),
            crate::money::MoneyError::Negative => Refusal::new("money-negative"),
            crate::money::MoneyError::TooLarge => Refusal::new("money-too-large"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_in_english_for_the_api_and_in_french_on_a_page() {
        let r = Refusal::new("money-too-many-decimals")
            .arg("text", "1.005")
            .arg("currency", "USD")
            .arg("max", 2)
            .in_field("opening-float");
        assert_eq!(
            r.to_string(),
            "Opening float: USD has 2 decimal place(s); \"1.005\" has more"
        );
        let fr = r.text(Lang::Fr);
        assert!(fr.starts_with("Fond de caisse"), "{fr}");
        assert!(fr.contains("1.005") && fr.contains("USD"), "{fr}");
    }
}
