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
credentials-countdown = läuft in { $left } ab

## Rollenauswahl (roles.html, role_rows.html)

roles-title = Rolle wählen
roles-lead = Angemeldet als { $who } über { $provider }.
roles-for-app = Wählen Sie die Rolle, die Sie in { $app } verwenden möchten.
roles-filter-label = Rollen filtern
roles-filter-placeholder = Rolle oder Gruppe
roles-filter = Filtern
roles-filter-clear = Zurücksetzen
roles-shown =
    { $total ->
        [one] { $shown } von { $total } Rolle angezeigt.
       *[other] { $shown } von { $total } Rollen angezeigt.
    }
roles-kept-choice = Die Rolle { $role } bleibt ausgewählt, auch wenn der Filter sie ausblendet.
roles-no-match = Keine Rolle passt zu „{ $filter }“.
roles-show-all = Alle Rollen anzeigen
roles-lengths-note = Jede Rolle bietet die Sitzungsdauern an, die sie gewährt.
roles-continue = Weiter
roles-get-credentials = Zugangsdaten abrufen
roles-length-for = Sitzungsdauer für { $role }
roles-star = { $role } zu den Favoriten hinzufügen
roles-unstar = { $role } aus den Favoriten entfernen

## Zugangsdaten (credentials.html)

credentials-title = Ihre Zugangsdaten
credentials-heading = Zugangsdaten für { $role }
credentials-signed-in = Angemeldet als { $who }.
credentials-expiry = Gültig bis { $time } – { $countdown }.
credentials-expired = Diese Zugangsdaten sind abgelaufen – { $again }.
credentials-choose-again = Rolle erneut wählen
credentials-paste = In eine Shell einfügen
credentials-shell = Shell
credentials-copy = Kopieren
credentials-copy-lines = (Zeilen für { $shell })
credentials-copy-test = (Test für { $shell })
credentials-check = Prüfen Sie dann, ob das Token funktioniert: Lanyard antwortet mit Ihrer Rolle und ihrer Entscheidung für eine Beispielaktion (ein Fehler 401 bedeutet, dass das Token nicht akzeptiert wird).
credentials-token-only = Nur das Zugriffstoken
credentials-copy-token = Zugriffstoken kopieren
credentials-copied = Kopiert
credentials-copy-failed = Kopieren fehlgeschlagen: Der Text ist markiert, kopieren Sie ihn mit Strg+C oder ⌘C
credentials-treat = Behandeln Sie dieses Token wie ein Passwort: Wer es besitzt, handelt bis zu seinem Ablauf in dieser Rolle in Ihrem Namen.
credentials-another-role = Andere Rolle wählen

## Anmeldung auf einem Gerät (device.html, device_confirm.html, device_done.html, Hinweise aus dem Rust-Code)

device-title = Auf Ihrem Gerät anmelden
device-lead = Angemeldet als { $who } über { $provider }. Geben Sie den Code ein, den Ihr Terminal anzeigt, um es in Ihrem Namen anzumelden.
device-code-label = Code aus Ihrem Terminal
device-code-help = 8 Buchstaben, etwa BCDF-GHJK; Kleinbuchstaben, Leerzeichen und ein fehlender Bindestrich sind in Ordnung.
device-continue = Weiter
device-malformed = Das ist kein Code, den Lanyard ausgibt: Ein Code besteht aus 8 Buchstaben, etwa BCDF-GHJK. Prüfen Sie den Code, den Ihr Terminal anzeigt, und geben Sie ihn erneut ein.
device-unknown = Dieser Code ist ungültig: Er ist vielleicht vertippt, abgelaufen (Codes gelten 10 Minuten) oder bereits verwendet. Prüfen Sie den Code, den Ihr Terminal anzeigt, oder starten Sie die Anmeldung dort neu.
device-locked = Es wurden zu viele falsche Codes eingegeben, daher werden eine Weile keine Codes angenommen. Warten Sie 10 Minuten und starten Sie die Anmeldung dann in Ihrem Terminal neu.
device-gone = Diese Anmeldung ist abgelaufen oder wurde inzwischen beantwortet. Starten Sie die Anmeldung in Ihrem Terminal neu.
device-gone-step-up = Der Code ist abgelaufen, während Sie Ihren zweiten Faktor bestätigt haben, daher wurde die Anmeldung nicht genehmigt. Ihr zweiter Faktor ist jetzt bestätigt: Starten Sie die Anmeldung in Ihrem Terminal neu und geben Sie den neuen Code ein, den es anzeigt.
device-choose-role = Wählen Sie eine der Rollen, um zuzustimmen, oder lehnen Sie die Anmeldung ab.
device-confirm-title = Bei { $app } anmelden?
device-confirm-lead = { $app } möchte sich mit dem Code { $code } als { $who } ({ $provider }) anmelden.
device-confirm-warning = Fahren Sie nur fort, wenn Sie dies gerade eben selbst auf Ihrem eigenen Gerät gestartet haben.
device-confirm-warning-more = Hat Ihnen jemand diesen Link oder Code geschickt, wählen Sie „Ablehnen“: Mit einer Zustimmung erhält diese Person Ihren Zugang.
device-confirm-no-role = Ihnen steht keine Rolle zur Verfügung, die { $app } erhalten darf; diese Anmeldung kann daher nur abgelehnt werden.
device-confirm-choose = Wählen Sie die Rolle, die { $app } erhält, und wie lange ihre Zugangsdaten gelten.
device-approve = Zustimmen
device-deny = Ablehnen
device-approved-title = Angemeldet
device-approved-heading = { $app } ist angemeldet
device-approved-lead = Angemeldet. Sie können diesen Tab schließen und zu Ihrem Terminal zurückkehren.
device-approved-role = Es hat die Rolle { $role }; seine Zugangsdaten gelten { $length } lang.
device-denied-title = Anmeldung abgelehnt
device-denied-lead = Sie haben die Anmeldung von { $app } abgelehnt. Das Terminal, das sie angefragt hat, erfährt dies und erhält keinen Zugang.
device-denied-more = Sie können diesen Tab schließen. Wenn Sie diese Anmeldung nicht gestartet haben, informieren Sie Ihren Administrator.

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
password-test-sign-in = Test-Anmeldung: Die Antwort dieses Anbieters wird Ihnen in der Admin-Konsole gezeigt. Es wird keine Sitzung angelegt, und Sie bleiben als Sie selbst angemeldet.
password-test-back = Zurück zu den Identitätsanbietern

## Step-up MFA per role (issue 17)

picker-step-up = Braucht einen zweiten Faktor: Sie werden gebeten, sich erneut anzumelden.
step-up-code-title = Mit Ihrem Einmalcode bestätigen
# $role und $who werden fett gezeigt.
step-up-code-lead = Die Rolle { $role } braucht einen zweiten Faktor. Geben Sie den aktuellen Einmalcode von { $who } aus Ihrer Authenticator-App ein ({ $provider }).
step-up-code-submit = Bestätigen
step-up-cancel = Zurück zu den Rollen, ohne diese
step-up-continue-title = Weiter zu { $provider }
# $role wird fett gezeigt.
step-up-continue-lead = Die Rolle { $role } braucht einen zweiten Faktor. Ihr Browser bringt Sie jetzt zu { $provider }, damit Sie sich dort mit einem zweiten Faktor erneut anmelden; danach kommen Sie hierher zurück.
# $role is shown in bold.
step-up-continue-lead-device = Die Anmeldung Ihres Terminals mit der Rolle { $role } zu genehmigen, braucht einen zweiten Faktor. Ihr Browser bringt Sie jetzt zu { $provider }, damit Sie sich dort mit einem zweiten Faktor erneut anmelden; danach kommen Sie hierher zurück und die Anmeldung wird genehmigt.
# $role and $who are shown in bold.
step-up-code-lead-device = Die Anmeldung Ihres Terminals mit der Rolle { $role } zu genehmigen, braucht einen zweiten Faktor. Geben Sie den aktuellen Einmalcode von { $who } aus Ihrer Authenticator-App ein ({ $provider }).
step-up-cancel-device = Zurück zur Anmeldung Ihres Terminals, ohne diese Rolle

## Step-up für die Anmeldeanfrage einer Anwendung (Issue 17)

# $who wird fett gezeigt.
op-step-up-code-lead = Die Anwendung, bei der Sie sich anmelden, verlangt einen zweiten Faktor. Geben Sie den aktuellen Einmalcode von { $who } aus Ihrer Authenticator-App ein ({ $provider }).
op-step-up-code-cancel = Zum Abbrechen schließen Sie diese Seite: die Anwendung bekommt keine Antwort.
