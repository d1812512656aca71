//! The console's provider pages without a browser (issue 15): adding a SAML IdP from
//! pasted metadata (written as the explicit IdP it names), the same from an uploaded
//! metadata file (multipart: a file too large, not UTF-8, not XML or not metadata refused
//! with the page saying so, unknown fields and a second file refused), a preset whose
//! client secret is never shown again and is kept by an edit that leaves `********`, what
//! a form says about bad input (keeping what was typed), the stale edit that writes
//! nothing, the deletion's confirmation naming the roles that trust the provider, the
//! file's providers read-only, and the refusals: no CSRF token, a role without the
//! actions. The journey in Chromium is `admin_journey`.

use serde_json::{Value, json};

use crate::admin_api::token;
use crate::admin_console::{api, signed_in, start};
use crate::harness::{Lanyard, csrf_of};
use crate::saml_support::pem_body;

/// An IdP's metadata naming the fixture certificate idp1, as an admin would paste it.
fn metadata(entity_id: &str) -> String {
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         entityID=\"{entity_id}\"><md:IDPSSODescriptor \
         protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\
         <md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\
         <ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
         </md:KeyDescriptor>\
         <md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" \
         Location=\"https://idp.example/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>",
        pem_body("idp1.crt")
    )
}

/// A console form poster for one browser: status and page.
struct Forms<'a> {
    l: &'a Lanyard,
    b: reqwest::Client,
    csrf: String,
}

impl<'a> Forms<'a> {
    async fn of(l: &'a Lanyard, user: &str, role: &str) -> Forms<'a> {
        let b = signed_in(l, user, role).await;
        // The session's form token, from a page every signed-in person sees.
        let page = b.get(l.at("/credentials")).send().await.unwrap();
        let csrf = csrf_of(&page.text().await.unwrap());
        Forms { l, b, csrf }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let r = self.b.get(self.l.at(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let mut fields = fields.to_vec();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            fields.push(("csrf", &self.csrf));
        }
        let r = self
            .b
            .post(self.l.at(path))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, r.text().await.unwrap(), location)
    }
}

/// The boundary of the multipart bodies the tests post.
const BOUNDARY: &str = "lanyard-test-7d1f0c";

/// A `multipart/form-data` body (RFC 7578) of the text `fields` and the `files` (field,
/// file name, content), as a browser sends one.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, content) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: text/xml\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl Forms<'_> {
    /// Posts the first step as its page does (multipart), with the session's form token
    /// unless `fields` has one: status and page.
    async fn upload(
        &self,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> (u16, String) {
        let mut fields = fields.to_vec();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            fields.push(("csrf", &self.csrf));
        }
        let r = self
            .b
            .post(self.l.at("/admin/providers/new"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(&fields, files))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// The SHA-256 fingerprint of the fixture certificate `name`, as the console shows one.
pub(crate) fn fingerprint(name: &str) -> String {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(pem_body(name))
        .unwrap();
    openssl::sha::sha256(&der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The admin API's view of provider `id`.
async fn provider(l: &Lanyard, admin: &str, id: &str) -> (u16, Value) {
    api(
        l,
        admin,
        reqwest::Method::GET,
        &format!("/admin/api/v1/providers/{id}"),
        &[],
        None,
    )
    .await
}

#[tokio::test]
async fn pasted_metadata_becomes_the_explicit_idp_and_bad_input_is_said_on_the_form() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let alice = Forms::of(&l, "alice", "admin").await;
    let (status, page) = alice.get("/admin/providers/new").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"metadata_xml\""), "{page}");
    // The first step is posted as multipart, for its metadata file (the next test).
    assert!(
        page.contains("enctype=\"multipart/form-data\"")
            && page.contains("type=\"file\" accept=\".xml,application/samlmetadata+xml,text/xml\""),
        "{page}"
    );
    let xml = metadata("https://idp.example/metadata");
    let fields = |id: &'static str, action: &'static str| {
        vec![
            ("id", id),
            ("source", "saml_xml"),
            ("action", action),
            ("metadata_xml", xml.as_str()),
            ("display_name", "Pasted IdP"),
            ("map_groups", "isMemberOf, memberOf"),
        ]
    };

    // Without the form's token: refused, nothing inspected or written.
    let mut forged = fields("pasted", "save");
    forged.push(("csrf", "not-the-token"));
    let (status, page, _) = alice.post("/admin/providers/new", &forged).await;
    assert_eq!(status, 403, "{page}");
    assert_eq!(provider(&l, &admin, "pasted").await.0, 404);

    // The second step: what the metadata says, and what to hand to the IdP's admin.
    let (status, page, _) = alice
        .post("/admin/providers/new", &fields("pasted", "inspect"))
        .await;
    assert_eq!(status, 200, "{page}");
    for want in [
        "https://idp.example/metadata",
        "https://idp.example/sso",
        "CN=lanyard-test-idp1",
        "accepts this metadata",
        "http://127.0.0.1:8080/auth/pasted/callback",
        "http://127.0.0.1:8080/auth/pasted/metadata",
    ] {
        assert!(page.contains(want), "{want} in {page}");
    }
    assert_eq!(provider(&l, &admin, "pasted").await.0, 404, "not saved yet");

    // Saved: the explicit IdP the document names, the mapping as a list.
    let (status, page, location) = alice
        .post("/admin/providers/new", &fields("pasted", "save"))
        .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, "/admin/providers/pasted?added=1");
    let (status, body) = provider(&l, &admin, "pasted").await;
    assert_eq!(status, 200, "{body}");
    let d = &body["document"];
    assert_eq!(d["kind"], "saml");
    assert_eq!(d["idp_entity_id"], "https://idp.example/metadata");
    assert_eq!(d["sso_url"], "https://idp.example/sso");
    assert_eq!(d["display_name"], "Pasted IdP");
    assert_eq!(d["attributes"]["groups"], json!(["isMemberOf", "memberOf"]));
    let pem = d["certificates"][0].as_str().unwrap();
    let body_of =
        |pem: &str| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
    assert_eq!(body_of(pem), pem_body("idp1.crt"));
    let (status, page) = alice.get("/admin/providers/pasted?added=1").await;
    assert_eq!(status, 200);
    assert!(page.contains("Added."), "{page}");
    assert!(page.contains("<textarea id=\"document\""), "{page}");
    assert!(page.contains("/admin/providers/pasted/delete"), "{page}");

    // Bad input, each said next to its field, the form keeping what was typed.
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[("id", "x"), ("metadata_url", "https://a")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("Press the button beside"), "{page}");
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[
                ("id", "Not An Id"),
                ("source", "saml_url"),
                ("metadata_url", "https://a"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"id-error\""), "{page}");
    assert!(page.contains("value=\"Not An Id\""), "{page}");
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[("id", "corp"), ("source", "preset"), ("preset", "google")],
        )
        .await;
    assert_eq!(status, 409);
    assert!(page.contains("exists already"), "{page}");
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[
                ("id", "other"),
                ("source", "saml_xml"),
                ("metadata_xml", "<x/>"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"metadata_xml-error\""), "{page}");
    assert!(page.contains("neither an md:EntityDescriptor"), "{page}");
    assert!(
        page.contains("&#60;x/&#62;</textarea>") || page.contains("&lt;x/&gt;</textarea>"),
        "{page}"
    );
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[
                ("id", "other"),
                ("source", "saml_url"),
                ("metadata_url", "file:///etc/passwd"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(page.contains("id=\"metadata_url-error\""), "{page}");

    // The file's provider: read-only, and its form cannot be posted to.
    let (status, page) = alice.get("/admin/providers/corp").await;
    assert_eq!(status, 200);
    assert!(page.contains("managed in lanyard.toml"), "{page}");
    assert!(!page.contains("<textarea"), "{page}");
    let (status, page, _) = alice
        .post(
            "/admin/providers/corp",
            &[("document", "{\"kind\": \"local\"}"), ("version", "1")],
        )
        .await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("managed in lanyard.toml"), "{page}");
    let (status, _) = alice.get("/admin/providers/nobody").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_uploaded_metadata_file_is_read_as_pasted_and_bad_files_are_refused() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let alice = Forms::of(&l, "alice", "admin").await;
    let xml = metadata("https://idp.example/uploaded");
    let step = |id: &'static str| vec![("id", id), ("source", "saml_file")];
    let xml_bytes = xml.as_bytes();

    // Without the form's token, or with another: refused, nothing inspected.
    for csrf in ["", "not-the-token"] {
        let mut fields = step("uploaded");
        fields.push(("csrf", csrf));
        let (status, page) = alice.upload(&fields, &[file(xml_bytes)]).await;
        assert_eq!(status, 403, "{page}");
        assert!(!page.contains("https://idp.example/uploaded"), "{page}");
    }

    // The file read as a pasted document would be: the second step, which carries it on
    // as the pasted document, and saves the explicit IdP it names.
    let (status, page) = alice.upload(&step("uploaded"), &[file(xml_bytes)]).await;
    assert_eq!(status, 200, "{page}");
    for want in [
        "https://idp.example/uploaded",
        "https://idp.example/sso",
        "CN=lanyard-test-idp1",
        &fingerprint("idp1.crt"),
        "accepts this metadata",
        "name=\"source\" value=\"saml_xml\"",
    ] {
        assert!(page.contains(want), "{want} in {page}");
    }
    let carried = html_value(&page, "name=\"metadata_xml\"");
    assert!(carried.contains("EntityDescriptor"), "{carried}");
    // Saved from the second step, which posts the document on as pasted.
    let second = [
        ("id", "uploaded"),
        ("source", "saml_xml"),
        ("action", "save"),
        ("metadata_xml", xml.as_str()),
    ];
    let (status, page, location) = alice.post("/admin/providers/new", &second).await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, "/admin/providers/uploaded?added=1");
    let (status, body) = provider(&l, &admin, "uploaded").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["document"]["idp_entity_id"],
        "https://idp.example/uploaded"
    );

    // A byte-order mark is no problem.
    let mut marked = "\u{feff}".as_bytes().to_vec();
    marked.extend_from_slice(xml_bytes);
    let (status, page) = alice.upload(&step("marked"), &[file(&marked)]).await;
    assert_eq!(status, 200, "{page}");

    // Files that are not metadata XML: said beside the file field, what was typed kept.
    for (content, says) in [
        (
            &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe"[..],
            "is not a text file in UTF-8",
        ),
        (&b"id,name\nidp,Corp\n"[..], "is not XML"),
        (
            &b"<note>not metadata</note>"[..],
            "neither an md:EntityDescriptor",
        ),
        (&b"<a>\0</a>"[..], "is not a text file in UTF-8"),
    ] {
        let (status, page) = alice.upload(&step("bad-file"), &[file(content)]).await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("id=\"metadata_file-error\""), "{page}");
        assert!(page.contains(says), "{says} in {page}");
        assert!(page.contains("value=\"bad-file\""), "{page}");
    }
    // No file chosen: the browser sends the field empty, without a name.
    let (status, page) = alice
        .upload(&step("no-file"), &[("metadata_file", "", b"")])
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("Choose the metadata file first"), "{page}");

    // Larger than the connector takes: a page saying so, in the console, with 413.
    let mut big = b"<md:EntityDescriptor>".to_vec();
    big.resize(1024 * 1024 + 1, b' ');
    let (status, page) = alice.upload(&step("big"), &[file(&big)]).await;
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("a file may be at most"), "{page}");
    assert!(page.contains("href=\"/admin\""), "{page}");

    // A field the page does not send, a field twice, a second file: refused.
    let mut unknown = step("odd");
    unknown.push(("role", "admin"));
    let (status, page) = alice.upload(&unknown, &[file(xml_bytes)]).await;
    assert_eq!(status, 400, "{page}");
    let mut twice = step("odd");
    twice.push(("id", "other"));
    let (status, page) = alice.upload(&twice, &[file(xml_bytes)]).await;
    assert_eq!(status, 400, "{page}");
    let (status, page) = alice
        .upload(&step("odd"), &[file(xml_bytes), file(xml_bytes)])
        .await;
    assert_eq!(status, 400, "{page}");
    let (status, page) = alice
        .upload(&step("odd"), &[("metadata_xml", "x.xml", xml_bytes)])
        .await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("could not be read"), "{page}");
    for id in ["marked", "bad-file", "no-file", "big", "odd"] {
        assert_eq!(provider(&l, &admin, id).await.0, 404, "{id}");
    }
}

/// The file field of the first step holding `content`, as `idp-metadata.xml`.
fn file(content: &[u8]) -> (&'static str, &'static str, &[u8]) {
    ("metadata_file", "idp-metadata.xml", content)
}

/// The value of the first input of `html` with the attribute `attr`.
fn html_value(html: &str, attr: &str) -> String {
    let at = html
        .find(attr)
        .unwrap_or_else(|| panic!("no {attr}: {html}"));
    let rest = &html[at..];
    let start = rest.find("value=\"").unwrap() + "value=\"".len();
    let end = rest[start..].find('"').unwrap() + start;
    rest[start..end].to_owned()
}

#[tokio::test]
async fn a_preset_keeps_its_secret_unshown_and_a_stale_edit_writes_nothing() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let alice = Forms::of(&l, "alice", "admin").await;
    let preset = |client_id: &'static str| {
        vec![
            ("id", "gmail"),
            ("source", "preset"),
            ("preset", "google"),
            ("action", "save"),
            ("display_name", "Gmail"),
            ("client_id", client_id),
            ("client_secret", "s3cret-value"),
        ]
    };
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[("id", "gmail"), ("source", "preset"), ("preset", "google")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("http://127.0.0.1:8080/auth/gmail/callback"),
        "{page}"
    );
    assert!(
        page.contains("value=\"Google\""),
        "the name suggested: {page}"
    );

    // check-config's problem, at its path, next to its field; the secret not echoed.
    let (status, page, _) = alice.post("/admin/providers/new", &preset("")).await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("<code>client_id</code>: is required"),
        "{page}"
    );
    assert!(page.contains("id=\"client_id-error\""), "{page}");
    assert!(page.contains("value=\"Gmail\""), "{page}");
    assert!(!page.contains("s3cret-value"), "{page}");
    assert!(page.contains("type the client secret again"), "{page}");
    assert_eq!(provider(&l, &admin, "gmail").await.0, 404);

    let (status, page, _) = alice
        .post("/admin/providers/new", &preset("gmail-client"))
        .await;
    assert_eq!(status, 303, "{page}");
    let (_, body) = provider(&l, &admin, "gmail").await;
    assert_eq!(body["document"]["client_secret"], "********", "{body}");
    assert_eq!(body["version"], 1);
    let (status, page) = alice.get("/admin/providers/gmail").await;
    assert_eq!(status, 200);
    assert!(!page.contains("s3cret-value"), "{page}");
    assert!(
        page.contains("&quot;********&quot;") || page.contains("&#34;********&#34;"),
        "{page}"
    );
    assert!(page.contains("name=\"version\" value=\"1\""), "{page}");

    // An edit that leaves the secret as ******** keeps it (none stored: refused).
    let edited = json!({
        "kind": "google",
        "display_name": "Google Workspace",
        "client_id": "gmail-client",
        "client_secret": "********"
    })
    .to_string();
    let (status, page, location) = alice
        .post(
            "/admin/providers/gmail",
            &[("document", &edited), ("version", "1")],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location, "/admin/providers/gmail?saved=1");
    let (_, body) = provider(&l, &admin, "gmail").await;
    assert_eq!(body["version"], 2);
    assert_eq!(body["document"]["display_name"], "Google Workspace");

    // The same form again: someone (this edit) changed it since; nothing is written.
    let stale = edited.replace("Google Workspace", "Stale name");
    let (status, page, _) = alice
        .post(
            "/admin/providers/gmail",
            &[("document", &stale), ("version", "1")],
        )
        .await;
    assert_eq!(status, 412, "{page}");
    assert!(
        page.contains("Someone changed this provider since you opened it"),
        "{page}"
    );
    assert!(page.contains("now at version 2"), "{page}");
    assert!(
        page.contains("Stale name"),
        "the typed text is kept: {page}"
    );
    let (_, body) = provider(&l, &admin, "gmail").await;
    assert_eq!(body["version"], 2, "nothing was written");
    assert_eq!(body["document"]["display_name"], "Google Workspace");

    // What check-config refuses, with its path; text that is not JSON.
    let (status, page, _) = alice
        .post(
            "/admin/providers/gmail",
            &[("document", "{\"kind\": \"google\"}"), ("version", "2")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("<code>client_id</code>"), "{page}");
    let (status, page, _) = alice
        .post(
            "/admin/providers/gmail",
            &[("document", "{nope"), ("version", "2")],
        )
        .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("not a JSON object"), "{page}");
    assert_eq!(provider(&l, &admin, "gmail").await.1["version"], 2);
}

#[tokio::test]
async fn deleting_a_provider_asks_first_and_names_the_roles_it_cuts_off() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let alice = Forms::of(&l, "alice", "admin").await;
    let (status, page, _) = alice
        .post(
            "/admin/providers/new",
            &[
                ("id", "gmail"),
                ("source", "preset"),
                ("preset", "google"),
                ("action", "save"),
                ("client_id", "c"),
                ("client_secret", "s"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    let role = json!({
        "trust_policy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": "gmail"},
                "Action": "sts:AssumeRoleWithWebIdentity"
            }]
        }
    });
    let (status, body) = api(
        &l,
        &admin,
        reqwest::Method::PUT,
        "/admin/api/v1/roles/gmail-users",
        &[("If-None-Match", "*")],
        Some(&role),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, page) = alice.get("/admin/providers/gmail/delete").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Delete the identity provider"), "{page}");
    assert!(page.contains("href=\"/admin/roles/gmail-users\""), "{page}");
    assert!(page.contains("name=\"version\" value=\"1\""), "{page}");

    // Without the token, or at a version that is not the provider's: nothing deleted.
    let (status, _, _) = alice
        .post(
            "/admin/providers/gmail/delete",
            &[("csrf", ""), ("version", "1")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, page, _) = alice
        .post("/admin/providers/gmail/delete", &[("version", "7")])
        .await;
    assert_eq!(status, 412, "{page}");
    assert!(
        page.contains("The confirmation now shows its current version"),
        "{page}"
    );
    assert_eq!(provider(&l, &admin, "gmail").await.0, 200, "not deleted");

    let (status, _, location) = alice
        .post("/admin/providers/gmail/delete", &[("version", "1")])
        .await;
    assert_eq!(status, 303);
    assert_eq!(location, "/admin/providers?deleted=gmail");
    let (status, page) = alice.get(&location).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("The identity provider gmail was deleted."),
        "{page}"
    );
    assert_eq!(provider(&l, &admin, "gmail").await.0, 404);

    // The file's provider has no deletion.
    let (status, page) = alice.get("/admin/providers/corp/delete").await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("managed in lanyard.toml"), "{page}");
}

#[tokio::test]
async fn a_role_without_the_actions_is_refused_before_anything_is_fetched_or_written() {
    let (l, _keys, _db) = start().await;
    let admin = token(&l, "alice", "admin").await;
    let bob = Forms::of(&l, "bob", "engineer").await;
    let (status, page) = bob.get("/admin/providers/new").await;
    assert_eq!(status, 403);
    assert!(
        page.contains("<code>lanyard:InspectProvider</code>"),
        "{page}"
    );
    let (status, page, _) = bob
        .post(
            "/admin/providers/new",
            &[
                ("id", "gmail"),
                ("source", "preset"),
                ("preset", "google"),
                ("action", "save"),
                ("client_id", "c"),
                ("client_secret", "s"),
            ],
        )
        .await;
    assert_eq!(status, 403, "{page}");
    assert_eq!(provider(&l, &admin, "gmail").await.0, 404);
    let (status, page) = bob.get("/admin/providers/corp").await;
    assert_eq!(status, 403);
    assert!(page.contains("<code>lanyard:GetProvider</code>"), "{page}");
    let (status, page, _) = bob
        .post("/admin/providers/corp/delete", &[("version", "1")])
        .await;
    assert_eq!(status, 403);
    assert!(
        page.contains("<code>lanyard:DeleteProvider</code>"),
        "{page}"
    );
}
