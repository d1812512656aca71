//! The container image, proved without Docker (this machine cannot run it): the runtime
//! stage installs `packaging/runtime-packages`, and every shared library the binary links
//! comes from a package on that list; the build stage installs `packaging/build-packages`
//! (the list `scripts/ensure-deps.sh` uses too); the build context leaves out keys and
//! build output; the compose config is one `check-config` accepts.
//!
//! The libraries are read off the binary this test run built (the debug profile): the
//! release build links the same libraries, since the profile changes code generation,
//! not the crates, features or system libraries linked, and building a release binary
//! here would add minutes to `make test`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The packages of a list file: one per line, `#` comments and blank lines skipped.
fn package_list(path: &str) -> BTreeSet<String> {
    std::fs::read_to_string(repo(path))
        .unwrap()
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The libraries the dynamic loader finds for `binary`, as `ldd` prints them: the resolved
/// path of each `name => path`, and the loader itself (the line without `=>`).
fn linked_libraries(binary: &str) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output().unwrap();
    assert!(out.status.success(), "ldd {binary}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut libraries = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("linux-vdso") || line.starts_with("linux-gate") {
            continue; // provided by the kernel
        }
        let path = match line.split_once("=>") {
            Some((name, rest)) => {
                let path = rest.split_whitespace().next().unwrap_or_default();
                assert!(
                    path.starts_with('/'),
                    "{binary} needs {name} and the loader cannot find it: {line}"
                );
                path
            }
            None => line.split_whitespace().next().unwrap_or_default(),
        };
        libraries.push(PathBuf::from(path));
    }
    libraries
}

/// The Debian package that owns `path`. Debian's merged /usr means a library found at
/// `/lib/…` may be registered under `/usr/lib/…` (or the other way round), and a
/// symlink's target may be what is registered, so each of those is asked.
fn owning_package(path: &Path) -> Option<String> {
    let mut candidates = vec![path.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(path) {
        candidates.push(real);
    }
    for c in candidates.clone() {
        let text = c.to_string_lossy().into_owned();
        if let Some(rest) = text.strip_prefix("/usr") {
            candidates.push(PathBuf::from(rest));
        } else {
            candidates.push(PathBuf::from(format!("/usr{text}")));
        }
    }
    candidates.iter().find_map(|c| {
        let out = Command::new("dpkg").arg("-S").arg(c).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let line = String::from_utf8(out.stdout).ok()?;
        let (owner, _) = line.lines().next()?.split_once(": ")?;
        // "libssl3:amd64" → "libssl3"; "a, b" (a diversion) → the first.
        let first = owner.split(',').next()?.trim();
        Some(first.split(':').next()?.to_owned())
    })
}

#[test]
fn every_library_the_binary_links_comes_from_a_runtime_package() {
    let runtime = package_list("packaging/runtime-packages");
    let libraries = linked_libraries(env!("CARGO_BIN_EXE_lanyard"));
    // The SAML stack is what made the old image fail; it must be among what is checked.
    for needed in ["libxmlsec1", "libxml2", "libssl"] {
        assert!(
            libraries
                .iter()
                .any(|l| l.to_string_lossy().contains(needed)),
            "{needed} not linked? {libraries:?}"
        );
    }
    let mut missing = Vec::new();
    for library in &libraries {
        match owning_package(library) {
            Some(package) if runtime.contains(&package) => {}
            Some(package) => missing.push(format!("{} (package {package})", library.display())),
            None => missing.push(format!("{} (no Debian package owns it)", library.display())),
        }
    }
    assert!(
        missing.is_empty(),
        "libraries the binary links that packaging/runtime-packages does not provide:\n  {}",
        missing.join("\n  ")
    );
    // Not a library, but read at run time by the HTTPS client and LDAPS.
    assert!(runtime.contains("ca-certificates"));
}

/// The instructions of one `FROM` stage of the Dockerfile, by the stage's position.
fn dockerfile_stages() -> Vec<String> {
    let text = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let mut stages: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with("FROM ") {
            stages.push(String::new());
        }
        if let Some(stage) = stages.last_mut() {
            stage.push_str(line);
            stage.push('\n');
        }
    }
    stages
}

#[test]
fn the_image_installs_the_lists_and_runs_unprivileged_with_a_health_check() {
    let stages = dockerfile_stages();
    assert_eq!(stages.len(), 2, "{stages:?}");
    let (build, runtime) = (&stages[0], &stages[1]);
    assert!(build.contains("COPY packaging/build-packages"), "{build}");
    assert!(build.contains("apt-get install"), "{build}");
    assert!(
        runtime.contains("COPY packaging/runtime-packages"),
        "{runtime}"
    );
    assert!(runtime.contains("apt-get install"), "{runtime}");
    assert!(
        runtime.contains("--no-install-recommends"),
        "only the listed packages: {runtime}"
    );
    // The package lists are the only packages named: nothing installed by hand beside them.
    for stage in [build, runtime] {
        for line in stage.lines().filter(|l| l.contains("apt-get install")) {
            assert!(line.trim().starts_with("| xargs apt-get install"), "{line}");
        }
    }
    let user = runtime
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER instruction");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "{user}"
    );
    assert!(runtime.contains("HEALTHCHECK"), "{runtime}");
    assert!(runtime.contains("VOLUME"), "{runtime}");
    assert!(
        runtime.contains(r#"CMD ["/usr/local/bin/lanyard", "health"]"#),
        "{runtime}"
    );
}

/// `lanyard health --url URL`, run without blocking the test's runtime (which serves
/// the Lanyard it asks).
async fn health(url: &str) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["health", "--url", url])
        .env_remove("LANYARD_CONFIG")
        .output()
        .await
        .unwrap()
}

/// The image's health check: 0 from a ready broker, 1 from one whose session store is
/// down (503) or from an address nothing answers on.
#[tokio::test]
async fn the_health_check_tells_ready_from_not() {
    let l = crate::harness::start_memory().await;
    let ready = health(&l.at("/readyz")).await;
    assert_eq!(ready.status.code(), Some(0), "{ready:?}");
    assert!(String::from_utf8_lossy(&ready.stdout).contains("ready"));

    // A Lanyard whose Redis is a port nothing listens on: /readyz is 503.
    let keys = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}", closed.local_addr().unwrap());
    drop(closed);
    let text = crate::harness::config_text(
        &format!("[sessions]\nstore = \"redis\"\nredis_url = \"{url}\"\n"),
        keys.path(),
    );
    let store: std::sync::Arc<dyn lanyard::session::SessionStore> = std::sync::Arc::new(
        lanyard::session::RedisStore::connect(
            &url,
            "x:",
            lanyard::session::RedisTimeouts::default(),
        )
        .unwrap(),
    );
    let clock =
        lanyard::clock::ManualClock::new(lanyard::clock::UnixTime::from_secs(crate::harness::T0));
    let down = crate::harness::start_with(&text, store, clock).await;
    let refused = health(&down.at("/readyz")).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("503"),
        "{refused:?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let nothing = health(&format!("http://127.0.0.1:{port}/readyz")).await;
    assert_eq!(nothing.status.code(), Some(1), "{nothing:?}");
}

#[test]
fn the_build_context_leaves_out_keys_and_build_output() {
    let text = std::fs::read_to_string(repo(".dockerignore")).unwrap();
    let entries: BTreeSet<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in ["target", "data", "**/*.key", ".git", "**/node_modules"] {
        assert!(
            entries.contains(needed),
            "{needed} missing from .dockerignore"
        );
    }
}

#[test]
fn the_build_package_list_is_what_ensure_deps_installs() {
    let script = std::fs::read_to_string(repo("scripts/ensure-deps.sh")).unwrap();
    assert!(script.contains("packaging/build-packages"), "{script}");
    let build = package_list("packaging/build-packages");
    for package in ["libxmlsec1-dev", "libclang-dev", "pkg-config"] {
        assert!(build.contains(package), "{package}");
    }
}

#[test]
fn the_compose_config_is_valid() {
    // The compose file reads its database and Redis URLs from the container's environment
    // and keeps keys on the volume; point those at stand-ins.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("examples/compose.toml"))
        .unwrap()
        .replace(
            "/var/lib/lanyard/keys",
            &dir.path().join("keys").display().to_string(),
        );
    // Policy files are found beside the config, as in `examples/`.
    std::os::unix::fs::symlink(repo("examples/policies"), dir.path().join("policies")).unwrap();
    let config = dir.path().join("compose.toml");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lanyard"))
        .args(["check-config", "--config"])
        .arg(&config)
        .env("LANYARD_REDIS_URL", "redis://127.0.0.1:6379")
        .env(
            "LANYARD_AUDIT_DB",
            "postgres://lanyard:pw@127.0.0.1:5432/lanyard",
        )
        .env_remove("LANYARD_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}
