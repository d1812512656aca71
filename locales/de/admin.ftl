# Die Administration (/admin), auf Deutsch.

## Navigation und Layout (admin_nav.html)

admin-nav-label = Administration
admin-nav-home = Übersicht
admin-nav-roles = Rollen
admin-nav-simulate = Vertrauenssimulator
admin-nav-sessions = Sitzungen
admin-nav-audit = Audit-Protokoll
admin-acting-as = Angemeldet als { $who }, tätig mit der Rolle { $role }.
admin-change-role = Rolle wechseln
admin-choose-role = Eine andere Rolle wählen
admin-back-home = Zurück zur Übersicht der Administration
admin-cancel = Abbrechen
admin-person-hint = Eine Person schreibt sich Anbieter:Subjekt, etwa corp:alice.
admin-filter = Filtern
admin-next-page = Nächste Seite

## Übersicht (admin_home.html)

admin-home-title = Administration
admin-home-lead = Was Ihre Rolle { $role } hier darf:
admin-home-roles = die Rollen sehen, die Rollen der Datenbank anlegen und bearbeiten.
admin-home-simulate = sehen, welche Rollen eine Identität erhält, und warum.
admin-home-sessions = sehen, wer angemeldet ist, und Sitzungen beenden.
admin-home-audit = das Audit-Protokoll lesen und exportieren.
admin-home-policies = die verwalteten Richtlinien der Rollen sehen, die der Datenbank anlegen und bearbeiten.
admin-home-clients = die Anwendungen sehen, die Personen über Lanyard anmelden, sie registrieren und ihre Geheimnisse wechseln.
admin-home-not-allowed = Ihre Rolle erlaubt { $action } nicht.

## Ablehnungen (admin_refused.html, admin_no_role.html)

admin-refused-title = Ihre Rolle erlaubt das nicht
admin-refused-lead = Ihre aktuelle Rolle { $role } darf { $action } auf { $resource } nicht ausführen.
admin-refused-reason = Die Richtlinienprüfung sagt: { $reason }
admin-refused-how = Wählen Sie dafür in der Rollenauswahl eine Rolle, deren Richtlinien es erlauben, und kommen Sie dann zurück. Erlaubt es keine Ihrer Rollen, bitten Sie einen Administrator um eine.
admin-no-role-title = Wählen Sie zuerst eine Rolle
admin-no-role-lead = Sie sind als { $who } angemeldet, aber die Administration handelt mit der Rolle, die Sie zuletzt in der Rollenauswahl gewählt haben, und Sie haben gerade keine (oder ihre Sitzung ist abgelaufen). Wählen Sie eine Rolle, die Lanyard verwalten darf, und kommen Sie dann zurück.

## Fehler

admin-error-title = Das hat nicht geklappt
admin-error-title-failed = Etwas ist schiefgegangen
admin-error-detail = { $detail }
admin-error-internal = Die Anfrage konnte nicht ausgeführt werden. Mit der Referenz unten findet ein Administrator den Grund im Log.
admin-error-no-database = Die Administration braucht eine Datenbank ([audit] database in lanyard.toml), und es ist keine eingerichtet.
admin-error-unavailable = Die Datenbank oder der Sitzungsspeicher hat nicht geantwortet. Bitte versuchen Sie es gleich noch einmal.
admin-error-no-role = Es gibt keine Rolle namens { $role }.
admin-error-no-session = Es gibt keine aktive Sitzung mit dieser Kennung; vielleicht ist sie schon beendet.
admin-error-managed-in-file = Die Rolle { $role } wird in lanyard.toml verwaltet und kann hier nicht geändert werden.

## Rollen

admin-roles-title = Rollen
admin-col-role = Rolle
admin-col-description = Beschreibung
admin-col-source = Wo sie definiert ist
admin-managed-in-file = verwaltet in lanyard.toml
admin-in-database = in der Datenbank, Version { $version }
admin-role-new = Neue Rolle
admin-role-title = Rolle { $role }
admin-role-heading = Rolle { $role }
admin-role-saved = Gespeichert. Jede Lanyard-Instanz verwendet sie innerhalb von zwei Sekunden.
admin-role-deleted = Die Rolle { $role } wurde gelöscht.
admin-role-file-lead = Diese Rolle ist in lanyard.toml definiert: Ändern Sie sie dort (und laden Sie neu), nicht hier.
admin-role-max-session = Längste Sitzung
admin-role-updated = Version { $version }, zuletzt geändert von { $updated }.
admin-role-name = Name
admin-role-name-hint = Buchstaben, Ziffern und + = , . @ _ - (höchstens 64).
admin-role-bad-name = Der Name einer Rolle besteht aus 1 bis 64 Buchstaben, Ziffern oder + = , . @ _ -.
admin-role-document = Rollendokument (JSON)
admin-role-document-hint = Die Form eines [[roles]]-Eintrags von lanyard.toml als JSON: trust_policy (Pflicht), permission_policies, inline_policy, permissions_boundary, max_session_duration, group. Die Beschreibung steht im Feld darüber.
admin-role-not-json = Das Dokument ist kein JSON-Objekt: { $detail }
admin-role-not-saved = Es wurde nichts gespeichert:
admin-role-save = Speichern
admin-role-delete = Diese Rolle löschen …
admin-role-stale = Jemand hat diese Rolle geändert, seit Sie sie geöffnet haben.
admin-role-stale-how = Ihre Änderungen wurden nicht gespeichert. Die Rolle hat jetzt Version { $version }, unten gezeigt. Ihr Text steht noch im Formular: Vergleichen Sie, und speichern Sie erneut, um diese Version zu ersetzen.
admin-impact-preview = Auswirkung ansehen
admin-impact-title = Auswirkung dieser Änderung
admin-impact-none = Niemand, der kürzlich angemeldet war, erhält oder verliert diese Rolle.
admin-impact-gains = erhält die Rolle
admin-impact-loses = verliert die Rolle
admin-impact-note = Gemessen an den Identitäten kürzlich aufgezeichneter Anmeldungen ([admin] record_claims).
admin-col-person = Person
admin-col-change = Änderung
admin-col-seen = Angemeldet
admin-confirm-title = Änderung bestätigen
admin-confirm-losing =
    { $count ->
        [one] Nach dieser Änderung verliert eine kürzlich angemeldete Person die Rolle { $role }:
       *[other] Nach dieser Änderung verlieren { $count } kürzlich angemeldete Personen die Rolle { $role }:
    }
admin-confirm-unknown = Ihre Rolle darf kein Vertrauen simulieren, daher kann Lanyard nicht sagen, ob diese Änderung jemandem die Rolle { $role } nimmt. Speichern Sie nur, wenn Sie sicher sind.
admin-confirm-save = Änderung speichern
admin-delete-title = Die Rolle { $role } löschen
admin-delete-heading = Die Rolle { $role } löschen?
admin-delete-lead = Nach dem Löschen kann niemand diese Rolle mehr wählen. Bereits ausgestellte Zugangsdaten gelten, bis sie ablaufen; widerrufen Sie sie auf der Seite der Sitzungen, um sie sofort zu beenden.
admin-delete-stale = Die Bestätigung zeigt jetzt ihre aktuelle Version.
admin-delete-confirm = Rolle löschen

## Vertrauenssimulator (admin_simulate.html)

admin-simulate-title = Vertrauenssimulator
admin-simulate-lead = Sehen Sie, welche Rollen einer Identität angeboten würden, und warum: Wählen Sie eine kürzliche Anmeldung, oder fügen Sie Claims ein.
admin-simulate-role = Zu simulierende Rollen
admin-simulate-every-role = Jede Rolle
admin-simulate-recorded = Eine kürzliche Anmeldung
admin-simulate-none-recorded = Es ist keine Anmeldung aufgezeichnet, die Ihre Rolle sehen darf ([admin] record_claims).
admin-simulate-sign-in = Anmeldung
admin-simulate-run-recorded = Diese Anmeldung simulieren
admin-simulate-pasted = Eigene Claims
admin-simulate-provider = Anbieter
admin-simulate-provider-by-issuer = Über den Aussteller des JWT gefunden
admin-simulate-claims = Claims (JSON-Objekt)
admin-simulate-run-claims = Diese Claims simulieren
admin-simulate-jwt = Oder ein JWT (seine Signatur wird nicht geprüft)
admin-simulate-run-jwt = Dieses JWT simulieren
admin-simulate-pick-recorded = Wählen Sie eine aufgezeichnete Anmeldung.
admin-simulate-pick-provider = Wählen Sie den Anbieter, von dem die Claims stammen.
admin-simulate-claims-not-json = Die Claims müssen ein JSON-Objekt sein, etwa {"{"}"sub": "alice"{"}"}.
admin-simulate-no-source = Geben Sie Claims oder ein JWT an, und drücken Sie dann die Schaltfläche daneben.
admin-simulate-unverified = Das JWT wurde gelesen, ohne Signatur, Aussteller, Zielgruppe oder Ablauf zu prüfen: Seine Claims dienen nur dieser Simulation und beweisen nichts.
admin-simulate-result = Ergebnis
admin-simulate-email = E-Mail
admin-simulate-groups = Gruppen
admin-simulate-raw-claims = Alle empfangenen Claims
admin-simulate-offered = angeboten
admin-simulate-not-offered = nicht angeboten
admin-simulate-deciding = Entschieden durch:
admin-simulate-applies = trifft zu
admin-simulate-no-action = seine Action deckt diese Art der Anmeldung nicht ab
admin-simulate-no-principal = sein Principal nennt diesen Anbieter nicht
admin-simulate-no-resource = seine Resource deckt diese Rolle nicht ab
admin-simulate-condition = eine Bedingung war nicht erfüllt
admin-simulate-seen = gesehen { $seen }, verlangt { $wanted }
admin-simulate-missing = die Identität hat diesen Schlüssel nicht; verlangt { $wanted }
admin-simulate-empty = die Identität hat keine; verlangt { $wanted }

## Sitzungen (admin_sessions.html, admin_revoke.html)

admin-sessions-title = Sitzungen
admin-col-provider = Anbieter
admin-col-since = Angemeldet
admin-col-role-sessions = Rollensitzungen
admin-col-actions = Widerrufen
admin-sessions-none = Keine aktive Sitzung passt.
admin-sessions-ends = endet { $when }
admin-sessions-revoked =
    { $count ->
        [one] Widerrufen: eine Sitzung beendet.
       *[other] Widerrufen: { $count } Sitzungen beendet.
    }
admin-revoke-session-link = Diese Sitzung von { $who } …
admin-revoke-person-link = Jede Sitzung von { $who } …
admin-revoke-role-link = Jede Sitzung von { $role } …
admin-revoke-title = Sitzungen widerrufen
admin-revoke-session = Die Sitzung { $id } und jede darin ausgestellte Rollensitzung beenden?
admin-revoke-person = Jede Sitzung von { $person } beenden, auf jeder Lanyard-Instanz?
admin-revoke-role = Jede Rollensitzung der Rolle { $role } beenden, auf jeder Lanyard-Instanz? Das ist der Notschalter: Jedes dafür ausgestellte Token wird ab sofort abgelehnt.
admin-revoke-effect = Ihre Tokens werden sofort von /v1/authorize, Introspection und Userinfo abgelehnt. Anschließend können sich die Personen wieder anmelden.
admin-revoke-reason = Grund (im Audit-Protokoll festgehalten)
admin-revoke-confirm = Widerrufen

## Audit-Protokoll (admin_audit.html)

admin-audit-title = Audit-Protokoll
admin-col-event = Ereignis
admin-col-time = Zeit (UTC)
admin-col-detail = Einzelheiten
admin-audit-every-event = Jedes Ereignis
admin-audit-from = Von
admin-audit-to = Bis
admin-audit-time-hint = Zeiten in UTC: ein Tag (2026-11-28) oder eine Minute (2026-11-28T18:00).
admin-audit-export = Diese Ereignisse exportieren (höchstens 1000):
admin-audit-none = Kein Ereignis passt.
admin-audit-bad-event = Kein Audit-Ereignis hat diesen Namen.
admin-audit-bad-time = Eine Zeit ist ein Tag (2026-11-28) oder eine Minute (2026-11-28T18:00), in UTC.
admin-audit-bad-cursor = Dieser Seitenlink stammt nicht von Lanyard; beginnen Sie wieder bei der ersten Seite.
admin-nav-providers = Identitätsanbieter
admin-home-providers = Der Zustand jedes Identitätsanbieters (Schlüssel, Zertifikate, letzte Anmeldungen) und eine Test-Anmeldung, die zeigt, was er sendet.
admin-providers-title = Identitätsanbieter
admin-providers-lead = Jeder Anbieter, dem Lanyard jetzt vertraut: wie frisch seine Schlüssel sind, wann seine Zertifikate ablaufen und wie seine letzten Anmeldungen verliefen.
admin-providers-no-trail = Das Audit-Protokoll kann hier nicht gelesen werden; die letzten Anmeldungen werden daher nicht gezeigt.
admin-providers-keys-age = Schlüssel abgerufen oder gelesen
admin-providers-keys-none = noch nicht
admin-providers-last-ok = Letzte erfolgreiche Anmeldung
admin-providers-last-failed = Letzte fehlgeschlagene Anmeldung
admin-providers-never = keine verzeichnet
admin-providers-certificates = Signaturzertifikate
admin-providers-expires-soon = läuft in { $days } Tagen ab
admin-providers-days-left = noch { $days } Tage
admin-providers-test = Test-Anmeldung mit { $provider }
admin-providers-test-hint = Führt in diesem Browser eine echte Anmeldung aus und zeigt, was zurückkam. Es wird keine Sitzung angelegt; Sie bleiben als Sie selbst angemeldet.
admin-col-subject = Inhaber
admin-col-expires = Läuft ab
admin-col-fingerprint = SHA-256-Fingerabdruck
admin-col-key = Bedingungsschlüssel
admin-col-values = Werte
admin-col-name = Name
admin-yes = ja
admin-no = nein
admin-test-title = Test-Anmeldung mit { $provider }
admin-test-lead = Das kam um { $when } zurück. Es wurde keine Sitzung angelegt.
admin-test-identity = Die Identität, die Lanyard daraus machte
admin-test-subject = Subjekt
admin-test-username = Benutzername
admin-test-email = E-Mail
admin-test-groups = Gruppen
admin-test-mfa = zweiter Faktor
admin-test-auth-time = Angemeldet um
admin-test-name-id = NameID
admin-test-name-id-format = NameID-Format
admin-test-authn-context = AuthnContextClassRef
admin-test-authn-instant = AuthnInstant
admin-test-valid-until = Assertion gültig bis
admin-test-response-signed = Response signiert
admin-test-assertion-signed = Assertion signiert
admin-test-encrypted = Assertion verschlüsselt
admin-test-alg = Algorithmus des ID-Tokens
admin-test-kid = Schlüssel-ID des ID-Tokens
admin-test-signer = Das Zertifikat, das signierte
admin-test-condition-keys = Was Vertrauensrichtlinien sehen
admin-test-sent-saml = SAML-Attribute wie gesendet
admin-test-sent-oidc = Claims des ID-Tokens wie gesendet
admin-test-sent-identity = Wie gesendet
admin-test-userinfo = Userinfo-Claims wie gesendet
admin-test-gone = Die Antwort dieser Test-Anmeldung ist nicht mehr da: Sie wird 15 Minuten lang aufbewahrt, und nur für die Sitzung, die den Test ausführte. Starten Sie den Test erneut auf der Seite der Identitätsanbieter.
admin-test-continue = Test-Anmeldung mit { $provider }
admin-test-continue-lead = Ihr Browser geht jetzt zu { $provider }, um sich anzumelden. Was der Anbieter antwortet, wird Ihnen hier gezeigt; es wird keine Sitzung angelegt.
admin-simulate-saml = Oder eine SAML-Antwort, Base64 wie gesendet oder ihr XML (ihre Signatur wird nicht geprüft)
admin-simulate-run-saml = Diese SAML-Antwort simulieren
admin-simulate-unverified-saml = Die SAML-Antwort wurde gelesen, ohne Signatur, Aussteller, Zielgruppe, Zeiten oder Wiederholung zu prüfen: Ihre Attribute dienen nur dieser Simulation und beweisen nichts.

## Identitätsanbieter hinzufügen und bearbeiten (admin_provider_new.html,
## admin_provider_inspected.html, admin_provider.html, admin_provider_delete.html,
## admin_provider_handover.html)

admin-provider-add = Identitätsanbieter hinzufügen
admin-provider-deleted = Der Identitätsanbieter { $provider } wurde gelöscht.
admin-provider-not-running = nicht in Betrieb
admin-provider-edit = Bearbeiten
admin-provider-details = Details
admin-provider-step-one = Schritt 1 von 2: Geben Sie dem Anbieter eine ID und sagen Sie, woher Lanyard ihn lesen soll. Gespeichert wird erst in Schritt 2.
admin-provider-not-inspected-lead = Lanyard konnte ihn nicht prüfen:
admin-provider-id = Anbieter-ID
admin-provider-id-hint = Steht in URLs, in Vertrauensrichtlinien (Principal Federated) und in Bedingungsschlüsseln wie id:attribut. 1 bis 64 Zeichen aus a-z, 0-9, - und _, beginnend mit einem Buchstaben.
admin-provider-saml = Ein SAML-2.0-Identitätsanbieter
admin-provider-metadata-url = Seine Metadaten-URL
admin-provider-inspect-url = Metadaten-URL prüfen
admin-provider-metadata-xml = Oder sein Metadaten-XML, eingefügt
admin-provider-inspect-xml = Eingefügte Metadaten prüfen
admin-provider-metadata-file = Oder seine Metadaten-Datei, hochgeladen
admin-provider-metadata-file-hint = Die XML-Datei, die Ihnen der Administrator des IdP gibt (höchstens { $kib } KiB).
admin-provider-inspect-file = Hochgeladene Datei prüfen
admin-provider-no-file = Wählen Sie zuerst die Metadaten-Datei und drücken Sie dann die Schaltfläche daneben.
admin-provider-file-not-text = { $file } ist keine Textdatei in UTF-8: Laden Sie das Metadaten-XML des IdP hoch.
admin-provider-file-not-xml = { $file } ist kein XML: Laden Sie das Metadaten-XML des IdP hoch.
admin-upload-too-large = Das Formular ist zu groß: Eine Datei darf höchstens { $kib } KiB groß sein. Nichts wurde gelesen oder gespeichert.
admin-upload-unreadable = Das Formular konnte nicht gelesen werden: Es enthält ein Feld oder eine Datei, die diese Seite nicht sendet. Nichts wurde gelesen oder gespeichert.
admin-provider-oidc = Ein OpenID-Connect-Anbieter
admin-provider-issuer = Aussteller
admin-provider-issuer-hint = https:// (http:// nur auf einer Loopback-Adresse). Sein Discovery-Dokument und seine Schlüssel werden jetzt abgerufen und geprüft.
admin-provider-inspect-issuer = Discovery-Dokument prüfen
admin-provider-preset = Eine Vorlage
admin-provider-preset-name = Anbieter
admin-provider-use-preset = Diese Vorlage verwenden
admin-provider-pick-source = Drücken Sie die Schaltfläche neben dem, was Lanyard prüfen soll.
admin-provider-bad-id = Eine Anbieter-ID besteht aus 1 bis 64 Zeichen aus a-z, 0-9, - und _ und beginnt mit einem Buchstaben.
admin-provider-id-taken = Einen Anbieter mit der ID { $provider } gibt es bereits: Wählen Sie eine andere ID, oder bearbeiten Sie diesen Anbieter.
admin-provider-step-two = Schritt 2 von 2: Prüfen Sie, was Lanyard gefunden hat, geben Sie Lanyards Werte an den Administrator des Anbieters weiter, und vervollständigen und speichern Sie dann den Anbieter.
admin-provider-found-saml = Was die Metadaten sagen
admin-provider-accepted = Lanyards SAML-Anbindung akzeptiert diese Metadaten.
admin-provider-refused = Lanyards SAML-Anbindung würde diese Metadaten so nicht akzeptieren: Siehe die Probleme unten.
admin-provider-entity-id = Entity-ID
admin-provider-name-id-formats = Angebotene NameID-Formate
admin-provider-wants-signed = Verlangt signierte AuthnRequests
admin-provider-sso-endpoints = Single-Sign-on-Endpunkte
admin-provider-binding = Binding
admin-provider-location = Adresse
admin-provider-certificates = Zertifikate
admin-provider-use = Verwendung
admin-provider-found-oidc = Was der Anbieter sagt
admin-provider-discovery-checked = Das Discovery-Dokument und die Signaturschlüssel wurden soeben abgerufen und geprüft.
admin-provider-preset-known = Eine Vorlage: Lanyard kennt ihre Endpunkte, daher wurde nichts abgerufen.
admin-provider-discovery = Discovery-Dokument
admin-provider-algorithms = ID-Token-Algorithmen, die Lanyard von ihm akzeptiert
admin-provider-keys = Signaturschlüssel
admin-provider-handover = Für den Administrator des Anbieters
admin-provider-handover-saml = Geben Sie dies dem Administrator des IdP (oder nur die SP-Metadaten-URL, wenn der IdP sie lesen kann):
admin-provider-handover-oidc = Registrieren Sie beim Anbieter diese Redirect-URI für Lanyards Client:
admin-provider-sp-entity-id = Lanyards SP-Entity-ID (die Audience)
admin-provider-acs = Assertion Consumer Service (HTTP-POST)
admin-provider-sp-metadata = Lanyards SP-Metadaten
admin-provider-redirect-uri = Redirect-URI
admin-provider-form = Der Anbieter
admin-provider-id-changes = Lanyards Werte oben gelten für diese ID: Sie ändern sich mit ihr.
admin-provider-display-name = Anzeigename
admin-provider-client-id = Client-ID
admin-provider-client-secret = Client-Secret
admin-provider-secret-hint = Wird in der Datenbank gespeichert und nie wieder angezeigt.
admin-provider-secret-again = Secrets werden nie angezeigt: Geben Sie das Client-Secret erneut ein.
admin-provider-attributes = Attributzuordnung
admin-provider-attributes-hint = Die Attributnamen für jedes Feld, mehrere durch Kommas getrennt und der Reihe nach versucht. Leer: Lanyards Vorgaben (die üblichen Namen von ADFS, Entra ID, eduPerson und LDAP).
admin-provider-claims = Claim-Zuordnung
admin-provider-claims-hint = Der Claim für jedes Feld. Leer: preferred_username, email, groups und name.
admin-provider-save-new = Anbieter hinzufügen
admin-provider-start-again = Von vorn beginnen
admin-provider-title = Identitätsanbieter { $provider }
admin-provider-added = Hinzugefügt. Jede Lanyard-Instanz verwendet ihn innerhalb von zwei Sekunden. Geben Sie Lanyards Werte unten an den Administrator des Anbieters weiter, und führen Sie dann auf der Seite der Identitätsanbieter eine Test-Anmeldung aus.
admin-provider-saved = Gespeichert. Jede Lanyard-Instanz verwendet ihn innerhalb von zwei Sekunden.
admin-provider-stale = Jemand hat diesen Anbieter geändert, seit Sie ihn geöffnet haben.
admin-provider-kind = Art
admin-provider-file-lead = Dieser Anbieter ist in lanyard.toml definiert: Ändern Sie ihn dort (und laden Sie neu), nicht hier.
admin-provider-document = Anbieterdokument (JSON)
admin-provider-document-hint = Die Form eines [[providers]]-Eintrags von lanyard.toml als JSON, ohne seine ID. Secrets erscheinen als ********: Lassen Sie sie so, um das gespeicherte Secret zu behalten, oder geben Sie ein neues ein.
admin-provider-delete = Diesen Anbieter löschen…
admin-provider-back = Zurück zu den Identitätsanbietern
admin-provider-delete-title = Identitätsanbieter { $provider } löschen
# $provider wird als Code gezeigt.
admin-provider-delete-heading = Den Identitätsanbieter { $provider } ({ $name }) löschen?
admin-provider-delete-lead = Sobald er gelöscht ist, kann sich niemand mehr über ihn anmelden, auf jeder Lanyard-Instanz innerhalb von zwei Sekunden. Bereits begonnene Sitzungen laufen weiter, bis sie enden: Widerrufen Sie sie auf der Seite der Sitzungen, um sie sofort zu beenden.
admin-provider-trusted-by-none = Keine Vertrauensrichtlinie einer Rolle lässt Identitäten dieses Anbieters zu.
admin-provider-trusted-by =
    { $count ->
        [one] Diese Rolle vertraut ihm und lässt über ihn niemanden mehr zu:
       *[other] Diese { $count } Rollen vertrauen ihm und lassen über ihn niemanden mehr zu:
    }
admin-provider-delete-confirm = Anbieter löschen
admin-provider-none = Es gibt keinen Identitätsanbieter mit der ID { $provider }.
admin-provider-in-file = Der Identitätsanbieter { $provider } wird in lanyard.toml verwaltet und kann hier nicht geändert werden.
admin-provider-stale-how = Ihre Änderungen wurden nicht gespeichert. Der Anbieter hat jetzt Version { $version }, unten gezeigt. Ihr Text steht noch im Formular: Vergleichen Sie, und speichern Sie erneut, um diese Version zu ersetzen.
admin-provider-delete-stale = Die Bestätigung zeigt jetzt seine aktuelle Version.

## Verwaltete Richtlinien und OpenID-Clients (admin_policies.html, admin_policy*.html,
## admin_clients.html, admin_client*.html)
# $policy ist der Name einer verwalteten Richtlinie, $client die ID eines OpenID-Clients,
# $roles eine Liste von Rollennamen.

admin-nav-policies = Richtlinien
admin-nav-clients = OpenID-Clients
admin-col-policy = Richtlinie
admin-col-used-by = Verwendet von
admin-policies-title = Verwaltete Richtlinien
admin-policies-lead = Die Berechtigungsrichtlinien, die Rollen nennen (permission_policies, permissions_boundary). Eine Änderung gilt für jede Rolle, die die Richtlinie nennt.
admin-policy-new = Neue Richtlinie
admin-policy-title = Richtlinie { $policy }
# $policy wird als Code gezeigt.
admin-policy-heading = Richtlinie { $policy }
admin-policy-unused = keine Rolle
admin-policy-saved = Gespeichert. Jede Lanyard-Instanz verwendet sie innerhalb von zwei Sekunden.
admin-policy-deleted = Die Richtlinie { $policy } wurde gelöscht.
admin-policy-file-lead = Diese Richtlinie ist in lanyard.toml festgelegt: Ändern Sie sie dort (und laden Sie neu), nicht hier.
admin-policy-statements = Anweisungen
# $roles wird als Code gezeigt.
admin-policy-used-by = Verwendet von den Rollen { $roles }.
admin-policy-used-by-none = Keine Rolle verwendet diese Richtlinie.
admin-policy-name = Name
admin-policy-bad-name = Der Name einer Richtlinie besteht aus 1 bis 64 Buchstaben, Ziffern oder + = , . @ _ -.
admin-policy-document = Richtliniendokument (IAM-JSON)
admin-policy-document-hint = Eine IAM-Identitätsrichtlinie: Version und Statement, jede Anweisung mit Effect, Action oder NotAction, Resource oder NotResource und optional Condition. Probleme werden mit ihrem Pfad gezeigt, etwa document.Statement[0].Effect.
admin-policy-not-json = Die Richtlinie ist kein JSON-Objekt: { $detail }
admin-policy-stale = Jemand hat diese Richtlinie geändert, seit Sie sie geöffnet haben.
admin-policy-stale-how = Ihre Änderungen wurden nicht gespeichert. Die Richtlinie hat jetzt die Version { $version }, unten gezeigt. Ihr Text steht noch im Formular: Vergleichen Sie und speichern Sie erneut, um diese Version zu ersetzen.
admin-policy-managed-in-file = Die Richtlinie { $policy } wird in lanyard.toml verwaltet und kann hier nicht geändert werden.
admin-policy-not-found = Es gibt keine Richtlinie namens { $policy }.
# $policy und $roles werden als Code gezeigt.
admin-policy-confirm-lead = Die Rollen { $roles } verwenden die Richtlinie { $policy }: Was sie nicht mehr erlaubt, verlieren Personen mit diesen Rollen sofort, auf jeder Lanyard-Instanz.
admin-policy-delete = Diese Richtlinie löschen …
admin-policy-delete-title = Richtlinie { $policy } löschen
# $policy wird als Code gezeigt.
admin-policy-delete-heading = Die Richtlinie { $policy } löschen?
admin-policy-delete-lead = Keine Rolle verwendet sie, das Löschen nimmt also niemandem etwas. Es lässt sich nicht rückgängig machen; eine Richtlinie gleichen Namens kann neu angelegt werden.
admin-policy-delete-confirm = Richtlinie löschen
# $policy wird als Code gezeigt.
admin-policy-in-use-heading = Die Richtlinie { $policy } wird noch verwendet
# $policy und $roles werden als Code gezeigt.
admin-policy-in-use = Die Richtlinie { $policy } kann nicht gelöscht werden, solange Rollen sie nennen: { $roles }. Entfernen Sie sie zuerst aus deren permission_policies oder permissions_boundary und löschen Sie sie dann. Es wurde nichts gelöscht.
admin-policy-edit-role = Rolle { $role } bearbeiten
admin-policy-back = Zurück zur Richtlinie { $policy }
admin-col-client = Client
admin-col-grant-types = Grant-Typen
admin-col-secrets = Geheimnisse
admin-col-created = Erstellt
admin-col-works-until = Gültig bis (UTC)
admin-clients-title = OpenID-Clients
admin-clients-lead = Die Anwendungen, die ihre Benutzer über Lanyard anmelden oder eigene Anmeldedaten erhalten (client_credentials).
admin-client-new = Neuer Client
admin-client-title = Client { $client }
# $client wird als Code gezeigt.
admin-client-heading = Client { $client }
admin-client-public = öffentlich, kein Geheimnis
admin-client-confidential = vertraulich
admin-client-secrets-count =
    { $count ->
        [one] ein Geheimnis in Gebrauch
       *[other] { $count } Geheimnisse in Gebrauch
    }
admin-client-saved = Gespeichert. Jede Lanyard-Instanz verwendet ihn innerhalb von zwei Sekunden.
admin-client-deleted = Der Client { $client } wurde gelöscht; seine Geheimnisse gelten nicht mehr.
admin-client-file-lead = Dieser Client ist in lanyard.toml festgelegt: Ändern Sie ihn dort (und laden Sie neu), nicht hier.
admin-client-id = Client-ID
admin-client-id-hint = Die client_id, die die Anwendung sendet: 1 bis 128 Buchstaben, Ziffern oder - _ . : (sie lässt sich später nicht ändern).
admin-client-bad-id = Eine Client-ID besteht aus 1 bis 128 Buchstaben, Ziffern oder - _ . :
admin-client-name = Angezeigter Name
admin-client-kind = Art
admin-client-public-box = Öffentlicher Client (kein Geheimnis; eine Browser- oder native App mit PKCE)
admin-client-public-hint = Ein vertraulicher Client erhält ein von Lanyard erzeugtes Geheimnis, das nach dem Speichern einmal gezeigt wird.
admin-client-redirect-uris = Weiterleitungs-URIs
admin-client-post-logout-uris = Weiterleitungs-URIs nach der Abmeldung
admin-client-lines-hint = Eine URI pro Zeile: https, http auf einer Loopback-Adresse oder das Reverse-Domain-Schema einer nativen App.
admin-client-allowed-roles = Erlaubte Rollen
admin-client-allowed-roles-hint = Eine Rolle pro Zeile: die Rollen, die Personen für diese Anwendung erhalten dürfen.
admin-client-machine-role = Maschinenrolle
admin-client-machine-role-hint = Mit client_credentials: die Rolle, die der Client selbst erhält. Ihre Vertrauensrichtlinie muss den ARN des Clients zulassen.
admin-client-audience = Zielgruppe (Audience)
admin-client-audience-hint = Das aud der an ihn ausgegebenen Zugriffstoken; leer: seine ID.
admin-client-access-lifetime = Gültigkeit der Zugriffstoken
admin-client-refresh-lifetime = Gültigkeit der Refresh-Token
admin-client-lifetime-hint = Eine Dauer wie 15m, 1h oder 8h; leer für den Standardwert.
admin-client-introspect = Token, die er prüfen darf (Introspection)
admin-client-introspect-own = seine eigenen (an ihn ausgegeben oder für seine Zielgruppe)
admin-client-introspect-any = jedes von Lanyard ausgegebene Token (ein gemeinsamer Ressourcenserver)
admin-client-source-ip = Quelladresse
admin-client-source-ip-box = Dem Client vertrauen, die Adresse der bedienten Person zu melden (aws:SourceIp in /v1/authorize)
admin-client-create = Client anlegen
admin-client-stale = Jemand hat diesen Client geändert, seit Sie ihn geöffnet haben.
admin-client-stale-how = Es wurde nichts gespeichert. Der Client hat jetzt die Version { $version }. Ihre Eingaben stehen noch im Formular: Prüfen Sie die Seite des Clients in einem neuen Tab und speichern Sie dann erneut, um diese Version zu ersetzen.
admin-client-managed-in-file = Der Client { $client } wird in lanyard.toml verwaltet und kann hier nicht geändert werden.
admin-client-not-found = Es gibt keinen Client mit der ID { $client }.
admin-client-public-no-secret = Der Client { $client } ist öffentlich: Er hat kein Geheimnis, das ersetzt werden könnte.
admin-client-too-many-secrets = Dieser Client hat schon fünf Geheimnisse in Gebrauch. Erzeugen Sie ein neues ohne Überlappung, um die anderen sofort zu beenden, oder warten Sie, bis ihre Überlappung endet.
admin-client-bad-overlap = Die Überlappung ist eine Anzahl Sekunden, höchstens 30 Tage (2592000).
# $client wird als Code gezeigt.
admin-client-confirm-lead = Diese Änderung am Client { $client } entfernt:
admin-client-removes-secrets = er wird öffentlich, und seine Geheimnisse gelten nicht mehr
admin-client-secrets-title = Geheimnisse
admin-client-secrets-lead = Die jetzt gültigen Geheimnisse, nach ihrer Erstellung. Geheimnisse werden nach ihrer Erstellung nie wieder gezeigt; nur ihre Hashes werden aufbewahrt.
admin-client-until-rotation = bis zum nächsten neuen Geheimnis
admin-client-public-no-secrets = Ein öffentlicher Client hat kein Geheimnis.
admin-client-overlap = Wenn ein neues Geheimnis erzeugt wird, gelten die bisherigen noch
admin-client-overlap-hour = 1 Stunde
admin-client-overlap-day = 24 Stunden (Standard)
admin-client-overlap-week = 7 Tage
admin-client-overlap-month = 30 Tage (am längsten)
admin-client-overlap-none = gar nicht: die bisherigen Geheimnisse sofort beenden
admin-client-overlap-hint = Die Überlappung lässt die Anwendung ohne Ausfall auf das neue Geheimnis umstellen.
admin-client-rotate = Neues Geheimnis erzeugen
admin-client-rotate-confirm-title = Die bisherigen Geheimnisse sofort beenden?
# $client wird als Code gezeigt.
admin-client-rotate-confirm-lead = Der Client { $client } erhält ein neues Geheimnis, und jedes bisherige gilt sofort nicht mehr: Die Anwendung schlägt fehl, bis sie das neue verwendet.
admin-client-rotate-confirm = Neues Geheimnis erzeugen und die anderen beenden
admin-client-secret-title = Das neue Geheimnis von { $client }
# $client wird als Code gezeigt.
admin-client-secret-heading = Das neue Geheimnis des Clients { $client }
admin-client-secret-once = Kopieren Sie es jetzt: Es wird nicht noch einmal gezeigt. Lanyard bewahrt nur seinen Hash auf.
admin-client-secret-label = Client-Geheimnis
admin-client-previous-until = Die bisherigen Geheimnisse gelten noch bis { $when }.
admin-client-previous-ended = Die bisherigen Geheimnisse gelten nicht mehr.
admin-client-secret-done = Ich habe es kopiert: zurück zum Client
admin-client-delete = Diesen Client löschen …
admin-client-delete-title = Client { $client } löschen
# $client wird als Code gezeigt.
admin-client-delete-heading = Den Client { $client } löschen?
admin-client-delete-lead = Die Anwendung kann keine Personen mehr anmelden und keine Token mehr erhalten: Ihre Geheimnisse gelten sofort nicht mehr. Bereits an sie ausgegebene Token gelten bis zu ihrem Ablauf.
admin-client-delete-confirm = Client löschen
