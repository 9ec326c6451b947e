//! JSON kept in text columns (terms, provenance, phases, offers, activities), typed.
//!
//! A column declared as [`Json<T>`] or [`MaybeJson<T>`] in a row type is parsed when the row is
//! loaded; text that does not parse as `T` fails the query with an error naming the problem,
//! instead of being dropped or read as a default.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON value of type `T` stored as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Json<T>(pub T);

/// A nullable JSON column: `None` when the column is NULL.
#[derive(Debug, Clone, PartialEq)]
pub struct MaybeJson<T>(pub Option<T>);

/// Text in a JSON column that does not parse as the column's type.
#[derive(Debug, thiserror::Error)]
#[error("stored JSON does not parse as {type_name}: {source}")]
pub struct BadJson {
    type_name: &'static str,
    source: serde_json::Error,
}

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, BadJson> {
    serde_json::from_str(text).map_err(|source| BadJson {
        type_name: std::any::type_name::<T>(),
        source,
    })
}

impl<T: DeserializeOwned> TryFrom<String> for Json<T> {
    type Error = BadJson;
    fn try_from(text: String) -> Result<Self, BadJson> {
        parse(&text).map(Json)
    }
}

impl<T: DeserializeOwned> TryFrom<Option<String>> for MaybeJson<T> {
    type Error = BadJson;
    fn try_from(text: Option<String>) -> Result<Self, BadJson> {
        text.as_deref().map(parse).transpose().map(MaybeJson)
    }
}

impl<T: Serialize> Json<T> {
    /// The text to store.
    pub fn to_text(&self) -> String {
        to_text(&self.0)
    }
}

impl<T: Serialize> MaybeJson<T> {
    /// The text to store, or NULL.
    pub fn to_text(&self) -> Option<String> {
        self.0.as_ref().map(to_text)
    }
}

impl<T> MaybeJson<T> {
    pub fn as_ref(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

/// Serialises a value for a JSON column (serde_json cannot fail on the types stored here).
pub fn to_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_text_parses_and_bad_text_is_an_error() {
        let ok: Json<Vec<u32>> = "[1,2]".to_string().try_into().unwrap();
        assert_eq!(ok.0, vec![1, 2]);
        let bad: Result<Json<Vec<u32>>, _> = "{oops".to_string().try_into();
        assert!(bad.unwrap_err().to_string().contains("does not parse"));
        let none: MaybeJson<Vec<u32>> = None.try_into().unwrap();
        assert_eq!(none.0, None);
    }
}
