//! The idea life cycle: which stage may follow which.
//!
//! `suggested -> under_review -> in_design -> in_development -> beta -> launched`, one step at a
//! time (a room may not skip review); from any open stage an idea may be `declined`, `merged`
//! or `handed_off`. A declined idea may be reopened for review. `launched`, `merged` and
//! `handed_off` are final.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Suggested,
    UnderReview,
    InDesign,
    InDevelopment,
    Beta,
    Launched,
    Declined,
    Merged,
    HandedOff,
}

const MAIN_LINE: [Stage; 6] = [
    Stage::Suggested,
    Stage::UnderReview,
    Stage::InDesign,
    Stage::InDevelopment,
    Stage::Beta,
    Stage::Launched,
];

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Suggested,
        Stage::UnderReview,
        Stage::InDesign,
        Stage::InDevelopment,
        Stage::Beta,
        Stage::Launched,
        Stage::Declined,
        Stage::Merged,
        Stage::HandedOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Suggested => "suggested",
            Stage::UnderReview => "under_review",
            Stage::InDesign => "in_design",
            Stage::InDevelopment => "in_development",
            Stage::Beta => "beta",
            Stage::Launched => "launched",
            Stage::Declined => "declined",
            Stage::Merged => "merged",
            Stage::HandedOff => "handed_off",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Open stages still accept work; final ones do not.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Stage::Launched | Stage::Declined | Stage::Merged | Stage::HandedOff
        )
    }
}

impl TryFrom<String> for Stage {
    type Error = crate::domain::kinds::UnknownValue;
    fn try_from(s: String) -> Result<Stage, Self::Error> {
        Stage::parse(&s).ok_or(crate::domain::kinds::UnknownValue {
            set: "idea stage",
            value: s,
        })
    }
}

impl From<Stage> for String {
    fn from(s: Stage) -> String {
        s.as_str().to_string()
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an idea may move from `from` to `to`.
pub fn transition_allowed(from: Stage, to: Stage) -> bool {
    if from == to {
        return false;
    }
    match to {
        Stage::Declined | Stage::Merged | Stage::HandedOff => from.is_open(),
        Stage::UnderReview if from == Stage::Declined => true,
        _ => {
            let pos = |s: Stage| MAIN_LINE.iter().position(|m| *m == s);
            matches!((pos(from), pos(to)), (Some(a), Some(b)) if b == a + 1)
        }
    }
}

/// The stages an idea in `from` may move to, in life-cycle order.
pub fn next_stages(from: Stage) -> Vec<Stage> {
    Stage::ALL
        .into_iter()
        .filter(|to| transition_allowed(from, *to))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_line_moves_one_step_at_a_time() {
        assert!(transition_allowed(Stage::Suggested, Stage::UnderReview));
        assert!(transition_allowed(Stage::Beta, Stage::Launched));
        assert!(!transition_allowed(Stage::Suggested, Stage::InDesign));
        assert!(!transition_allowed(Stage::InDesign, Stage::UnderReview));
        assert!(!transition_allowed(Stage::Beta, Stage::Beta));
    }

    #[test]
    fn open_ideas_can_close_and_final_ones_cannot_move() {
        for s in [Stage::Suggested, Stage::UnderReview, Stage::Beta] {
            assert!(transition_allowed(s, Stage::Declined));
            assert!(transition_allowed(s, Stage::Merged));
            assert!(transition_allowed(s, Stage::HandedOff));
        }
        for s in [Stage::Launched, Stage::Merged, Stage::HandedOff] {
            assert!(next_stages(s).is_empty(), "{s} must be final");
        }
    }

    #[test]
    fn declined_ideas_can_be_reopened_for_review_only() {
        assert_eq!(next_stages(Stage::Declined), vec![Stage::UnderReview]);
    }

    #[test]
    fn stage_names_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        assert_eq!(Stage::parse("shipped"), None);
    }
}
