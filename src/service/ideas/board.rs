//! What pages show of ideas beyond their API view: a room's board (every live idea with its
//! counts, in a fixed number of queries whatever the room's size) and an idea's page (its stage
//! timeline, the people it names, and what the viewer may do with it).

use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::domain::lifecycle::Stage;
use crate::domain::membership::Action;
use crate::error::Result;
use crate::service::policy;
use crate::state::Ctx;
use crate::store::ideas::StageStep;
use crate::store::models::Actor;
use crate::store::{self};

use super::{check_visible, find, IdeaDetail};

/// An idea as a room's board and list show it.
#[derive(Debug, Clone)]
pub struct IdeaCard {
    pub id: i32,
    pub ap_id: String,
    pub title: String,
    pub stage: Stage,
    /// Sanitised HTML of the description.
    pub content: String,
    pub supports: i64,
    pub comments: i64,
    pub published: NaiveDateTime,
    pub updated: NaiveDateTime,
    pub author: Person,
    pub local: bool,
}

/// Someone an idea page names: how to show them and where their home page is.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub handle: String,
    /// Their page (their ActivityPub id; on their own server for remote people).
    pub url: String,
    pub local: bool,
}

impl Person {
    fn of(a: &Actor) -> Person {
        Person {
            name: if a.display_name.trim().is_empty() {
                a.name.clone()
            } else {
                a.display_name.clone()
            },
            handle: a.handle(),
            url: a.ap_id.clone(),
            local: a.local,
        }
    }

    /// Someone this node has never fetched: shown by the address they are known by.
    fn unknown(ap_id: &str) -> Person {
        let host = url::Url::parse(ap_id)
            .ok()
            .and_then(|u| u.host_str().map(String::from));
        Person {
            name: host.unwrap_or_else(|| ap_id.to_string()),
            handle: String::new(),
            url: ap_id.to_string(),
            local: false,
        }
    }
}

/// Every live idea of a room the viewer may see (newest first), with its counts.
pub async fn board(ctx: &Ctx, viewer: Option<&Actor>, room: &Actor) -> Result<Vec<IdeaCard>> {
    let (room, viewer) = (room.clone(), viewer.cloned());
    ctx.db
        .read(move |c| {
            check_visible(c, &room, viewer.as_ref())?;
            let rows = store::ideas::board_of_room(c, room.id)?;
            let mut author_ids: Vec<i32> = rows.iter().map(|(i, _, _)| i.author_id).collect();
            author_ids.sort_unstable();
            author_ids.dedup();
            let authors: HashMap<i32, Person> = store::actors::by_ids(c, &author_ids)?
                .iter()
                .map(|a| (a.id, Person::of(a)))
                .collect();
            Ok(rows
                .into_iter()
                .map(|(i, supports, comments)| IdeaCard {
                    author: authors
                        .get(&i.author_id)
                        .cloned()
                        .unwrap_or_else(|| Person::unknown("")),
                    id: i.id,
                    ap_id: i.ap_id,
                    title: i.title,
                    stage: i.stage,
                    content: i.content,
                    supports,
                    comments,
                    published: i.published,
                    updated: i.updated,
                    local: i.local,
                })
                .collect())
        })
        .await
}

/// What an idea's page shows beyond its [`IdeaDetail`], for one viewer.
#[derive(Debug)]
pub struct IdeaExtras {
    /// Every stage the idea has been in, oldest first, with the answers given.
    pub timeline: Vec<StageStep>,
    /// The people the idea names (author, contributors, commenters, organisations of its
    /// provenance), by ActivityPub id.
    pub people: HashMap<String, Person>,
    /// Whether the viewer supports it.
    pub supported: bool,
    /// Whether the viewer may support it now, or why not.
    pub may_support: std::result::Result<(), String>,
    /// Whether the viewer may comment now, or why not.
    pub may_comment: std::result::Result<(), String>,
    /// Whether the viewer may change its stage (staff of the room's node).
    pub may_change_stage: bool,
    /// Whether the viewer stewards its room (credit, merge, offer).
    pub stewards: bool,
}

impl IdeaExtras {
    /// The person at `ap_id`, as well as this node knows them.
    pub fn person(&self, ap_id: &str) -> Person {
        self.people
            .get(ap_id)
            .cloned()
            .unwrap_or_else(|| Person::unknown(ap_id))
    }
}

/// The extras of an idea's page for `viewer` (`None`: not signed in).
pub async fn extras(ctx: &Ctx, viewer: Option<&Actor>, idea: &IdeaDetail) -> Result<IdeaExtras> {
    let viewer = viewer.cloned();
    let ap_id = idea.ap_id.clone();
    let mut named: Vec<String> = vec![idea.author.clone()];
    named.extend(idea.contributors.iter().map(|c| c.actor.clone()));
    named.extend(idea.comments.iter().map(|c| c.author.clone()));
    for step in &idea.provenance {
        for key in ["from", "to"] {
            if let Some(s) = step[key].as_str() {
                named.push(s.to_string());
            }
        }
    }
    named.sort();
    named.dedup();
    ctx.db
        .read(move |c| {
            let i = find(c, &ap_id)?;
            let room = store::actors::by_id(c, i.room_id)?;
            let timeline = store::ideas::stage_history(c, i.id)?;
            let people = store::actors::by_ap_ids(c, &named)?
                .iter()
                .map(|a| (a.ap_id.clone(), Person::of(a)))
                .collect();
            let not_signed_in = || Err("sign in to take part".to_string());
            let (supported, may_support, may_comment, may_change_stage, stewards) = match &viewer {
                None => (false, not_signed_in(), not_signed_in(), false, false),
                Some(v) => {
                    let supported = store::supports::activity_of(c, i.id, v.id)?.is_some();
                    let live = policy::require_live_idea(&i).map_err(|e| e.to_string());
                    let (support, comment) = if room.local {
                        (
                            policy::authorize(c, &room, v, Action::Support { stage: i.stage })?,
                            policy::authorize(c, &room, v, Action::Comment { stage: i.stage })?,
                        )
                    } else {
                        // The room's node decides, and answers with a Reject saying why.
                        (Ok(()), Ok(()))
                    };
                    (
                        supported,
                        live.clone().and(support),
                        live.and(comment),
                        room.local && policy::is_staff(v) && policy::is_open(&i),
                        policy::is_steward(c, &room, v)?,
                    )
                }
            };
            Ok(IdeaExtras {
                timeline,
                people,
                supported,
                may_support,
                may_comment,
                may_change_stage,
                stewards,
            })
        })
        .await
}
