# Zugriffsanfragen (Freigabe durch andere, Issue 17), auf Deutsch: die Formulare
# „Zugriff anfragen“ der Rollenauswahl, /requests und /requests/{id}.

## Rollenauswahl (roles.html, role_rows.html)

requests-picker-heading = Rollen mit Freigabe
requests-picker-lead = Diese Rollen gibt jemand anderes für eine Weile frei: Sagen Sie, wie lange Sie eine brauchen und wofür.
requests-picker-all = Alle Ihre Zugriffsanfragen
requests-picker-none-granted = Ohne Freigabe steht Ihnen gerade keine Rolle zur Verfügung.
requests-picker-unavailable = Ihre Zugriffsanfragen können gerade nicht gelesen werden; versuchen Sie es gleich noch einmal.
requests-picker-approved-until = Freigegeben: Ihre Sitzung endet spätestens um { $until }.
requests-picker-approved = Freigegeben bis { $until }: Wählen Sie sie oben in der Liste.
requests-waiting = Wartet auf Freigabe
requests-see-request = Ihre Anfrage für { $role } ansehen
requests-see-open = Offene Anfrage ansehen
requests-request-access = Zugriff anfragen
requests-break-glass-only = Notfallrolle: Sie geben diese Anfrage selbst frei, eine Begründung ist nötig, und alle Verantwortlichen werden sofort benachrichtigt.
requests-approvals-needed =
    { $count ->
        [one] Eine Person muss sie freigeben.
       *[other] { $count } verschiedene Personen müssen sie freigeben.
    }
requests-field-duration = Wie lange Sie sie brauchen
requests-field-reason = Wofür Sie sie brauchen
requests-field-reason-optional = Wofür Sie sie brauchen (freiwillig)
requests-field-ticket = Ticket
requests-field-ticket-optional = Ticket (freiwillig)
requests-ticket-hint = Die ganze Referenz muss { $pattern } entsprechen.
requests-ticket-hint-any = Eine Ticket- oder Störungsnummer, falls es eine gibt.
requests-field-break-glass = Notfall: selbst sofort freigeben (alle Verantwortlichen werden benachrichtigt, das Audit-Protokoll vermerkt es)
requests-submit = Zugriff anfragen

## Probleme mit einem Anfrageformular

requests-error-form = Die Anfrage konnte nicht gestellt werden. Prüfen Sie die Felder und senden Sie sie noch einmal.
requests-error-duration = Wählen Sie eine Dauer zwischen { $min } und { $max }.
requests-error-reason-required = Geben Sie an, wofür Sie diese Rolle brauchen.
requests-too-long = Der Text ist zu lang: höchstens { $max } Zeichen.
requests-error-ticket = Das Ticket muss { $pattern } entsprechen.
requests-error-break-glass = Diese Rolle erlaubt keinen Notfallzugriff: Fragen Sie stattdessen eine Freigabe an.
requests-error-open = Sie haben schon eine offene Anfrage für diese Rolle.

## Die Liste (requests.html, request_lines.html)

requests-title = Zugriffsanfragen
requests-lead = Angemeldet als { $who }. Ihre eigenen Anfragen und die, über die Sie entscheiden dürfen.
requests-to-picker = Zurück zu Ihren Rollen
requests-how-to-ask = Um eine Rolle anzufragen, nutzen Sie ihr Formular „Zugriff anfragen“ in der Rollenauswahl.
requests-filter = Filtern
requests-filter-clear = Alle Anfragen zeigen
requests-filter-any-state = Jeder Status
requests-filter-any-role = Jede Rolle
requests-to-decide = Anfragen, über die Sie entscheiden dürfen
requests-none-to-decide = Keine Anfrage wartet auf Sie.
requests-mine = Ihre Anfragen
requests-none-mine = Sie haben keine Zugriffsanfrage gestellt.
requests-col-role = Rolle
requests-col-requester = Angefragt von
requests-col-reason = Begründung
requests-col-length = Dauer
requests-col-state = Status
requests-col-created = Angefragt am
requests-break-glass = Notfall
requests-state-pending = Wartet auf Freigabe
requests-state-approved = Freigegeben
requests-state-used = Freigegeben, in Benutzung
requests-state-denied = Abgelehnt
requests-state-expired = Abgelaufen
requests-state-revoked = Zurückgezogen oder widerrufen

## Eine Anfrage (request.html)

request-title = Zugriffsanfrage für { $role }
request-heading = Zugriffsanfrage für { $role }
request-lead = { $who } fragt die Rolle { $role } für { $length } an.
request-break-glass = Notfall: Die anfragende Person hat diese Anfrage selbst freigegeben. Prüfen Sie, ob das nötig war.
request-none-given = keine Angabe
request-ticket = Ticket
request-decide-by = Verfällt ohne Entscheidung am
request-window = Freigegebener Zeitraum
request-window-span = von { $from } bis { $until }
request-closed-by = Beendet von
requests-approvals-count = ({ $given } von { $needed } Freigaben)
request-decisions = Entscheidungen
request-no-decisions = Noch hat niemand entschieden.
request-decision-approved = { $who } hat freigegeben, { $when }
request-decision-denied = { $who } hat abgelehnt, { $when }
request-allows = Was die Rolle erlaubt
request-allows-nothing = Die Rolle hat keine Berechtigungsrichtlinie: Sie erlaubt nichts.
request-policy = Richtlinie { $policy }
request-boundary = Berechtigungsgrenze { $policy } (eine Obergrenze: Sie erlaubt selbst nichts)
request-allow = Erlaubt
request-deny = Verbietet
request-actions = die Aktionen
request-every-action-but = jede Aktion außer
request-resources = auf
request-every-resource = auf jeder Ressource
request-every-resource-but = auf jeder Ressource außer
request-when = nur wenn
request-decide = Ihre Entscheidung
request-decide-step-up = Sie werden zuerst gebeten, Ihren zweiten Faktor zu bestätigen.
request-comment = Kommentar (freiwillig)
request-approve = Freigeben
request-deny-button = Ablehnen
request-own-waiting = Das ist Ihre eigene Anfrage: Jemand anderes entscheidet darüber. Diese Seite zeigt die Entscheidung.
request-assume = Rolle in der Rollenauswahl wählen
request-revoke-heading = Freigabe widerrufen
request-revoke-reason = Warum (freiwillig)
request-revoke = Widerrufen
request-withdraw = Diese Anfrage zurückziehen
requests-back = Zurück zu den Zugriffsanfragen
requests-done-requested = Ihre Anfrage wurde an die Freigebenden geschickt.
requests-done-approved = Sie haben diese Anfrage freigegeben.
requests-done-denied = Sie haben diese Anfrage abgelehnt.
requests-done-withdrawn = Die Anfrage wurde zurückgezogen.
requests-done-revoked = Die Freigabe wurde widerrufen.
requests-done-confirmed = Ihr zweiter Faktor ist bestätigt: Sie können jetzt entscheiden.

## Ablehnungen

requests-not-found-title = Keine solche Zugriffsanfrage
requests-not-found = Unter dieser Adresse gibt es keine Zugriffsanfrage. Ihre Anfragen und die, über die Sie entscheiden dürfen, finden Sie unter Zugriffsanfragen.
requests-unavailable-title = Zugriffsanfragen sind nicht verfügbar
requests-no-database = Zugriffsanfragen brauchen die Datenbank von Lanyard, die diese Installation nicht nutzt. Wenden Sie sich an eine Administratorin oder einen Administrator.
requests-unavailable = Zugriffsanfragen können gerade nicht gelesen oder geändert werden. Nichts wurde geändert; versuchen Sie es gleich noch einmal.
requests-refused-title = Nicht möglich
requests-own-request = Sie können Ihre eigene Anfrage weder freigeben noch ablehnen: Jemand anderes muss darüber entscheiden.
requests-not-approver = Sie dürfen Anfragen für diese Rolle weder sehen noch über sie entscheiden.
requests-not-requester = Nur die Person, die eine Anfrage gestellt hat, kann sie zurückziehen.
requests-already-decided = Sie haben über diese Anfrage schon entschieden. Eine andere freigebende Person muss ihre Entscheidung hinzufügen.
requests-closed-title = Diese Anfrage ist abgeschlossen
requests-closed = Diese Anfrage kann nicht mehr geändert werden. Ihr Status: { $state }.
requests-not-requestable = Die Rolle „{ $role }“ können Sie nicht anfragen.
requests-unknown-action = Dieses Formular verlangt nichts, was diese Seite tut. Gehen Sie zurück zur Anfrage und nutzen Sie ihre Schaltflächen.

## Bestätigung für eine Entscheidung (step_up_code.html, step_up_continue.html)

step-up-code-lead-request = Für die Entscheidung über die Zugriffsanfrage für { $role } ist ein aktueller zweiter Faktor nötig. Geben Sie den aktuellen Einmalcode von { $who } aus Ihrer Authenticator-App ein ({ $provider }).
step-up-continue-lead-request = Für die Entscheidung über die Zugriffsanfrage für { $role } ist ein aktueller zweiter Faktor nötig. Ihr Browser bringt Sie jetzt zu { $provider }, um sich damit erneut anzumelden; danach kommen Sie zur Anfrage zurück.
step-up-cancel-request = Zurück zur Anfrage, ohne zu entscheiden
