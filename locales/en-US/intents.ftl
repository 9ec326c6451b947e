# Acting from one's own server: the handle form for visitors, and the intent pages (FEP-3b86,
# Mastodon's remote interaction) for people of this node.
interact-title-follow = Follow from your own server
interact-title-like = Support from your own server
interact-title-reply = Reply from your own server
interact-intro-follow = Follow the room “{ $title }” with your account on Mastodon or any fediverse server. Type your handle and you go to your server to confirm.
interact-intro-like = Support the idea “{ $title }” with your account on Mastodon or any fediverse server. Type your handle and you go to your server to confirm.
interact-intro-reply = Reply to the idea “{ $title }” with your account on Mastodon or any fediverse server. Type your handle and you go to your server to write it.
field-remote-handle = Your fediverse handle
interact-handle-help = Your name and your server, such as ana@social.example.
interact-privacy = Your handle is used once, to find your server, and is not stored here.
button-continue = Continue

intent-title-follow = Follow { $name }
intent-title-like = Support “{ $title }”
intent-title-reply = Reply to “{ $title }”
intent-kind-group = Room
intent-kind-person = Person
intent-kind-organization = Organisation
intent-kind-service = Service
intent-kind-application = Server
intent-kind-idea = Idea
intent-kind-comment = Comment on an idea
intent-in-room = In the room { $room }
intent-follow-accepted = You follow this.
intent-follow-pending = Your follow waits for an answer.
intent-follow-rejected = Your follow was declined; you can ask again.
field-reply = Your reply
button-reply = Reply
intent-done-follow = Done: you follow it now, or your request waits for an answer.
intent-done-like = Done: you support this idea.
intent-done-reply = Done: your reply was sent.
