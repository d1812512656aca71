//! The person as an upstream identity provider described them: [`ExternalIdentity`], and the
//! normalized claim names every connector fills in, whatever the provider kind.
//!
//! May import: `clock` (the `UnixTime` type); nothing else of ours.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// Identifier of a configured identity provider (`[[providers]] id`), used in URLs,
/// `Principal.Federated` and condition keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProviderId(String);

impl ProviderId {
    /// Wraps an id that the config layer has already validated (see [`ProviderId::is_valid`]).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// A provider id is 1–64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter,
    /// so that it is safe in a URL path segment and in a condition key prefix.
    pub fn is_valid(id: &str) -> bool {
        let mut chars = id.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
            && id.len() <= 64
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of an upstream provider, which decides the trust-policy action it satisfies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Lanyard's own local directory.
    Local,
    /// An LDAP or Active Directory server.
    Ldap,
    /// A generic OpenID Connect provider.
    Oidc,
    /// Google (OpenID Connect preset).
    Google,
    /// Microsoft Entra ID (OpenID Connect preset).
    Microsoft,
    /// GitHub (OAuth 2.0).
    Github,
    /// A SAML 2.0 identity provider.
    Saml,
}

impl ProviderKind {
    /// The `sts:` action a trust policy must allow for an identity of this kind.
    pub fn trust_action(self) -> &'static str {
        match self {
            ProviderKind::Local => "sts:AssumeRole",
            ProviderKind::Ldap => "sts:AssumeRoleWithLDAPIdentity",
            ProviderKind::Oidc
            | ProviderKind::Google
            | ProviderKind::Microsoft
            | ProviderKind::Github => "sts:AssumeRoleWithWebIdentity",
            ProviderKind::Saml => "sts:AssumeRoleWithSAML",
        }
    }

    /// The name used in `kind = "..."`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Local => "local",
            ProviderKind::Ldap => "ldap",
            ProviderKind::Oidc => "oidc",
            ProviderKind::Google => "google",
            ProviderKind::Microsoft => "microsoft",
            ProviderKind::Github => "github",
            ProviderKind::Saml => "saml",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A raw upstream claim or SAML attribute value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClaimValue {
    /// One value.
    One(String),
    /// Several values (a multivalued attribute or a JSON array).
    Many(Vec<String>),
}

/// What an upstream provider sent for one sign-in, beyond the identity Lanyard made of it.
/// Gathered only for an admin's test sign-in (the answer to "what does the IdP actually
/// send?"), never for a real one, and never stored beyond the test's short-lived result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum Evidence {
    /// A SAML response.
    Saml(SamlEvidence),
    /// An OpenID Connect ID token, and the userinfo answer when one was fetched.
    Oidc(OidcEvidence),
    /// A sign-in whose whole answer is the identity (a password checked by Lanyard or a
    /// directory, or a plain OAuth 2.0 profile).
    Identity,
}

/// What a verified SAML assertion said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlEvidence {
    /// `NameID`.
    pub name_id: String,
    /// Its `Format`.
    pub name_id_format: Option<String>,
    /// `AuthnContextClassRef`.
    pub authn_context: Option<String>,
    /// `AuthnInstant`.
    pub authn_instant: Option<UnixTime>,
    /// The end of the assertion's validity (`NotOnOrAfter`).
    pub valid_until: UnixTime,
    /// Whether the Response was signed.
    pub response_signed: bool,
    /// Whether the Assertion was signed.
    pub assertion_signed: bool,
    /// Whether the assertion arrived encrypted.
    pub encrypted: bool,
    /// Every attribute: `Name`, `FriendlyName`, values.
    pub attributes: Vec<(String, Option<String>, Vec<String>)>,
    /// The IdP certificate whose key verified the signature.
    pub signer: Option<CertificateFacts>,
}

/// What identifies an X.509 certificate to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFacts {
    /// The subject, one line.
    pub subject: String,
    /// SHA-256 of the DER, hex, colon-separated (as `openssl x509 -fingerprint` prints it).
    pub sha256: String,
    /// When it expires.
    pub not_after: Option<UnixTime>,
}

/// What a verified OpenID Connect sign-in said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcEvidence {
    /// The ID token's `alg`.
    pub alg: String,
    /// The ID token's `kid`.
    pub kid: Option<String>,
    /// Every claim of the ID token.
    pub id_token: serde_json::Map<String, serde_json::Value>,
    /// Every claim of the userinfo answer, when it was fetched.
    pub userinfo: Option<serde_json::Map<String, serde_json::Value>>,
}

/// An identity as established by a connector. Everything Lanyard decides about a person
/// (trust evaluation, token claims) starts from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalIdentity {
    /// The provider that authenticated the person.
    pub provider: ProviderId,
    /// The provider's kind.
    pub provider_kind: ProviderKind,
    /// The stable subject at that provider (`sub`, NameID, DN, or the local username).
    pub subject: String,
    /// The username to show and to use as the role session name.
    pub username: String,
    /// The email address, when the provider gave one.
    pub email: Option<String>,
    /// Whether the provider vouches for the email address.
    pub email_verified: bool,
    /// A display name, when the provider gave one.
    pub display_name: Option<String>,
    /// Group memberships.
    pub groups: Vec<String>,
    /// Authentication methods (`amr`, RFC 8176 values such as `pwd`, `otp`, `mfa`).
    pub amr: Vec<String>,
    /// Whether a second factor was used.
    pub mfa: bool,
    /// When the person authenticated.
    pub auth_time: UnixTime,
    /// Principal tags (`aws:PrincipalTag/<key>`).
    pub tags: BTreeMap<String, String>,
    /// The raw upstream claims or attributes (`{provider}:{name}` condition keys).
    pub claims: BTreeMap<String, ClaimValue>,
}

impl ExternalIdentity {
    /// `{provider}:{subject}`, the `sub` of the tokens Lanyard issues.
    pub fn qualified_subject(&self) -> String {
        format!("{}:{}", self.provider, self.subject)
    }
}

/// The principal-derived condition keys of a session (`idp:*`, `{provider}:{claim}`,
/// `aws:PrincipalTag/*`, `aws:username`, `aws:userid`, …): computed once at sign-in from the
/// identity, kept with the role session, and never overridable by a caller's context.
/// Defined here, with the identity they come from, so that the role sessions that keep them
/// need nothing above this module; `roles` computes and applies them.
///
/// Stored compactly: a key whose values are those of a key written before it (in key
/// order) is written as that key's name, a JSON string, where values are always an array
/// (`{"idp:groups":["a","b"],"okta:groups":"idp:groups"}`), when the name is the shorter.
/// An identity's keys repeat a lot (`{provider}:email` is `idp:email`, `{provider}:groups`
/// is `idp:groups`, …), and a role session keeps them for as long as its token lives.
/// Records written before (arrays only) read the same.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrincipalKeys(pub BTreeMap<String, Vec<String>>);

impl PrincipalKeys {
    /// The keys an identity brings: `idp:*`, `{provider}:{claim}`, `aws:PrincipalTag/*`,
    /// `aws:username`, `aws:userid`, `aws:MultiFactorAuthPresent`.
    pub fn of(identity: &ExternalIdentity) -> Self {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut one = |k: &str, v: &str| {
            m.insert(k.to_owned(), vec![v.to_owned()]);
        };
        one("idp:provider", identity.provider.as_str());
        one("idp:sub", &identity.subject);
        one("idp:username", &identity.username);
        if let Some(email) = &identity.email {
            one("idp:email", email);
        }
        one(
            "idp:email_verified",
            if identity.email_verified {
                "true"
            } else {
                "false"
            },
        );
        one("aws:username", &identity.username);
        one("aws:userid", &identity.qualified_subject());
        one(
            "aws:MultiFactorAuthPresent",
            if identity.mfa { "true" } else { "false" },
        );
        m.insert("idp:groups".to_owned(), identity.groups.clone());
        m.insert("idp:amr".to_owned(), identity.amr.clone());
        for (k, v) in &identity.tags {
            m.insert(format!("aws:PrincipalTag/{k}"), vec![v.clone()]);
        }
        for (k, v) in &identity.claims {
            let values = match v {
                ClaimValue::One(s) => vec![s.clone()],
                ClaimValue::Many(list) => list.clone(),
            };
            m.insert(format!("{}:{k}", identity.provider), values);
        }
        Self(m)
    }

    /// Whether there are no keys (never the case for an identity's: see
    /// [`PrincipalKeys::of`]).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for PrincipalKeys {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        /// The length of `values` as a JSON array (escapes aside).
        fn json_len(values: &[String]) -> usize {
            values.iter().map(|v| v.len() + 3).sum::<usize>() + 1
        }
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        let mut written: Vec<(&str, &Vec<String>)> = Vec::with_capacity(self.0.len());
        for (key, values) in &self.0 {
            let same = written
                .iter()
                .find(|(_, w)| *w == values)
                .map(|(k, _)| *k)
                .filter(|k| k.len() + 2 < json_len(values));
            match same {
                Some(earlier) => map.serialize_entry(key, earlier)?,
                None => {
                    map.serialize_entry(key, values)?;
                    written.push((key, values));
                }
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for PrincipalKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// A stored value: the values, or the name of the key holding them.
        enum Stored {
            Values(Vec<String>),
            Same(String),
        }
        impl<'de> Deserialize<'de> for Stored {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = Stored;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("an array of strings, or the name of another key")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Stored, E> {
                        Ok(Stored::Same(v.to_owned()))
                    }
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(
                        self,
                        mut seq: A,
                    ) -> Result<Stored, A::Error> {
                        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(1));
                        while let Some(v) = seq.next_element::<String>()? {
                            values.push(v);
                        }
                        Ok(Stored::Values(values))
                    }
                }
                d.deserialize_any(V)
            }
        }
        let stored = BTreeMap::<String, Stored>::deserialize(deserializer)?;
        let mut keys = BTreeMap::new();
        for (key, value) in &stored {
            let values = match value {
                Stored::Values(v) => v.clone(),
                Stored::Same(other) => match stored.get(other) {
                    Some(Stored::Values(v)) => v.clone(),
                    _ => {
                        return Err(serde::de::Error::custom(
                            "a principal key names a key without values",
                        ));
                    }
                },
            };
            keys.insert(key.clone(), values);
        }
        Ok(Self(keys))
    }
}

/// What a redirect sign-in (OIDC, OAuth 2.0) binds its upstream answer to, kept in the login
/// transaction until the callback: RFC 6749 §10.12 `state`, OIDC Core §3.1.2.1 `nonce` and
/// the RFC 7636 PKCE verifier. Defined here so that the login transaction (`sso`) and the
/// connectors that fill it in share it without importing each other; the connectors make
/// and check it (`connectors::upstream`).
#[derive(Clone, Serialize, Deserialize)]
pub struct UpstreamLogin {
    /// `state` sent upstream (RFC 6749 §10.12).
    pub state: String,
    /// `nonce` sent upstream (OIDC Core §3.1.2.1); empty for plain OAuth 2.0.
    pub nonce: String,
    /// The PKCE `code_verifier` (RFC 7636 §4.1).
    pub pkce_verifier: String,
}

impl fmt::Debug for UpstreamLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UpstreamLogin([redacted])")
    }
}

/// A step-up in progress (issue 17): a signed-in person picked a role that needs a fresh
/// second factor, and is signing in again for it. Carried in the single-use login
/// transaction (or the pending SAML request) from the start of the fresh sign-in to its
/// answer, so that the answer can only continue that one choice, in that one SSO session,
/// for that one person. Defined here, as [`UpstreamLogin`] is, so that the login
/// transaction (`sso`) and the SAML connector's pending request carry it without
/// importing each other. Nothing in it is a secret: the session is named by its handle
/// (the digest of its cookie); the device page's user code is kept out of `Debug`.
///
/// Marks written before [`StepUpNext`] existed (the fields `role`, `seconds`, `authz`,
/// `for_authorization` and `request` side by side) are still read, for one release: a
/// step-up begun on an older instance of a rolling upgrade ends on a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredMark")]
pub struct StepUpMark {
    /// The handle of the SSO session that asked for it (`Sso::session_ref`).
    pub session: String,
    /// The provider the person signed in with, and must sign in with again.
    pub provider: ProviderId,
    /// The person's subject at that provider: the fresh sign-in must name the same one.
    pub subject: String,
    /// When the step-up began: the fresh authentication must be later.
    pub begun_at: UnixTime,
    /// What the step-up goes on to once the second factor is confirmed.
    pub next: StepUpNext,
}

/// What a confirmed step-up goes on to: exactly one of the flows that may ask for it, each
/// with only what that flow needs, so that no mark can carry a role choice and an access
/// request at once. Every way back is built from these fields (a local path), never from
/// an address the browser sent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepUpNext {
    /// The role picker's choice, for the person or for a pending OpenID Connect
    /// authorization (`authz`, the parked request's id).
    Role {
        /// The role picked.
        role: RoleName,
        /// The session length picked, in seconds.
        seconds: u64,
        /// The pending OpenID Connect authorization the choice completes, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authz: Option<String>,
    },
    /// An application's authorization request (`authz`) asked for the second factor itself
    /// (its `acr_values` or `max_age`) before any role was chosen: it goes on to the picker.
    Authorization {
        /// The parked authorization request's id.
        authz: String,
    },
    /// An approver's decision on an access request: back to the request's page
    /// (`/requests/{id}`), with the comment they had typed.
    Decision {
        /// The access request's id (a UUID).
        request: String,
        /// The request's role, to say what the second factor is for.
        role: RoleName,
        /// The comment typed with the decision, at most [`STEP_UP_COMMENT_CHARS`]
        /// characters, given back to the form.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        comment: String,
    },
    /// The device page's approval (RFC 8628): the pending device sign-in named by its user
    /// code is approved with the role, if it still fits, once the second factor is fresh.
    Device {
        /// The user code as shown (`XXXX-XXXX`).
        user_code: String,
        /// The role picked.
        role: RoleName,
        /// The session length picked, in seconds.
        seconds: u64,
    },
}

/// The longest decision comment a step-up keeps, in characters: the request page's own
/// limit (`elevation::MAX_TEXT_CHARS`; a longer one is refused there anyway).
pub const STEP_UP_COMMENT_CHARS: usize = 1000;

impl StepUpNext {
    /// The role the second factor is for: the one picked, or the access request's; `None`
    /// for an application's request, which names none yet.
    pub fn role(&self) -> Option<&RoleName> {
        match self {
            Self::Role { role, .. } | Self::Decision { role, .. } | Self::Device { role, .. } => {
                Some(role)
            }
            Self::Authorization { .. } => None,
        }
    }
}

impl fmt::Debug for StepUpNext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Role {
                role,
                seconds,
                authz,
            } => f
                .debug_struct("Role")
                .field("role", role)
                .field("seconds", seconds)
                .field("authz", authz)
                .finish(),
            Self::Authorization { authz } => f
                .debug_struct("Authorization")
                .field("authz", authz)
                .finish(),
            Self::Decision { request, role, .. } => f
                .debug_struct("Decision")
                .field("request", request)
                .field("role", role)
                .finish_non_exhaustive(),
            Self::Device { role, seconds, .. } => f
                .debug_struct("Device")
                .field("user_code", &"[redacted]")
                .field("role", role)
                .field("seconds", seconds)
                .finish(),
        }
    }
}

/// A [`StepUpMark`] as stored: with `next`, or in the format before it (its fields side by
/// side), read for one release.
#[derive(Deserialize)]
struct StoredMark {
    session: String,
    provider: ProviderId,
    subject: String,
    begun_at: UnixTime,
    #[serde(default)]
    next: Option<StepUpNext>,
    #[serde(default)]
    role: Option<RoleName>,
    #[serde(default)]
    seconds: u64,
    #[serde(default)]
    authz: Option<String>,
    #[serde(default)]
    for_authorization: bool,
    #[serde(default)]
    request: Option<String>,
}

impl TryFrom<StoredMark> for StepUpMark {
    type Error = &'static str;

    fn try_from(m: StoredMark) -> Result<Self, Self::Error> {
        let next = match (m.next, m.request, m.for_authorization, m.authz, m.role) {
            (Some(next), ..) => next,
            (None, Some(request), false, None, Some(role)) => StepUpNext::Decision {
                request,
                role,
                comment: String::new(),
            },
            (None, None, true, Some(authz), _) => StepUpNext::Authorization { authz },
            (None, None, false, authz, Some(role)) => StepUpNext::Role {
                role,
                seconds: m.seconds,
                authz,
            },
            _ => return Err("a step-up mark with no (or more than one) way to go on"),
        };
        Ok(Self {
            session: m.session,
            provider: m.provider,
            subject: m.subject,
            begun_at: m.begun_at,
            next,
        })
    }
}

/// Declares an identifier that is a string on the wire and in storage (`serde(transparent)`)
/// but its own type in code, so a role name cannot be passed where a client id is meant.
macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value that has already been validated where it entered.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The identifier as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            /// The identifier as a string, so it goes wherever a `&str` is read.
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, other: &$name) -> bool {
                self == other.0
            }
        }
    };
}

identifier!(
    /// A role's name (`[[roles]] name`), unique in the catalog; the last part of its ARN.
    RoleName
);
identifier!(
    /// An OAuth client's id (`[[oidc_provider.clients]] client_id`).
    ClientId
);
identifier!(
    /// A role session's id: the `sid` of its tokens and the key of its stored record. Not a
    /// credential: knowing it grants nothing.
    RoleSessionId
);
identifier!(
    /// A subject: `{provider}:{subject}` for a person, `client:{id}` for a machine client.
    Subject
);
identifier!(
    /// An issuer identifier (an `iss` value, an entity id): an upstream's or Lanyard's own.
    Issuer
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_up_mark_keeps_one_way_on_and_reads_the_format_before_it() {
        let mark = StepUpMark {
            session: "h".into(),
            provider: ProviderId::new("corp"),
            subject: "root".into(),
            begun_at: UnixTime::from_secs(100),
            next: StepUpNext::Device {
                user_code: "BCDF-GHJK".into(),
                role: RoleName::new("prod-write"),
                seconds: 900,
            },
        };
        let text = serde_json::to_string(&mark).unwrap();
        assert!(text.contains("\"kind\":\"device\""), "{text}");
        assert_eq!(serde_json::from_str::<StepUpMark>(&text).unwrap(), mark);
        assert!(
            !format!("{mark:?}").contains("BCDF"),
            "the user code stays out of logs"
        );

        let old = |extra: &str| {
            let text = format!(
                "{{\"session\":\"h\",\"provider\":\"corp\",\"subject\":\"root\",\
                 \"begun_at\":100{extra}}}"
            );
            serde_json::from_str::<StepUpMark>(&text).map(|m| m.next)
        };
        assert_eq!(
            old(",\"role\":\"ops\",\"seconds\":900,\"authz\":\"a1\"").unwrap(),
            StepUpNext::Role {
                role: RoleName::new("ops"),
                seconds: 900,
                authz: Some("a1".into())
            }
        );
        assert_eq!(
            old(",\"role\":\"\",\"seconds\":0,\"authz\":\"a1\",\"for_authorization\":true")
                .unwrap(),
            StepUpNext::Authorization { authz: "a1".into() }
        );
        assert_eq!(
            old(",\"role\":\"ops\",\"seconds\":0,\"request\":\"r1\"").unwrap(),
            StepUpNext::Decision {
                request: "r1".into(),
                role: RoleName::new("ops"),
                comment: String::new()
            }
        );
        // What the old format could not mean is refused, not guessed.
        assert!(old(",\"role\":\"ops\",\"seconds\":0,\"for_authorization\":true").is_err());
        assert!(old(",\"role\":\"ops\",\"request\":\"r1\",\"authz\":\"a1\"").is_err());
        assert!(old("").is_err());
    }

    #[test]
    fn principal_keys_are_stored_without_repeats_and_old_records_read() {
        let keys = PrincipalKeys(BTreeMap::from([
            (
                "idp:groups".to_owned(),
                vec!["eng".to_owned(), "ops".to_owned()],
            ),
            ("idp:sub".to_owned(), vec!["u".to_owned()]),
            (
                "okta:groups".to_owned(),
                vec!["eng".to_owned(), "ops".to_owned()],
            ),
            ("okta:sub".to_owned(), vec!["u".to_owned()]),
            ("z:empty".to_owned(), vec![]),
        ]));
        let json = serde_json::to_string(&keys).unwrap();
        // A repeat is named when that is shorter; `["u"]` is shorter than `"idp:sub"`.
        assert_eq!(
            json,
            r#"{"idp:groups":["eng","ops"],"idp:sub":["u"],"okta:groups":"idp:groups","okta:sub":["u"],"z:empty":[]}"#
        );
        let back: PrincipalKeys = serde_json::from_str(&json).unwrap();
        assert_eq!(back, keys);
        // Written before: arrays only.
        let old = r#"{"idp:groups":["eng","ops"],"okta:groups":["eng","ops"]}"#;
        let back: PrincipalKeys = serde_json::from_str(old).unwrap();
        assert_eq!(back.0["okta:groups"], ["eng", "ops"]);
        // A name must lead to values.
        for bad in [r#"{"a":"b"}"#, r#"{"a":"b","b":"a"}"#, r#"{"a":1}"#] {
            assert!(serde_json::from_str::<PrincipalKeys>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn provider_ids() {
        assert!(ProviderId::is_valid("corp"));
        assert!(ProviderId::is_valid("okta-prod_2"));
        assert!(!ProviderId::is_valid(""));
        assert!(!ProviderId::is_valid("Corp"));
        assert!(!ProviderId::is_valid("1corp"));
        assert!(!ProviderId::is_valid("corp/../x"));
        assert!(!ProviderId::is_valid(&"a".repeat(65)));
    }

    #[test]
    fn identifiers_are_strings_on_the_wire() {
        let role = RoleName::new("admin");
        assert_eq!(serde_json::to_string(&role).unwrap(), "\"admin\"");
        let back: RoleName = serde_json::from_str("\"admin\"").unwrap();
        assert_eq!(back, role);
        assert_eq!(role, "admin");
        assert_eq!(role.to_string(), "admin");
        let map: std::collections::BTreeMap<RoleName, u8> = [(role, 1)].into();
        assert_eq!(map.get("admin"), Some(&1));
    }

    #[test]
    fn trust_actions() {
        assert_eq!(ProviderKind::Local.trust_action(), "sts:AssumeRole");
        assert_eq!(
            ProviderKind::Github.trust_action(),
            "sts:AssumeRoleWithWebIdentity"
        );
        assert_eq!(ProviderKind::Saml.trust_action(), "sts:AssumeRoleWithSAML");
        assert_eq!(
            ProviderKind::Ldap.trust_action(),
            "sts:AssumeRoleWithLDAPIdentity"
        );
    }
}
