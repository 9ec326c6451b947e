//! Pure rules of the product: no database, no network. Services call these; tests call them
//! directly.

pub mod kinds;
pub mod lifecycle;
pub mod membership;
pub mod net;
pub mod peers;
pub mod retry;
pub mod text;

/// Room visibility as chosen by its stewards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Partners,
    Private,
}

impl Visibility {
    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "public" => Some(Visibility::Public),
            "partners" => Some(Visibility::Partners),
            "private" => Some(Visibility::Private),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Partners => "partners",
            Visibility::Private => "private",
        }
    }
}

/// Local names (people and rooms share one WebFinger namespace) are 1-64 characters of
/// lowercase ASCII letters, digits, `_` and `-`, starting with a letter or digit, so that every
/// name is also a valid URL path segment and `acct:` user part.
pub fn validate_local_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let starts_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if name.is_empty() || name.len() > 64 || !ok_chars || !starts_ok {
        return Err(format!(
            "invalid name '{name}': use 1-64 lowercase letters, digits, '_' or '-', starting with a letter or digit"
        ));
    }
    if RESERVED_NAMES.contains(&name) {
        return Err(format!("the name '{name}' is reserved by the node"));
    }
    Ok(())
}

/// Names used by the node's own actors and routes.
pub const RESERVED_NAMES: &[&str] = &["actor", "org", "admin", "api", "inbox", "instance"];

/// A fediverse handle `name@host[:port]`, with or without a leading `@` or `acct:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub name: String,
    pub host: String,
}

impl Handle {
    pub fn parse(input: &str) -> Result<Handle, String> {
        let s = input.trim();
        let s = s.strip_prefix("acct:").unwrap_or(s);
        let s = s.strip_prefix('@').unwrap_or(s);
        let (name, host) = s
            .split_once('@')
            .ok_or_else(|| format!("'{input}' is not a handle: expected name@host[:port]"))?;
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
        if name.is_empty() || !host_ok || name.contains('/') {
            return Err(format!(
                "'{input}' is not a handle: expected name@host[:port]"
            ));
        }
        Ok(Handle {
            name: name.to_string(),
            host: host.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(validate_local_name("widgets-2027").is_ok());
        assert!(validate_local_name("Widgets").is_err());
        assert!(validate_local_name("-x").is_err());
        assert!(validate_local_name("").is_err());
        assert!(validate_local_name("org").is_err());
        assert!(validate_local_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn handles_parse_in_every_common_spelling() {
        let want = Handle {
            name: "room".into(),
            host: "localhost:8080".into(),
        };
        assert_eq!(Handle::parse("room@localhost:8080").unwrap(), want);
        assert_eq!(Handle::parse("@room@LocalHost:8080").unwrap(), want);
        assert_eq!(Handle::parse("acct:room@localhost:8080").unwrap(), want);
        assert!(Handle::parse("room").is_err());
        assert!(Handle::parse("room@").is_err());
        assert!(Handle::parse("a@b/c").is_err());
    }
}
