//! The closed sets of the product as enums: kinds of actors, the states of follows, handoffs,
//! join requests, invitations and deliveries, and the HTTP signature schemes.
//!
//! Each is stored as its lowercase (or ActivityStreams) text, so the database stays readable
//! and both backends share one schema; a row holding a value outside the set is an error the
//! store reports, never a silent default.

use thiserror::Error;

/// A text that names no member of the set it was read as.
#[derive(Debug, Error)]
#[error("'{value}' is not a known {set}")]
pub struct UnknownValue {
    pub set: &'static str,
    pub value: String,
}

/// Declares an enum stored and sent as text, with `as_str`, `parse`, `Display`, serde and the
/// conversions the store's row types use.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident ($set:literal) { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::domain::kinds::UnknownValue;
            fn try_from(s: String) -> Result<$name, $crate::domain::kinds::UnknownValue> {
                $name::parse(&s).ok_or($crate::domain::kinds::UnknownValue { set: $set, value: s })
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// What an actor is, by its ActivityStreams type.
    ActorKind ("actor type") {
        /// A person: a local account or a remote user.
        Person = "Person",
        /// A room (FEP-1b12 group).
        Group = "Group",
        /// A company: one per node.
        Organization = "Organization",
        /// A node's instance actor, which signs its fetches.
        Application = "Application",
        /// A bot or service account of another server.
        Service = "Service",
    }
}

text_enum! {
    /// A follow between two actors.
    FollowState ("follow state") {
        Pending = "pending",
        Accepted = "accepted",
        Rejected = "rejected",
    }
}

text_enum! {
    /// An offer of an idea to another organisation.
    HandoffState ("handoff state") {
        Pending = "pending",
        Accepted = "accepted",
        Rejected = "rejected",
        Withdrawn = "withdrawn",
    }
}

text_enum! {
    /// A request to follow or join a non-public room, waiting for a steward.
    RequestState ("request state") {
        Pending = "pending",
        Approved = "approved",
        Refused = "refused",
    }
}

text_enum! {
    /// An invitation into a room.
    InvitationState ("invitation state") {
        Pending = "pending",
        Accepted = "accepted",
        Rejected = "rejected",
    }
}

text_enum! {
    /// One queued delivery of an activity to one inbox.
    DeliveryState ("delivery state") {
        /// Queued, or waiting for its host's next try.
        Pending = "pending",
        /// The inbox answered 2xx.
        Delivered = "delivered",
        /// Refused for good: a 4xx other than 408/429, or an inbox this node may not contact.
        Failed = "failed",
        /// A dead letter: out of attempts (or too old) after retryable failures; an operator
        /// may retry it (`cocreate deliveries retry`) or purge it.
        Dead = "dead",
    }
}

text_enum! {
    /// How an HTTP request is signed: what a peer sent, and what a remote host accepted.
    SignatureScheme ("signature scheme") {
        /// draft-cavage-http-signatures-12: `Signature: keyId=...,algorithm="rsa-sha256",...`.
        Cavage = "cavage",
        /// RFC 9421 HTTP Message Signatures: `Signature-Input` and `Signature`.
        Rfc9421 = "rfc9421",
    }
}

impl SignatureScheme {
    /// The scheme to try when this one was refused (double-knocking).
    pub fn other(self) -> SignatureScheme {
        match self {
            SignatureScheme::Cavage => SignatureScheme::Rfc9421,
            SignatureScheme::Rfc9421 => SignatureScheme::Cavage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_text() {
        for k in ActorKind::ALL {
            assert_eq!(ActorKind::parse(k.as_str()), Some(*k));
        }
        for s in FollowState::ALL {
            assert_eq!(FollowState::try_from(s.to_string()).unwrap(), *s);
        }
        for s in DeliveryState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in SignatureScheme::ALL {
            assert_eq!(SignatureScheme::try_from(s.to_string()).unwrap(), *s);
            assert_eq!(s.other().other(), *s);
        }
    }

    #[test]
    fn unknown_text_is_an_error_naming_the_set() {
        let e = HandoffState::try_from("lost".to_string()).unwrap_err();
        assert_eq!(e.to_string(), "'lost' is not a known handoff state");
        assert!(ActorKind::parse("person").is_none());
    }
}
