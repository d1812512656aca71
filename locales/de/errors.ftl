# Fehlerseiten auf Deutsch. Ein Titel sagt in einfachen Worten, was passiert ist (nie eine
# HTTP-Statusphrase); eine Meldung ist ein ganzer Satz für die Person, ohne interne Details.

## Titel

error-title-not-found = Diese Seite gibt es nicht
error-title-bad-request = Lanyard konnte diese Anfrage nicht verwenden
error-title-csrf = Das Formular ist abgelaufen
error-title-too-large = Das war mehr, als Lanyard annimmt
error-title-forbidden = Für Sie nicht verfügbar
error-title-unauthorized = Bitte melden Sie sich an
error-title-too-busy = Zu viele laufende Anmeldungen
error-title-store = Lanyard ist kurz nicht verfügbar
error-title-internal = Etwas ist schiefgegangen
error-title-upstream = Anmeldung mit { $provider } fehlgeschlagen
error-title-provider-unavailable = { $provider } ist nicht verfügbar

## Was jede Fehlerseite hat

error-try-again = Erneut versuchen
error-reference = Referenz: { $id }
error-back-signin = Zurück zur Anmeldung
error-back-roles = Zurück zu Ihren Rollen
error-back-device = Zurück zur Geräteanmeldung

## Meldungen

error-store = Lanyard erreicht seinen Sitzungsspeicher gerade nicht. Bitte versuchen Sie es gleich noch einmal.
error-internal = Bei uns ist etwas schiefgegangen.
error-csrf = Dieses Formular ist abgelaufen oder wurde nicht von Lanyards eigener Seite gesendet. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
error-too-large = Die Anfrage ist zu groß.
error-too-busy = Aus Ihrem Netzwerk laufen gerade zu viele Anmeldungen. Bitte warten Sie ein paar Minuten und versuchen Sie es dann noch einmal.
error-no-such-page = Unter dieser Adresse gibt es keine Seite.
error-method-not-allowed = Diese Methode ist hier nicht erlaubt.
error-form-unreadable = Das Formular konnte nicht gelesen werden. Bitte gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es noch einmal.
error-address-unreadable = Die Adresse konnte nicht gelesen werden. Bitte beginnen Sie erneut auf der Anmeldeseite.
# $detail bleibt die englische Beschreibung des Protokolls.
error-application-request = Die Anmeldeanfrage der Anwendung kann nicht verwendet werden: { $detail }.
error-authz-expired = Diese Anmeldeanfrage ist abgelaufen oder wurde bereits verwendet. Gehen Sie zurück zur Anwendung und beginnen Sie von vorn.

## Anmeldung

error-unknown-provider = Es gibt keinen Identitätsanbieter „{ $provider }“.
error-no-saml-provider = Es gibt keinen SAML-Identitätsanbieter „{ $provider }“.
error-no-password-form = { $provider } meldet Personen auf einer eigenen Seite an; hier gibt es kein Passwortformular.
error-saml-post-only = Diese Adresse empfängt die Antwort des SAML-Identitätsanbieters per HTTP POST. Bitte beginnen Sie auf der Anmeldeseite.
error-provider-unavailable = Die Anmeldung mit { $provider } ist gerade nicht möglich: { $reason }.
reason-saml-not-ready = Lanyard kennt diesen Identitätsanbieter noch nicht: { $state }. Lanyard versucht es innerhalb einer Minute erneut
reason-directory-unavailable = Das Verzeichnis ist gerade nicht erreichbar
idp-ready = seine Metadaten sind geladen
idp-loading = seine Metadaten wurden noch nicht geladen
idp-failed = seine Metadaten konnten nicht geladen werden ({ $detail })
error-saml-refused = Die Anmeldung über { $provider } wurde abgelehnt: Die Antwort des Identitätsanbieters hat Lanyards Prüfungen nicht bestanden ({ $reason }).
saml-expired = sie liegt außerhalb ihres Gültigkeitszeitraums
saml-other-browser = sie gehört zu einer Anmeldung, die in einem anderen Browser begonnen wurde; beginnen Sie hier neu
saml-replay = sie wurde bereits verwendet oder gehört zu keiner offenen Anmeldung; beginnen Sie neu
saml-unsolicited = beim Identitätsanbieter begonnene Anmeldungen werden nicht angenommen
saml-status = der Identitätsanbieter hat Sie nicht authentifiziert
saml-invalid = sie ist ungültig
error-upstream = Die Anmeldung mit { $provider } ist fehlgeschlagen: { $reason }.
upstream-denied = Der Anbieter hat die Anmeldung abgelehnt ({ $error })
upstream-denied-described = Der Anbieter hat die Anmeldung abgelehnt ({ $error }): { $description }
upstream-unknown-transaction = Dieser Anmeldelink ist abgelaufen, wurde bereits verwendet oder in einem anderen Browser begonnen
upstream-state-mismatch = Die Antwort passt nicht zur begonnenen Anmeldung (state stimmt nicht überein)
upstream-missing-code = Die Antwort des Anbieters enthält keinen Autorisierungscode
upstream-unreachable = Der Anbieter ist nicht erreichbar ({ $endpoint })
upstream-tls = Eine sichere (TLS-)Verbindung zum Anbieter kam nicht zustande ({ $endpoint })
upstream-timeout = Der Anbieter hat nicht rechtzeitig geantwortet ({ $endpoint }, { $seconds } s)
upstream-status = Der Anbieter hat mit HTTP { $status } geantwortet ({ $endpoint })
upstream-malformed = Der Anbieter hat eine Antwort gesendet, die Lanyard nicht lesen kann ({ $endpoint })
upstream-invalid-id-token = Das ID-Token des Anbieters war ungültig
upstream-userinfo-mismatch = Die Userinfo des Anbieters beschreibt nicht die angemeldete Person
upstream-config = Der Anbieter ist in Lanyard falsch eingerichtet
upstream-not-in-organization =
    { $count ->
        [one] Nur Mitglieder der GitHub-Organisation { $organizations } dürfen sich hier anmelden
       *[other] Nur Mitglieder der GitHub-Organisationen { $organizations } dürfen sich hier anmelden
    }
upstream-email-unverified = Der Anbieter hat die E-Mail-Adresse dieses Kontos nicht bestätigt
upstream-domain-not-allowed = Konten der Domain „{ $domain }“ dürfen sich hier nicht anmelden
upstream-no-allowed-domain = Nur Konten mit einer bestätigten E-Mail-Adresse einer zugelassenen Domain dürfen sich hier anmelden
upstream-tenant-not-allowed = Konten dieses Microsoft-Entra-Mandanten dürfen sich hier nicht anmelden
endpoint-discovery = Discovery-Dokument
endpoint-jwks = Signaturschlüssel (JWKS)
endpoint-token = Token-Endpunkt
endpoint-userinfo = Userinfo-Endpunkt
endpoint-api = API

## Rollen

error-no-role-chosen = Es wurde keine Rolle gewählt. Bitte wählen Sie eine der Rollen aus der Liste.
error-role-not-listed = Diese Rolle steht nicht auf der Liste. Bitte wählen Sie eine der angezeigten Rollen.
error-length-out-of-range = Eine Sitzung dauert { $min } bis { $max }; { $asked } liegt außerhalb dieses Bereichs.
error-length-not-seconds = Die Sitzungsdauer muss eine ganze Zahl von Sekunden sein.
error-role-not-available = Die Rolle „{ $role }“ ist für Sie nicht verfügbar.
error-fresh-sign-in = Die Anwendung verlangt eine neue Anmeldung.
error-no-role-for-app = Für diese Person ist keine Rolle verfügbar, die diese Anwendung erhalten darf.
error-role-session-cap = Für diese Anmeldesitzung wurden bereits { $count } Sätze von Zugangsdaten ausgestellt, mehr sind nicht erlaubt. Melden Sie sich ab und wieder an, um neue Zugangsdaten zu erhalten.
error-duration-for-role = Die Dauer muss für diese Rolle zwischen { $min } und { $max } Sekunden liegen.

## Step-up MFA per role (issue 17)

error-role-needs-step-up = Die Rolle „{ $role }“ braucht einen frischen zweiten Faktor. Wählen Sie sie in der Rollenauswahl; dort werden Sie gebeten, sich erneut mit einem zweiten Faktor anzumelden.
step-up-unavailable = { $provider } kann hier keinen zweiten Faktor von Ihnen verlangen, daher sind Rollen, die einen brauchen, darüber nicht verfügbar. Bitten Sie eine Administratorin oder einen Administrator, für Ihr Konto einen Einmalcode einzurichten, oder melden Sie sich bei einem Anbieter mit zweitem Faktor an.
step-up-other-session = Diese Anmeldung wurde in einer anderen Sitzung begonnen, oder dieser Browser hat sich inzwischen abgemeldet. Es wurde nichts geändert: Wählen Sie die Rolle erneut.
step-up-other-person = Sie haben sich erneut als eine andere Person angemeldet. Lanyard wechselt nie die Person einer Sitzung: Es wurde nichts geändert, und Sie sind weiterhin wie zuvor angemeldet. Wählen Sie die Rolle erneut und melden Sie sich mit Ihrem eigenen Konto an.
step-up-no-factor = Die neue Anmeldung hat keinen zweiten Faktor verwendet, daher wurde die Rolle nicht ausgestellt. Wählen Sie die Rolle erneut und bestätigen Sie mit Ihrem zweiten Faktor, wenn Ihr Anbieter danach fragt.
step-up-not-fresh = Ihr Anbieter hat mit einer früheren Anmeldung statt einer neuen geantwortet, daher wurde die Rolle nicht ausgestellt. Wählen Sie die Rolle erneut; wenn das wieder passiert, bitten Sie eine Administratorin oder einen Administrator, die Einstellungen des Anbieters zu prüfen.
step-up-expired = Diese Bestätigung ist abgelaufen oder wurde bereits verwendet. Wählen Sie die Rolle in der Rollenauswahl erneut.
step-up-no-session = Ihre Sitzung ist beendet, daher kann diese Bestätigung nicht verwendet werden. Melden Sie sich erneut an und wählen Sie die Rolle.
step-up-not-enough = Auch mit dem frischen zweiten Faktor ist die Rolle „{ $role }“ für Sie nicht verfügbar.
step-up-code-refused = Dieser Code ist falsch oder wurde bereits verwendet. Geben Sie den aktuellen Code aus Ihrer Authenticator-App ein.
