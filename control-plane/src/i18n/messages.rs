//! The Fluent bundles, one per language, parsed once from the files compiled into the binary,
//! and the lookup every text goes through.

use super::Lang;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Each language's Fluent source, compiled in.
pub const FTL: [(Lang, &str); 3] = [
    (Lang::En, include_str!("../../locales/en/main.ftl")),
    (Lang::Fr, include_str!("../../locales/fr/main.ftl")),
    (Lang::Sw, include_str!("../../locales/sw/main.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

/// The bundles of [`FTL`], same order. A file that does not parse is a bug the tests catch; in
/// a release its good messages still load and the broken ones fall back to English.
fn bundles() -> &'static [Bundle] {
    static BUNDLES: OnceLock<Vec<Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        FTL.iter()
            .map(|(lang, src)| {
                let resource = match FluentResource::try_new((*src).to_string()) {
                    Ok(r) => r,
                    Err((r, errors)) => {
                        tracing::error!(lang = lang.code(), ?errors, "messages do not parse");
                        r
                    }
                };
                let id = lang.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![id]);
                // No Unicode isolation marks: the texts go into HTML and plain-text mail, all
                // left-to-right.
                bundle.set_use_isolating(false);
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(lang = lang.code(), ?errors, "duplicate messages");
                }
                bundle
            })
            .collect()
    })
}

fn bundle(lang: Lang) -> Option<&'static Bundle> {
    let i = FTL.iter().position(|(l, _)| *l == lang)?;
    bundles().get(i)
}

/// Format `key` in one bundle, `None` when it lacks the message.
fn format_in(lang: Lang, key: &str, args: Option<&FluentArgs>) -> Option<String> {
    let bundle = bundle(lang)?;
    let pattern = bundle.get_message(key)?.value()?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    if !errors.is_empty() {
        tracing::warn!(
            lang = lang.code(),
            key,
            ?errors,
            "message arguments missing"
        );
    }
    Some(text.into_owned())
}

/// The text of message `key` in `lang` with named arguments: English when `lang` lacks it, the
/// key itself when no language has it (so a missing message shows, and the tests catch it).
pub fn tr_args(lang: Lang, key: &str, args: &[(&str, FluentValue<'_>)]) -> String {
    let mut fargs = FluentArgs::new();
    for (name, value) in args {
        fargs.set(*name, value.clone());
    }
    let fargs = (!args.is_empty()).then_some(&fargs);
    #[cfg(test)]
    if lang == Lang::Qps {
        return format!("⟦{}⟧", tr_args(Lang::En, key, args));
    }
    format_in(lang, key, fargs)
        .or_else(|| format_in(Lang::En, key, fargs))
        .unwrap_or_else(|| missing(key))
}

/// No language has `key`: a release shows the key (and logs it); a test fails at once.
fn missing(key: &str) -> String {
    #[cfg(test)]
    panic!("no message {key:?} in any language");
    #[cfg(not(test))]
    {
        tracing::warn!(key, "no such message");
        key.to_string()
    }
}

/// The text of message `key` in `lang`, without arguments.
pub fn tr(lang: Lang, key: &str) -> String {
    tr_args(lang, key, &[])
}

/// Whether `lang`'s own file has `key` (no fallback).
pub fn has_message(lang: Lang, key: &str) -> bool {
    bundle(lang).is_some_and(|b| b.has_message(key))
}

/// Every message key of `lang`'s file.
pub fn message_keys(lang: Lang) -> BTreeSet<String> {
    let Some((_, src)) = FTL.iter().find(|(l, _)| *l == lang) else {
        return BTreeSet::new();
    };
    let resource = match FluentResource::try_new((*src).to_string()) {
        Ok(r) | Err((r, _)) => r,
    };
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}
