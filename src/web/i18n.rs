//! The pages' message catalogue (Fluent files under `locales/`, embedded in the binary) and
//! the language of a request, chosen from `Accept-Language` among the languages shipped
//! (English and German; English when nothing matches).

use std::borrow::Cow;
use std::collections::HashMap;

use axum::http::HeaderMap;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{static_loader, LanguageIdentifier, Loader};

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en-US",
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The languages pages are written in, in the order of preference when a request names none.
const SHIPPED: [&str; 2] = ["en-US", "de"];

/// Text in one language, for one page.
#[derive(Debug, Clone)]
pub struct Tr {
    lang: LanguageIdentifier,
}

impl Tr {
    /// The language a browser asks for in `Accept-Language` (weights honoured), among those
    /// shipped.
    pub fn from_headers(headers: &HeaderMap) -> Tr {
        let header = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Tr::negotiate(header)
    }

    /// Chooses from an `Accept-Language` value.
    pub fn negotiate(accept_language: &str) -> Tr {
        let mut wanted: Vec<(f32, String)> = accept_language
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim().to_ascii_lowercase();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && q > 0.0).then_some((q, tag))
            })
            .collect();
        wanted.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        let chosen = wanted
            .iter()
            .find_map(|(_, tag)| {
                let primary = tag.split('-').next().unwrap_or_default();
                SHIPPED
                    .iter()
                    .find(|s| s.to_ascii_lowercase().split('-').next() == Some(primary))
            })
            .unwrap_or(&SHIPPED[0]);
        Tr {
            lang: chosen.parse().unwrap_or_default(),
        }
    }

    /// The text of `key`.
    pub fn t(&self, key: &str) -> String {
        LOCALES.lookup(&self.lang, key)
    }

    /// The text of `key` with one argument.
    pub fn t1(&self, key: &str, name: &'static str, value: &str) -> String {
        let mut args: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        args.insert(Cow::Borrowed(name), FluentValue::from(value.to_string()));
        LOCALES.lookup_with_args(&self.lang, key, &args)
    }

    /// The text of `key` for a number (`$count`), in the plural form the language uses.
    pub fn count(&self, key: &str, count: impl std::borrow::Borrow<i64>) -> String {
        let mut args: HashMap<Cow<'static, str>, FluentValue> = HashMap::new();
        args.insert(Cow::Borrowed("count"), FluentValue::from(*count.borrow()));
        LOCALES.lookup_with_args(&self.lang, key, &args)
    }

    /// The name of an idea stage (`under_review`, ...) in this language.
    pub fn stage(&self, stage: &str) -> String {
        self.t(&format!("stage-{stage}"))
    }

    /// The language's primary tag, for `<html lang>`.
    pub fn lang(&self) -> &str {
        self.lang.language.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_a_shipped_language_by_weight() {
        assert_eq!(Tr::negotiate("de-DE,de;q=0.9,en;q=0.8").lang(), "de");
        assert_eq!(Tr::negotiate("fr-FR,en;q=0.5,de;q=0.7").lang(), "de");
        assert_eq!(Tr::negotiate("fr").lang(), "en");
        assert_eq!(Tr::negotiate("").lang(), "en");
        assert_eq!(Tr::negotiate("de;q=0").lang(), "en");
    }

    #[test]
    fn every_key_reads_in_both_languages() {
        let en = Tr::negotiate("en");
        let de = Tr::negotiate("de");
        assert_eq!(en.t("field-username"), "Username");
        assert_eq!(de.t("field-username"), "Benutzername");
        assert_eq!(en.t1("home-title", "org", "ACME"), "Rooms of ACME");
        assert_eq!(en.count("idea-supports", 1), "support");
        assert_eq!(en.count("idea-supports", 2), "supports");
        assert_eq!(de.count("idea-comment-count", 1), "Kommentar");
        for stage in crate::domain::lifecycle::Stage::ALL {
            assert_ne!(
                de.stage(stage.as_str()),
                format!("stage-{stage}"),
                "{stage}"
            );
        }
        // Every key of the English files exists in the German ones (each part of the pages may
        // keep its own file, e.g. `locales/en-US/room.ftl`).
        let keys = |lang: &str| -> Vec<String> {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(lang);
            let mut keys = Vec::new();
            for file in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
                keys.extend(
                    text.lines()
                        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" ="))
                        .map(|l| l.split(" =").next().unwrap().trim().to_string()),
                );
            }
            keys
        };
        let (english, german) = (keys("en-US"), keys("de"));
        assert!(english.len() > 50);
        for key in &english {
            assert!(german.contains(key), "{key} is missing from locales/de");
            assert_ne!(de.t(key), format!("Unknown localization {key}"), "{key}");
        }
        let mut unique = english.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), english.len(), "a key is defined twice");
    }
}
