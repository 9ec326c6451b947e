//! What the software of another server means for what it is sent.
//!
//! The fediverse reads FEP-1b12 groups in two ways. Forum-like servers (Lemmy, PieFed, Mbin,
//! NodeBB, Cocreate) take a room's `Announce` of each activity and refuse, or have no use for,
//! an `Announce` of a bare object (Lemmy answers it with a 400). Microblogging servers
//! (Mastodon, Misskey and its forks, Pleroma/Akkoma, GoToSocial, ...) ignore announced
//! activities and show a new idea only when the room announces its `Page` like a boost. Some
//! servers cannot take a `Page` at all (Discourse) and get the idea as an `Article`.
//!
//! The software is what the server's NodeInfo names (`software.name`); when it is unknown,
//! the follower's actor type decides: a `Group` (a forum's category or community) is
//! forum-like, anything else is taken for a microblogging account.

use crate::domain::kinds::ActorKind;

/// A server's software as its NodeInfo names it (lowercase), with its version when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSoftware {
    pub name: String,
    pub version: Option<String>,
}

impl PeerSoftware {
    /// Reads NodeInfo's `software.name` and `software.version`; names are compared lowercase.
    pub fn new(name: &str, version: Option<&str>) -> PeerSoftware {
        PeerSoftware {
            name: name.trim().to_ascii_lowercase(),
            version: version.map(str::to_string).filter(|v| !v.is_empty()),
        }
    }

    pub fn family(&self) -> Family {
        Family::of(&self.name)
    }
}

/// How a kind of server reads a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Microblogging (Mastodon-like): ignores announced activities, shows announced objects as
    /// boosts.
    Microblog,
    /// Forums and link aggregators that read FEP-1b12 groups: announced activities only.
    Forum,
    /// Discourse: announced activities only, and ideas as `Article`s (it takes no `Page`).
    Discourse,
    /// A software this node does not know: the actor's type decides.
    Unknown,
}

/// NodeInfo names of microblogging servers.
const MICROBLOG: &[&str] = &[
    "mastodon",
    "hometown",
    "glitch-soc",
    "misskey",
    "sharkey",
    "firefish",
    "calckey",
    "foundkey",
    "iceshrimp",
    "iceshrimp.net",
    "catodon",
    "cherrypick",
    "pleroma",
    "akkoma",
    "gotosocial",
    "mitra",
    "takahe",
    "snac",
    "friendica",
    "hubzilla",
    "gnusocial",
    "honk",
    "pixelfed",
    "hollo",
    "wordpress",
];

/// NodeInfo names of forum-like servers that read FEP-1b12 groups.
const FORUM: &[&str] = &[
    "lemmy", "piefed", "mbin", "kbin", "nodebb", "lotide", "cocreate",
];

impl Family {
    pub fn of(software: &str) -> Family {
        let name = software.trim().to_ascii_lowercase();
        if name == "discourse" {
            Family::Discourse
        } else if FORUM.contains(&name.as_str()) {
            Family::Forum
        } else if MICROBLOG.contains(&name.as_str()) {
            Family::Microblog
        } else {
            Family::Unknown
        }
    }
}

/// Whether a follower needs the room's extra `Announce` of a new idea's object, from what is
/// known of its server's software, else from its actor type (a `Group` does not).
pub fn wants_announced_objects(family: Option<Family>, follower: ActorKind) -> bool {
    match family {
        Some(Family::Microblog) => true,
        Some(Family::Forum | Family::Discourse) => false,
        Some(Family::Unknown) | None => follower != ActorKind::Group,
    }
}

/// The type an idea takes for a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdeaForm {
    /// `Page`, as FEP-1b12 servers post threads.
    Page,
    /// `Article`, for servers that cannot take a `Page` (Discourse).
    Article,
}

impl IdeaForm {
    pub fn for_family(family: Option<Family>) -> IdeaForm {
        match family {
            Some(Family::Discourse) => IdeaForm::Article,
            _ => IdeaForm::Page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodeinfo_names_sort_servers_into_families() {
        assert_eq!(
            PeerSoftware::new("Mastodon", Some("4.5.0")).family(),
            Family::Microblog
        );
        assert_eq!(Family::of("lemmy"), Family::Forum);
        assert_eq!(Family::of("piefed"), Family::Forum);
        assert_eq!(Family::of("cocreate"), Family::Forum);
        assert_eq!(Family::of("discourse"), Family::Discourse);
        assert_eq!(Family::of("something-new"), Family::Unknown);
    }

    #[test]
    fn the_actor_type_decides_when_the_software_says_nothing() {
        assert!(wants_announced_objects(
            Some(Family::Microblog),
            ActorKind::Group
        ));
        assert!(!wants_announced_objects(
            Some(Family::Forum),
            ActorKind::Person
        ));
        assert!(!wants_announced_objects(
            Some(Family::Discourse),
            ActorKind::Person
        ));
        assert!(!wants_announced_objects(None, ActorKind::Group));
        assert!(wants_announced_objects(None, ActorKind::Person));
        assert!(wants_announced_objects(
            Some(Family::Unknown),
            ActorKind::Service
        ));
        assert!(!wants_announced_objects(
            Some(Family::Unknown),
            ActorKind::Group
        ));
    }

    #[test]
    fn only_discourse_gets_articles() {
        assert_eq!(
            IdeaForm::for_family(Some(Family::Discourse)),
            IdeaForm::Article
        );
        assert_eq!(
            IdeaForm::for_family(Some(Family::Microblog)),
            IdeaForm::Page
        );
        assert_eq!(IdeaForm::for_family(None), IdeaForm::Page);
    }
}
