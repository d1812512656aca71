//! Shared pieces of the SAML tests: fixture paths, a response builder that signs with
//! libxmlsec1 (through samael) like an IdP would, a connector built from config text, and
//! the pysaml2 IdP peer.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lanyard::config::Config;
use lanyard::connectors::ProviderSettings;
use lanyard::connectors::saml::{SamlConnector, with_xmlsec};
use lanyard::identity::ProviderId;
use samael::crypto::{Crypto, CryptoProvider};

pub const ACS: &str = "http://127.0.0.1:8080/auth/idp/callback";
pub const SP_ENTITY: &str = "http://127.0.0.1:8080/auth/idp/metadata";
pub const IDP_ENTITY: &str = "https://idp.test/metadata";
/// The pysaml2 version the venv installs (also in scripts/ensure-deps.sh).
pub const PYSAML2_VERSION: &str = "7.5.5";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/saml")
        .join(name)
}

pub fn pem_body(name: &str) -> String {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

/// A key as DER for xmlsec signing.
pub fn key_der(name: &str) -> Vec<u8> {
    let pem = std::fs::read(fixture(name)).unwrap();
    openssl::pkey::PKey::private_key_from_pem(&pem)
        .unwrap()
        .private_key_to_der()
        .unwrap()
}

/// What goes into a test response.
#[derive(Clone)]
pub struct Shape {
    pub response_id: String,
    pub assertion_id: String,
    pub issuer: String,
    pub in_response_to: Option<String>,
    /// Raw XML content of NameID (may hold a comment for the injection test).
    pub name_id_xml: String,
    pub audience: String,
    pub recipient: String,
    pub destination: String,
    pub now: i64,
    pub not_before: i64,
    pub not_on_or_after: i64,
    pub status: String,
    pub groups: Vec<String>,
    pub padding_attributes: usize,
}

impl Shape {
    pub fn valid(now: i64) -> Self {
        Shape {
            response_id: format!("_r{}", uuid::Uuid::new_v4().simple()),
            assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
            issuer: IDP_ENTITY.into(),
            in_response_to: None,
            name_id_xml: "alice@example.com".into(),
            audience: SP_ENTITY.into(),
            recipient: ACS.into(),
            destination: ACS.into(),
            now,
            not_before: now - 60,
            not_on_or_after: now + 300,
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            groups: vec!["engineering".into()],
            padding_attributes: 0,
        }
    }
}

fn t(s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(s)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A signature template (RSA-SHA256, enveloped + exclusive c14n) referencing `#id`.
pub fn sig_template(id: &str, cert: &str) -> String {
    format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
         <ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
         <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
         <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
         <ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}\
         </ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
    )
}

/// The Assertion element; with a signature template when `signed_by` names a key.
pub fn assertion(s: &Shape, signed_by: Option<&str>) -> String {
    let irt = s
        .in_response_to
        .as_ref()
        .map(|i| format!(" InResponseTo=\"{i}\""))
        .unwrap_or_default();
    let sig = signed_by
        .map(|k| sig_template(&s.assertion_id, &pem_body(&k.replace(".key", ".crt"))))
        .unwrap_or_default();
    let groups: String = s
        .groups
        .iter()
        .map(|g| format!("<saml:AttributeValue>{g}</saml:AttributeValue>"))
        .collect();
    let padding: String = (0..s.padding_attributes)
        .map(|i| format!("<saml:Attribute Name=\"urn:test:pad{i}\"><saml:AttributeValue>padding value {i} for a realistic response size</saml:AttributeValue></saml:Attribute>"))
        .collect();
    let xml = format!(
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{aid}\" Version=\"2.0\" IssueInstant=\"{now}\">\
         <saml:Issuer>{issuer}</saml:Issuer>{sig}\
         <saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">{name}</saml:NameID>\
         <saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">\
         <saml:SubjectConfirmationData NotOnOrAfter=\"{noa}\" Recipient=\"{rcpt}\"{irt}/></saml:SubjectConfirmation></saml:Subject>\
         <saml:Conditions NotBefore=\"{nb}\" NotOnOrAfter=\"{noa}\"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions>\
         <saml:AuthnStatement AuthnInstant=\"{now}\"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>\
         <saml:AttributeStatement><saml:Attribute Name=\"urn:oid:0.9.2342.19200300.100.1.3\" FriendlyName=\"mail\"><saml:AttributeValue>alice@example.com</saml:AttributeValue></saml:Attribute>\
         <saml:Attribute Name=\"urn:oid:1.3.6.1.4.1.5923.1.5.1.1\" FriendlyName=\"isMemberOf\">{groups}</saml:Attribute>{padding}</saml:AttributeStatement>\
         </saml:Assertion>",
        aid = s.assertion_id,
        now = t(s.now),
        issuer = s.issuer,
        name = s.name_id_xml,
        noa = t(s.not_on_or_after),
        nb = t(s.not_before),
        rcpt = s.recipient,
        aud = s.audience,
    );
    match signed_by {
        Some(k) => strip_decl(&with_xmlsec(|| Crypto::sign_xml(xml, &key_der(k))).unwrap()),
        None => xml,
    }
}

pub fn strip_decl(xml: &str) -> String {
    let xml = xml.trim();
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim().to_owned(),
        None => xml.to_owned(),
    }
}

/// A Response around `assertion_xml`; signed when `signed_by` names a key.
pub fn response(s: &Shape, assertion_xml: &str, signed_by: Option<&str>) -> String {
    let irt = s
        .in_response_to
        .as_ref()
        .map(|i| format!(" InResponseTo=\"{i}\""))
        .unwrap_or_default();
    let sig = signed_by
        .map(|k| sig_template(&s.response_id, &pem_body(&k.replace(".key", ".crt"))))
        .unwrap_or_default();
    let xml = format!(
        "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" \
         ID=\"{rid}\" Version=\"2.0\" IssueInstant=\"{now}\" Destination=\"{dest}\"{irt}>\
         <saml:Issuer>{issuer}</saml:Issuer>{sig}\
         <samlp:Status><samlp:StatusCode Value=\"{status}\"/></samlp:Status>{assertion_xml}</samlp:Response>",
        rid = s.response_id,
        now = t(s.now),
        dest = s.destination,
        issuer = s.issuer,
        status = s.status,
    );
    match signed_by {
        Some(k) => strip_decl(&with_xmlsec(|| Crypto::sign_xml(xml, &key_der(k))).unwrap()),
        None => xml,
    }
}

/// A response with a signed assertion (the common IdP default).
pub fn signed(s: &Shape) -> String {
    response(s, &assertion(s, Some("idp1.key")), None)
}

pub fn b64(xml: &str) -> String {
    STANDARD.encode(xml.as_bytes())
}

/// Provider config text of the explicit test IdP (certificate idp1), plus `extra` lines.
pub fn provider_toml(extra: &str) -> String {
    format!(
        "[[providers]]\nid = \"idp\"\nkind = \"saml\"\ndisplay_name = \"Test IdP\"\n\
         idp_entity_id = \"{IDP_ENTITY}\"\nsso_url = \"https://idp.test/sso\"\n\
         certificates = [\"{c}\"]\nsp_key_file = \"{k}\"\nsp_cert_file = \"{sc}\"\n{extra}\n",
        c = fixture("idp1.crt").display(),
        k = fixture("sp.key").display(),
        sc = fixture("sp.crt").display(),
    )
}

/// A connector for the explicit test IdP.
pub fn connector(extra: &str) -> SamlConnector {
    let text = format!(
        "[server]\npublic_url = \"http://127.0.0.1:8080\"\n{}",
        provider_toml(extra)
    );
    let config = Config::from_toml(&text, Path::new("."), &|_| None).unwrap();
    let ProviderSettings::Saml(s) = &config.providers[0].settings else {
        panic!("not saml")
    };
    let id = ProviderId::new("idp");
    SamlConnector::new(id.clone(), s, lanyard::connectors::CallTimer::new(id, None)).unwrap()
}

/// Roles trusting the `idp` SAML provider.
pub const SAML_ROLES: &str = r#"
[[roles]]
name = "engineer"
description = "Deploy"
max_session_duration = "4h"
trust_policy = { Version = "2012-10-17", Statement = [
  { Effect = "Allow", Principal = { Federated = "idp" }, Action = "sts:AssumeRoleWithSAML",
    Condition = { "ForAnyValue:StringEquals" = { "idp:groups" = ["engineering"] } } },
] }

[[roles]]
name = "admin"
description = "Administer (MFA)"
trust_policy = { Version = "2012-10-17", Statement = [
  { Effect = "Allow", Principal = { Federated = "idp" }, Action = "sts:AssumeRoleWithSAML",
    Condition = { "ForAnyValue:StringEquals" = { "idp:groups" = ["admins"] }, Bool = { "aws:MultiFactorAuthPresent" = "true" } } },
] }

[[roles]]
name = "auditor"
description = "Read the books"
trust_policy = { Version = "2012-10-17", Statement = [
  { Effect = "Allow", Principal = { Federated = "idp" }, Action = "sts:AssumeRoleWithSAML",
    Condition = { "ForAnyValue:StringEquals" = { "idp:groups" = ["finance"] } } },
] }
"#;

/// Full Lanyard config text around a provider block.
pub fn lanyard_toml(keys_dir: &Path, provider: &str) -> String {
    format!(
        "[server]\nbind = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:8080\"\n\
         [sessions]\nstore = \"memory\"\n[tokens]\nalgorithm = \"ES256\"\nkeys_dir = \"{}\"\n\
         default_duration = \"1h\"\n{provider}\n{SAML_ROLES}",
        keys_dir.display()
    )
}

/// The ID of the AuthnRequest in a redirect Location.
pub fn request_id(location: &str) -> String {
    let url = url::Url::parse(location).unwrap();
    let req = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .to_string();
    let deflated = STANDARD.decode(req).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..])
        .read_to_string(&mut xml)
        .unwrap();
    let at = xml.find(" ID=\"").unwrap() + 5;
    xml[at..at + xml[at..].find('"').unwrap()].to_owned()
}

// ---- the pysaml2 peer ------------------------------------------------------------------

static VENV: Mutex<()> = Mutex::new(());

/// The venv's python, creating the venv with pysaml2 when missing (scripts/ensure-deps.sh
/// normally does it first).
pub fn venv_python() -> PathBuf {
    let _guard = VENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/saml/.venv");
    let python = dir.join("bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", "import saml2"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let st = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&dir)
            .status()
            .expect("python3 -m venv");
        assert!(st.success(), "creating the pysaml2 venv failed");
        let st = Command::new(dir.join("bin/pip"))
            .args(["install", "-q", &format!("pysaml2=={PYSAML2_VERSION}")])
            .status()
            .expect("pip install pysaml2");
        assert!(st.success(), "installing pysaml2 failed");
    }
    python
}

/// How the IdP peer behaves.
#[derive(Clone, Default)]
pub struct IdpOptions {
    pub sign_response: bool,
    pub sign_assertion: bool,
    pub encrypt_assertion: bool,
    /// Sign with idp2 instead of idp1 (certificate rollover).
    pub rolled_key: bool,
    /// Further certificates listed in its metadata.
    pub extra_certs: Vec<&'static str>,
    /// Lanyard's real base URL, when the IdP must send a real browser there (the ACS and
    /// SP entity ID follow from it); the fixed `public_url` of [`ACS`] otherwise.
    pub sp_url: Option<String>,
    /// The host name in the IdP's URLs (`localhost` puts it on another site than Lanyard
    /// on 127.0.0.1); 127.0.0.1 when not set. It listens on 127.0.0.1 either way.
    pub host: Option<&'static str>,
}

/// A running pysaml2 IdP.
pub struct Idp {
    child: Child,
    pub port: u16,
    host: &'static str,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Idp {
    pub async fn start(opts: IdpOptions) -> Idp {
        let python = tokio::task::spawn_blocking(venv_python).await.unwrap();
        let port = free_port();
        let host = opts.host.unwrap_or("127.0.0.1");
        let key = if opts.rolled_key { "idp2" } else { "idp1" };
        let mut cmd = Command::new(python);
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/saml/idp.py"))
            .args(["--port", &port.to_string()])
            .args(["--host", host])
            .arg("--key")
            .arg(fixture(&format!("{key}.key")))
            .arg("--cert")
            .arg(fixture(&format!("{key}.crt")))
            .args(match &opts.sp_url {
                Some(sp) => [
                    "--sp-entity-id".to_owned(),
                    format!("{sp}/auth/idp/metadata"),
                    "--acs".to_owned(),
                    format!("{sp}/auth/idp/callback"),
                ],
                None => [
                    "--sp-entity-id".to_owned(),
                    SP_ENTITY.to_owned(),
                    "--acs".to_owned(),
                    ACS.to_owned(),
                ],
            })
            .arg("--sp-cert")
            .arg(fixture("sp.crt"))
            .env("PYTHONWARNINGS", "ignore")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for c in &opts.extra_certs {
            cmd.arg("--extra-cert").arg(fixture(c));
        }
        if opts.sign_response {
            cmd.arg("--sign-response");
        }
        if opts.sign_assertion {
            cmd.arg("--sign-assertion");
        }
        if opts.encrypt_assertion {
            cmd.arg("--encrypt-assertion");
        }
        let mut child = cmd.spawn().expect("start the pysaml2 IdP");
        let stdout = child.stdout.take().unwrap();
        let ready = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .expect("the IdP did not start in time")
            .unwrap()
            .unwrap();
        assert!(line.starts_with("READY"), "IdP said {line:?}");
        Idp { child, port, host }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.host, self.port)
    }

    pub fn entity_id(&self) -> String {
        self.url("/metadata")
    }

    pub async fn metadata(&self) -> String {
        reqwest::get(self.url("/metadata"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Answers an AuthnRequest redirect for `user`: (SAMLResponse, RelayState).
    pub async fn answer(&self, location: &str, user: &str) -> (String, String) {
        let r = reqwest::get(format!("{location}&user={user}"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "IdP answered {}", r.text().await.unwrap());
        let v: serde_json::Value = r.json().await.unwrap();
        (
            v["SAMLResponse"].as_str().unwrap().to_owned(),
            v["RelayState"].as_str().unwrap().to_owned(),
        )
    }

    /// An unsolicited response for `user`.
    pub async fn unsolicited(&self, user: &str, relay_state: &str) -> String {
        let r = reqwest::get(self.url(&format!(
            "/idp-initiated?user={user}&relay_state={}",
            url::form_urlencoded::byte_serialize(relay_state.as_bytes()).collect::<String>()
        )))
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        v["SAMLResponse"].as_str().unwrap().to_owned()
    }
}
