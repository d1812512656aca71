# Lanyards Seiten auf Deutsch (förmliche Anrede „Sie“). Fehlt hier eine Nachricht, zeigt
# die Seite sie auf Englisch; die Tests lassen das nicht zu.
#
# Platzhalter wie in locales/en/pages.ftl: $who (Name der Person), $provider (Name eines
# Identitätsanbieters), $app (Name einer Anwendung).

## Gemeinsam

sign-out = Abmelden

## Anmeldeseite (signin.html)

signin-title = Anmelden
signin-no-providers = Es ist noch kein Identitätsanbieter eingerichtet. Ein Administrator muss unter { $section } einen hinzufügen.
signin-signed-in = Sie sind als { $who } angemeldet. Fahren Sie fort oder verwenden Sie ein anderes Konto (damit enden Ihre aktuellen Zugangsdaten).
signin-continue-as = Weiter als { $who }
signin-use-another = Anderes Konto verwenden:
signin-choose = Wählen Sie, wie Sie sich anmelden möchten.

## Passwortformular (password.html)

password-title = Mit { $provider } anmelden
password-username = Benutzername
password-password = Passwort
password-otp = Einmalcode
password-otp-hint = (falls Ihr Konto einen verwendet)
password-submit = Anmelden
password-other-provider = Anderen Anbieter verwenden
password-form-expired = Das Formular war abgelaufen. Bitte melden Sie sich erneut an.
password-refused = Benutzername oder Passwort ist falsch.
password-directory-unavailable = Das Verzeichnis ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.

## Keine Rolle (no_roles.html, mfa_roles.html)

no-roles-title = Keine Rolle verfügbar
no-roles-heading = Für Sie ist keine Rolle verfügbar
no-roles-lead = Sie haben sich als { $who } ({ $subject }) über { $provider } angemeldet, aber keine Vertrauensrichtlinie einer Rolle lässt diese Identität zu.
no-roles-groups = Gruppen, die Lanyard erhalten hat: { $groups }.
no-roles-no-groups = Gruppen, die Lanyard erhalten hat: keine.
no-roles-ask = Bitten Sie einen Administrator, Ihnen eine Rolle zuzuweisen, und nennen Sie dabei die Identität oben – oder melden Sie sich über einen anderen Anbieter an.
mfa-roles =
    { $count ->
        [one] Die Rolle { $roles } erfordert eine Anmeldung mit zweitem Faktor (einem Einmalcode), den diese Anmeldung nicht verwendet hat. Um sie zu erhalten, melden Sie sich ab und mit einem Konto mit zweitem Faktor wieder an.
       *[other] Die Rollen { $roles } erfordern eine Anmeldung mit zweitem Faktor (einem Einmalcode), den diese Anmeldung nicht verwendet hat. Um sie zu erhalten, melden Sie sich ab und mit einem Konto mit zweitem Faktor wieder an.
    }

## Rollenauswahl (Überschriften und Hinweise aus dem Rust-Code)

picker-last-used = Zuletzt verwendet
picker-favourites = Favoriten
picker-other-roles = Weitere Rollen
picker-roles = Rollen
picker-length-notice = Die Rolle { $role } gewährt Sitzungen von { $min } bis { $max }: Wählen Sie eine Sitzungsdauer aus ihrer Liste.

## Zugangsdaten (Sätze aus dem Rust-Code)

credentials-shortened = Die Rolle { $role } gewährt Sitzungen von höchstens { $length }, daher gelten diese Zugangsdaten { $length } lang.
credentials-expires-in = in { $duration }

## Abmelden (logout.html, signed_out.html)

logout-title = Abmelden?
logout-heading = Von Lanyard abmelden?
logout-lead = Eine Anwendung möchte Sie abmelden. Die Abmeldung beendet Ihre Lanyard-Sitzung und alle darin ausgestellten Zugangsdaten.
logout-stay = Angemeldet bleiben
signed-out-title = Abgemeldet
signed-out-heading = Sie sind abgemeldet
signed-out-lead = Ihre Lanyard-Sitzung und die darin ausgestellten Zugangsdaten sind beendet.
signed-out-again = Erneut anmelden

## Übergabe an eine Anwendung (continue.html)

continue-title = Weiter zu { $app }
continue-lead = Sie sind angemeldet. Ihr Browser bringt Sie jetzt zurück zu { $app }.

## Zeitspannen

duration-minutes =
    { $minutes ->
        [one] { $minutes } Minute
       *[other] { $minutes } Minuten
    }
duration-hours =
    { $hours ->
        [one] { $hours } Stunde
       *[other] { $hours } Stunden
    }
duration-hours-minutes = { $hours } Std. { $minutes } Min.
