# Vom eigenen Server aus handeln: das Handle-Formular für Besucher und die Intent-Seiten
# (FEP-3b86, Mastodons Remote-Interaktion) für Personen dieses Knotens.
interact-title-follow = Vom eigenen Server aus folgen
interact-title-like = Vom eigenen Server aus unterstützen
interact-title-reply = Vom eigenen Server aus antworten
interact-intro-follow = Folgen Sie dem Raum „{ $title }“ mit Ihrem Konto bei Mastodon oder einem anderen Fediverse-Server. Geben Sie Ihr Handle ein; bestätigen Sie dann auf Ihrem Server.
interact-intro-like = Unterstützen Sie die Idee „{ $title }“ mit Ihrem Konto bei Mastodon oder einem anderen Fediverse-Server. Geben Sie Ihr Handle ein; bestätigen Sie dann auf Ihrem Server.
interact-intro-reply = Antworten Sie auf die Idee „{ $title }“ mit Ihrem Konto bei Mastodon oder einem anderen Fediverse-Server. Geben Sie Ihr Handle ein; schreiben Sie die Antwort dann auf Ihrem Server.
field-remote-handle = Ihr Fediverse-Handle
interact-handle-help = Ihr Name und Ihr Server, etwa ana@social.example.
interact-privacy = Ihr Handle dient nur dazu, Ihren Server zu finden, und wird hier nicht gespeichert.
button-continue = Weiter

intent-title-follow = { $name } folgen
intent-title-like = „{ $title }“ unterstützen
intent-title-reply = Auf „{ $title }“ antworten
intent-kind-group = Raum
intent-kind-person = Person
intent-kind-organization = Organisation
intent-kind-service = Dienst
intent-kind-application = Server
intent-kind-idea = Idee
intent-kind-comment = Kommentar zu einer Idee
intent-in-room = Im Raum { $room }
intent-follow-accepted = Sie folgen bereits.
intent-follow-pending = Ihre Folgeanfrage wartet auf Antwort.
intent-follow-rejected = Ihre Folgeanfrage wurde abgelehnt; Sie können erneut anfragen.
field-reply = Ihre Antwort
button-reply = Antworten
intent-done-follow = Erledigt: Sie folgen jetzt, oder Ihre Anfrage wartet auf Antwort.
intent-done-like = Erledigt: Sie unterstützen diese Idee.
intent-done-reply = Erledigt: Ihre Antwort wurde gesendet.
