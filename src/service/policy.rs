//! Who may do what: every permission rule of the node, each written once and named, for the
//! REST API, the inbox and the pages alike.
//!
//! The pure decision of what a role may do in a phase is [`crate::domain::membership::check`];
//! this module looks up what that decision needs (the actor's membership, the room's current
//! phase) and adds the rules that are not about phases: staff, stewards, the room's node
//! moderating its ideas, authors editing their own work, objects that were deleted, and who may
//! read a room. Functions named `require_*` answer with the error to show; the others answer
//! a yes or no and leave the wording to the caller.

use crate::domain::kinds::{ActorKind, FollowState};
use crate::domain::lifecycle::Stage;
use crate::domain::membership::{self as rules, Action, Phase, Role};
use crate::domain::Visibility;
use crate::error::{Error, Result};
use crate::store::models::{Actor, Comment, Idea, RoomMember, RoomSettings};
use crate::store::{self, DbConnection};
use crate::vocab;

// ---- rooms ----

/// A room's visibility; rooms of nodes that do not say are public.
pub fn visibility(room: &Actor) -> Visibility {
    room.room_visibility()
}

/// Whether a room is public: followed without approval, its content addressed to everyone.
pub fn is_public(room: &Actor) -> bool {
    visibility(room) == Visibility::Public
}

/// The membership that applies to `actor` in `room`: its own, or its organisation's (an
/// `Organization` member on the actor's host).
pub fn membership(c: &mut DbConnection, room: &Actor, actor: &Actor) -> Result<Option<RoomMember>> {
    let rows = store::members::on_host(c, room.id, &actor.host)?;
    Ok(membership_among(
        rows.into_iter().map(|(m, a)| (m, a.kind)),
        actor,
    ))
}

/// Which of `rows` (memberships of one room held by actors on `actor`'s host, with each
/// member's kind) applies to `actor`: its own, else its organisation's.
pub fn membership_among(
    rows: impl IntoIterator<Item = (RoomMember, ActorKind)>,
    actor: &Actor,
) -> Option<RoomMember> {
    let mut org = None;
    for (m, kind) in rows {
        if m.actor_id == actor.id {
            return Some(m);
        }
        if kind == ActorKind::Organization && org.is_none() {
            org = Some(m);
        }
    }
    org
}

/// The role `actor` has in `room` by membership; staff of the room's own node are stewards of
/// every room of that node.
pub fn role_in(c: &mut DbConnection, room: &Actor, actor: &Actor) -> Result<Option<Role>> {
    if let Some(role) = staff_role(room, actor) {
        return Ok(Some(role));
    }
    Ok(membership(c, room, actor)?.map(|m| m.role))
}

/// The role that staff of a local room's own node have there, whatever their membership.
fn staff_role(room: &Actor, actor: &Actor) -> Option<Role> {
    (room.local && actor.local && actor.staff).then_some(Role::Steward)
}

/// Whether `actor` stewards the local `room` (remote rooms are stewarded on their own node).
pub fn is_steward(c: &mut DbConnection, room: &Actor, actor: &Actor) -> Result<bool> {
    Ok(room.local && role_in(c, room, actor)? == Some(Role::Steward))
}

/// Refuses unless `actor` stewards the local `room`; `what` completes "only stewards of the
/// room {what}".
pub fn require_steward(
    c: &mut DbConnection,
    room: &Actor,
    actor: &Actor,
    what: &str,
) -> Result<()> {
    if is_steward(c, room, actor)? {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "only stewards of {} {what}",
            room.handle()
        )))
    }
}

/// A local room by name, if `steward` stewards it (404 for no such room, 403 otherwise).
pub fn steward_room(c: &mut DbConnection, steward: &Actor, room_name: &str) -> Result<Actor> {
    let room = store::actors::local_by_name(c, room_name)?
        .filter(|a| a.is_room())
        .ok_or_else(|| Error::not_found(format!("room '{room_name}'")))?;
    if !is_steward(c, &room, steward)? {
        return Err(Error::Forbidden(format!(
            "only stewards of '{room_name}' can do this"
        )));
    }
    Ok(room)
}

/// The room's current phase (all switches open when the room has none).
pub fn current_phase(c: &mut DbConnection, room: &Actor) -> Result<Phase> {
    Ok(phase_of(store::rooms::settings(c, room.id)?.as_ref()))
}

/// The current phase a room's settings give (a room without settings is open).
pub fn phase_of(settings: Option<&RoomSettings>) -> Phase {
    settings
        .and_then(|s| s.phases.0.get(s.current_phase.max(0) as usize).cloned())
        .unwrap_or_else(Phase::open)
}

/// Decides an action of `actor` in a local `room` by its role and the current phase; the
/// inner error is the reason to show (and to send in a `Reject`).
pub fn authorize(
    c: &mut DbConnection,
    room: &Actor,
    actor: &Actor,
    action: Action,
) -> Result<std::result::Result<(), String>> {
    let settings = store::rooms::settings(c, room.id)?;
    authorize_in(c, room, settings.as_ref(), actor, action)
}

/// [`authorize`] with the room's settings already read.
pub fn authorize_in(
    c: &mut DbConnection,
    room: &Actor,
    settings: Option<&RoomSettings>,
    actor: &Actor,
    action: Action,
) -> Result<std::result::Result<(), String>> {
    let role = role_in(c, room, actor)?;
    Ok(rules::check(
        visibility(room),
        &phase_of(settings),
        role,
        action,
    ))
}

/// [`authorize`] with the room's settings and the memberships that may apply to `actor`
/// (see [`membership_among`]) already read.
pub fn authorize_among(
    room: &Actor,
    settings: Option<&RoomSettings>,
    actor: &Actor,
    memberships: impl IntoIterator<Item = (RoomMember, ActorKind)>,
    action: Action,
) -> std::result::Result<(), String> {
    let role =
        staff_role(room, actor).or_else(|| membership_among(memberships, actor).map(|m| m.role));
    rules::check(visibility(room), &phase_of(settings), role, action)
}

/// Like [`authorize`], as an error: for local actors, who get a 403 with the reason.
pub fn require(c: &mut DbConnection, room: &Actor, actor: &Actor, action: Action) -> Result<()> {
    authorize(c, room, actor, action)?.map_err(Error::Forbidden)
}

/// Whether `signer` may read content of local `room` (a signed fetch, or a local user through
/// the API and pages): public rooms are readable by anyone; otherwise the signer must be a
/// member, or an actor of a member's node (the node fetches on behalf of its member), whose
/// role may `See` in the current phase. Local staff always may.
pub fn may_read(c: &mut DbConnection, room: &Actor, signer: Option<&Actor>) -> Result<bool> {
    if is_public(room) {
        return Ok(true);
    }
    let Some(signer) = signer else {
        return Ok(false);
    };
    let phase = current_phase(c, room)?;
    if signer.local {
        let role = role_in(c, room, signer)?;
        return Ok(
            signer.staff || rules::check(visibility(room), &phase, role, Action::See).is_ok()
        );
    }
    let members = store::members::on_host(c, room.id, &signer.host)?;
    Ok(members
        .iter()
        .any(|(m, _)| rules::check(visibility(room), &phase, Some(m.role), Action::See).is_ok()))
}

/// Whether the node on `host` follows the local `actor` (Lemmy's `is_follower` check): it holds
/// an accepted follower of it, or, for a non-public room, a member whose role may read it.
pub fn followed_from(c: &mut DbConnection, actor: &Actor, host: &str) -> Result<bool> {
    if store::follows::followers_of(c, actor.id)?
        .iter()
        .any(|f| f.host == host)
    {
        return Ok(true);
    }
    if !actor.is_room() || is_public(actor) {
        return Ok(false);
    }
    let phase = current_phase(c, actor)?;
    Ok(store::members::on_host(c, actor.id, host)?
        .iter()
        .any(|(m, _)| rules::check(visibility(actor), &phase, Some(m.role), Action::See).is_ok()))
}

/// Whether a local user may see the ideas of `room` through this node: public rooms are open;
/// a remote non-public room is visible to local members (people, or everyone when the
/// organisation is a member), who are the ones following it; a local one per [`may_read`].
pub fn may_see(c: &mut DbConnection, room: &Actor, user: &Actor) -> Result<bool> {
    if is_public(room) {
        return Ok(true);
    }
    if room.local {
        return may_read(c, room, Some(user));
    }
    let org = store::actors::local_of_kind(c, ActorKind::Organization)?;
    for follower in [Some(user.id), org.map(|o| o.id)].into_iter().flatten() {
        if store::follows::between(c, follower, room.id)?
            .is_some_and(|f| f.state == FollowState::Accepted)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

// ---- staff and the room's node ----

/// Whether `user` is staff of this node.
pub fn is_staff(user: &Actor) -> bool {
    user.local && user.staff
}

/// Refuses unless `user` is staff of this node; `what` completes "only staff can {what}".
pub fn require_staff(user: &Actor, what: &str) -> Result<()> {
    if is_staff(user) {
        Ok(())
    } else {
        Err(Error::Forbidden(format!("only staff can {what}")))
    }
}

/// Whether `actor` speaks for the node hosting `room`, which moderates the room's ideas: local
/// staff for a local room, any actor of the room's host for a remote one (that node's own
/// checks decided who may act). Only the room's node sets stages, answers, credit and links
/// of an idea, and it may delete any idea of its rooms.
pub fn moderates(actor: &Actor, room: &Actor) -> bool {
    if room.local {
        actor.local && actor.staff
    } else {
        vocab::same_host(&actor.ap_id, &room.ap_id)
    }
}

// ---- ideas and comments ----

/// Refuses any change to an idea that was deleted.
pub fn require_live_idea(idea: &Idea) -> Result<()> {
    if idea.deleted {
        Err(Error::Conflict("the idea was deleted".into()))
    } else {
        Ok(())
    }
}

/// Refuses any change to a comment that was deleted.
pub fn require_live_comment(comment: &Comment) -> Result<()> {
    if comment.deleted {
        Err(Error::Conflict("the comment was deleted".into()))
    } else {
        Ok(())
    }
}

/// Whether an idea still takes work (not deleted, not in a final stage): only open ideas are
/// merged or offered to another organisation.
pub fn is_open(idea: &Idea) -> bool {
    !idea.deleted && idea.stage.is_open()
}

/// Whether `actor` may edit an idea's title and text: its author, on the author's node.
pub fn may_edit_idea(actor: &Actor, idea: &Idea) -> bool {
    idea.local && idea.author_id == actor.id
}

/// Whether `actor` may delete an idea of `room`: its author, or the room's node.
pub fn may_delete_idea(actor: &Actor, idea: &Idea, room: &Actor) -> bool {
    idea.author_id == actor.id || moderates(actor, room)
}

/// Whether `actor` may edit or delete a comment: its author only.
pub fn may_change_comment(actor: &Actor, comment: &Comment) -> bool {
    comment.author_id == actor.id
}

/// Whether `user` answers for invitations addressed to `invitee`: its own, or, for staff, its
/// organisation's.
pub fn answers_for(user: &Actor, invitee: &Actor) -> bool {
    invitee.id == user.id
        || (invitee.local && invitee.kind == ActorKind::Organization && user.local && user.staff)
}

/// Whether `user` may withdraw an offer `offerer` made: the offering steward, or staff.
pub fn may_withdraw_offer(user: &Actor, offerer: Option<&str>) -> bool {
    offerer == Some(user.ap_id.as_str()) || (user.local && user.staff)
}

/// Whether `actor` may set an idea's stage: the room's node, and only for moves the life
/// cycle allows.
pub fn may_move_stage(actor: &Actor, room: &Actor, from: Stage, to: Stage) -> bool {
    moderates(actor, room) && crate::domain::lifecycle::transition_allowed(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::models::{test_actor, Actor};

    fn actor(ap_id: &str, local: bool, staff: bool) -> Actor {
        test_actor(ap_id, ActorKind::Person, local, staff)
    }

    fn room(ap_id: &str, local: bool, visibility: Option<&str>) -> Actor {
        let mut r = actor(ap_id, local, false);
        r.id = 2;
        r.kind = ActorKind::Group;
        r.visibility = visibility.map(String::from);
        r
    }

    #[test]
    fn rooms_without_a_visibility_are_public() {
        assert!(is_public(&room("https://a.example/r/x", false, None)));
        assert!(is_public(&room(
            "https://a.example/r/x",
            true,
            Some("public")
        )));
        assert!(!is_public(&room(
            "https://a.example/r/x",
            true,
            Some("partners")
        )));
        assert_eq!(
            visibility(&room("https://a.example/r/x", true, Some("private"))),
            Visibility::Private
        );
    }

    #[test]
    fn local_staff_moderate_local_rooms_and_a_remote_rooms_node_moderates_its_own() {
        let local_room = room("https://here.example/r/x", true, None);
        assert!(moderates(
            &actor("https://here.example/u/staff", true, true),
            &local_room
        ));
        assert!(!moderates(
            &actor("https://here.example/u/bob", true, false),
            &local_room
        ));
        assert!(!moderates(
            &actor("https://there.example/u/s", false, true),
            &local_room
        ));
        let remote_room = room("https://there.example/r/y", false, None);
        assert!(moderates(
            &actor("https://there.example/u/anyone", false, false),
            &remote_room
        ));
        assert!(!moderates(
            &actor("https://third.example/u/x", false, false),
            &remote_room
        ));
        assert!(!moderates(
            &actor("https://here.example/u/staff", true, true),
            &remote_room
        ));
    }

    #[test]
    fn only_local_staff_pass_the_staff_rule() {
        assert!(require_staff(&actor("https://h.example/u/a", true, true), "create rooms").is_ok());
        let e = require_staff(&actor("https://h.example/u/b", true, false), "create rooms")
            .unwrap_err();
        assert_eq!(e.to_string(), "only staff can create rooms");
        assert!(require_staff(&actor("https://o.example/u/c", false, true), "x").is_err());
    }

    #[test]
    fn stage_moves_need_the_rooms_node_and_an_allowed_transition() {
        let r = room("https://here.example/r/x", true, None);
        let staff = actor("https://here.example/u/staff", true, true);
        assert!(may_move_stage(
            &staff,
            &r,
            Stage::Suggested,
            Stage::UnderReview
        ));
        assert!(!may_move_stage(
            &staff,
            &r,
            Stage::Suggested,
            Stage::Launched
        ));
        let bob = actor("https://here.example/u/bob", true, false);
        assert!(!may_move_stage(
            &bob,
            &r,
            Stage::Suggested,
            Stage::UnderReview
        ));
    }

    fn member(id: i32, actor_id: i32, role: Role) -> RoomMember {
        RoomMember {
            id,
            room_id: 2,
            actor_id,
            role,
            partner_kind: None,
            created_at: chrono::NaiveDateTime::default(),
        }
    }

    #[test]
    fn an_actors_own_membership_applies_before_its_organisations() {
        let mut bob = actor("https://acme.example/u/bob", false, false);
        bob.id = 7;
        let org = (member(1, 9, Role::Partner), ActorKind::Organization);
        let own = (member(2, 7, Role::Customer), ActorKind::Person);
        let other = (member(3, 8, Role::Steward), ActorKind::Person);
        let applies =
            |rows: Vec<(RoomMember, ActorKind)>| membership_among(rows, &bob).map(|m| m.id);
        assert_eq!(applies(vec![org.clone(), own.clone()]), Some(2));
        assert_eq!(applies(vec![other.clone(), org.clone()]), Some(1));
        assert_eq!(applies(vec![other]), None);
        assert_eq!(applies(vec![]), None);
        // Staff of the room's own node are stewards whatever their membership.
        let mut staff = actor("https://here.example/u/staff", true, true);
        staff.id = 7;
        let local_room = room("https://here.example/r/x", true, Some("partners"));
        let action = Action::Comment {
            stage: Stage::Suggested,
        };
        assert!(authorize_among(&local_room, None, &staff, vec![], action).is_ok());
        assert!(authorize_among(&local_room, None, &bob, vec![], action).is_err());
        assert!(authorize_among(&local_room, None, &bob, vec![org], action).is_ok());
    }
}
