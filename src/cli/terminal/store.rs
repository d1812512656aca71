//! The token store of `lanyard login`: one JSON file, readable by its owner only, holding
//! per Lanyard URL and role the access token, the refresh token and when the access token
//! expires.
//!
//! Where: `$LANYARD_CREDENTIALS_FILE`, else `$XDG_CONFIG_HOME/lanyard/credentials.json`
//! (an absolute `XDG_CONFIG_HOME` only, as the XDG Base Directory specification says),
//! else `~/.config/lanyard/credentials.json`. The directories it creates are `0700`; the
//! file is written whole to a temporary file created `0600` beside it and renamed over it
//! (atomic: a reader sees the old file or the new one, never half of one). A file that its
//! group or others may read or write, or that another user owns, is refused with the command
//! that fixes it. Changes happen under an exclusive `flock(2)` on a sibling `.lock` file,
//! so two commands refreshing at once do not both spend the same refresh token (which
//! Lanyard would take for a stolen one and revoke the family).
//!
//! No OS keyring: the machines this runs on are often headless, without a keyring daemon.
//!
//! May import: `secret`, `clock`, `roles` (the RFC 3339 form of a time).

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use crate::clock::UnixTime;
use crate::secret::Secret;

/// The file's format version.
const VERSION: u32 = 1;

/// Why the store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No file was named and there is no home directory to put it in.
    #[error(
        "cannot tell where to keep credentials: set LANYARD_CREDENTIALS_FILE, XDG_CONFIG_HOME \
         or HOME"
    )]
    NoLocation,
    /// The file may be read or written by others.
    #[error(
        "{path} may be read or written by other users (mode {mode:04o}); refusing to use it. \
         Fix it with `chmod 600 {path}` (and sign in again if others could have read it)"
    )]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// The file belongs to another user.
    #[error("{0} belongs to another user; refusing to use it")]
    NotOwned(String),
    /// The file is not a credentials file of this version.
    #[error("{path} is not a Lanyard credentials file: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The failure.
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Where the store is, from the environment (see the module documentation).
pub fn default_path() -> Result<PathBuf, StoreError> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(file) = var("LANYARD_CREDENTIALS_FILE") {
        return Ok(PathBuf::from(file));
    }
    let config = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or(StoreError::NoLocation)?;
    Ok(config.join("lanyard").join("credentials.json"))
}

/// The credentials of one role at one Lanyard. Its `Debug` leaves the tokens out.
#[derive(Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Lanyard's URL (its issuer).
    pub url: String,
    /// The role.
    pub role: String,
    /// The OAuth client the tokens were issued to (refresh and revocation name it).
    pub client_id: String,
    /// The access token (a JWT for the role).
    #[serde(serialize_with = "expose")]
    pub access_token: Secret,
    /// The refresh token, rotated at every refresh.
    #[serde(
        default,
        serialize_with = "expose_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_token: Option<Secret>,
    /// When the access token expires, by this machine's clock (RFC 3339 in the file).
    #[serde(with = "rfc3339")]
    pub expires_at: UnixTime,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("url", &self.url)
            .field("role", &self.role)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tokens {
    /// The format version.
    version: u32,
    /// The Lanyard used last (the default `--url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_url: Option<String>,
    /// The stored credentials, at most one per URL and role.
    #[serde(default)]
    pub entries: Vec<Entry>,
}

impl Tokens {
    /// The entry of `role` at `url`.
    pub fn get(&self, url: &str, role: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.url == url && e.role == role)
    }

    /// The entries at `url`.
    pub fn at<'a>(&'a self, url: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.url == url)
    }

    /// Stores `entry`, replacing the one of its URL and role; returns the one replaced.
    pub fn put(&mut self, entry: Entry) -> Option<Entry> {
        let old = self.remove(&entry.url.clone(), &entry.role.clone());
        self.entries.push(entry);
        self.entries
            .sort_by(|a, b| (&a.url, &a.role).cmp(&(&b.url, &b.role)));
        old
    }

    /// Removes the entry of `role` at `url`.
    pub fn remove(&mut self, url: &str, role: &str) -> Option<Entry> {
        let i = self
            .entries
            .iter()
            .position(|e| e.url == url && e.role == role)?;
        Some(self.entries.remove(i))
    }
}

/// The store, locked for the life of this value (the lock is released when it drops).
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    /// What the file holds (empty when there is no file yet).
    pub tokens: Tokens,
    _lock: std::fs::File,
}

impl Store {
    /// Locks the store at `path` and reads it (an absent file is an empty store). Waits for
    /// another command holding the lock.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_error(dir))?;
        }
        let lock_path = sibling(path, ".lock");
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_error(&lock_path)(e.into()))?;
        let tokens = read(path)?;
        Ok(Self {
            path: path.to_owned(),
            tokens,
            _lock: lock,
        })
    }

    /// Writes the tokens back: a new file created `0600` beside the old one, synced, then
    /// renamed over it.
    pub fn save(&mut self) -> Result<(), StoreError> {
        self.tokens.version = VERSION;
        let mut text = serde_json::to_vec_pretty(&self.tokens).map_err(|e| StoreError::Io {
            path: self.path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        text.push(b'\n');
        let text = zeroize::Zeroizing::new(text);
        let random = crate::session::random_id();
        let suffix = format!(".tmp-{}", &random.expose_secret()[..12]);
        let temp = sibling(&self.path, &suffix);
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temp, &self.path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(io_error(&self.path)(e));
        }
        Ok(())
    }
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Reads the file at `path` after checking who may read it; an absent file is empty.
fn read(path: &Path) -> Result<Tokens, StoreError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Tokens {
                version: VERSION,
                ..Tokens::default()
            });
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    let shown = path.display().to_string();
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(StoreError::TooOpen { path: shown, mode });
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(StoreError::NotOwned(shown));
    }
    let text = zeroize::Zeroizing::new(std::fs::read(path).map_err(io_error(path))?);
    let tokens: Tokens = serde_json::from_slice(&text).map_err(|e| StoreError::Unreadable {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if tokens.version != VERSION {
        return Err(StoreError::Unreadable {
            path: shown,
            reason: format!(
                "version {} (this lanyard reads version {VERSION})",
                tokens.version
            ),
        });
    }
    Ok(tokens)
}

fn expose<S: Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose_secret())
}

fn expose_option<S: Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose_secret()),
        None => s.serialize_none(),
    }
}

/// A [`UnixTime`] as an RFC 3339 string (UTC).
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::clock::UnixTime;

    pub(super) fn serialize<S: Serializer>(at: &UnixTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::roles::rfc3339(*at))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UnixTime, D::Error> {
        let text = String::deserialize(d)?;
        super::super::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str, role: &str) -> Entry {
        Entry {
            url: url.into(),
            role: role.into(),
            client_id: "lanyard-cli".into(),
            access_token: Secret::new("access-secret"),
            refresh_token: Some(Secret::new("refresh-secret")),
            expires_at: UnixTime::from_secs(1_800_000_000),
        }
    }

    #[test]
    fn round_trip_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/lanyard/credentials.json");
        let mut store = Store::open(&path).unwrap();
        assert!(store.tokens.entries.is_empty());
        store.tokens.put(entry("https://l", "engineer"));
        store.tokens.put(entry("https://l", "admin"));
        store.tokens.last_url = Some("https://l".into());
        store.save().unwrap();
        drop(store);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"expires_at\": \"2027-01-15T08:00:00Z\""),
            "{text}"
        );
        let store = Store::open(&path).unwrap();
        let roles: Vec<&str> = store
            .tokens
            .at("https://l")
            .map(|e| e.role.as_str())
            .collect();
        assert_eq!(roles, ["admin", "engineer"]);
        let e = store.tokens.get("https://l", "engineer").unwrap();
        assert_eq!(e.access_token.expose_secret(), "access-secret");
        assert_eq!(e.expires_at, UnixTime::from_secs(1_800_000_000));
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp-")), "{names:?}");
    }

    #[test]
    fn a_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let mut store = Store::open(&path).unwrap();
        store.save().unwrap();
        drop(store);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = Store::open(&path).unwrap_err();
        assert!(matches!(e, StoreError::TooOpen { mode: 0o640, .. }), "{e}");
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn the_debug_of_an_entry_leaves_the_tokens_out() {
        let shown = format!("{:?}", entry("https://l", "engineer"));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("engineer"), "{shown}");
    }

    #[test]
    fn replacing_an_entry_returns_the_old_one() {
        let mut tokens = Tokens::default();
        assert!(tokens.put(entry("https://l", "engineer")).is_none());
        let old = tokens.put(entry("https://l", "engineer")).unwrap();
        assert_eq!(old.role, "engineer");
        assert_eq!(tokens.entries.len(), 1);
        assert!(tokens.remove("https://l", "engineer").is_some());
        assert!(tokens.remove("https://l", "engineer").is_none());
    }
}
