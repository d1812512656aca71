//! A real OpenLDAP `slapd` (Debian's package) for the LDAP tests: a generated `slapd.conf`
//! in a temporary directory, an MDB database, the `memberof` overlay, a free loopback
//! port, optional TLS (a test CA and server certificate made with rcgen, StartTLS
//! required by `security tls=1`), and the test entries added over LDAP as the root DN (so
//! that the overlay maintains `memberOf`). Stopped (killed) on drop.
//!
//! Entries under `dc=example,dc=com`:
//! - `cn=lanyard,ou=services`: the service account (`lanyard-svc-pw`);
//! - `uid=alice` (engineering, admins), `uid=bob` (engineering), `uid=carol` (finance),
//!   each with password `<uid>-pw`, `mail` and `departmentNumber`;
//! - `uid=dave` with no password at all;
//! - groups `cn=engineering`, `cn=admins`, `cn=finance` (groupOfNames) under `ou=groups`.

use std::collections::HashSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings};

pub const BASE: &str = "dc=example,dc=com";
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=com";
const ROOT_PW: &str = "root-pw-for-tests";
pub const SERVICE_DN: &str = "cn=lanyard,ou=services,dc=example,dc=com";
pub const SERVICE_PW: &str = "lanyard-svc-pw";

/// Where Debian installs slapd (it is not on a normal user's PATH).
fn slapd_binary() -> PathBuf {
    if let Ok(p) = std::env::var("LANYARD_TEST_SLAPD") {
        return PathBuf::from(p);
    }
    for p in [
        "/usr/sbin/slapd",
        "/usr/local/sbin/slapd",
        "/usr/local/libexec/slapd",
    ] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "slapd is not installed: the LDAP tests need OpenLDAP's server \
         (`scripts/ensure-deps.sh test` installs the Debian packages slapd and ldap-utils)"
    );
}

/// The version line of the slapd binary, for the test log.
pub fn version() -> String {
    let out = Command::new(slapd_binary()).arg("-VV").output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.lines().next().unwrap_or("").trim().to_owned()
}

/// Test TLS material.
pub struct Tls {
    /// PEM of the CA that signed the server certificate.
    pub ca_file: PathBuf,
}

pub struct Slapd {
    dir: tempfile::TempDir,
    pub port: u16,
    /// The `ldaps://` port, with TLS.
    ldaps_port: Option<u16>,
    child: Option<Child>,
    pub tls: Option<Tls>,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A CA and a server certificate for 127.0.0.1 and localhost, written into `dir`.
fn make_tls(dir: &Path) -> (Tls, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Lanyard test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &issuer).unwrap();
    let ca_file = dir.join("ca.pem");
    let cert_file = dir.join("server.pem");
    let key_file = dir.join("server.key");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    (Tls { ca_file }, cert_file, key_file)
}

/// A self-signed CA that signed nothing: a client trusting only it must refuse the server.
pub fn unrelated_ca(dir: &Path) -> PathBuf {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap();
    let path = dir.join("other-ca.pem");
    std::fs::write(&path, ca.pem()).unwrap();
    path
}

impl Slapd {
    /// Starts a directory with the test entries; with `tls`, StartTLS is required.
    pub async fn start(tls: bool) -> Slapd {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        let mut tls_lines = String::new();
        let tls = tls.then(|| {
            let (tls, cert, key) = make_tls(dir.path());
            tls_lines = format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                tls.ca_file.display(),
                cert.display(),
                key.display()
            );
            tls
        });
        let require_tls = if tls.is_some() {
            "security tls=1\n"
        } else {
            ""
        };
        let d = dir.path().display();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             pidfile {d}/slapd.pid\n\
             argsfile {d}/slapd.args\n\
             {tls_lines}\
             database mdb\n\
             suffix \"{BASE}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {d}/db\n\
             maxsize 10485760\n\
             {require_tls}\
             overlay memberof\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by users read by * none\n"
        );
        std::fs::write(dir.path().join("slapd.conf"), conf).unwrap();
        let mut s = Slapd {
            dir,
            port: free_port(),
            ldaps_port: tls.as_ref().map(|_| free_port()),
            child: None,
            tls,
        };
        s.resume().await;
        s.load().await;
        s
    }

    /// `ldap://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:<port>` (TLS instances only).
    pub fn ldaps_url(&self) -> String {
        format!(
            "ldaps://127.0.0.1:{}",
            self.ldaps_port.expect("a TLS instance")
        )
    }

    /// Starts (again) the stopped server, on the same port with the same data.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(slapd_binary())
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-h")
            .arg(match self.ldaps_port {
                Some(p) => format!("ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{p}/", self.port),
                None => format!("ldap://127.0.0.1:{}/", self.port),
            })
            // Debug level 0 keeps slapd in the foreground, so it is our child to kill.
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("slapd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                let _ = self
                    .child
                    .take()
                    .unwrap()
                    .stderr
                    .unwrap()
                    .read_to_string(&mut err);
                panic!("slapd exited with {status}: {err}");
            }
            assert!(Instant::now() < deadline, "slapd did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections are accepted by the
    /// kernel but nothing answers, like a directory that hangs.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }

    /// Stops the server (SIGKILL: an outage, not a shutdown).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn root(&self) -> ldap3::Ldap {
        let mut settings = LdapConnSettings::new();
        if let Some(tls) = &self.tls {
            let mut roots = rustls::RootCertStore::empty();
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            for c in CertificateDer::pem_file_iter(&tls.ca_file).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            settings = settings.set_starttls(true).set_config(Arc::new(config));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url())
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        ldap.simple_bind(ROOT_DN, ROOT_PW)
            .await
            .unwrap()
            .success()
            .unwrap();
        ldap
    }

    async fn load(&self) {
        let mut ldap = self.root().await;
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<HashSet<String>>();
        let add = |dn: String, attrs: Vec<(&str, HashSet<String>)>| {
            let attrs: Vec<(String, HashSet<String>)> =
                attrs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            (dn, attrs)
        };
        let mut entries = vec![
            add(
                BASE.to_owned(),
                vec![
                    ("objectClass", set(&["dcObject", "organization"])),
                    ("dc", set(&["example"])),
                    ("o", set(&["Example"])),
                ],
            ),
            add(
                format!("ou=people,{BASE}"),
                vec![
                    ("objectClass", set(&["organizationalUnit"])),
                    ("ou", set(&["people"])),
                ],
            ),
            add(
                format!("ou=groups,{BASE}"),
                vec![
                    ("objectClass", set(&["organizationalUnit"])),
                    ("ou", set(&["groups"])),
                ],
            ),
            add(
                format!("ou=services,{BASE}"),
                vec![
                    ("objectClass", set(&["organizationalUnit"])),
                    ("ou", set(&["services"])),
                ],
            ),
            add(
                SERVICE_DN.to_owned(),
                vec![
                    ("objectClass", set(&["person"])),
                    ("cn", set(&["lanyard"])),
                    ("sn", set(&["service"])),
                    ("userPassword", set(&[SERVICE_PW])),
                ],
            ),
        ];
        for (uid, name, dept) in [
            ("alice", "Alice Example", "platform"),
            ("bob", "Bob Example", "payments"),
            ("carol", "Carol Example", "finance"),
        ] {
            entries.push(add(
                format!("uid={uid},ou=people,{BASE}"),
                vec![
                    ("objectClass", set(&["inetOrgPerson"])),
                    ("uid", set(&[uid])),
                    ("cn", set(&[name])),
                    ("sn", set(&["Example"])),
                    ("mail", set(&[&format!("{uid}@example.com")])),
                    ("departmentNumber", set(&[dept])),
                    ("userPassword", set(&[&format!("{uid}-pw")])),
                ],
            ));
        }
        entries.push(add(
            format!("uid=dave,ou=people,{BASE}"),
            vec![
                ("objectClass", set(&["inetOrgPerson"])),
                ("uid", set(&["dave"])),
                ("cn", set(&["Dave NoPassword"])),
                ("sn", set(&["Example"])),
            ],
        ));
        let member = |uid: &str| format!("uid={uid},ou=people,{BASE}");
        for (group, members) in [
            ("engineering", vec![member("alice"), member("bob")]),
            ("admins", vec![member("alice")]),
            ("finance", vec![member("carol")]),
        ] {
            entries.push(add(
                format!("cn={group},ou=groups,{BASE}"),
                vec![
                    ("objectClass", set(&["groupOfNames"])),
                    ("cn", set(&[group])),
                    ("member", members.into_iter().collect()),
                ],
            ));
        }
        for (dn, attrs) in entries {
            ldap.add(&dn, attrs)
                .await
                .unwrap()
                .success()
                .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        }
        let _ = ldap.unbind().await;
    }
}
