//! Who may do what in a room: roles, visibility and the switches of the current phase.
//!
//! A room's phases are bundles of switches (Decidim's phases-as-switches): which roles may
//! submit ideas, comment, support, see the ideas, and which idea stages the phase covers. One
//! pure function, [`check`], decides every action, for local and remote actors alike, and says
//! why when it refuses.

use serde::{Deserialize, Serialize};

use super::lifecycle::Stage;
use super::Visibility;

/// A member's role in a room. Anyone who is not a member counts as a `Customer` in a public
/// room and has no role at all in a partners or private room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Steward,
    Partner,
    Customer,
    Observer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Steward, Role::Partner, Role::Customer, Role::Observer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Steward => "steward",
            Role::Partner => "partner",
            Role::Customer => "customer",
            Role::Observer => "observer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Role {
    type Error = crate::domain::kinds::UnknownValue;
    fn try_from(s: String) -> Result<Role, Self::Error> {
        Role::parse(&s).ok_or(crate::domain::kinds::UnknownValue {
            set: "role",
            value: s,
        })
    }
}

/// What kind of partner an organisation or person is to the room's company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Supplier,
    Agency,
    Competitor,
    Other,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 4] = [
        PartnerKind::Supplier,
        PartnerKind::Agency,
        PartnerKind::Competitor,
        PartnerKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Supplier => "supplier",
            PartnerKind::Agency => "agency",
            PartnerKind::Competitor => "competitor",
            PartnerKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<PartnerKind> {
        PartnerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One phase of a room: a name and its switches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    /// Roles that may submit ideas.
    pub submit: Vec<Role>,
    /// Roles that may comment.
    pub comment: Vec<Role>,
    /// Roles that may support ideas.
    pub support: Vec<Role>,
    /// Roles that see the room's ideas.
    pub see: Vec<Role>,
    /// Idea stages this phase works on; comments and support on ideas in other stages are
    /// refused. Empty means every stage.
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// What input the room wants in this phase, in the stewards' words (the room page's
    /// banner shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The last day of the phase, when the stewards set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<chrono::NaiveDate>,
}

impl Phase {
    /// The phase of a room that configured none: everyone with a role may do everything.
    pub fn open() -> Phase {
        Phase {
            name: "open".into(),
            submit: Role::ALL.to_vec(),
            comment: Role::ALL.to_vec(),
            support: Role::ALL.to_vec(),
            see: Role::ALL.to_vec(),
            stages: Vec::new(),
            description: None,
            until: None,
        }
    }
}

/// Something an actor wants to do in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    See,
    Submit,
    Comment { stage: Stage },
    Support { stage: Stage },
}

/// The role an actor has in a room, given its membership (if any).
pub fn effective_role(visibility: Visibility, membership: Option<Role>) -> Option<Role> {
    match (membership, visibility) {
        (Some(role), _) => Some(role),
        (None, Visibility::Public) => Some(Role::Customer),
        (None, _) => None,
    }
}

/// Decides an action; `Err` carries the reason shown to the actor (and sent in a `Reject`).
pub fn check(
    visibility: Visibility,
    phase: &Phase,
    membership: Option<Role>,
    action: Action,
) -> Result<(), String> {
    let Some(role) = effective_role(visibility, membership) else {
        return Err(format!(
            "this room is {}: only its members may take part",
            visibility.as_str()
        ));
    };
    if role == Role::Steward {
        return Ok(());
    }
    let (allowed, verb, stage) = match action {
        Action::See => (&phase.see, "see the ideas", None),
        Action::Submit => (&phase.submit, "submit ideas", None),
        Action::Comment { stage } => (&phase.comment, "comment", Some(stage)),
        Action::Support { stage } => (&phase.support, "support ideas", Some(stage)),
    };
    if !allowed.contains(&role) {
        return Err(format!(
            "in the phase '{}' a {} may not {verb}",
            phase.name,
            role.as_str()
        ));
    }
    if let Some(stage) = stage {
        if !phase.stages.is_empty() && !phase.stages.contains(&stage) {
            return Err(format!(
                "the phase '{}' does not work on ideas that are {stage}",
                phase.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partners_only() -> Phase {
        Phase {
            name: "design with partners".into(),
            submit: vec![Role::Partner],
            comment: vec![Role::Partner, Role::Observer],
            support: vec![Role::Partner],
            see: vec![Role::Partner, Role::Observer],
            description: None,
            until: None,
            stages: vec![Stage::InDesign],
        }
    }

    #[test]
    fn public_rooms_treat_strangers_as_customers() {
        let open = Phase::open();
        assert!(check(Visibility::Public, &open, None, Action::Submit).is_ok());
        let err = check(Visibility::Public, &partners_only(), None, Action::Submit).unwrap_err();
        assert!(err.contains("customer may not submit"), "{err}");
    }

    #[test]
    fn non_public_rooms_refuse_strangers() {
        for v in [Visibility::Partners, Visibility::Private] {
            let err = check(v, &Phase::open(), None, Action::See).unwrap_err();
            assert!(err.contains("only its members"), "{err}");
        }
        assert!(check(
            Visibility::Private,
            &Phase::open(),
            Some(Role::Observer),
            Action::See
        )
        .is_ok());
    }

    #[test]
    fn switches_and_stages_decide_for_members() {
        let p = partners_only();
        let in_design = Stage::InDesign;
        assert!(check(
            Visibility::Partners,
            &p,
            Some(Role::Partner),
            Action::Comment { stage: in_design }
        )
        .is_ok());
        assert!(check(
            Visibility::Partners,
            &p,
            Some(Role::Observer),
            Action::Support { stage: in_design }
        )
        .is_err());
        let err = check(
            Visibility::Partners,
            &p,
            Some(Role::Partner),
            Action::Comment { stage: Stage::Beta },
        )
        .unwrap_err();
        assert!(
            err.contains("does not work on ideas that are beta"),
            "{err}"
        );
        assert!(check(
            Visibility::Partners,
            &p,
            Some(Role::Steward),
            Action::Submit
        )
        .is_ok());
    }

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for k in PartnerKind::ALL {
            assert_eq!(PartnerKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
