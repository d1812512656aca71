//! The module layering of DESIGN.md, checked: every `crate::<module>` path in `src/` must
//! be one its module may use. A new import against the table fails here, not in review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules of ours it may use: DESIGN.md's table, entry →
/// `web` → services → domain → infrastructure → leaves, arrows pointing down only.
const ALLOWED: &[(&str, &[&str])] = &[
    // entry
    ("cli", &["*"]),
    ("server", &["*"]),
    (
        "reload",
        &[
            "server",
            "web",
            "audit",
            "catalog",
            "config",
            "db",
            "connectors",
            "identity",
            "telemetry",
        ],
    ),
    // HTTP
    (
        "web",
        &[
            "access",
            "admin",
            "audit",
            "authz",
            "clock",
            "config",
            "connectors",
            "elevation",
            "identity",
            "op",
            "roles",
            "secret",
            "session",
            "signin",
            "sso",
            "sts",
            "telemetry",
            "tokens",
        ],
    ),
    // services
    (
        "signin",
        &[
            "audit",
            "clock",
            "connectors",
            "identity",
            "roles",
            "secret",
            "session",
            "sso",
            "telemetry",
        ],
    ),
    (
        "access",
        &[
            "audit",
            "clock",
            "identity",
            "roles",
            "session",
            "sso",
            "telemetry",
            "tokens",
        ],
    ),
    (
        "op",
        &[
            "access",
            "audit",
            "clock",
            "elevation",
            "identity",
            "roles",
            "secret",
            "session",
            "sso",
            "tokens",
        ],
    ),
    (
        "sts",
        &[
            "access",
            "audit",
            "clock",
            "connectors",
            "elevation",
            "identity",
            "op",
            "roles",
            "session",
            "sso",
            "telemetry",
            "tokens",
        ],
    ),
    ("authz", &["access", "clock", "identity", "roles", "sso"]),
    (
        "elevation",
        &["audit", "clock", "db", "identity", "roles", "secret", "sso"],
    ),
    (
        "admin",
        &[
            "access", "audit", "authz", "catalog", "clock", "config", "db", "identity", "op",
            "roles", "secret", "sso",
        ],
    ),
    // domain
    (
        "connectors",
        &["clock", "identity", "secret", "session", "tokens"],
    ),
    ("roles", &["clock", "identity"]),
    (
        "catalog",
        &[
            "clock",
            "config",
            "connectors",
            "db",
            "identity",
            "op",
            "roles",
            "secret",
        ],
    ),
    ("sso", &["clock", "identity", "secret", "session"]),
    (
        "config",
        &[
            "audit",
            "connectors",
            "db",
            "elevation",
            "identity",
            "op",
            "roles",
            "secret",
            "signin",
            "tokens",
        ],
    ),
    // infrastructure
    ("session", &["clock", "secret"]),
    ("db", &["secret"]),
    ("tokens", &["clock", "secret"]),
    ("audit", &["clock", "db", "identity"]),
    ("telemetry", &["audit", "clock"]),
    // leaves (identity reads only the time type)
    ("identity", &["clock"]),
    ("secret", &[]),
    ("clock", &[]),
];

/// Imports against the table that are known and due to go, each with where it is and
/// why it is still there. The check fails on any other, and on an entry that is no longer
/// needed, so this list only shrinks.
const KNOWN: &[(&str, &str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and `#[cfg(test)]` modules (tests may reach anywhere).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let trimmed = code.trim();
        if let Some(depth) = skip_depth.as_mut() {
            *depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
            if *depth <= 0 {
                skip_depth = None;
            }
            continue;
        }
        if trimmed == "#[cfg(test)]" {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            pending_cfg_test = false;
            if trimmed.starts_with("mod ") || trimmed.starts_with("pub mod ") {
                let depth = code.matches('{').count() as i32 - code.matches('}').count() as i32;
                if depth > 0 {
                    skip_depth = Some(depth);
                }
                continue;
            }
        }
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code names as `crate::<module>`.
fn uses(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .filter(|(i, _)| {
            // `lanyard_crate::` or `$crate::` are not ours.
            *i == 0 || !code[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(i, m)| {
            code[i + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn modules_import_only_what_design_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    let mut known_seen = std::collections::BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(may) = allowed.get(module.as_str()) else {
            violations.push(format!(
                "{}: module `{module}` is not in the table",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        let rel_text = rel.to_string_lossy().replace('\\', "/");
        for used in uses(&code_of(&text)) {
            if used == module || may.contains(&"*") || may.contains(&used.as_str()) {
                continue;
            }
            match KNOWN
                .iter()
                .position(|(f, m, _)| *f == rel_text && *m == used)
            {
                Some(i) => {
                    known_seen.insert(i);
                }
                None => violations.push(format!("{rel_text}: `{module}` may not use `{used}`")),
            }
        }
    }
    for (i, (file, used, why)) in KNOWN.iter().enumerate() {
        if !known_seen.contains(&i) {
            violations.push(format!(
                "{file} no longer uses `{used}` ({why}): remove it from KNOWN"
            ));
        }
    }
    assert!(
        violations.is_empty(),
        "imports against DESIGN.md's table:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_imports_and_skips_tests_and_comments() {
    let code = code_of(
        "use crate::roles::X; // crate::web\nfn f() { crate::tokens::y(); }\n#[cfg(test)]\nmod tests {\n    use crate::web::Z;\n}\n",
    );
    let found: Vec<String> = uses(&code).into_iter().collect();
    assert_eq!(found, ["roles", "tokens"]);
}

/// Outside crates that speak HTTP, and the only top-level modules that may name them:
/// the server stack stops at `web` (DESIGN's "HTTP stops at `web`"), and the outbound client
/// is the connectors' (they call upstream identity providers), the command line's
/// (`lanyard login` and friends call Lanyard) and the access requests' webhooks
/// (`elevation::webhooks` notifies approvers). Services and the domain below take and
/// return plain types.
const HTTP_CRATES: &[(&str, &[&str])] = &[
    ("axum", &["web"]),
    ("askama", &["web"]),
    ("tower", &["web"]),
    ("tower_http", &["web"]),
    ("hyper", &["web"]),
    ("http", &["web"]),
    ("reqwest", &["connectors", "cli", "elevation"]),
];

/// Whether `code` names the outside crate `krate` as a path (`krate::…`, not `my_krate::`).
fn names_crate(code: &str, krate: &str) -> bool {
    let path = format!("{krate}::");
    code.match_indices(&path).any(|(i, _)| {
        i == 0 || !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

#[test]
fn http_types_stay_in_web_and_outbound_calls_in_connectors_cli_and_webhooks() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for (krate, may) in HTTP_CRATES {
            if names_crate(&code, krate) && !may.contains(&module.as_str()) {
                violations.push(format!(
                    "{}: `{module}` may not use `{krate}`",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "HTTP crates outside their modules:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_http_check_names_crates_not_suffixes() {
    assert!(names_crate("use axum::Router;", "axum"));
    assert!(names_crate("fn f() -> http::StatusCode {}", "http"));
    assert!(!names_crate("use tower_http::cors;", "http"));
    assert!(!names_crate("let x = my_axum::y;", "axum"));
    assert!(!names_crate("use crate::http::x;", "http"));
}
