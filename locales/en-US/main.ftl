# The pages' English text. Keys are shared by every language file; labels named in the
# interface contract (Username, Password, Sign in, ...) must keep their English wording.
skip-to-content = Skip to content
nav-home = Home
nav-sign-in = Sign in
footer-text = A Cocreate node: ideas, rooms and handoffs federated over ActivityPub.

home-title = Rooms of { $org }
home-intro = Project rooms of this organisation. Follow one from this node, or from any fediverse account.
home-rooms = Rooms
home-no-rooms = No rooms yet.
home-phase = Phase
home-ideas = Ideas
home-followed = Rooms followed from other nodes
home-none-followed = This node follows no rooms of other nodes yet.
home-follow-title = Follow a room on another node
home-follow-help = A handle such as widgets@example.com.
field-room-handle = Room handle
button-follow = Follow
visibility-public = public
visibility-partners = partners
visibility-private = private

login-title = Sign in
field-username = Username
field-password = Password
button-sign-in = Sign in

room-ideas = Ideas
room-no-ideas = No ideas yet.
room-follow-hint = Follow this room from Mastodon or any fediverse server:
idea-in-room = in
idea-supports = { $count ->
    [one] support
   *[other] supports
}
idea-stage = Stage
idea-comments = Comments
idea-no-comments = No comments yet.

error-title-400 = The request could not be understood
error-title-401 = Please sign in
error-title-403 = Not allowed
error-title-404 = Not found
error-title-409 = This changed in the meantime
error-title-413 = Too large
error-title-429 = Too many attempts
error-title-other = Something went wrong
error-text-404 = There is nothing at this address, or it is not shown to you.
error-text-500 = The node could not answer this request. Nothing was changed; please try again later.
error-back-home = Back to the home page
button-sign-out = Sign out
follow-done = You follow { $room } now, or your request waits for its stewards.
stage-suggested = suggested
stage-under_review = under review
stage-in_design = in design
stage-in_development = in development
stage-beta = beta
stage-launched = launched
stage-declined = declined
stage-merged = merged
stage-handed_off = handed off
home-origin = on its own node
error-text-410 = This was deleted by its author or by the stewards of its room.
home-latest = latest activity
