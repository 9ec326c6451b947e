# Die deutschen Texte der Seiten.
skip-to-content = Zum Inhalt springen
nav-home = Startseite
nav-sign-in = Anmelden
footer-text = Ein Cocreate-Knoten: Ideen, Räume und Übergaben, föderiert über ActivityPub.

home-title = Räume von { $org }
home-intro = Die Projekträume dieser Organisation. Folgen Sie einem Raum von diesem Knoten aus oder mit einem beliebigen Fediverse-Konto.
home-rooms = Räume
home-no-rooms = Noch keine Räume.
home-phase = Phase
home-ideas = Ideen
home-followed = Gefolgte Räume anderer Knoten
home-none-followed = Dieser Knoten folgt noch keinen Räumen anderer Knoten.
home-follow-title = Einem Raum auf einem anderen Knoten folgen
home-follow-help = Ein Handle wie widgets@example.com.
field-room-handle = Raum-Handle
button-follow = Folgen
visibility-public = öffentlich
visibility-partners = Partner
visibility-private = privat

login-title = Anmelden
field-username = Benutzername
field-password = Passwort
button-sign-in = Anmelden

room-ideas = Ideen
room-no-ideas = Noch keine Ideen.
room-follow-hint = Folgen Sie diesem Raum von Mastodon oder einem anderen Fediverse-Server:
idea-in-room = in
idea-supports = { $count ->
    [one] Unterstützung
   *[other] Unterstützungen
}
idea-stage = Phase
idea-comments = Kommentare
idea-no-comments = Noch keine Kommentare.

error-title-400 = Die Anfrage war nicht verständlich
error-title-401 = Bitte melden Sie sich an
error-title-403 = Nicht erlaubt
error-title-404 = Nicht gefunden
error-title-409 = Das hat sich inzwischen geändert
error-title-413 = Zu groß
error-title-429 = Zu viele Versuche
error-title-other = Etwas ist schiefgegangen
error-text-404 = Unter dieser Adresse gibt es nichts, oder es wird Ihnen nicht angezeigt.
error-text-500 = Der Knoten konnte diese Anfrage nicht beantworten. Nichts wurde geändert; bitte versuchen Sie es später noch einmal.
error-back-home = Zurück zur Startseite
button-sign-out = Abmelden
follow-done = Sie folgen { $room } jetzt, oder Ihre Anfrage wartet auf die Verantwortlichen.
stage-suggested = vorgeschlagen
stage-under_review = in Prüfung
stage-in_design = im Entwurf
stage-in_development = in Entwicklung
stage-beta = Beta
stage-launched = eingeführt
stage-declined = abgelehnt
stage-merged = zusammengeführt
stage-handed_off = übergeben
home-origin = auf seinem eigenen Knoten
error-text-410 = Dies wurde von seiner Autorin, seinem Autor oder den Verantwortlichen des Raums gelöscht.
home-latest = zuletzt aktiv
